//! The tracker fed with the events the call core publishes, driven by the CDR test kit's
//! simulator (real channels and bridges).

use serde_json::Value;

use super::*;
use crate::cdr::testkit::{Ch, Sim};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::events::DialStatus;

fn feed(t: &mut Tracker, sim: &mut Sim) {
    for event in sim.take() {
        t.apply(&event);
    }
}

fn json(r: &Rendered) -> Value {
    serde_json::from_str(&r.json).expect("JSON")
}

fn only_upsert(batch: &Batch) -> Value {
    assert_eq!(batch.upsert.len(), 1, "{batch:?}");
    assert!(batch.remove.is_empty(), "{batch:?}");
    json(&batch.upsert[0])
}

fn normal() -> HangupCause {
    HangupCause::normal(HangupSide::Caller)
}

/// A calls 1001 (two forks), fork 2 answers; returns (A, fork 1, fork 2).
fn answered_call(sim: &mut Sim) -> (Ch, Ch, Ch) {
    let a = sim.create_inbound("1000", "1001");
    sim.start_app(a, "Dial", "SIP/1001");
    let b1 = sim.dial(a, "1001", "1001", false);
    let b2 = sim.dial(a, "1001", "1001", false);
    sim.ring_legs(a, &[b1, b2]);
    let cause = HangupCause::new(Q850::AnsweredElsewhere, HangupSide::Switch);
    sim.fail_leg(a, b1, cause, DialStatus::Cancel);
    sim.edit(b2, |c| c.set_codec("PCMU"));
    sim.connect(a, b2);
    (a, b1, b2)
}

#[test]
fn a_call_is_one_upsert_per_window_however_many_events() {
    let mut sim = Sim::new();
    let mut t = Tracker::new();
    let (a, b1, b2) = answered_call(&mut sim);
    let events = sim.take();
    assert!(events.len() > 15, "many events: {}", events.len());
    for e in &events {
        t.apply(e);
    }
    assert!(t.has_changes());
    let call = only_upsert(&t.flush());
    assert_eq!(call["id"], sim.uuid(a));
    assert_eq!(call["state"], "up");
    assert_eq!(call["bridged"], true);
    assert_eq!(call["caller"]["number"], "1000");
    assert_eq!(call["callee"]["number"], "1001");
    assert_eq!(call["dialed"], "1001");
    assert_eq!(call["app"], "Dial");
    assert_eq!(call["direction"], "internal");
    assert_eq!(call["account"], "1000");
    assert_eq!(call["codec"], "PCMU", "the bridged leg's codec");
    assert_eq!(call["on_hold"], false);
    assert!(call["answered_ms"].as_i64().is_some());
    assert_eq!(call["linkedid"], sim.snapshot(a).linkedid.as_str());
    // The cancelled fork is gone; the answered one is the only leg.
    let legs = call["legs"].as_array().expect("legs");
    assert_eq!(legs.len(), 1, "{legs:?}");
    assert_eq!(legs[0]["id"], sim.uuid(b2));
    assert_eq!(legs[0]["name"], sim.name(b2));
    assert_eq!(legs[0]["state"], "up");
    assert_ne!(legs[0]["id"], sim.uuid(b1));
    // Nothing new: an empty batch, no change pending.
    assert!(!t.has_changes());
    assert!(t.flush().is_empty());
}

#[test]
fn changes_after_a_flush_and_the_end_of_the_call() {
    let mut sim = Sim::new();
    let mut t = Tracker::new();
    let (a, _b1, b2) = answered_call(&mut sim);
    feed(&mut t, &mut sim);
    t.flush();
    // Hold on the B side: one upsert with on_hold.
    sim.hold(b2, true);
    feed(&mut t, &mut sim);
    assert_eq!(only_upsert(&t.flush())["on_hold"], true);
    // DTMF and variables change nothing shown.
    sim.set_var(a, "X", "1");
    feed(&mut t, &mut sim);
    assert!(!t.has_changes());
    // The end: one remove, no upsert.
    sim.end_call(a, &[b2], normal(), normal());
    feed(&mut t, &mut sim);
    let batch = t.flush();
    assert!(batch.upsert.is_empty(), "{batch:?}");
    assert_eq!(batch.remove, vec![sim.uuid(a)]);
    assert!(t.is_empty());
}

#[test]
fn a_call_that_ends_within_one_window_is_never_sent() {
    let mut sim = Sim::new();
    let mut t = Tracker::new();
    let a = sim.create_inbound("1000", "9999");
    sim.hangup(a, HangupCause::new(Q850::Unallocated, HangupSide::Switch));
    sim.destroy(a);
    feed(&mut t, &mut sim);
    assert!(t.flush().is_empty());
    assert!(t.is_empty());
}

#[test]
fn ringing_then_early_then_gateway_direction() {
    let mut sim = Sim::new();
    let mut t = Tracker::new();
    let a = sim.create_inbound("1000", "0612345678");
    sim.start_app(a, "Dial", "SIP/0612345678@carrier");
    let b = sim.dial(a, "carrier", "0612345678", true);
    sim.ring_legs(a, &[b]);
    feed(&mut t, &mut sim);
    let call = only_upsert(&t.flush());
    assert_eq!(call["state"], "ringing");
    assert_eq!(call["bridged"], false);
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["callee"]["number"], "0612345678");
    assert_eq!(call["answered_ms"], Value::Null);
    assert_eq!(call["legs"][0]["state"], "ringing");
    sim.progress(b);
    sim.progress(a);
    feed(&mut t, &mut sim);
    let call = only_upsert(&t.flush());
    assert_eq!(call["state"], "early");
    assert_eq!(call["legs"][0]["state"], "early");
    // The caller hangs up: CANCEL of the leg; the call leaves the view.
    let cancel = HangupCause::from_sip(487, HangupSide::Caller);
    sim.fail_leg(a, b, cancel, DialStatus::Cancel);
    sim.hangup(a, cancel);
    sim.destroy(a);
    feed(&mut t, &mut sim);
    let batch = t.flush();
    assert_eq!(batch.remove, vec![sim.uuid(a)]);
    assert!(batch.upsert.is_empty());
}

#[test]
fn many_calls_flush_only_the_changed_ones() {
    let mut sim = Sim::new();
    let mut t = Tracker::new();
    let calls: Vec<Ch> = (0..200)
        .map(|i| sim.create_inbound(&format!("{}", 1000 + i), "1999"))
        .collect();
    feed(&mut t, &mut sim);
    assert_eq!(t.flush().upsert.len(), 200);
    assert_eq!(t.len(), 200);
    sim.ring(calls[7]);
    sim.ring(calls[42]);
    sim.ring(calls[7]); // not a valid edge twice: no event
    feed(&mut t, &mut sim);
    let batch = t.flush();
    let mut ids: Vec<&str> = batch.upsert.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![sim.uuid(calls[7]), sim.uuid(calls[42])];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert_eq!(t.render_all().len(), 200);
}

#[test]
fn channels_seen_mid_call_are_adopted() {
    // The tracker started while a call was up: its first event is a middle one.
    let mut sim = Sim::new();
    let (a, _b1, b2) = answered_call(&mut sim);
    sim.take();
    let mut t = Tracker::new();
    sim.hold(a, true);
    sim.hold(b2, true);
    feed(&mut t, &mut sim);
    let call = only_upsert(&t.flush());
    assert_eq!(call["id"], sim.uuid(a));
    assert_eq!(call["on_hold"], true);
    // B2's originator snapshot (A) is known once A was adopted: it is A's leg.
    assert_eq!(call["legs"][0]["id"], sim.uuid(b2));
    // An outbound channel whose originator is unknown is no call of ours.
    let mut t = Tracker::new();
    sim.hold(b2, false);
    feed(&mut t, &mut sim);
    assert!(t.flush().is_empty());
    assert!(t.is_empty());
}

#[test]
fn a_call_through_a_gateway_names_it_an_internal_call_none() {
    let mut sim = Sim::new();
    let mut t = Tracker::default();
    let out = sim.create_inbound("1000", "9555123");
    let b = sim.dial(out, "carrier", "555123", true);
    sim.ring_legs(out, &[b]);
    let internal = sim.create_inbound("1001", "1002");
    feed(&mut t, &mut sim);
    let batch = t.flush();
    let gateways = |id: &str| {
        batch
            .upsert
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.gateways.clone())
            .expect("rendered")
    };
    let line_group = sim.snapshot(b).attribution.line_group.clone();
    assert!(!line_group.is_empty(), "the gateway leg has a line group");
    assert_eq!(gateways(&sim.uuid(out)), vec![line_group]);
    assert!(gateways(&sim.uuid(internal)).is_empty());
}
