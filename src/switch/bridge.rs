//! Bridges: the set of channels whose media are joined, and linkedid propagation.
//!
//! Sans-IO bookkeeping. A `Bridge` records its members (in entry order) and each member's
//! current linkedid. When a channel enters, the oldest linkedid among all members wins
//! (Asterisk CDR specification, seed 004: "the channel with the oldest linkedid wins, and
//! the other channel's linkedid is replaced ... this association lasts even if the bridge
//! is broken"); [`Bridge::enter`] returns every member whose linkedid must change, and
//! the owner applies it to the channel ([`Channel::set_linkedid`]) and publishes
//! `LinkedIdChanged`. Leaving never changes linkedids.
//!
//! When one actor owns every member (the B2BUA `Call` owns both legs), [`join`] and
//! [`part`] do it all on the `Channel`s: membership, peer fields and linkedids.
//!
//! ```text
//!   empty ──enter──► 1 member ──enter──► 2+ members (linkedids unified to the oldest)
//!     ▲                  │  ▲                 │
//!     └──────leave───────┘  └──────leave──────┘
//! ```
//!
//! Depends on `switch::{ids, channel, errors}`.

use crate::switch::channel::{Channel, ChannelState, LinkedIdChange};
use crate::switch::errors::SwitchError;
use crate::switch::ids::{BridgeId, ChannelId, LinkedId};

/// One member of a bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The channel.
    pub channel: ChannelId,
    /// Its linkedid as the bridge knows it.
    pub linkedid: LinkedId,
}

/// A change the owner must apply to a member channel after [`Bridge::enter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIdUpdate {
    /// The channel whose linkedid changes.
    pub channel: ChannelId,
    /// Its old linkedid.
    pub old: LinkedId,
    /// The winning (oldest) linkedid.
    pub new: LinkedId,
}

/// A bridge: members in entry order.
#[derive(Clone, Debug)]
pub struct Bridge {
    id: BridgeId,
    members: Vec<Member>,
}

impl Default for Bridge {
    fn default() -> Self {
        Self::new()
    }
}

impl Bridge {
    /// An empty bridge with a fresh id.
    pub fn new() -> Self {
        Self {
            id: BridgeId::new(),
            members: Vec::new(),
        }
    }

    /// The bridge id.
    pub fn id(&self) -> &BridgeId {
        &self.id
    }

    /// Members in entry order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Whether `channel` is a member.
    pub fn contains(&self, channel: &ChannelId) -> bool {
        self.members.iter().any(|m| &m.channel == channel)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the bridge has no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members other than `channel`.
    pub fn others(&self, channel: &ChannelId) -> Vec<ChannelId> {
        self.members
            .iter()
            .filter(|m| &m.channel != channel)
            .map(|m| m.channel.clone())
            .collect()
    }

    /// Adds `channel` (whose current linkedid is `linkedid`) and unifies every member's
    /// linkedid to the oldest. Returns the members whose linkedid changes (possibly the
    /// entering channel), in entry order.
    pub fn enter(
        &mut self,
        channel: ChannelId,
        linkedid: LinkedId,
    ) -> Result<Vec<LinkedIdUpdate>, SwitchError> {
        if self.contains(&channel) {
            return Err(SwitchError::AlreadyInBridge {
                channel,
                bridge: self.id.clone(),
            });
        }
        let oldest = self
            .members
            .iter()
            .map(|m| &m.linkedid)
            .fold(&linkedid, |a, b| if b < a { b } else { a })
            .clone();
        self.members.push(Member { channel, linkedid });
        let mut updates = Vec::new();
        for m in &mut self.members {
            if m.linkedid != oldest {
                let old = std::mem::replace(&mut m.linkedid, oldest.clone());
                updates.push(LinkedIdUpdate {
                    channel: m.channel.clone(),
                    old,
                    new: oldest.clone(),
                });
            }
        }
        Ok(updates)
    }

    /// Removes `channel`; its linkedid (and everyone's) stays as it is.
    pub fn leave(&mut self, channel: &ChannelId) -> Result<Member, SwitchError> {
        let pos = self
            .members
            .iter()
            .position(|m| &m.channel == channel)
            .ok_or_else(|| SwitchError::NotInBridge {
                channel: channel.clone(),
                bridge: self.id.clone(),
            })?;
        Ok(self.members.remove(pos))
    }
}

/// What [`join`] did to one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    /// The channel that entered.
    pub channel: ChannelId,
    /// The other members at that moment (for `BridgeEnter`).
    pub others: Vec<ChannelId>,
}

/// Puts `channels` (owned by the caller) into `bridge`, in order: membership, peer fields
/// (`peer` = the single other member in a two-party bridge) and linkedid unification.
/// Returns one [`Joined`] per entering channel and every linkedid change applied, for the
/// owner to publish (`BridgeEnter` per channel, `LinkedIdChanged` per change). Changes for
/// members not in `channels` (owned by another actor) are in the list too, not applied:
/// their owner applies them with [`Channel::set_linkedid`] and updates their peer.
pub fn join(
    bridge: &mut Bridge,
    channels: &mut [&mut Channel],
) -> Result<(Vec<Joined>, Vec<LinkedIdChange>), SwitchError> {
    for c in channels.iter() {
        if c.state == ChannelState::Hangup {
            return Err(SwitchError::ChannelHungUp(c.id.clone()));
        }
        if bridge.contains(&c.id) {
            return Err(SwitchError::AlreadyInBridge {
                channel: c.id.clone(),
                bridge: bridge.id().clone(),
            });
        }
    }
    let mut joined = Vec::new();
    let mut updates = Vec::new();
    for c in channels.iter() {
        updates.extend(bridge.enter(c.id.clone(), c.linkedid.clone())?);
        joined.push(Joined {
            channel: c.id.clone(),
            others: bridge.others(&c.id),
        });
    }
    let mut changes = Vec::new();
    // Apply the final linkedid of every member we own (later entries may have changed
    // an earlier update again, so read the bridge's view rather than replaying updates).
    for c in channels.iter_mut() {
        if let Some(m) = bridge.members().iter().find(|m| m.channel == c.id) {
            if let Some(change) = c.set_linkedid(m.linkedid.clone()) {
                changes.push(change);
            }
        }
    }
    // Members not owned here still need their update applied by whoever owns them:
    // report them with the linkedid they had before and the bridge's final one.
    for u in updates {
        if channels.iter().any(|c| c.id == u.channel)
            || changes.iter().any(|c| c.channel == u.channel)
        {
            continue;
        }
        let new = bridge
            .members()
            .iter()
            .find(|m| m.channel == u.channel)
            .map(|m| m.linkedid.clone());
        if let Some(new) = new.filter(|n| *n != u.old) {
            changes.push(LinkedIdChange {
                channel: u.channel,
                old: u.old,
                new,
            });
        }
    }
    let peer_of = |id: &ChannelId| {
        let others = bridge.others(id);
        if others.len() == 1 {
            others.into_iter().next()
        } else {
            None
        }
    };
    for c in channels.iter_mut() {
        let peer = peer_of(&c.id);
        c.set_bridged(bridge.id().clone(), peer);
    }
    Ok((joined, changes))
}

/// Takes `channel` out of `bridge`: membership and peer fields (`last_peer` and the
/// linkedid stay). Returns the members remaining (for `BridgeLeave`).
pub fn part(bridge: &mut Bridge, channel: &mut Channel) -> Result<Vec<ChannelId>, SwitchError> {
    bridge.leave(&channel.id)?;
    channel.clear_bridged();
    Ok(bridge.members().iter().map(|m| m.channel.clone()).collect())
}

#[cfg(test)]
#[path = "bridge_tests.rs"]
mod tests;
