//! Configuration diagnostics: where a problem is ([`Location`]), what it is ([`ConfigError`],
//! [`ConfigWarning`]) and the collection returned by [`crate::config::Config::load`]
//! ([`ConfigErrors`]).
//!
//! Every diagnostic tied to a file position displays as `path:line:column: reason`, the format
//! compilers use, so editors can jump to it. Problems about a whole directory (missing
//! `dialplan/`) have no position and display as `path: reason`.
//!
//! Depends on: std, thiserror, and [`super::acl::CidrError`] only.

use std::fmt;
use std::path::PathBuf;

use super::acl::CidrError;
use super::cdr::{FieldError, UrlProblem};

/// A position in a configuration file (1-based line and column, columns counted in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as found under the configuration directory.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, in characters (not bytes).
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// One fatal configuration problem. Each variant names the offending place; duplicates also name
/// the first definition.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A directory or file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A required directory (`sip-profiles/`, `dialplan/`) does not exist.
    #[error("{}: directory missing ({purpose})", path.display())]
    MissingDirectory {
        /// The directory expected.
        path: PathBuf,
        /// What it is for, shown to the user.
        purpose: &'static str,
    },
    /// `sip-profiles/` holds no `*.toml` file.
    #[error("{}: no *.toml profile in this directory", path.display())]
    NoProfiles {
        /// The `sip-profiles/` directory.
        path: PathBuf,
    },
    /// No file defines the mandatory `[sip]` table.
    #[error("{}: no [sip] table in any profile", path.display())]
    MissingSip {
        /// The `sip-profiles/` directory.
        path: PathBuf,
    },
    /// TOML syntax error, unknown key, missing key or wrong value type (reported by the parser).
    #[error("{at}: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// The parser's reason.
        message: String,
    },
    /// Something is defined twice (a `[sip]` table, an extension, a gateway, a listener).
    #[error("{at}: duplicate {what} (first defined at {first})")]
    Duplicate {
        /// The second definition.
        at: Location,
        /// The first definition.
        first: Location,
        /// What is duplicated, e.g. `extension 1001`.
        what: String,
    },
    /// A socket address (`ip:port`, `[v6]:port`) or `host:port` could not be parsed.
    #[error("{at}: {key}: {value:?} is not a valid {expected}")]
    BadAddress {
        /// Where the value is.
        at: Location,
        /// The key, e.g. `listen.address`.
        key: &'static str,
        /// The value as written.
        value: String,
        /// What was expected, e.g. `ip:port`.
        expected: &'static str,
    },
    /// A port is 0 where a real port is needed.
    #[error("{at}: {key}: port 0 is not allowed here")]
    ZeroPort {
        /// Where the value is.
        at: Location,
        /// The key.
        key: &'static str,
    },
    /// A CIDR network in `[acl]` is invalid.
    #[error("{at}: acl.allow: {value:?}: {reason}")]
    BadCidr {
        /// Where the value is.
        at: Location,
        /// The value as written.
        value: String,
        /// Why it is invalid.
        reason: CidrError,
    },
    /// A string that must not be empty is empty (domain, realm, password, gateway name...).
    #[error("{at}: {key} must not be empty")]
    Empty {
        /// Where the value is.
        at: Location,
        /// The key.
        key: &'static str,
    },
    /// A number is outside its allowed range.
    #[error("{at}: {key} = {value} is out of range ({min}..={max})")]
    OutOfRange {
        /// Where the value is.
        at: Location,
        /// The key.
        key: &'static str,
        /// The value as written.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// Two related values are in the wrong order (e.g. `min_expires > default_expires`).
    #[error("{at}: {smaller} ({small_value}) must not exceed {larger} ({large_value})")]
    Order {
        /// Where the table is.
        at: Location,
        /// Key that must be the smaller one.
        smaller: &'static str,
        /// Its value.
        small_value: u64,
        /// Key that must be the larger one.
        larger: &'static str,
        /// Its value.
        large_value: u64,
    },
    /// `[sip] listen` is empty.
    #[error("{at}: sip.listen must name at least one listener")]
    NoListeners {
        /// Where the `[sip]` table is.
        at: Location,
    },
    /// `[sip.tls]` names a certificate without a key or the other way round.
    #[error("{at}: sip.tls: cert and key must be given together")]
    TlsHalfConfigured {
        /// Where the `[sip.tls]` table is.
        at: Location,
    },
    /// `[web]` TLS keys inconsistent: cert without key (or the other way round), or a
    /// certificate while `tls = false`.
    #[error("{at}: {key}: {message}")]
    WebTls {
        /// Where the offending value is.
        at: Location,
        /// The key to fix.
        key: &'static str,
        /// What is wrong.
        message: &'static str,
    },
    /// A file named by the configuration does not exist.
    #[error("{at}: {key}: file {} does not exist", path.display())]
    MissingFile {
        /// Where the value is.
        at: Location,
        /// The key.
        key: &'static str,
        /// The resolved path.
        path: PathBuf,
    },
    /// An extension number is not made of ASCII digits only (1 to 32 of them).
    #[error("{at}: extension number {value:?} must be 1 to 32 digits")]
    BadExtensionNumber {
        /// Where the value is.
        at: Location,
        /// The value as written.
        value: String,
    },
    /// An `[[extension_range]]` is reversed, too large or mixes widths with leading zeros.
    #[error("{at}: extension_range {from}..{to}: {reason}")]
    BadRange {
        /// Where the range is.
        at: Location,
        /// `from` as written.
        from: String,
        /// `to` as written.
        to: String,
        /// Why it is rejected.
        reason: RangeProblem,
    },
    /// `loopback_only = false` for an extension whose password is well known.
    #[error(
        "{at}: extension {number}: loopback_only = false is refused because its password is \
         well known ({why}); set a strong password of 8+ characters to allow non-loopback use"
    )]
    WeakPasswordNotLoopback {
        /// Where `loopback_only` is set.
        at: Location,
        /// The extension.
        number: String,
        /// Why the password counts as well known.
        why: WeakPassword,
    },
    /// A gateway name is not `[A-Za-z0-9_.-]+`.
    #[error("{at}: gateway name {value:?} may only contain letters, digits, '_', '-' and '.'")]
    BadGatewayName {
        /// Where the value is.
        at: Location,
        /// The value as written.
        value: String,
    },
    /// A gateway trusted by source address must be given as an IP literal (no DNS lookups).
    #[error("{at}: gateway {name}: trust_inbound_by_source needs an IP address, not {host:?}")]
    TrustNeedsIp {
        /// Where the address is.
        at: Location,
        /// The gateway.
        name: String,
        /// The host name as written.
        host: String,
    },
    /// A `[cdr] fields` entry is malformed.
    #[error("{at}: cdr.fields: {value:?}: {reason}")]
    BadCdrField {
        /// Where the entry is.
        at: Location,
        /// The entry as written.
        value: String,
        /// Why it is refused.
        reason: FieldError,
    },
    /// `[cdr] node_id` is not `[A-Za-z0-9._-]+` (at most 64 characters).
    #[error(
        "{at}: cdr.node_id {value:?} may only contain letters, digits, '_', '-' and '.' (at \
         most 64 characters)"
    )]
    BadNodeId {
        /// Where the value is.
        at: Location,
        /// The value as written.
        value: String,
    },
    /// `[cdr.webhook] url` is not a usable `http://` URL.
    #[error("{at}: cdr.webhook.url: {value:?} {reason}")]
    BadWebhookUrl {
        /// Where the value is.
        at: Location,
        /// The value as written.
        value: String,
        /// Why it is refused.
        reason: UrlProblem,
    },
    /// A `[cdr]` setting needs a record mode that `cdr.modes` does not enable.
    #[error("{at}: {what} needs \"{mode}\" in cdr.modes")]
    CdrNeedsMode {
        /// Where the setting is.
        at: Location,
        /// The setting, e.g. `cdr.realtime = true`.
        what: String,
        /// The mode it needs (`leg` or `bridge`).
        mode: &'static str,
    },
    /// A feature that the configuration format reserves but this version does not implement.
    #[error("{at}: {key} = true is not supported yet")]
    Unsupported {
        /// Where the value is.
        at: Location,
        /// The key.
        key: &'static str,
    },
}

/// Why an `[[extension_range]]` is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeProblem {
    /// `from` is greater than `to`.
    #[error("from is greater than to")]
    Reversed,
    /// More than [`super::extensions::MAX_RANGE_LEN`] numbers.
    #[error("{0} numbers, more than the limit of 10000")]
    TooLarge(u64),
    /// `from` has leading zeros but `to` has a different number of digits.
    #[error("from has leading zeros, so to must have the same number of digits")]
    WidthMismatch,
}

/// Why a password counts as well known (see [`super::extensions::weak_password`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than 8 characters.
    #[error("shorter than 8 characters")]
    TooShort,
    /// Equal to the extension number.
    #[error("equal to the extension number")]
    EqualsNumber,
    /// `pw` followed by digits, the test PBX pattern.
    #[error("matches the pw<digits> pattern")]
    PwPattern,
    /// Produced by a password template shipped with switchboard.
    #[error("matches a shipped demo template")]
    ShippedTemplate,
    /// In the list of common passwords.
    #[error("a common password")]
    Common,
}

/// A non-fatal finding: the configuration loads, but probably does not do what was meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigWarning {
    /// A listener is reachable from other hosts while some extensions are loopback-only: those
    /// extensions will be refused from the network.
    #[error(
        "{at}: warning: listener {address} is not on loopback, but {count} extension(s) with \
         well-known passwords (e.g. {example}) stay loopback-only and will be refused from it"
    )]
    LoopbackOnlyUsersOnPublicListener {
        /// Where the listener is.
        at: Location,
        /// The listener address.
        address: std::net::SocketAddr,
        /// How many extensions are loopback-only.
        count: usize,
        /// One of them.
        example: String,
    },
    /// `[acl] allow` is empty: every request will be refused.
    #[error("{at}: warning: acl.allow is empty, every request will be refused")]
    EmptyAcl {
        /// Where the `[acl]` table is.
        at: Location,
    },
    /// A `[cdr] fields` entry only repeats a built-in column (`number:billsec`): ignored.
    #[error(
        "{at}: warning: cdr.fields: {value:?} repeats the built-in column {column}; entry \
         ignored"
    )]
    CdrFieldIsBuiltin {
        /// Where the entry is.
        at: Location,
        /// The entry as written.
        value: String,
        /// The built-in column.
        column: String,
    },
    /// A gateway's address is not allowed by the ACL, so its requests would be refused.
    #[error("{at}: warning: gateway {name} at {ip} is not allowed by [acl]")]
    GatewayOutsideAcl {
        /// Where the gateway is.
        at: Location,
        /// The gateway.
        name: String,
        /// Its address.
        ip: std::net::IpAddr,
    },
}

/// Everything wrong with a configuration directory: all errors of all files, plus the warnings
/// found on the way. Display prints one diagnostic per line, errors first.
#[derive(Debug, Default)]
pub struct ConfigErrors {
    /// The fatal problems, in file order (never empty when returned by `Config::load`).
    pub errors: Vec<ConfigError>,
    /// Non-fatal findings.
    pub warnings: Vec<ConfigWarning>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for line in self
            .errors
            .iter()
            .map(|e| e as &dyn fmt::Display)
            .chain(self.warnings.iter().map(|w| w as &dyn fmt::Display))
        {
            if !first {
                writeln!(f)?;
            }
            first = false;
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The text of one loaded file, used to turn byte offsets (TOML spans) into [`Location`]s.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Path as found.
    pub(crate) path: PathBuf,
    /// Whole content.
    pub(crate) text: String,
}

impl SourceFile {
    /// The location of byte `offset` (clamped to the text, snapped back to a char boundary).
    pub(crate) fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location {
            path: self.path.clone(),
            line,
            column,
        }
    }
}
