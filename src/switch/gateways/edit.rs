//! Changing the web gateways: validation with the configuration's rules (name characters,
//! `host:port`, trust only for IP literals), then "write the `gateways` table → swap the
//! list" under one lock, so calls see the change at once and a restart keeps it.
//! Configured gateways are refused ([`GatewayError::ConfigDefined`]): edit the file.
//!
//! Depends on: `crate::config` (`split_host_port`, `Gateway`, `Acl`), `crate::db::gateways`.

use std::time::SystemTime;

use crate::config::{split_host_port, Gateway, ListenTransport};
use crate::db::gateways::{self as store, GatewayRow};
use crate::db::{unix_ms, DbError};

use super::{GatewayEntry, LiveGateways, WebGateway};

/// Longest gateway name accepted from the web admin.
pub const MAX_NAME_LEN: usize = 64;

/// A gateway as the web admin gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySpec {
    /// Unique name, `[A-Za-z0-9_.-]+`.
    pub name: String,
    /// `host:port`, `ip:port` or `[v6]:port`.
    pub address: String,
    /// Transport used to reach it.
    pub transport: ListenTransport,
    /// Accept requests from its IP without digest authentication (needs an IP literal).
    pub trust_inbound_by_source: bool,
}

/// Why a change of the gateway directory was refused.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A field has a bad value.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`name`, `address`, `transport`, `trust_inbound_by_source`).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The gateway is defined in the configuration files.
    #[error(
        "gateway {0} is defined in the configuration files (sip-profiles/*.toml); edit the file"
    )]
    ConfigDefined(String),
    /// A gateway of that name exists already.
    #[error("gateway {0} exists")]
    Exists(String),
    /// No gateway of that name.
    #[error("no gateway {0}")]
    NotFound(String),
    /// The directory has no storage (built from a list only).
    #[error("the gateway directory is read-only")]
    ReadOnly,
    /// The `gateways` table could not be written.
    #[error("{0}")]
    Db(#[from] DbError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> GatewayError {
    GatewayError::Invalid {
        field,
        message: message.into(),
    }
}

/// `udp`, `tcp` or `tls` (case-insensitive).
pub fn parse_transport(s: &str) -> Result<ListenTransport, GatewayError> {
    match s.to_ascii_lowercase().as_str() {
        "udp" => Ok(ListenTransport::Udp),
        "tcp" => Ok(ListenTransport::Tcp),
        "tls" => Ok(ListenTransport::Tls),
        _ => Err(invalid("transport", "must be udp, tcp or tls")),
    }
}

/// Checks `spec` with the rules of `[[gateway]]` and builds the gateway.
pub fn validate(spec: &GatewaySpec) -> Result<Gateway, GatewayError> {
    let name = spec.name.trim();
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if !name.chars().all(name_ok) {
        return Err(invalid(
            "name",
            "may only contain letters, digits, '_', '-' and '.'",
        ));
    }
    let Some((host, ip, port)) = split_host_port(spec.address.trim()) else {
        return Err(invalid(
            "address",
            "expected host:port, ip:port or [ipv6]:port",
        ));
    };
    if port == 0 {
        return Err(invalid("address", "the port must not be 0"));
    }
    if spec.trust_inbound_by_source && ip.is_none() {
        return Err(invalid(
            "trust_inbound_by_source",
            format!("needs an IP address, not the host name {host:?}"),
        ));
    }
    Ok(Gateway {
        name: name.to_owned(),
        host,
        port,
        ip,
        transport: spec.transport,
        trust_inbound_by_source: spec.trust_inbound_by_source,
        register: false,
    })
}

impl LiveGateways {
    /// What the operator should know about `gateway`: `[acl]` refusing its address (its
    /// requests, trusted or not, would be dropped before any processing). Empty without an
    /// ACL (a directory built from a list only).
    pub fn warnings(&self, gateway: &Gateway) -> Vec<String> {
        let (Some(acl), Some(ip)) = (&self.inner.acl, gateway.ip) else {
            return Vec::new();
        };
        if acl.allows(ip) {
            return Vec::new();
        }
        let effect = if gateway.trust_inbound_by_source {
            "calls from it will be refused although it is trusted by source"
        } else {
            "calls from it will be refused"
        };
        vec![format!(
            "[acl] does not allow {ip}: {effect}; add it to [acl] allow"
        )]
    }

    /// Adds a web gateway (stored, then in force for the next call).
    pub async fn create(&self, spec: &GatewaySpec) -> Result<GatewayEntry, GatewayError> {
        let gateway = validate(spec)?;
        let store_db = self.inner.store.clone().ok_or(GatewayError::ReadOnly)?;
        let _edit = self.inner.edits.lock().await;
        if self.read(|d| d.is_config(&gateway.name)) {
            return Err(GatewayError::ConfigDefined(gateway.name));
        }
        let now = unix_ms(SystemTime::now());
        let row = row_of(&gateway, now, now);
        if !store::insert(&store_db, &row).await? {
            return Err(GatewayError::Exists(gateway.name));
        }
        self.write(|d| {
            d.web.push(WebGateway {
                gateway: gateway.clone(),
                created: now,
                updated: now,
            });
            d.web.sort_by(|a, b| a.gateway.name.cmp(&b.gateway.name));
            d.rebuild();
        });
        tracing::info!(gateway = %gateway.name, address = %gateway.address(), "gateway added");
        self.entry(&gateway.name)
            .ok_or(GatewayError::NotFound(gateway.name))
    }

    /// Changes the web gateway `name` (address, transport, trust; the name is kept). Its
    /// health goes back to unknown when the address or transport changed.
    pub async fn update(
        &self,
        name: &str,
        spec: &GatewaySpec,
    ) -> Result<GatewayEntry, GatewayError> {
        self.update_with(name, |_| spec.clone()).await
    }

    /// [`Self::update`] with the new spec made by `patch` from the gateway as it is under
    /// the edit lock, so a partial change (one field) never undoes a concurrent one.
    pub async fn update_with(
        &self,
        name: &str,
        patch: impl FnOnce(&Gateway) -> GatewaySpec,
    ) -> Result<GatewayEntry, GatewayError> {
        let store_db = self.inner.store.clone().ok_or(GatewayError::ReadOnly)?;
        let _edit = self.inner.edits.lock().await;
        if self.read(|d| d.is_config(name)) {
            return Err(GatewayError::ConfigDefined(name.to_owned()));
        }
        let Some(old) = self.read(|d| d.web.iter().find(|w| w.gateway.name == name).cloned())
        else {
            return Err(GatewayError::NotFound(name.to_owned()));
        };
        let spec = patch(&old.gateway);
        if spec.name != name {
            return Err(invalid(
                "name",
                "a gateway cannot be renamed; delete and add it",
            ));
        }
        let gateway = validate(&spec)?;
        let now = unix_ms(SystemTime::now());
        if !store::update(&store_db, &row_of(&gateway, old.created, now)).await? {
            return Err(GatewayError::NotFound(name.to_owned()));
        }
        let moved = old.gateway.host != gateway.host
            || old.gateway.port != gateway.port
            || old.gateway.transport != gateway.transport;
        self.write(|d| {
            if let Some(w) = d.web.iter_mut().find(|w| w.gateway.name == name) {
                w.gateway = gateway.clone();
                w.updated = now;
            }
            d.rebuild();
        });
        if moved {
            self.forget_health(name);
        }
        tracing::info!(gateway = %name, address = %gateway.address(), "gateway changed");
        self.entry(name)
            .ok_or_else(|| GatewayError::NotFound(name.to_owned()))
    }

    /// Deletes the web gateway `name`; calls in progress through it are not affected.
    pub async fn delete(&self, name: &str) -> Result<(), GatewayError> {
        let store_db = self.inner.store.clone().ok_or(GatewayError::ReadOnly)?;
        let _edit = self.inner.edits.lock().await;
        if self.read(|d| d.is_config(name)) {
            return Err(GatewayError::ConfigDefined(name.to_owned()));
        }
        if !store::delete(&store_db, name).await? {
            return Err(GatewayError::NotFound(name.to_owned()));
        }
        self.write(|d| {
            d.web.retain(|w| w.gateway.name != name);
            d.rebuild();
        });
        self.forget_health(name);
        tracing::info!(gateway = %name, "gateway deleted");
        Ok(())
    }
}

fn row_of(gateway: &Gateway, created: i64, updated: i64) -> GatewayRow {
    GatewayRow {
        name: gateway.name.clone(),
        address: gateway.address(),
        transport: gateway.transport.as_str().to_owned(),
        trust_inbound_by_source: gateway.trust_inbound_by_source,
        created,
        updated,
    }
}
