//! Unit tests of the transaction layer: one file per machine plus key matching and the
//! table. Timers run on paused tokio time: a tiny driver sleeps until `poll_timeout()`
//! and feeds `on_timeout(Instant::now())`, recording when each output happened.

mod client_invite;
mod client_non_invite;
mod key;
mod server_invite;
mod server_non_invite;
mod table;

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::{
    ClientInvite, ClientNonInvite, Output, ServerInvite, ServerNonInvite, TimerConfig, TuEvent,
};
use crate::sip::message::{Message, Request, Response};

/// The destination type used in tests.
pub(super) type Dest = &'static str;

/// Where every test message goes.
pub(super) const PEER: Dest = "peer";

/// Parse CRLF wire text into a request.
pub(super) fn request(wire: &str) -> Request {
    match Message::parse(wire.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

/// Parse CRLF wire text into a response.
pub(super) fn response(wire: &str) -> Response {
    match Message::parse(wire.as_bytes()) {
        Ok(Message::Response(r)) => r,
        other => panic!("not a response: {other:?}"),
    }
}

/// An INVITE with the given top Via (transport and branch) and a Route set.
pub(super) fn invite(transport: &str, branch: &str) -> Request {
    request(&format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
         Via: SIP/2.0/{transport} pc33.atlanta.example.com:5060;branch={branch}\r\n\
         Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:p1.example.com;lr>\r\n\
         Route: <sip:p2.example.com;lr>\r\n\
         To: Bob <sip:bob@biloxi.example.com>\r\n\
         From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
         CSeq: 314159 INVITE\r\n\
         Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// A non-INVITE request (`method`) with the given top Via transport and branch.
pub(super) fn non_invite(method: &str, transport: &str, branch: &str) -> Request {
    request(&format!(
        "{method} sip:registrar.biloxi.example.com SIP/2.0\r\n\
         Via: SIP/2.0/{transport} bobspc.biloxi.example.com:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         To: Bob <sip:bob@biloxi.example.com>\r\n\
         From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
         Call-ID: 843817637684230@998sdasdh09\r\n\
         CSeq: 1826 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// A response to `req` with `status` and optional To tag.
pub(super) fn reply(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    Response::for_request(req, status, None, to_tag)
}

/// One output and when it happened, in milliseconds since the test started.
pub(super) type Timed = (u64, Output<Dest>);

/// The sans-IO machine interface the test driver needs.
pub(super) trait Machine {
    fn poll_timeout(&self) -> Option<Instant>;
    fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<Dest>>);
}

macro_rules! machine {
    ($($t:ident),*) => {$(
        impl Machine for $t<Dest> {
            fn poll_timeout(&self) -> Option<Instant> {
                $t::poll_timeout(self)
            }
            fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<Dest>>) {
                $t::on_timeout(self, now, out)
            }
        }
    )*};
}
machine!(ClientInvite, ClientNonInvite, ServerInvite, ServerNonInvite);

/// Milliseconds between `start` and now.
pub(super) fn ms_since(start: Instant) -> u64 {
    u64::try_from(Instant::now().duration_since(start).as_millis()).unwrap_or(u64::MAX)
}

/// Drive `m` on paused time until it has no timer left or the next one is after
/// `start + limit`; returns every output stamped with its time.
pub(super) async fn drive<M: Machine>(m: &mut M, start: Instant, limit: Duration) -> Vec<Timed> {
    let mut log = Vec::new();
    while let Some(deadline) = m.poll_timeout() {
        if deadline > start + limit {
            break;
        }
        sleep_until(deadline).await;
        let mut out = Vec::new();
        m.on_timeout(Instant::now(), &mut out);
        let at = ms_since(start);
        log.extend(out.into_iter().map(|o| (at, o)));
    }
    log
}

/// Times (ms) of every Transmit in `log`.
pub(super) fn transmit_times(log: &[Timed]) -> Vec<u64> {
    log.iter()
        .filter(|(_, o)| matches!(o, Output::Transmit { .. }))
        .map(|(t, _)| *t)
        .collect()
}

/// Time (ms) of the Terminated output, if any.
pub(super) fn terminated_at(log: &[Timed]) -> Option<u64> {
    log.iter()
        .find(|(_, o)| matches!(o, Output::Terminated))
        .map(|(t, _)| *t)
}

/// The TU events in `outputs`.
pub(super) fn tu_events(outputs: &[Output<Dest>]) -> Vec<&TuEvent> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::ToTu(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// The messages transmitted in `outputs`.
pub(super) fn transmitted(outputs: &[Output<Dest>]) -> Vec<&Message> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

/// The default timers (T1 500 ms, T2 4 s, T4 5 s).
pub(super) fn cfg() -> TimerConfig {
    TimerConfig::default()
}

/// The Timer A/E/G schedule from `first` ms: doubling, capped at `cap` ms (None: no cap),
/// every send strictly before `end` ms.
pub(super) fn schedule(first: u64, cap: Option<u64>, end: u64) -> Vec<u64> {
    let mut times = Vec::new();
    let (mut at, mut interval) = (first, first);
    while at < end {
        times.push(at);
        interval = cap.map_or(interval * 2, |c| (interval * 2).min(c));
        at += interval;
    }
    times
}

#[test]
fn timer_values_follow_rfc_3261_table_4() {
    let ms = Duration::from_millis;
    let c = cfg();
    assert_eq!(
        (c.timer_a(), c.timer_e(), c.timer_g()),
        (ms(500), ms(500), ms(500))
    );
    assert_eq!(
        (c.timer_b(), c.timer_f(), c.timer_h()),
        (ms(32_000), ms(32_000), ms(32_000))
    );
    assert_eq!(
        (c.timer_d(false), c.timer_d(true)),
        (ms(32_000), Duration::ZERO)
    );
    assert_eq!(
        (c.timer_i(false), c.timer_i(true)),
        (ms(5_000), Duration::ZERO)
    );
    assert_eq!(
        (c.timer_j(false), c.timer_j(true)),
        (ms(32_000), Duration::ZERO)
    );
    assert_eq!(
        (c.timer_k(false), c.timer_k(true)),
        (ms(5_000), Duration::ZERO)
    );
    assert_eq!(c.next_capped(ms(2_000)), ms(4_000));
    assert_eq!(c.next_capped(ms(4_000)), ms(4_000), "capped at T2");
    // Configured T1: 64*T1 timers follow it; Timer D keeps its 32 s floor.
    let fast = TimerConfig {
        t1: ms(100),
        t2: ms(400),
        t4: ms(1_000),
    };
    assert_eq!(
        (fast.timer_b(), fast.timer_j(false)),
        (ms(6_400), ms(6_400))
    );
    assert_eq!(fast.timer_d(false), ms(32_000));
    let slow = TimerConfig {
        t1: ms(1_000),
        ..fast
    };
    assert_eq!(slow.timer_d(false), ms(64_000));
}

#[tokio::test(start_paused = true)]
async fn configured_t1_and_t2_drive_retransmissions() {
    let t0 = Instant::now();
    let fast = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        t4: Duration::from_secs(1),
    };
    let mut out = Vec::new();
    let req = non_invite("OPTIONS", "UDP", "z9hG4bKfast");
    let mut txn = ClientNonInvite::new(req, PEER, false, fast, t0, &mut out);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert_eq!(transmit_times(&log), schedule(100, Some(400), 6_400));
    assert_eq!(terminated_at(&log), Some(6_400));
}
