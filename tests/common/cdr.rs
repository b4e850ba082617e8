//! Read-only access to the PBX's CDR database (`<data>/cdr.db`) for assertions: rows of a
//! table as column → text maps, so a test compares fields by name, exactly.
//!
//! Records are written asynchronously (group commit within milliseconds of a channel's
//! close); tests either stop the PBX first (a graceful stop commits every record) or wait for
//! a condition with [`wait_rows`].

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Column, ConnectOptions, Row, TypeInfo, ValueRef};

/// One row: column name → value as text (`None` for SQL NULL; numbers in decimal).
pub type CdrRow = BTreeMap<String, Option<String>>;

/// Every row of `table` matching `filter` (an SQL condition, `1` for all), ordered by
/// `order` (e.g. `id`).
pub async fn rows(db: &Path, table: &str, filter: &str, order: &str) -> Vec<CdrRow> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot open {} read-only: {e}", db.display()));
    let sql = format!("SELECT * FROM {table} WHERE {filter} ORDER BY {order}");
    let found = sqlx::query(&sql)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    found.iter().map(to_map).collect()
}

fn to_map(row: &sqlx::sqlite::SqliteRow) -> CdrRow {
    let mut map = BTreeMap::new();
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .unwrap_or_else(|e| panic!("column {i}: {e}"));
        let value = if raw.is_null() {
            None
        } else {
            match raw.type_info().name() {
                "INTEGER" => Some(row.get::<i64, _>(i).to_string()),
                "REAL" => Some(row.get::<f64, _>(i).to_string()),
                "BLOB" => Some(String::from_utf8_lossy(&row.get::<Vec<u8>, _>(i)).into_owned()),
                _ => Some(row.get::<String, _>(i)),
            }
        };
        map.insert(col.name().to_owned(), value);
    }
    map
}

/// [`rows`] for synchronous tests.
pub fn rows_blocking(db: &Path, table: &str, filter: &str, order: &str) -> Vec<CdrRow> {
    runtime().block_on(rows(db, table, filter, order))
}

/// Reads `table` until `done(rows)` holds or `limit` passes (then panics with the rows):
/// for records written while the PBX keeps running.
#[track_caller]
pub fn wait_rows(
    db: &Path,
    table: &str,
    filter: &str,
    limit: Duration,
    done: impl Fn(&[CdrRow]) -> bool,
) -> Vec<CdrRow> {
    let rt = runtime();
    let start = Instant::now();
    loop {
        let found = if db.exists() {
            rt.block_on(rows(db, table, filter, "rowid"))
        } else {
            Vec::new()
        };
        if done(&found) {
            return found;
        }
        if start.elapsed() > limit {
            panic!("{table} where {filter}: condition not reached in {limit:?}; rows: {found:#?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
}

/// The value of `column` in `row` (panics naming the row when the column is missing).
#[track_caller]
pub fn field<'a>(row: &'a CdrRow, column: &str) -> Option<&'a str> {
    match row.get(column) {
        Some(v) => v.as_deref(),
        None => panic!("no column {column} in {row:#?}"),
    }
}

/// Asserts that `row` has exactly these `(column, value)` pairs (`None` = NULL).
#[track_caller]
pub fn assert_fields(row: &CdrRow, expected: &[(&str, Option<&str>)]) {
    let mut wrong = Vec::new();
    for (column, want) in expected {
        let got = field(row, column);
        if got != *want {
            wrong.push(format!("{column}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}\nrow: {row:#?}", wrong.join("\n"));
}

/// `column` of `row` as an integer.
#[track_caller]
pub fn int(row: &CdrRow, column: &str) -> i64 {
    let v = field(row, column).unwrap_or_else(|| panic!("{column} is NULL in {row:#?}"));
    v.parse()
        .unwrap_or_else(|e| panic!("{column} = {v:?} is not an integer ({e}) in {row:#?}"))
}
