//! Bad input against the real binary (issue item 9): a batch of malformed or refused requests
//! sent as raw datagrams (and one oversized message over TCP); each must get its status code
//! with a reason phrase, or be dropped when no response can be addressed; the PBX must keep
//! answering in between, and a normal SIPp REGISTER must still work afterwards.
//!
//! Run: `cargo test --test sipp_malformed` (needs `sipp`: `apt-get install sip-tester`).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::db::registrations_blocking;
use common::sipp::run_sipp;
use common::wire::{render, udp_exchange, udp_send_bytes, Response};
use common::{aor, password, Pbx, PBX_SIP};

/// How long to wait for an answer that must come.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long to wait before concluding that a message was dropped.
const DROP_WAIT: Duration = Duration::from_secs(1);

/// What the PBX must do with one message.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Answer with one of these codes, with a non-empty reason phrase.
    Status(&'static [u16]),
    /// Answer with one of these codes, or drop it (the start line cannot be trusted enough to
    /// know it is a request).
    StatusOrDrop(&'static [u16]),
    /// No response: it cannot be addressed (RFC 3261 §18.2.2 needs the Via).
    Drop,
}

struct Case {
    name: &'static str,
    template: &'static str,
    expect: Expect,
}

/// The common tail of a well-formed OPTIONS after its Via.
macro_rules! options_with {
    ($start:expr, $rest:expr) => {
        concat!(
            $start,
            "\nVia: SIP/2.0/UDP {via};branch={branch};rport\n",
            $rest
        )
    };
}

const CASES: &[Case] = &[
    Case {
        name: "start line without SIP version",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::StatusOrDrop(&[400]),
    },
    Case {
        name: "unsupported SIP version",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/7.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        // RFC 3261 §21.5.6
        expect: Expect::StatusOrDrop(&[505, 400]),
    },
    Case {
        name: "non-numeric Content-Length",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: abc\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "negative Content-Length",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: -5\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        // RFC 3261 §18.3: the datagram ends before the body: a request SHOULD get 400
        name: "Content-Length beyond the datagram",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Type: application/sdp\nContent-Length: 500\n\nv=0"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "missing Call-ID",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "missing CSeq",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "non-numeric CSeq",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: abc OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        // RFC 3261 §8.1.1.5: the CSeq method MUST match the request method
        name: "CSeq method differs from the request method",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 INVITE\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "missing From",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "missing To",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "missing Via (unaddressable)",
        template: "OPTIONS sip:127.0.0.1:15060 SIP/2.0\nMax-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n",
        expect: Expect::Drop,
    },
    Case {
        name: "Via without a host",
        template: "OPTIONS sip:127.0.0.1:15060 SIP/2.0\nVia: SIP/2.0/UDP\nMax-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n",
        expect: Expect::StatusOrDrop(&[400]),
    },
    Case {
        name: "garbage bytes",
        template: "\u{1}\u{2}\u{7f}GARBAGE \u{0}\u{0} not sip at all ~~~~ \u{1b}[0m\n",
        expect: Expect::Drop,
    },
    Case {
        // RFC 3261 §8.2.1: unknown method -> 501 with Allow
        name: "unknown method BREW",
        template: options_with!(
            "BREW sip:1000@switchboard.test SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:1000@switchboard.test>\nCall-ID: {callid}\nCSeq: 1 BREW\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[501]),
    },
    Case {
        // RFC 3261 §16.3 step 2 / §20.22
        name: "Max-Forwards: 0",
        template: options_with!(
            "OPTIONS sip:1000@switchboard.test SIP/2.0",
            "Max-Forwards: 0\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:1000@switchboard.test>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[483]),
    },
    Case {
        // RFC 3261 §8.2.2.1: unsupported Request-URI scheme -> 416
        name: "unknown Request-URI scheme",
        template: options_with!(
            "OPTIONS foo:bar@switchboard.test SIP/2.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:1000@switchboard.test>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        expect: Expect::Status(&[416, 400]),
    },
];

/// Checks `got` against `case`; returns a failure description.
fn verdict(case: &Case, got: &Option<Response>) -> Option<String> {
    let codes = match (case.expect, got) {
        (Expect::Drop, None) | (Expect::StatusOrDrop(_), None) => return None,
        (Expect::Drop, Some(r)) => {
            return Some(format!("expected no response, got:\n{}", r.raw));
        }
        (Expect::Status(codes), None) => {
            return Some(format!(
                "expected {codes:?}, got no response within {ANSWER_WAIT:?}"
            ));
        }
        (Expect::Status(codes), Some(_)) | (Expect::StatusOrDrop(codes), Some(_)) => codes,
    };
    let r = got.as_ref()?;
    if !codes.contains(&r.status) {
        return Some(format!("expected {codes:?}, got:\n{}", r.raw));
    }
    if r.reason.trim().is_empty() {
        return Some(format!("{} without a reason phrase:\n{}", r.status, r.raw));
    }
    // RFC 3261 §8.2.1 / §20.5: 405 and 501 list the supported methods
    if matches!(r.status, 405 | 501) && r.header("Allow").is_none() {
        return Some(format!("{} without Allow:\n{}", r.status, r.raw));
    }
    None
}

#[test]
fn malformed_batch_then_register_still_works() {
    let mut pbx = Pbx::start_default();
    let mut failures = Vec::new();
    for case in CASES {
        let wait = match case.expect {
            Expect::Status(_) => ANSWER_WAIT,
            Expect::StatusOrDrop(_) | Expect::Drop => DROP_WAIT,
        };
        let got = udp_exchange(PBX_SIP, case.template, wait);
        if let Some(why) = verdict(case, &got) {
            failures.push(format!("[{}] {why}", case.name));
        }
        pbx.assert_running();
        // the PBX keeps serving between bad messages
        if common::wire::probe_options(PBX_SIP, ANSWER_WAIT).is_none() {
            failures.push(format!("[{}] OPTIONS not answered afterwards", case.name));
        }
    }
    let sipp = run_sipp(
        "register_auth.xml",
        &["-s", "1006", "-au", "1006", "-ap", &password(1006)],
    );
    let rows = registrations_blocking(&pbx.db_path(), &aor(1006));
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
    sipp.assert_success();
    assert_eq!(rows.len(), 1, "REGISTER after the batch left {rows:?}");
}

#[test]
fn oversized_datagram_is_refused_or_dropped() {
    // a 65,000-byte datagram: a header line longer than any sane limit, still a valid UDP size
    let mut pbx = Pbx::start_default();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let local = socket
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let mut msg = render(
        "OPTIONS sip:127.0.0.1:15060 SIP/2.0\nVia: SIP/2.0/UDP {via};branch={branch};rport\nMax-Forwards: 70\nFrom: <sip:big@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\n",
        local,
    );
    // drop the final CRLF that closes the headers, add the huge header, then close them
    msg.truncate(msg.len() - 2);
    msg.extend_from_slice(b"X-Huge: ");
    msg.resize(65_000 - 24, b'a');
    msg.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let got = udp_send_bytes(&socket, PBX_SIP, &msg, ANSWER_WAIT);
    if let Some(r) = &got {
        // refused (400/413/513) or, if the limit is above 65,000 bytes, answered normally
        assert!(
            matches!(r.status, 200 | 400 | 413 | 513),
            "unexpected answer:\n{}",
            r.raw
        );
    }
    pbx.assert_running();
    assert!(
        common::wire::probe_options(PBX_SIP, ANSWER_WAIT).is_some(),
        "OPTIONS not answered afterwards"
    );
}

#[test]
fn oversized_message_over_tcp_is_refused() {
    // 70,000 bytes of headers: beyond the 65,535-byte message limit; the PBX must answer
    // 513/400 or close the connection, and keep serving
    let mut pbx = Pbx::start_default();
    let mut stream =
        TcpStream::connect(PBX_SIP).unwrap_or_else(|e| panic!("connect {PBX_SIP}: {e}"));
    let local = stream
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let mut msg = render(
        "OPTIONS sip:127.0.0.1:15060 SIP/2.0\nVia: SIP/2.0/TCP {via};branch={branch}\nMax-Forwards: 70\nFrom: <sip:big@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\n",
        local,
    );
    msg.truncate(msg.len() - 2);
    msg.extend_from_slice(b"X-Huge: ");
    msg.resize(70_000, b'a');
    msg.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    stream
        .set_read_timeout(Some(ANSWER_WAIT))
        .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
    // the PBX may close while we are still writing: a reset here is a refusal too
    let write_result = stream.write_all(&msg);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let outcome = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break "closed".to_string(),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if let Some(r) = Response::parse(&buf).filter(|_| buf.windows(4).any(|w| w == b"\r\n\r\n")) {
                    assert!(matches!(r.status, 400 | 413 | 513), "unexpected answer:\n{}", r.raw);
                    break format!("answered {}", r.status);
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe) => {
                break "reset".to_string()
            }
            Err(e) => panic!(
                "no answer and connection still open after {ANSWER_WAIT:?} (write: {write_result:?}): {e}"
            ),
        }
    };
    let _ = stream.shutdown(Shutdown::Both);
    eprintln!("oversized TCP message: {outcome}");
    pbx.assert_running();
    assert!(
        common::wire::probe_options(PBX_SIP, ANSWER_WAIT).is_some(),
        "OPTIONS not answered afterwards"
    );
}
