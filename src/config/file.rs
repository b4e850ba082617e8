//! The on-disk shape of one `sip-profiles/*.toml` file, as serde structs. Every table denies
//! unknown keys and every optional key has an explicit default here; values that are validated
//! later keep their byte span (`toml::Spanned`) so errors can name line and column.
//!
//! Nothing here validates: see `super::validate` and `super::extensions`.
//!
//! Depends on: serde, toml.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// Transport of a listener or of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenTransport {
    /// SIP over UDP (RFC 3261 §18).
    Udp,
    /// SIP over TCP (RFC 3261 §18).
    Tcp,
    /// SIP over TLS over TCP (RFC 3261 §26.2, `sips:`).
    Tls,
}

impl ListenTransport {
    /// Lower-case name as written in the configuration (`udp`, `tcp`, `tls`).
    pub fn as_str(self) -> &'static str {
        match self {
            ListenTransport::Udp => "udp",
            ListenTransport::Tcp => "tcp",
            ListenTransport::Tls => "tls",
        }
    }

    /// The default port: 5060, or 5061 for TLS (RFC 3261 §19.1.2).
    pub fn default_port(self) -> u16 {
        match self {
            ListenTransport::Udp | ListenTransport::Tcp => 5060,
            ListenTransport::Tls => 5061,
        }
    }

    /// Whether it runs over a stream socket (TCP or TLS), so it shares TCP port space.
    pub fn is_stream(self) -> bool {
        !matches!(self, ListenTransport::Udp)
    }
}

impl fmt::Display for ListenTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One profile file: every table is optional here; the merge decides what is mandatory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileFile {
    pub(crate) sip: Option<Spanned<SipTable>>,
    pub(crate) registrar: Option<Spanned<RegistrarTable>>,
    pub(crate) acl: Option<Spanned<AclTable>>,
    pub(crate) calls: Option<Spanned<super::calls::CallsTable>>,
    pub(crate) media: Option<Spanned<super::calls::MediaTable>>,
    pub(crate) cdr: Option<Spanned<super::cdr::CdrTable>>,
    pub(crate) web: Option<Spanned<super::web::WebTable>>,
    #[serde(default)]
    pub(crate) gateway: Vec<Spanned<GatewayTable>>,
    #[serde(default)]
    pub(crate) extension: Vec<Spanned<ExtensionTable>>,
    #[serde(default)]
    pub(crate) extension_range: Vec<Spanned<RangeTable>>,
}

/// `[sip]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SipTable {
    #[serde(default = "default_listen")]
    pub(crate) listen: Spanned<Vec<Spanned<ListenEntry>>>,
    pub(crate) domain: Spanned<String>,
    pub(crate) realm: Option<Spanned<String>>,
    #[serde(default = "default_user_agent")]
    pub(crate) user_agent: String,
    #[serde(default = "default_max_message_size")]
    pub(crate) max_message_size: Spanned<u64>,
    pub(crate) timers: Option<Spanned<TimersTable>>,
    pub(crate) tls: Option<Spanned<TlsTable>>,
}

/// One element of `[sip] listen`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListenEntry {
    pub(crate) transport: ListenTransport,
    pub(crate) address: Spanned<String>,
}

fn default_listen() -> Spanned<Vec<Spanned<ListenEntry>>> {
    let entry = |transport| {
        Spanned::new(
            0..0,
            ListenEntry {
                transport,
                address: Spanned::new(0..0, DEFAULT_LISTEN.to_string()),
            },
        )
    };
    Spanned::new(
        0..0,
        vec![entry(ListenTransport::Udp), entry(ListenTransport::Tcp)],
    )
}

/// Listen address used for UDP and TCP when `[sip] listen` is absent: loopback only.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:5060";

fn default_user_agent() -> String {
    concat!("switchboard/", env!("CARGO_PKG_VERSION")).to_string()
}

/// Default `max_message_size`: the largest UDP payload over IPv4.
pub(crate) const DEFAULT_MAX_MESSAGE_SIZE: u64 = 65_535;

fn default_max_message_size() -> Spanned<u64> {
    Spanned::new(0..0, DEFAULT_MAX_MESSAGE_SIZE)
}

/// `[sip.timers]`, milliseconds. Defaults are RFC 3261 §17.1.1.1 / Table 4.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimersTable {
    #[serde(default = "default_t1")]
    pub(crate) t1_ms: Spanned<u64>,
    #[serde(default = "default_t2")]
    pub(crate) t2_ms: Spanned<u64>,
    #[serde(default = "default_t4")]
    pub(crate) t4_ms: Spanned<u64>,
}

impl Default for TimersTable {
    fn default() -> TimersTable {
        TimersTable {
            t1_ms: default_t1(),
            t2_ms: default_t2(),
            t4_ms: default_t4(),
        }
    }
}

fn default_t1() -> Spanned<u64> {
    Spanned::new(0..0, 500)
}
fn default_t2() -> Spanned<u64> {
    Spanned::new(0..0, 4_000)
}
fn default_t4() -> Spanned<u64> {
    Spanned::new(0..0, 5_000)
}

/// `[sip.tls]`: all optional; without cert/key a self-signed certificate is generated.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsTable {
    pub(crate) cert: Option<Spanned<String>>,
    pub(crate) key: Option<Spanned<String>>,
    pub(crate) ca_file: Option<Spanned<String>>,
}

/// `[registrar]`, seconds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrarTable {
    #[serde(default = "default_min_expires")]
    pub(crate) min_expires: Spanned<u64>,
    #[serde(default = "default_max_expires")]
    pub(crate) max_expires: Spanned<u64>,
    #[serde(default = "default_default_expires")]
    pub(crate) default_expires: Spanned<u64>,
    #[serde(default = "default_nonce_ttl")]
    pub(crate) nonce_ttl_secs: Spanned<u64>,
    #[serde(default = "default_sweep")]
    pub(crate) sweep_interval_secs: Spanned<u64>,
    #[serde(default)]
    pub(crate) sha256_first: bool,
}

impl Default for RegistrarTable {
    fn default() -> RegistrarTable {
        RegistrarTable {
            min_expires: default_min_expires(),
            max_expires: default_max_expires(),
            default_expires: default_default_expires(),
            nonce_ttl_secs: default_nonce_ttl(),
            sweep_interval_secs: default_sweep(),
            sha256_first: false,
        }
    }
}

fn default_min_expires() -> Spanned<u64> {
    Spanned::new(0..0, 60)
}
fn default_max_expires() -> Spanned<u64> {
    Spanned::new(0..0, 7_200)
}
fn default_default_expires() -> Spanned<u64> {
    Spanned::new(0..0, 3_600)
}
fn default_nonce_ttl() -> Spanned<u64> {
    Spanned::new(0..0, 300)
}
fn default_sweep() -> Spanned<u64> {
    Spanned::new(0..0, 30)
}

/// `[acl]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AclTable {
    pub(crate) allow: Vec<Spanned<String>>,
}

/// `[[gateway]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewayTable {
    pub(crate) name: Spanned<String>,
    pub(crate) address: Spanned<String>,
    #[serde(default = "default_gateway_transport")]
    pub(crate) transport: ListenTransport,
    #[serde(default)]
    pub(crate) trust_inbound_by_source: bool,
    pub(crate) register: Option<Spanned<bool>>,
}

fn default_gateway_transport() -> ListenTransport {
    ListenTransport::Udp
}

/// `[[extension]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtensionTable {
    pub(crate) number: Spanned<Digits>,
    pub(crate) password: Spanned<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) loopback_only: Option<Spanned<bool>>,
}

/// `[[extension_range]]`: `{ext}` in the templates is replaced by each number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeTable {
    pub(crate) from: Spanned<Digits>,
    pub(crate) to: Spanned<Digits>,
    pub(crate) password: Spanned<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) loopback_only: Option<Spanned<bool>>,
}

/// An extension number as written: a string (`"0100"`, keeps leading zeros) or a non-negative
/// integer (`1000`). Not yet checked to be digits only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digits(pub(crate) String);

impl<'de> Deserialize<'de> for Digits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digits, D::Error> {
        struct DigitsVisitor;
        impl Visitor<'_> for DigitsVisitor {
            type Value = Digits;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an extension number (a string of digits or an integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Digits, E> {
                Ok(Digits(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Digits, E> {
                Ok(Digits(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Digits, E> {
                u64::try_from(v)
                    .map(|v| Digits(v.to_string()))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        deserializer.deserialize_any(DigitsVisitor)
    }
}
