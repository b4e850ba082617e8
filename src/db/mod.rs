//! SQLite storage: one [`Db`] handle (a `sqlx` pool) opened once at start-up, with the schema
//! migrations embedded in the binary and applied on open.
//!
//! Sub-modules hold the queries per table: [`users`] (extensions, stored as HA1 digests, never
//! passwords), [`registrations`] (the persistent side of the registrar's location service)
//! and [`gateways`] (trunks added from the web admin);
//! [`writer`] is the group-commit task through which every registration change is written.
//! Everything is written with `sqlx::query(..).bind(..)` and read with `Row::try_get`; the
//! `sqlx` `macros` feature (and so `sqlx::migrate!`) is deliberately not used.
//!
//! Depends on: nothing else in the crate (bottom layer).

pub mod gateways;
pub mod registrations;
pub mod users;
pub mod writer;

use std::borrow::Cow;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;

/// How long a statement waits for a lock held by another connection before failing with
/// `SQLITE_BUSY`; generous because WAL readers never block and writers are short.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool size: SQLite has a single writer (the [`writer`] task keeps one connection for its
/// lifetime); the others serve the rare reads (start-up loads, seeding, counts).
const MAX_CONNECTIONS: u32 = 4;

/// Statements slower than this are logged at WARN by `sqlx`.
const SLOW_STATEMENT: Duration = Duration::from_millis(500);

/// The migrations, in version order, compiled into the binary (`migrations/*.sql`).
/// Add a new file here (never edit an applied one: its checksum is recorded).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "users registrations",
        include_str!("../../migrations/0001_users_registrations.sql"),
    ),
    (
        2,
        "web admin accounts, api tokens, audit log",
        include_str!("../../migrations/0002_web_admin.sql"),
    ),
    (
        3,
        "gateways added from the web admin",
        include_str!("../../migrations/0003_gateways.sql"),
    ),
];

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database file could not be opened or created.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The file we tried to open.
        path: PathBuf,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Applying the embedded schema migrations failed (e.g. an applied migration was edited).
    #[error("database migration failed: {0}")]
    Migrate(#[from] MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The registration writer task has stopped (shutdown): the change was not stored.
    #[error("the database writer has stopped")]
    WriterStopped,
    /// A stored value does not have the expected form (e.g. an address that does not parse).
    #[error("corrupt value in column {column}: {value:?}")]
    Corrupt {
        /// The column holding the value.
        column: &'static str,
        /// The stored value.
        value: String,
    },
}

/// Handle to the database; cheap to clone (the pool is reference counted).
#[derive(Debug, Clone)]
pub struct Db {
    /// The connection pool; every query goes through it.
    pool: SqlitePool,
}

impl Db {
    /// Opens (creating if needed) the SQLite file at `path` in WAL mode with
    /// `synchronous=NORMAL`, a busy timeout and foreign keys on, then applies the embedded
    /// migrations.
    pub async fn open(path: &Path) -> Result<Db, DbError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // sqlx logs every statement at DEBUG by default: one line per query on the hot
            // path. Statements go to TRACE; slow ones still warn. (`tracing::log` is the `log`
            // crate, enabled by sqlx itself: no extra dependency.)
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, SLOW_STATEMENT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|source| DbError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let migrator = Migrator::new(EmbeddedMigrations(MIGRATIONS)).await?;
        migrator.run(&pool).await?;
        tracing::debug!(path = %path.display(), "database opened");
        Ok(Db { pool })
    }

    /// The underlying pool, for the query modules.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to finish (call at shutdown so the WAL is
    /// checkpointed).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Migrations compiled into the binary — `(version, description, SQL)` — as a `sqlx`
/// [`MigrationSource`] for its [`Migrator`] (no `sqlx::migrate!` macro). Shared by every
/// SQLite file of the server (`switchboard.db`, the CDR store's `cdr.db`).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations(pub &'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send>>
    {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Milliseconds since the Unix epoch, the time unit of every timestamp column (0 before 1970).
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Inverse of [`unix_ms`] (negative values clamp to the epoch).
pub fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Parses a stored text column with `FromStr`, mapping failure to [`DbError::Corrupt`].
pub(crate) fn parse_column<T: FromStr>(column: &'static str, value: &str) -> Result<T, DbError> {
    value.parse().map_err(|_| DbError::Corrupt {
        column,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests;
