//! The gateway directory in force: the trunks calls may be dialled through and the ones
//! trusted by source address, swappable while the switch runs (the web admin edits it), so
//! a call reads one consistent list and a change reaches the next call at once.
//!
//! Depends on: `crate::config` (the `Gateway` type and the source-address rule), std.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::{Gateway, ListenTransport};

/// The gateways in force; cheap to clone (all clones see the same list).
#[derive(Debug, Clone, Default)]
pub struct LiveGateways {
    inner: Arc<RwLock<Arc<Vec<Gateway>>>>,
}

impl LiveGateways {
    /// A directory holding `gateways`.
    pub fn new(gateways: Vec<Gateway>) -> LiveGateways {
        LiveGateways {
            inner: Arc::new(RwLock::new(Arc::new(gateways))),
        }
    }

    /// The list in force now (a snapshot: later changes do not alter it).
    pub fn current(&self) -> Arc<Vec<Gateway>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Installs `gateways` for every later lookup.
    pub fn replace(&self, gateways: Vec<Gateway>) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(gateways);
    }

    /// The gateway named `name`.
    pub fn get(&self, name: &str) -> Option<Gateway> {
        self.current().iter().find(|g| g.name == name).cloned()
    }

    /// The gateway trusted by source address that `source` belongs to: same IP, and for
    /// UDP gateways also the same port (a UDP carrier sends from its signalling port, and
    /// matching it keeps phones on the same host from being taken for the carrier);
    /// TCP/TLS gateways match by IP only (ephemeral ports).
    pub fn trusted(&self, source: SocketAddr) -> Option<Gateway> {
        let ip = source.ip().to_canonical();
        self.current()
            .iter()
            .find(|g| {
                g.trust_inbound_by_source
                    && g.ip.map(|gip| gip.to_canonical()) == Some(ip)
                    && (g.transport != ListenTransport::Udp || g.port == source.port())
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(name: &str, addr: &str, transport: ListenTransport, trust: bool) -> Gateway {
        let sa: SocketAddr = addr.parse().expect("addr");
        Gateway {
            name: name.into(),
            host: sa.ip().to_string(),
            port: sa.port(),
            ip: Some(sa.ip()),
            transport,
            trust_inbound_by_source: trust,
            register: false,
        }
    }

    #[test]
    fn trusted_by_ip_and_udp_port_and_replace_takes_effect() {
        let live = LiveGateways::new(vec![gw(
            "carrier",
            "127.0.0.1:5080",
            ListenTransport::Udp,
            true,
        )]);
        let sa = |s: &str| s.parse::<SocketAddr>().expect("sa");
        assert_eq!(
            live.trusted(sa("127.0.0.1:5080")).map(|g| g.name),
            Some("carrier".into())
        );
        assert!(live.trusted(sa("127.0.0.1:5090")).is_none());
        let before = live.current();
        live.replace(vec![
            gw("tcp", "10.0.0.1:5060", ListenTransport::Tcp, true),
            gw("plain", "10.0.0.2:5060", ListenTransport::Udp, false),
        ]);
        assert_eq!(before.len(), 1, "a snapshot does not change");
        assert_eq!(
            live.trusted(sa("10.0.0.1:40000")).map(|g| g.name),
            Some("tcp".into())
        );
        assert!(live.trusted(sa("10.0.0.2:5060")).is_none(), "not trusted");
        assert!(live.get("carrier").is_none());
        assert_eq!(live.get("plain").map(|g| g.port), Some(5060));
    }
}
