use super::*;
use crate::switch::cause::{HangupSide, Q850};

#[test]
fn answered_call_follows_the_call_core_order() {
    let mut sim = Sim::new();
    let a = sim.create_inbound("1000", "1001");
    sim.start_app(a, "Dial", "SIP/1001,30");
    let b = sim.dial(a, "1001", "1001", false);
    sim.advance_ms(1_000);
    sim.ring_legs(a, &[b]);
    sim.advance_ms(2_000);
    sim.connect(a, b);
    sim.advance_ms(10_000);
    let bye = HangupCause::normal(HangupSide::Callee);
    sim.end_call(a, &[b], bye, bye);
    let events = sim.take();
    assert_eq!(
        kinds(&events),
        [
            "CHANNEL_CREATED",
            "APP_START",
            "CHANNEL_CREATED",
            "DIAL_BEGIN",
            "CHANNEL_STATE",
            "CHANNEL_STATE",
            "CHANNEL_STATE",
            "ANSWERED",
            "DIAL_END",
            "CHANNEL_STATE",
            "ANSWERED",
            "BRIDGE_ENTER",
            "BRIDGE_ENTER",
            "BRIDGE_LEAVE",
            "BRIDGE_LEAVE",
            "APP_END",
            "CHANNEL_STATE",
            "HANGUP",
            "CHANNEL_STATE",
            "HANGUP",
            "CHANNEL_DESTROYED",
            "CHANNEL_DESTROYED",
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert_eq!(sim.last_seq(), events.len() as u64);
    let last = events.last().unwrap();
    assert_eq!(last.channel, sim.id(a));
    let sa = sim.snapshot(a);
    let sb = sim.snapshot(b);
    assert_eq!(sa.last_peer, Some(sim.id(b)));
    assert_eq!(sb.last_peer, Some(sim.id(a)));
    assert_eq!(sb.originator, Some(sim.id(a)));
    assert_eq!(sb.linkedid, sa.linkedid);
    assert_eq!(crate::cdr::model::millis(sa.created), T0_MS);
    assert_eq!(
        sa.answered.map(crate::cdr::model::millis),
        Some(T0_MS + 3_000)
    );
    assert_eq!(
        sa.ended.map(crate::cdr::model::millis),
        Some(T0_MS + 13_000)
    );
    assert_eq!(crate::cdr::model::millis(last.at), sim.now_ms());
}

#[test]
fn bridging_two_conversations_publishes_the_linkedid_change() {
    let mut sim = Sim::new();
    let old = sim.create_inbound("1000", "1001");
    let young = sim.create_inbound("1002", "1003");
    sim.answer(old);
    sim.answer(young);
    sim.take();
    sim.bridge(young, old);
    let events = sim.take();
    assert_eq!(
        kinds(&events),
        ["BRIDGE_ENTER", "BRIDGE_ENTER", "LINKEDID_CHANGED"]
    );
    assert_eq!(events[2].channel, sim.id(young));
    assert_eq!(sim.snapshot(young).linkedid, sim.snapshot(old).linkedid);
    let third = sim.create_inbound("1004", "1005");
    sim.answer(third);
    sim.take();
    sim.bridge_add(0, third);
    let events = sim.take();
    assert_eq!(kinds(&events), ["BRIDGE_ENTER", "LINKEDID_CHANGED"]);
    assert_eq!(sim.snapshot(old).peer, None);
    assert_eq!(sim.snapshot(third).linkedid, sim.snapshot(old).linkedid);
    sim.unbridge(third);
    let events = sim.take();
    assert_eq!(kinds(&events), ["BRIDGE_LEAVE"]);
    sim.fail_leg(
        old,
        third,
        HangupCause::new(Q850::NormalClearing, HangupSide::Switch),
        DialStatus::Cancel,
    );
    assert_eq!(
        kinds(&sim.take()),
        ["CHANNEL_STATE", "HANGUP", "DIAL_END", "CHANNEL_DESTROYED"]
    );
}
