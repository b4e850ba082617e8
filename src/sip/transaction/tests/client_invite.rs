//! INVITE client transaction: timers A, B, D, ACK generation, 2xx handling.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::sip::message::{HeaderName, Message, Method};
use crate::sip::transaction::{ClientInvite, ClientInviteState, Output, TuEvent};

fn start(transport: &str, reliable: bool) -> (ClientInvite<Dest>, Vec<Output<Dest>>) {
    let mut out = Vec::new();
    let txn = ClientInvite::new(
        invite(transport, "z9hG4bK74bf9"),
        PEER,
        reliable,
        cfg(),
        Instant::now(),
        &mut out,
    );
    (txn, out)
}

#[tokio::test(start_paused = true)]
async fn timer_a_doubles_and_timer_b_times_out_with_408() {
    let t0 = Instant::now();
    let (mut txn, out) = start("UDP", false);
    assert_eq!(transmitted(&out).len(), 1, "INVITE sent at 0");
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    // RFC 3261 §17.1.1.2: retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (no cap).
    assert_eq!(
        transmit_times(&log),
        vec![500, 1500, 3500, 7500, 15500, 31500]
    );
    assert_eq!(transmit_times(&log), schedule(500, None, 32_000));
    // Timer B = 64*T1 = 32 s: synthetic 408 to the TU, then Terminated.
    assert_eq!(terminated_at(&log), Some(32_000));
    let outs: Vec<_> = log.into_iter().map(|(_, o)| o).collect();
    match tu_events(&outs).as_slice() {
        [TuEvent::Timeout(r)] => assert_eq!(r.status, 408),
        other => panic!("unexpected TU events {other:?}"),
    }
    assert_eq!(txn.state(), ClientInviteState::Terminated);
    assert_eq!(txn.poll_timeout(), None);
}

#[tokio::test(start_paused = true)]
async fn reliable_transport_has_no_timer_a_but_timer_b() {
    let t0 = Instant::now();
    let (mut txn, _) = start("TCP", true);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(transmit_times(&log).is_empty());
    assert_eq!(terminated_at(&log), Some(32_000));
}

#[tokio::test(start_paused = true)]
async fn provisional_stops_retransmissions_and_timer_b() {
    let t0 = Instant::now();
    let (mut txn, _) = start("UDP", false);
    let log = drive(&mut txn, t0, Duration::from_millis(1600)).await;
    assert_eq!(transmit_times(&log), vec![500, 1500]);
    let mut out = Vec::new();
    txn.on_response(
        reply(txn.request(), 180, Some("a6c85cf")),
        Instant::now(),
        &mut out,
    );
    assert_eq!(txn.state(), ClientInviteState::Proceeding);
    assert!(matches!(tu_events(&out).as_slice(), [TuEvent::Response(r)] if r.status == 180));
    // RFC 3261 §17.1.1.2: no retransmission and no Timer B in Proceeding.
    assert_eq!(txn.poll_timeout(), None);
}

#[tokio::test(start_paused = true)]
async fn non_2xx_is_acked_in_transaction_and_timer_d_runs() {
    let t0 = Instant::now();
    let (mut txn, _) = start("UDP", false);
    let mut out = Vec::new();
    let busy = reply(txn.request(), 486, Some("a6c85cf"));
    txn.on_response(busy.clone(), Instant::now(), &mut out);
    assert_eq!(txn.state(), ClientInviteState::Completed);
    let sent = transmitted(&out);
    let [Message::Request(ack)] = sent.as_slice() else {
        panic!("expected one ACK, got {sent:?}")
    };
    // RFC 3261 §17.1.1.3: same Request-URI, top Via (branch), Call-ID, From, CSeq number,
    // Route; To from the response (with its tag); only one Via.
    let inv = invite("UDP", "z9hG4bK74bf9");
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri.to_string(), inv.uri.to_string());
    assert_eq!(ack.headers.vias().expect("vias").len(), 1);
    assert_eq!(
        ack.headers.top_via().expect("via").branch(),
        Some("z9hG4bK74bf9")
    );
    assert_eq!(ack.headers.call_id(), inv.headers.call_id());
    assert_eq!(
        ack.headers.get(&HeaderName::From),
        inv.headers.get(&HeaderName::From)
    );
    assert_eq!(ack.headers.to().expect("to").tag(), Some("a6c85cf"));
    let cseq = ack.headers.cseq().expect("cseq");
    assert_eq!((cseq.seq, cseq.method), (314159, Method::Ack));
    let routes: Vec<_> = ack.headers.get_all(&HeaderName::Route).collect();
    assert_eq!(
        routes,
        vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert!(matches!(tu_events(&out).as_slice(), [TuEvent::Response(r)] if r.status == 486));

    // A retransmitted 486 is ACKed again and not passed up.
    let mut out = Vec::new();
    txn.on_response(busy, Instant::now(), &mut out);
    assert_eq!(transmitted(&out).len(), 1);
    assert!(tu_events(&out).is_empty());

    // RFC 3261 §17.1.1.2: Timer D (32 s on UDP) → Terminated.
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(transmit_times(&log).is_empty());
    assert_eq!(terminated_at(&log), Some(32_000));
}

#[tokio::test(start_paused = true)]
async fn every_3xx_to_6xx_class_is_acked() {
    for status in [302, 404, 500, 603] {
        let (mut txn, _) = start("UDP", false);
        let mut out = Vec::new();
        txn.on_response(
            reply(txn.request(), status, Some("t")),
            Instant::now(),
            &mut out,
        );
        let sent = transmitted(&out);
        assert!(
            matches!(sent.as_slice(), [Message::Request(r)] if r.method == Method::Ack),
            "{status}: {sent:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn timer_d_is_zero_on_reliable_transport() {
    let (mut txn, _) = start("TCP", true);
    let mut out = Vec::new();
    txn.on_response(
        reply(txn.request(), 603, Some("x")),
        Instant::now(),
        &mut out,
    );
    assert_eq!(transmitted(&out).len(), 1, "ACK still sent");
    assert!(matches!(out.last(), Some(Output::Terminated)));
    assert_eq!(txn.state(), ClientInviteState::Terminated);
}

#[tokio::test(start_paused = true)]
async fn two_hundred_terminates_and_reaches_tu() {
    let (mut txn, _) = start("UDP", false);
    let mut out = Vec::new();
    txn.on_response(
        reply(txn.request(), 180, Some("x")),
        Instant::now(),
        &mut out,
    );
    let mut out = Vec::new();
    txn.on_response(
        reply(txn.request(), 200, Some("x")),
        Instant::now(),
        &mut out,
    );
    assert!(
        transmitted(&out).is_empty(),
        "no ACK for 2xx in the transaction"
    );
    assert!(matches!(tu_events(&out).as_slice(), [TuEvent::Response(r)] if r.status == 200));
    assert!(matches!(out.last(), Some(Output::Terminated)));
    assert_eq!(txn.state(), ClientInviteState::Terminated);
}

#[tokio::test(start_paused = true)]
async fn transport_error_terminates_and_informs_tu() {
    let (mut txn, _) = start("UDP", false);
    let mut out = Vec::new();
    txn.on_transport_error(&mut out);
    assert!(matches!(
        tu_events(&out).as_slice(),
        [TuEvent::TransportError]
    ));
    assert!(matches!(out.last(), Some(Output::Terminated)));
    assert_eq!(txn.poll_timeout(), None);
}

#[tokio::test(start_paused = true)]
async fn cancel_guard_gives_up_after_64_t1_with_487() {
    let t0 = Instant::now();
    let (mut txn, _) = start("UDP", false);
    let mut out = Vec::new();
    txn.on_response(reply(txn.request(), 100, None), t0, &mut out);
    txn.cancel_sent(t0);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert_eq!(terminated_at(&log), Some(32_000));
    let outs: Vec<_> = log.into_iter().map(|(_, o)| o).collect();
    assert!(matches!(tu_events(&outs).as_slice(), [TuEvent::Timeout(r)] if r.status == 487));
}
