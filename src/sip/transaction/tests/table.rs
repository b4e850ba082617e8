//! The transaction table: matching, absorption, CANCEL, stray ACK/2xx, timer multiplexing.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::key::legacy_invite;
use super::*;
use crate::sip::message::{HeaderName, Message, Method};
use crate::sip::transaction::{
    TableEvent, TransactionError, TransactionKey, TransactionTable, TuEvent,
};

type Table = TransactionTable<Dest>;
type Events = Vec<TableEvent<Dest>>;

fn table() -> Table {
    TransactionTable::new(cfg())
}

/// Statuses of the responses transmitted in `events`.
fn sent_statuses(events: &Events) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            TableEvent::Transmit {
                message: Message::Response(r),
                ..
            } => Some(r.status),
            _ => None,
        })
        .collect()
}

/// Methods of the requests transmitted in `events`.
fn sent_methods(events: &Events) -> Vec<Method> {
    events
        .iter()
        .filter_map(|e| match e {
            TableEvent::Transmit {
                message: Message::Request(r),
                ..
            } => Some(r.method.clone()),
            _ => None,
        })
        .collect()
}

fn new_request_key(events: &Events) -> TransactionKey {
    match events.as_slice() {
        [TableEvent::NewRequest { key, .. }] => key.clone(),
        other => panic!("expected NewRequest, got {other:?}"),
    }
}

/// `req` turned into `method` (request line + CSeq), optionally with a To tag.
fn derived(req: &Request, method: Method, to_tag: Option<&str>) -> Request {
    let mut r = req.clone();
    let seq = r.headers.cseq().expect("cseq").seq;
    r.headers
        .set(HeaderName::CSeq, format!("{seq} {}", method.as_str()));
    if let Some(tag) = to_tag {
        let to = r.headers.get(&HeaderName::To).expect("to").to_owned();
        r.headers.set(HeaderName::To, format!("{to};tag={tag}"));
    }
    r.method = method;
    r
}

/// Run the table's timers on paused time until none is left (or 5 minutes passed).
async fn run_timers(t: &mut Table) -> Events {
    let limit = Instant::now() + Duration::from_secs(300);
    let mut all = Vec::new();
    while let Some(deadline) = t.poll_timeout() {
        assert!(deadline <= limit, "timer left running");
        sleep_until(deadline).await;
        all.extend(t.on_timeout(Instant::now()));
    }
    all
}

#[tokio::test(start_paused = true)]
async fn new_request_then_retransmission_absorbed() {
    let mut t = table();
    let req = non_invite("OPTIONS", "UDP", "z9hG4bKo1");
    let key = new_request_key(
        &t.on_request(req.clone(), PEER, Instant::now())
            .expect("new"),
    );
    assert!(t
        .on_request(req.clone(), PEER, Instant::now())
        .expect("rtx")
        .is_empty());
    let ev = t
        .send_response(&key, reply(&req, 200, Some("a")), Instant::now())
        .expect("200");
    assert_eq!(sent_statuses(&ev), vec![200]);
    let ev = t.on_request(req, PEER, Instant::now()).expect("rtx");
    assert_eq!(
        sent_statuses(&ev),
        vec![200],
        "final resent on retransmission"
    );
    run_timers(&mut t).await;
    assert!(t.is_empty(), "Timer J removed the transaction");
}

#[tokio::test(start_paused = true)]
async fn ack_for_non_2xx_absorbed_and_2xx_ack_is_stray() {
    let mut t = table();
    let inv = invite("UDP", "z9hG4bKi1");
    let key = new_request_key(
        &t.on_request(inv.clone(), PEER, Instant::now())
            .expect("new"),
    );
    t.send_response(&key, reply(&inv, 486, Some("s1")), Instant::now())
        .expect("486");
    let ev = t
        .on_request(derived(&inv, Method::Ack, Some("s1")), PEER, Instant::now())
        .expect("ack");
    assert!(ev.is_empty(), "ACK absorbed: {ev:?}");
    assert_eq!(t.state(&key), Some("Confirmed"));
    run_timers(&mut t).await;
    assert!(t.is_empty());

    // 2xx: the transaction is gone at once, the ACK (own branch) is stray.
    let inv = invite("UDP", "z9hG4bKi2");
    let key = new_request_key(
        &t.on_request(inv.clone(), PEER, Instant::now())
            .expect("new"),
    );
    let ev = t
        .send_response(&key, reply(&inv, 200, Some("s2")), Instant::now())
        .expect("200");
    assert_eq!(sent_statuses(&ev), vec![200]);
    assert!(t.is_empty());
    let mut ack = derived(&inv, Method::Ack, Some("s2"));
    ack.headers.replace_first(
        &HeaderName::Via,
        "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKack2",
    );
    let ev = t.on_request(ack, PEER, Instant::now()).expect("ack");
    assert!(matches!(ev.as_slice(), [TableEvent::StrayAck { .. }]));
}

#[tokio::test(start_paused = true)]
async fn cancel_matching_invite_gets_200_and_tu_is_told() {
    let mut t = table();
    let inv = invite("UDP", "z9hG4bKc1");
    let key = new_request_key(
        &t.on_request(inv.clone(), PEER, Instant::now())
            .expect("new"),
    );
    t.send_response(&key, reply(&inv, 180, Some("s1")), Instant::now())
        .expect("180");
    let cancel = derived(&inv, Method::Cancel, None);
    let ev = t
        .on_request(cancel.clone(), PEER, Instant::now())
        .expect("cancel");
    assert_eq!(sent_statuses(&ev), vec![200]);
    let TableEvent::Transmit {
        message: Message::Response(ok),
        ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    // RFC 3261 §9.2: same To tag as the INVITE's responses.
    assert_eq!(ok.headers.to().expect("to").tag(), Some("s1"));
    assert!(matches!(&ev[1], TableEvent::CancelReceived { invite_key, .. } if *invite_key == key));
    // A retransmitted CANCEL is answered by its own transaction, no second notification.
    let ev = t
        .on_request(cancel, PEER, Instant::now())
        .expect("cancel rtx");
    assert_eq!(sent_statuses(&ev), vec![200]);
    assert_eq!(ev.len(), 1);
    // The TU answers the INVITE with 487; the ACK completes it.
    t.send_response(&key, reply(&inv, 487, Some("s1")), Instant::now())
        .expect("487");
    t.on_request(derived(&inv, Method::Ack, Some("s1")), PEER, Instant::now())
        .expect("ack");
    run_timers(&mut t).await;
    assert!(t.is_empty(), "no leaked transactions");
}

#[tokio::test(start_paused = true)]
async fn cancel_without_invite_gets_481() {
    let mut t = table();
    let cancel = derived(&invite("UDP", "z9hG4bKnone"), Method::Cancel, None);
    let ev = t.on_request(cancel, PEER, Instant::now()).expect("cancel");
    assert_eq!(sent_statuses(&ev), vec![481]);
    assert_eq!(ev.len(), 1, "no TU event");
    // CANCEL for an INVITE already answered: 200, but nothing for the TU to cancel.
    let inv = invite("UDP", "z9hG4bKdone");
    let key = new_request_key(
        &t.on_request(inv.clone(), PEER, Instant::now())
            .expect("new"),
    );
    t.send_response(&key, reply(&inv, 486, Some("s")), Instant::now())
        .expect("486");
    let ev = t
        .on_request(derived(&inv, Method::Cancel, None), PEER, Instant::now())
        .expect("cancel");
    assert_eq!(sent_statuses(&ev), vec![200]);
    assert_eq!(ev.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn rfc2543_invite_retransmission_ack_and_cancel() {
    let mut t = table();
    let inv = legacy_invite();
    let key = new_request_key(
        &t.on_request(inv.clone(), PEER, Instant::now())
            .expect("new"),
    );
    assert!(key.is_rfc2543());
    // Retransmission before the TU answered: answered with 100 Trying, no NewRequest.
    let ev = t
        .on_request(inv.clone(), PEER, Instant::now())
        .expect("rtx");
    assert_eq!(sent_statuses(&ev), vec![100]);
    // CANCEL matched by the fallback rules (§9.2).
    let ev = t
        .on_request(derived(&inv, Method::Cancel, None), PEER, Instant::now())
        .expect("cancel");
    assert!(
        matches!(ev.last(), Some(TableEvent::CancelReceived { invite_key, .. }) if *invite_key == key)
    );
    t.send_response(&key, reply(&inv, 487, Some("srv")), Instant::now())
        .expect("487");
    // An ACK with another To tag does not match the response we sent.
    let ev = t
        .on_request(
            derived(&inv, Method::Ack, Some("other")),
            PEER,
            Instant::now(),
        )
        .expect("ack");
    assert!(matches!(ev.as_slice(), [TableEvent::StrayAck { .. }]));
    assert_eq!(t.state(&key), Some("Completed"));
    let ev = t
        .on_request(
            derived(&inv, Method::Ack, Some("srv")),
            PEER,
            Instant::now(),
        )
        .expect("ack");
    assert!(ev.is_empty());
    assert_eq!(t.state(&key), Some("Confirmed"));
}

#[tokio::test(start_paused = true)]
async fn client_2xx_terminates_and_retransmitted_2xx_is_stray() {
    let mut t = table();
    let inv = invite("UDP", "z9hG4bKcl1");
    let (key, ev) = t
        .send_request(inv.clone(), PEER, false, Instant::now())
        .expect("send");
    assert_eq!(sent_methods(&ev), vec![Method::Invite]);
    let ok = reply(&inv, 200, Some("b1"));
    let ev = t.on_response(ok.clone(), Instant::now()).expect("200");
    assert!(
        matches!(&ev[0], TableEvent::Tu { key: k, event: TuEvent::Response(r) } if *k == key && r.status == 200)
    );
    assert!(matches!(
        &ev[1],
        TableEvent::Tu {
            event: TuEvent::Terminated,
            ..
        }
    ));
    assert!(t.is_empty());
    let ev = t.on_response(ok, Instant::now()).expect("rtx");
    assert!(
        matches!(ev.as_slice(), [TableEvent::StrayResponse { response }] if response.status == 200)
    );
    // Unmatched non-2xx responses are dropped.
    assert!(t
        .on_response(reply(&inv, 486, Some("b1")), Instant::now())
        .expect("486")
        .is_empty());
}

#[tokio::test(start_paused = true)]
async fn client_timeout_reaches_tu_as_408_and_table_empties() {
    let t0 = Instant::now();
    let mut t = table();
    let (ikey, _) = t
        .send_request(invite("UDP", "z9hG4bKa"), PEER, false, t0)
        .expect("invite");
    let (nkey, _) = t
        .send_request(non_invite("OPTIONS", "UDP", "z9hG4bKb"), PEER, false, t0)
        .expect("options");
    assert_eq!(t.len(), 2);
    let ev = run_timers(&mut t).await;
    let methods = sent_methods(&ev);
    assert_eq!(
        methods.iter().filter(|m| **m == Method::Invite).count(),
        6,
        "timer A"
    );
    assert_eq!(
        methods.iter().filter(|m| **m == Method::Options).count(),
        10,
        "timer E"
    );
    for key in [ikey, nkey] {
        assert!(ev.iter().any(|e| matches!(e, TableEvent::Tu { key: k, event: TuEvent::Timeout(r) } if *k == key && r.status == 408)));
    }
    assert_eq!(ms_since(t0), 32_000);
    assert!(t.is_empty());
}

#[tokio::test(start_paused = true)]
async fn cancel_waits_for_provisional_then_follows_rfc_3261_9_1() {
    let mut t = table();
    let inv = invite("UDP", "z9hG4bKcx");
    let (key, _) = t
        .send_request(inv.clone(), PEER, false, Instant::now())
        .expect("send");
    let (ckey, ev) = t.cancel(&key, Instant::now()).expect("cancel");
    assert!(
        ev.is_empty(),
        "no CANCEL before a provisional response (§9.1)"
    );
    assert!(matches!(
        t.cancel(&key, Instant::now()),
        Err(TransactionError::DuplicateTransaction(_))
    ));
    let ev = t
        .on_response(reply(&inv, 180, Some("b")), Instant::now())
        .expect("180");
    let cancel = ev
        .iter()
        .find_map(|e| match e {
            TableEvent::Transmit {
                key: k,
                message: Message::Request(r),
                ..
            } if *k == ckey => Some(r.clone()),
            _ => None,
        })
        .expect("CANCEL sent after the 180");
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri.to_string(), inv.uri.to_string());
    assert_eq!(cancel.headers.vias().expect("via").len(), 1);
    assert_eq!(
        cancel.headers.values(&HeaderName::Via).next(),
        inv.headers.values(&HeaderName::Via).next()
    );
    for h in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        assert_eq!(cancel.headers.get(&h), inv.headers.get(&h));
    }
    assert_eq!(cancel.headers.get(&HeaderName::CSeq), Some("314159 CANCEL"));
    assert_eq!(cancel.headers.get_all(&HeaderName::Route).count(), 2);
    // The CANCEL's 200 and the INVITE's 487 go to their own transactions.
    t.on_response(reply(&cancel, 200, Some("b")), Instant::now())
        .expect("200 cancel");
    let ev = t
        .on_response(reply(&inv, 487, Some("b")), Instant::now())
        .expect("487");
    assert_eq!(sent_methods(&ev), vec![Method::Ack]);
    run_timers(&mut t).await;
    assert!(t.is_empty());
}

#[tokio::test(start_paused = true)]
async fn transport_error_and_errors() {
    let mut t = table();
    let (key, _) = t
        .send_request(
            non_invite("OPTIONS", "TCP", "z9hG4bKte"),
            PEER,
            true,
            Instant::now(),
        )
        .expect("send");
    let ev = t.on_transport_error(&key);
    assert!(matches!(
        &ev[0],
        TableEvent::Tu {
            event: TuEvent::TransportError,
            ..
        }
    ));
    assert!(t.is_empty());
    let ack = derived(&invite("UDP", "z9hG4bKx"), Method::Ack, Some("t"));
    assert!(matches!(
        t.send_request(ack, PEER, false, Instant::now()),
        Err(TransactionError::AckIsNotATransaction)
    ));
    assert!(matches!(
        t.send_request(legacy_invite(), PEER, false, Instant::now()),
        Err(TransactionError::MissingBranch)
    ));
    let inv = invite("UDP", "z9hG4bKdup");
    t.send_request(inv.clone(), PEER, false, Instant::now())
        .expect("first");
    assert!(matches!(
        t.send_request(inv, PEER, false, Instant::now()),
        Err(TransactionError::DuplicateTransaction(_))
    ));
    let unknown = TransactionKey::Client {
        branch: "z9hG4bKno".into(),
        method: "INVITE".into(),
    };
    assert!(matches!(
        t.cancel(&unknown, Instant::now()),
        Err(TransactionError::UnknownTransaction(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn wire_response_with_compact_headers_matches_by_branch_and_method() {
    let mut t = table();
    let (key, _) = t
        .send_request(invite("UDP", "z9hG4bK74bf9"), PEER, false, Instant::now())
        .expect("send");
    let ringing = "SIP/2.0 180 Ringing\r\n\
        v: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.1\r\n\
        v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy\r\n\
        t: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n\
        f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        i: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        l: 0\r\n\r\n";
    let ev = t
        .on_response(response(ringing), Instant::now())
        .expect("180");
    assert!(
        matches!(ev.as_slice(), [TableEvent::Tu { key: k, event: TuEvent::Response(r) }] if *k == key && r.status == 180)
    );
    assert_eq!(t.state(&key), Some("Proceeding"));
    // Same branch, other CSeq method: not this transaction (RFC 3261 §17.1.3).
    let other = ringing.replace("314159 INVITE", "314159 BYE");
    assert!(t
        .on_response(response(&other), Instant::now())
        .expect("bye")
        .is_empty());
    // Other branch: dropped.
    let other = ringing.replace("z9hG4bK74bf9", "z9hG4bKzzz");
    assert!(t
        .on_response(response(&other), Instant::now())
        .expect("other")
        .is_empty());
    assert_eq!(t.state(&key), Some("Proceeding"));
}
