//! The two small syntaxes inside `[cdr]`: custom field specifications (mod_cti `fields`,
//! seed 001) and the webhook's `http://host[:port]/path` URL ([`parse_http_url`], also the
//! URL parser of the webhook client in `cdr::webhook`).
//!
//! Field specification grammar (`number:` selects [`FieldKind::Number`]):
//!
//! ```text
//! spec     = [ "number:" ] ( var | column ":" value )
//! value    = var | template
//! template = *( literal | "${" var "}" )        ; at least one "${var}"
//! column   = [a-z_][a-z0-9_]*   (<= 63 chars, not a built-in column, not an SQL keyword)
//! var      = [A-Za-z0-9_.-]+
//! ```
//!
//! A bare `var` is stored in the column of the same name, so it must itself be a valid
//! column; `sip_h_X-Id` needs an explicit `x_id:sip_h_X-Id`.
//!
//! Depends on: std, thiserror, and the field types of `super`.

use std::net::Ipv6Addr;

use super::{FieldKind, FieldPart, FieldSpec};

/// Longest custom column name (PostgreSQL's identifier limit, so exports stay portable).
pub const MAX_COLUMN_LEN: usize = 63;

/// Columns of the leg (`cdr_leg`) and bridge (`cdr`) tables and of the CSV/export layouts:
/// every scalar field of `LegRecord` and `BridgeRecord`, the flattened RTP counters, the
/// store's own columns and the local-time renderings of the export. A custom field may not
/// use one of these names.
#[rustfmt::skip]
pub const BUILTIN_COLUMNS: &[&str] = &[
    // store's own columns
    "id", "status", "details", "variables", "record_id",
    // LegRecord
    "uuid", "node_id", "direction", "account", "caller_id_number", "caller_id_name",
    "callee_id_number", "destination_number", "originator", "bridge_uuid", "call_source",
    "source_name", "source_number", "dial_number", "line_group", "context", "channel_name",
    "sip_call_id", "start", "answer", "end", "duration", "billsec", "duration_ms",
    "billsec_ms", "hangup_cause", "q850", "sip_code", "hangup_side", "codec", "rtp",
    "rtp_in_packets", "rtp_in_lost", "rtp_in_jitter_ms", "rtp_out_packets", "rtp_out_lost",
    "rtp_out_jitter_ms", "linkedid", "accountcode", "amaflags", "userfield",
    // BridgeRecord
    "clid", "src", "dst", "dcontext", "channel", "dstchannel", "lastapp", "lastdata",
    "disposition", "peeraccount", "uniqueid", "peer_uniqueid", "sequence",
    // local renderings (CSV, export)
    "start_local", "answer_local", "end_local",
];

/// SQLite keywords (sqlite.org/lang_keywords.html): refused as custom column names so
/// that they can be used unquoted in any SQL the store writes.
const SQL_KEYWORDS: &str = "abort action add after all alter always analyze and as asc attach \
    autoincrement before begin between by cascade case cast check collate column commit \
    conflict constraint create cross current current_date current_time current_timestamp \
    database default deferrable deferred delete desc detach distinct do drop each else end \
    escape except exclude exclusive exists explain fail filter first following for foreign \
    from full generated glob group groups having if ignore immediate in index indexed \
    initially inner insert instead intersect into is isnull join key last left like limit \
    match materialized natural no not nothing notnull null nulls of offset on or order others \
    outer over partition plan pragma preceding primary query raise range recursive references \
    regexp reindex release rename replace restrict returning right rollback row rows \
    savepoint select set table temp temporary then ties to transaction trigger unbounded union \
    unique update using vacuum values view virtual when where window with without";

/// Why a `cdr.fields` entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The entry is empty (or only `number:`), or has an empty column or variable.
    #[error("empty column or variable name")]
    Empty,
    /// The column is not `[a-z_][a-z0-9_]*` of at most 63 characters.
    #[error(
        "column {0:?} is not a safe SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters); \
         name the column explicitly as column:variable"
    )]
    BadColumn(String),
    /// The column is a built-in column of the CDR tables.
    #[error(
        "column {0:?} is a built-in CDR column; store it under another name (column:variable)"
    )]
    BuiltinColumn(String),
    /// The column is an SQL keyword.
    #[error("column {0:?} is an SQL keyword; choose another name")]
    KeywordColumn(String),
    /// A variable name has characters outside `[A-Za-z0-9_.-]`.
    #[error("variable name {0:?} may only contain letters, digits, '_', '.' and '-'")]
    BadVariable(String),
    /// `${` without its `}`.
    #[error("\"${{\" without a closing \"}}\"")]
    Unclosed,
    /// A `${..}` template without a column to store it in.
    #[error("a template needs a column: write column:${{a}}${{b}}")]
    TemplateNeedsColumn,
}

/// Parses one `cdr.fields` entry (see the module docs for the grammar). A column that is
/// built in ([`BUILTIN_COLUMNS`]) is not refused here: a field that only repeats a
/// built-in column (`number:billsec`, common in mod_cti configurations) is ignored with a
/// warning at load, any other use of such a column is [`FieldError::BuiltinColumn`].
pub fn parse_field(text: &str) -> Result<FieldSpec, FieldError> {
    let (kind, rest) = match text.strip_prefix("number:") {
        Some(rest) => (FieldKind::Number, rest),
        None => (FieldKind::Text, text),
    };
    let (column, template) = match rest.split_once(':') {
        Some((column, value)) => (column, parse_value(value)?),
        None if rest.contains("${") => return Err(FieldError::TemplateNeedsColumn),
        None => (rest, parse_value(rest)?),
    };
    check_column(column)?;
    Ok(FieldSpec {
        column: column.to_owned(),
        kind,
        template,
    })
}

/// A plain variable name, or a template with at least one `${var}`.
fn parse_value(value: &str) -> Result<Vec<FieldPart>, FieldError> {
    if !value.contains("${") {
        check_variable(value)?;
        return Ok(vec![FieldPart::Var(value.to_owned())]);
    }
    let mut parts = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find("${") {
        if open > 0 {
            parts.push(FieldPart::Literal(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let close = after.find('}').ok_or(FieldError::Unclosed)?;
        let name = &after[..close];
        check_variable(name)?;
        parts.push(FieldPart::Var(name.to_owned()));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(FieldPart::Literal(rest.to_owned()));
    }
    Ok(parts)
}

/// `[A-Za-z0-9_.-]+`.
fn check_variable(name: &str) -> Result<(), FieldError> {
    if name.is_empty() {
        return Err(FieldError::Empty);
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.chars().all(ok) {
        Ok(())
    } else {
        Err(FieldError::BadVariable(name.to_owned()))
    }
}

/// `[a-z_][a-z0-9_]*`, at most [`MAX_COLUMN_LEN`], not a keyword. (Built-in columns are
/// checked by the caller, which accepts the redundant `billsec` / `number:billsec`.)
fn check_column(column: &str) -> Result<(), FieldError> {
    if column.is_empty() {
        return Err(FieldError::Empty);
    }
    let first_ok = column.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let rest_ok = column
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || column.len() > MAX_COLUMN_LEN {
        return Err(FieldError::BadColumn(column.to_owned()));
    }
    if SQL_KEYWORDS.split_ascii_whitespace().any(|k| k == column) {
        return Err(FieldError::KeywordColumn(column.to_owned()));
    }
    Ok(())
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// `https://`: the webhook client speaks plain HTTP only.
    #[error(
        "https is not supported, only http:// URLs are (put a local TLS-terminating proxy in \
         front of an https endpoint)"
    )]
    Https,
    /// Another scheme, or none.
    #[error("must be http://host[:port]/path")]
    NotHttp,
    /// No host after `http://`, or a malformed one.
    #[error("has no valid host")]
    BadHost,
    /// The port is not a number in 1..=65535.
    #[error("has an invalid port (1..=65535)")]
    BadPort,
    /// `user:password@` is not supported.
    #[error("credentials in the URL are not supported")]
    Credentials,
    /// Whitespace, control characters or non-ASCII characters.
    #[error("contains whitespace, control or non-ASCII characters")]
    BadCharacter,
}

/// A parsed `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (80 when not written).
    pub port: u16,
    /// Path and query (the request target, without the fragment), starting with `/` (`/`
    /// when not written).
    pub path: String,
}

impl HttpUrl {
    /// `host:port` for connecting (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Host` header value (RFC 9110 §7.2): the port only when it is not 80.
    pub fn host_header(&self) -> String {
        match (self.host.contains(':'), self.port) {
            (true, 80) => format!("[{}]", self.host),
            (false, 80) => self.host.clone(),
            _ => self.authority(),
        }
    }
}

/// Parses `http://host[:port][/path][?query][#fragment]` (RFC 9110 §4.2.1); see
/// [`UrlProblem`] for refusals. The scheme is case-insensitive, a query without a path gets
/// the path `/`, and a `#fragment` is dropped (RFC 3986 §3.5: it is never sent in a request).
/// This is the only parser of the webhook URL: configuration validation and the webhook
/// client (through [`super::WebhookSettings::endpoint`]) both use it.
pub fn parse_http_url(url: &str) -> Result<HttpUrl, UrlProblem> {
    if url.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(UrlProblem::BadCharacter);
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(UrlProblem::Https);
    }
    if !lower.starts_with("http://") {
        return Err(UrlProblem::NotHttp);
    }
    let rest = &url["http://".len()..];
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if authority.contains('@') {
        return Err(UrlProblem::Credentials);
    }
    let (host, port) = split_authority(authority)?;
    Ok(HttpUrl { host, port, path })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(authority: &str) -> Result<(String, u16), UrlProblem> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or(UrlProblem::BadHost)?;
        addr.parse::<Ipv6Addr>().map_err(|_| UrlProblem::BadHost)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlProblem::BadHost)?),
        };
        (addr, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
    let bracketed = authority.starts_with('[');
    if host.is_empty()
        || (!bracketed && (!host.chars().all(name_ok) || host.starts_with(['-', '.'])))
    {
        return Err(UrlProblem::BadHost);
    }
    let port = match port {
        None => 80,
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(UrlProblem::BadPort)
        }
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => return Err(UrlProblem::BadPort),
        },
    };
    Ok((host.to_owned(), port))
}
