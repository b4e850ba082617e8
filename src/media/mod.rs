//! Media: the RTP/RTCP relay of the B2BUA, its port pool, SDP inspection and rewriting,
//! RFC 4733 DTMF decoding, and the media the switch makes itself: prompts, tones and music
//! on hold played into a leg, and recordings of a leg.
//!
//! The switch anchors every call's media here: each SIP leg gets a [`ports::PortPair`] from the
//! [`ports::PortPool`], the SDP sent to each phone is rewritten by [`sdp::rewrite`] to point at
//! that pair, and a [`relay::RelaySession`] forwards RTP and RTCP between the two pairs with
//! symmetric latching, per-leg statistics, DTMF decoding and a media timeout.
//! [`relay::RelaySession::start_echo`] is the one-pair variant for calls the switch answers
//! itself (the echo test): RTP goes back to the phone it came from. [`sdp::answer_audio`] and
//! [`sdp::offer_audio`] write the SDP for such calls.
//!
//! Each leg of a session has a [`relay::LegMode`]: Bridge (forward to the other phone), Echo,
//! or Local (the switch plays to that phone). Playing: [`sound::SoundLibrary`] loads prompt
//! files (WAV, raw G.711, raw linear) as 8 kHz [`sound::Sound`]s, [`tone::Tone`] generates
//! call-progress tones, and [`player::play`] paces them out as G.711 RTP ([`g711`]) through
//! the leg's [`relay::MediaOutput`]. Recording: [`relay::RelaySession::set_tap`] copies a
//! phone's audio to [`recorder::record`], which writes a WAV file.
//!
//! This module knows nothing about channels, calls or SIP dialogs: it reports through its own
//! types ([`relay::MediaEvent`], [`relay::RelayStats`]). It may depend on `config` and `runtime`
//! only (plus std/tokio/bytes and the webrtc-rs `rtc-rtp` / `rtc-sdp` crates); `switch` uses it,
//! never the other way round.
//!
//! Data path of one call (leg A = the phone on pair A, leg B = the phone on pair B):
//!
//! ```text
//!  phone A ──RTP──▶ pair A (even) ─┐            ┌─ pair B (even) ──RTP──▶ phone B
//!          ◀─RTP── pair A (even) ◀─┼─ relay ────┼─▶ pair B (even) ◀─RTP──
//!  phone A ──RTCP─▶ pair A (odd)  ─┘            └─ pair B (odd)  ──RTCP─▶ phone B
//! ```

pub mod g711;
pub mod player;
pub mod ports;
pub mod recorder;
pub mod relay;
mod relay_state;
pub mod rtp;
pub mod sdp;
pub mod sound;
pub mod stats;
pub mod tone;

#[cfg(test)]
mod echo_tests;
#[cfg(test)]
mod relay_mode_tests;
#[cfg(test)]
mod relay_tests;

pub use player::{play, PlayCodec, Player, RtpOut, Source};
pub use ports::{PortPair, PortPool};
pub use recorder::{record, RecordError, Recording, RecordingSummary};
pub use relay::{
    Leg, LegMode, MediaEvent, MediaOutput, RelayConfig, RelaySession, RelayStats, TapPacket,
};
pub use sdp::{AudioStream, Direction, SdpError, SdpOrigin};
pub use sound::{Sound, SoundError, SoundLibrary};
pub use tone::Tone;

use std::net::IpAddr;

/// Errors of the media layer's resource handling (ports, sockets).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Every port pair of the configured range is in use (by us or by other processes).
    #[error("no free RTP port pair in {first}-{last} on {ip}")]
    PortsExhausted {
        /// The bind address of the pool.
        ip: IpAddr,
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// The configured port range holds no even/odd pair.
    #[error("port range {first}-{last} holds no RTP/RTCP pair")]
    EmptyRange {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// A socket call failed for a reason other than the port being taken.
    #[error("socket error on {ip}:{port}")]
    Socket {
        /// The bind address.
        ip: IpAddr,
        /// The port being bound.
        port: u16,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Sockets can only be registered with Tokio from inside a runtime.
    #[error("port allocation needs a running Tokio runtime")]
    NoRuntime,
}
