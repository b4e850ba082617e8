//! The gateway directory in force: the trunks calls may be dialled through and the ones
//! trusted by source address, swappable while the switch runs, so a call reads one
//! consistent list and a change reaches the next call at once.
//!
//! The list merges two origins: the `[[gateway]]` entries of the configuration files
//! (read-only here: edit the file) and the gateways added from the web admin, stored in the
//! `gateways` table of `switchboard.db` ([`crate::db::gateways`]) and loaded again at start
//! ([`LiveGateways::load`]). A web gateway may not take a configured gateway's name.
//! Changes ([`edit`]) write the table first, then swap the list. The health of each gateway
//! (up/down/unknown, from the OPTIONS checks of [`prober::Prober`]) is kept next to it.
//!
//! ```text
//!  config [[gateway]] ─┐                      ┌─► current() / get() / trusted()  (calls)
//!                      ├─► Directory (merged) ┤
//!  db gateways (web) ──┘    ▲ create/update/  └─► entries() + health            (web admin)
//!                           │ delete (db first)        ▲
//!                      web admin               Prober (OPTIONS every 30 s)
//! ```
//!
//! Depends on: `crate::config` (the `Gateway` type, address rules, the ACL), `crate::db`,
//! `crate::sip::endpoint` (the prober's OPTIONS), `crate::runtime`.

pub mod edit;
pub mod health;
pub mod prober;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::{Acl, Gateway, ListenTransport};
use crate::db::gateways::GatewayRow;
use crate::db::{self, Db};

pub use edit::{GatewayError, GatewaySpec};
pub use health::{GatewayHealth, HealthStatus};
pub use prober::{Prober, PROBE_INTERVAL, PROBE_TIMEOUT};

/// Where a gateway is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayOrigin {
    /// A `[[gateway]]` of the configuration files (read-only at run time).
    Config,
    /// Added from the web admin (stored in `switchboard.db`).
    Web,
}

impl GatewayOrigin {
    /// `config` or `web`, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayOrigin::Config => "config",
            GatewayOrigin::Web => "web",
        }
    }
}

/// One gateway as the admin pages list it.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayEntry {
    /// The gateway.
    pub gateway: Gateway,
    /// Where it is defined.
    pub origin: GatewayOrigin,
    /// When it was added (web gateways only, Unix ms).
    pub created_ms: Option<i64>,
    /// When it was last changed (web gateways only, Unix ms).
    pub updated_ms: Option<i64>,
    /// Result of the last health check.
    pub health: GatewayHealth,
}

/// A gateway added from the web admin, with its row's times.
#[derive(Debug, Clone, PartialEq)]
struct WebGateway {
    gateway: Gateway,
    created: i64,
    updated: i64,
}

/// Both origins and the merged list handed to calls.
#[derive(Debug, Default)]
struct Directory {
    /// `[[gateway]]` entries, in file order.
    config: Vec<Gateway>,
    /// Web gateways, by name.
    web: Vec<WebGateway>,
    /// `config` then `web`: what calls read (rebuilt on every change).
    merged: Arc<Vec<Gateway>>,
}

impl Directory {
    fn rebuild(&mut self) {
        let merged = self
            .config
            .iter()
            .cloned()
            .chain(self.web.iter().map(|w| w.gateway.clone()))
            .collect();
        self.merged = Arc::new(merged);
    }

    fn is_config(&self, name: &str) -> bool {
        self.config.iter().any(|g| g.name == name)
    }
}

/// State shared by every clone.
#[derive(Debug, Default)]
struct Shared {
    /// The directory. A std RwLock: read on every call set-up, written on an admin change,
    /// never held across an await.
    directory: RwLock<Directory>,
    /// Where web gateways are stored; `None` for a directory built from a list only
    /// ([`LiveGateways::new`]), which then refuses changes.
    store: Option<Db>,
    /// `[acl]`, for the warning that a gateway's requests would be refused.
    acl: Option<Acl>,
    /// Serialises changes: "check → write the table → swap the list" of one change ends
    /// before the next begins (a tokio Mutex: held across the database write).
    edits: tokio::sync::Mutex<()>,
    /// Health per gateway name. A std RwLock: short map operations only.
    health: RwLock<HashMap<String, GatewayHealth>>,
}

/// The gateways in force; cheap to clone (all clones see the same list).
#[derive(Debug, Clone, Default)]
pub struct LiveGateways {
    inner: Arc<Shared>,
}

impl LiveGateways {
    /// A directory holding `gateways` (all of origin config), without storage: changes are
    /// refused with [`GatewayError::ReadOnly`].
    pub fn new(gateways: Vec<Gateway>) -> LiveGateways {
        let mut directory = Directory {
            config: gateways,
            ..Directory::default()
        };
        directory.rebuild();
        LiveGateways {
            inner: Arc::new(Shared {
                directory: RwLock::new(directory),
                ..Shared::default()
            }),
        }
    }

    /// The directory at start-up: the configured `gateways` plus the web gateways stored in
    /// `db`. A stored gateway that now clashes with a configured name, or whose row no
    /// longer validates, is skipped with a warning (left in the table). `acl` is used to
    /// warn about gateways whose requests it would refuse.
    pub async fn load(
        db: Db,
        gateways: Vec<Gateway>,
        acl: Acl,
    ) -> Result<LiveGateways, db::DbError> {
        let rows = db::gateways::list(&db).await?;
        let mut directory = Directory {
            config: gateways,
            ..Directory::default()
        };
        for row in rows {
            if directory.is_config(&row.name) {
                tracing::warn!(
                    gateway = %row.name,
                    "a stored web gateway has the name of a configured one: the configured one is used"
                );
                continue;
            }
            match web_gateway(&row) {
                Ok(gateway) => directory.web.push(gateway),
                Err(error) => {
                    tracing::warn!(gateway = %row.name, %error, "stored gateway ignored");
                }
            }
        }
        directory.rebuild();
        tracing::info!(
            configured = directory.config.len(),
            web = directory.web.len(),
            "gateway directory loaded"
        );
        Ok(LiveGateways {
            inner: Arc::new(Shared {
                directory: RwLock::new(directory),
                store: Some(db),
                acl: Some(acl),
                ..Shared::default()
            }),
        })
    }

    /// The list in force now (a snapshot: later changes do not alter it).
    pub fn current(&self) -> Arc<Vec<Gateway>> {
        self.read(|d| d.merged.clone())
    }

    /// Installs `gateways` as the configured part (web gateways are kept).
    pub fn replace(&self, gateways: Vec<Gateway>) {
        self.write(|d| {
            d.config = gateways;
            d.rebuild();
        });
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

    /// Every gateway with its origin and health: configured ones first (file order), then
    /// the web ones by name.
    pub fn entries(&self) -> Vec<GatewayEntry> {
        let (config, web) = self.read(|d| (d.config.clone(), d.web.clone()));
        let health = self
            .inner
            .health
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let state = |name: &str| health.get(name).cloned().unwrap_or_default();
        let configured = config.into_iter().map(|gateway| GatewayEntry {
            health: state(&gateway.name),
            gateway,
            origin: GatewayOrigin::Config,
            created_ms: None,
            updated_ms: None,
        });
        let added = web.into_iter().map(|w| GatewayEntry {
            health: state(&w.gateway.name),
            gateway: w.gateway,
            origin: GatewayOrigin::Web,
            created_ms: Some(w.created),
            updated_ms: Some(w.updated),
        });
        configured.chain(added).collect()
    }

    /// The entry of `name`.
    pub fn entry(&self, name: &str) -> Option<GatewayEntry> {
        self.entries().into_iter().find(|e| e.gateway.name == name)
    }

    /// The health of `name` (unknown until checked).
    pub fn health(&self, name: &str) -> GatewayHealth {
        self.inner
            .health
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Records a check of `gateway`; ignored when the gateway was removed or its address or
    /// transport changed since the check started (the result describes another peer).
    pub fn record_health(&self, gateway: &Gateway, health: GatewayHealth) {
        let same = self.get(&gateway.name).is_some_and(|g| {
            g.host == gateway.host && g.port == gateway.port && g.transport == gateway.transport
        });
        if same {
            self.inner
                .health
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(gateway.name.clone(), health);
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self
            .inner
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Directory) -> T) -> T {
        f(&mut self
            .inner
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn forget_health(&self, name: &str) {
        self.inner
            .health
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }
}

/// A stored row as a gateway (validated again: the rules may have tightened since).
fn web_gateway(row: &GatewayRow) -> Result<WebGateway, GatewayError> {
    let transport = edit::parse_transport(&row.transport)?;
    let gateway = edit::validate(&GatewaySpec {
        name: row.name.clone(),
        address: row.address.clone(),
        transport,
        trust_inbound_by_source: row.trust_inbound_by_source,
    })?;
    Ok(WebGateway {
        gateway,
        created: row.created,
        updated: row.updated,
    })
}

#[cfg(test)]
#[path = "gateways/tests.rs"]
mod tests;
