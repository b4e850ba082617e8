//! [`StoreError`]: the errors of the CDR store, sorted into transient conditions (the
//! database is busy or locked, the disk is full or failing, no connection was free in time),
//! which the pipeline retries forever without losing records, and everything else
//! (programming errors, corrupt rows, a bad schema), which it reports.
//!
//! Depends on: sqlx (the driver's error codes), serde_json.

use std::path::PathBuf;

use sqlx::migrate::MigrateError;

/// SQLite primary result codes we sort on (`extended code & 0xff`,
/// <https://www.sqlite.org/rescode.html>).
const SQLITE_BUSY: i64 = 5;
/// A table is locked by another statement of the same connection (shared cache).
const SQLITE_LOCKED: i64 = 6;
/// An I/O error (disk failing, file removed under us).
const SQLITE_IOERR: i64 = 10;
/// The disk (or `max_page_count`) is full.
const SQLITE_FULL: i64 = 13;

/// What went wrong in the CDR store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open CDR database {path}: {source}")]
    Open {
        /// The file we tried to open.
        path: PathBuf,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Applying the embedded schema migrations failed.
    #[error("CDR database migration failed: {0}")]
    Migrate(#[from] MigrateError),
    /// Another connection holds the database (`SQLITE_BUSY` / `SQLITE_LOCKED`) beyond the
    /// busy timeout. Transient.
    #[error("CDR database is busy or locked: {0}")]
    Busy(sqlx::Error),
    /// The disk is full (`SQLITE_FULL`) or failing (`SQLITE_IOERR`, an I/O error).
    /// Transient: retried until the condition clears.
    #[error("CDR database disk full or I/O error: {0}")]
    Disk(sqlx::Error),
    /// No pooled connection became free in time. Transient.
    #[error("no CDR database connection available in time")]
    PoolTimeout,
    /// Any other query failure (a programming or schema error). Not transient.
    #[error("CDR database query failed: {0}")]
    Query(sqlx::Error),
    /// A record could not be encoded or a stored JSON body decoded.
    #[error("CDR record JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value does not have the expected form.
    #[error("corrupt value in CDR column {column}: {value:?}")]
    Corrupt {
        /// The column holding the value.
        column: &'static str,
        /// The stored value.
        value: String,
    },
    /// A custom field column name is not a plain identifier or clashes with a built-in one.
    #[error("invalid custom CDR column name {0:?}")]
    BadColumn(String),
    /// A write was attempted on a store opened with [`super::CdrStore::open_read_only`].
    #[error("the CDR store is open read-only")]
    ReadOnly,
}

impl StoreError {
    /// Whether the condition can clear by itself (busy/locked database, full disk, I/O
    /// error, no free connection): the caller keeps the records and retries later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Busy(_) | StoreError::Disk(_) | StoreError::PoolTimeout
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        let primary = match &error {
            sqlx::Error::Database(db) => db
                .code()
                .and_then(|code| code.parse::<i64>().ok())
                .map(|code| code & 0xff),
            sqlx::Error::PoolTimedOut => return StoreError::PoolTimeout,
            sqlx::Error::Io(_) => return StoreError::Disk(error),
            _ => None,
        };
        match primary {
            Some(SQLITE_BUSY | SQLITE_LOCKED) => StoreError::Busy(error),
            Some(SQLITE_FULL | SQLITE_IOERR) => StoreError::Disk(error),
            _ => StoreError::Query(error),
        }
    }
}
