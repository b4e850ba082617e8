//! CEL (channel event logging, Asterisk, seed 003): one [`CelRecord`] per billing-relevant
//! switch event, with the seed's field list, for audits and billing built from events.
//!
//! A sans-IO engine: [`CelEngine::apply`] takes the switch's events in bus order and
//! appends [`CdrOp::Cel`] operations. Event types and what produces them:
//!
//! | CEL type       | switch event                          | `peer` / `extra`                       |
//! |----------------|---------------------------------------|----------------------------------------|
//! | `CHAN_START`   | `ChannelCreated`                      |                                        |
//! | `ANSWER`       | `Answered`                            |                                        |
//! | `BRIDGE_ENTER` | `BridgeEnter`                         | other members' names; `{"bridge_id"}`  |
//! | `BRIDGE_EXIT`  | `BridgeLeave`                         | remaining members' names; `{"bridge_id"}` |
//! | `APP_START`    | `AppStart`                            | (appname/appdata from the snapshot)    |
//! | `APP_END`      | `AppEnd`                              |                                        |
//! | `HANGUP`       | `Hangup`                              | `{"hangupcause","hangupsource","dialstatus"?}` |
//! | `CHAN_END`     | `ChannelDestroyed`                    |                                        |
//! | `LINKEDID_END` | last channel of a linkedid destroyed, or moved to another linkedid | |
//!
//! Not logged (not billing-relevant): channel state changes other than answer, dial
//! begin/end (the dial status is reported in `HANGUP`'s extra), `Hold`/`Unhold` (hold is
//! not reflected in records, per the CDR specification), DTMF, variable sets. Unknown kinds
//! are ignored. `USER_EVENT` comes with the dialplan's `UserEvent`.
//!
//! Per live channel the engine keeps its name, account code, linkedid and last dial status
//! (to name peers and the hang-up source after the fact), and a count of live channels
//! per linkedid; nothing is kept for a channel after its `CHAN_END`.
//!
//! ```text
//!   ChannelCreated ──► live (name, accountcode, linkedid counted)
//!        │  BridgeEnter/Leave, AppStart/End, Answered, Hangup: one row each
//!        ▼
//!   ChannelDestroyed ──► CHAN_END, forgotten ──► LINKEDID_END if its linkedid has no
//!                                                 live channel left
//! ```
//!
//! `event_seq` is the bus `seq` of the event a row comes from; a `LINKEDID_END` shares it
//! with the `CHAN_END` (or `LinkedIdChanged`) that caused it and follows it.
//!
//! Depends on `config::cdr` (settings), `switch` (events, snapshots) and `cdr::model`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cdr::model::{millis, CdrOp, CelRecord};
use crate::config::cdr::CdrSettings;
use crate::switch::cause::{EndType, HangupCause, HangupSide};
use crate::switch::channel::{ChannelSnapshot, Direction};
use crate::switch::events::{DialStatus, Event, EventKind};
use crate::switch::ids::ChannelId;

/// What the engine remembers of a live channel.
#[derive(Debug)]
struct Live {
    name: String,
    accountcode: String,
    linkedid: String,
    /// The status of the last dial attempt this channel made (its `DIALSTATUS`).
    dialstatus: Option<DialStatus>,
}

/// The CEL engine; see the module docs.
#[derive(Debug)]
pub struct CelEngine {
    node_id: String,
    live: HashMap<ChannelId, Live>,
    linked: HashMap<String, usize>,
}

impl CelEngine {
    /// An engine with no live channel; rows carry `settings.node_id`.
    pub fn new(settings: &CdrSettings) -> Self {
        CelEngine {
            node_id: settings.node_id.clone(),
            live: HashMap::new(),
            linked: HashMap::new(),
        }
    }

    /// Channels seen created and not yet destroyed.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Linkedids with at least one live channel.
    pub fn linkedid_count(&self) -> usize {
        self.linked.len()
    }

    /// Applies one event, appending its CEL rows in order.
    pub fn apply(&mut self, event: &Event, out: &mut Vec<CdrOp>) {
        let s = &event.snapshot;
        if !self.live.contains_key(&event.channel)
            && !matches!(event.kind, EventKind::ChannelDestroyed)
        {
            // Normally at ChannelCreated; also a channel first seen mid-call.
            self.track(event.channel.clone(), s);
        }
        if let Some(live) = self.live.get_mut(&event.channel) {
            // Account code can be set during the call; the name never changes.
            if live.accountcode != s.accountcode {
                live.accountcode.clone_from(&s.accountcode);
            }
        }
        match &event.kind {
            EventKind::ChannelCreated => self.push(out, event, "CHAN_START", Row::default()),
            EventKind::Answered => self.push(out, event, "ANSWER", Row::default()),
            EventKind::BridgeEnter { bridge, others }
            | EventKind::BridgeLeave { bridge, others } => {
                let kind = if matches!(event.kind, EventKind::BridgeEnter { .. }) {
                    "BRIDGE_ENTER"
                } else {
                    "BRIDGE_EXIT"
                };
                // The first member of a join is published with no others (they enter
                // after it) but its snapshot has the peer already.
                let peers: Vec<ChannelId> = match (&event.kind, others.is_empty(), &s.peer) {
                    (EventKind::BridgeEnter { .. }, true, Some(p)) => vec![p.clone()],
                    _ => others.clone(),
                };
                let peer = self.names(&peers);
                let peeraccount = match peers.as_slice() {
                    [one] => self.live.get(one).map(|l| l.accountcode.clone()),
                    _ => None,
                };
                let extra = serde_json::json!({ "bridge_id": bridge.as_str() }).to_string();
                let row = Row {
                    peer,
                    peeraccount: peeraccount.unwrap_or_default(),
                    extra,
                };
                self.push(out, event, kind, row);
            }
            EventKind::AppStart { .. } => self.push(out, event, "APP_START", Row::default()),
            EventKind::AppEnd { .. } => self.push(out, event, "APP_END", Row::default()),
            EventKind::DialEnd { status, .. } => {
                if let Some(live) = self.live.get_mut(&event.channel) {
                    live.dialstatus = Some(*status);
                }
            }
            EventKind::Hangup { cause } => {
                let extra = self.hangup_extra(s, *cause);
                let row = Row {
                    extra,
                    ..Row::default()
                };
                self.push(out, event, "HANGUP", row);
            }
            EventKind::LinkedIdChanged { new, .. } => {
                // The engine's own view of the old linkedid (a channel first seen at this
                // event was counted under the new one already).
                let moved = match self.live.get_mut(&event.channel) {
                    Some(live) if live.linkedid != new.as_str() => Some(std::mem::replace(
                        &mut live.linkedid,
                        new.as_str().to_owned(),
                    )),
                    _ => None,
                };
                if let Some(old) = moved {
                    *self.linked.entry(new.as_str().to_owned()).or_insert(0) += 1;
                    self.release(&old, event, out);
                }
            }
            EventKind::ChannelDestroyed => {
                self.push(out, event, "CHAN_END", Row::default());
                let linkedid = match self.live.remove(&event.channel) {
                    Some(live) => live.linkedid,
                    // Never seen alive: nothing was counted for it.
                    None => return,
                };
                self.release(&linkedid, event, out);
            }
            _ => {}
        }
    }

    fn track(&mut self, id: ChannelId, s: &ChannelSnapshot) {
        let linkedid = s.linkedid.as_str().to_owned();
        *self.linked.entry(linkedid.clone()).or_insert(0) += 1;
        self.live.insert(
            id,
            Live {
                name: s.name.clone(),
                accountcode: s.accountcode.clone(),
                linkedid,
                dialstatus: None,
            },
        );
    }

    /// One live channel less on `linkedid`; `LINKEDID_END` when it was the last.
    fn release(&mut self, linkedid: &str, event: &Event, out: &mut Vec<CdrOp>) {
        let Some(count) = self.linked.get_mut(linkedid) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count > 0 {
            return;
        }
        self.linked.remove(linkedid);
        let mut record = self.record(event, "LINKEDID_END", Row::default());
        record.linkedid = linkedid.to_owned();
        tracing::trace!(linkedid, "linkedid end");
        out.push(CdrOp::Cel(Arc::new(record)));
    }

    /// The names of the live channels among `ids` (unknown ones by id), `,`-joined.
    fn names(&self, ids: &[ChannelId]) -> String {
        ids.iter()
            .map(|id| match self.live.get(id) {
                Some(l) => l.name.clone(),
                None => id.as_str().to_owned(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `{"hangupcause":16,"hangupsource":"SIP/1001-…","dialstatus":"ANSWER"}`: the cause
    /// value; the name of the channel whose far end hung up (this one when its own far
    /// end did, else the originator for a caller's hang-up or the last peer for a
    /// callee's, when still live), or the side (`caller`, `callee`, `switch`, `device`);
    /// the channel's last dial status when it dialed.
    fn hangup_extra(&self, s: &ChannelSnapshot, cause: HangupCause) -> String {
        let source = match cause.side.end_type(s.direction) {
            EndType::Remote => Some(s.name.clone()),
            EndType::Local => {
                let other = match (cause.side, s.direction) {
                    (HangupSide::Caller, Direction::Outbound) => {
                        s.originator.as_ref().or(s.last_peer.as_ref())
                    }
                    (HangupSide::Callee, Direction::Inbound) => s.last_peer.as_ref(),
                    _ => None,
                };
                other
                    .and_then(|id| self.live.get(id))
                    .map(|l| l.name.clone())
            }
            EndType::Device | EndType::Undefined => None,
        };
        let mut extra = serde_json::Map::new();
        extra.insert("hangupcause".into(), cause.q850.code().into());
        extra.insert(
            "hangupsource".into(),
            source
                .unwrap_or_else(|| cause.side.as_str().to_owned())
                .into(),
        );
        if let Some(status) = self.live.get(&s.id).and_then(|l| l.dialstatus) {
            extra.insert("dialstatus".into(), status.as_str().into());
        }
        serde_json::Value::Object(extra).to_string()
    }

    fn push(&self, out: &mut Vec<CdrOp>, event: &Event, eventtype: &str, row: Row) {
        out.push(CdrOp::Cel(Arc::new(self.record(event, eventtype, row))));
    }

    fn record(&self, event: &Event, eventtype: &str, row: Row) -> CelRecord {
        let s = &event.snapshot;
        CelRecord {
            event_seq: event.seq,
            node_id: self.node_id.clone(),
            eventtype: eventtype.to_owned(),
            eventtime: millis(event.at),
            cid_name: s.caller.name.clone().unwrap_or_default(),
            cid_num: s.caller.number.clone(),
            cid_ani: s.caller.number.clone(),
            cid_rdnis: String::new(),
            cid_dnid: s.exten.clone(),
            exten: s.exten.clone(),
            context: s.context.clone(),
            channame: s.name.clone(),
            appname: s.lastapp.clone(),
            appdata: s.lastdata.clone(),
            amaflags: s.amaflags.as_str().to_owned(),
            accountcode: s.accountcode.clone(),
            peeraccount: row.peeraccount,
            uniqueid: s.id.as_str().to_owned(),
            linkedid: s.linkedid.as_str().to_owned(),
            userfield: s.userfield.clone(),
            peer: row.peer,
            extra: row.extra,
        }
    }
}

/// The event-specific part of a row.
#[derive(Debug, Default)]
struct Row {
    peer: String,
    peeraccount: String,
    extra: String,
}

#[cfg(test)]
#[path = "cel_tests.rs"]
mod tests;
