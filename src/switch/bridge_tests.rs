use super::*;
use crate::switch::channel::{CallSource, ChannelSpec, Direction, Now, PartyId};

fn chan(name: &str) -> Channel {
    Channel::new(
        ChannelSpec {
            name: name.into(),
            direction: Direction::Inbound,
            caller: PartyId::default(),
            exten: String::new(),
            context: "default".into(),
            call_source: CallSource::Dialplan,
            attribution: Default::default(),
            originator: None,
            sip_call_id: None,
        },
        Now::current(),
    )
}

#[tokio::test]
async fn oldest_linkedid_wins_across_three_channels_and_two_bridges() {
    // Created in this order: C is the oldest, then A, then B.
    let mut c = chan("C");
    let mut a = chan("A");
    let mut b = chan("B");
    let (la, lc) = (a.linkedid.clone(), c.linkedid.clone());

    // Bridge 1: A + B → B takes A's (older) linkedid; A unchanged.
    let mut b1 = Bridge::new();
    let (joined, changes) = join(&mut b1, &mut [&mut a, &mut b]).unwrap();
    assert_eq!(joined.len(), 2);
    assert_eq!(joined[1].others, vec![a.id.clone()]);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].channel, b.id);
    assert_eq!(changes[0].new, la);
    assert_eq!(
        (a.linkedid.clone(), b.linkedid.clone()),
        (la.clone(), la.clone())
    );
    assert_eq!(a.peer.as_ref(), Some(&b.id));
    assert_eq!(b.bridge.as_ref(), Some(b1.id()));

    // B leaves bridge 1: its linkedid stays (the association outlives the bridge).
    let remaining = part(&mut b1, &mut b).unwrap();
    assert_eq!(remaining, vec![a.id.clone()]);
    assert_eq!(b.linkedid, la);
    assert_eq!(b.peer, None);
    assert_eq!(b.last_peer.as_ref(), Some(&a.id));

    // Bridge 2: B + C → C is the oldest, so B changes again; C keeps its own.
    let mut b2 = Bridge::new();
    let (_, changes) = join(&mut b2, &mut [&mut b, &mut c]).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].channel.clone(),
            changes[0].old.clone(),
            changes[0].new.clone()
        ),
        (b.id.clone(), la.clone(), lc.clone())
    );
    assert_eq!(b.linkedid, lc);
    assert_eq!(c.linkedid, lc);
    // A was not in bridge 2: not retroactively changed.
    assert_eq!(a.linkedid, la);
}

#[tokio::test]
async fn a_three_party_bridge_unifies_everyone_and_reports_unowned_members() {
    let mut c = chan("C");
    let a = chan("A");
    let b = chan("B");
    let mut bridge = Bridge::new();
    assert!(bridge
        .enter(a.id.clone(), a.linkedid.clone())
        .unwrap()
        .is_empty());
    let ups = bridge.enter(b.id.clone(), b.linkedid.clone()).unwrap();
    assert_eq!(ups.len(), 1, "B takes A's");
    // C (oldest) joins, owned here; A and B are owned elsewhere: both reported.
    let (_, changes) = join(&mut bridge, &mut [&mut c]).unwrap();
    let mut changed: Vec<_> = changes
        .iter()
        .map(|ch| (ch.channel.clone(), ch.new.clone()))
        .collect();
    changed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![
        (a.id.clone(), c.linkedid.clone()),
        (b.id.clone(), c.linkedid.clone()),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(changed, want);
    assert!(bridge.members().iter().all(|m| m.linkedid == c.linkedid));
    assert_eq!(c.peer, None, "no single peer in a three-party bridge");
}

#[tokio::test]
async fn membership_errors() {
    let mut a = chan("A");
    let mut bridge = Bridge::new();
    join(&mut bridge, &mut [&mut a]).unwrap();
    assert!(matches!(
        join(&mut bridge, &mut [&mut a]),
        Err(SwitchError::AlreadyInBridge { .. })
    ));
    let mut other = chan("X");
    assert!(matches!(
        part(&mut bridge, &mut other),
        Err(SwitchError::NotInBridge { .. })
    ));
    other
        .transition(ChannelState::Hangup, Now::current())
        .unwrap();
    assert!(matches!(
        join(&mut bridge, &mut [&mut other]),
        Err(SwitchError::ChannelHungUp(_))
    ));
    part(&mut bridge, &mut a).unwrap();
    assert!(bridge.is_empty());
}
