//! One CDR object of the bridge engine: a path of communication between Party A and
//! (optionally) Party B, its state, its times, and how it renders as a [`BridgeRecord`];
//! plus the disposition rules (dial status and hang-up cause → Asterisk disposition).
//!
//! The object holds the latest snapshot of each party (the engine refreshes them on every
//! event of those channels while the object is open), so a record always shows the
//! parties as they were when it was finalized.
//!
//! Depends on `cdr::model` and `switch::{channel, cause, events, ids}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cdr::model::{BridgeRecord, Disposition, Millis};
use crate::switch::cause::{HangupCause, Q850};
use crate::switch::channel::{ChannelSnapshot, PartyId};
use crate::switch::events::DialStatus;
use crate::switch::ids::{BridgeId, ChannelId};

/// The engine's internal key of an open CDR object (never reused within a run).
pub(super) type CdrKey = u64;

/// Where a CDR object is (see the diagram in the parent module). `Finalized` is not a
/// state an object is kept in: a finalized object is rendered and dropped at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CdrState {
    /// Party A alone (no Party B): created with the channel, or resumed after a
    /// finalized record; may sit alone in a bridge (holding/parking bridge).
    Single,
    /// Party A is dialing Party B; not answered yet.
    Dial,
    /// Party B answered the dial; the bridge is not formed yet.
    DialedPending,
    /// Party A and Party B are in the same bridge.
    Bridged,
}

/// One open CDR object.
#[derive(Clone, Debug)]
pub(super) struct CdrObject {
    /// Where it is.
    pub state: CdrState,
    /// Party A as last seen (fixed for the object's life: it gives `uniqueid`).
    pub party_a: Arc<ChannelSnapshot>,
    /// Party B as last seen, once there is one.
    pub party_b: Option<Arc<ChannelSnapshot>>,
    /// The bridge the path lives in (`Bridged`, or `Single` alone in a bridge).
    pub bridge: Option<BridgeId>,
    /// Creation time (`start`).
    pub start: Millis,
    /// Answer time (Party A answered alone, the dial answered, or the bridge formed).
    pub answer: Option<Millis>,
    /// A disposition decided by an event (a dial that ended unanswered); otherwise it
    /// is derived at finalization ([`CdrObject::default_disposition`]).
    pub disposition: Option<Disposition>,
    /// The record's sequence number.
    pub sequence: u64,
}

impl CdrObject {
    /// Whether `id` is this object's Party B.
    pub fn has_party_b(&self, id: &ChannelId) -> bool {
        self.party_b.as_ref().is_some_and(|b| &b.id == id)
    }

    /// Whether the object is the path between `x` and `y` (in either role).
    pub fn is_pair(&self, x: &ChannelId, y: &ChannelId) -> bool {
        (&self.party_a.id == x && self.has_party_b(y))
            || (&self.party_a.id == y && self.has_party_b(x))
    }

    /// The disposition when nothing explicit was decided: `ANSWERED` once answered (the
    /// cause no longer matters); a dial still open ends like the dialed channel did (or
    /// `NO ANSWER` when it is still up: the caller gave up); otherwise Party A's cause.
    pub fn default_disposition(&self, congestion: bool) -> Disposition {
        if let Some(d) = self.disposition {
            return d;
        }
        if self.answer.is_some() {
            return Disposition::Answered;
        }
        match (self.state, &self.party_b) {
            (CdrState::Dial, Some(b)) => match &b.hangup {
                Some(cause) => dial_disposition(DialStatus::from_q850(cause.q850), b, congestion),
                None => Disposition::NoAnswer,
            },
            _ => cause_disposition(self.party_a.hangup.as_ref(), congestion),
        }
    }

    /// Whether the record must not be written: Party A's AMA flags say `OMIT`, or
    /// `unanswered` is off and the disposition is neither `ANSWERED` nor `CONGESTION`.
    pub fn is_filtered(&self, disposition: Disposition, unanswered: bool) -> bool {
        self.party_a.amaflags == crate::switch::channel::AmaFlags::Omit
            || (!unanswered
                && !matches!(disposition, Disposition::Answered | Disposition::Congestion))
    }

    /// The record as it stands (`end` `None` while open).
    pub fn to_record(
        &self,
        node_id: &str,
        end: Option<Millis>,
        disposition: Disposition,
    ) -> BridgeRecord {
        let a = &self.party_a;
        let b = self.party_b.as_deref();
        let (duration, duration_ms) = end.map_or((0, 0), |e| span(self.start, e));
        let (billsec, billsec_ms) = match (self.answer, end) {
            (Some(ans), Some(e)) => span(ans, e),
            _ => (0, 0),
        };
        let mut variables: BTreeMap<String, String> = BTreeMap::new();
        if let Some(b) = b {
            variables.extend(b.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        // Party A's value wins for equal keys.
        variables.extend(a.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        BridgeRecord {
            node_id: node_id.to_owned(),
            clid: clid(&a.caller),
            src: a.caller.number.clone(),
            dst: a.exten.clone(),
            dcontext: a.context.clone(),
            channel: a.name.clone(),
            dstchannel: b.map(|b| b.name.clone()).unwrap_or_default(),
            lastapp: a.lastapp.clone(),
            lastdata: a.lastdata.clone(),
            start: self.start,
            answer: self.answer,
            end,
            duration,
            billsec,
            duration_ms,
            billsec_ms,
            disposition,
            amaflags: a.amaflags.as_str().to_owned(),
            accountcode: a.accountcode.clone(),
            peeraccount: b.map(|b| b.accountcode.clone()).unwrap_or_default(),
            uniqueid: a.id.as_str().to_owned(),
            peer_uniqueid: b.map(|b| b.id.as_str().to_owned()).unwrap_or_default(),
            linkedid: a.linkedid.as_str().to_owned(),
            sequence: self.sequence,
            userfield: join_userfields(&a.userfield, b.map_or("", |b| b.userfield.as_str())),
            variables,
        }
    }
}

/// `(whole seconds, milliseconds)` from `from` to `to` (0 when `to` is earlier).
fn span(from: Millis, to: Millis) -> (i64, i64) {
    let ms = (to - from).max(0);
    (ms / 1000, ms)
}

/// Asterisk's caller id rendering: `"name" <number>` (quotes and backslashes in the name
/// escaped), the number alone without a name, the name alone without a number.
pub(super) fn clid(party: &PartyId) -> String {
    let name = party.name.as_deref().filter(|n| !n.is_empty());
    match (name, party.number.is_empty()) {
        (Some(name), false) => {
            let mut escaped = String::with_capacity(name.len());
            for c in name.chars() {
                if c == '"' || c == '\\' {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            format!("\"{escaped}\" <{}>", party.number)
        }
        (Some(name), true) => name.to_owned(),
        (None, _) => party.number.clone(),
    }
}

/// Party A's and Party B's user fields, joined with `;` when both are set.
pub(super) fn join_userfields(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (false, false) => format!("{a};{b}"),
        (false, true) => a.to_owned(),
        (true, _) => b.to_owned(),
    }
}

/// SIP statuses that mean "busy" for a CDR: 486 Busy Here, 600 Busy Everywhere and
/// 603 Decline (Asterisk's chan_sip maps all three to the BUSY cause).
fn is_busy_status(status: u16) -> bool {
    matches!(status, 486 | 600 | 603)
}

/// `FAILED`, or `CONGESTION` when the `congestion` option is on.
fn congestion_disposition(congestion: bool) -> Disposition {
    if congestion {
        Disposition::Congestion
    } else {
        Disposition::Failed
    }
}

/// The disposition of a dial attempt that ended with `status`; `callee` is the dialed
/// channel as it ended (a busy SIP status in its cause makes it `BUSY` whatever the
/// status says).
pub(super) fn dial_disposition(
    status: DialStatus,
    callee: &ChannelSnapshot,
    congestion: bool,
) -> Disposition {
    let busy = callee
        .hangup
        .and_then(|c| c.sip_status)
        .is_some_and(is_busy_status);
    if busy && status != DialStatus::Answer {
        return Disposition::Busy;
    }
    status_disposition(status, congestion)
}

/// The disposition a dial status stands for: ANSWER → `ANSWERED`, BUSY → `BUSY`,
/// NOANSWER / CANCEL → `NO ANSWER`, CONGESTION → `FAILED` (or `CONGESTION` with the
/// option), anything else → `FAILED`.
fn status_disposition(status: DialStatus, congestion: bool) -> Disposition {
    match status {
        DialStatus::Answer => Disposition::Answered,
        DialStatus::Busy => Disposition::Busy,
        DialStatus::NoAnswer | DialStatus::Cancel => Disposition::NoAnswer,
        DialStatus::Congestion => congestion_disposition(congestion),
        DialStatus::ChanUnavail => Disposition::Failed,
    }
}

/// The disposition of a never-answered record without a dial outcome, from Party A's
/// hang-up cause: busy → `BUSY`; circuit/resource shortage → `FAILED` (`CONGESTION`
/// with the option); normal clearing, no answer, cancel, timer expiry, shutdown → `NO
/// ANSWER`; anything else (unallocated number, no route, unregistered, rejected...) →
/// `FAILED`. No cause known (still up) → `NO ANSWER`.
pub(super) fn cause_disposition(cause: Option<&HangupCause>, congestion: bool) -> Disposition {
    let Some(cause) = cause else {
        return Disposition::NoAnswer;
    };
    if cause.sip_status.is_some_and(is_busy_status) {
        return Disposition::Busy;
    }
    match cause.q850 {
        Q850::NormalClearing | Q850::NormalUnspecified | Q850::Crash | Q850::SystemShutdown => {
            Disposition::NoAnswer
        }
        q => status_disposition(DialStatus::from_q850(q), congestion),
    }
}
