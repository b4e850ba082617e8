//! Configuration: loads and validates a configuration directory into a [`Config`].
//!
//! Layout of a configuration directory (`switchboard run --config DIR`, default `.`):
//!
//! ```text
//! DIR/
//!   sip-profiles/*.toml   all merged, in file-name order; tables: [sip] (exactly one in total),
//!                         [registrar], [acl], [calls], [media], [cdr], [web] (at most one each),
//!                         [[gateway]], [[extension]],
//!                         [[extension_range]] (any number, in any file)
//!   dialplan/             must exist (its contents are read by the dialplan module)
//! ```
//!
//! Loading is three steps: read every file and deserialize it (`file`, serde with
//! `deny_unknown_fields`, byte spans kept), merge the tables and report duplicates naming both
//! places, then validate values (`validate`, `extensions`) into the typed structs below. All
//! problems of all files are collected ([`ConfigErrors`]) and each displays as
//! `path:line:column: reason`.
//!
//! Security rule (issue 2): no well-known password is ever accepted from a non-loopback address.
//! An extension whose password is well known (see [`weak_password`]) gets
//! [`Extension::loopback_only`] = true, and `loopback_only = false` is refused for it.
//!
//! Depends on: std, serde, toml, thiserror. Must not use `crate::sip` (it sits below it).

mod acl;
mod calls;
pub mod cdr;
mod error;
mod extensions;
mod file;
mod gateways;
mod validate;
mod web;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use acl::{Acl, CidrError, IpNet};
pub use calls::{CallSettings, MediaSettings, DEFAULT_SOUNDS_DIR};
pub use cdr::{
    parse_field, parse_http_url, CdrSettings, CsvLayout, CsvSettings, FieldError, FieldKind,
    FieldPart, FieldSpec, HttpUrl, LegsFilter, UrlProblem, WebhookSettings, BUILTIN_COLUMNS,
};
pub use error::{ConfigError, ConfigErrors, ConfigWarning, Location, RangeProblem, WeakPassword};
pub use extensions::valid_number;
pub use extensions::{weak_password, COMMON_PASSWORDS, MAX_RANGE_LEN, SHIPPED_TEMPLATES};
pub use file::ListenTransport;
pub use gateways::{split_host_port, HostPort};
pub use web::{WebSettings, DEFAULT_WEB_LISTEN};

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The configuration directory given to [`Config::load`].
    pub dir: PathBuf,
    /// `[sip]`: listeners, domain, realm, timers, TLS.
    pub sip: SipSettings,
    /// `[registrar]`: expiry bounds and nonce lifetime.
    pub registrar: RegistrarSettings,
    /// `[calls]`: B2BUA call handling (ring timeout).
    pub calls: CallSettings,
    /// `[cdr]`: call detail records.
    pub cdr: CdrSettings,
    /// `[media]`: RTP relay address, port range, RTP timeout, sounds directory.
    pub media: MediaSettings,
    /// `[web]`: the administration web server and API.
    pub web: WebSettings,
    /// `[acl]`: networks allowed to send us requests (default: loopback only).
    pub acl: Acl,
    /// `[[gateway]]` entries, in file order.
    pub gateways: Vec<Gateway>,
    /// `[[extension]]` entries and expanded `[[extension_range]]`s, in file order.
    pub extensions: Vec<Extension>,
    /// `DIR/dialplan`, checked to exist.
    pub dialplan_dir: PathBuf,
    /// The profile files read, in merge order.
    pub source_files: Vec<PathBuf>,
    /// Non-fatal findings, for `switchboard check` and the start-up log.
    pub warnings: Vec<ConfigWarning>,
}

/// `[sip]`: how and where we speak SIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSettings {
    /// Sockets to listen on (never empty; no duplicate, and TCP/TLS never share an address).
    /// Port 0 asks the OS for an ephemeral port (useful in tests).
    pub listen: Vec<Listener>,
    /// The SIP domain we serve (host part of our users' AORs).
    pub domain: String,
    /// Digest authentication realm (RFC 3261 §22.1); defaults to `domain`.
    pub realm: String,
    /// Value of our `User-Agent` / `Server` headers.
    pub user_agent: String,
    /// Largest SIP message accepted, in bytes (datagram or stream-framed).
    pub max_message_size: usize,
    /// RFC 3261 transaction timer bases.
    pub timers: Timers,
    /// TLS certificate settings.
    pub tls: TlsSettings,
}

impl SipSettings {
    /// Whether some listener uses `transport`.
    pub fn has_transport(&self, transport: ListenTransport) -> bool {
        self.listen.iter().any(|l| l.transport == transport)
    }
}

/// One listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    /// UDP, TCP or TLS.
    pub transport: ListenTransport,
    /// Local address to bind (IPv4 or IPv6).
    pub address: SocketAddr,
}

/// RFC 3261 §17.1.1.1 timer values (Table 4); all strictly positive, `t1 <= t2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// T1: RTT estimate, base of retransmission intervals (default 500 ms).
    pub t1: Duration,
    /// T2: maximum retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// T4: maximum time a message stays in the network (5 s).
    pub t4: Duration,
}

/// `[sip.tls]`. Relative paths are resolved against the configuration directory and checked to
/// exist. Without `cert`/`key` the transport generates a self-signed certificate on first start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key (set exactly when `cert` is).
    pub key: Option<PathBuf>,
    /// PEM CA bundle used to verify peers (for outgoing TLS), if any.
    pub ca_file: Option<PathBuf>,
}

/// `[registrar]`: RFC 3261 §10.3 expiry policy and digest nonce lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarSettings {
    /// Shorter requested expiries get `423 Interval Too Brief` with this `Min-Expires`.
    pub min_expires: u32,
    /// Longer requested expiries are shortened to this.
    pub max_expires: u32,
    /// Expiry used when the REGISTER states none.
    pub default_expires: u32,
    /// How long a digest nonce stays valid before `stale=true` (RFC 7616 §3.3).
    pub nonce_ttl: Duration,
    /// How often expired registrations are swept.
    pub sweep_interval: Duration,
    /// Offer the SHA-256 digest challenge before MD5 (RFC 8760 §2.4 order of preference).
    /// Off by default: many deployed user agents (SIPp among them) answer only the first
    /// challenge and fail when it is SHA-256; MD5 first still lets capable phones pick
    /// SHA-256 from the second challenge only if they scan all of them.
    pub sha256_first: bool,
}

impl Default for RegistrarSettings {
    /// The same defaults as an empty `[registrar]` table: 60 / 7200 / 3600 s, nonce 300 s,
    /// sweep every 30 s.
    fn default() -> RegistrarSettings {
        RegistrarSettings {
            min_expires: 60,
            max_expires: 7_200,
            default_expires: 3_600,
            nonce_ttl: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(30),
            sha256_first: false,
        }
    }
}

/// `[[gateway]]`: a SIP trunk / carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// Unique name (`[A-Za-z0-9_.-]+`), used by the dialplan.
    pub name: String,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (never 0).
    pub port: u16,
    /// `host` parsed as an IP address, when it is one.
    pub ip: Option<IpAddr>,
    /// Transport used to reach it.
    pub transport: ListenTransport,
    /// Requests whose source IP equals `ip` are accepted without digest authentication
    /// (then `ip` is always set).
    pub trust_inbound_by_source: bool,
    /// Register to the gateway (always false for now: not supported yet).
    pub register: bool,
}

impl Gateway {
    /// `host:port`, with IPv6 in brackets.
    pub fn address(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(v6)) => format!("[{v6}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// A user of the PBX (from `[[extension]]` or an expanded `[[extension_range]]`).
/// Debug output hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension number: 1 to 32 ASCII digits; also the user part of its AOR.
    pub number: String,
    /// Digest password in clear (hashed to HA1 when stored).
    pub password: String,
    /// Caller-ID name, if set.
    pub display_name: Option<String>,
    /// Only accept this user's requests from loopback addresses (forced for well-known passwords).
    pub loopback_only: bool,
}

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extension")
            .field("number", &self.number)
            .field("password", &"<hidden>")
            .field("display_name", &self.display_name)
            .field("loopback_only", &self.loopback_only)
            .finish()
    }
}

impl Extension {
    /// Whether this user may authenticate from `source`: always if not `loopback_only`, else
    /// only from a loopback address (IPv4-mapped IPv6 included).
    pub fn allowed_from(&self, source: IpAddr) -> bool {
        !self.loopback_only || source.to_canonical().is_loopback()
    }
}

impl Config {
    /// Loads and validates the configuration directory `dir` (see the module docs for its
    /// layout). On failure returns every error found in every file, plus the warnings.
    pub fn load(dir: &Path) -> Result<Config, ConfigErrors> {
        validate::load(dir)
    }

    /// The extension numbered `number`, if configured (linear scan).
    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.number == number)
    }

    /// The gateway trusted by source address that `source` belongs to, if any: same IP, and
    /// for UDP gateways also the same port (a UDP carrier sends from its signalling port;
    /// matching the port keeps phones on the same host, e.g. loopback in the test PBX, from
    /// being taken for the carrier). TCP/TLS gateways match by IP only (ephemeral ports).
    pub fn trusted_gateway(&self, source: SocketAddr) -> Option<&Gateway> {
        let ip = source.ip().to_canonical();
        self.gateways.iter().find(|g| {
            g.trust_inbound_by_source
                && g.ip.map(|gip| gip.to_canonical()) == Some(ip)
                && (g.transport != ListenTransport::Udp || g.port == source.port())
        })
    }
}
