//! `[calls]` (B2BUA call handling) and `[media]` (RTP relay, sounds directory) tables: their on-disk shape,
//! defaults, validation and the settings the rest of the server reads.
//!
//! Depends on: `super::validate` (the diagnostic context), serde, toml.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use super::validate::Ctx;

/// `[calls]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallsTable {
    #[serde(default = "default_ring_timeout")]
    pub(crate) ring_timeout_secs: Spanned<u64>,
    #[serde(default = "default_gateway_check")]
    pub(crate) gateway_check_secs: Spanned<u64>,
}

/// `[media]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MediaTable {
    pub(crate) rtp_address: Option<Spanned<String>>,
    #[serde(default = "default_port_min")]
    pub(crate) rtp_port_min: Spanned<u64>,
    #[serde(default = "default_port_max")]
    pub(crate) rtp_port_max: Spanned<u64>,
    #[serde(default = "default_rtp_timeout")]
    pub(crate) rtp_timeout_secs: Spanned<u64>,
    pub(crate) sounds_dir: Option<Spanned<String>>,
}

/// `[media] sounds_dir` when not set, relative to the configuration directory.
pub const DEFAULT_SOUNDS_DIR: &str = "dialplan/sounds";

fn default_ring_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 60)
}
fn default_gateway_check() -> Spanned<u64> {
    Spanned::new(0..0, DEFAULT_GATEWAY_CHECK_SECS)
}
/// `[calls] gateway_check_secs` when not set.
const DEFAULT_GATEWAY_CHECK_SECS: u64 = 30;
fn default_port_min() -> Spanned<u64> {
    Spanned::new(0..0, 20_000)
}
fn default_port_max() -> Spanned<u64> {
    Spanned::new(0..0, 30_000)
}
fn default_rtp_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}

/// `[calls]`: how the B2BUA handles calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSettings {
    /// A dialled party that has not answered after this long is given up on (the caller
    /// gets 480, the ringing legs a CANCEL).
    pub ring_timeout: Duration,
    /// How often each gateway is sent an OPTIONS health check (its state on the web
    /// admin); zero: never (Asterisk `qualify_frequency = 0`).
    pub gateway_check: Duration,
}

impl Default for CallSettings {
    /// Same as an empty `[calls]` table: 60 s ring timeout, gateways checked every 30 s.
    fn default() -> CallSettings {
        CallSettings {
            ring_timeout: Duration::from_secs(60),
            gateway_check: Duration::from_secs(DEFAULT_GATEWAY_CHECK_SECS),
        }
    }
}

/// `[media]`: the RTP relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    /// Address the relay binds and writes into SDP; `None`: the first SIP listener's address.
    pub rtp_address: Option<IpAddr>,
    /// First RTP port (even); RTCP uses RTP + 1.
    pub rtp_port_min: u16,
    /// Last port of the range (RTCP of the last pair).
    pub rtp_port_max: u16,
    /// An answered call that receives no RTP on a leg for this long is hung up.
    pub rtp_timeout: Duration,
    /// Where `Playback(name)` and the other media apps find their prompts: `sounds_dir`
    /// resolved against the configuration directory (need not exist: the server warns).
    pub sounds_dir: PathBuf,
}

impl Default for MediaSettings {
    /// Same as an empty `[media]` table: ports 20000–30000, 30 s RTP timeout, sounds in
    /// [`DEFAULT_SOUNDS_DIR`] (relative here; [`crate::config::Config::load`] resolves it
    /// against the configuration directory).
    fn default() -> MediaSettings {
        MediaSettings {
            rtp_address: None,
            rtp_port_min: 20_000,
            rtp_port_max: 30_000,
            rtp_timeout: Duration::from_secs(30),
            sounds_dir: PathBuf::from(DEFAULT_SOUNDS_DIR),
        }
    }
}

impl MediaSettings {
    /// The defaults of an empty `[media]` table, with the sounds directory resolved against
    /// the configuration directory `dir`.
    pub fn default_in(dir: &Path) -> MediaSettings {
        MediaSettings {
            sounds_dir: dir.join(DEFAULT_SOUNDS_DIR),
            ..MediaSettings::default()
        }
    }
}

/// Validates `[calls]`; defaults on error (the error is recorded).
pub(crate) fn call_settings(ctx: &mut Ctx, i: usize, t: Spanned<CallsTable>) -> CallSettings {
    let t = t.into_inner();
    let ring_ok = ctx.range(i, &t.ring_timeout_secs, "calls.ring_timeout_secs", 1, 3_600);
    let check_ok = ctx.range(
        i,
        &t.gateway_check_secs,
        "calls.gateway_check_secs",
        0,
        86_400,
    );
    if !ring_ok || !check_ok {
        return CallSettings::default();
    }
    CallSettings {
        ring_timeout: Duration::from_secs(*t.ring_timeout_secs.get_ref()),
        gateway_check: Duration::from_secs(*t.gateway_check_secs.get_ref()),
    }
}

/// Validates `[media]`: an IP address, an even first port below the last, a sane timeout,
/// a non-blank sounds directory (resolved against the configuration directory `dir`).
pub(crate) fn media_settings(
    ctx: &mut Ctx,
    dir: &Path,
    i: usize,
    t: Spanned<MediaTable>,
) -> MediaSettings {
    let span = t.span();
    let t = t.into_inner();
    let mut ok = ctx.range(i, &t.rtp_port_min, "media.rtp_port_min", 1024, 65_534);
    let sounds_dir = match &t.sounds_dir {
        Some(d) if ctx.non_empty(i, d, "media.sounds_dir") => dir.join(d.get_ref().trim()),
        Some(_) => {
            ok = false;
            dir.join(DEFAULT_SOUNDS_DIR)
        }
        None => dir.join(DEFAULT_SOUNDS_DIR),
    };
    ok &= ctx.range(i, &t.rtp_port_max, "media.rtp_port_max", 1025, 65_535);
    ok &= ctx.range(i, &t.rtp_timeout_secs, "media.rtp_timeout_secs", 1, 3_600);
    let rtp_address = match &t.rtp_address {
        Some(a) => match a.get_ref().parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                let at = ctx.loc(i, &a.span());
                ctx.err(ConfigError::BadAddress {
                    at,
                    key: "media.rtp_address",
                    value: a.get_ref().clone(),
                    expected: "an IP address",
                });
                ok = false;
                None
            }
        },
        None => None,
    };
    let (min, max) = (*t.rtp_port_min.get_ref(), *t.rtp_port_max.get_ref());
    if ok && (min % 2 != 0 || max <= min) {
        let at = ctx.loc(i, &span);
        ctx.err(ConfigError::Order {
            at,
            smaller: "rtp_port_min (even)",
            small_value: min,
            larger: "rtp_port_max",
            large_value: max,
        });
        ok = false;
    }
    if !ok {
        return MediaSettings::default_in(dir);
    }
    MediaSettings {
        rtp_address,
        rtp_port_min: u16::try_from(min).unwrap_or(20_000),
        rtp_port_max: u16::try_from(max).unwrap_or(30_000),
        rtp_timeout: Duration::from_secs(*t.rtp_timeout_secs.get_ref()),
        sounds_dir,
    }
}
