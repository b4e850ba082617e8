use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::cdr::testkit::{Ch, Sim, T0_MS};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::PartyId;

fn settings() -> CdrSettings {
    CdrSettings {
        node_id: "1.2.3".to_owned(),
        ..CdrSettings::default()
    }
}

fn feed(engine: &mut CelEngine, sim: &mut Sim) -> Vec<Arc<CelRecord>> {
    let mut out = Vec::new();
    for e in sim.take() {
        engine.apply(&e, &mut out);
    }
    out.into_iter()
        .map(|op| match op {
            CdrOp::Cel(r) => r,
            other => panic!("unexpected op {other:?}"),
        })
        .collect()
}

fn types(rows: &[Arc<CelRecord>]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r.eventtype.clone(), r.channame.clone()))
        .collect()
}

fn row<'a>(rows: &'a [Arc<CelRecord>], eventtype: &str, channame: &str) -> &'a CelRecord {
    rows.iter()
        .find(|r| r.eventtype == eventtype && r.channame == channame)
        .unwrap_or_else(|| panic!("no {eventtype} for {channame}"))
}

fn extra(r: &CelRecord) -> serde_json::Value {
    serde_json::from_str(&r.extra).unwrap_or_else(|e| panic!("extra {:?}: {e}", r.extra))
}

/// 1000 (Alice) calls 1001; returns (A, B) with B ringing and Dial running on A.
fn ringing(sim: &mut Sim) -> (Ch, Ch) {
    let a = sim.create_inbound("1000", "1001");
    sim.edit(a, |c| {
        c.set_caller(PartyId {
            number: "1000".into(),
            name: Some("Alice".into()),
        })
    });
    sim.start_app(a, "Dial", "SIP/1001,30");
    let b = sim.dial(a, "1001", "1001", false);
    sim.advance_ms(1_000);
    sim.ring_legs(a, &[b]);
    (a, b)
}

#[test]
fn answered_call_event_sequence() {
    let mut sim = Sim::new();
    let mut engine = CelEngine::new(&settings());
    let (a, b) = ringing(&mut sim);
    sim.edit(b, |c| c.set_accountcode("sales"));
    sim.advance_ms(2_000);
    sim.connect(a, b);
    sim.hold(b, true);
    sim.hold(b, false);
    sim.set_var(a, "x", "1");
    sim.advance_ms(10_000);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &[b], bye, bye);
    let rows = feed(&mut engine, &mut sim);
    let (na, nb) = (sim.name(a), sim.name(b));
    let want: Vec<(String, String)> = [
        ("CHAN_START", &na),
        ("APP_START", &na),
        ("CHAN_START", &nb),
        ("ANSWER", &nb),
        ("ANSWER", &na),
        ("BRIDGE_ENTER", &na),
        ("BRIDGE_ENTER", &nb),
        ("BRIDGE_EXIT", &na),
        ("BRIDGE_EXIT", &nb),
        ("APP_END", &na),
        ("HANGUP", &na),
        ("HANGUP", &nb),
        ("CHAN_END", &nb),
        ("CHAN_END", &na),
        ("LINKEDID_END", &na),
    ]
    .iter()
    .map(|(t, n)| (t.to_string(), n.to_string()))
    .collect();
    assert_eq!(types(&rows), want);
    // event_seq is the bus seq: increasing; LINKEDID_END shares its CHAN_END's.
    assert!(rows.windows(2).all(|w| w[0].event_seq < w[1].event_seq
        || (w[1].eventtype == "LINKEDID_END" && w[0].event_seq == w[1].event_seq)));
    assert_eq!(rows.last().map(|r| r.event_seq), Some(sim.last_seq()));
    // Rows are told apart by (uniqueid, event_seq, eventtype): LINKEDID_END shares the
    // first two with the CHAN_END it follows.
    let mut keys: Vec<_> = rows
        .iter()
        .map(|r| (r.uniqueid.clone(), r.event_seq, r.eventtype.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), rows.len());

    // Peers: the other member's name and account code.
    let enter_a = row(&rows, "BRIDGE_ENTER", &na);
    assert_eq!(
        (enter_a.peer.as_str(), enter_a.peeraccount.as_str()),
        (nb.as_str(), "sales")
    );
    let enter_b = row(&rows, "BRIDGE_ENTER", &nb);
    assert_eq!(
        (enter_b.peer.as_str(), enter_b.peeraccount.as_str()),
        (na.as_str(), "")
    );
    assert_eq!(extra(enter_a), extra(enter_b));
    assert!(extra(enter_a)["bridge_id"].is_string());
    // A leaves first: B is still there; B leaves an empty bridge.
    assert_eq!(row(&rows, "BRIDGE_EXIT", &na).peer, nb);
    assert_eq!(row(&rows, "BRIDGE_EXIT", &nb).peer, "");

    // Hang-up extras: the callee hung up (B's far end).
    assert_eq!(
        extra(row(&rows, "HANGUP", &na)),
        json!({"hangupcause": 16, "hangupsource": nb, "dialstatus": "ANSWER"})
    );
    assert_eq!(
        extra(row(&rows, "HANGUP", &nb)),
        json!({"hangupcause": 16, "hangupsource": nb})
    );
    let end = row(&rows, "LINKEDID_END", &na);
    assert_eq!(
        (end.linkedid.as_str(), end.eventtime),
        (sim.uuid(a).as_str(), T0_MS + 13_000)
    );
    assert_eq!((engine.live_count(), engine.linkedid_count()), (0, 0));
}

#[test]
fn row_fields_follow_the_seed_list() {
    let mut sim = Sim::new();
    let mut engine = CelEngine::new(&settings());
    let (a, b) = ringing(&mut sim);
    let rows = feed(&mut engine, &mut sim);
    let ua = sim.uuid(a);
    let start = CelRecord {
        event_seq: 1,
        node_id: "1.2.3".into(),
        eventtype: "CHAN_START".into(),
        eventtime: T0_MS,
        // The caller's name was set silently after creation: not in the first snapshot.
        cid_name: String::new(),
        cid_num: "1000".into(),
        cid_ani: "1000".into(),
        cid_rdnis: String::new(),
        cid_dnid: "1001".into(),
        exten: "1001".into(),
        context: "internal".into(),
        channame: sim.name(a),
        appname: String::new(),
        appdata: String::new(),
        amaflags: "DOCUMENTATION".into(),
        accountcode: String::new(),
        peeraccount: String::new(),
        uniqueid: ua.clone(),
        linkedid: ua.clone(),
        userfield: String::new(),
        peer: String::new(),
        extra: String::new(),
    };
    assert_eq!(*rows[0], start);
    let app = CelRecord {
        event_seq: 2,
        eventtype: "APP_START".into(),
        cid_name: "Alice".into(),
        appname: "Dial".into(),
        appdata: "SIP/1001,30".into(),
        ..start.clone()
    };
    assert_eq!(*rows[1], app);
    let b_start = &rows[2];
    assert_eq!(b_start.uniqueid, sim.uuid(b));
    // The dialed channel inherits the caller's linkedid.
    assert_eq!(b_start.linkedid, ua);
    assert_eq!(rows.len(), 3);
    let c = HangupCause::normal(HangupSide::Caller);
    sim.fail_leg(
        a,
        b,
        HangupCause::from_sip(487, HangupSide::Caller),
        DialStatus::Cancel,
    );
    sim.end_call(a, &[b], c, c);
    feed(&mut engine, &mut sim);
    assert_eq!((engine.live_count(), engine.linkedid_count()), (0, 0));
}

#[test]
fn caller_cancel_extras() {
    let mut sim = Sim::new();
    let mut engine = CelEngine::new(&settings());
    let (a, b) = ringing(&mut sim);
    let cancel = HangupCause::from_sip(487, HangupSide::Caller);
    sim.fail_leg(a, b, cancel, DialStatus::Cancel);
    sim.end_call(a, &[b], cancel, cancel);
    let rows = feed(&mut engine, &mut sim);
    let (na, nb) = (sim.name(a), sim.name(b));
    // B ends first: the caller (A, still live) hung up; B never dialed.
    assert_eq!(
        extra(row(&rows, "HANGUP", &nb)),
        json!({"hangupcause": 487, "hangupsource": na})
    );
    assert_eq!(
        extra(row(&rows, "HANGUP", &na)),
        json!({"hangupcause": 487, "hangupsource": na, "dialstatus": "CANCEL"})
    );
    assert!(!rows
        .iter()
        .any(|r| r.eventtype == "ANSWER" || r.eventtype.starts_with("BRIDGE")));
    assert_eq!(
        rows.iter()
            .filter(|r| r.eventtype == "LINKEDID_END")
            .count(),
        1
    );
    assert_eq!((engine.live_count(), engine.linkedid_count()), (0, 0));
}

#[test]
fn switch_and_device_hangups_name_the_side() {
    let mut sim = Sim::new();
    let mut engine = CelEngine::new(&settings());
    let a = sim.create_inbound("1000", "1999");
    let cause = HangupCause::from_q850_with_status(Q850::Unallocated, HangupSide::Switch);
    sim.end_call(a, &[], cause, cause);
    let e = sim.create_inbound("1002", "*43");
    sim.answer(e);
    let timeout = HangupCause::new(Q850::MediaTimeout, HangupSide::Device);
    sim.end_call(e, &[], timeout, timeout);
    let rows = feed(&mut engine, &mut sim);
    assert_eq!(
        extra(row(&rows, "HANGUP", &sim.name(a))),
        json!({"hangupcause": 1, "hangupsource": "switch"})
    );
    assert_eq!(
        extra(row(&rows, "HANGUP", &sim.name(e))),
        json!({"hangupcause": 604, "hangupsource": "device"})
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.eventtype == "LINKEDID_END")
            .count(),
        2
    );
    assert_eq!((engine.live_count(), engine.linkedid_count()), (0, 0));
}

#[test]
fn linkedid_end_once_per_conversation() {
    let mut sim = Sim::new();
    let mut engine = CelEngine::new(&settings());
    // Parallel ring: three channels, one linkedid.
    let a = sim.create_inbound("1000", "600");
    sim.start_app(a, "Dial", "SIP/1001&SIP/1002,30");
    let b1 = sim.dial(a, "1001", "1001", false);
    let b2 = sim.dial(a, "1002", "1002", false);
    sim.ring_legs(a, &[b1, b2]);
    let elsewhere = HangupCause::new(Q850::AnsweredElsewhere, HangupSide::Switch);
    sim.fail_leg(a, b1, elsewhere, DialStatus::Cancel);
    sim.connect(a, b2);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[b1, b2], bye, bye);
    let rows = feed(&mut engine, &mut sim);
    let ends: Vec<&Arc<CelRecord>> = rows
        .iter()
        .filter(|r| r.eventtype == "LINKEDID_END")
        .collect();
    assert_eq!(ends.len(), 1);
    assert_eq!(
        rows.last().map(|r| r.eventtype.as_str()),
        Some("LINKEDID_END")
    );
    assert_eq!(ends[0].linkedid, sim.uuid(a));
    assert_eq!(rows.iter().filter(|r| r.eventtype == "CHAN_END").count(), 3);
    assert_eq!(
        extra(row(&rows, "HANGUP", &sim.name(b1))),
        json!({"hangupcause": 26, "hangupsource": "switch"})
    );
    assert_eq!((engine.live_count(), engine.linkedid_count()), (0, 0));
}

#[test]
fn merged_conversations_end_the_younger_linkedid_at_the_merge() {
    let mut sim = Sim::new();
    let mut engine = CelEngine::new(&settings());
    let old = sim.create_inbound("1000", "*43");
    let young = sim.create_inbound("1002", "*43");
    sim.answer(old);
    sim.answer(young);
    feed(&mut engine, &mut sim);
    assert_eq!(engine.linkedid_count(), 2);
    sim.bridge(young, old);
    let rows = feed(&mut engine, &mut sim);
    assert_eq!(
        types(&rows),
        [
            ("BRIDGE_ENTER".to_owned(), sim.name(young)),
            ("BRIDGE_ENTER".to_owned(), sim.name(old)),
            ("LINKEDID_END".to_owned(), sim.name(young)),
        ]
    );
    assert_eq!(rows[2].linkedid, sim.uuid(young));
    assert_eq!(engine.linkedid_count(), 1);
    let c = HangupCause::normal(HangupSide::Caller);
    sim.end_call(young, &[old], c, c);
    let rows = feed(&mut engine, &mut sim);
    let ends: Vec<_> = rows
        .iter()
        .filter(|r| r.eventtype == "LINKEDID_END")
        .collect();
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].linkedid, sim.uuid(old));
    assert_eq!((engine.live_count(), engine.linkedid_count()), (0, 0));
}
