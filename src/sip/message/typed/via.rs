//! The Via header value (RFC 3261 §20.42, §25.1 `via-parm`) and the transport token.
//! Depends on [`crate::sip::message::uri`] for hosts and on [`super::params`].

use std::fmt;

use super::params::{is_generic_param_char, Params};
use crate::sip::message::error::ParseError;
use crate::sip::message::lex::{is_lws, is_token, split_params, trim_lws};
use crate::sip::message::uri::Host;

/// A transport protocol as named in Via (`SIP/2.0/UDP`) and `transport=` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Any other transport token, as received.
    Other(Box<str>),
}

impl Transport {
    /// Parses a transport token case-insensitively.
    pub fn from_token(token: &str) -> Transport {
        const KNOWN: [(&str, Transport); 6] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token))
            .map(|(_, t)| t)
            .unwrap_or_else(|| Transport::Other(token.into()))
    }

    /// Upper-case token (`"UDP"`, `"TLS"`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }

    /// Whether the transport is reliable (no retransmissions, RFC 3261 §17.1.1.2).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp | Transport::Other(_))
    }

    /// Whether the transport is secured with TLS.
    pub fn is_secure(&self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// The default port (RFC 3261 §19.1.2: 5060, or 5061 over TLS).
    pub fn default_port(&self) -> u16 {
        if self.is_secure() {
            5061
        } else {
            5060
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Via header value (one hop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport of the hop.
    pub transport: Transport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port, if given.
    pub port: Option<u16>,
    /// Via parameters (branch, received, rport, maddr, ttl, ...).
    pub params: Params,
}

/// The error for any malformed Via.
const BAD_VIA: ParseError = ParseError::BadHeaderValue { header: "Via" };

impl Via {
    /// A Via `SIP/2.0/<transport> host[:port];branch=<branch>`.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch.to_owned()));
        Via {
            transport,
            host,
            port,
            params,
        }
    }

    /// Parses one via-parm (not a comma list).
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let (head, params) = split_params(s);
        // sent-protocol = "SIP" SLASH "2.0" SLASH transport, SLASH = SWS "/" SWS.
        let mut parts = head.splitn(3, '/');
        let name = trim_lws(parts.next().ok_or(BAD_VIA)?);
        let version = trim_lws(parts.next().ok_or(BAD_VIA)?);
        let rest = trim_lws(parts.next().ok_or(BAD_VIA)?);
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(BAD_VIA);
        }
        let split = rest.bytes().position(is_lws).ok_or(BAD_VIA)?;
        let (transport, sent_by) = rest.split_at(split);
        if !is_token(transport) {
            return Err(BAD_VIA);
        }
        let sent_by = trim_lws(sent_by);
        // COLON = SWS ":" SWS: drop whitespace around the port separator.
        let compact: String;
        let sent_by = if sent_by.bytes().any(is_lws) {
            compact = sent_by
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            compact.as_str()
        } else {
            sent_by
        };
        let (host, port) = Host::parse_hostport(sent_by).map_err(|_| BAD_VIA)?;
        let params = Params::parse_with(params, is_generic_param_char, BAD_VIA)?;
        Ok(Via {
            transport: Transport::from_token(transport),
            host,
            port,
            params,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// The received parameter (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }

    /// The rport parameter (RFC 3581): `None` absent, `Some(None)` present without value,
    /// `Some(Some(port))` filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// The maddr parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr").flatten()
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_vias() {
        let cases = [
            (
                "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK77;rport",
                "10.0.0.1",
                Some(5060),
                Transport::Udp,
                Some("z9hG4bK77"),
            ),
            (
                "SIP / 2.0 / tcp  host.example.com ;branch = z9hG4bKx",
                "host.example.com",
                None,
                Transport::Tcp,
                Some("z9hG4bKx"),
            ),
            (
                "SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK1;received=2001:db8::9",
                "[2001:db8::1]",
                Some(5061),
                Transport::Tls,
                Some("z9hG4bK1"),
            ),
            (
                "SIP/2.0/UDP h : 5070",
                "h",
                Some(5070),
                Transport::Udp,
                None,
            ),
            (
                "SIP/2.0/NEWT h",
                "h",
                None,
                Transport::Other("NEWT".into()),
                None,
            ),
        ];
        for (input, host, port, transport, branch) in cases {
            let via = Via::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(via.host.to_string(), host, "{input}");
            assert_eq!(via.port, port, "{input}");
            assert_eq!(via.transport, transport, "{input}");
            assert_eq!(via.branch(), branch, "{input}");
        }
        let v = Via::parse("SIP/2.0/UDP a;rport=5062;received=1.2.3.4").expect("valid");
        assert_eq!(v.rport(), Some(Some(5062)));
        assert_eq!(v.received(), Some("1.2.3.4"));
        assert_eq!(v.to_string(), "SIP/2.0/UDP a;rport=5062;received=1.2.3.4");
    }

    #[test]
    fn rejects_invalid_vias() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/3.0/UDP h",
            "SIP/2.0 h",
            "SIP/2.0/UDP h:x",
            "SIP/2.0/UDP h;=1",
            "SIP/2.0/UDP [::1",
        ] {
            assert_eq!(Via::parse(bad), Err(BAD_VIA), "{bad}");
        }
    }
}
