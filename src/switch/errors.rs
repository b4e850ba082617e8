//! Errors of the switch core: [`SwitchError`] for misuse of the model (bad transitions,
//! unknown channels, bridge membership) and [`CallError`], the reason a call attempt
//! failed, which knows in one place the SIP status to answer with, the Q.850 cause to
//! record and the dial status (CONVENTIONS: "the switch's call error knows its SIP status
//! and Q.850 cause in one place").
//!
//! Depends on `switch::{ids, cause, channel, events}`.

use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::ChannelState;
use crate::switch::events::DialStatus;
use crate::switch::ids::{BridgeId, ChannelId};

/// Misuse of the channel/bridge model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// The state machine has no such edge.
    #[error("channel {channel}: invalid transition {from} -> {to}")]
    InvalidTransition {
        /// The channel.
        channel: ChannelId,
        /// Its state.
        from: ChannelState,
        /// The refused target.
        to: ChannelState,
    },
    /// No channel with this id (in a bridge or a registry).
    #[error("unknown channel {0}")]
    UnknownChannel(ChannelId),
    /// The channel is already a member of this bridge.
    #[error("channel {channel} is already in bridge {bridge}")]
    AlreadyInBridge {
        /// The channel.
        channel: ChannelId,
        /// The bridge.
        bridge: BridgeId,
    },
    /// The channel is not a member of this bridge.
    #[error("channel {channel} is not in bridge {bridge}")]
    NotInBridge {
        /// The channel.
        channel: ChannelId,
        /// The bridge.
        bridge: BridgeId,
    },
    /// A hung-up channel cannot join a bridge.
    #[error("channel {0} is hung up")]
    ChannelHungUp(ChannelId),
}

/// Why a call (or one dial attempt) failed. Each variant knows its SIP status
/// ([`CallError::sip_status`]), Q.850 cause ([`CallError::q850`]) and dial status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No such extension or number.
    #[error("no route to {target}")]
    NotFound {
        /// The dialed number.
        target: String,
    },
    /// The extension exists but has no registered contact.
    #[error("{target} is not registered")]
    NotRegistered {
        /// The dialed extension.
        target: String,
    },
    /// Every contact answered busy.
    #[error("busy")]
    Busy,
    /// Nobody answered within the ring timeout.
    #[error("no answer")]
    NoAnswer,
    /// The callee declined (603).
    #[error("declined")]
    Declined,
    /// The caller cancelled before answer.
    #[error("cancelled by the caller")]
    Cancelled,
    /// Max-Forwards reached zero (RFC 3261 §16.3 item 2).
    #[error("too many hops")]
    TooManyHops,
    /// The request looped back to us (RFC 3261 §16.3 item 4).
    #[error("loop detected")]
    LoopDetected,
    /// No resources (RTP ports, call limit).
    #[error("congestion: no resources")]
    Congestion,
    /// No common codec / unusable SDP.
    #[error("media not acceptable")]
    NotAcceptable,
    /// The far end did not answer the INVITE at all (timer B).
    #[error("no response from the far end")]
    Timeout,
    /// The transport to the far end failed.
    #[error("transport failure towards the far end")]
    TransportFailure,
    /// The far end rejected with a final status not covered above.
    #[error("rejected by the far end with {status}")]
    Rejected {
        /// The final status received.
        status: u16,
    },
    /// The switch is shutting down.
    #[error("shutting down")]
    Shutdown,
}

impl CallError {
    /// The error a final failure response `status` received on a dial attempt stands for.
    pub fn from_response(status: u16) -> CallError {
        match status {
            486 | 600 => CallError::Busy,
            603 => CallError::Declined,
            487 => CallError::Cancelled,
            488 | 606 => CallError::NotAcceptable,
            408 => CallError::Timeout,
            status => CallError::Rejected { status },
        }
    }

    /// The status to send to the caller.
    pub fn sip_status(&self) -> u16 {
        match self {
            CallError::NotFound { .. } => 404,
            CallError::NotRegistered { .. } => 480,
            CallError::Busy => 486,
            CallError::NoAnswer => 480,
            CallError::Declined => 603,
            CallError::Cancelled => 487,
            CallError::TooManyHops => 483,
            CallError::LoopDetected => 482,
            CallError::Congestion => 503,
            CallError::NotAcceptable => 488,
            CallError::Timeout => 408,
            CallError::TransportFailure => 503,
            CallError::Rejected { status } => *status,
            CallError::Shutdown => 503,
        }
    }

    /// The cause recorded on the channels.
    pub fn q850(&self) -> Q850 {
        match self {
            CallError::NotFound { .. } => Q850::Unallocated,
            CallError::NotRegistered { .. } => Q850::SubscriberAbsent,
            CallError::Busy => Q850::UserBusy,
            CallError::NoAnswer => Q850::NoAnswer,
            CallError::Declined => Q850::CallRejected,
            CallError::Cancelled => Q850::OriginatorCancel,
            CallError::TooManyHops | CallError::LoopDetected => Q850::ExchangeRoutingError,
            CallError::Congestion => Q850::NormalCircuitCongestion,
            CallError::NotAcceptable => Q850::IncompatibleDestination,
            CallError::Timeout => Q850::RecoveryOnTimerExpire,
            CallError::TransportFailure => Q850::DestinationOutOfOrder,
            CallError::Rejected { status } => Q850::from_sip_status(*status),
            CallError::Shutdown => Q850::SystemShutdown,
        }
    }

    /// The `DialEnd` status of a dial attempt that failed this way.
    pub fn dial_status(&self) -> DialStatus {
        DialStatus::from_q850(self.q850())
    }

    /// The hang-up cause to record, attributed to `side`.
    pub fn hangup_cause(&self, side: HangupSide) -> HangupCause {
        HangupCause {
            q850: self.q850(),
            sip_status: Some(self.sip_status()),
            side,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_errors_know_status_cause_and_dial_status() {
        let cases: &[(CallError, u16, Q850, DialStatus)] = &[
            (
                CallError::NotFound {
                    target: "1999".into(),
                },
                404,
                Q850::Unallocated,
                DialStatus::ChanUnavail,
            ),
            (
                CallError::NotRegistered {
                    target: "1001".into(),
                },
                480,
                Q850::SubscriberAbsent,
                DialStatus::ChanUnavail,
            ),
            (CallError::Busy, 486, Q850::UserBusy, DialStatus::Busy),
            (
                CallError::NoAnswer,
                480,
                Q850::NoAnswer,
                DialStatus::NoAnswer,
            ),
            (
                CallError::Declined,
                603,
                Q850::CallRejected,
                DialStatus::ChanUnavail,
            ),
            (
                CallError::Cancelled,
                487,
                Q850::OriginatorCancel,
                DialStatus::Cancel,
            ),
            (
                CallError::TooManyHops,
                483,
                Q850::ExchangeRoutingError,
                DialStatus::ChanUnavail,
            ),
            (
                CallError::Congestion,
                503,
                Q850::NormalCircuitCongestion,
                DialStatus::Congestion,
            ),
            (
                CallError::Timeout,
                408,
                Q850::RecoveryOnTimerExpire,
                DialStatus::NoAnswer,
            ),
            (
                CallError::Rejected { status: 503 },
                503,
                Q850::NormalTemporaryFailure,
                DialStatus::Congestion,
            ),
            (
                CallError::Rejected { status: 404 },
                404,
                Q850::Unallocated,
                DialStatus::ChanUnavail,
            ),
        ];
        for (err, status, q, dial) in cases {
            assert_eq!(err.sip_status(), *status, "{err}");
            assert_eq!(err.q850(), *q, "{err}");
            assert_eq!(err.dial_status(), *dial, "{err}");
        }
        let c = CallError::Busy.hangup_cause(HangupSide::Callee);
        assert_eq!(
            (c.q850, c.sip_status, c.side),
            (Q850::UserBusy, Some(486), HangupSide::Callee)
        );
    }

    #[test]
    fn responses_map_to_errors() {
        assert_eq!(CallError::from_response(486), CallError::Busy);
        assert_eq!(CallError::from_response(600), CallError::Busy);
        assert_eq!(CallError::from_response(603), CallError::Declined);
        assert_eq!(
            CallError::from_response(404),
            CallError::Rejected { status: 404 }
        );
        assert_eq!(CallError::from_response(404).sip_status(), 404);
    }
}
