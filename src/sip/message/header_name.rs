//! Header field names: the ones the stack uses get a variant, everything else is
//! [`HeaderName::Other`]. Parsing is case-insensitive and understands compact forms
//! (RFC 3261 §7.3.3 and the IANA "Header Fields" registry). Depends on nothing else.

use std::fmt;
use std::hash::{Hash, Hasher};

/// A header field name.
#[derive(Debug, Clone)]
pub enum HeaderName {
    /// Via (compact `v`).
    Via,
    /// From (compact `f`).
    From,
    /// To (compact `t`).
    To,
    /// Call-ID (compact `i`).
    CallId,
    /// CSeq.
    CSeq,
    /// Contact (compact `m`).
    Contact,
    /// Max-Forwards.
    MaxForwards,
    /// Content-Length (compact `l`).
    ContentLength,
    /// Content-Type (compact `c`).
    ContentType,
    /// Expires.
    Expires,
    /// Min-Expires.
    MinExpires,
    /// Route.
    Route,
    /// Record-Route.
    RecordRoute,
    /// Authorization.
    Authorization,
    /// Proxy-Authorization.
    ProxyAuthorization,
    /// WWW-Authenticate.
    WwwAuthenticate,
    /// Proxy-Authenticate.
    ProxyAuthenticate,
    /// Authentication-Info.
    AuthenticationInfo,
    /// Allow.
    Allow,
    /// Supported (compact `k`).
    Supported,
    /// Require.
    Require,
    /// Proxy-Require.
    ProxyRequire,
    /// Unsupported.
    Unsupported,
    /// User-Agent.
    UserAgent,
    /// Server.
    Server,
    /// Date.
    Date,
    /// Timestamp.
    Timestamp,
    /// Subject (compact `s`).
    Subject,
    /// Accept.
    Accept,
    /// Event (compact `o`, RFC 6665).
    Event,
    /// Refer-To (compact `r`, RFC 3515).
    ReferTo,
    /// Referred-By (compact `b`, RFC 3892).
    ReferredBy,
    /// Session-Expires (compact `x`, RFC 4028).
    SessionExpires,
    /// Min-SE (RFC 4028).
    MinSe,
    /// Warning.
    Warning,
    /// Retry-After.
    RetryAfter,
    /// Any other header, named as received (compact forms of unlisted headers are
    /// expanded to their canonical name, e.g. `e` → `Content-Encoding`).
    Other(Box<str>),
}

/// Longest name the fast lower-casing path handles; longer names are compared directly.
const MAX_FAST: usize = 24;

impl HeaderName {
    /// Parses a header name (no surrounding whitespace), case-insensitively, expanding
    /// compact forms. Never fails: unknown names become [`HeaderName::Other`].
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        let mut buf = [0u8; MAX_FAST];
        if name.len() <= MAX_FAST {
            let lower = &mut buf[..name.len()];
            for (d, s) in lower.iter_mut().zip(name) {
                *d = s.to_ascii_lowercase();
            }
            if let Some(known) = Self::known(lower) {
                return known;
            }
        }
        HeaderName::Other(String::from_utf8_lossy(name).into())
    }

    /// Like [`HeaderName::from_bytes`] for a `&str`.
    pub fn parse(name: &str) -> HeaderName {
        Self::from_bytes(name.as_bytes())
    }

    /// Maps a lower-cased name to a known variant (including compact forms). Dispatches on
    /// the first byte so that only a handful of names are compared.
    fn known(lower: &[u8]) -> Option<HeaderName> {
        use HeaderName as H;
        let other = |s: &str| Some(H::Other(s.into()));
        match *lower.first()? {
            b'a' => match lower {
                b"accept" => Some(H::Accept),
                b"allow" => Some(H::Allow),
                b"authorization" => Some(H::Authorization),
                b"authentication-info" => Some(H::AuthenticationInfo),
                // Registered compact forms of headers without a variant (IANA registry).
                b"a" => other("Accept-Contact"),
                _ => None,
            },
            b'b' => matches!(lower, b"b").then_some(H::ReferredBy),
            b'c' => match lower {
                b"call-id" => Some(H::CallId),
                b"cseq" => Some(H::CSeq),
                b"contact" => Some(H::Contact),
                b"content-length" => Some(H::ContentLength),
                b"content-type" | b"c" => Some(H::ContentType),
                _ => None,
            },
            b'd' => match lower {
                b"date" => Some(H::Date),
                b"d" => other("Request-Disposition"),
                _ => None,
            },
            b'e' => match lower {
                b"expires" => Some(H::Expires),
                b"event" => Some(H::Event),
                b"e" => other("Content-Encoding"),
                _ => None,
            },
            b'f' => matches!(lower, b"from" | b"f").then_some(H::From),
            b'i' => matches!(lower, b"i").then_some(H::CallId),
            b'j' => matches!(lower, b"j").then(|| H::Other("Reject-Contact".into())),
            b'k' => matches!(lower, b"k").then_some(H::Supported),
            b'l' => matches!(lower, b"l").then_some(H::ContentLength),
            b'm' => match lower {
                b"m" => Some(H::Contact),
                b"max-forwards" => Some(H::MaxForwards),
                b"min-expires" => Some(H::MinExpires),
                b"min-se" => Some(H::MinSe),
                _ => None,
            },
            b'n' => matches!(lower, b"n").then(|| H::Other("Identity-Info".into())),
            b'o' => matches!(lower, b"o").then_some(H::Event),
            b'p' => match lower {
                b"proxy-authorization" => Some(H::ProxyAuthorization),
                b"proxy-authenticate" => Some(H::ProxyAuthenticate),
                b"proxy-require" => Some(H::ProxyRequire),
                _ => None,
            },
            b'r' => match lower {
                b"route" => Some(H::Route),
                b"record-route" => Some(H::RecordRoute),
                b"require" => Some(H::Require),
                b"refer-to" | b"r" => Some(H::ReferTo),
                b"referred-by" => Some(H::ReferredBy),
                b"retry-after" => Some(H::RetryAfter),
                _ => None,
            },
            b's' => match lower {
                b"supported" => Some(H::Supported),
                b"server" => Some(H::Server),
                b"subject" | b"s" => Some(H::Subject),
                b"session-expires" => Some(H::SessionExpires),
                _ => None,
            },
            b't' => match lower {
                b"to" | b"t" => Some(H::To),
                b"timestamp" => Some(H::Timestamp),
                _ => None,
            },
            b'u' => match lower {
                b"user-agent" => Some(H::UserAgent),
                b"unsupported" => Some(H::Unsupported),
                b"u" => other("Allow-Events"),
                _ => None,
            },
            b'v' => matches!(lower, b"via" | b"v").then_some(H::Via),
            b'w' => match lower {
                b"www-authenticate" => Some(H::WwwAuthenticate),
                b"warning" => Some(H::Warning),
                _ => None,
            },
            b'x' => matches!(lower, b"x").then_some(H::SessionExpires),
            b'y' => matches!(lower, b"y").then(|| H::Other("Identity".into())),
            _ => None,
        }
    }

    /// The canonical (long-form) name, e.g. `"Call-ID"`, `"CSeq"`, `"WWW-Authenticate"`.
    pub fn as_str(&self) -> &str {
        use HeaderName as H;
        match self {
            H::Via => "Via",
            H::From => "From",
            H::To => "To",
            H::CallId => "Call-ID",
            H::CSeq => "CSeq",
            H::Contact => "Contact",
            H::MaxForwards => "Max-Forwards",
            H::ContentLength => "Content-Length",
            H::ContentType => "Content-Type",
            H::Expires => "Expires",
            H::MinExpires => "Min-Expires",
            H::Route => "Route",
            H::RecordRoute => "Record-Route",
            H::Authorization => "Authorization",
            H::ProxyAuthorization => "Proxy-Authorization",
            H::WwwAuthenticate => "WWW-Authenticate",
            H::ProxyAuthenticate => "Proxy-Authenticate",
            H::AuthenticationInfo => "Authentication-Info",
            H::Allow => "Allow",
            H::Supported => "Supported",
            H::Require => "Require",
            H::ProxyRequire => "Proxy-Require",
            H::Unsupported => "Unsupported",
            H::UserAgent => "User-Agent",
            H::Server => "Server",
            H::Date => "Date",
            H::Timestamp => "Timestamp",
            H::Subject => "Subject",
            H::Accept => "Accept",
            H::Event => "Event",
            H::ReferTo => "Refer-To",
            H::ReferredBy => "Referred-By",
            H::SessionExpires => "Session-Expires",
            H::MinSe => "Min-SE",
            H::Warning => "Warning",
            H::RetryAfter => "Retry-After",
            H::Other(s) => s,
        }
    }

    /// The canonical name as a `&'static str` for known headers (used in error values);
    /// `"Header"` for [`HeaderName::Other`].
    pub fn static_name(&self) -> &'static str {
        match self {
            HeaderName::Other(_) => "Header",
            known => match Self::known_static(known) {
                Some(s) => s,
                None => "Header",
            },
        }
    }

    /// Static canonical name of a known variant.
    fn known_static(&self) -> Option<&'static str> {
        const ALL: &[&str] = &[
            "Via",
            "From",
            "To",
            "Call-ID",
            "CSeq",
            "Contact",
            "Max-Forwards",
            "Content-Length",
            "Content-Type",
            "Expires",
            "Min-Expires",
            "Route",
            "Record-Route",
            "Authorization",
            "Proxy-Authorization",
            "WWW-Authenticate",
            "Proxy-Authenticate",
            "Authentication-Info",
            "Allow",
            "Supported",
            "Require",
            "Proxy-Require",
            "Unsupported",
            "User-Agent",
            "Server",
            "Date",
            "Timestamp",
            "Subject",
            "Accept",
            "Event",
            "Refer-To",
            "Referred-By",
            "Session-Expires",
            "Min-SE",
            "Warning",
            "Retry-After",
        ];
        let name = self.as_str();
        ALL.iter().copied().find(|s| *s == name)
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        if let HeaderName::Other(s) = self {
            for b in s.bytes() {
                state.write_u8(b.to_ascii_lowercase());
            }
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        HeaderName::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_long_compact_and_mixed_case() {
        let cases = [
            ("Via", HeaderName::Via),
            ("v", HeaderName::Via),
            ("V", HeaderName::Via),
            ("cALL-id", HeaderName::CallId),
            ("i", HeaderName::CallId),
            ("m", HeaderName::Contact),
            ("l", HeaderName::ContentLength),
            ("c", HeaderName::ContentType),
            ("k", HeaderName::Supported),
            ("o", HeaderName::Event),
            ("r", HeaderName::ReferTo),
            ("b", HeaderName::ReferredBy),
            ("x", HeaderName::SessionExpires),
            ("www-authenticate", HeaderName::WwwAuthenticate),
            ("e", HeaderName::Other("Content-Encoding".into())),
            ("u", HeaderName::Other("allow-events".into())),
            ("X-Custom", HeaderName::Other("x-custom".into())),
            (
                "NewFangledHeaderThatIsVeryLongIndeed",
                HeaderName::Other("newfangledheaderthatisverylongindeed".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(HeaderName::parse(input), want, "{input}");
        }
        assert_eq!(HeaderName::parse("i").as_str(), "Call-ID");
        assert_eq!(HeaderName::parse("e").as_str(), "Content-Encoding");
        assert_eq!(
            HeaderName::WwwAuthenticate.static_name(),
            "WWW-Authenticate"
        );
        assert_ne!(HeaderName::Via, HeaderName::From);
    }

    #[test]
    fn every_canonical_name_parses_back() {
        use HeaderName as H;
        let all = [
            H::Via,
            H::From,
            H::To,
            H::CallId,
            H::CSeq,
            H::Contact,
            H::MaxForwards,
            H::ContentLength,
            H::ContentType,
            H::Expires,
            H::MinExpires,
            H::Route,
            H::RecordRoute,
            H::Authorization,
            H::ProxyAuthorization,
            H::WwwAuthenticate,
            H::ProxyAuthenticate,
            H::AuthenticationInfo,
            H::Allow,
            H::Supported,
            H::Require,
            H::ProxyRequire,
            H::Unsupported,
            H::UserAgent,
            H::Server,
            H::Date,
            H::Timestamp,
            H::Subject,
            H::Accept,
            H::Event,
            H::ReferTo,
            H::ReferredBy,
            H::SessionExpires,
            H::MinSe,
            H::Warning,
            H::RetryAfter,
        ];
        for h in all {
            assert_eq!(HeaderName::parse(h.as_str()), h, "{h}");
            assert_eq!(
                HeaderName::parse(&h.as_str().to_ascii_uppercase()),
                h,
                "{h}"
            );
            assert_eq!(h.static_name(), h.as_str());
            assert!(!matches!(HeaderName::parse(h.as_str()), H::Other(_)));
        }
    }
}
