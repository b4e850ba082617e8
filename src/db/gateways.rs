//! The `gateways` table: SIP trunks added from the web admin (migration 0003). Gateways of
//! the configuration files are never stored here; the switch merges both lists
//! (the `gateways` module of the switch). Values are stored as validated by the caller: this layer
//! knows nothing of address or transport rules (it sits below `config`).
//!
//! Depends on: `super` (the pool, [`DbError`]), sqlx.

use sqlx::Row;

use super::{Db, DbError};

/// One row of `gateways`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRow {
    /// Unique name, used by the dialplan (`SIP/<name>/<number>`).
    pub name: String,
    /// `host:port` (IPv6 in brackets), as validated by the switch.
    pub address: String,
    /// `udp`, `tcp` or `tls` (checked by the table).
    pub transport: String,
    /// Requests from its IP are accepted without digest authentication.
    pub trust_inbound_by_source: bool,
    /// When it was added (Unix ms).
    pub created: i64,
    /// When it was last changed (Unix ms).
    pub updated: i64,
}

const COLUMNS: &str = "name, address, transport, trust_inbound_by_source, created, updated";

/// Every stored gateway, by name.
pub async fn list(db: &Db) -> Result<Vec<GatewayRow>, DbError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM gateways ORDER BY name"))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(decode).collect()
}

/// The gateway named `name`.
pub async fn get(db: &Db, name: &str) -> Result<Option<GatewayRow>, DbError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM gateways WHERE name = ?1"))
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Adds `gateway`; false (nothing written) when one of that name exists.
pub async fn insert(db: &Db, gateway: &GatewayRow) -> Result<bool, DbError> {
    let done = sqlx::query(&format!(
        "INSERT INTO gateways ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (name) DO NOTHING"
    ))
    .bind(&gateway.name)
    .bind(&gateway.address)
    .bind(&gateway.transport)
    .bind(gateway.trust_inbound_by_source)
    .bind(gateway.created)
    .bind(gateway.updated)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the address, transport, trust flag and `updated` of the gateway named
/// `gateway.name` (`created` is kept); false when there is none.
pub async fn update(db: &Db, gateway: &GatewayRow) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE gateways SET address = ?2, transport = ?3, trust_inbound_by_source = ?4, \
         updated = ?5 WHERE name = ?1",
    )
    .bind(&gateway.name)
    .bind(&gateway.address)
    .bind(&gateway.transport)
    .bind(gateway.trust_inbound_by_source)
    .bind(gateway.updated)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the gateway named `name`; false when there is none.
pub async fn delete(db: &Db, name: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM gateways WHERE name = ?1")
        .bind(name)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<GatewayRow, DbError> {
    Ok(GatewayRow {
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        transport: row.try_get("transport")?,
        trust_inbound_by_source: row.try_get("trust_inbound_by_source")?,
        created: row.try_get("created")?,
        updated: row.try_get("updated")?,
    })
}

#[cfg(test)]
#[path = "gateways_tests.rs"]
mod tests;
