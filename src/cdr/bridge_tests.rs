//! Bridge-mode engine tests: scenarios driven through real channels and bridges by the
//! shared [`Sim`] (events in the call core's publication order), records asserted whole.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::cdr::model::{BridgeRecord, Disposition};
use crate::cdr::testkit::{Ch, Sim, T0_MS};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::{AmaFlags, PartyId};
use crate::switch::errors::CallError;

fn settings() -> CdrSettings {
    CdrSettings::default()
}

/// Feeds every pending event of `sim` to `engine`; returns the ops.
fn run(engine: &mut BridgeEngine, sim: &mut Sim) -> Vec<CdrOp> {
    let mut out = Vec::new();
    for event in sim.take() {
        engine.apply(&event, &mut out);
    }
    out
}

/// `live` / `final` / `drop` per op (other kinds would be a bug here).
fn kinds(ops: &[CdrOp]) -> Vec<&'static str> {
    ops.iter()
        .map(|op| match op {
            CdrOp::BridgeLive(_) => "live",
            CdrOp::BridgeFinal(_) => "final",
            CdrOp::BridgeDrop { .. } => "drop",
            _ => "other",
        })
        .collect()
}

fn finals(ops: &[CdrOp]) -> Vec<Arc<BridgeRecord>> {
    ops.iter()
        .filter_map(|op| match op {
            CdrOp::BridgeFinal(r) => Some(Arc::clone(r)),
            _ => None,
        })
        .collect()
}

fn lives(ops: &[CdrOp]) -> Vec<Arc<BridgeRecord>> {
    ops.iter()
        .filter_map(|op| match op {
            CdrOp::BridgeLive(r) => Some(Arc::clone(r)),
            _ => None,
        })
        .collect()
}

fn drops(ops: &[CdrOp]) -> Vec<String> {
    ops.iter()
        .filter_map(|op| match op {
            CdrOp::BridgeDrop { record_id } => Some(record_id.clone()),
            _ => None,
        })
        .collect()
}

/// Nothing left in memory: no open record, channel or bridge.
fn assert_clean(engine: &BridgeEngine) {
    assert_eq!(engine.open_count(), 0);
    assert_eq!(engine.tracked(), (0, 0, 0));
}

/// A record with the identity fields of `a` (and `b`) and everything else empty/zero;
/// tests override the fields they expect with struct update syntax.
fn base(sim: &Sim, a: Ch, b: Option<Ch>) -> BridgeRecord {
    BridgeRecord {
        node_id: "1.1.1".into(),
        clid: String::new(),
        src: String::new(),
        dst: String::new(),
        dcontext: String::new(),
        channel: sim.name(a),
        dstchannel: b.map(|b| sim.name(b)).unwrap_or_default(),
        lastapp: String::new(),
        lastdata: String::new(),
        start: 0,
        answer: None,
        end: None,
        duration: 0,
        billsec: 0,
        duration_ms: 0,
        billsec_ms: 0,
        disposition: Disposition::NoAnswer,
        amaflags: "DOCUMENTATION".into(),
        accountcode: String::new(),
        peeraccount: String::new(),
        uniqueid: sim.uuid(a),
        peer_uniqueid: b.map(|b| sim.uuid(b)).unwrap_or_default(),
        linkedid: sim.uuid(a),
        sequence: 0,
        userfield: String::new(),
        variables: BTreeMap::new(),
    }
}

/// An extension call 1000 → 1001 up to the ringing: caller, `Dial` started, one leg.
fn ringing_call(sim: &mut Sim) -> (Ch, Ch) {
    let a = sim.create_inbound("1000", "1001");
    sim.start_app(a, "Dial", "SIP/1001,30");
    let b = sim.dial(a, "1001", "1001", false);
    sim.advance_ms(1_000);
    sim.ring_legs(a, &[b]);
    (a, b)
}

/// The expected record of the 1000 → 1001 call dialed by [`ringing_call`].
fn dialed_record(sim: &Sim, a: Ch, b: Ch) -> BridgeRecord {
    BridgeRecord {
        clid: "1000".into(),
        src: "1000".into(),
        dst: "1001".into(),
        dcontext: "internal".into(),
        lastapp: "Dial".into(),
        lastdata: "SIP/1001,30".into(),
        start: T0_MS,
        ..base(sim, a, Some(b))
    }
}

fn answered_call(bye: HangupCause) {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 100);
    let (a, b) = ringing_call(&mut sim);
    sim.advance_ms(2_000);
    sim.connect(a, b);
    sim.advance_ms(10_500);
    sim.end_call(a, &[b], bye, bye);
    let ops = run(&mut engine, &mut sim);
    // Created, Party B (dial), answered, bridged, final.
    assert_eq!(kinds(&ops), ["live", "live", "live", "live", "final"]);
    let lv = lives(&ops);
    assert_eq!(lv[0].dstchannel, "");
    assert_eq!(lv[1].dstchannel, sim.name(b));
    assert_eq!(lv[2].answer, Some(T0_MS + 3_000));
    assert!(lv.iter().all(|r| r.sequence == 100 && r.end.is_none()));
    let want = BridgeRecord {
        answer: Some(T0_MS + 3_000),
        end: Some(T0_MS + 13_500),
        duration: 13,
        duration_ms: 13_500,
        billsec: 10,
        billsec_ms: 10_500,
        disposition: Disposition::Answered,
        sequence: 100,
        ..dialed_record(&sim, a, b)
    };
    assert_eq!(*finals(&ops)[0], want);
    assert_eq!(finals(&ops)[0].record_id(), format!("{}:100", sim.uuid(a)));
    assert_clean(&engine);
}

#[test]
fn answered_call_caller_hangs_up() {
    answered_call(HangupCause::normal(HangupSide::Caller));
}

#[test]
fn answered_call_callee_hangs_up() {
    answered_call(HangupCause::normal(HangupSide::Callee));
}

#[test]
fn callee_hangup_without_bridge_leave_ends_the_record() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let (a, b) = ringing_call(&mut sim);
    sim.advance_ms(2_000);
    sim.connect(a, b);
    sim.advance_ms(4_000);
    sim.hangup(b, HangupCause::normal(HangupSide::Callee));
    let ops = run(&mut engine, &mut sim);
    let want = BridgeRecord {
        answer: Some(T0_MS + 3_000),
        end: Some(T0_MS + 7_000),
        duration: 7,
        duration_ms: 7_000,
        billsec: 4,
        billsec_ms: 4_000,
        disposition: Disposition::Answered,
        sequence: 1,
        ..dialed_record(&sim, a, b)
    };
    assert_eq!(finals(&ops).len(), 1);
    assert_eq!(*finals(&ops)[0], want);
    sim.advance_ms(500);
    sim.end_call(
        a,
        &[b],
        HangupCause::normal(HangupSide::Callee),
        HangupCause::normal(HangupSide::Callee),
    );
    let ops = run(&mut engine, &mut sim);
    assert!(ops.is_empty(), "{:?}", kinds(&ops));
    assert_clean(&engine);
}

/// A dial that ends unanswered (`fail_leg` like the call core), then the caller's end.
fn failed_dial(
    settings: &CdrSettings,
    b_cause: HangupCause,
    status: DialStatus,
    a_cause: HangupCause,
) -> (Sim, Ch, Ch, Vec<CdrOp>, BridgeEngine) {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(settings, 7);
    let (a, b) = ringing_call(&mut sim);
    sim.advance_ms(4_250);
    sim.fail_leg(a, b, b_cause, status);
    sim.advance_ms(10);
    sim.end_call(a, &[b], a_cause, a_cause);
    let ops = run(&mut engine, &mut sim);
    (sim, a, b, ops, engine)
}

fn unanswered_record(sim: &Sim, a: Ch, b: Ch, disposition: Disposition) -> BridgeRecord {
    BridgeRecord {
        end: Some(T0_MS + 5_250),
        duration: 5,
        duration_ms: 5_250,
        disposition,
        sequence: 7,
        ..dialed_record(sim, a, b)
    }
}

#[test]
fn unanswered_dials_get_their_disposition() {
    let timeout = CallError::NoAnswer.hangup_cause(HangupSide::Switch);
    let busy = HangupCause::from_sip(486, HangupSide::Callee);
    let declined = HangupCause::from_sip(603, HangupSide::Callee);
    let cancel = HangupCause::from_sip(487, HangupSide::Caller);
    let unavailable = HangupCause::from_sip(404, HangupSide::Callee);
    let cases = [
        (
            "ring timeout",
            timeout,
            DialStatus::NoAnswer,
            timeout,
            Disposition::NoAnswer,
        ),
        ("busy", busy, DialStatus::Busy, busy, Disposition::Busy),
        // 603 → CALL_REJECTED → CHANUNAVAIL, but a declining callee counts as busy.
        (
            "declined",
            declined,
            DialStatus::from_q850(declined.q850),
            declined,
            Disposition::Busy,
        ),
        (
            "caller cancels",
            cancel,
            DialStatus::Cancel,
            cancel,
            Disposition::NoAnswer,
        ),
        (
            "unavailable",
            unavailable,
            DialStatus::from_q850(unavailable.q850),
            unavailable,
            Disposition::Failed,
        ),
    ];
    for (name, b_cause, status, a_cause, disposition) in cases {
        let (sim, a, b, ops, engine) = failed_dial(&settings(), b_cause, status, a_cause);
        assert_eq!(kinds(&ops), ["live", "live", "final"], "{name}");
        assert_eq!(
            *finals(&ops)[0],
            unanswered_record(&sim, a, b, disposition),
            "{name}"
        );
        assert_clean(&engine);
    }
}

#[test]
fn congestion_is_failed_unless_configured() {
    let cause = HangupCause::from_sip(503, HangupSide::Callee);
    let status = DialStatus::from_q850(cause.q850);
    assert_eq!(status, DialStatus::Congestion);
    for (congestion, unanswered, disposition) in [
        (false, true, Disposition::Failed),
        (true, true, Disposition::Congestion),
        // CONGESTION records are written even with unanswered off.
        (true, false, Disposition::Congestion),
    ] {
        let settings = CdrSettings {
            congestion,
            unanswered,
            ..settings()
        };
        let (sim, a, b, ops, engine) = failed_dial(&settings, cause, status, cause);
        assert_eq!(kinds(&ops), ["live", "live", "final"]);
        assert_eq!(*finals(&ops)[0], unanswered_record(&sim, a, b, disposition));
        assert_clean(&engine);
    }
    // FAILED with unanswered off: dropped.
    let settings = CdrSettings {
        unanswered: false,
        ..settings()
    };
    let (sim, a, _, ops, engine) = failed_dial(&settings, cause, status, cause);
    assert_eq!(kinds(&ops), ["live", "live", "drop"]);
    assert_eq!(drops(&ops), [format!("{}:7", sim.uuid(a))]);
    assert_clean(&engine);
}

#[test]
fn unknown_number_is_one_failed_record_without_dstchannel() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let a = sim.create_inbound("1000", "1999");
    sim.advance_ms(20);
    let cause = CallError::NotFound {
        target: "1999".into(),
    }
    .hangup_cause(HangupSide::Switch);
    sim.hangup(a, cause);
    sim.destroy(a);
    let ops = run(&mut engine, &mut sim);
    assert_eq!(kinds(&ops), ["live", "final"]);
    let want = BridgeRecord {
        clid: "1000".into(),
        src: "1000".into(),
        dst: "1999".into(),
        dcontext: "internal".into(),
        start: T0_MS,
        end: Some(T0_MS + 20),
        duration_ms: 20,
        disposition: Disposition::Failed,
        sequence: 1,
        ..base(&sim, a, None)
    };
    assert_eq!(*finals(&ops)[0], want);
    assert_clean(&engine);
}

#[test]
fn single_channel_disposition_follows_the_cause_until_answered() {
    let cases = [
        (
            HangupCause::from_sip(486, HangupSide::Switch),
            Disposition::Busy,
        ),
        (
            HangupCause::normal(HangupSide::Caller),
            Disposition::NoAnswer,
        ),
        (
            HangupCause::from_sip(487, HangupSide::Caller),
            Disposition::NoAnswer,
        ),
        (
            HangupCause::new(Q850::NoRouteDestination, HangupSide::Switch),
            Disposition::Failed,
        ),
        (
            CallError::NotRegistered {
                target: "1001".into(),
            }
            .hangup_cause(HangupSide::Switch),
            Disposition::Failed,
        ),
        (
            HangupCause::new(Q850::SwitchCongestion, HangupSide::Switch),
            Disposition::Failed,
        ),
    ];
    for (cause, want) in cases {
        let mut sim = Sim::new();
        let mut engine = BridgeEngine::new(&settings(), 1);
        let a = sim.create_inbound("1000", "1001");
        sim.hangup(a, cause);
        sim.destroy(a);
        let ops = run(&mut engine, &mut sim);
        assert_eq!(finals(&ops)[0].disposition, want, "{cause}");
        assert_clean(&engine);
    }
}

#[test]
fn parallel_ring_gives_one_record_per_attempt() {
    for unanswered in [true, false] {
        let mut sim = Sim::new();
        let settings = CdrSettings {
            unanswered,
            ..settings()
        };
        let mut engine = BridgeEngine::new(&settings, 50);
        let a = sim.create_inbound("1000", "1001");
        sim.start_app(a, "Dial", "SIP/desk&SIP/mobile,30");
        let b1 = sim.dial(a, "desk", "1001", false);
        sim.advance_ms(5);
        let b2 = sim.dial(a, "mobile", "1001", false);
        sim.advance_ms(1_000);
        sim.ring_legs(a, &[b1]);
        sim.progress(b2);
        sim.advance_ms(2_000);
        // b2 answers: the call core cancels b1 first, then bridges b2.
        let elsewhere = HangupCause::new(Q850::AnsweredElsewhere, HangupSide::Switch);
        sim.fail_leg(a, b1, elsewhere, DialStatus::Cancel);
        sim.connect(a, b2);
        sim.advance_ms(60_000);
        let bye = HangupCause::normal(HangupSide::Caller);
        sim.end_call(a, &[b1, b2], bye, bye);
        let ops = run(&mut engine, &mut sim);
        let common = BridgeRecord {
            lastapp: "Dial".into(),
            lastdata: "SIP/desk&SIP/mobile,30".into(),
            clid: "1000".into(),
            src: "1000".into(),
            dst: "1001".into(),
            dcontext: "internal".into(),
            ..base(&sim, a, None)
        };
        let lost = BridgeRecord {
            dstchannel: sim.name(b1),
            peer_uniqueid: sim.uuid(b1),
            start: T0_MS,
            end: Some(T0_MS + 3_005),
            duration: 3,
            duration_ms: 3_005,
            disposition: Disposition::NoAnswer,
            sequence: 50,
            ..common.clone()
        };
        let won = BridgeRecord {
            dstchannel: sim.name(b2),
            peer_uniqueid: sim.uuid(b2),
            start: T0_MS + 5,
            answer: Some(T0_MS + 3_005),
            end: Some(T0_MS + 63_005),
            duration: 63,
            duration_ms: 63_000,
            billsec: 60,
            billsec_ms: 60_000,
            disposition: Disposition::Answered,
            sequence: 51,
            ..common
        };
        if unanswered {
            assert_eq!(
                finals(&ops)
                    .iter()
                    .map(|r| (**r).clone())
                    .collect::<Vec<_>>(),
                [lost, won]
            );
        } else {
            assert_eq!(finals(&ops).len(), 1);
            assert_eq!(*finals(&ops)[0], won);
            assert_eq!(drops(&ops), [format!("{}:50", sim.uuid(a))]);
        }
        assert_clean(&engine);
    }
}

#[test]
fn echo_test_answered_by_the_switch_is_one_answered_record() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let a = sim.create_inbound("1000", "*43");
    sim.start_app(a, "Echo", "");
    sim.advance_ms(100);
    sim.answer(a);
    sim.advance_ms(5_400);
    sim.hangup(a, HangupCause::normal(HangupSide::Caller));
    sim.destroy(a);
    let ops = run(&mut engine, &mut sim);
    assert_eq!(kinds(&ops), ["live", "live", "final"]);
    assert_eq!(lives(&ops)[1].answer, Some(T0_MS + 100));
    let want = BridgeRecord {
        clid: "1000".into(),
        src: "1000".into(),
        dst: "*43".into(),
        dcontext: "internal".into(),
        lastapp: "Echo".into(),
        start: T0_MS,
        answer: Some(T0_MS + 100),
        end: Some(T0_MS + 5_500),
        duration: 5,
        duration_ms: 5_500,
        billsec: 5,
        billsec_ms: 5_400,
        disposition: Disposition::Answered,
        sequence: 1,
        ..base(&sim, a, None)
    };
    assert_eq!(*finals(&ops)[0], want);
    assert_clean(&engine);
}

#[test]
fn answered_record_ignores_a_failure_cause() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let a = sim.create_inbound("1000", "*43");
    sim.answer(a);
    sim.hangup(a, HangupCause::new(Q850::MediaTimeout, HangupSide::Device));
    sim.destroy(a);
    let ops = run(&mut engine, &mut sim);
    assert_eq!(finals(&ops)[0].disposition, Disposition::Answered);
    assert_clean(&engine);
}

#[test]
fn omit_drops_the_record() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 9);
    let (a, b) = ringing_call(&mut sim);
    sim.edit(a, |c| c.set_amaflags(AmaFlags::Omit));
    sim.connect(a, b);
    sim.advance_ms(1_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[b], bye, bye);
    let ops = run(&mut engine, &mut sim);
    assert_eq!(kinds(&ops), ["live", "live", "live", "live", "drop"]);
    assert_eq!(drops(&ops), [format!("{}:9", sim.uuid(a))]);
    assert_clean(&engine);
}

/// Fields, linkedid, sequences, multi-party bridges, Party A and bridges that break.
#[path = "bridge_more_tests.rs"]
mod more;
