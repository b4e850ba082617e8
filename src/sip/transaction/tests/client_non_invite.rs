//! Non-INVITE client transaction: timers E, F, K.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::*;
use crate::sip::transaction::{ClientNonInvite, ClientNonInviteState, Output, TuEvent};

fn start(transport: &str, reliable: bool) -> ClientNonInvite<Dest> {
    let mut out = Vec::new();
    let req = non_invite("REGISTER", transport, "z9hG4bKnashds7");
    let txn = ClientNonInvite::new(req, PEER, reliable, cfg(), Instant::now(), &mut out);
    assert_eq!(transmitted(&out).len(), 1, "request sent at 0");
    txn
}

#[tokio::test(start_paused = true)]
async fn timer_e_doubles_up_to_t2_and_timer_f_times_out_with_408() {
    let t0 = Instant::now();
    let mut txn = start("UDP", false);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    // RFC 3261 §17.1.2.2: 0.5, 1.5, 3.5, then every T2 = 4 s: 7.5, 11.5, ... 31.5.
    let expected = vec![
        500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ];
    assert_eq!(transmit_times(&log), expected);
    assert_eq!(transmit_times(&log), schedule(500, Some(4000), 32_000));
    // Timer F = 64*T1.
    assert_eq!(terminated_at(&log), Some(32_000));
    let outs: Vec<_> = log.into_iter().map(|(_, o)| o).collect();
    assert!(matches!(tu_events(&outs).as_slice(), [TuEvent::Timeout(r)] if r.status == 408));
}

#[tokio::test(start_paused = true)]
async fn timer_e_is_t2_once_proceeding() {
    let t0 = Instant::now();
    let mut txn = start("UDP", false);
    sleep_until(t0 + Duration::from_millis(100)).await;
    let mut out = Vec::new();
    txn.on_response(reply(txn.request(), 100, None), Instant::now(), &mut out);
    assert_eq!(txn.state(), ClientNonInviteState::Proceeding);
    assert!(matches!(tu_events(&out).as_slice(), [TuEvent::Response(r)] if r.status == 100));
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    // The pending E fires at 0.5 s, then every T2 (RFC 3261 §17.1.2.2).
    let expected: Vec<u64> = (0..8).map(|i| 500 + i * 4000).collect();
    assert_eq!(transmit_times(&log), expected);
    assert_eq!(
        terminated_at(&log),
        Some(32_000),
        "Timer F still applies in Proceeding"
    );
}

#[tokio::test(start_paused = true)]
async fn reliable_transport_has_no_timer_e_but_timer_f() {
    let t0 = Instant::now();
    let mut txn = start("TCP", true);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(transmit_times(&log).is_empty());
    assert_eq!(terminated_at(&log), Some(32_000));
}

#[tokio::test(start_paused = true)]
async fn final_response_completes_and_timer_k_terminates() {
    let t0 = Instant::now();
    let mut txn = start("UDP", false);
    sleep_until(t0 + Duration::from_millis(700)).await;
    let ok = reply(txn.request(), 200, Some("x"));
    let mut out = Vec::new();
    txn.on_response(ok.clone(), Instant::now(), &mut out);
    assert_eq!(txn.state(), ClientNonInviteState::Completed);
    assert!(matches!(tu_events(&out).as_slice(), [TuEvent::Response(r)] if r.status == 200));
    // Retransmitted final responses are absorbed.
    let mut out = Vec::new();
    txn.on_response(ok, Instant::now(), &mut out);
    assert!(out.is_empty());
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(
        transmit_times(&log).is_empty(),
        "no retransmission after the final response"
    );
    // Timer K = T4 = 5 s after the response (at 0.7 s).
    assert_eq!(terminated_at(&log), Some(5_700));
}

#[tokio::test(start_paused = true)]
async fn timer_k_is_zero_on_reliable_transport() {
    let mut txn = start("TCP", true);
    let mut out = Vec::new();
    txn.on_response(
        reply(txn.request(), 404, Some("x")),
        Instant::now(),
        &mut out,
    );
    assert!(matches!(
        out.as_slice(),
        [Output::ToTu(TuEvent::Response(_)), Output::Terminated]
    ));
    assert_eq!(txn.state(), ClientNonInviteState::Terminated);
}

#[tokio::test(start_paused = true)]
async fn transport_error_terminates() {
    let mut txn = start("UDP", false);
    let mut out = Vec::new();
    txn.on_transport_error(&mut out);
    assert!(matches!(
        out.as_slice(),
        [Output::ToTu(TuEvent::TransportError), Output::Terminated]
    ));
}
