//! Read-only access to the PBX's SQLite file (`<data>/switchboard.db`) for assertions.
//! The registrar writes a change before it answers the REGISTER, so a row is visible as soon as
//! the 200 arrived.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};

/// One row of `registrations` (the columns the tests look at).
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// Address of record, `sip:<ext>@switchboard.test`.
    pub aor: String,
    /// Contact URI as registered.
    pub contact: String,
    /// Expiry, unix milliseconds.
    pub expires_at: i64,
    /// `UDP`, `TCP`, `TLS`.
    pub transport: String,
}

/// Now, unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Every binding of `aor`, read from the database file at `db` (opened read-only).
pub async fn registrations(db: &Path, aor: &str) -> Vec<Registration> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open {} read-only: {e}", db.display()));
    let rows = sqlx::query(
        "SELECT aor, contact, expires_at, transport FROM registrations WHERE aor = ?1 ORDER BY contact",
    )
    .bind(aor)
    .fetch_all(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("cannot query registrations in {}: {e}", db.display()));
    rows.iter()
        .map(|row| Registration {
            aor: row.get("aor"),
            contact: row.get("contact"),
            expires_at: row.get("expires_at"),
            transport: row.get("transport"),
        })
        .collect()
}

/// Number of rows in `registrations`.
pub async fn registration_count(db: &Path) -> i64 {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open {} read-only: {e}", db.display()));
    sqlx::query("SELECT COUNT(*) FROM registrations")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot count registrations: {e}"))
        .get(0)
}

/// [`registrations`] for synchronous tests (runs its own single-threaded runtime).
pub fn registrations_blocking(db: &Path, aor: &str) -> Vec<Registration> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
        .block_on(registrations(db, aor))
}
