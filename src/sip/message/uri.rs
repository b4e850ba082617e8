//! URIs (RFC 3261 §19.1, §25.1 `SIP-URI`/`SIPS-URI`, RFC 3966 `tel:`), with any other
//! `absoluteURI` scheme kept opaque. Escaped characters (`%41`) are kept as received, so
//! `Display` reproduces the input exactly. IPv6 references are `[...]` (RFC 3261 §25.1
//! `IPv6reference`). Depends on [`super::lex`], [`super::typed::params`].

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::ParseError;
use super::typed::params::Params;

/// The host part of a SIP URI or Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, kept as received (compare case-insensitively).
    Name(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written `[...]` on the wire).
    V6(Ipv6Addr),
}

impl Host {
    /// Parses a host: `[v6]`, dotted IPv4, or a hostname (RFC 3261 §25.1 `host`).
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(ParseError::BadUri)?;
            return inner.parse().map(Host::V6).map_err(|_| ParseError::BadUri);
        }
        if s.is_empty() {
            return Err(ParseError::BadUri);
        }
        if let Ok(v4) = s.parse::<Ipv4Addr>() {
            return Ok(Host::V4(v4));
        }
        // RFC 3261 §25.1 hostname = *( domainlabel "." ) toplabel [ "." ]; '_' is tolerated
        // because some devices use host names containing it.
        let ok = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && !s.starts_with(['.', '-']);
        if ok {
            Ok(Host::Name(s.to_owned()))
        } else {
            Err(ParseError::BadUri)
        }
    }

    /// Parses `host[:port]` (used by URIs and Via sent-by).
    pub(crate) fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), ParseError> {
        let (host, port) = if s.starts_with('[') {
            let end = s.find(']').ok_or(ParseError::BadUri)?;
            let (h, rest) = s.split_at(end + 1);
            (h, rest)
        } else {
            match s.find(':') {
                Some(i) => s.split_at(i),
                None => (s, ""),
            }
        };
        let port = match port {
            "" => None,
            p => {
                let digits = p.strip_prefix(':').ok_or(ParseError::BadUri)?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseError::BadUri);
                }
                Some(digits.parse::<u16>().map_err(|_| ParseError::BadUri)?)
            }
        };
        Ok((Host::parse(host)?, port))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// `sip:` or `sips:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:` (TLS required, RFC 3261 §19.1)
    Sips,
}

impl Scheme {
    /// Lower-case scheme name without the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
        }
    }
}

/// A `sip:`/`sips:` URI. User and password are kept escaped as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// sip or sips.
    pub scheme: Scheme,
    /// User part (escaped form), if any.
    pub user: Option<String>,
    /// Password (escaped form), if any. Its use is NOT RECOMMENDED (RFC 3261 §19.1.1).
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Port, if given.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// Header part after `?`, kept verbatim (without the `?`).
    pub headers: Option<String>,
}

impl SipUri {
    /// A URI `scheme:host` with no user, port or parameters.
    pub fn new(scheme: Scheme, host: Host) -> SipUri {
        SipUri {
            scheme,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: None,
        }
    }

    /// Parses the part after `sip:`/`sips:`.
    fn parse_rest(scheme: Scheme, rest: &str) -> Result<SipUri, ParseError> {
        // RFC 3261 §25.1: '@' cannot appear unescaped in params or headers, so the last
        // '@' ends the userinfo (the user part itself may contain '?', ';' and '/').
        let (userinfo, after_user) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (hostpart, headers) = match after_user.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (after_user, None),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (u, p) = match ui.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if u.is_empty() || !u.bytes().all(is_user_char) {
                    return Err(ParseError::BadUri);
                }
                if let Some(p) = p {
                    if !p.bytes().all(is_password_char) {
                        return Err(ParseError::BadUri);
                    }
                }
                (Some(u.to_owned()), p.map(str::to_owned))
            }
        };
        let (hostport, params) = match hostpart.find(';') {
            Some(i) => hostpart.split_at(i),
            None => (hostpart, ""),
        };
        let (host, port) = Host::parse_hostport(hostport)?;
        let params = Params::parse_with(params, is_uri_param_char, ParseError::BadUri)?;
        if let Some(h) = headers {
            if h.is_empty() || !h.bytes().all(is_uri_header_char) {
                return Err(ParseError::BadUri);
            }
        }
        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers: headers.map(str::to_owned),
        })
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

/// A `tel:` URI (RFC 3966): the number (global `+...` or local) and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    /// The telephone-subscriber number, with visual separators as received.
    pub number: String,
    /// Parameters such as `phone-context`.
    pub params: Params,
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}{}", self.number, self.params)
    }
}

/// Any URI that can appear in a Request-URI or name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` / `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other scheme, kept verbatim (RFC 3261 §25.1 `absoluteURI`).
    Other(String),
}

impl Uri {
    /// Parses a URI. Whitespace, `<`, `>` and `"` are never allowed (RFC 3261 §25.1).
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        if s.bytes()
            .any(|b| b <= b' ' || matches!(b, b'<' | b'>' | b'"' | 0x7f))
        {
            return Err(ParseError::BadUri);
        }
        let (scheme, rest) = s.split_once(':').ok_or(ParseError::BadUri)?;
        let scheme_ok = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(ParseError::BadUri);
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_rest(Scheme::Sip, rest).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_rest(Scheme::Sips, rest).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            let (number, params) = match rest.find(';') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            // RFC 3966 §3: global numbers start with '+', local ones are digits/visuals.
            let body = number.strip_prefix('+').unwrap_or(number);
            let ok = !body.is_empty()
                && body.bytes().all(|b| {
                    b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')')
                });
            if !ok {
                return Err(ParseError::BadUri);
            }
            let params = Params::parse_with(params, is_uri_param_char, ParseError::BadUri)?;
            Ok(Uri::Tel(TelUri {
                number: number.to_owned(),
                params,
            }))
        } else if rest.is_empty() {
            Err(ParseError::BadUri)
        } else {
            Ok(Uri::Other(s.to_owned()))
        }
    }

    /// The SIP URI inside, if this is `sip:`/`sips:`.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(u) => u.fmt(f),
            Uri::Other(s) => f.write_str(s),
        }
    }
}

/// RFC 3261 §25.1 `unreserved` (alphanum / mark) plus `%` for escapes.
#[inline]
fn is_unreserved_or_escape(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' | b'%'
        )
}

/// RFC 3261 §25.1 `user`: unreserved / escaped / user-unreserved.
#[inline]
/// An unescaped `#` is tolerated: phones send feature codes such as `sip:*97#@host`.
fn is_user_char(b: u8) -> bool {
    is_unreserved_or_escape(b)
        || matches!(
            b,
            b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/' | b'#'
        )
}

/// RFC 3261 §25.1 `password`.
#[inline]
fn is_password_char(b: u8) -> bool {
    is_unreserved_or_escape(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

/// RFC 3261 §25.1 `paramchar`.
#[inline]
pub(crate) fn is_uri_param_char(b: u8) -> bool {
    is_unreserved_or_escape(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

/// RFC 3261 §25.1 `hname`/`hvalue` characters plus `=` and `&` separators.
#[inline]
fn is_uri_header_char(b: u8) -> bool {
    is_unreserved_or_escape(b)
        || matches!(
            b,
            b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$' | b'=' | b'&'
        )
}

#[cfg(test)]
#[path = "uri_tests.rs"]
mod tests;
