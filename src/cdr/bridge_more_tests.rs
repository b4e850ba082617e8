//! Bridge-mode engine tests, continued: user fields and clid, linkedid changes, sequences,
//! multi-party bridges, the Party A flag, and channels that go on after a bridge.

use super::*;

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
