//! The live-call tracker, sans-IO: fed every switch [`Event`] in order ([`Tracker::apply`]),
//! it keeps the latest snapshot of every live channel grouped into calls (a B leg joins the
//! call of the channel that dialed it: `snapshot.originator`), and remembers which calls
//! changed since the last [`Tracker::flush`]. A flush renders only those calls (one JSON
//! text each, however many events touched them) and the ids of the calls that ended.
//!
//! Per event: a few hash-map operations and an `Arc` clone, never work proportional to
//! the number of live calls. Per flush: work proportional to the calls that changed.
//!
//! ```text
//!  ChannelCreated (no originator) ─► new call (A) ─┐
//!  ChannelCreated (originator X)  ─► leg of X's call ├─► dirty ─► flush: upsert [Call]
//!  any other event ─► snapshot replaced ────────────┘
//!  ChannelDestroyed (A) ─► call gone ─► flush: remove [id]   (never shown: nothing sent)
//!  ChannelDestroyed (B) ─► leg gone  ─► dirty
//! ```
//!
//! A channel first seen in a middle event (the tracker started while calls were up) is
//! adopted from its snapshot the same way. Depends on `crate::switch::{events, channel,
//! ids}` and [`super::model`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::switch::channel::{ChannelSnapshot, Direction};
use crate::switch::events::{Event, EventKind};
use crate::switch::ids::ChannelId;

use super::model::Call;

/// One live call: its A channel and B legs (latest snapshots).
#[derive(Debug)]
struct Entry {
    a: Arc<ChannelSnapshot>,
    /// B legs in creation order (a handful at most: one per dial target).
    legs: Vec<Arc<ChannelSnapshot>>,
    /// Whether a flush has shown it (else its end needs no `remove`).
    shown: bool,
}

/// One call's rendered JSON, ready for the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The call id (A channel uuid).
    pub id: String,
    /// Where it sorts: when it started (Unix ms), then the A channel's creation ordinal
    /// (calls started in the same millisecond keep their creation order).
    pub order: (i64, u64),
    /// The gateways the call runs through (the line groups of its channels).
    pub gateways: Vec<String>,
    /// The `Call` object as JSON text.
    pub json: String,
}

/// What changed since the previous flush.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Calls new or changed.
    pub upsert: Vec<Rendered>,
    /// Ids of calls that ended (only calls shown before).
    pub remove: Vec<String>,
}

impl Batch {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.remove.is_empty()
    }
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Live calls by A channel id.
    calls: HashMap<ChannelId, Entry>,
    /// Every tracked channel → the A channel id of its call (A maps to itself).
    call_of: HashMap<ChannelId, ChannelId>,
    /// Calls changed since the last flush.
    dirty: HashSet<ChannelId>,
    /// Shown calls that ended since the last flush.
    removed: Vec<ChannelId>,
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Live calls tracked.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is live.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Whether a flush would have something to publish.
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || !self.removed.is_empty()
    }

    /// Takes one event into account (events must come in publication order).
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::ChannelDestroyed => self.destroyed(&event.channel),
            // Nothing the `Call` shows: no snapshot change worth a delta.
            EventKind::Dtmf { .. } | EventKind::VarSet { .. } => {
                self.replace(&event.snapshot, false);
            }
            EventKind::DialBegin { callee, .. } | EventKind::DialEnd { callee, .. } => {
                self.replace(&event.snapshot, true);
                // The dialed channel as the caller saw it; never resurrects a gone leg.
                if self.call_of.contains_key(&callee.id) {
                    self.replace(callee, true);
                }
            }
            _ => self.replace(&event.snapshot, true),
        }
    }

    /// Stores `snap` as its channel's latest snapshot (adopting an unknown channel);
    /// marks the call changed when `visible`.
    fn replace(&mut self, snap: &Arc<ChannelSnapshot>, visible: bool) {
        let Some(call) = self.adopt(snap) else {
            return;
        };
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if entry.a.id == snap.id {
            entry.a = Arc::clone(snap);
        } else if let Some(leg) = entry.legs.iter_mut().find(|l| l.id == snap.id) {
            *leg = Arc::clone(snap);
        }
        if visible {
            self.dirty.insert(call);
        }
    }

    /// The call `snap`'s channel belongs to, creating the call (an A channel) or the leg
    /// (a channel whose originator is tracked) on first sight. `None`: an outbound channel
    /// whose originator is unknown (not part of a call the tracker follows).
    fn adopt(&mut self, snap: &Arc<ChannelSnapshot>) -> Option<ChannelId> {
        if let Some(call) = self.call_of.get(&snap.id) {
            return Some(call.clone());
        }
        let parent = snap
            .originator
            .as_ref()
            .and_then(|o| self.call_of.get(o))
            .cloned();
        match parent {
            Some(call) => {
                let entry = self.calls.get_mut(&call)?;
                entry.legs.push(Arc::clone(snap));
                self.call_of.insert(snap.id.clone(), call.clone());
                Some(call)
            }
            None if snap.originator.is_none() || snap.direction == Direction::Inbound => {
                self.calls.insert(
                    snap.id.clone(),
                    Entry {
                        a: Arc::clone(snap),
                        legs: Vec::new(),
                        shown: false,
                    },
                );
                self.call_of.insert(snap.id.clone(), snap.id.clone());
                Some(snap.id.clone())
            }
            None => None,
        }
    }

    fn destroyed(&mut self, channel: &ChannelId) {
        let Some(call) = self.call_of.remove(channel) else {
            return;
        };
        if &call != channel {
            if let Some(entry) = self.calls.get_mut(&call) {
                entry.legs.retain(|l| &l.id != channel);
                self.dirty.insert(call);
            }
            return;
        }
        if let Some(entry) = self.calls.remove(&call) {
            for leg in &entry.legs {
                self.call_of.remove(&leg.id);
            }
            self.dirty.remove(&call);
            if entry.shown {
                self.removed.push(call);
            }
        }
    }

    /// The calls changed and ended since the previous flush, rendered; clears both sets.
    pub fn flush(&mut self) -> Batch {
        let mut batch = Batch::default();
        for id in self.dirty.drain() {
            let Some(entry) = self.calls.get_mut(&id) else {
                continue;
            };
            entry.shown = true;
            let legs: Vec<&ChannelSnapshot> = entry.legs.iter().map(Arc::as_ref).collect();
            let call = Call::from_snapshots(&entry.a, &legs);
            match serde_json::to_string(&call) {
                Ok(json) => batch.upsert.push(Rendered {
                    id: call.id,
                    order: (call.started_ms, entry.a.ordinal),
                    gateways: gateways_of(&entry.a, &legs),
                    json,
                }),
                Err(error) => tracing::warn!(%error, call = %id, "live call not rendered"),
            }
        }
        batch.remove = self
            .removed
            .drain(..)
            .map(|id| id.as_str().to_owned())
            .collect();
        batch
    }

    /// Every live call rendered now (tests; the feed keeps its own copy for new clients).
    pub fn render_all(&self) -> Vec<Call> {
        self.calls
            .values()
            .map(|e| {
                let legs: Vec<&ChannelSnapshot> = e.legs.iter().map(Arc::as_ref).collect();
                Call::from_snapshots(&e.a, &legs)
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;

/// The distinct gateways of a call: the trunk it came in from and those its legs went out
/// through (a channel's line group is its gateway's name).
fn gateways_of(a: &ChannelSnapshot, legs: &[&ChannelSnapshot]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for group in std::iter::once(a)
        .chain(legs.iter().copied())
        .map(|c| &c.attribution.line_group)
    {
        if !group.is_empty() && !out.contains(group) {
            out.push(group.clone());
        }
    }
    out
}
