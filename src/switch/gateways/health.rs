//! The health of a gateway as the last OPTIONS check found it (like Asterisk's `qualify`
//! and FreeSWITCH's gateway `ping`): any SIP response means the peer is reachable (up),
//! a timeout or a transport error means it is not (down); unknown until checked.
//!
//! Depends on: std.

use std::fmt;

/// Reachability of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthStatus {
    /// Not checked yet (or its address changed since the last check).
    #[default]
    Unknown,
    /// It answered the last OPTIONS (with any status).
    Up,
    /// The last OPTIONS got no answer in time, or could not be sent.
    Down,
}

impl HealthStatus {
    /// `up`, `down` or `unknown`, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Unknown => "unknown",
            HealthStatus::Up => "up",
            HealthStatus::Down => "down",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of the last check of one gateway.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayHealth {
    /// Up, down or unknown.
    pub status: HealthStatus,
    /// Round trip of the last answered OPTIONS, in milliseconds.
    pub rtt_ms: Option<u64>,
    /// When the last check ended (Unix ms).
    pub last_checked_ms: Option<i64>,
    /// Why the last check failed (down only).
    pub last_error: Option<String>,
    /// Status code of the last answer (up only; e.g. 200, or 404/405 from a peer that
    /// does not serve OPTIONS but is alive).
    pub last_status_code: Option<u16>,
}
