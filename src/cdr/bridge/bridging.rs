//! Bridge enter/leave handling of the bridge engine: which pairs a bridge holds, which
//! object each pair's path is recorded in, and ending those paths when a party leaves.
//!
//! On `BridgeEnter` the entering channel is paired with every other member (the pairs
//! are processed from whichever side's event comes first; a pair already recorded in
//! this bridge is skipped, so each pair is handled once):
//! 1. a dial between the two (answered or not) becomes `Bridged` (answer ?= now);
//! 2. otherwise Party A is chosen ([`super::party`]); its `Single` object without Party
//!    B is taken over, or a new object opens (start = its resume time or now, answer =
//!    now);
//! 3. a channel that became Party B only and still holds a `Single` object ends that
//!    object now (it recorded the time the channel spent alone).
//!
//! A channel entering a bridge alone keeps its `Single` object (or resumes into a new
//! one), now tied to the bridge (a holding or parking bridge): leaving the bridge ends it.
//!
//! On `BridgeLeave` every object of the channel tied to that bridge is finalized at that
//! moment; parties still up resume (a new object at their next activity).
//!
//! Depends on the parent module.

use crate::cdr::model::{CdrOp, Millis};
use crate::switch::ids::{BridgeId, ChannelId};

use super::object::{CdrKey, CdrState};
use super::{party, BridgeEngine, NewCdr};

impl BridgeEngine {
    pub(super) fn on_bridge_enter(
        &mut self,
        id: &ChannelId,
        bridge: &BridgeId,
        others: &[ChannelId],
        at: Millis,
        out: &mut Vec<CdrOp>,
    ) {
        for m in others.iter().chain(std::iter::once(id)) {
            self.join_membership(m, bridge);
        }
        let peers: Vec<ChannelId> = self
            .bridges
            .get(bridge)
            .map(|members| members.iter().filter(|m| *m != id).cloned().collect())
            .unwrap_or_default();
        if peers.is_empty() {
            self.resume(id, out);
            if let Some(key) = self.single_of(id, None) {
                if let Some(cdr) = self.cdrs.get_mut(&key) {
                    cdr.bridge = Some(bridge.clone());
                }
            }
            return;
        }
        let mut party_bs = Vec::new();
        for peer in peers {
            if let Some(b) = self.pair_enters(id, &peer, bridge, at, out) {
                party_bs.push(b);
            }
        }
        for b in party_bs {
            if let Some(key) = self.single_of(&b, Some(bridge)) {
                self.finalize(key, at, out);
            }
        }
    }

    /// Records the path between `id` and `peer` in `bridge`; returns the Party B of a
    /// pair decided here (not by a dial).
    fn pair_enters(
        &mut self,
        id: &ChannelId,
        peer: &ChannelId,
        bridge: &BridgeId,
        at: Millis,
        out: &mut Vec<CdrOp>,
    ) -> Option<ChannelId> {
        let pair = self.pair_key(id, peer, |s| {
            matches!(
                s,
                CdrState::Dial | CdrState::DialedPending | CdrState::Bridged
            )
        });
        if let Some(key) = pair {
            let cdr = self.cdrs.get_mut(&key)?;
            if cdr.state == CdrState::Bridged && cdr.bridge.as_ref() == Some(bridge) {
                return None;
            }
            if cdr.state != CdrState::Bridged {
                cdr.state = CdrState::Bridged;
                cdr.bridge = Some(bridge.clone());
                cdr.answer.get_or_insert(at);
                self.live(key, out);
                return None;
            }
        }
        let (x, y) = (self.snapshot(id)?, self.snapshot(peer)?);
        let (a, b) = if party::is_party_a(&x, &y) {
            (id, peer)
        } else {
            (peer, id)
        };
        if let Some(key) = self.single_of(a, Some(bridge)) {
            self.set_party_b(key, b);
            if let Some(cdr) = self.cdrs.get_mut(&key) {
                cdr.state = CdrState::Bridged;
                cdr.bridge = Some(bridge.clone());
                cdr.answer.get_or_insert(at);
            }
            self.live(key, out);
        } else {
            let start = self.take_resume(a).unwrap_or(at);
            let new = NewCdr {
                state: CdrState::Bridged,
                start,
                answer: Some(at),
                bridge: Some(bridge.clone()),
            };
            self.open(a, Some(b), new, out);
        }
        Some(b.clone())
    }

    /// An open object for the path between `x` and `y` (either role) whose state passes
    /// `state`.
    fn pair_key(
        &self,
        x: &ChannelId,
        y: &ChannelId,
        state: impl Fn(CdrState) -> bool,
    ) -> Option<CdrKey> {
        let entry = self.channels.get(x)?;
        entry
            .chain
            .iter()
            .chain(entry.party_b_of.iter())
            .copied()
            .find(|k| {
                self.cdrs
                    .get(k)
                    .is_some_and(|c| state(c.state) && c.is_pair(x, y))
            })
    }

    pub(super) fn on_bridge_leave(
        &mut self,
        id: &ChannelId,
        bridge: &BridgeId,
        at: Millis,
        out: &mut Vec<CdrOp>,
    ) {
        self.leave_membership(id, bridge);
        let keys: Vec<CdrKey> = match self.channels.get(id) {
            Some(entry) => entry
                .chain
                .iter()
                .chain(entry.party_b_of.iter())
                .copied()
                .filter(|k| {
                    self.cdrs
                        .get(k)
                        .is_some_and(|c| c.bridge.as_ref() == Some(bridge))
                })
                .collect(),
            None => return,
        };
        for key in keys {
            self.finalize(key, at, out);
        }
    }

    /// Adds `id` (if tracked) to `bridge`'s members.
    fn join_membership(&mut self, id: &ChannelId, bridge: &BridgeId) {
        let Some(entry) = self.channels.get_mut(id) else {
            return;
        };
        if !entry.bridges.contains(bridge) {
            entry.bridges.push(bridge.clone());
        }
        let members = self.bridges.entry(bridge.clone()).or_default();
        if !members.contains(id) {
            members.push(id.clone());
        }
    }

    /// Removes `id` from `bridge`'s members (the bridge is forgotten when empty).
    pub(super) fn leave_membership(&mut self, id: &ChannelId, bridge: &BridgeId) {
        if let Some(entry) = self.channels.get_mut(id) {
            entry.bridges.retain(|b| b != bridge);
        }
        if let Some(members) = self.bridges.get_mut(bridge) {
            members.retain(|m| m != id);
            if members.is_empty() {
                self.bridges.remove(bridge);
            }
        }
    }
}
