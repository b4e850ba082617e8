use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::cdr::testkit::{Ch, Sim, T0_MS};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::{ChannelMediaStats, MediaDirectionStats};
use crate::switch::errors::CallError;

pub(super) fn settings() -> CdrSettings {
    CdrSettings {
        node_id: "1.2.3".to_owned(),
        ..CdrSettings::default()
    }
}

/// Feeds every pending event of `sim` to `engine`; the ops produced.
pub(super) fn feed(engine: &mut LegEngine, sim: &mut Sim) -> Vec<CdrOp> {
    let mut out = Vec::new();
    for e in sim.take() {
        engine.apply(&e, &mut out);
    }
    out
}

/// `(op, uuid, status)` per op, for sequence asserts.
pub(super) fn summary(ops: &[CdrOp]) -> Vec<(&'static str, String, &'static str)> {
    ops.iter()
        .map(|op| match op {
            CdrOp::LegLive(r) => ("live", r.uuid.clone(), r.status.as_str()),
            CdrOp::LegFinal(r) => ("final", r.uuid.clone(), r.status.as_str()),
            CdrOp::LegDrop { uuid } => ("drop", uuid.clone(), ""),
            other => panic!("unexpected op {other:?}"),
        })
        .collect()
}

pub(super) fn finals(ops: &[CdrOp]) -> Vec<Arc<LegRecord>> {
    ops.iter()
        .filter_map(|op| match op {
            CdrOp::LegFinal(r) => Some(Arc::clone(r)),
            _ => None,
        })
        .collect()
}

pub(super) fn final_of(ops: &[CdrOp], uuid: &str) -> Arc<LegRecord> {
    finals(ops)
        .into_iter()
        .find(|r| r.uuid == uuid)
        .unwrap_or_else(|| panic!("no final record for {uuid}"))
}

pub(super) fn stats(rx: (u64, i64, f64), tx: u64) -> ChannelMediaStats {
    ChannelMediaStats {
        rx: MediaDirectionStats {
            packets: rx.0,
            bytes: rx.0 * 172,
            lost: rx.1,
            jitter_ms: rx.2,
        },
        tx: MediaDirectionStats {
            packets: tx,
            bytes: tx * 172,
            lost: 0,
            jitter_ms: 0.0,
        },
        ..ChannelMediaStats::default()
    }
}

/// 1000 calls `exten`; the legs in `dests` ring (created 0 ms, ringing at +1 s); returns
/// (A, legs). `Dial` is running on A.
pub(super) fn ringing_call(sim: &mut Sim, exten: &str, dests: &[&str]) -> (Ch, Vec<Ch>) {
    let a = sim.create_inbound("1000", exten);
    sim.edit(a, |c| {
        c.set_caller(crate::switch::channel::PartyId {
            number: "1000".into(),
            name: Some("Alice".into()),
        })
    });
    sim.start_app(a, "Dial", &format!("SIP/{},30", dests.join("&SIP/")));
    let legs: Vec<Ch> = dests.iter().map(|d| sim.dial(a, d, d, false)).collect();
    sim.advance_ms(1_000);
    sim.ring_legs(a, &legs);
    (a, legs)
}

#[test]
fn answered_call_gives_an_aleg_and_a_bleg() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let (a, legs) = ringing_call(&mut sim, "1001", &["1001"]);
    let b = legs[0];
    sim.advance_ms(2_500);
    sim.connect(a, b);
    sim.set_var(a, "queue_name", "sales");
    sim.edit(a, |c| {
        c.set_codec("PCMU");
        c.set_media_stats(stats((3_130, 2, 1.5), 3_128));
        c.set_accountcode("acct-7");
        c.set_userfield("vip");
    });
    sim.edit(b, |c| {
        c.set_codec("PCMU");
        c.set_media_stats(stats((3_128, 0, 0.25), 3_130));
    });
    let mut ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 2);
    sim.advance_ms(62_700);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &[b], bye, bye);
    ops.extend(feed(&mut engine, &mut sim));
    assert_eq!(engine.open_count(), 0);

    let (ua, ub) = (sim.uuid(a), sim.uuid(b));
    let (sa, sb) = (sim.snapshot(a), sim.snapshot(b));
    // Journal: creation, answer, bridge peer; then the two finals (B destroyed first).
    assert_eq!(
        summary(&ops),
        [
            ("live", ua.clone(), "created"),
            ("live", ub.clone(), "created"),
            ("live", ub.clone(), "answered"),
            ("live", ua.clone(), "answered"),
            ("live", ua.clone(), "bridged"),
            ("live", ub.clone(), "bridged"),
            ("final", ub.clone(), "hangup"),
            ("final", ua.clone(), "hangup"),
        ]
    );
    let aleg = final_of(&ops, &ua);
    let want_a = LegRecord {
        uuid: ua.clone(),
        node_id: "1.2.3".into(),
        status: LegStatus::Hangup,
        direction: "inbound".into(),
        account: "1000".into(),
        caller_id_number: "1000".into(),
        caller_id_name: "Alice".into(),
        callee_id_number: "1001".into(),
        destination_number: "1001".into(),
        originator: None,
        bridge_uuid: Some(ub.clone()),
        call_source: "dialplan".into(),
        source_name: "1000".into(),
        source_number: String::new(),
        dial_number: "1001".into(),
        line_group: String::new(),
        context: "internal".into(),
        channel_name: sim.name(a),
        sip_call_id: sa.sip_call_id.clone(),
        start: T0_MS,
        answer: Some(T0_MS + 3_500),
        end: Some(T0_MS + 66_200),
        duration: 66,
        billsec: 62,
        duration_ms: 66_200,
        billsec_ms: 62_700,
        hangup_cause: "NORMAL_CLEARING".into(),
        q850: Some(16),
        sip_code: None,
        hangup_side: "local".into(),
        codec: Some("PCMU".into()),
        rtp: RtpSummary {
            in_packets: 3_130,
            in_lost: 2,
            in_jitter_ms: 1.5,
            out_packets: 3_128,
            out_lost: 0,
            out_jitter_ms: 0.0,
        },
        linkedid: ua.clone(),
        accountcode: "acct-7".into(),
        amaflags: "DOCUMENTATION".into(),
        userfield: "vip".into(),
        variables: BTreeMap::from([("queue_name".to_owned(), "sales".to_owned())]),
    };
    assert_eq!(*aleg, want_a);
    assert!(sa.sip_call_id.is_some());

    let bleg = final_of(&ops, &ub);
    let want_b = LegRecord {
        uuid: ub.clone(),
        direction: "outbound".into(),
        account: "1001".into(),
        caller_id_number: "1000".into(),
        caller_id_name: "Alice".into(),
        callee_id_number: "1001".into(),
        destination_number: "1001".into(),
        originator: Some(ua.clone()),
        bridge_uuid: Some(ua.clone()),
        channel_name: sim.name(b),
        sip_call_id: sb.sip_call_id.clone(),
        start: T0_MS,
        answer: Some(T0_MS + 3_500),
        end: Some(T0_MS + 66_200),
        hangup_side: "remote".into(),
        rtp: RtpSummary {
            in_packets: 3_128,
            in_lost: 0,
            in_jitter_ms: 0.25,
            out_packets: 3_130,
            out_lost: 0,
            out_jitter_ms: 0.0,
        },
        // Account code set on A after B was created is not inherited; no variables on B.
        accountcode: String::new(),
        userfield: String::new(),
        variables: BTreeMap::new(),
        ..want_a.clone()
    };
    assert_eq!(*bleg, want_b);
    assert_ne!(sb.sip_call_id, sa.sip_call_id);
}

#[test]
fn caller_hangs_up_first() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let (a, legs) = ringing_call(&mut sim, "1001", &["1001"]);
    sim.connect(a, legs[0]);
    sim.advance_ms(5_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &legs, bye, bye);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    let (ra, rb) = (
        final_of(&ops, &sim.uuid(a)),
        final_of(&ops, &sim.uuid(legs[0])),
    );
    assert_eq!(
        (ra.hangup_side.as_str(), rb.hangup_side.as_str()),
        ("remote", "local")
    );
    assert_eq!(
        (ra.hangup_cause.as_str(), ra.q850, ra.sip_code),
        ("NORMAL_CLEARING", Some(16), None)
    );
    assert_eq!((ra.billsec, rb.billsec, ra.duration), (5, 5, 6));
}

#[test]
fn no_answer_ring_timeout() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let (a, legs) = ringing_call(&mut sim, "1001", &["1001"]);
    sim.advance_ms(29_000);
    // Call::on_ring_timeout: the ringing leg is cancelled, 480 to the caller.
    let cause = CallError::NoAnswer.hangup_cause(HangupSide::Switch);
    sim.fail_leg(a, legs[0], cause, DialStatus::NoAnswer);
    sim.end_call(a, &legs, cause, cause);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    assert_eq!(finals(&ops).len(), 2);
    for r in finals(&ops) {
        assert_eq!(r.hangup_cause, "NO_ANSWER");
        assert_eq!((r.q850, r.sip_code), (Some(19), Some(480)));
        assert_eq!(r.hangup_side, "local");
        assert_eq!((r.answer, r.billsec, r.billsec_ms), (None, 0, 0));
        assert_eq!((r.duration, r.duration_ms), (30, 30_000));
        assert_eq!(r.bridge_uuid, None);
        assert_eq!(r.callee_id_number, "1001");
    }
    // Never answered, never bridged: only the creation rows were journaled.
    assert_eq!(summary(&ops).iter().filter(|o| o.0 == "live").count(), 2);
}

#[test]
fn busy_callee() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let (a, legs) = ringing_call(&mut sim, "1001", &["1001"]);
    // Call::leg_failed(486, Callee), then check_all_failed → 486 to the caller.
    let busy = HangupCause::from_sip(486, HangupSide::Callee);
    sim.fail_leg(a, legs[0], busy, DialStatus::Busy);
    sim.end_call(a, &legs, busy, busy);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    let (ra, rb) = (
        final_of(&ops, &sim.uuid(a)),
        final_of(&ops, &sim.uuid(legs[0])),
    );
    for r in [&ra, &rb] {
        assert_eq!(
            (r.hangup_cause.as_str(), r.q850, r.sip_code),
            ("USER_BUSY", Some(17), Some(486))
        );
        assert_eq!(r.answer, None);
    }
    assert_eq!(
        (ra.hangup_side.as_str(), rb.hangup_side.as_str()),
        ("local", "remote")
    );
}

#[test]
fn caller_cancels() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let (a, legs) = ringing_call(&mut sim, "1001", &["1001"]);
    sim.advance_ms(4_321);
    let cancel = HangupCause::from_sip(487, HangupSide::Caller);
    sim.fail_leg(a, legs[0], cancel, DialStatus::Cancel);
    sim.end_call(a, &legs, cancel, cancel);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    let (ra, rb) = (
        final_of(&ops, &sim.uuid(a)),
        final_of(&ops, &sim.uuid(legs[0])),
    );
    for r in [&ra, &rb] {
        assert_eq!(r.hangup_cause, "ORIGINATOR_CANCEL");
        // 487: the switch's private cause value (FreeSWITCH's).
        assert_eq!((r.q850, r.sip_code), (Some(487), Some(487)));
        assert_eq!((r.duration, r.duration_ms, r.billsec), (5, 5_321, 0));
    }
    assert_eq!(
        (ra.hangup_side.as_str(), rb.hangup_side.as_str()),
        ("remote", "local")
    );
}

#[test]
fn unknown_number_gives_one_record() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "1999");
    sim.advance_ms(15);
    let cause = CallError::NotFound {
        target: "1999".into(),
    }
    .hangup_cause(HangupSide::Switch);
    sim.end_call(a, &[], cause, cause);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    let ua = sim.uuid(a);
    assert_eq!(
        summary(&ops),
        [
            ("live", ua.clone(), "created"),
            ("final", ua.clone(), "hangup")
        ]
    );
    let r = final_of(&ops, &ua);
    assert_eq!(
        (r.hangup_cause.as_str(), r.q850, r.sip_code),
        ("UNALLOCATED", Some(1), Some(404))
    );
    assert_eq!(r.hangup_side, "local");
    assert_eq!(
        (r.callee_id_number.as_str(), r.destination_number.as_str()),
        ("1999", "1999")
    );
    assert_eq!((r.duration_ms, r.duration, r.answer), (15, 0, None));
    assert_eq!((r.originator.clone(), r.bridge_uuid.clone()), (None, None));
}

#[test]
fn parallel_ring_one_answers() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    // 1000 dials ring group 600 → 1001 and 1002; 1002 answers.
    let (a, legs) = ringing_call(&mut sim, "600", &["1001", "1002"]);
    let (b1, b2) = (legs[0], legs[1]);
    sim.advance_ms(3_000);
    let elsewhere = HangupCause::new(Q850::AnsweredElsewhere, HangupSide::Switch);
    sim.fail_leg(a, b1, elsewhere, DialStatus::Cancel);
    sim.connect(a, b2);
    sim.advance_ms(8_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &legs, bye, bye);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    assert_eq!(finals(&ops).len(), 3);
    let loser = final_of(&ops, &sim.uuid(b1));
    assert_eq!(
        (loser.hangup_cause.as_str(), loser.q850, loser.sip_code),
        ("ANSWERED_ELSEWHERE", Some(26), None)
    );
    assert_eq!(loser.hangup_side, "local");
    assert_eq!((loser.answer, loser.bridge_uuid.clone()), (None, None));
    assert_eq!(loser.originator, Some(sim.uuid(a)));
    assert_eq!(
        (
            loser.callee_id_number.as_str(),
            loser.destination_number.as_str()
        ),
        ("1001", "1001")
    );
    let winner = final_of(&ops, &sim.uuid(b2));
    assert_eq!(winner.bridge_uuid, Some(sim.uuid(a)));
    assert_eq!((winner.billsec, winner.hangup_side.as_str()), (8, "local"));
    let aleg = final_of(&ops, &sim.uuid(a));
    // The caller dialed 600 and reached 1002.
    assert_eq!(
        (
            aleg.destination_number.as_str(),
            aleg.callee_id_number.as_str()
        ),
        ("600", "1002")
    );
    assert_eq!(aleg.dial_number, "600");
    assert_eq!(aleg.bridge_uuid, Some(sim.uuid(b2)));
    assert_eq!((aleg.hangup_side.as_str(), aleg.billsec), ("remote", 8));
    assert!(aleg.linkedid == winner.linkedid && winner.linkedid == loser.linkedid);
}

#[test]
fn gateway_leg_is_billed_to_the_gateway() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "0123456789");
    sim.start_app(a, "Dial", "SIP/trunk1/0123456789,30");
    let b = sim.dial(a, "trunk1", "0123456789", true);
    sim.connect(a, b);
    sim.advance_ms(2_000);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &[b], bye, bye);
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    let rb = final_of(&ops, &sim.uuid(b));
    assert_eq!(
        (
            rb.account.as_str(),
            rb.line_group.as_str(),
            rb.dial_number.as_str()
        ),
        ("trunk1", "trunk1", "0123456789")
    );
    assert_eq!(
        (rb.source_name.as_str(), rb.callee_id_number.as_str()),
        ("1000", "0123456789")
    );
    let ra = final_of(&ops, &sim.uuid(a));
    assert_eq!((ra.account.as_str(), ra.line_group.as_str()), ("1000", ""));
    assert_eq!(ra.callee_id_number, "0123456789");
}

#[test]
fn switch_answered_single_channel() {
    let mut sim = Sim::new();
    let mut engine = LegEngine::new(&settings());
    let a = sim.create_inbound("1000", "*43");
    sim.start_app(a, "Echo", "");
    sim.advance_ms(40);
    sim.answer(a);
    sim.advance_ms(20_000);
    sim.end_call(
        a,
        &[],
        HangupCause::normal(HangupSide::Caller),
        HangupCause::normal(HangupSide::Caller),
    );
    let ops = feed(&mut engine, &mut sim);
    assert_eq!(engine.open_count(), 0);
    let ua = sim.uuid(a);
    assert_eq!(
        summary(&ops),
        [
            ("live", ua.clone(), "created"),
            ("live", ua.clone(), "answered"),
            ("final", ua.clone(), "hangup")
        ]
    );
    let r = final_of(&ops, &ua);
    assert_eq!(
        (r.answer, r.billsec, r.duration_ms),
        (Some(T0_MS + 40), 20, 20_040)
    );
    assert_eq!(
        (r.bridge_uuid.clone(), r.callee_id_number.as_str()),
        (None, "*43")
    );
    assert_eq!(r.hangup_side, "remote");
}
