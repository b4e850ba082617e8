//! name-addr / addr-spec header values: From, To, Contact, Route, Record-Route,
//! Refer-To (RFC 3261 §20.10, §25.1 `name-addr`, `addr-spec`). In the addr-spec form
//! (no `<>`), everything after the first `;` is a header parameter, not a URI parameter
//! (RFC 3261 §20.10). Depends on [`crate::sip::message::uri`], [`super::params`].

use std::fmt;

use super::params::{is_generic_param_char, is_quoted_string, Params};
use crate::sip::message::error::ParseError;
use crate::sip::message::lex::{is_lws, is_token_char, split_params, trim_lws};
use crate::sip::message::uri::Uri;

/// A display name, URI and header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without the surrounding quotes (backslash escapes kept as received).
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, `q`, ...).
    pub params: Params,
}

/// The error returned by [`NameAddr::parse`]; typed accessors re-label it per header.
const BAD_NAME_ADDR: ParseError = ParseError::BadHeaderValue {
    header: "name-addr",
};

impl NameAddr {
    /// `<uri>` without display name or parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses `[display] <uri> *(;param)` or `addr-spec *(;param)`.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let s = trim_lws(s);
        let (display, after_display) = if s.starts_with('"') {
            let end = closing_quote(s).ok_or(BAD_NAME_ADDR)?;
            let quoted = s.get(..=end).ok_or(BAD_NAME_ADDR)?;
            if !is_quoted_string(quoted) {
                return Err(BAD_NAME_ADDR);
            }
            let inner = quoted.get(1..quoted.len() - 1).unwrap_or("");
            let rest = trim_lws(s.get(end + 1..).unwrap_or(""));
            if !rest.starts_with('<') {
                return Err(BAD_NAME_ADDR);
            }
            (Some(inner.to_owned()), rest)
        } else if let Some(lt) = s.find('<') {
            let name = trim_lws(s.get(..lt).unwrap_or(""));
            // RFC 3261 §25.1: display-name = *(token LWS) / quoted-string
            if !name.bytes().all(|b| is_token_char(b) || is_lws(b)) {
                return Err(BAD_NAME_ADDR);
            }
            let display = (!name.is_empty()).then(|| name.to_owned());
            (display, s.get(lt..).unwrap_or(""))
        } else {
            // addr-spec: the URI ends at the first ';' (RFC 3261 §20.10), and a URI with
            // a comma, question mark or semicolon MUST be in angle brackets.
            let (uri, params) = split_params(s);
            if uri.contains([',', '?']) {
                return Err(BAD_NAME_ADDR);
            }
            let uri = Uri::parse(trim_lws(uri)).map_err(|_| BAD_NAME_ADDR)?;
            let params = Params::parse_with(params, is_generic_param_char, BAD_NAME_ADDR)?;
            return Ok(NameAddr {
                display: None,
                uri,
                params,
            });
        };
        let inner = after_display.strip_prefix('<').ok_or(BAD_NAME_ADDR)?;
        let gt = inner.find('>').ok_or(BAD_NAME_ADDR)?;
        let uri = Uri::parse(inner.get(..gt).unwrap_or("")).map_err(|_| BAD_NAME_ADDR)?;
        let params = Params::parse_with(
            inner.get(gt + 1..).unwrap_or(""),
            is_generic_param_char,
            BAD_NAME_ADDR,
        )?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    /// Like [`NameAddr::parse`], reporting errors against `header`.
    pub(crate) fn parse_for(s: &str, header: &'static str) -> Result<NameAddr, ParseError> {
        Self::parse(s).map_err(|_| ParseError::BadHeaderValue { header })
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag.to_owned()));
    }

    /// The `expires` parameter of a Contact (RFC 3261 §20.10), if present and numeric.
    pub fn expires(&self) -> Option<u32> {
        self.params
            .get("expires")
            .flatten()
            .and_then(|v| v.parse().ok())
    }
}

/// Index of the quote closing the quoted string that starts at byte 0.
fn closing_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One Contact value: `*` (only in REGISTER, RFC 3261 §10.2.2) or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactValue {
    /// `Contact: *`
    Star,
    /// A contact address with its parameters.
    Addr(NameAddr),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_addr_forms() {
        let cases = [
            (
                "<sip:alice@atlanta.com>;tag=1928301774",
                None,
                "sip:alice@atlanta.com",
                Some("1928301774"),
            ),
            (
                "\"Bob \\\"B\\\" Smith\" <sips:bob@[::1]:5061;transport=tls>;tag=a",
                Some("Bob \\\"B\\\" Smith"),
                "sips:bob@[::1]:5061;transport=tls",
                Some("a"),
            ),
            (
                "Anonymous Caller <sip:c@example.com>",
                Some("Anonymous Caller"),
                "sip:c@example.com",
                None,
            ),
            ("sip:user@host;tag=xyz", None, "sip:user@host", Some("xyz")),
            ("<tel:+1-201-555-0123>", None, "tel:+1-201-555-0123", None),
            ("<urn:service:sos>", None, "urn:service:sos", None),
            ("\"\" <sip:a@b>", Some(""), "sip:a@b", None),
        ];
        for (input, display, uri, tag) in cases {
            let na = NameAddr::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(na.display.as_deref(), display, "{input}");
            assert_eq!(na.uri.to_string(), uri, "{input}");
            assert_eq!(na.tag(), tag, "{input}");
        }
    }

    #[test]
    fn rejects_bad_name_addrs() {
        for bad in [
            "",
            "\"unterminated <sip:a@b>",
            "<sip:a@b",
            "Bell, Alexander <sip:a@b>",
            "\"x\" sip:a@b",
            "<sip:a@b>;=x",
            "sip:a b@c",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_and_expires() {
        let mut na = NameAddr::parse("<sip:a@b>;expires=60").expect("valid");
        assert_eq!(na.expires(), Some(60));
        na.set_tag("t1");
        assert_eq!(na.to_string(), "<sip:a@b>;expires=60;tag=t1");
    }
}
