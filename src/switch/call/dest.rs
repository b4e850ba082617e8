//! Where a `Dial` target rings: every registered contact of an extension (reached at the
//! address and flow it registered from, for NATed and TCP/TLS phones), or a gateway.
//!
//! Dial strings are Asterisk's: `SIP/<extension>` (or `PJSIP/...`) and
//! `SIP/<gateway>/<number>`; [`DialTarget::parse`] reads one, [`destinations`] resolves it.
//!
//! Depends on `sip::registrar` (location service), `config` (extensions, gateways).

use crate::config::ListenTransport;
use crate::sip::message::{NameAddr, Transport, Uri};
use crate::sip::transport::Target;
use crate::switch::errors::CallError;

use super::CallContext;

/// One `&`-separated part of a `Dial` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DialTarget {
    /// `SIP/1000`: every registered contact of the extension.
    Extension {
        /// The extension number.
        number: String,
    },
    /// `SIP/carrier/5551234`: the number through a gateway.
    Gateway {
        /// The gateway's name in the configuration.
        gateway: String,
        /// The number to dial there.
        number: String,
    },
}

impl DialTarget {
    /// Parses `TECH/resource[/number]`; `None` for another technology or an empty part.
    pub(super) fn parse(text: &str) -> Option<DialTarget> {
        let (tech, rest) = text.trim().split_once('/')?;
        if !tech.eq_ignore_ascii_case("SIP") && !tech.eq_ignore_ascii_case("PJSIP") {
            return None;
        }
        match rest.split_once('/') {
            None if !rest.is_empty() => Some(DialTarget::Extension {
                number: rest.to_owned(),
            }),
            Some((gateway, number)) if !gateway.is_empty() && is_dialable(number) => {
                Some(DialTarget::Gateway {
                    gateway: gateway.to_owned(),
                    number: number.to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// A non-empty number of digits (and `*`, `#`, `+`).
fn is_dialable(number: &str) -> bool {
    !number.is_empty()
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | '+'))
}

/// Where one B leg rings.
#[derive(Debug, Clone)]
pub(super) struct Dest {
    pub uri: Uri,
    pub to: NameAddr,
    pub target: Target,
    /// `SIP/1001` or `SIP/carrier/5551234`, for `DialBegin`.
    pub dialstring: String,
    /// Channel name prefix (extension or gateway name).
    pub name: String,
    /// The number rung.
    pub number: String,
    /// Whether it is a gateway (`name` is then the gateway's).
    pub gateway: bool,
}

/// The destinations of `target`; an error when there is none to ring.
pub(super) async fn destinations(
    ctx: &CallContext,
    target: &DialTarget,
) -> Result<Vec<Dest>, CallError> {
    match target {
        DialTarget::Extension { number } => {
            if !ctx.registrar.has_user(number) {
                return Err(CallError::NotFound {
                    target: number.clone(),
                });
            }
            let aor = ctx.registrar.aor_for(number);
            let to = Uri::parse(&aor)
                .map(NameAddr::new)
                .map_err(|_| CallError::NotFound {
                    target: number.clone(),
                })?;
            let dests: Vec<Dest> = ctx
                .registrar
                .contacts_for(&aor)
                .into_iter()
                .map(|b| Dest {
                    uri: b.contact.clone(),
                    to: to.clone(),
                    target: Target {
                        transport: b.transport.clone(),
                        addr: b.source,
                        flow: b.flow,
                    },
                    dialstring: format!("SIP/{number}"),
                    name: number.clone(),
                    number: number.clone(),
                    gateway: false,
                })
                .collect();
            if dests.is_empty() {
                return Err(CallError::NotRegistered {
                    target: number.clone(),
                });
            }
            Ok(dests)
        }
        DialTarget::Gateway { gateway, number } => {
            let gw = ctx
                .gateways
                .get(gateway)
                .ok_or_else(|| CallError::NotFound {
                    target: gateway.clone(),
                })?;
            let addr = match gw.ip {
                Some(ip) => std::net::SocketAddr::new(ip, gw.port),
                None => tokio::net::lookup_host(gw.address())
                    .await
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or(CallError::TransportFailure)?,
            };
            let transport = match gw.transport {
                ListenTransport::Udp => Transport::Udp,
                ListenTransport::Tcp => Transport::Tcp,
                ListenTransport::Tls => Transport::Tls,
            };
            let param = match transport {
                Transport::Udp => "",
                Transport::Tls => ";transport=tls",
                _ => ";transport=tcp",
            };
            let uri = Uri::parse(&format!("sip:{number}@{}{param}", gw.address()))
                .map_err(|_| CallError::Rejected { status: 484 })?;
            Ok(vec![Dest {
                to: NameAddr::new(uri.clone()),
                uri,
                target: Target {
                    transport,
                    addr,
                    flow: None,
                },
                dialstring: format!("SIP/{gateway}/{number}"),
                name: gateway.clone(),
                number: number.clone(),
                gateway: true,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DialTarget;

    #[test]
    fn dial_strings_parse_as_asterisk_writes_them() {
        let ext = |n: &str| DialTarget::Extension { number: n.into() };
        assert_eq!(DialTarget::parse("SIP/1000"), Some(ext("1000")));
        assert_eq!(DialTarget::parse(" PJSIP/1001 "), Some(ext("1001")));
        assert_eq!(
            DialTarget::parse("SIP/carrier/5551234"),
            Some(DialTarget::Gateway {
                gateway: "carrier".into(),
                number: "5551234".into()
            })
        );
        for bad in [
            "",
            "SIP/",
            "IAX2/1000",
            "1000",
            "SIP/carrier/",
            "SIP/carrier/55x",
            "SIP//5",
        ] {
            assert_eq!(DialTarget::parse(bad), None, "{bad}");
        }
    }
}
