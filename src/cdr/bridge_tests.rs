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

#[test]
fn userfields_join_and_party_a_wins_variables() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let (a, b) = ringing_call(&mut sim);
    sim.edit(a, |c| {
        c.set_userfield("from-a");
        c.set_accountcode("acct-a");
        c.set_caller(PartyId {
            number: "1000".into(),
            name: Some("Alice \"Al\"".into()),
        });
    });
    sim.set_var(a, "team", "sales");
    sim.edit(b, |c| {
        c.set_userfield("from-b");
        c.set_accountcode("acct-b");
    });
    sim.set_var(b, "team", "support");
    sim.set_var(b, "desk", "12");
    sim.advance_ms(1_000);
    sim.connect(a, b);
    sim.advance_ms(2_000);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &[b], bye, bye);
    let ops = run(&mut engine, &mut sim);
    let want = BridgeRecord {
        clid: "\"Alice \\\"Al\\\"\" <1000>".into(),
        accountcode: "acct-a".into(),
        peeraccount: "acct-b".into(),
        userfield: "from-a;from-b".into(),
        variables: BTreeMap::from([
            ("desk".to_owned(), "12".to_owned()),
            ("team".to_owned(), "sales".to_owned()),
        ]),
        answer: Some(T0_MS + 2_000),
        end: Some(T0_MS + 4_000),
        duration: 4,
        duration_ms: 4_000,
        billsec: 2,
        billsec_ms: 2_000,
        disposition: Disposition::Answered,
        sequence: 1,
        ..dialed_record(&sim, a, b)
    };
    assert_eq!(*finals(&ops)[0], want);
    assert_clean(&engine);
}

#[test]
fn clid_and_userfield_rendering() {
    let p = |number: &str, name: Option<&str>| PartyId {
        number: number.into(),
        name: name.map(Into::into),
    };
    assert_eq!(object::clid(&p("1000", Some("Alice"))), "\"Alice\" <1000>");
    assert_eq!(object::clid(&p("1000", None)), "1000");
    assert_eq!(object::clid(&p("1000", Some(""))), "1000");
    assert_eq!(object::clid(&p("", Some("Alice"))), "Alice");
    assert_eq!(object::clid(&p("", None)), "");
    assert_eq!(object::clid(&p("1", Some("a\\b"))), "\"a\\\\b\" <1>");
    assert_eq!(object::join_userfields("a", "b"), "a;b");
    assert_eq!(object::join_userfields("a", ""), "a");
    assert_eq!(object::join_userfields("", "b"), "b");
    assert_eq!(object::join_userfields("", ""), "");
}

#[test]
fn caller_gone_without_dial_end_ends_the_dial_like_the_callee() {
    // Robustness: no DialEnd arrives (the caller hung up first).
    for (b_cause, want) in [
        (None, Disposition::NoAnswer),
        (
            Some(HangupCause::from_sip(486, HangupSide::Callee)),
            Disposition::Busy,
        ),
    ] {
        let mut sim = Sim::new();
        let mut engine = BridgeEngine::new(&settings(), 1);
        let (a, b) = ringing_call(&mut sim);
        if let Some(cause) = b_cause {
            sim.hangup(b, cause);
        }
        sim.advance_ms(1_000);
        let bye = HangupCause::from_sip(487, HangupSide::Caller);
        sim.hangup(a, bye);
        sim.hangup(b, bye);
        sim.destroy(b);
        sim.destroy(a);
        let ops = run(&mut engine, &mut sim);
        let want = BridgeRecord {
            end: Some(T0_MS + 2_000),
            duration: 2,
            duration_ms: 2_000,
            disposition: want,
            sequence: 1,
            ..dialed_record(&sim, a, b)
        };
        assert_eq!(kinds(&ops), ["live", "live", "final"]);
        assert_eq!(*finals(&ops)[0], want);
        assert_clean(&engine);
    }
}

#[test]
fn linkedid_change_updates_the_open_record() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    // An older conversation whose linkedid the call will join (e.g. a transfer).
    let x = sim.create_inbound("2000", "2001");
    let (a, b) = ringing_call(&mut sim);
    sim.connect(a, b);
    let ops = run(&mut engine, &mut sim);
    assert_eq!(kinds(&ops), ["live", "live", "live", "live", "live"]);
    sim.advance_ms(1_000);
    sim.link(a, x);
    sim.link(b, x);
    let ops = run(&mut engine, &mut sim);
    // Only Party A's change touches the record.
    assert_eq!(kinds(&ops), ["live"]);
    assert_eq!(lives(&ops)[0].linkedid, sim.uuid(x));
    assert_eq!(lives(&ops)[0].sequence, 2);
    sim.advance_ms(1_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[b], bye, bye);
    sim.hangup(x, bye);
    sim.destroy(x);
    let ops = run(&mut engine, &mut sim);
    assert_eq!(kinds(&ops), ["final", "final"]);
    let want = BridgeRecord {
        linkedid: sim.uuid(x),
        answer: Some(T0_MS + 1_000),
        end: Some(T0_MS + 3_000),
        duration: 3,
        duration_ms: 3_000,
        billsec: 2,
        billsec_ms: 2_000,
        disposition: Disposition::Answered,
        sequence: 2,
        ..dialed_record(&sim, a, b)
    };
    assert_eq!(*finals(&ops)[0], want);
    let x_record = &finals(&ops)[1];
    assert_eq!(
        (x_record.sequence, x_record.linkedid.as_str()),
        (1, sim.uuid(x).as_str())
    );
    assert_clean(&engine);
}

#[test]
fn sequence_continues_from_next_sequence_across_calls() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 42);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (a, b) = ringing_call(&mut sim);
        sim.connect(a, b);
        let bye = HangupCause::normal(HangupSide::Caller);
        sim.end_call(a, &[b], bye, bye);
        let ops = run(&mut engine, &mut sim);
        let record = &finals(&ops)[0];
        assert_eq!(
            record.record_id(),
            format!("{}:{}", sim.uuid(a), record.sequence)
        );
        seen.push(record.sequence);
    }
    assert_eq!(seen, [42, 43, 44]);
    assert_clean(&engine);
}

#[test]
fn multi_party_bridge_gives_one_record_per_pair() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let (a, b) = ringing_call(&mut sim); // A: seq 1
    sim.advance_ms(1_000);
    sim.connect(a, b);
    let c = sim.create_inbound("3000", "conf"); // C: seq 2
    sim.advance_ms(500);
    sim.answer(c);
    sim.advance_ms(1_500);
    sim.bridge_add(0, c); // (A, C): seq 3; (C, B) takes C's own record
    sim.advance_ms(4_000);
    sim.unbridge(c);
    sim.hangup(c, HangupCause::normal(HangupSide::Caller));
    sim.destroy(c);
    sim.advance_ms(1_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[b], bye, bye);
    let ops = run(&mut engine, &mut sim);
    let finals: Vec<BridgeRecord> = finals(&ops).iter().map(|r| (**r).clone()).collect();
    let a_c = BridgeRecord {
        clid: "1000".into(),
        src: "1000".into(),
        dst: "1001".into(),
        dcontext: "internal".into(),
        lastapp: "Dial".into(),
        lastdata: "SIP/1001,30".into(),
        dstchannel: sim.name(c),
        peer_uniqueid: sim.uuid(c),
        start: T0_MS + 4_000,
        answer: Some(T0_MS + 4_000),
        end: Some(T0_MS + 8_000),
        duration: 4,
        duration_ms: 4_000,
        billsec: 4,
        billsec_ms: 4_000,
        disposition: Disposition::Answered,
        sequence: 3,
        ..base(&sim, a, None)
    };
    // B is a dial attempt, so C (not dialed) is Party A; C's linkedid became A's.
    let c_b = BridgeRecord {
        clid: "3000".into(),
        src: "3000".into(),
        dst: "conf".into(),
        dcontext: "internal".into(),
        linkedid: sim.uuid(a),
        start: T0_MS + 2_000,
        answer: Some(T0_MS + 2_500),
        end: Some(T0_MS + 8_000),
        duration: 6,
        duration_ms: 6_000,
        billsec: 5,
        billsec_ms: 5_500,
        disposition: Disposition::Answered,
        sequence: 2,
        ..base(&sim, c, Some(b))
    };
    let a_b = BridgeRecord {
        answer: Some(T0_MS + 2_000),
        end: Some(T0_MS + 9_000),
        duration: 9,
        duration_ms: 9_000,
        billsec: 7,
        billsec_ms: 7_000,
        disposition: Disposition::Answered,
        sequence: 1,
        ..dialed_record(&sim, a, b)
    };
    // 3 parties → 3 pairs.
    assert_eq!(finals.len(), 3);
    // C leaves first: its own record (C, B), then (A, C); (A, B) at the end.
    assert_eq!(finals, [c_b, a_c, a_b]);
    assert_clean(&engine);
}

#[test]
fn party_a_flag_beats_creation_order() {
    for flagged in [false, true] {
        let mut sim = Sim::new();
        let mut engine = BridgeEngine::new(&settings(), 1);
        let old = sim.create_inbound("1000", "park"); // seq 1
        let young = sim.create_inbound("2000", "pickup"); // seq 2
        sim.answer(old);
        sim.answer(young);
        if flagged {
            sim.set_var(young, PARTY_A_VARIABLE, "1");
        }
        sim.advance_ms(1_000);
        sim.bridge(old, young);
        sim.advance_ms(2_000);
        sim.unbridge(old);
        sim.unbridge(young);
        let bye = HangupCause::normal(HangupSide::Caller);
        for ch in [old, young] {
            sim.hangup(ch, bye);
            sim.destroy(ch);
        }
        let ops = run(&mut engine, &mut sim);
        let (pa, pb) = if flagged { (young, old) } else { (old, young) };
        let finals = finals(&ops);
        assert_eq!(finals.len(), 2, "flagged={flagged}");
        // Party B's own record ends when it joins the bridge as Party B only.
        assert_eq!(finals[0].uniqueid, sim.uuid(pb));
        assert_eq!(finals[0].dstchannel, "");
        assert_eq!(finals[0].end, Some(T0_MS + 1_000));
        // The pair record is Party A's own record, answered when Party A answered.
        assert_eq!(finals[1].uniqueid, sim.uuid(pa));
        assert_eq!(finals[1].peer_uniqueid, sim.uuid(pb));
        assert_eq!(finals[1].start, T0_MS);
        assert_eq!(finals[1].answer, Some(T0_MS));
        assert_eq!(finals[1].end, Some(T0_MS + 3_000));
        assert_eq!(finals[1].linkedid, sim.uuid(old));
        assert_clean(&engine);
    }
}

#[test]
fn channel_continuing_after_the_bridge_gets_a_new_record() {
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let (a, b) = ringing_call(&mut sim);
    sim.connect(a, b);
    sim.advance_ms(3_000);
    // B leaves and hangs up; A stays up and goes on (dialplan after Dial).
    sim.unbridge(b);
    sim.unbridge(a);
    sim.hangup(b, HangupCause::normal(HangupSide::Callee));
    sim.destroy(b);
    sim.advance_ms(200);
    sim.end_app(a);
    sim.start_app(a, "Playback", "goodbye");
    sim.advance_ms(1_800);
    sim.hangup(a, HangupCause::normal(HangupSide::Switch));
    sim.destroy(a);
    let ops = run(&mut engine, &mut sim);
    let finals = finals(&ops);
    assert_eq!(finals.len(), 2);
    assert_eq!(finals[0].end, Some(T0_MS + 4_000));
    let want = BridgeRecord {
        clid: "1000".into(),
        src: "1000".into(),
        dst: "1001".into(),
        dcontext: "internal".into(),
        lastapp: "Playback".into(),
        lastdata: "goodbye".into(),
        start: T0_MS + 4_000,
        answer: Some(T0_MS + 4_000),
        end: Some(T0_MS + 6_000),
        duration: 2,
        duration_ms: 2_000,
        billsec: 2,
        billsec_ms: 2_000,
        disposition: Disposition::Answered,
        sequence: 2,
        ..base(&sim, a, None)
    };
    assert_eq!(*finals[1], want);
    assert_clean(&engine);
}

#[test]
fn new_party_joining_after_a_leave_starts_at_the_leave() {
    // The shape of a blind transfer: Bob leaves, Charlie joins Alice's bridge.
    let mut sim = Sim::new();
    let mut engine = BridgeEngine::new(&settings(), 1);
    let (alice, bob) = ringing_call(&mut sim);
    sim.connect(alice, bob);
    sim.advance_ms(5_000);
    sim.unbridge(bob);
    sim.hangup(bob, HangupCause::normal(HangupSide::Callee));
    sim.destroy(bob);
    let charlie = sim.create_outbound(alice, "1002", "1002", false);
    sim.advance_ms(3_000);
    sim.answer(charlie);
    sim.bridge_add(0, charlie);
    sim.advance_ms(7_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(alice, &[charlie], bye, bye);
    let ops = run(&mut engine, &mut sim);
    let finals = finals(&ops);
    assert_eq!(finals.len(), 2);
    assert_eq!(finals[0].peer_uniqueid, sim.uuid(bob));
    assert_eq!(finals[0].end, Some(T0_MS + 6_000));
    let want = BridgeRecord {
        start: T0_MS + 6_000,
        answer: Some(T0_MS + 9_000),
        end: Some(T0_MS + 16_000),
        duration: 10,
        duration_ms: 10_000,
        billsec: 7,
        billsec_ms: 7_000,
        disposition: Disposition::Answered,
        sequence: 2,
        ..dialed_record(&sim, alice, charlie)
    };
    assert_eq!(*finals[1], want);
    assert_clean(&engine);
}
