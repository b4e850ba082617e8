//! The `Call` JSON of the live-call API (`GET /api/v1/calls`, the `calls/live` WebSocket):
//! one live call seen from its A (inbound) channel, with its B legs, built from the
//! channel snapshots the switch publishes.
//!
//! Depends on: `crate::switch::{channel, call}` (snapshot types, the trunk context name),
//! serde, utoipa.

use std::time::SystemTime;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::unix_ms;
use crate::switch::call::TRUNK_CONTEXT;
use crate::switch::channel::{ChannelSnapshot, ChannelState, PartyId};

/// A calling or called party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Party {
    /// The number (SIP URI user part), empty when unknown.
    pub number: String,
    /// The display name, if any.
    pub name: Option<String>,
}

impl From<&PartyId> for Party {
    fn from(p: &PartyId) -> Party {
        Party {
            number: p.number.clone(),
            name: p.name.clone(),
        }
    }
}

/// One B leg (a dial attempt) of a live call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Leg {
    /// The leg's channel uuid.
    pub id: String,
    /// Channel name (`SIP/1001-1a2b3c4d`).
    pub name: String,
    /// `down`, `ringing`, `early`, `up` or `ending` (see [`state_name`]).
    pub state: &'static str,
    /// Negotiated audio codec (`PCMU`), once known.
    pub codec: Option<String>,
}

/// A live call (the contract's `Call`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Call {
    /// The A (inbound) channel's uuid: the id `DELETE /api/v1/calls/{id}` takes.
    pub id: String,
    /// The conversation's linkedid (the key of its CDRs).
    pub linkedid: String,
    /// The calling party.
    pub caller: Party,
    /// The called party: the connected party when known, else the leg being rung, else
    /// the dialled number.
    pub callee: Party,
    /// The number the caller dialled.
    pub dialed: String,
    /// The A channel's state: `down`, `ringing`, `early` (183 / early media), `up`, or
    /// `ending` (hung up, being torn down).
    pub state: &'static str,
    /// Whether the A channel is in a bridge (talking to a B leg).
    pub bridged: bool,
    /// Whether either side put the call on hold.
    pub on_hold: bool,
    /// Negotiated audio codec of the A leg (else of the bridged leg).
    pub codec: Option<String>,
    /// The application the call runs or last ran (`Dial`, `Playback`...), if any.
    pub app: Option<String>,
    /// `inbound` (from a gateway), `outbound` (an extension calling out through a gateway)
    /// or `internal` (extension to extension, or to the switch itself).
    pub direction: &'static str,
    /// Who the call is billed to: the calling extension, or the gateway it came from.
    pub account: String,
    /// When the call arrived, Unix ms.
    pub started_ms: i64,
    /// When the caller was answered, Unix ms.
    pub answered_ms: Option<i64>,
    /// The B legs, oldest first.
    pub legs: Vec<Leg>,
}

/// The API name of a channel state (lower case; `Progress` is `early`, `Hangup` is
/// `ending`: a hung-up channel is only listed while its call is torn down).
pub fn state_name(state: ChannelState) -> &'static str {
    match state {
        ChannelState::Down => "down",
        ChannelState::Ringing => "ringing",
        ChannelState::Progress => "early",
        ChannelState::Up => "up",
        ChannelState::Hangup => "ending",
    }
}

fn ms(t: SystemTime) -> i64 {
    unix_ms(t)
}

impl Call {
    /// The view of a call from its A channel and its B legs (oldest first).
    pub fn from_snapshots(a: &ChannelSnapshot, legs: &[&ChannelSnapshot]) -> Call {
        let bridged_leg = legs
            .iter()
            .find(|l| l.bridge.is_some() && a.peer.as_ref() == Some(&l.id))
            .copied();
        let shown_leg = bridged_leg.or_else(|| legs.last().copied());
        let callee = if !a.callee.number.is_empty() {
            Party::from(&a.callee)
        } else if let Some(leg) = shown_leg.filter(|l| !l.callee.number.is_empty()) {
            Party::from(&leg.callee)
        } else {
            Party {
                number: a.exten.clone(),
                name: None,
            }
        };
        let via_gateway = legs.iter().any(|l| !l.attribution.line_group.is_empty());
        let direction = if a.context == TRUNK_CONTEXT {
            "inbound"
        } else if via_gateway {
            "outbound"
        } else {
            "internal"
        };
        Call {
            id: a.id.as_str().to_owned(),
            linkedid: a.linkedid.as_str().to_owned(),
            caller: Party::from(&a.caller),
            callee,
            dialed: a.exten.clone(),
            state: state_name(a.state),
            bridged: a.bridge.is_some(),
            on_hold: a.on_hold || legs.iter().any(|l| l.on_hold),
            codec: a
                .codec
                .clone()
                .or_else(|| bridged_leg.and_then(|l| l.codec.clone())),
            app: (!a.lastapp.is_empty()).then(|| a.lastapp.clone()),
            direction,
            account: a.attribution.account.clone(),
            started_ms: ms(a.created),
            answered_ms: a.answered.map(ms),
            legs: legs
                .iter()
                .map(|l| Leg {
                    id: l.id.as_str().to_owned(),
                    name: l.name.clone(),
                    state: state_name(l.state),
                    codec: l.codec.clone(),
                })
                .collect(),
        }
    }
}
