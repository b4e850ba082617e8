//! INVITE server transaction: automatic 100 Trying, timers G, H, I, absorption.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::*;
use crate::sip::message::{HeaderName, Message, Method};
use crate::sip::transaction::{Output, ServerInvite, ServerInviteState, TuEvent};

fn start(transport: &str) -> ServerInvite<Dest> {
    ServerInvite::new(
        invite(transport, "z9hG4bKsrv1"),
        PEER,
        transport == "TCP",
        cfg(),
        Instant::now(),
    )
}

fn statuses(log: &[Timed]) -> Vec<(u64, u16)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::Transmit {
                message: Message::Response(r),
                ..
            } => Some((*t, r.status)),
            _ => None,
        })
        .collect()
}

fn ack_for(req: &crate::sip::message::Request, tag: &str) -> crate::sip::message::Request {
    let mut ack = req.clone();
    ack.method = Method::Ack;
    ack.headers.set(HeaderName::CSeq, "314159 ACK");
    ack.headers.set(
        HeaderName::To,
        format!("Bob <sip:bob@biloxi.example.com>;tag={tag}"),
    );
    ack
}

#[tokio::test(start_paused = true)]
async fn sends_100_trying_after_200_ms_without_tu_provisional() {
    let t0 = Instant::now();
    let mut txn = start("UDP");
    let log = drive(&mut txn, t0, Duration::from_secs(10)).await;
    assert_eq!(statuses(&log), vec![(200, 100)]);
    // A retransmitted INVITE now gets the 100 again.
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.on_request(&req, Instant::now(), &mut out);
    assert!(matches!(transmitted(&out).as_slice(), [Message::Response(r)] if r.status == 100));
}

#[tokio::test(start_paused = true)]
async fn tu_provisional_suppresses_100_and_is_resent_on_retransmission() {
    let t0 = Instant::now();
    let mut txn = start("UDP");
    sleep_until(t0 + Duration::from_millis(50)).await;
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.send_response(reply(&req, 180, Some("tag1")), Instant::now(), &mut out)
        .expect("180");
    assert_eq!(txn.poll_timeout(), None, "no automatic 100 any more");
    let mut out = Vec::new();
    txn.on_request(&req, Instant::now(), &mut out);
    assert!(matches!(transmitted(&out).as_slice(), [Message::Response(r)] if r.status == 180));
    assert_eq!(txn.state(), ServerInviteState::Proceeding);
}

#[tokio::test(start_paused = true)]
async fn timer_g_retransmits_final_and_timer_h_reports_missing_ack() {
    let t0 = Instant::now();
    let mut txn = start("UDP");
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.send_response(reply(&req, 486, Some("tag1")), Instant::now(), &mut out)
        .expect("486");
    assert_eq!(txn.state(), ServerInviteState::Completed);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    // RFC 3261 §17.2.1: G doubles up to T2: 0.5, 1.5, 3.5, 7.5, 11.5, ..., 31.5 s.
    let times: Vec<u64> = statuses(&log).iter().map(|(t, _)| *t).collect();
    assert_eq!(times, schedule(500, Some(4000), 32_000));
    assert!(statuses(&log).iter().all(|(_, s)| *s == 486));
    // Timer H = 64*T1 → TU told the ACK never came.
    assert_eq!(terminated_at(&log), Some(32_000));
    let outs: Vec<_> = log.into_iter().map(|(_, o)| o).collect();
    assert!(matches!(tu_events(&outs).as_slice(), [TuEvent::AckTimeout]));
}

#[tokio::test(start_paused = true)]
async fn invite_retransmission_in_completed_resends_final() {
    let mut txn = start("UDP");
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.send_response(reply(&req, 404, Some("tag1")), Instant::now(), &mut out)
        .expect("404");
    let mut out = Vec::new();
    txn.on_request(&req, Instant::now(), &mut out);
    assert!(matches!(transmitted(&out).as_slice(), [Message::Response(r)] if r.status == 404));
}

#[tokio::test(start_paused = true)]
async fn ack_confirms_and_timer_i_terminates() {
    let t0 = Instant::now();
    let mut txn = start("UDP");
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.send_response(reply(&req, 486, Some("tag1")), Instant::now(), &mut out)
        .expect("486");
    sleep_until(t0 + Duration::from_millis(600)).await;
    let ack = ack_for(&req, "tag1");
    let mut out = Vec::new();
    txn.on_request(&ack, Instant::now(), &mut out);
    assert!(out.is_empty(), "ACK absorbed");
    assert_eq!(txn.state(), ServerInviteState::Confirmed);
    // ACK retransmissions are absorbed in Confirmed.
    txn.on_request(&ack, Instant::now(), &mut out);
    assert!(out.is_empty());
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(statuses(&log).is_empty(), "Timer G stopped by the ACK");
    // Timer I = T4 = 5 s after the ACK at 0.6 s.
    assert_eq!(terminated_at(&log), Some(5_600));
    assert!(tu_events(&log.into_iter().map(|(_, o)| o).collect::<Vec<_>>()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn reliable_transport_no_timer_g_but_timer_h_and_zero_timer_i() {
    let t0 = Instant::now();
    let mut txn = start("TCP");
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.send_response(reply(&req, 486, Some("tag1")), Instant::now(), &mut out)
        .expect("486");
    assert_eq!(
        txn.poll_timeout(),
        Some(t0 + Duration::from_secs(32)),
        "only Timer H"
    );
    let mut out = Vec::new();
    txn.on_request(&ack_for(&req, "tag1"), Instant::now(), &mut out);
    assert!(
        matches!(out.as_slice(), [Output::Terminated]),
        "Timer I = 0 on TCP"
    );

    let mut txn = start("TCP");
    let mut out = Vec::new();
    txn.send_response(reply(&req, 486, Some("tag1")), Instant::now(), &mut out)
        .expect("486");
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(statuses(&log).is_empty());
    assert_eq!(terminated_at(&log), Some(32_000));
}

#[tokio::test(start_paused = true)]
async fn two_hundred_terminates_at_once() {
    let mut txn = start("UDP");
    let req = txn.request().clone();
    let mut out = Vec::new();
    txn.send_response(reply(&req, 200, Some("tag1")), Instant::now(), &mut out)
        .expect("200");
    assert!(matches!(
        out.as_slice(),
        [Output::Transmit { .. }, Output::Terminated]
    ));
    assert_eq!(txn.state(), ServerInviteState::Terminated);
    assert!(txn
        .send_response(reply(&req, 200, Some("tag1")), Instant::now(), &mut out)
        .is_err());
}

#[tokio::test(start_paused = true)]
async fn transport_error_terminates_and_informs_tu() {
    let mut txn = start("TCP");
    let mut out = Vec::new();
    txn.on_transport_error(&mut out);
    assert!(matches!(
        out.as_slice(),
        [Output::ToTu(TuEvent::TransportError), Output::Terminated]
    ));
    assert_eq!(txn.poll_timeout(), None, "the 100 Trying timer is gone too");
}
