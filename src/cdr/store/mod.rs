//! The CDR store: a SQLite file of its own (`<data>/cdr.db`, WAL, `synchronous=NORMAL`)
//! holding the final leg records (`cdr_leg`), bridge records (`cdr`), channel events
//! (`cel`), the crash journal of open records (`cdr_live`), the webhook outbox
//! (`cdr_outbox`) and the liveness of each node (`cdr_node`).
//!
//! ```text
//!  engines ─ CdrOp ─► pipeline ─ write_batch(ops, now) ─► ONE transaction:
//!                                  coalesce per record id (last Live wins, Final/Drop
//!                                  supersede Live) → multi-row INSERT/UPSERT/DELETE
//!                                  → outbox rows → cdr_node.last_alive = now → COMMIT
//!  start-up: recover(now) closes what the previous run left open (journal rows,
//!            realtime rows without end) as CRASH records, then marks this run started
//! ```
//!
//! A locked database fails fast (busy timeout [`BUSY_TIMEOUT`]) with a transient
//! [`StoreError`] the pipeline retries; every write is idempotent (unique keys with
//! `INSERT OR IGNORE` / upserts), so retrying a batch whose commit outcome is unknown
//! never duplicates a record.
//!
//! Sub-modules: [`schema`] (migrations, columns), `bind` (multi-row statements), `write`
//! (the batch writer), `recover`, `outbox`, `read` (row → record), [`error`].
//!
//! Depends on: `cdr::model`, `cdr::fields` (custom field values), `config::cdr`, sqlx.

mod bind;
pub mod error;
mod outbox;
mod read;
mod recover;
pub mod schema;
mod write;

#[cfg(test)]
pub(crate) mod testutil;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row};

pub use self::error::StoreError;
pub use self::outbox::OutboxItem;
pub use self::recover::{RecoveryReport, CRASH_CAUSE};

use self::bind::{delete_sql, insert_sql};
use self::schema::{
    BRIDGE_COLUMNS, CEL_COLUMNS, DETAILS_COLUMN, LEG_COLUMNS, LIVE_COLUMNS, OUTBOX_COLUMNS,
};
use crate::cdr::model::Millis;
use crate::config::cdr::CdrSettings;

/// How long a statement waits for a lock held by another connection before failing with a
/// transient [`StoreError::Busy`]: short, so a locked database never stalls the pipeline
/// (which keeps the records and retries) — but longer than one of our own batches, so the
/// webhook's small writes and the batch writer rarely fail each other.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(150);

/// How long a caller waits for a pooled connection before [`StoreError::PoolTimeout`].
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool size: one writer at a time (the pipeline), the webhook's outbox queries, exports.
const MAX_CONNECTIONS: u32 = 4;

/// Page cache per connection (KiB, as a negative `cache_size`): keeps the indexes of a
/// large `cdr_leg` hot while inserting at tens of thousands of rows per second.
const CACHE_KIB: i64 = 65_536;

/// WAL pages between automatic checkpoints (SQLite's default, stated here because with
/// [`PAGE_SIZE`] pages it means a WAL of ~32 MB: measured, larger values only moved the
/// cost into longer checkpoint stalls, p99 batch latency doubling).
const WAL_AUTOCHECKPOINT: u32 = 1_000;

/// Page size of a new database (fixed at creation). Rows are wide (~45 columns) and a
/// batch appends to the table and to time-ordered indexes: bigger pages mean fewer WAL
/// frames (one write and checksum each) per commit. Measured with `benches/cdr_writer.rs`:
/// 4 KiB ≈ 33k, 16 KiB ≈ 47k, 32 KiB ≈ 57k leg records/s (batches of 1000). The cost: a
/// row landing on a random page of the number indexes dirties a whole 32 KiB page.
const PAGE_SIZE: u32 = 32_768;

/// Bytes of the database file memory-mapped for reads (saves a copy per page read).
const MMAP_BYTES: u64 = 256 * 1024 * 1024;

/// Prepared statements kept per connection (a few sizes per multi-row statement kind).
const STATEMENT_CACHE: usize = 256;

/// Statements slower than this are logged at WARN by sqlx.
const SLOW_STATEMENT: Duration = Duration::from_millis(500);

/// The kinds of multi-row statements the writer prepares (SQL cached per row count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Stmt {
    /// `INSERT OR IGNORE` into `cdr_leg` (final rows when not realtime: cheaper, no
    /// statement journal).
    LegInsert,
    /// Upsert into `cdr_leg` (realtime rows, recovery); never touches a final row.
    LegUpsert,
    /// `INSERT OR IGNORE` into `cdr`.
    BridgeInsert,
    /// `INSERT OR IGNORE` into `cel`.
    CelInsert,
    /// Upsert into `cdr_live`.
    LiveUpsert,
    /// Delete `cdr_live` rows by record id.
    LiveDelete,
    /// Delete realtime `cdr_leg` rows (no end yet) by uuid.
    LegOpenDelete,
    /// `INSERT OR IGNORE` into `cdr_outbox`.
    OutboxInsert,
}

/// Handle to the CDR database; cheap to clone (pool and layout are shared).
#[derive(Debug, Clone)]
pub struct CdrStore {
    /// The connection pool.
    pool: SqlitePool,
    /// Settings, column layout and the statement text cache.
    inner: Arc<Inner>,
}

/// What every clone of a [`CdrStore`] shares.
#[derive(Debug)]
struct Inner {
    /// The `[cdr]` settings the store was opened with (defaults when read-only).
    settings: CdrSettings,
    /// Opened with [`CdrStore::open_read_only`]: writes are refused.
    read_only: bool,
    /// Columns written to `cdr_leg`: built-in, custom fields, then `details` if enabled.
    leg_columns: Vec<String>,
    /// Columns written to `cdr`: built-in, custom fields, then `details` if enabled.
    bridge_columns: Vec<String>,
    /// SQL text per statement kind and row count. A `std` mutex: held only to look up or
    /// insert a string, never across an await.
    sql: Mutex<HashMap<(Stmt, usize), Arc<str>>>,
}

impl CdrStore {
    /// Opens (creating if needed) the CDR database at `path`: WAL, `synchronous=NORMAL`, a
    /// short busy timeout; applies the migrations and adds the custom field columns of
    /// `settings.fields` (and `details` when enabled) to `cdr_leg` and `cdr` if missing.
    pub async fn open(path: &Path, settings: &CdrSettings) -> Result<CdrStore, StoreError> {
        schema::check_custom(&settings.fields, LEG_COLUMNS)?;
        schema::check_custom(&settings.fields, BRIDGE_COLUMNS)?;
        let options = connect_options(path)
            .create_if_missing(true)
            .page_size(PAGE_SIZE)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = connect(path, options).await?;
        {
            let mut conn = pool.acquire().await?;
            schema::migrate(&mut conn).await?;
            for table in ["cdr_leg", "cdr"] {
                schema::add_custom_columns(&mut conn, table, &settings.fields, settings.details)
                    .await?;
            }
        }
        tracing::debug!(path = %path.display(), "CDR database opened");
        Ok(CdrStore::with(pool, settings.clone(), false))
    }

    /// Opens an existing CDR database for reading only (export while the PBX runs: WAL
    /// readers never block the writer). Writes fail with [`StoreError::ReadOnly`].
    pub async fn open_read_only(path: &Path) -> Result<CdrStore, StoreError> {
        let options = connect_options(path).read_only(true);
        let pool = connect(path, options).await?;
        Ok(CdrStore::with(pool, CdrSettings::default(), true))
    }

    fn with(pool: SqlitePool, settings: CdrSettings, read_only: bool) -> CdrStore {
        let columns = |builtin: &[&str]| {
            let mut all: Vec<String> = builtin.iter().map(|c| (*c).to_owned()).collect();
            all.extend(settings.fields.iter().map(|f| f.column.clone()));
            if settings.details {
                all.push(DETAILS_COLUMN.to_owned());
            }
            all
        };
        let inner = Inner {
            leg_columns: columns(LEG_COLUMNS),
            bridge_columns: columns(BRIDGE_COLUMNS),
            settings,
            read_only,
            sql: Mutex::new(HashMap::new()),
        };
        CdrStore {
            pool,
            inner: Arc::new(inner),
        }
    }

    /// The pool (export and tests read through it).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The settings the store was opened with.
    pub(crate) fn settings(&self) -> &CdrSettings {
        &self.inner.settings
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.inner.read_only {
            Err(StoreError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// The next bridge-record sequence: `max(sequence) + 1` over `cdr` and the open records
    /// in `cdr_live`, or 0 for an empty database.
    pub async fn next_sequence(&self) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(m) AS m FROM (SELECT MAX(sequence) AS m FROM cdr \
             UNION ALL SELECT MAX(sequence) FROM cdr_live)",
        )
        .fetch_one(&self.pool)
        .await?;
        let max: Option<i64> = row.try_get("m")?;
        Ok(max.map_or(0, |m| u64::try_from(m).unwrap_or(0).saturating_add(1)))
    }

    /// Records that this node is alive at `now` (`cdr_node.last_alive`); `write_batch`
    /// does the same in its transaction, so this is for idle periods.
    pub async fn heartbeat(&self, now: Millis) -> Result<(), StoreError> {
        self.check_writable()?;
        let mut conn = self.pool.acquire().await?;
        write::heartbeat(&mut conn, &self.inner.settings.node_id, now, false).await
    }

    /// Closes the pool, waiting for connections to finish (call at shutdown so the WAL is
    /// checkpointed).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The SQL text of `kind` for `rows` rows (built once, then cached).
    fn sql(&self, kind: Stmt, rows: usize) -> Arc<str> {
        let mut cache = match self.inner.sql.lock() {
            Ok(guard) => guard,
            // A panic while holding the lock cannot leave the map inconsistent.
            Err(poisoned) => poisoned.into_inner(),
        };
        cache
            .entry((kind, rows))
            .or_insert_with(|| Arc::from(self.build_sql(kind, rows)))
            .clone()
    }

    fn build_sql(&self, kind: Stmt, rows: usize) -> String {
        let owned = |cols: &[&str]| cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        match kind {
            Stmt::LegUpsert => {
                let cols = &self.inner.leg_columns;
                let set = cols
                    .iter()
                    .filter(|c| !matches!(c.as_str(), "uuid" | "start"))
                    .map(|c| {
                        if LEG_COLUMNS.contains(&c.as_str()) {
                            format!("\"{c}\"=excluded.\"{c}\"")
                        } else {
                            // Custom/details: a value missing now keeps the stored one.
                            format!("\"{c}\"=COALESCE(excluded.\"{c}\",cdr_leg.\"{c}\")")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                let suffix = format!(
                    "ON CONFLICT(start, uuid) DO UPDATE SET {set} WHERE cdr_leg.\"end\" IS NULL"
                );
                insert_sql("", "cdr_leg", cols, rows, &suffix)
            }
            Stmt::LegInsert => {
                insert_sql("OR IGNORE", "cdr_leg", &self.inner.leg_columns, rows, "")
            }
            Stmt::BridgeInsert => {
                insert_sql("OR IGNORE", "cdr", &self.inner.bridge_columns, rows, "")
            }
            Stmt::CelInsert => insert_sql("OR IGNORE", "cel", &owned(CEL_COLUMNS), rows, ""),
            Stmt::LiveUpsert => insert_sql(
                "",
                "cdr_live",
                &owned(LIVE_COLUMNS),
                rows,
                "ON CONFLICT(record_id) DO UPDATE SET kind=excluded.kind, \
                 node_id=excluded.node_id, sequence=excluded.sequence, body=excluded.body, \
                 updated=excluded.updated",
            ),
            Stmt::LiveDelete => delete_sql("cdr_live", "record_id", rows, ""),
            Stmt::LegOpenDelete => delete_sql("cdr_leg", "uuid", rows, "AND \"end\" IS NULL"),
            Stmt::OutboxInsert => {
                insert_sql("OR IGNORE", "cdr_outbox", &owned(OUTBOX_COLUMNS), rows, "")
            }
        }
    }
}

/// Options shared by the read-write and read-only pools.
fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("cache_size", format!("-{CACHE_KIB}"))
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT.to_string())
        .pragma("mmap_size", MMAP_BYTES.to_string())
        .statement_cache_capacity(STATEMENT_CACHE)
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, SLOW_STATEMENT)
}

async fn connect(path: &Path, options: SqliteConnectOptions) -> Result<SqlitePool, StoreError> {
    SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open {
            path: PathBuf::from(path),
            source,
        })
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
