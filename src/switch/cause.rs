//! Hang-up causes: Q.850 cause values with Asterisk-compatible names, the SIP status that
//! went with them, and which side hung up; the two RFC 3398 mapping tables between SIP
//! status codes and Q.850.
//!
//! Names: `name()` gives Asterisk's `HANGUPCAUSE` text (`causes.h` / `ast_cause2str`) where
//! Asterisk has one; FreeSWITCH's where only FreeSWITCH has one (47, 63, 79, 25); the
//! upper-cased Q.850 description otherwise (55, 70, 87). Beyond Q.850 (values ≥ 128, never
//! sent in a `Reason: Q.850` header) the switch uses FreeSWITCH's private causes and
//! values: `ORIGINATOR_CANCEL` = 487 (caller cancelled before answer), `MEDIA_TIMEOUT` =
//! 604 (no RTP after answer), `CRASH` = 500 and `SYSTEM_SHUTDOWN` = 501 (calls closed on
//! restart/shutdown). Asterisk itself reports a cancelled call as `NORMAL_CLEARING` and has
//! no media-timeout cause; we keep the distinction because CDRs need it.
//!
//! Depends on nothing else in the crate except [`crate::switch::channel::Direction`].

use std::fmt;

use crate::switch::channel::Direction;

macro_rules! q850_table {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal; )*) => {
        /// A hang-up cause value: ITU-T Q.850 (0–127) plus the switch's private causes (≥ 128).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Q850 {
            $( $(#[$doc])* $variant, )*
            /// A Q.850 value this table does not name.
            Other(u16),
        }

        impl Q850 {
            /// Every named cause (for tables and tests).
            pub const ALL: &'static [Q850] = &[$(Q850::$variant,)*];

            /// The numeric cause value.
            pub fn code(self) -> u16 {
                match self {
                    $( Q850::$variant => $code, )*
                    Q850::Other(c) => c,
                }
            }

            /// The cause for a numeric value (unnamed values become [`Q850::Other`]).
            pub fn from_code(code: u16) -> Q850 {
                match code {
                    $( $code => Q850::$variant, )*
                    c => Q850::Other(c),
                }
            }

            /// Asterisk-compatible name (`NORMAL_CLEARING`, `USER_BUSY`, ...); `UNKNOWN`
            /// for unnamed values.
            pub fn name(self) -> &'static str {
                match self {
                    $( Q850::$variant => $name, )*
                    Q850::Other(_) => "UNKNOWN",
                }
            }

            /// The cause for an Asterisk-style name (case-insensitive), e.g. from
            /// `Hangup(USER_BUSY)` in the dialplan.
            pub fn from_name(name: &str) -> Option<Q850> {
                $( if name.eq_ignore_ascii_case($name) { return Some(Q850::$variant); } )*
                None
            }
        }
    };
}

q850_table! {
    /// 1: unallocated (unassigned) number.
    Unallocated = 1, "UNALLOCATED";
    /// 2: no route to specified transit network.
    NoRouteTransitNet = 2, "NO_ROUTE_TRANSIT_NET";
    /// 3: no route to destination.
    NoRouteDestination = 3, "NO_ROUTE_DESTINATION";
    /// 16: normal call clearing.
    NormalClearing = 16, "NORMAL_CLEARING";
    /// 17: user busy.
    UserBusy = 17, "USER_BUSY";
    /// 18: no user responding.
    NoUserResponse = 18, "NO_USER_RESPONSE";
    /// 19: no answer from user (user alerted).
    NoAnswer = 19, "NO_ANSWER";
    /// 20: subscriber absent (Asterisk's name for an unregistered endpoint too).
    SubscriberAbsent = 20, "SUBSCRIBER_ABSENT";
    /// 21: call rejected.
    CallRejected = 21, "CALL_REJECTED";
    /// 22: number changed.
    NumberChanged = 22, "NUMBER_CHANGED";
    /// 23: redirection to new destination.
    RedirectedToNewDestination = 23, "REDIRECTED_TO_NEW_DESTINATION";
    /// 25: exchange routing error (SIP loop / too many hops).
    ExchangeRoutingError = 25, "EXCHANGE_ROUTING_ERROR";
    /// 26: non-selected user clearing (answered elsewhere: the losing forks).
    AnsweredElsewhere = 26, "ANSWERED_ELSEWHERE";
    /// 27: destination out of order.
    DestinationOutOfOrder = 27, "DESTINATION_OUT_OF_ORDER";
    /// 28: invalid number format (address incomplete).
    InvalidNumberFormat = 28, "INVALID_NUMBER_FORMAT";
    /// 29: facility rejected.
    FacilityRejected = 29, "FACILITY_REJECTED";
    /// 31: normal, unspecified.
    NormalUnspecified = 31, "NORMAL_UNSPECIFIED";
    /// 34: no circuit/channel available (Asterisk's `CONGESTION`).
    NormalCircuitCongestion = 34, "NORMAL_CIRCUIT_CONGESTION";
    /// 38: network out of order.
    NetworkOutOfOrder = 38, "NETWORK_OUT_OF_ORDER";
    /// 41: temporary failure.
    NormalTemporaryFailure = 41, "NORMAL_TEMPORARY_FAILURE";
    /// 42: switching equipment congestion.
    SwitchCongestion = 42, "SWITCH_CONGESTION";
    /// 44: requested circuit/channel not available.
    RequestedChanUnavail = 44, "REQUESTED_CHAN_UNAVAIL";
    /// 47: resource unavailable, unspecified (FreeSWITCH has no name; ours).
    ResourceUnavailable = 47, "RESOURCE_UNAVAILABLE";
    /// 55: incoming calls barred within CUG.
    IncomingCallsBarredWithinCug = 55, "INCOMING_CALLS_BARRED_WITHIN_CUG";
    /// 57: bearer capability not authorized.
    BearerCapabilityNotAuth = 57, "BEARERCAPABILITY_NOTAUTH";
    /// 58: bearer capability not presently available.
    BearerCapabilityNotAvail = 58, "BEARERCAPABILITY_NOTAVAIL";
    /// 63: service or option not available (FreeSWITCH name).
    ServiceUnavailable = 63, "SERVICE_UNAVAILABLE";
    /// 65: bearer capability not implemented.
    BearerCapabilityNotImpl = 65, "BEARERCAPABILITY_NOTIMPL";
    /// 70: only restricted digital information bearer capability is available.
    OnlyRestrictedDigitalAvailable = 70, "ONLY_RESTRICTED_DIGITAL_AVAILABLE";
    /// 79: service or option not implemented (FreeSWITCH name).
    ServiceNotImplemented = 79, "SERVICE_NOT_IMPLEMENTED";
    /// 87: user not member of CUG.
    UserNotMemberOfCug = 87, "USER_NOT_MEMBER_OF_CUG";
    /// 88: incompatible destination (also: no common codec).
    IncompatibleDestination = 88, "INCOMPATIBLE_DESTINATION";
    /// 102: recovery on timer expiry.
    RecoveryOnTimerExpire = 102, "RECOVERY_ON_TIMER_EXPIRE";
    /// 111: protocol error, unspecified.
    ProtocolError = 111, "PROTOCOL_ERROR";
    /// 127: interworking, unspecified.
    Interworking = 127, "INTERWORKING";
    /// 487 (private, FreeSWITCH value): the caller cancelled before answer.
    OriginatorCancel = 487, "ORIGINATOR_CANCEL";
    /// 500 (private, FreeSWITCH value): the switch died with the call up (closed on restart).
    Crash = 500, "CRASH";
    /// 501 (private, FreeSWITCH value): the switch shut down with the call up.
    SystemShutdown = 501, "SYSTEM_SHUTDOWN";
    /// 604 (private, FreeSWITCH value): no media received for the configured time.
    MediaTimeout = 604, "MEDIA_TIMEOUT";
}

impl Q850 {
    /// Whether this is a real Q.850 value (0–127) that may go in a `Reason: Q.850` header
    /// (RFC 3326 §2).
    pub fn is_standard(self) -> bool {
        self.code() <= 127
    }

    /// The SIP final status RFC 3398 §7.2.4.1 gives for this cause, `None` where the table
    /// has no entry (16 normal clearing: a BYE or CANCEL, not a response) or for values it
    /// does not list. 22 maps to 410 (the "without diagnostic" row). The private causes map
    /// to what they mean in SIP: 487, 500, 503 (shutdown), 408 (media timeout).
    pub fn to_sip_status(self) -> Option<u16> {
        use Q850::*;
        Some(match self {
            Unallocated | NoRouteTransitNet | NoRouteDestination | AnsweredElsewhere => 404,
            UserBusy => 486,
            NoUserResponse => 408,
            NoAnswer | SubscriberAbsent | NormalUnspecified => 480,
            // RFC 3398 §7.2.4.1: 21 → 403 (+: 603 when the cause location is the user).
            CallRejected
            | IncomingCallsBarredWithinCug
            | BearerCapabilityNotAuth
            | UserNotMemberOfCug => 403,
            NumberChanged | RedirectedToNewDestination => 410,
            DestinationOutOfOrder => 502,
            InvalidNumberFormat => 484,
            // The RFC's table prints "510 Not implemented"; 510 is not a SIP status, the
            // text (and every implementation) means 501.
            FacilityRejected | ServiceNotImplemented => 501,
            NormalCircuitCongestion
            | NetworkOutOfOrder
            | NormalTemporaryFailure
            | SwitchCongestion
            | ResourceUnavailable
            | BearerCapabilityNotAvail
            | IncompatibleDestination => 503,
            BearerCapabilityNotImpl | OnlyRestrictedDigitalAvailable => 488,
            RecoveryOnTimerExpire => 504,
            ProtocolError | Interworking => 500,
            OriginatorCancel => 487,
            Crash => 500,
            SystemShutdown => 503,
            MediaTimeout => 408,
            NormalClearing | ExchangeRoutingError | RequestedChanUnavail | ServiceUnavailable
            | Other(_) => return None,
        })
    }

    /// The status to reject an INVITE with for this cause: the RFC 3398 §7.2.4.1 entry, or
    /// 480 where the table has none (FreeSWITCH's choice, also for normal clearing before
    /// answer), except 25 → 483 and 44/63 → 503.
    pub fn rejection_status(self) -> u16 {
        match self {
            Q850::ExchangeRoutingError => 483,
            Q850::RequestedChanUnavail | Q850::ServiceUnavailable => 503,
            other => other.to_sip_status().unwrap_or(480),
        }
    }

    /// The cause for a SIP final status, RFC 3398 §8.2.6.1. Beyond the table: 2xx →
    /// normal clearing; 487 → `ORIGINATOR_CANCEL`; 488 and 606 (the RFC defers to the
    /// Warning header) → 88 incompatible destination; any other 3xx/4xx/6xx → 127
    /// interworking and other 5xx → 34 congestion (Asterisk's `hangup_sip2cause` defaults).
    pub fn from_sip_status(status: u16) -> Q850 {
        use Q850::*;
        match status {
            200..=299 => NormalClearing,
            400 | 481 | 500 | 503 => NormalTemporaryFailure,
            401 | 402 | 403 | 407 | 603 => CallRejected,
            404 | 485 | 604 => Unallocated,
            405 => ServiceUnavailable,
            406 | 415 | 501 => ServiceNotImplemented,
            408 | 504 => RecoveryOnTimerExpire,
            410 => NumberChanged,
            413 | 414 | 416 | 420 | 421 | 423 | 505 | 513 => Interworking,
            480 => NoUserResponse,
            482 | 483 => ExchangeRoutingError,
            484 => InvalidNumberFormat,
            486 | 600 => UserBusy,
            487 => OriginatorCancel,
            488 | 606 => IncompatibleDestination,
            502 => NetworkOutOfOrder,
            501..=599 => NormalCircuitCongestion,
            _ => Interworking,
        }
    }
}

impl fmt::Display for Q850 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which party ended the call, seen from the call (not from one leg).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HangupSide {
    /// The calling party (the inbound leg's far end): BYE or CANCEL from it.
    Caller,
    /// The called party (an outbound leg's far end): BYE or a final failure response.
    Callee,
    /// The switch itself: dialplan `Hangup()`, ring timeout, shutdown, admin request.
    Switch,
    /// The device/transport under a leg failed: transport error, timer B/F expiry, media
    /// timeout.
    Device,
}

/// The CTI platform's `endtype` (seed 000): how one channel ended, seen from that channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndType {
    /// 0: not ended / undefined.
    Undefined = 0,
    /// 1: local hang-up (the switch tore this channel down).
    Local = 1,
    /// 2: remote hang-up (this channel's own far end hung up).
    Remote = 2,
    /// 3: device hang-up (transport/device failure).
    Device = 3,
}

impl EndType {
    /// The numeric value written in the CTI layout.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl HangupSide {
    /// The `endtype` for a channel of `direction`: its own far end hanging up is remote
    /// (the caller for an inbound channel, the callee for an outbound one); the other
    /// party's hang-up reaches this channel through the switch, so it is local, as is the
    /// switch's own; a device failure is device.
    pub fn end_type(self, direction: Direction) -> EndType {
        match (self, direction) {
            (HangupSide::Device, _) => EndType::Device,
            (HangupSide::Caller, Direction::Inbound)
            | (HangupSide::Callee, Direction::Outbound) => EndType::Remote,
            _ => EndType::Local,
        }
    }

    /// Lower-case text for logs and CDR columns (`caller`, `callee`, `switch`, `device`).
    pub fn as_str(self) -> &'static str {
        match self {
            HangupSide::Caller => "caller",
            HangupSide::Callee => "callee",
            HangupSide::Switch => "switch",
            HangupSide::Device => "device",
        }
    }
}

/// Why and by whom a channel was hung up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HangupCause {
    /// The cause value.
    pub q850: Q850,
    /// The SIP status involved, when there was one (a final failure response received or
    /// sent); `None` for a BYE.
    pub sip_status: Option<u16>,
    /// Who hung up.
    pub side: HangupSide,
}

impl HangupCause {
    /// A cause with no SIP status.
    pub fn new(q850: Q850, side: HangupSide) -> Self {
        Self {
            q850,
            sip_status: None,
            side,
        }
    }

    /// Normal clearing (a BYE) by `side`.
    pub fn normal(side: HangupSide) -> Self {
        Self::new(Q850::NormalClearing, side)
    }

    /// A final failure response `status` received from (or sent for) `side`; the cause
    /// follows RFC 3398 §8.2.6.1.
    pub fn from_sip(status: u16, side: HangupSide) -> Self {
        Self {
            q850: Q850::from_sip_status(status),
            sip_status: Some(status),
            side,
        }
    }

    /// A cause decided by the switch, carrying the status it answers with (RFC 3398
    /// §7.2.4.1 via [`Q850::rejection_status`]).
    pub fn from_q850_with_status(q850: Q850, side: HangupSide) -> Self {
        Self {
            q850,
            sip_status: Some(q850.rejection_status()),
            side,
        }
    }
}

impl fmt::Display for HangupCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({}) by {}",
            self.q850.name(),
            self.q850.code(),
            self.side.as_str()
        )?;
        if let Some(s) = self.sip_status {
            write!(f, " sip={s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "cause_tests.rs"]
mod tests;
