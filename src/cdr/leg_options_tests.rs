//! Leg engine options and field mapping: `legs` filter, AMA `OMIT`, realtime mode, crash
//! journal, durations, RTP, variables.
use std::collections::BTreeMap;

use super::tests::{feed, final_of, finals, ringing_call, settings, stats, summary};
use super::*;
use crate::cdr::testkit::{Ch, Sim, T0_MS};
use crate::switch::cause::{HangupCause, HangupSide, Q850};

fn answered_call_ops(settings: &CdrSettings, omit_a: bool) -> (Sim, Ch, Ch, Vec<CdrOp>, usize) {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(settings);
    let (a, legs) = ringing_call(&mut sim, "600", &["1001"]);
    if omit_a {
        sim.edit(a, |c| c.set_amaflags(AmaFlags::Omit));
    }
    sim.connect(a, legs[0]);
    sim.advance_ms(1_000);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &legs, bye, bye);
    let ops = feed(&mut engine, &mut sim);
    let open = engine.open_count();
    (sim, a, legs[0], ops, open)
}

#[test]
fn legs_filter_a_writes_inbound_legs_only() {
    let s = CdrSettings {
        legs: LegsFilter::A,
        ..settings()
    };
    let (sim, a, b, ops, open) = answered_call_ops(&s, false);
    assert_eq!(open, 0);
    let ua = sim.uuid(a);
    assert!(
        summary(&ops).iter().all(|o| o.1 == ua),
        "only A ops: {:?}",
        summary(&ops)
    );
    let r = final_of(&ops, &ua);
    // B is followed even though not written: A still knows whom it reached.
    assert_eq!(
        (r.callee_id_number.as_str(), r.bridge_uuid.clone()),
        ("1001", Some(sim.uuid(b)))
    );
}

#[test]
fn legs_filter_b_writes_outbound_legs_only() {
    let s = CdrSettings {
        legs: LegsFilter::B,
        ..settings()
    };
    let (sim, _a, b, ops, open) = answered_call_ops(&s, false);
    assert_eq!(open, 0);
    let ub = sim.uuid(b);
    assert!(
        summary(&ops).iter().all(|o| o.1 == ub),
        "only B ops: {:?}",
        summary(&ops)
    );
    assert_eq!(finals(&ops).len(), 1);
    assert_eq!(final_of(&ops, &ub).direction, "outbound");
}

#[test]
fn omit_drops_after_live() {
    let (sim, a, b, ops, open) = answered_call_ops(&settings(), true);
    assert_eq!(open, 0);
    let (ua, ub) = (sim.uuid(a), sim.uuid(b));
    let sum = summary(&ops);
    assert_eq!(sum.first(), Some(&("live", ua.clone(), "created")));
    assert_eq!(sum.last(), Some(&("drop", ua.clone(), "")));
    assert!(!sum.iter().any(|o| o.0 == "final" && o.1 == ua));
    // B was created before A's flags changed: it is written.
    assert_eq!(final_of(&ops, &ub).amaflags, "DOCUMENTATION");
}

#[test]
fn omit_inherited_by_the_dialed_leg() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "1001");
    sim.edit(a, |c| c.set_amaflags(AmaFlags::Omit));
    let b = sim.dial(a, "1001", "1001", false);
    sim.connect(a, b);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &[b], bye, bye);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    assert!(finals(&ops).is_empty());
    let drops: Vec<_> = summary(&ops)
        .into_iter()
        .filter(|o| o.0 == "drop")
        .map(|o| o.1)
        .collect();
    assert_eq!(drops, [sim.uuid(b), sim.uuid(a)]);
}

#[test]
fn realtime_mode_updates_on_every_state_change() {
    let s = CdrSettings {
        realtime: true,
        ..settings()
    };
    let (sim, a, b, ops, open) = answered_call_ops(&s, false);
    assert_eq!(open, 0);
    let (ua, ub) = (sim.uuid(a), sim.uuid(b));
    assert_eq!(
        summary(&ops),
        [
            ("live", ua.clone(), "created"),
            ("live", ub.clone(), "created"),
            ("live", ub.clone(), "ringing"),
            ("live", ua.clone(), "ringing"),
            ("live", ub.clone(), "answered"),
            ("live", ua.clone(), "answered"),
            ("live", ua.clone(), "bridged"),
            ("live", ub.clone(), "bridged"),
            ("live", ua.clone(), "answered"),
            ("live", ub.clone(), "answered"),
            ("live", ua.clone(), "hangup"),
            ("live", ub.clone(), "hangup"),
            ("final", ub.clone(), "hangup"),
            ("final", ua.clone(), "hangup"),
        ]
    );
    // The hang-up row already has the end and the cause.
    let CdrOp::LegLive(row) = &ops[10] else {
        panic!("live")
    };
    assert_eq!(
        (row.end, row.hangup_cause.as_str()),
        (Some(T0_MS + 2_000), "NORMAL_CLEARING")
    );
    let CdrOp::LegLive(created) = &ops[1] else {
        panic!("live")
    };
    assert_eq!(
        (created.end, created.duration, created.hangup_cause.as_str()),
        (None, 0, "")
    );
}

#[test]
fn durations_are_truncated_seconds() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "*43");
    sim.advance_ms(999);
    sim.answer(a);
    sim.advance_ms(999);
    let c = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[], c, c);
    let ops = feed(&mut engine, &mut sim);
    let r = final_of(&ops, &sim.uuid(a));
    assert_eq!(
        (r.duration_ms, r.duration, r.billsec_ms, r.billsec),
        (1_998, 1, 999, 0)
    );
    assert_eq!(engine.open_count(), 0);
}

#[test]
fn rtp_summary_maps_rx_to_in_and_tx_to_out() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "*43");
    sim.answer(a);
    // Duplicates make the receive-side loss negative: reported as 0.
    let mut s = stats((500, -3, 4.75), 480);
    s.tx.jitter_ms = 2.0;
    s.tx.lost = 7;
    sim.edit(a, |c| c.set_media_stats(s));
    let c = HangupCause::new(Q850::MediaTimeout, HangupSide::Device);
    sim.end_call(a, &[], c, c);
    let ops = feed(&mut engine, &mut sim);
    let r = final_of(&ops, &sim.uuid(a));
    assert_eq!(
        r.rtp,
        RtpSummary {
            in_packets: 500,
            in_lost: 0,
            in_jitter_ms: 4.75,
            out_packets: 480,
            out_lost: 7,
            out_jitter_ms: 2.0,
        }
    );
    assert_eq!(
        (r.hangup_cause.as_str(), r.q850, r.sip_code),
        ("MEDIA_TIMEOUT", Some(604), None)
    );
    assert_eq!(r.hangup_side, "device");
    assert_eq!(engine.open_count(), 0);
}

#[test]
fn variables_are_the_final_snapshots() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "*43");
    sim.set_var(a, "b", "2");
    sim.set_var(a, "a", "1");
    sim.set_var(a, "a", "3");
    let c = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[], c, c);
    let ops = feed(&mut engine, &mut sim);
    // VarSet is not a journal change.
    assert_eq!(summary(&ops).len(), 2);
    let r = final_of(&ops, &sim.uuid(a));
    assert_eq!(
        r.variables,
        BTreeMap::from([
            ("a".to_owned(), "3".to_owned()),
            ("b".to_owned(), "2".to_owned())
        ])
    );
    assert_eq!(engine.open_count(), 0);
}

#[test]
fn linkedid_change_is_journaled() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let old = sim.create_inbound("1000", "*43");
    let young = sim.create_inbound("1002", "*43");
    sim.answer(old);
    sim.answer(young);
    let mut ops = feed(&mut engine, &mut sim);
    sim.bridge(young, old);
    let bridged = feed(&mut engine, &mut sim);
    let (uo, uy) = (sim.uuid(old), sim.uuid(young));
    // The call core publishes BridgeEnter after join applied the linkedid: young's row
    // carries both the peer and the new linkedid; LinkedIdChanged adds nothing.
    assert_eq!(
        summary(&bridged),
        [
            ("live", uy.clone(), "bridged"),
            ("live", uo.clone(), "bridged")
        ]
    );
    let CdrOp::LegLive(first) = &bridged[0] else {
        panic!("live")
    };
    assert_eq!(
        (first.linkedid.as_str(), first.bridge_uuid.clone()),
        (uo.as_str(), Some(uo.clone()))
    );
    ops.extend(bridged);
    let c = HangupCause::normal(HangupSide::Caller);
    sim.end_call(young, &[old], c, c);
    ops.extend(feed(&mut engine, &mut sim));
    assert_eq!(engine.open_count(), 0);
    let ry = final_of(&ops, &uy);
    // An inbound peer: the party reached is its caller.
    assert_eq!(
        (ry.linkedid.as_str(), ry.callee_id_number.as_str()),
        (uo.as_str(), "1000")
    );
}

#[test]
fn destroyed_without_creation_is_still_written() {
    let mut sim = Sim::new();
    let a = sim.create_inbound("1000", "1001");
    let c = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[], c, c);
    let events = sim.take();
    let mut engine = LegEngine::new(&settings());
    let mut ops = Vec::new();
    engine.apply(events.last().unwrap(), &mut ops);
    assert_eq!(summary(&ops), [("final", sim.uuid(a), "hangup")]);
    assert_eq!(engine.open_count(), 0);
}

#[test]
fn realtime_early_media_then_ringing_is_one_ringing_row() {
    let s = CdrSettings {
        realtime: true,
        ..settings()
    };
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&s);
    let a = sim.create_inbound("1000", "1001");
    let b = sim.dial(a, "1001", "1001", false);
    sim.progress(b);
    sim.ring(b);
    let ops = feed(&mut engine, &mut sim);
    let ub = sim.uuid(b);
    assert_eq!(
        summary(&ops),
        [
            ("live", sim.uuid(a), "created"),
            ("live", ub.clone(), "created"),
            ("live", ub.clone(), "ringing"),
        ]
    );
    let busy = HangupCause::from_sip(486, HangupSide::Callee);
    sim.fail_leg(a, b, busy, DialStatus::Busy);
    sim.end_call(a, &[b], busy, busy);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(summary(&ops).iter().filter(|o| o.0 == "final").count(), 2);
    assert_eq!(engine.open_count(), 0);
}
