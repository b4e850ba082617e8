//! Where a routed call rings: every registered contact of an extension (reached at the
//! address and flow it registered from, for NATed and TCP/TLS phones), or a gateway.
//!
//! Depends on `sip::registrar` (location service), `config` (gateways).

use crate::config::ListenTransport;
use crate::sip::message::{NameAddr, Transport, Uri};
use crate::sip::transport::Target;
use crate::switch::errors::CallError;

use super::route::Route;
use super::CallContext;

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

/// The destinations of `route`; an error when there is none to ring.
pub(super) async fn destinations(
    ctx: &CallContext,
    route: &Route,
    _caller: &str,
) -> Result<Vec<Dest>, CallError> {
    match route {
        // The echo test rings nobody: the actor answers it itself (see `echo`).
        Route::NotFound | Route::Echo => Err(CallError::NotFound {
            target: String::new(),
        }),
        Route::Extension { number } => {
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
        Route::Gateway { gateway, number } => {
            let gw = ctx
                .config
                .gateways
                .iter()
                .find(|g| &g.name == gateway)
                .ok_or(CallError::Congestion)?;
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
