//! A channel: one SIP leg (one dialog on one side of the B2BUA) and its state machine.
//!
//! Sans-IO: a `Channel` is plain data owned by one actor (the `Call`); every change takes
//! an explicit [`Now`] and returns what changed, so the owner publishes the matching event.
//! Its data lives in an `Arc<ChannelSnapshot>`: [`Channel::snapshot`] is an `Arc` clone,
//! and a mutation copies the data only when a published snapshot still shares it
//! (`Arc::make_mut`; variables sit behind their own `Arc` so that copy stays small).
//!
//! ```text
//!             180 / 183 (early media)
//!   ┌──────┐ ───────────────────────► ┌──────────┐  180 ⇄ 183  ┌──────────┐
//!   │ Down │                          │ Ringing  │ ◄─────────► │ Progress │
//!   └──────┘ ─── 200 (answer) ──┐     └──────────┘             └──────────┘
//!      │                        ▼          │ 200                    │ 200
//!      │                     ┌────┐ ◄──────┘                        │
//!      │                     │ Up │ ◄───────────────────────────────┘
//!      │                     └────┘
//!      │  BYE / CANCEL / failure / timeout (from every state)
//!      └──────────────────────► Hangup  (terminal; cause + end time recorded)
//! ```
//! `Down → Hangup`, `Ringing → Hangup`, `Progress → Hangup` and `Up → Hangup` are all
//! valid; nothing leaves `Hangup`; a transition to the current state is refused (the
//! owner checks `state` first when a repeated 180 is harmless).
//!
//! Depends on `switch::{ids, cause, errors, stats}` only.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::switch::cause::{HangupCause, HangupSide};
use crate::switch::errors::SwitchError;
use crate::switch::ids::{next_ordinal, BridgeId, ChannelId, LinkedId};
pub use crate::switch::stats::{ChannelMediaStats, MediaDirectionStats};

/// A point in time, both wall clock (for records, millisecond precision) and monotonic
/// (for durations that must not jump with the clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Wall-clock time, truncated to whole milliseconds.
    pub wall: SystemTime,
    /// Monotonic time (tokio's clock, so paused-time tests control it).
    pub mono: Instant,
}

impl Now {
    /// The current time.
    pub fn current() -> Self {
        Self::at(SystemTime::now(), Instant::now())
    }

    /// An explicit time (tests, replay); `wall` is truncated to milliseconds.
    pub fn at(wall: SystemTime, mono: Instant) -> Self {
        Self {
            wall: truncate_ms(wall),
            mono,
        }
    }
}

/// `t` truncated to whole milliseconds since the Unix epoch (times before it are kept).
pub fn truncate_ms(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_millis(d.as_millis() as u64),
        Err(_) => t,
    }
}

/// Direction of a channel seen from the switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The far end called us (the caller's leg, `direction=inbound`).
    Inbound,
    /// We called the far end (a dial attempt, `direction=outbound`).
    Outbound,
}

impl Direction {
    /// `inbound` / `outbound`, as in leg-mode CDRs.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The channel states; see the module diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Created, nothing heard yet (inbound: INVITE received; outbound: INVITE sent).
    Down,
    /// Alerting (180).
    Ringing,
    /// Session progress / early media (183).
    Progress,
    /// Answered (200/ACK).
    Up,
    /// Ended (terminal).
    Hangup,
}

impl ChannelState {
    /// Upper-case name (`DOWN`, `RINGING`, `PROGRESS`, `UP`, `HANGUP`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Down => "DOWN",
            ChannelState::Ringing => "RINGING",
            ChannelState::Progress => "PROGRESS",
            ChannelState::Up => "UP",
            ChannelState::Hangup => "HANGUP",
        }
    }

    /// Whether `self → to` is an edge of the state machine.
    pub fn can_transition(self, to: ChannelState) -> bool {
        use ChannelState::*;
        matches!(
            (self, to),
            (Down, Ringing | Progress | Up | Hangup)
                | (Ringing, Progress | Up | Hangup)
                | (Progress, Ringing | Up | Hangup)
                | (Up, Hangup)
        )
    }
}

impl fmt::Display for ChannelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What started the call (leg-mode `call_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CallSource {
    /// A call routed by the dialplan (or the built-in routing).
    #[default]
    Dialplan,
    /// A call delivered by a queue to an agent.
    Acd,
    /// A call placed by the auto-dialer.
    QueueDialer,
    /// A call originated through the API.
    Api,
}

impl CallSource {
    /// `dialplan`, `acd`, `queuedialer`, `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallSource::Dialplan => "dialplan",
            CallSource::Acd => "acd",
            CallSource::QueueDialer => "queuedialer",
            CallSource::Api => "api",
        }
    }
}

/// Asterisk AMA flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AmaFlags {
    /// Do not write a record.
    Omit,
    /// Billing record.
    Billing,
    /// Documentation record (the default).
    #[default]
    Documentation,
}

impl AmaFlags {
    /// `OMIT`, `BILLING`, `DOCUMENTATION`.
    pub fn as_str(self) -> &'static str {
        match self {
            AmaFlags::Omit => "OMIT",
            AmaFlags::Billing => "BILLING",
            AmaFlags::Documentation => "DOCUMENTATION",
        }
    }

    /// Parses the names above, case-insensitively.
    pub fn parse(text: &str) -> Option<AmaFlags> {
        [AmaFlags::Omit, AmaFlags::Billing, AmaFlags::Documentation]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text))
    }
}

/// Who a channel is billed to and what produced it: the leg-mode fields of mod_cti
/// (`account`, `source_name`, `source_number`, `dial_number`, `cti_line_group_name`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Attribution {
    /// The extension of this leg, or the gateway's name for a leg over a gateway.
    pub account: String,
    /// The extension, queue or campaign the call comes from.
    pub source_name: String,
    /// The original caller's number (queue calls).
    pub source_number: String,
    /// The number or extension dialed for this call.
    pub dial_number: String,
    /// The line group (gateway) used.
    pub line_group: String,
}

/// A party's number and display name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PartyId {
    /// The number (SIP URI user part or `tel:` number).
    pub number: String,
    /// The display name, if any.
    pub name: Option<String>,
}

/// Everything known about a channel at one moment. Published in events behind an `Arc`.
#[derive(Clone, Debug)]
pub struct ChannelSnapshot {
    /// The channel's uniqueid.
    pub id: ChannelId,
    /// Process-wide creation ordinal (smaller = created earlier; Party A selection).
    pub ordinal: u64,
    /// Channel name as in Asterisk's `channel`/`dstchannel` (e.g. `SIP/1000-0000002a`).
    pub name: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Current state.
    pub state: ChannelState,
    /// The SIP Call-ID of this leg's dialog, for correlation with logs.
    pub sip_call_id: Option<String>,
    /// Calling party.
    pub caller: PartyId,
    /// Connected / called party as known on this leg (`callee_id_number`).
    pub callee: PartyId,
    /// The dialed number (extension) this leg was created for.
    pub exten: String,
    /// Dialplan context.
    pub context: String,
    /// Channel variables.
    pub variables: Arc<HashMap<String, String>>,
    /// Account code.
    pub accountcode: String,
    /// AMA flags.
    pub amaflags: AmaFlags,
    /// User field.
    pub userfield: String,
    /// The conversation's linkedid.
    pub linkedid: LinkedId,
    /// What started the call.
    pub call_source: CallSource,
    /// Account, source and line group of the leg.
    pub attribution: Attribution,
    /// The application the channel runs or last ran (`Dial`, later dialplan apps).
    pub lastapp: String,
    /// That application's arguments.
    pub lastdata: String,
    /// For an outbound leg: the channel that dialed it (leg-mode `originator`).
    pub originator: Option<ChannelId>,
    /// The channel currently bridged with this one.
    pub peer: Option<ChannelId>,
    /// The last channel this one was bridged with (leg-mode `bridge_uuid`; kept after the
    /// bridge breaks).
    pub last_peer: Option<ChannelId>,
    /// The bridge the channel is in.
    pub bridge: Option<BridgeId>,
    /// Whether the far end put this leg on hold.
    pub on_hold: bool,
    /// Creation time (ms precision).
    pub created: SystemTime,
    /// Answer time.
    pub answered: Option<SystemTime>,
    /// End time.
    pub ended: Option<SystemTime>,
    /// Monotonic creation time.
    pub created_mono: Instant,
    /// Monotonic answer time.
    pub answered_mono: Option<Instant>,
    /// Monotonic end time.
    pub ended_mono: Option<Instant>,
    /// Why it ended (set on entering `Hangup`).
    pub hangup: Option<HangupCause>,
    /// Negotiated audio codec name (e.g. `PCMU`).
    pub codec: Option<String>,
    /// RTP statistics (latest copy from the media layer).
    pub media: ChannelMediaStats,
}

impl ChannelSnapshot {
    /// Time from creation to end (or to `now` while alive), from the monotonic clock.
    pub fn duration(&self, now: Instant) -> Duration {
        self.ended_mono
            .unwrap_or(now)
            .saturating_duration_since(self.created_mono)
    }

    /// Time from answer to end (or `now`); zero when never answered.
    pub fn billsec(&self, now: Instant) -> Duration {
        match self.answered_mono {
            Some(a) => self.ended_mono.unwrap_or(now).saturating_duration_since(a),
            None => Duration::ZERO,
        }
    }

    /// A channel variable.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }
}

/// What [`Channel::transition`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelStateChange {
    /// State before.
    pub from: ChannelState,
    /// State after.
    pub to: ChannelState,
    /// When.
    pub at: Now,
}

/// What [`Channel::set_linkedid`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIdChange {
    /// The channel.
    pub channel: ChannelId,
    /// Its linkedid before.
    pub old: LinkedId,
    /// Its linkedid now.
    pub new: LinkedId,
}

/// What a new channel is created with.
#[derive(Clone, Debug)]
pub struct ChannelSpec {
    /// Channel name (see [`ChannelSnapshot::name`]).
    pub name: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Calling party.
    pub caller: PartyId,
    /// Dialed number.
    pub exten: String,
    /// Dialplan context.
    pub context: String,
    /// What started the call.
    pub call_source: CallSource,
    /// Account, source and line group of the leg.
    pub attribution: Attribution,
    /// For a dial attempt: the dialing channel; the new channel inherits its linkedid,
    /// accountcode and amaflags (Asterisk behaviour).
    pub originator: Option<Arc<ChannelSnapshot>>,
    /// SIP Call-ID of the leg.
    pub sip_call_id: Option<String>,
}

/// A channel owned by one actor; see the module docs.
#[derive(Debug)]
pub struct Channel {
    data: Arc<ChannelSnapshot>,
}

impl std::ops::Deref for Channel {
    type Target = ChannelSnapshot;
    fn deref(&self) -> &ChannelSnapshot {
        &self.data
    }
}

impl Channel {
    /// A new channel in state `Down`. Its linkedid is its own id, unless it is a dial
    /// attempt (`spec.originator`), which inherits the dialing channel's.
    pub fn new(spec: ChannelSpec, now: Now) -> Channel {
        let id = ChannelId::new();
        let ordinal = next_ordinal();
        let (linkedid, accountcode, amaflags) = match &spec.originator {
            Some(o) => (o.linkedid.clone(), o.accountcode.clone(), o.amaflags),
            None => (
                LinkedId::new(id.clone(), ordinal),
                String::new(),
                AmaFlags::default(),
            ),
        };
        let data = ChannelSnapshot {
            id,
            ordinal,
            name: spec.name,
            direction: spec.direction,
            state: ChannelState::Down,
            sip_call_id: spec.sip_call_id,
            caller: spec.caller,
            callee: PartyId::default(),
            exten: spec.exten,
            context: spec.context,
            variables: Arc::new(HashMap::new()),
            accountcode,
            amaflags,
            userfield: String::new(),
            linkedid,
            call_source: spec.call_source,
            attribution: spec.attribution,
            lastapp: String::new(),
            lastdata: String::new(),
            originator: spec.originator.map(|o| o.id.clone()),
            peer: None,
            last_peer: None,
            bridge: None,
            on_hold: false,
            created: now.wall,
            answered: None,
            ended: None,
            created_mono: now.mono,
            answered_mono: None,
            ended_mono: None,
            hangup: None,
            codec: None,
            media: ChannelMediaStats::default(),
        };
        Channel {
            data: Arc::new(data),
        }
    }

    /// The current data, to publish (an `Arc` clone).
    pub fn snapshot(&self) -> Arc<ChannelSnapshot> {
        Arc::clone(&self.data)
    }

    fn data_mut(&mut self) -> &mut ChannelSnapshot {
        Arc::make_mut(&mut self.data)
    }

    /// Moves to `to`, recording the answer time on `Up` and the end time on `Hangup`
    /// (with cause normal clearing by the switch unless one was set with [`Self::hangup`]).
    pub fn transition(
        &mut self,
        to: ChannelState,
        now: Now,
    ) -> Result<ChannelStateChange, SwitchError> {
        let from = self.state;
        if !from.can_transition(to) {
            return Err(SwitchError::InvalidTransition {
                channel: self.id.clone(),
                from,
                to,
            });
        }
        let d = self.data_mut();
        d.state = to;
        match to {
            ChannelState::Up => {
                d.answered = Some(now.wall);
                d.answered_mono = Some(now.mono);
            }
            ChannelState::Hangup => {
                d.ended = Some(now.wall);
                d.ended_mono = Some(now.mono);
                d.hangup
                    .get_or_insert(HangupCause::normal(HangupSide::Switch));
                d.peer = None;
                d.bridge = None;
            }
            _ => {}
        }
        Ok(ChannelStateChange { from, to, at: now })
    }

    /// Hangs up with `cause` (the first cause recorded wins if called twice).
    pub fn hangup(
        &mut self,
        cause: HangupCause,
        now: Now,
    ) -> Result<ChannelStateChange, SwitchError> {
        if self.state == ChannelState::Hangup {
            return Err(SwitchError::InvalidTransition {
                channel: self.id.clone(),
                from: ChannelState::Hangup,
                to: ChannelState::Hangup,
            });
        }
        self.data_mut().hangup = Some(cause);
        self.transition(ChannelState::Hangup, now)
    }

    /// Sets a channel variable; returns the previous value.
    pub fn set_var(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        Arc::make_mut(&mut self.data_mut().variables).insert(name.into(), value.into())
    }

    /// Removes a channel variable; returns its value.
    pub fn unset_var(&mut self, name: &str) -> Option<String> {
        if !self.variables.contains_key(name) {
            return None;
        }
        Arc::make_mut(&mut self.data_mut().variables).remove(name)
    }

    /// Replaces the linkedid; `None` when it is already `new`.
    pub fn set_linkedid(&mut self, new: LinkedId) -> Option<LinkedIdChange> {
        if self.linkedid == new {
            return None;
        }
        let channel = self.id.clone();
        let old = std::mem::replace(&mut self.data_mut().linkedid, new.clone());
        Some(LinkedIdChange { channel, old, new })
    }

    /// Records the application the channel runs now (`lastapp`/`lastdata`).
    pub fn set_app(&mut self, app: impl Into<String>, data: impl Into<String>) {
        let d = self.data_mut();
        d.lastapp = app.into();
        d.lastdata = data.into();
    }

    /// Sets the account code.
    pub fn set_accountcode(&mut self, value: impl Into<String>) {
        self.data_mut().accountcode = value.into();
    }

    /// Sets the AMA flags.
    pub fn set_amaflags(&mut self, value: AmaFlags) {
        self.data_mut().amaflags = value;
    }

    /// Sets the user field.
    pub fn set_userfield(&mut self, value: impl Into<String>) {
        self.data_mut().userfield = value.into();
    }

    /// Sets the connected/called party seen on this leg.
    pub fn set_callee(&mut self, party: PartyId) {
        self.data_mut().callee = party;
    }

    /// Sets the caller id.
    pub fn set_caller(&mut self, party: PartyId) {
        self.data_mut().caller = party;
    }

    /// Sets the dialplan context and extension (a dialplan `Goto`).
    pub fn set_location(&mut self, context: impl Into<String>, exten: impl Into<String>) {
        let d = self.data_mut();
        d.context = context.into();
        d.exten = exten.into();
    }

    /// Sets the SIP Call-ID (known only once an outbound INVITE is built).
    pub fn set_sip_call_id(&mut self, call_id: impl Into<String>) {
        self.data_mut().sip_call_id = Some(call_id.into());
    }

    /// Sets the negotiated codec.
    pub fn set_codec(&mut self, codec: impl Into<String>) {
        self.data_mut().codec = Some(codec.into());
    }

    /// Stores the latest media statistics.
    pub fn set_media_stats(&mut self, stats: ChannelMediaStats) {
        self.data_mut().media = stats;
    }

    /// Records hold/unhold; returns whether it changed.
    pub fn set_hold(&mut self, on_hold: bool) -> bool {
        if self.on_hold == on_hold {
            return false;
        }
        self.data_mut().on_hold = on_hold;
        true
    }

    /// Records entering `bridge` with `peer` (which also becomes the last peer).
    pub(crate) fn set_bridged(&mut self, bridge: BridgeId, peer: Option<ChannelId>) {
        let d = self.data_mut();
        d.bridge = Some(bridge);
        if peer.is_some() {
            d.last_peer.clone_from(&peer);
        }
        d.peer = peer;
    }

    /// Records leaving the bridge (the last peer is kept).
    pub(crate) fn clear_bridged(&mut self) {
        let d = self.data_mut();
        d.bridge = None;
        d.peer = None;
    }
}

#[cfg(test)]
#[path = "channel_tests.rs"]
mod tests;
