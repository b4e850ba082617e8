//! Bridge-mode CDRs (Asterisk CDR specification, `/work/shared/CDR-SPEC.md`, seeds 002
//! and 004): one record per path of communication between a Party A and a Party B,
//! built by a sans-IO engine from the switch's events. [`BridgeEngine::apply`] takes one
//! [`Event`] and appends the store operations it implies: `BridgeLive` when a record is
//! created and when its Party B, answer time or linkedid changes (crash journal),
//! `BridgeFinal` exactly once per written record, `BridgeDrop` for a record that ends
//! but is filtered out (`OMIT`, or `unanswered` off). A record is forgotten as soon as it
//! is final; a channel's bookkeeping when it is destroyed.
//!
//! # CDR objects
//! Each channel has a chain of open CDR objects in which it is Party A (usually one; a
//! parallel dial makes several). An object is the path (Party A, Party B) and moves
//! through these states (Asterisk `cdr.c` names):
//!
//! ```text
//!   ChannelCreated (not a dial attempt)      "resume": the channel's last record ended
//!   or resume on next activity ──┐            while it stays up; its next activity
//!                                ▼            (AppStart, DialBegin, bridge) opens a new
//!                           ┌────────┐        object starting at that end time
//!          ┌── DialBegin ── │ Single │ ── Answered (Party A) → answer = A's answer
//!          │                └────────┘
//!          ▼                     │ BridgeEnter as Party A of a pair (answer ?= now);
//!      ┌──────┐                  │ as Party B only → finalized (the time alone)
//!      │ Dial │                  │
//!      └──────┘                  ▼
//!       │    │ DialEnd     ┌─────────┐  BridgeEnter ┌─────────┐
//!       │    └─ ANSWER ──► │ Dialed  │ ───────────► │ Bridged │
//!       │   answer = B's   │ Pending │ (answer ?=   └─────────┘
//!       │   answer         └─────────┘   now)            │
//!       │ DialEnd other        │ hang-up (A or B)        │ BridgeLeave (A or B),
//!       │ (disposition         │                         │ hang-up (A or B)
//!       │ from status)         ▼                         ▼
//!       └──────────────────► Finalized ◄─────────────────┘
//!                   (rendered, Final or Drop emitted, forgotten)
//! ```
//! A hang-up of Party A finalizes every object it is part of; a hang-up of Party B
//! finalizes them too, except a `Dial` object, which waits for its `DialEnd` (the call
//! core publishes the callee's hang-up first) — Party A's hang-up or the callee's
//! `ChannelDestroyed` end it if the `DialEnd` never comes.
//!
//! # Rules
//! - **Party A**: in a dial, the caller. In a bridge pair without a dial, by
//!   the rules of the `party` submodule: not dialed beats dialed, the flag variable
//!   [`PARTY_A_VARIABLE`] (`CDR_PARTY_A=1`, our `CDR(party_a)`), then creation order.
//! - **Creation**: a channel that is not a dial attempt gets a `Single` object when
//!   created (a dial attempt is Party B only and gets an object of its own only when it
//!   acts as Party A later: it dials, joins a bridge as Party A, or resumes). The first
//!   dial of a channel reuses its `Single` object; further parallel attempts open new
//!   objects (start = the `DialBegin`), each with the next sequence. Each pair of a
//!   multi-party bridge gets its object (n parties: n(n−1)/2).
//! - **Times**: `start` = object creation (the channel's creation for the first one),
//!   `answer` = Party A answered while `Single`, the callee's answer for a dial, or the
//!   bridge formation when not set yet (a resumed object of a channel already up is
//!   answered at its start); `end` = the hang-up's end time, the bridge leave or the
//!   dial end. Durations are whole seconds truncated, plus exact milliseconds.
//! - **Disposition**: an unanswered dial's status (BUSY, also for a callee that ended
//!   with SIP 486/600/603; NOANSWER/CANCEL → NO ANSWER; CONGESTION → FAILED or
//!   CONGESTION with the option; other → FAILED); else ANSWERED once answered; else
//!   Party A's hang-up cause (the `object` submodule has the tables).
//! - **linkedid**: a record carries its Party A's linkedid. While it is open it follows
//!   Party A's `LinkedIdChanged` (a `BridgeLive` goes out); once final it never changes.
//! - **userfield**: Party A's and Party B's joined with `;` when both are set;
//!   variables: Party B's overlaid with Party A's (Party A wins).
//!
//! Transfers, parking and 3-way calls need no new state: they arrive as bridge
//! enter/leave, dial and hang-up events and the rules above give their records (blind:
//! the Alice–Bob record ends when Bob leaves, Alice resumes and her pair with Charlie
//! starts at that moment; park: the parked channel resumes with `lastapp=Park` alone in
//! a holding bridge, its object ends when it leaves).
//!
//! Depends on `cdr::model`, `config::cdr` and `switch::{events, channel, ids}`.

mod bridging;
mod object;
mod party;

use std::collections::HashMap;
use std::sync::Arc;

use tracing::debug;

use crate::cdr::model::{millis, CdrOp, Millis};
use crate::config::cdr::CdrSettings;
use crate::switch::channel::{ChannelSnapshot, ChannelState};
use crate::switch::events::{DialStatus, Event, EventKind};
use crate::switch::ids::{BridgeId, ChannelId};

use object::{dial_disposition, CdrKey, CdrObject, CdrState};
pub use party::PARTY_A_VARIABLE;

/// A channel as the engine tracks it.
#[derive(Debug)]
struct ChannelCdrs {
    /// The latest snapshot seen.
    snapshot: Arc<ChannelSnapshot>,
    /// Open objects with this channel as Party A, oldest first (its chain).
    chain: Vec<CdrKey>,
    /// Open objects with this channel as Party B.
    party_b_of: Vec<CdrKey>,
    /// Set when the channel's records all ended while it stays up: the next activity
    /// opens a new object starting at this time.
    resume_from: Option<Millis>,
    /// The bridges the channel is in (from its enter/leave events).
    bridges: Vec<BridgeId>,
}

impl ChannelCdrs {
    fn is_hung_up(&self) -> bool {
        self.snapshot.state == ChannelState::Hangup
    }
}

/// How a new object starts.
struct NewCdr {
    state: CdrState,
    start: Millis,
    answer: Option<Millis>,
    bridge: Option<BridgeId>,
}

/// The bridge-mode CDR engine (sans-IO); see the module docs.
#[derive(Debug)]
pub struct BridgeEngine {
    /// The node id written in every record.
    node_id: String,
    /// Write records that are neither ANSWERED nor CONGESTION.
    unanswered: bool,
    /// Report congestion as CONGESTION rather than FAILED.
    congestion: bool,
    /// The next record's sequence number (continues across restarts).
    next_sequence: u64,
    /// The next object key.
    next_key: CdrKey,
    /// Open objects.
    cdrs: HashMap<CdrKey, CdrObject>,
    /// Channels seen and not destroyed yet.
    channels: HashMap<ChannelId, ChannelCdrs>,
    /// Members of each bridge, in entry order (from enter/leave events).
    bridges: HashMap<BridgeId, Vec<ChannelId>>,
}

impl BridgeEngine {
    /// An engine with no open record; the first record gets sequence `next_sequence`
    /// (the store's `next_sequence()`, so sequences keep increasing across restarts).
    pub fn new(settings: &CdrSettings, next_sequence: u64) -> Self {
        Self {
            node_id: settings.node_id.clone(),
            unanswered: settings.unanswered,
            congestion: settings.congestion,
            next_sequence,
            next_key: 0,
            cdrs: HashMap::new(),
            channels: HashMap::new(),
            bridges: HashMap::new(),
        }
    }

    /// Open records (created, not yet final).
    pub fn open_count(&self) -> usize {
        self.cdrs.len()
    }

    /// Applies one event, appending store ops in order. Events must come in bus order;
    /// kinds the engine does not use are ignored.
    pub fn apply(&mut self, event: &Event, out: &mut Vec<CdrOp>) {
        let at = millis(event.at);
        let id = &event.channel;
        self.observe(&event.snapshot, true);
        match &event.kind {
            EventKind::ChannelCreated => self.on_created(id, out),
            EventKind::AppStart { .. } => self.resume(id, out),
            EventKind::DialBegin { callee, .. } => {
                self.observe(callee, true);
                self.on_dial_begin(id, &callee.id, at, out);
            }
            EventKind::DialEnd { callee, status } => {
                self.observe(callee, false);
                self.on_dial_end(id, callee, *status, at, out);
            }
            EventKind::Answered => self.on_answered(id, at, out),
            EventKind::BridgeEnter { bridge, others } => {
                self.on_bridge_enter(id, bridge, others, at, out)
            }
            EventKind::BridgeLeave { bridge, .. } => self.on_bridge_leave(id, bridge, at, out),
            EventKind::LinkedIdChanged { .. } => self.on_linkedid(id, out),
            EventKind::Hangup { .. } => self.on_hangup(id, at, out),
            EventKind::ChannelDestroyed => self.on_destroyed(id, at, out),
            _ => {}
        }
    }

    /// Stores `snapshot` as its channel's latest and refreshes the open objects it is a
    /// party of; `track` adds a channel not seen before.
    fn observe(&mut self, snapshot: &Arc<ChannelSnapshot>, track: bool) {
        let entry = match self.channels.get_mut(&snapshot.id) {
            Some(e) => e,
            None if track => {
                self.channels
                    .entry(snapshot.id.clone())
                    .or_insert_with(|| ChannelCdrs {
                        snapshot: Arc::clone(snapshot),
                        chain: Vec::new(),
                        party_b_of: Vec::new(),
                        resume_from: None,
                        bridges: Vec::new(),
                    })
            }
            None => return,
        };
        entry.snapshot = Arc::clone(snapshot);
        for key in &entry.chain {
            if let Some(cdr) = self.cdrs.get_mut(key) {
                cdr.party_a = Arc::clone(snapshot);
            }
        }
        for key in &entry.party_b_of {
            if let Some(cdr) = self.cdrs.get_mut(key) {
                cdr.party_b = Some(Arc::clone(snapshot));
            }
        }
    }

    fn snapshot(&self, id: &ChannelId) -> Option<Arc<ChannelSnapshot>> {
        self.channels.get(id).map(|c| Arc::clone(&c.snapshot))
    }

    /// Opens an object with `party_a` (and `party_b`), next sequence, `BridgeLive`.
    fn open(
        &mut self,
        party_a: &ChannelId,
        party_b: Option<&ChannelId>,
        new: NewCdr,
        out: &mut Vec<CdrOp>,
    ) {
        let Some(a) = self.snapshot(party_a) else {
            return;
        };
        let b = party_b.and_then(|b| self.snapshot(b));
        let key = self.next_key;
        self.next_key += 1;
        let cdr = CdrObject {
            state: new.state,
            party_a: a,
            party_b: b.clone(),
            bridge: new.bridge,
            start: new.start,
            answer: new.answer,
            disposition: None,
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        if let Some(entry) = self.channels.get_mut(party_a) {
            entry.chain.push(key);
            entry.resume_from = None;
        }
        if let Some(b) = &b {
            if let Some(entry) = self.channels.get_mut(&b.id) {
                entry.party_b_of.push(key);
            }
        }
        debug!(
            channel = %cdr.party_a.name,
            sequence = cdr.sequence,
            state = ?cdr.state,
            "bridge CDR opened"
        );
        self.cdrs.insert(key, cdr);
        self.live(key, out);
    }

    /// Emits the object's current state as `BridgeLive`.
    fn live(&self, key: CdrKey, out: &mut Vec<CdrOp>) {
        if let Some(cdr) = self.cdrs.get(&key) {
            let disposition = cdr.default_disposition(self.congestion);
            let record = cdr.to_record(&self.node_id, None, disposition);
            out.push(CdrOp::BridgeLive(Arc::new(record)));
        }
    }

    /// Makes `party_b` the object's Party B.
    fn set_party_b(&mut self, key: CdrKey, party_b: &ChannelId) {
        let snapshot = self.snapshot(party_b);
        if let Some(cdr) = self.cdrs.get_mut(&key) {
            cdr.party_b = snapshot;
        }
        if let Some(entry) = self.channels.get_mut(party_b) {
            entry.party_b_of.push(key);
        }
    }

    /// The channel's `Single` object without Party B that a dial or a bridge may take
    /// over (alone in `bridge`, or in no bridge).
    fn single_of(&self, id: &ChannelId, bridge: Option<&BridgeId>) -> Option<CdrKey> {
        let entry = self.channels.get(id)?;
        entry.chain.iter().rev().copied().find(|k| {
            self.cdrs.get(k).is_some_and(|c| {
                c.state == CdrState::Single
                    && c.party_b.is_none()
                    && (c.bridge.is_none() || c.bridge.as_ref() == bridge)
            })
        })
    }

    /// Takes the channel's resume time (its next object starts there).
    fn take_resume(&mut self, id: &ChannelId) -> Option<Millis> {
        self.channels.get_mut(id)?.resume_from.take()
    }

    /// Activity of a channel whose records all ended while it stayed up: a new `Single`
    /// object from the resume time.
    fn resume(&mut self, id: &ChannelId, out: &mut Vec<CdrOp>) {
        let Some(entry) = self.channels.get(id) else {
            return;
        };
        if entry.is_hung_up() || !entry.chain.is_empty() || entry.resume_from.is_none() {
            return;
        }
        let up = entry.snapshot.state == ChannelState::Up;
        if let Some(start) = self.take_resume(id) {
            // A channel that is already up is answered from the new record's start.
            let new = NewCdr {
                state: CdrState::Single,
                start,
                answer: up.then_some(start),
                bridge: None,
            };
            self.open(id, None, new, out);
        }
    }

    fn on_created(&mut self, id: &ChannelId, out: &mut Vec<CdrOp>) {
        let Some(entry) = self.channels.get(id) else {
            return;
        };
        if party::is_dialed(&entry.snapshot) || !entry.chain.is_empty() {
            return;
        }
        let new = NewCdr {
            state: CdrState::Single,
            start: millis(entry.snapshot.created),
            answer: None,
            bridge: None,
        };
        self.open(id, None, new, out);
    }

    fn on_dial_begin(
        &mut self,
        caller: &ChannelId,
        callee: &ChannelId,
        at: Millis,
        out: &mut Vec<CdrOp>,
    ) {
        let Some(entry) = self.channels.get(caller) else {
            return;
        };
        let duplicate = entry
            .chain
            .iter()
            .any(|k| self.cdrs.get(k).is_some_and(|c| c.has_party_b(callee)));
        if duplicate {
            return;
        }
        if let Some(key) = self.single_of(caller, None) {
            self.set_party_b(key, callee);
            if let Some(cdr) = self.cdrs.get_mut(&key) {
                cdr.state = CdrState::Dial;
            }
            self.live(key, out);
            return;
        }
        let start = self.take_resume(caller).unwrap_or(at);
        let new = NewCdr {
            state: CdrState::Dial,
            start,
            answer: None,
            bridge: None,
        };
        self.open(caller, Some(callee), new, out);
    }

    fn on_dial_end(
        &mut self,
        caller: &ChannelId,
        callee: &ChannelSnapshot,
        status: DialStatus,
        at: Millis,
        out: &mut Vec<CdrOp>,
    ) {
        let key = self.channels.get(caller).and_then(|e| {
            e.chain.iter().copied().find(|k| {
                self.cdrs
                    .get(k)
                    .is_some_and(|c| c.state == CdrState::Dial && c.has_party_b(&callee.id))
            })
        });
        let Some(key) = key else {
            debug!(callee = %callee.name, status = status.as_str(), "dial end without an open dial CDR");
            return;
        };
        if status == DialStatus::Answer {
            if let Some(cdr) = self.cdrs.get_mut(&key) {
                cdr.state = CdrState::DialedPending;
                cdr.answer.get_or_insert(callee.answered.map_or(at, millis));
            }
            self.live(key, out);
        } else {
            let disposition = dial_disposition(status, callee, self.congestion);
            if let Some(cdr) = self.cdrs.get_mut(&key) {
                cdr.disposition = Some(disposition);
            }
            self.finalize(key, at, out);
        }
    }

    /// Party A answered while alone: the answer time of its `Single` objects.
    fn on_answered(&mut self, id: &ChannelId, at: Millis, out: &mut Vec<CdrOp>) {
        let Some(entry) = self.channels.get(id) else {
            return;
        };
        let answered = entry.snapshot.answered.map_or(at, millis);
        let keys: Vec<CdrKey> = entry.chain.clone();
        for key in keys {
            let changed = match self.cdrs.get_mut(&key) {
                Some(c) if c.state == CdrState::Single && c.answer.is_none() => {
                    c.answer = Some(answered);
                    true
                }
                _ => false,
            };
            if changed {
                self.live(key, out);
            }
        }
    }

    /// Party A's linkedid changed: its open records follow (a `BridgeLive` each).
    fn on_linkedid(&mut self, id: &ChannelId, out: &mut Vec<CdrOp>) {
        let keys = self
            .channels
            .get(id)
            .map(|e| e.chain.clone())
            .unwrap_or_default();
        for key in keys {
            self.live(key, out);
        }
    }

    fn on_hangup(&mut self, id: &ChannelId, at: Millis, out: &mut Vec<CdrOp>) {
        let Some(entry) = self.channels.get(id) else {
            return;
        };
        let end = entry.snapshot.ended.map_or(at, millis);
        let mut keys = entry.chain.clone();
        // A dial object waits for its DialEnd (published after the callee's hang-up).
        keys.extend(
            entry
                .party_b_of
                .iter()
                .copied()
                .filter(|k| self.cdrs.get(k).is_some_and(|c| c.state != CdrState::Dial)),
        );
        for key in keys {
            self.finalize(key, end, out);
        }
        if let Some(entry) = self.channels.get_mut(id) {
            entry.resume_from = None;
        }
        self.forget_membership(id);
    }

    fn on_destroyed(&mut self, id: &ChannelId, at: Millis, out: &mut Vec<CdrOp>) {
        let Some(entry) = self.channels.get(id) else {
            return;
        };
        let end = entry.snapshot.ended.map_or(at, millis);
        let keys: Vec<CdrKey> = entry
            .chain
            .iter()
            .chain(entry.party_b_of.iter())
            .copied()
            .collect();
        for key in keys {
            self.finalize(key, end, out);
        }
        self.forget_membership(id);
        self.channels.remove(id);
    }

    /// Ends the object at `end`: rendered, `BridgeFinal` or `BridgeDrop`, forgotten. A
    /// party still up with no other record as Party A resumes from `end`.
    fn finalize(&mut self, key: CdrKey, end: Millis, out: &mut Vec<CdrOp>) {
        let Some(cdr) = self.cdrs.remove(&key) else {
            return;
        };
        let disposition = cdr.default_disposition(self.congestion);
        let record = cdr.to_record(&self.node_id, Some(end), disposition);
        let filtered = cdr.is_filtered(disposition, self.unanswered);
        debug!(
            channel = %record.channel,
            dstchannel = %record.dstchannel,
            sequence = record.sequence,
            disposition = disposition.as_str(),
            filtered,
            "bridge CDR final"
        );
        if filtered {
            out.push(CdrOp::BridgeDrop {
                record_id: record.record_id(),
            });
        } else {
            out.push(CdrOp::BridgeFinal(Arc::new(record)));
        }
        let parties = std::iter::once(&cdr.party_a.id).chain(cdr.party_b.as_ref().map(|b| &b.id));
        for id in parties {
            if let Some(entry) = self.channels.get_mut(id) {
                entry.chain.retain(|k| *k != key);
                entry.party_b_of.retain(|k| *k != key);
                if !entry.is_hung_up() && entry.chain.is_empty() && entry.resume_from.is_none() {
                    entry.resume_from = Some(end);
                }
            }
        }
    }

    /// Removes the channel from every bridge the engine knows it in.
    fn forget_membership(&mut self, id: &ChannelId) {
        let bridges = self
            .channels
            .get_mut(id)
            .map(|e| std::mem::take(&mut e.bridges))
            .unwrap_or_default();
        for bridge in bridges {
            self.leave_membership(id, &bridge);
        }
    }

    /// `(open objects, tracked channels, tracked bridges)`, for leak checks in tests.
    #[cfg(test)]
    fn tracked(&self) -> (usize, usize, usize) {
        (self.cdrs.len(), self.channels.len(), self.bridges.len())
    }
}

#[cfg(test)]
#[path = "bridge_tests.rs"]
mod tests;
