//! Bad input against the real binary (issue item 9): a batch of malformed or refused requests
//! sent as raw datagrams; each must get its status code with a reason phrase, or be dropped
//! when no response can be addressed; the PBX must keep answering in between, and a normal
//! SIPp REGISTER must still work afterwards. Then size limits: messages above
//! `max_message_size` are refused over UDP and TCP, a large one below it is served.
//!
//! Run: `cargo test --test sipp_malformed` (needs `sipp`: `apt-get install sip-tester`).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::db::registrations_blocking;
use common::sipp::run_sipp;
use common::wire::{render, udp_exchange, udp_send_bytes, Response};
use common::{aor, password, pbx_config_with, Pbx, PBX_SIP};

/// How long to wait for an answer that must come.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long to wait before concluding that a message was dropped.
const DROP_WAIT: Duration = Duration::from_secs(1);

/// What the PBX must do with one message.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Answer with one of these codes, with a non-empty reason phrase.
    Status(&'static [u16]),
    /// No response: it cannot be addressed (RFC 3261 §18.2.2 needs the Via).
    Drop,
}

/// One message of the batch.
struct Case {
    /// What is wrong with it, for failure messages.
    name: &'static str,
    /// The message (see `common::wire::render` for the placeholders).
    template: &'static str,
    /// What the PBX must do.
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
        expect: Expect::Status(&[400]),
    },
    Case {
        name: "unsupported SIP version",
        template: options_with!(
            "OPTIONS sip:127.0.0.1:15060 SIP/7.0",
            "Max-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n"
        ),
        // RFC 3261 §8.2.1 / §21.5.6
        expect: Expect::Status(&[505]),
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
        name: "Via without a host (unaddressable)",
        template: "OPTIONS sip:127.0.0.1:15060 SIP/2.0\nVia: SIP/2.0/UDP\nMax-Forwards: 70\nFrom: <sip:bad@switchboard.test>;tag={tag}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {callid}\nCSeq: 1 OPTIONS\nContent-Length: 0\n",
        expect: Expect::Drop,
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
    let (codes, r) = match (case.expect, got) {
        (Expect::Drop, None) => return None,
        (Expect::Drop, Some(r)) => {
            return Some(format!("expected no response, got:\n{}", r.raw));
        }
        (Expect::Status(codes), None) => {
            return Some(format!(
                "expected {codes:?}, got no response within {ANSWER_WAIT:?}"
            ));
        }
        (Expect::Status(codes), Some(r)) => (codes, r),
    };
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
            Expect::Drop => DROP_WAIT,
        };
        let got = udp_exchange(PBX_SIP, case.template, wait);
        match &got {
            Some(r) => eprintln!("{:<45} -> {} {}", case.name, r.status, r.reason),
            None => eprintln!("{:<45} -> (no response)", case.name),
        }
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

/// An OPTIONS of exactly `size` bytes from `local`, padded with an `X-Padding` header line.
fn padded_options(local: std::net::SocketAddr, transport: &str, size: usize) -> Vec<u8> {
    let mut msg = render(
        &format!(
            "OPTIONS sip:127.0.0.1:15060 SIP/2.0\nVia: SIP/2.0/{transport} {{via}};branch={{branch}};rport\nMax-Forwards: 70\nFrom: <sip:big@switchboard.test>;tag={{tag}}\nTo: <sip:127.0.0.1:15060>\nCall-ID: {{callid}}\nCSeq: 1 OPTIONS\n"
        ),
        local,
    );
    // drop the CRLF closing the headers, add the long header line, then close them
    msg.truncate(msg.len() - 2);
    let tail = b"\r\nContent-Length: 0\r\n\r\n";
    msg.extend_from_slice(b"X-Padding: ");
    msg.resize(size - tail.len(), b'a');
    msg.extend_from_slice(tail);
    msg
}

#[test]
fn datagram_near_64k_within_the_limit_is_answered() {
    // 65,000 bytes: a valid datagram under the default 65,535-byte limit
    let mut pbx = Pbx::start_default();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let local = socket
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let got = udp_send_bytes(
        &socket,
        PBX_SIP,
        &padded_options(local, "UDP", 65_000),
        ANSWER_WAIT,
    );
    let r = got.unwrap_or_else(|| panic!("no answer to a 65,000-byte OPTIONS"));
    assert_eq!(r.status, 200, "answer:\n{}", r.raw);
    pbx.assert_running();
}

#[test]
fn datagram_over_max_message_size_is_refused() {
    // max_message_size = 4096: a 10,000-byte datagram is refused with 513 (RFC 3261 §21.5.13),
    // never processed
    let mut pbx = Pbx::start_with(pbx_config_with("sip", "max_message_size", "4096"));
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let local = socket
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let got = udp_send_bytes(
        &socket,
        PBX_SIP,
        &padded_options(local, "UDP", 10_000),
        ANSWER_WAIT,
    );
    eprintln!(
        "10,000-byte datagram, limit 4096: {:?}",
        got.as_ref().map(|r| (r.status, r.reason.clone()))
    );
    let r = got.unwrap_or_else(|| panic!("an oversized datagram with a Via got no 513"));
    assert_eq!(
        r.status, 513,
        "an oversized datagram was not refused:\n{}",
        r.raw
    );
    pbx.assert_running();
    assert!(
        common::wire::probe_options(PBX_SIP, ANSWER_WAIT).is_some(),
        "OPTIONS not answered afterwards"
    );
}

#[test]
fn stream_message_over_max_message_size_is_refused() {
    // max_message_size = 4096: a 10,000-byte message over TCP gets 513 or the connection closes
    let mut pbx = Pbx::start_with(pbx_config_with("sip", "max_message_size", "4096"));
    let outcome = send_oversized_over_tcp(10_000);
    eprintln!("10,000-byte TCP message, limit 4096: {outcome}");
    pbx.assert_running();
    assert!(
        common::wire::probe_options(PBX_SIP, ANSWER_WAIT).is_some(),
        "OPTIONS not answered afterwards"
    );
}

#[test]
fn oversized_message_over_tcp_is_refused() {
    // 70,000 bytes of headers: beyond the default 65,535-byte message limit; the PBX must
    // answer 513/400 or close the connection, and keep serving
    let mut pbx = Pbx::start_default();
    let outcome = send_oversized_over_tcp(70_000);
    eprintln!("70,000-byte TCP message: {outcome}");
    pbx.assert_running();
    assert!(
        common::wire::probe_options(PBX_SIP, ANSWER_WAIT).is_some(),
        "OPTIONS not answered afterwards"
    );
}

/// Sends a `size`-byte OPTIONS over a new TCP connection and returns what the PBX did:
/// "answered <code>" (400/413/513 only), "closed" or "reset". Panics if the connection stays
/// open without an answer.
fn send_oversized_over_tcp(size: usize) -> String {
    let mut stream =
        TcpStream::connect(PBX_SIP).unwrap_or_else(|e| panic!("connect {PBX_SIP}: {e}"));
    let local = stream
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let msg = padded_options(local, "TCP", size);
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
    outcome
}
