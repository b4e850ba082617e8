//! The `registrations` table: the durable copy of the registrar's location service
//! (RFC 3261 §10.3). The registrar writes every change here before answering, and reloads the
//! table at start-up so a restart keeps the bindings. Values are plain strings and numbers;
//! the SIP types live in the registrar.

use std::net::SocketAddr;
use std::time::SystemTime;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{from_unix_ms, parse_column, unix_ms, Db, DbError};

/// One binding row of `registrations`, keyed by (aor, contact).
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationRow {
    /// Address of record, e.g. `sip:1001@switchboard.test`.
    pub aor: String,
    /// The Contact URI as registered.
    pub contact: String,
    /// When the binding expires.
    pub expires_at: SystemTime,
    /// Contact `q` preference, if given.
    pub q: Option<f32>,
    /// Call-ID of the REGISTER that last refreshed the binding.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Transport the REGISTER arrived on (`UDP`, `TCP`, `TLS`...).
    pub transport: String,
    /// Source address of the REGISTER.
    pub source: SocketAddr,
    /// Our local address it arrived on.
    pub local: SocketAddr,
    /// Connection id for connection-oriented transports (not valid after a restart).
    pub flow_id: Option<u64>,
    /// `+sip.instance` Contact parameter (RFC 5626 §4.1).
    pub instance: Option<String>,
    /// `reg-id` Contact parameter (RFC 5626 §4.2).
    pub reg_id: Option<u32>,
    /// User-Agent of the registering device.
    pub user_agent: Option<String>,
    /// Path header values, comma-joined (RFC 3327 §5.3).
    pub path: Option<String>,
}

/// Applies one registrar update for `aor` atomically: deletes the bindings whose contact is in
/// `remove`, then inserts or replaces `upsert`. A single change (the common refresh) runs as
/// one auto-committed statement; several run in one transaction.
pub async fn apply(
    db: &Db,
    aor: &str,
    remove: &[String],
    upsert: &[RegistrationRow],
) -> Result<(), DbError> {
    let now = unix_ms(SystemTime::now());
    let mut conn = db.pool().acquire().await?;
    if remove.len() + upsert.len() <= 1 {
        return apply_on(&mut conn, aor, remove, upsert, now).await;
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    apply_on(&mut tx, aor, remove, upsert, now).await?;
    tx.commit().await?;
    Ok(())
}

/// [`apply`] on an open connection (inside the caller's transaction), `now` in Unix ms.
pub(crate) async fn apply_on(
    conn: &mut SqliteConnection,
    aor: &str,
    remove: &[String],
    upsert: &[RegistrationRow],
    now: i64,
) -> Result<(), DbError> {
    remove_contacts(&mut *conn, aor, remove).await?;
    upsert_rows(conn, upsert, now).await
}

/// Deletes the bindings of `aor` whose contact is in `remove`.
pub(crate) async fn remove_contacts(
    conn: &mut SqliteConnection,
    aor: &str,
    remove: &[String],
) -> Result<(), DbError> {
    for contact in remove {
        sqlx::query("DELETE FROM registrations WHERE aor = ?1 AND contact = ?2")
            .bind(aor)
            .bind(contact)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Column list of the upsert; 15 values per row.
const UPSERT_COLUMNS: &str = "INSERT OR REPLACE INTO registrations (aor, contact, expires_at, q, \
     call_id, cseq, transport, source_addr, local_addr, flow_id, instance, reg_id, user_agent, \
     path, updated_at) VALUES ";

/// Rows per multi-row INSERT, largest first: a batch of n rows takes few statements (each a
/// round trip to the SQLite thread) while only these few statement texts are prepared and
/// cached. 64 rows × 15 = 960 parameters, far below SQLite's limit (32766).
const UPSERT_CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Inserts or replaces `rows` (keyed by aor and contact), in order, with multi-row INSERTs.
pub(crate) async fn upsert_rows(
    conn: &mut SqliteConnection,
    rows: &[RegistrationRow],
    now: i64,
) -> Result<(), DbError> {
    let mut rest = rows;
    for size in UPSERT_CHUNKS {
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            upsert_chunk(&mut *conn, chunk, now).await?;
            rest = tail;
        }
    }
    Ok(())
}

async fn upsert_chunk(
    conn: &mut SqliteConnection,
    rows: &[RegistrationRow],
    now: i64,
) -> Result<(), DbError> {
    let mut sql = String::from(UPSERT_COLUMNS);
    for i in 0..rows.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = query
            .bind(&row.aor)
            .bind(&row.contact)
            .bind(unix_ms(row.expires_at))
            .bind(row.q.map(f64::from))
            .bind(&row.call_id)
            .bind(i64::from(row.cseq))
            .bind(&row.transport)
            .bind(row.source.to_string())
            .bind(row.local.to_string())
            .bind(row.flow_id.and_then(|f| i64::try_from(f).ok()))
            .bind(&row.instance)
            .bind(row.reg_id.map(i64::from))
            .bind(&row.user_agent)
            .bind(&row.path)
            .bind(now);
    }
    query.execute(conn).await?;
    Ok(())
}

/// All stored bindings, ordered by AOR then contact.
pub async fn load_all(db: &Db) -> Result<Vec<RegistrationRow>, DbError> {
    let rows = sqlx::query(
        "SELECT aor, contact, expires_at, q, call_id, cseq, transport, source_addr, local_addr, \
         flow_id, instance, reg_id, user_agent, path FROM registrations ORDER BY aor, contact",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode).collect()
}

/// Deletes the bindings that expired at or before `now`; returns how many.
pub async fn delete_expired(db: &Db, now: SystemTime) -> Result<u64, DbError> {
    let mut conn = db.pool().acquire().await?;
    delete_expired_on(&mut conn, now).await
}

/// [`delete_expired`] on an open connection.
pub(crate) async fn delete_expired_on(
    conn: &mut SqliteConnection,
    now: SystemTime,
) -> Result<u64, DbError> {
    let done = sqlx::query("DELETE FROM registrations WHERE expires_at <= ?1")
        .bind(unix_ms(now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Number of stored bindings.
pub async fn count(db: &Db) -> Result<u64, DbError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM registrations")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn decode(row: &SqliteRow) -> Result<RegistrationRow, DbError> {
    let cseq: i64 = row.try_get("cseq")?;
    let source: String = row.try_get("source_addr")?;
    let local: String = row.try_get("local_addr")?;
    let flow_id: Option<i64> = row.try_get("flow_id")?;
    let reg_id: Option<i64> = row.try_get("reg_id")?;
    let q: Option<f64> = row.try_get("q")?;
    Ok(RegistrationRow {
        aor: row.try_get("aor")?,
        contact: row.try_get("contact")?,
        expires_at: from_unix_ms(row.try_get("expires_at")?),
        // q is in [0, 1] (RFC 3261 §20.10); narrowing to f32 loses nothing meaningful.
        #[allow(clippy::cast_possible_truncation)]
        q: q.map(|q| q as f32),
        call_id: row.try_get("call_id")?,
        cseq: u32::try_from(cseq).map_err(|_| DbError::Corrupt {
            column: "cseq",
            value: cseq.to_string(),
        })?,
        transport: row.try_get("transport")?,
        source: parse_column("source_addr", &source)?,
        local: parse_column("local_addr", &local)?,
        flow_id: flow_id.and_then(|f| u64::try_from(f).ok()),
        instance: row.try_get("instance")?,
        reg_id: reg_id.and_then(|r| u32::try_from(r).ok()),
        user_agent: row.try_get("user_agent")?,
        path: row.try_get("path")?,
    })
}
