//! The CDR query engine the web layer uses: filtered, keyset-paged searches over leg
//! records (`cdr_leg`) and bridge records (`cdr`), the detail of one call by linkedid
//! (legs, bridge records, CEL timeline), and reports ([`report`]). The CSV export with the
//! same filters is `cdr::export::{export_legs, export_bridges}`.
//!
//! It reads `<data>/cdr.db` through a small pool of read-only connections
//! ([`CdrStore::open_read_only`]): WAL readers never block the CDR writer, and the writer
//! never blocks them.
//!
//! ```text
//!  LegFilter / BridgeFilter ─ validate ─► Spec ─► choose a driver:
//!    candidates = number (OR over its columns), linkedid, account / disposition
//!    bounded count per candidate through its index (≤ DRIVE_MAX + 1 index entries)
//!    smallest ≤ DRIVE_MAX → rows by id from the union of those index lookups, sorted
//!    otherwise            → walk the (start, id) index backwards, filter, stop at limit
//!  page = limit rows (start DESC, id DESC) + next_cursor = (start, id) of the last row
//! ```
//!
//! No OFFSET anywhere: a page costs the same at row 10 and at row 900,000, and rows
//! written while a user pages never shift the pages (new rows are newer than the cursor).
//!
//! Depends on: `cdr::store` (pool, schema names), `cdr::model`, sqlx, serde.

mod filter;
pub mod report;
mod row;

use std::path::Path;

use serde::Serialize;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Row, Sqlite};

pub use self::filter::{BridgeFilter, Cursor, LegFilter, NumberMatch, DEFAULT_LIMIT, MAX_LIMIT};
pub use self::report::{Bucket, BucketCount, Busiest, Report, ReportRequest};
pub use self::row::RowMap;

pub(crate) use self::filter::{Bind, Spec, Table};

use super::store::{CdrStore, StoreError};

/// The index of `cdr_leg` ordered by `(start, id)`, covering `direction, answer, billsec`
/// (schema migration 2). Time scans and the report's calls per bucket name it
/// (`INDEXED BY`).
pub const LEG_TIME_INDEX: &str = "cdr_leg_time";

/// A candidate set of at most this many rows is read by id and sorted; a larger one is
/// left to the time-ordered scan, which finds a page of a frequent value quickly (a value
/// in more than 1 % of the rows: 50 matches within a few thousand index entries) but a
/// rare one only after a long walk. `benches/cdr_query.rs`: an extension's ~6,000 legs
/// among 1,000,000 are read by id and sorted in ~30 ms; the cost grows linearly, so the
/// worst case of this path stays near 50 ms.
const DRIVE_MAX: i64 = 10_000;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A filter field is invalid (the web layer answers 422 naming `field`).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field (query-string name).
        field: &'static str,
        /// What is expected.
        reason: String,
    },
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueryError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> QueryError {
        QueryError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for QueryError {
    fn from(error: sqlx::Error) -> QueryError {
        QueryError::Store(StoreError::from(error))
    }
}

/// One page of a search.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The rows, newest first (`start` DESC, `id` DESC), every column of the table.
    pub rows: Vec<RowMap>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Everything recorded about one call (one linkedid).
#[derive(Debug, Clone, Serialize)]
pub struct CallDetail {
    /// The linkedid.
    pub linkedid: String,
    /// Its leg records, by start time.
    pub legs: Vec<RowMap>,
    /// Its bridge records, by start time then sequence.
    pub bridge: Vec<RowMap>,
    /// Its CEL events, by event time then event sequence (empty when CEL is off).
    pub cel: Vec<RowMap>,
}

/// The query engine: a read-only handle on `cdr.db`; cheap to clone.
#[derive(Debug, Clone)]
pub struct CdrQuery {
    /// The read-only store (its pool).
    store: CdrStore,
    /// Whether [`LEG_TIME_INDEX`] exists (a database not yet migrated by the writer has
    /// no such index: the queries then run without index hints, correct but slower).
    leg_time_index: bool,
    /// [`DRIVE_MAX`]; tests lower it to force time scans.
    drive_max: i64,
}

impl CdrQuery {
    /// Opens `path` (an existing `cdr.db`) read-only.
    pub async fn open(path: &Path) -> Result<CdrQuery, QueryError> {
        CdrQuery::with_store(CdrStore::open_read_only(path).await?).await
    }

    /// Queries through an already open store (read-only or not).
    pub async fn with_store(store: CdrStore) -> Result<CdrQuery, QueryError> {
        let mut conn = store.pool().acquire().await?;
        let leg_time_index = has_index(&mut conn, LEG_TIME_INDEX).await?;
        if !leg_time_index {
            tracing::warn!(
                index = LEG_TIME_INDEX,
                "CDR database not migrated yet: searches run without their index"
            );
        }
        drop(conn);
        Ok(CdrQuery {
            store,
            leg_time_index,
            drive_max: DRIVE_MAX,
        })
    }

    /// The store (for the CSV export).
    pub fn store(&self) -> &CdrStore {
        &self.store
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// One page of leg records matching `filter`.
    pub async fn legs(&self, filter: &LegFilter) -> Result<Page, QueryError> {
        self.search(&Spec::leg(filter)?).await
    }

    /// One page of bridge records matching `filter`.
    pub async fn bridges(&self, filter: &BridgeFilter) -> Result<Page, QueryError> {
        self.search(&Spec::bridge(filter)?).await
    }

    /// The legs, bridge records and CEL events of the call `linkedid`; `None` when no
    /// record has it.
    pub async fn call_detail(&self, linkedid: &str) -> Result<Option<CallDetail>, QueryError> {
        if linkedid.is_empty() || linkedid.len() > 128 {
            return Err(QueryError::invalid("linkedid", "1 to 128 bytes"));
        }
        let mut conn = self.store.pool().acquire().await?;
        let conn = &mut *conn;
        let legs = maps(
            conn,
            "SELECT * FROM cdr_leg WHERE linkedid = ? ORDER BY start, id",
            linkedid,
        )
        .await?;
        let bridge = maps(
            conn,
            "SELECT * FROM cdr WHERE linkedid = ? ORDER BY start, sequence, id",
            linkedid,
        )
        .await?;
        let cel = maps(
            conn,
            "SELECT * FROM cel WHERE linkedid = ? ORDER BY eventtime, event_seq, id",
            linkedid,
        )
        .await?;
        if legs.is_empty() && bridge.is_empty() && cel.is_empty() {
            return Ok(None);
        }
        Ok(Some(CallDetail {
            linkedid: linkedid.to_owned(),
            legs,
            bridge,
            cel,
        }))
    }

    /// The calls report over `request`'s period (see [`report`]).
    pub async fn report(&self, request: &ReportRequest) -> Result<Report, QueryError> {
        report::run(self.store.pool(), self.leg_time_index, request).await
    }

    /// `INDEXED BY <time index>` for `table`, or nothing when the index is missing.
    fn hint(&self, table: Table) -> String {
        match table {
            Table::Leg if !self.leg_time_index => String::new(),
            _ => format!("INDEXED BY {}", table.time_index()),
        }
    }

    async fn search(&self, spec: &Spec) -> Result<Page, QueryError> {
        let mut conn = self.store.pool().acquire().await?;
        let table = spec.table.name();
        let (cond, cond_binds) = spec.conditions(true);
        let mut binds = Vec::new();
        let sql = match choose_driver(&mut conn, spec, self.drive_max).await? {
            Some(candidate) => {
                let union: Vec<String> = candidate
                    .terms
                    .iter()
                    .map(|(term, _)| format!("SELECT id FROM {table} WHERE {term}"))
                    .collect();
                binds.extend(candidate.terms.into_iter().flat_map(|(_, b)| b));
                // NOT INDEXED: rows by rowid from the candidate set, never a time scan.
                format!(
                    "SELECT * FROM {table} NOT INDEXED WHERE id IN ({}) AND {cond} \
                     ORDER BY start DESC, id DESC LIMIT ?",
                    union.join(" UNION ")
                )
            }
            None => format!(
                "SELECT * FROM {table} {} WHERE {cond} ORDER BY start DESC, id DESC LIMIT ?",
                self.hint(spec.table)
            ),
        };
        binds.extend(cond_binds);
        binds.push(Bind::Int(i64::from(spec.limit) + 1));
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&mut *conn)
            .await?;
        let more = rows.len() > spec.limit as usize;
        let page: &[_] = &rows[..rows.len().min(spec.limit as usize)];
        let next_cursor = match (more, page.last()) {
            (true, Some(last)) => Some(
                Cursor {
                    start: last.try_get("start")?,
                    id: last.try_get("id")?,
                }
                .encode(),
            ),
            _ => None,
        };
        let rows = page
            .iter()
            .map(row::to_map)
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { rows, next_cursor })
    }
}

/// The smallest candidate row set, when it has at most `drive_max` rows.
async fn choose_driver(
    conn: &mut SqliteConnection,
    spec: &Spec,
    drive_max: i64,
) -> Result<Option<filter::Candidate>, QueryError> {
    let table = spec.table.name();
    let mut best: Option<(i64, filter::Candidate)> = None;
    for candidate in spec.candidates() {
        let parts: Vec<String> = candidate
            .terms
            .iter()
            .map(|(term, _)| {
                format!("(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {term} LIMIT ?))")
            })
            .collect();
        let sql = format!("SELECT {} AS n", parts.join(" + "));
        let mut binds = Vec::new();
        for (_, b) in &candidate.terms {
            binds.extend(b.iter().cloned());
            binds.push(Bind::Int(drive_max.max(0) + 1));
        }
        let n: i64 = bind_all(sqlx::query(&sql), &binds)
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
        if n <= drive_max && best.as_ref().is_none_or(|(m, _)| n < *m) {
            best = Some((n, candidate));
        }
    }
    Ok(best.map(|(_, c)| c))
}

/// The rows of `sql` (one text parameter) as JSON objects.
async fn maps(
    conn: &mut SqliteConnection,
    sql: &'static str,
    value: &str,
) -> Result<Vec<RowMap>, QueryError> {
    let rows = sqlx::query(sql).bind(value).fetch_all(conn).await?;
    Ok(rows
        .iter()
        .map(row::to_map)
        .collect::<Result<Vec<_>, StoreError>>()?)
}

/// Binds `binds` in order.
pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Sqlite, SqliteArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    for b in binds {
        query = match b {
            Bind::Int(v) => query.bind(*v),
            Bind::Text(v) => query.bind(v.as_str()),
        };
    }
    query
}

/// Whether the index `name` exists.
pub(crate) async fn has_index(conn: &mut SqliteConnection, name: &str) -> Result<bool, QueryError> {
    let n: i64 =
        sqlx::query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name = ?")
            .bind(name)
            .fetch_one(conn)
            .await?
            .try_get("n")?;
    Ok(n > 0)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
