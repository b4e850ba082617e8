//! The switch core: channels, bridges, hang-up causes and the typed event stream.
//!
//! - [`ids`]: `ChannelId`, `BridgeId`, `CallId` (UUID v4), `LinkedId` (ordered by age).
//! - [`cause`]: `Q850` (Asterisk names), `HangupCause`, `HangupSide`, RFC 3398 mappings.
//! - [`channel`]: the `Channel` state machine and its `ChannelSnapshot`.
//! - [`bridge`]: bridge membership and linkedid propagation (oldest wins).
//! - [`events`]: `Event` / `EventKind` / `DialStatus`.
//! - [`stats`]: `ChannelMediaStats`, the RTP counters copied from `media`.
//! - [`bus`]: `EventBus`, the fan-out to lossy and lossless consumers.
//! - [`errors`]: `SwitchError` and `CallError` (SIP status + Q.850 in one place).
//!
//! Layering: the switch may use `media` and `sip`, never `cdr`, `web` or the apps; the
//! model here uses neither (pure data, sans-IO) apart from the bus (tokio channels).
//! Consumers (CDR, CEL, ACD, web) subscribe to the bus; the switch never calls them.

pub mod bridge;
pub mod bus;
pub mod call;
pub mod cause;
pub mod channel;
pub mod errors;
pub mod events;
pub mod gateways;
pub mod ids;
pub mod stats;

pub use bridge::{join, part, Bridge, Joined, LinkedIdUpdate, Member};
pub use bus::{ConsumerKind, ConsumerStats, EventBus};
pub use cause::{EndType, HangupCause, HangupSide, Q850};
pub use channel::{
    AmaFlags, Attribution, CallSource, Channel, ChannelMediaStats, ChannelSnapshot, ChannelSpec,
    ChannelState, ChannelStateChange, Direction, LinkedIdChange, MediaDirectionStats, Now, PartyId,
};
pub use errors::{CallError, SwitchError};
pub use events::{DialStatus, Event, EventKind};
pub use ids::{BridgeId, CallId, ChannelId, LinkedId};
