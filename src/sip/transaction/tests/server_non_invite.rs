//! Non-INVITE server transaction: request absorption, Timer J.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::*;
use crate::sip::message::Message;
use crate::sip::transaction::{Output, ServerNonInvite, ServerNonInviteState, TransactionError};

fn start(transport: &str) -> ServerNonInvite<Dest> {
    ServerNonInvite::new(PEER, transport == "TCP", cfg())
}

fn sent_status(out: &[Output<Dest>]) -> Vec<u16> {
    transmitted(out)
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.status),
            Message::Request(_) => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retransmission_absorbed_in_trying_and_answered_later() {
    let mut txn = start("UDP");
    let req = non_invite("OPTIONS", "UDP", "z9hG4bKopt1");
    let mut out = Vec::new();
    txn.on_request(&req, &mut out);
    assert!(out.is_empty(), "Trying absorbs retransmissions silently");

    txn.send_response(reply(&req, 183, None), Instant::now(), &mut out)
        .expect("1xx");
    assert_eq!(txn.state(), ServerNonInviteState::Proceeding);
    let mut out = Vec::new();
    txn.on_request(&req, &mut out);
    assert_eq!(
        sent_status(&out),
        vec![183],
        "Proceeding resends the provisional"
    );

    let mut out = Vec::new();
    txn.send_response(reply(&req, 200, Some("t")), Instant::now(), &mut out)
        .expect("final");
    let mut out = Vec::new();
    txn.on_request(&req, &mut out);
    assert_eq!(
        sent_status(&out),
        vec![200],
        "Completed resends the final response"
    );
}

#[tokio::test(start_paused = true)]
async fn timer_j_is_64_t1_on_udp() {
    let t0 = Instant::now();
    let mut txn = start("UDP");
    sleep_until(t0 + Duration::from_millis(300)).await;
    let req = non_invite("OPTIONS", "UDP", "z9hG4bKopt1");
    let mut out = Vec::new();
    txn.send_response(reply(&req, 200, Some("t")), Instant::now(), &mut out)
        .expect("final");
    assert_eq!(txn.state(), ServerNonInviteState::Completed);
    let log = drive(&mut txn, t0, Duration::from_secs(60)).await;
    assert!(
        transmit_times(&log).is_empty(),
        "no response retransmission timer"
    );
    assert_eq!(terminated_at(&log), Some(32_300));
}

#[tokio::test(start_paused = true)]
async fn timer_j_is_zero_on_reliable_transport() {
    let mut txn = start("TCP");
    let req = non_invite("OPTIONS", "UDP", "z9hG4bKopt1");
    let mut out = Vec::new();
    txn.send_response(reply(&req, 200, Some("t")), Instant::now(), &mut out)
        .expect("final");
    assert!(matches!(out.last(), Some(Output::Terminated)));
    assert_eq!(txn.state(), ServerNonInviteState::Terminated);
}

#[tokio::test(start_paused = true)]
async fn second_final_response_is_refused() {
    let mut txn = start("UDP");
    let req = non_invite("OPTIONS", "UDP", "z9hG4bKopt1");
    let mut out = Vec::new();
    txn.send_response(reply(&req, 200, Some("t")), Instant::now(), &mut out)
        .expect("final");
    let err = txn.send_response(reply(&req, 500, Some("t")), Instant::now(), &mut out);
    assert!(matches!(
        err,
        Err(TransactionError::InvalidState {
            state: "Completed",
            ..
        })
    ));
}
