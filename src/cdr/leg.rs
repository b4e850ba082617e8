//! Leg-mode CDRs (FreeSWITCH / mod_cti / IPSC semantics, seeds 000 and 001): one
//! [`LegRecord`] per channel, written when the channel is destroyed, answered or not.
//!
//! A sans-IO engine: [`LegEngine::apply`] takes the switch's events in bus order and
//! appends store operations ([`CdrOp`]). Every event carries its channel's snapshot after
//! the fact, so the engine only keeps, per open channel, the latest snapshot plus what no
//! snapshot holds (the number of the party the leg reached, what was last journaled).
//!
//! ```text
//!   ChannelCreated ──► open ──(any event: snapshot refreshed)──► open
//!        │ LegLive         │ LegLive when answer time, bridge peer or linkedid
//!        │                 │ change (realtime: also on every status change)
//!        ▼                 ▼
//!              ChannelDestroyed ──► LegFinal  (or LegDrop: AMA flags OMIT)
//! ```
//! Status (realtime rows): `created` → `ringing` (180/183) → `answered` ⇄ `bridged`
//! → `hangup`; derived from the snapshot (state, current peer).
//!
//! Decisions:
//! - `callee_id_number`: the snapshot's callee when set (outbound legs: the number
//!   dialed); otherwise the number of the party the leg last reached: the far end of the
//!   channel it was bridged with (an outbound peer's callee, else its `exten`; an inbound
//!   peer's caller), learnt at `DialEnd(ANSWER)` and `BridgeEnter`; otherwise the number
//!   the leg was created for (`exten`, the DID), as mod_cti's "被叫号码(DID号)".
//! - `legs` filter: legs of the excluded direction are still followed (their numbers
//!   feed their peers' `callee_id_number`) but produce no operation at all — the
//!   direction is known at creation, so no journal row is written only to be dropped.
//!   AMA `OMIT` can change during the call, so such a leg gets `LegLive` rows and ends with
//!   `LegDrop`.
//! - `q850` is the cause value, the switch's private causes included (487
//!   `ORIGINATOR_CANCEL`, 500 `CRASH`, 501, 604 `MEDIA_TIMEOUT`, FreeSWITCH's values).
//! - `duration`/`billsec` are truncated whole seconds of the millisecond wall times;
//!   `rtp.in_*` = what the switch received from the leg's far end (`media.rx`), `out_*` =
//!   what it sent (`media.tx`); negative loss (duplicates) counts as 0.
//!
//! Depends on `config::cdr` (settings), `switch` (events, snapshots) and `cdr::model`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use crate::cdr::model::{millis, CdrOp, LegRecord, LegStatus, RtpSummary};
use crate::config::cdr::{CdrSettings, LegsFilter};
use crate::switch::cause::EndType;
use crate::switch::channel::{AmaFlags, ChannelSnapshot, ChannelState, Direction};
use crate::switch::events::{DialStatus, Event, EventKind};
use crate::switch::ids::{ChannelId, LinkedId};

/// What a crash-journal row depends on: a change of any of these writes a new `LegLive`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct JournalKey {
    answered: Option<SystemTime>,
    last_peer: Option<ChannelId>,
    linkedid: LinkedId,
}

impl JournalKey {
    fn of(s: &ChannelSnapshot) -> Self {
        JournalKey {
            answered: s.answered,
            last_peer: s.last_peer.clone(),
            linkedid: s.linkedid.clone(),
        }
    }
}

/// One channel being followed.
#[derive(Debug)]
struct Open {
    snapshot: Arc<ChannelSnapshot>,
    /// The number of the party this leg last reached (see the module docs).
    connected: Option<String>,
    /// Whether operations are emitted for it (the `legs` filter).
    written: bool,
    /// What the last `LegLive` carried.
    journaled: JournalKey,
    status: LegStatus,
}

/// The leg-mode engine; see the module docs.
#[derive(Debug)]
pub struct LegEngine {
    node_id: String,
    legs: LegsFilter,
    realtime: bool,
    open: HashMap<ChannelId, Open>,
}

impl LegEngine {
    /// An engine with no open record, configured by `settings` (`legs`, `realtime`,
    /// `node_id`).
    pub fn new(settings: &CdrSettings) -> Self {
        LegEngine {
            node_id: settings.node_id.clone(),
            legs: settings.legs,
            realtime: settings.realtime,
            open: HashMap::new(),
        }
    }

    /// Open records (channels seen created, not yet final).
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Applies one event, appending store ops in order.
    pub fn apply(&mut self, event: &Event, out: &mut Vec<CdrOp>) {
        if matches!(event.kind, EventKind::ChannelDestroyed) {
            self.finish(event, out);
            return;
        }
        let created = !self.open.contains_key(&event.channel);
        if created {
            let written = self.includes(event.snapshot.direction);
            self.open.insert(
                event.channel.clone(),
                Open {
                    snapshot: Arc::clone(&event.snapshot),
                    connected: None,
                    written,
                    journaled: JournalKey::of(&event.snapshot),
                    status: status_of(&event.snapshot),
                },
            );
        }
        // The number reached: from the answered dial's callee, or the bridge's other party.
        let reached = match &event.kind {
            EventKind::DialEnd {
                callee,
                status: DialStatus::Answer,
            } => Some(far_end_number(callee)),
            // The first member of a join is published with no others (they enter after
            // it), but its snapshot already has the peer: prefer that.
            EventKind::BridgeEnter { others, .. } => event
                .snapshot
                .peer
                .as_ref()
                .or(match others.as_slice() {
                    [one] => Some(one),
                    _ => None,
                })
                .and_then(|o| self.open.get(o))
                .map(|o| far_end_number(&o.snapshot)),
            _ => None,
        };
        let Some(open) = self.open.get_mut(&event.channel) else {
            return;
        };
        open.snapshot = Arc::clone(&event.snapshot);
        if let Some(number) = reached.filter(|n| !n.is_empty()) {
            open.connected = Some(number);
        }
        if !open.written {
            return;
        }
        let key = JournalKey::of(&open.snapshot);
        let status = status_of(&open.snapshot);
        let changed = key != open.journaled;
        let status_changed = status != open.status;
        open.journaled = key;
        open.status = status;
        if created || changed || (self.realtime && status_changed) {
            let record = build(&self.node_id, open, status);
            tracing::trace!(uuid = %record.uuid, status = status.as_str(), "leg live");
            out.push(CdrOp::LegLive(Arc::new(record)));
        }
    }

    fn includes(&self, direction: Direction) -> bool {
        match self.legs {
            LegsFilter::Ab => true,
            LegsFilter::A => direction == Direction::Inbound,
            LegsFilter::B => direction == Direction::Outbound,
        }
    }

    /// `ChannelDestroyed`: the record is final (its snapshot is the complete one).
    fn finish(&mut self, event: &Event, out: &mut Vec<CdrOp>) {
        let (connected, written) = match self.open.remove(&event.channel) {
            Some(open) => (open.connected, open.written),
            // Never seen alive (engine started mid-call): the last snapshot is complete.
            None => (None, self.includes(event.snapshot.direction)),
        };
        if !written {
            return;
        }
        let open = Open {
            snapshot: Arc::clone(&event.snapshot),
            connected,
            written,
            journaled: JournalKey::of(&event.snapshot),
            status: LegStatus::Hangup,
        };
        let record = build(&self.node_id, &open, LegStatus::Hangup);
        if event.snapshot.amaflags == AmaFlags::Omit {
            tracing::debug!(uuid = %record.uuid, "leg record dropped: AMA flags OMIT");
            out.push(CdrOp::LegDrop { uuid: record.uuid });
        } else {
            tracing::debug!(
                uuid = %record.uuid,
                cause = %record.hangup_cause,
                billsec = record.billsec,
                "leg record final"
            );
            out.push(CdrOp::LegFinal(Arc::new(record)));
        }
    }
}

/// The realtime status of a channel.
fn status_of(s: &ChannelSnapshot) -> LegStatus {
    match s.state {
        ChannelState::Hangup => LegStatus::Hangup,
        _ if s.peer.is_some() => LegStatus::Bridged,
        ChannelState::Up => LegStatus::Answered,
        ChannelState::Ringing | ChannelState::Progress => LegStatus::Ringing,
        ChannelState::Down => LegStatus::Created,
    }
}

/// The number of the party at the far end of `s`: an outbound leg reaches its callee
/// (the number dialed), an inbound leg its caller.
fn far_end_number(s: &ChannelSnapshot) -> String {
    match s.direction {
        Direction::Outbound if !s.callee.number.is_empty() => s.callee.number.clone(),
        Direction::Outbound => s.exten.clone(),
        Direction::Inbound => s.caller.number.clone(),
    }
}

/// `local`, `remote`, `device`, or empty when undefined.
fn end_type_text(t: EndType) -> &'static str {
    match t {
        EndType::Undefined => "",
        EndType::Local => "local",
        EndType::Remote => "remote",
        EndType::Device => "device",
    }
}

/// The record of `open` as of its snapshot.
fn build(node_id: &str, open: &Open, status: LegStatus) -> LegRecord {
    let s = &open.snapshot;
    let start = millis(s.created);
    let answer = s.answered.map(millis);
    let end = s.ended.map(millis);
    let duration_ms = end.map_or(0, |e| (e - start).max(0));
    let billsec_ms = match (answer, end) {
        (Some(a), Some(e)) => (e - a).max(0),
        _ => 0,
    };
    let callee_id_number = if !s.callee.number.is_empty() {
        s.callee.number.clone()
    } else if let Some(n) = &open.connected {
        n.clone()
    } else {
        s.exten.clone()
    };
    let cause = s.hangup;
    LegRecord {
        uuid: s.id.as_str().to_owned(),
        node_id: node_id.to_owned(),
        status,
        direction: s.direction.as_str().to_owned(),
        account: s.attribution.account.clone(),
        caller_id_number: s.caller.number.clone(),
        caller_id_name: s.caller.name.clone().unwrap_or_default(),
        callee_id_number,
        destination_number: s.exten.clone(),
        originator: s.originator.as_ref().map(|o| o.as_str().to_owned()),
        bridge_uuid: s.last_peer.as_ref().map(|p| p.as_str().to_owned()),
        call_source: s.call_source.as_str().to_owned(),
        source_name: s.attribution.source_name.clone(),
        source_number: s.attribution.source_number.clone(),
        dial_number: s.attribution.dial_number.clone(),
        line_group: s.attribution.line_group.clone(),
        context: s.context.clone(),
        channel_name: s.name.clone(),
        sip_call_id: s.sip_call_id.clone(),
        start,
        answer,
        end,
        duration: duration_ms / 1000,
        billsec: billsec_ms / 1000,
        duration_ms,
        billsec_ms,
        hangup_cause: cause.map(|c| c.q850.name().to_owned()).unwrap_or_default(),
        q850: cause.map(|c| c.q850.code()),
        sip_code: cause.and_then(|c| c.sip_status),
        hangup_side: cause
            .map(|c| end_type_text(c.side.end_type(s.direction)))
            .unwrap_or_default()
            .to_owned(),
        codec: s.codec.clone(),
        rtp: RtpSummary {
            in_packets: s.media.rx.packets,
            in_lost: u64::try_from(s.media.rx.lost).unwrap_or(0),
            in_jitter_ms: s.media.rx.jitter_ms,
            out_packets: s.media.tx.packets,
            out_lost: u64::try_from(s.media.tx.lost).unwrap_or(0),
            out_jitter_ms: s.media.tx.jitter_ms,
        },
        linkedid: s.linkedid.as_str().to_owned(),
        accountcode: s.accountcode.clone(),
        amaflags: s.amaflags.as_str().to_owned(),
        userfield: s.userfield.clone(),
        variables: s
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[cfg(test)]
#[path = "leg_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "leg_options_tests.rs"]
mod options_tests;
