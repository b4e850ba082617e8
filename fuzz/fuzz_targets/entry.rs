//! The fuzz entry point, shared by the cargo-fuzz target and the deterministic mutation
//! test (tests/fuzz_mutations.rs). It runs what the endpoint runs on a datagram: parse,
//! the stateless rejection of what fails, validation, and the transaction table (new
//! request, answer, retransmission, timers; or a response). Besides "no panic", it checks
//! invariants: an accepted message re-encodes to bytes that parse again and encode
//! identically, typed values survive a Display/parse round trip, and the transaction
//! table is empty once every timer has fired.

use std::time::Duration;

use switchboard::sip::endpoint::reject;
use switchboard::sip::message::{
    ContactValue, Framed, HeaderName, Message, NameAddr, Response, StreamFramer, Uri, Via,
};
use switchboard::sip::transaction::{TableEvent, TimerConfig, TransactionTable};

/// Largest message the stream framer accepts in the fuzz run.
const MAX_MESSAGE: usize = 64 * 1024;

/// Runs every message-layer entry point on `data`.
pub fn run(data: &[u8]) {
    match Message::parse(data) {
        Err(error) => {
            // What the endpoint sends back for a message it cannot parse.
            if let Some(r) = reject(data, &error, "fuzz") {
                assert!(Message::parse(&r.bytes).is_ok(), "rejection does not parse");
            }
        }
        Ok(msg) => {
            if msg.validate().is_ok() {
                transactions(msg.clone());
            }
        }
    }
    if let Ok(msg) = Message::parse(data) {
        exercise(&msg);
        let wire = msg.to_bytes();
        let again = match Message::parse(&wire) {
            Ok(m) => m,
            Err(e) => panic!("re-encoded message does not parse: {e:?}"),
        };
        assert_eq!(again.to_bytes(), wire, "encoding is not stable");
        assert_eq!(again.body(), msg.body(), "body changed across encode");
    }
    let mid = data.len() / 2;
    let mut framer = StreamFramer::new(MAX_MESSAGE);
    for part in [
        data.get(..mid).unwrap_or_default(),
        data.get(mid..).unwrap_or_default(),
    ] {
        framer.extend(part);
        loop {
            match framer.next() {
                Ok(Some(Framed::Message(bytes))) => {
                    assert!(bytes.len() <= MAX_MESSAGE);
                    if let Ok(m) = Message::parse(&bytes) {
                        exercise(&m);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}

/// Calls every typed accessor and checks Display/parse round trips.
fn exercise(msg: &Message) {
    let h = msg.headers();
    let _ = msg.validate();
    if let Ok(vias) = h.vias() {
        for v in vias {
            assert_eq!(
                Via::parse(&v.to_string()).ok(),
                Some(v.clone()),
                "Via round trip"
            );
            let _ = (v.branch(), v.received(), v.rport(), v.maddr());
        }
    }
    let _ = h.top_via();
    for na in [h.from(), h.to()].into_iter().flatten() {
        name_addr_round_trip(&na);
    }
    if let Ok(contacts) = h.contacts() {
        for c in contacts {
            if let ContactValue::Addr(na) = c {
                name_addr_round_trip(&na);
                let _ = na.expires();
            }
        }
    }
    for name in [HeaderName::Route, HeaderName::RecordRoute] {
        if let Ok(routes) = h.routes(&name) {
            routes.iter().for_each(name_addr_round_trip);
        }
    }
    let _ = (
        h.call_id(),
        h.cseq(),
        h.max_forwards(),
        h.expires(),
        h.min_expires(),
        h.date(),
        h.content_type(),
    );
    for header in h.iter() {
        let _ = h.values(header.name()).count();
    }
    if let Message::Request(r) = msg {
        assert_eq!(
            Uri::parse(&r.uri.to_string()).ok(),
            Some(r.uri.clone()),
            "Request-URI round trip"
        );
    }
}

/// A name-addr printed and parsed again is unchanged.
fn name_addr_round_trip(na: &NameAddr) {
    let shown = na.to_string();
    assert_eq!(
        NameAddr::parse(&shown).ok().as_ref(),
        Some(na),
        "name-addr round trip: {shown}"
    );
}

/// Feeds a valid message through a transaction table as the endpoint would, then lets every
/// timer fire: nothing may panic and no transaction may be left behind.
fn transactions(msg: Message) {
    let mut table = TransactionTable::<()>::new(TimerConfig::default());
    let now = tokio::time::Instant::now();
    match msg {
        Message::Request(req) => {
            // The request, then a retransmission of it (over a reliable transport the first
            // transaction is already gone, so the copy is a new request to answer).
            for at in [now, now + Duration::from_millis(10)] {
                let Ok(events) = table.on_request(req.clone(), (), at) else {
                    return;
                };
                answer_new_requests(&mut table, events, at);
            }
        }
        Message::Response(resp) => {
            let _ = table.on_response(resp, now);
        }
    }
    let mut at = now;
    for _ in 0..64 {
        match table.poll_timeout() {
            Some(deadline) => {
                at = at.max(deadline);
                let _ = table.on_timeout(at);
            }
            None => break,
        }
    }
    assert!(
        table.is_empty(),
        "transactions left after all timers: {table:?}"
    );
}

/// Answers every new server transaction with a final response, as the endpoint's TU does.
fn answer_new_requests(
    table: &mut TransactionTable<()>,
    events: Vec<TableEvent<()>>,
    at: tokio::time::Instant,
) {
    for event in events {
        if let TableEvent::NewRequest { key, request } = event {
            let answer = Response::for_request(&request, 486, None, Some("fuzz"));
            if let Err(error) = table.send_response(&key, answer, at) {
                panic!("cannot answer a new request: {error}");
            }
        }
    }
}
