use super::*;
use crate::switch::cause::Q850;

pub(crate) fn spec(
    name: &str,
    direction: Direction,
    originator: Option<Arc<ChannelSnapshot>>,
) -> ChannelSpec {
    ChannelSpec {
        name: name.to_string(),
        direction,
        caller: PartyId {
            number: "1000".into(),
            name: Some("Alice".into()),
        },
        exten: "1001".into(),
        context: "default".into(),
        call_source: CallSource::Dialplan,
        attribution: Default::default(),
        originator,
        sip_call_id: Some("abc@host".into()),
    }
}

fn now_plus(base: Now, ms: u64) -> Now {
    Now::at(
        base.wall + Duration::from_millis(ms),
        base.mono + Duration::from_millis(ms),
    )
}

#[test]
fn every_pair_of_states_against_the_diagram() {
    use ChannelState::*;
    let all = [Down, Ringing, Progress, Up, Hangup];
    let valid = [
        (Down, Ringing),
        (Down, Progress),
        (Down, Up),
        (Down, Hangup),
        (Ringing, Progress),
        (Ringing, Up),
        (Ringing, Hangup),
        (Progress, Ringing),
        (Progress, Up),
        (Progress, Hangup),
        (Up, Hangup),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.can_transition(to),
                valid.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn transitions_record_times_and_refuse_invalid_edges() {
    let t0 = Now::current();
    let mut c = Channel::new(spec("SIP/1000-1", Direction::Inbound, None), t0);
    assert_eq!(c.state, ChannelState::Down);
    let ch = c
        .transition(ChannelState::Ringing, now_plus(t0, 10))
        .unwrap();
    assert_eq!(
        (ch.from, ch.to),
        (ChannelState::Down, ChannelState::Ringing)
    );
    c.transition(ChannelState::Progress, now_plus(t0, 20))
        .unwrap();
    c.transition(ChannelState::Up, now_plus(t0, 1_000)).unwrap();
    assert_eq!(c.answered, Some(now_plus(t0, 1_000).wall));
    let err = c
        .transition(ChannelState::Ringing, now_plus(t0, 1_100))
        .unwrap_err();
    assert_eq!(
        err,
        SwitchError::InvalidTransition {
            channel: c.id.clone(),
            from: ChannelState::Up,
            to: ChannelState::Ringing
        }
    );
    assert!(
        c.transition(ChannelState::Up, now_plus(t0, 1_100)).is_err(),
        "same state refused"
    );
    let cause = HangupCause::from_sip(486, HangupSide::Callee);
    c.hangup(cause, now_plus(t0, 5_000)).unwrap();
    assert_eq!(c.state, ChannelState::Hangup);
    assert_eq!(c.hangup, Some(cause));
    assert_eq!(c.ended, Some(now_plus(t0, 5_000).wall));
    assert_eq!(c.duration(Instant::now()), Duration::from_millis(5_000));
    assert_eq!(c.billsec(Instant::now()), Duration::from_millis(4_000));
    for to in [ChannelState::Down, ChannelState::Up, ChannelState::Hangup] {
        assert!(
            c.transition(to, now_plus(t0, 6_000)).is_err(),
            "nothing leaves Hangup ({to})"
        );
    }
    assert!(c
        .hangup(HangupCause::normal(HangupSide::Caller), now_plus(t0, 6_000))
        .is_err());
    assert_eq!(c.hangup, Some(cause), "first cause kept");
}

#[tokio::test(start_paused = true)]
async fn unanswered_hangup_defaults_and_billsec_zero() {
    let t0 = Now::current();
    let mut c = Channel::new(spec("SIP/1000-2", Direction::Inbound, None), t0);
    c.transition(ChannelState::Hangup, now_plus(t0, 300))
        .unwrap();
    let h = c.hangup.unwrap();
    assert_eq!((h.q850, h.side), (Q850::NormalClearing, HangupSide::Switch));
    assert_eq!(c.billsec(Instant::now()), Duration::ZERO);
    assert_eq!(c.answered, None);
}

#[test]
fn wall_times_have_millisecond_precision() {
    let t = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
    assert_eq!(
        truncate_ms(t),
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
    );
}

#[tokio::test]
async fn dial_attempt_inherits_linkedid_accountcode_amaflags() {
    let t0 = Now::current();
    let mut a = Channel::new(spec("SIP/1000-3", Direction::Inbound, None), t0);
    assert_eq!(
        a.linkedid.origin(),
        &a.id,
        "a fresh channel is its own linkedid"
    );
    a.set_accountcode("sales");
    a.set_amaflags(AmaFlags::Billing);
    let b = Channel::new(
        spec("SIP/1001-4", Direction::Outbound, Some(a.snapshot())),
        t0,
    );
    assert_eq!(b.linkedid, a.linkedid);
    assert_eq!(b.accountcode, "sales");
    assert_eq!(b.amaflags, AmaFlags::Billing);
    assert_eq!(b.originator.as_ref(), Some(&a.id));
    assert!(b.ordinal > a.ordinal);
}

#[tokio::test]
async fn snapshots_are_immutable_copies() {
    let t0 = Now::current();
    let mut c = Channel::new(spec("SIP/1000-5", Direction::Inbound, None), t0);
    c.set_var("foo", "1");
    let before = c.snapshot();
    assert_eq!(c.set_var("foo", "2"), Some("1".to_string()));
    c.set_userfield("note");
    c.set_codec("PCMU");
    let stats = ChannelMediaStats {
        rx: MediaDirectionStats {
            packets: 50,
            bytes: 8_000,
            lost: 1,
            jitter_ms: 2.5,
        },
        tx: MediaDirectionStats {
            packets: 49,
            bytes: 7_840,
            lost: 0,
            jitter_ms: 0.0,
        },
        ..ChannelMediaStats::default()
    };
    c.set_media_stats(stats);
    assert_eq!(before.var("foo"), Some("1"));
    assert_eq!(before.userfield, "");
    assert_eq!(c.var("foo"), Some("2"));
    assert_eq!(c.snapshot().media, stats);
    assert_eq!(c.codec.as_deref(), Some("PCMU"));
    assert_eq!(c.unset_var("foo"), Some("2".to_string()));
    assert_eq!(c.unset_var("foo"), None);
    assert!(c.set_hold(true));
    assert!(!c.set_hold(true));
    let s1 = c.snapshot();
    let s2 = c.snapshot();
    assert!(Arc::ptr_eq(&s1, &s2), "no change, no copy");
}

#[test]
fn names_of_enums() {
    assert_eq!(CallSource::QueueDialer.as_str(), "queuedialer");
    assert_eq!(AmaFlags::parse("billing"), Some(AmaFlags::Billing));
    assert_eq!(AmaFlags::parse("x"), None);
    assert_eq!(AmaFlags::default(), AmaFlags::Documentation);
    assert_eq!(Direction::Outbound.as_str(), "outbound");
}
