//! The typed events the switch publishes: one [`EventKind`] enum inside an [`Event`]
//! envelope carrying a global sequence number, a timestamp, the channel and that
//! channel's snapshot at the moment of the fact. Published on the [`crate::switch::bus`]
//! by the actor that owns the channel, so events of one channel are in order.
//!
//! What consumers can rely on (CDR, CEL, ACD, web):
//! - `Event::snapshot` is the channel *after* the fact (state, times, linkedid, cause,
//!   accountcode/amaflags/userfield, codec, RTP stats, peer and last peer).
//! - A channel's life is `ChannelCreated`, then any of the middle events, then `Hangup`
//!   (snapshot has cause and end time, final RTP stats), then `ChannelDestroyed` (last).
//! - Dial attempts: `DialBegin` and `DialEnd` are published on the *caller's* channel
//!   (`Event::channel`), the dialed channel's snapshot in the variant; one pair per attempt.
//! - `BridgeEnter`/`BridgeLeave` are published once per member channel.
//! - Later issues add variants (transfers, parking, application start/end, queue events);
//!   consumers should ignore kinds they do not know (`_ =>` arms).
//!
//! Depends on `switch::{ids, cause, channel}`.

use std::sync::Arc;
use std::time::SystemTime;

use crate::switch::cause::{HangupCause, Q850};
use crate::switch::channel::{ChannelSnapshot, ChannelState, ChannelStateChange, LinkedIdChange};
use crate::switch::ids::{BridgeId, ChannelId, LinkedId};

/// The outcome of one dial attempt (Asterisk's `DIALSTATUS` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialStatus {
    /// The callee answered.
    Answer,
    /// The callee was busy (486/600).
    Busy,
    /// Nobody answered (ring timeout, 480/408).
    NoAnswer,
    /// The caller gave up (CANCEL), or another fork answered first.
    Cancel,
    /// Congestion (503, no circuit).
    Congestion,
    /// The channel could not be reached (unknown, unregistered, rejected, failure).
    ChanUnavail,
}

impl DialStatus {
    /// `ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, `CONGESTION`, `CHANUNAVAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            DialStatus::Answer => "ANSWER",
            DialStatus::Busy => "BUSY",
            DialStatus::NoAnswer => "NOANSWER",
            DialStatus::Cancel => "CANCEL",
            DialStatus::Congestion => "CONGESTION",
            DialStatus::ChanUnavail => "CHANUNAVAIL",
        }
    }

    /// The status of a dial attempt that ended unanswered with `cause` (Asterisk
    /// `app_dial` semantics: busy → BUSY, no answer/timer → NOANSWER, cancel or answered
    /// elsewhere → CANCEL, circuit/resource shortage → CONGESTION, anything else →
    /// CHANUNAVAIL).
    pub fn from_q850(cause: Q850) -> DialStatus {
        match cause {
            Q850::UserBusy => DialStatus::Busy,
            Q850::NoAnswer | Q850::NoUserResponse | Q850::RecoveryOnTimerExpire => {
                DialStatus::NoAnswer
            }
            Q850::OriginatorCancel | Q850::AnsweredElsewhere => DialStatus::Cancel,
            Q850::NormalCircuitCongestion
            | Q850::SwitchCongestion
            | Q850::NormalTemporaryFailure
            | Q850::ResourceUnavailable => DialStatus::Congestion,
            _ => DialStatus::ChanUnavail,
        }
    }
}

/// What happened. See the module docs for ordering guarantees.
#[derive(Clone, Debug)]
pub enum EventKind {
    /// A channel was created (state `Down`).
    ChannelCreated,
    /// The channel changed state (`snapshot.state == new`).
    ChannelState {
        /// State before.
        old: ChannelState,
        /// State after.
        new: ChannelState,
    },
    /// The event's channel (the caller) started a dial attempt to `callee`.
    DialBegin {
        /// The dialed channel, as created.
        callee: Arc<ChannelSnapshot>,
        /// What was dialed (e.g. `SIP/1001`, a URI or a number).
        dialstring: String,
    },
    /// The dial attempt to `callee` ended.
    DialEnd {
        /// The dialed channel at that moment.
        callee: Arc<ChannelSnapshot>,
        /// How it ended.
        status: DialStatus,
    },
    /// The channel was answered (published right after its `ChannelState` to `Up`).
    Answered,
    /// The channel entered a bridge.
    BridgeEnter {
        /// The bridge.
        bridge: BridgeId,
        /// The other members at that moment.
        others: Vec<ChannelId>,
    },
    /// The channel left a bridge (hang-up or bridge broken).
    BridgeLeave {
        /// The bridge.
        bridge: BridgeId,
        /// The members remaining after it left.
        others: Vec<ChannelId>,
    },
    /// The channel's far end put the call on hold (re-INVITE `sendonly`/`inactive`).
    Hold,
    /// The channel's far end took the call off hold.
    Unhold,
    /// A channel variable was set (`value` `None`: unset).
    VarSet {
        /// Variable name.
        name: String,
        /// New value.
        value: Option<String>,
    },
    /// A DTMF digit was received from the channel's far end (RFC 4733 or SIP INFO).
    Dtmf {
        /// The digit (`0-9`, `*`, `#`, `A-D`).
        digit: char,
        /// How long it was pressed.
        duration_ms: u32,
    },
    /// The channel's linkedid was replaced (bridging with an older conversation).
    LinkedIdChanged {
        /// The linkedid before.
        old: LinkedId,
        /// The linkedid now (also in the snapshot).
        new: LinkedId,
    },
    /// The channel started an application (`Dial`, later dialplan applications);
    /// `snapshot.lastapp`/`lastdata` hold it.
    AppStart {
        /// Application name.
        app: String,
        /// Its arguments.
        data: String,
    },
    /// The application ended.
    AppEnd {
        /// Application name.
        app: String,
    },
    /// The channel hung up (snapshot has end time, final RTP stats and the cause).
    Hangup {
        /// The cause (same as `snapshot.hangup`).
        cause: HangupCause,
    },
    /// The switch forgot the channel; nothing more will be published for it.
    ChannelDestroyed,
}

impl EventKind {
    /// A short upper-case name for logs and CEL-like tables.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ChannelCreated => "CHANNEL_CREATED",
            EventKind::ChannelState { .. } => "CHANNEL_STATE",
            EventKind::DialBegin { .. } => "DIAL_BEGIN",
            EventKind::DialEnd { .. } => "DIAL_END",
            EventKind::Answered => "ANSWERED",
            EventKind::BridgeEnter { .. } => "BRIDGE_ENTER",
            EventKind::BridgeLeave { .. } => "BRIDGE_LEAVE",
            EventKind::Hold => "HOLD",
            EventKind::Unhold => "UNHOLD",
            EventKind::VarSet { .. } => "VAR_SET",
            EventKind::Dtmf { .. } => "DTMF",
            EventKind::LinkedIdChanged { .. } => "LINKEDID_CHANGED",
            EventKind::AppStart { .. } => "APP_START",
            EventKind::AppEnd { .. } => "APP_END",
            EventKind::Hangup { .. } => "HANGUP",
            EventKind::ChannelDestroyed => "CHANNEL_DESTROYED",
        }
    }
}

impl From<&ChannelStateChange> for EventKind {
    /// The `ChannelState` event for a transition.
    fn from(c: &ChannelStateChange) -> Self {
        EventKind::ChannelState {
            old: c.from,
            new: c.to,
        }
    }
}

impl From<&LinkedIdChange> for EventKind {
    /// The `LinkedIdChanged` event for a linkedid change.
    fn from(c: &LinkedIdChange) -> Self {
        EventKind::LinkedIdChanged {
            old: c.old.clone(),
            new: c.new.clone(),
        }
    }
}

/// One published fact.
#[derive(Clone, Debug)]
pub struct Event {
    /// Global sequence number: strictly increasing in publication order, the same order
    /// every consumer receives events in (gaps only where a lossy consumer dropped).
    pub seq: u64,
    /// When it was published (wall clock).
    pub at: SystemTime,
    /// The channel the fact is about.
    pub channel: ChannelId,
    /// That channel after the fact.
    pub snapshot: Arc<ChannelSnapshot>,
    /// What happened.
    pub kind: EventKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_status_from_cause() {
        let cases = [
            (Q850::UserBusy, DialStatus::Busy),
            (Q850::NoAnswer, DialStatus::NoAnswer),
            (Q850::NoUserResponse, DialStatus::NoAnswer),
            (Q850::OriginatorCancel, DialStatus::Cancel),
            (Q850::AnsweredElsewhere, DialStatus::Cancel),
            (Q850::NormalCircuitCongestion, DialStatus::Congestion),
            (Q850::NormalTemporaryFailure, DialStatus::Congestion),
            (Q850::Unallocated, DialStatus::ChanUnavail),
            (Q850::CallRejected, DialStatus::ChanUnavail),
        ];
        for (q, want) in cases {
            assert_eq!(DialStatus::from_q850(q), want, "{q}");
        }
        assert_eq!(DialStatus::ChanUnavail.as_str(), "CHANUNAVAIL");
        assert_eq!(DialStatus::NoAnswer.as_str(), "NOANSWER");
    }

    #[tokio::test]
    async fn changes_convert_to_events() {
        use crate::switch::channel::{CallSource, Channel, ChannelSpec, Direction, Now, PartyId};
        let mut c = Channel::new(
            ChannelSpec {
                name: "SIP/1000-1".into(),
                direction: Direction::Inbound,
                caller: PartyId::default(),
                exten: "1001".into(),
                context: "default".into(),
                call_source: CallSource::Dialplan,
                attribution: Default::default(),
                originator: None,
                sip_call_id: None,
            },
            Now::current(),
        );
        let change = c.transition(ChannelState::Ringing, Now::current()).unwrap();
        let kind = EventKind::from(&change);
        assert!(matches!(
            kind,
            EventKind::ChannelState {
                old: ChannelState::Down,
                new: ChannelState::Ringing
            }
        ));
        assert_eq!(kind.name(), "CHANNEL_STATE");
        let older = LinkedId::new(ChannelId::new(), 0);
        let change = c.set_linkedid(older.clone()).unwrap();
        let EventKind::LinkedIdChanged { new, .. } = EventKind::from(&change) else {
            panic!("kind")
        };
        assert_eq!(new, older);
    }
}
