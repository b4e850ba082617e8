//! `switchboard cdr export`: streams the leg records (`cdr_leg`) or bridge records (`cdr`)
//! of a CDR database as CSV (a header row, then one row per record, RFC 4180 quoting) or
//! JSON Lines (one object per line, keys in column order).
//!
//! Rows are streamed with sqlx `fetch` (constant memory, any size), ordered by start time,
//! optionally limited to `from ≤ start < to` ([`export`]) or by the web's search filters
//! ([`export_legs`], [`export_bridges`], same filters as `cdr::query`). It works on a store opened read-only while
//! the PBX writes (WAL: readers never block the writer).
//!
//! Every column of the table is exported except the internal `id`, so custom field columns
//! and `details` come along. Times (`start`, `answer`, `end`) are rendered in UTC ISO-8601
//! with milliseconds (`2026-11-22T23:45:01.123Z`), each followed by its local rendering
//! (`start_local`: `YYYY-MM-DD HH:MM:SS`). In JSON, `details` is embedded as JSON.
//!
//! Depends on: `cdr::store` (the pool), `cdr::query` (filters → SQL), `cdr::time`
//! (rendering), sqlx, tokio io.

use sqlx::sqlite::{SqliteRow, SqliteValueRef};
use sqlx::{Decode, Row, TypeInfo, ValueRef};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use super::model::Millis;
use super::query::{bind_all, has_index, BridgeFilter, LegFilter, QueryError, Spec, Table};
use super::store::schema::{table_columns, DETAILS_COLUMN};
use super::store::{CdrStore, StoreError};
use super::time::{iso_utc, local_datetime};

/// Which records are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportMode {
    /// Leg-mode records (`cdr_leg`).
    Leg,
    /// Bridge-mode records (`cdr`).
    Bridge,
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV with a header row.
    Csv,
    /// JSON Lines: one object per line.
    Json,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A filter field is invalid.
    #[error(transparent)]
    Filter(#[from] QueryError),
    /// Writing the output failed.
    #[error("export output: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for ExportError {
    fn from(error: sqlx::Error) -> ExportError {
        ExportError::Store(StoreError::from(error))
    }
}

/// The time columns rendered as UTC ISO-8601 plus a `<name>_local` column.
const TIME_COLUMNS: &[&str] = &["start", "answer", "end"];

/// One exported column.
#[derive(Debug)]
struct Column {
    /// Its name in the table (and in the output).
    name: String,
    /// A time column: rendered as ISO-8601 and followed by `<name>_local`.
    time: bool,
}

/// One value as read.
#[derive(Debug)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// Writes the records of `mode` whose start is in `[from, to)` to `out` in `format`;
/// returns how many rows were written. `out` is flushed at the end.
pub async fn export<W: AsyncWrite + Unpin>(
    store: &CdrStore,
    mode: ExportMode,
    format: ExportFormat,
    from: Option<Millis>,
    to: Option<Millis>,
    out: W,
) -> Result<u64, ExportError> {
    let spec = Spec {
        table: match mode {
            ExportMode::Leg => Table::Leg,
            ExportMode::Bridge => Table::Bridge,
        },
        from: from.unwrap_or(Millis::MIN),
        to: to.unwrap_or(Millis::MAX),
        equal: Vec::new(),
        number: None,
        limit: 1,
        cursor: None,
    };
    export_spec(store, &spec, format, out).await
}

/// Writes the leg records matching `filter` (its `limit` and `cursor` ignored: every
/// match), oldest first, to `out` in `format`; returns how many rows were written.
pub async fn export_legs<W: AsyncWrite + Unpin>(
    store: &CdrStore,
    filter: &LegFilter,
    format: ExportFormat,
    out: W,
) -> Result<u64, ExportError> {
    let filter = LegFilter {
        limit: None,
        cursor: None,
        ..filter.clone()
    };
    export_spec(store, &Spec::leg(&filter)?, format, out).await
}

/// Writes the bridge records matching `filter` (its `limit` and `cursor` ignored), oldest
/// first, to `out` in `format`; returns how many rows were written.
pub async fn export_bridges<W: AsyncWrite + Unpin>(
    store: &CdrStore,
    filter: &BridgeFilter,
    format: ExportFormat,
    out: W,
) -> Result<u64, ExportError> {
    let filter = BridgeFilter {
        limit: None,
        cursor: None,
        ..filter.clone()
    };
    export_spec(store, &Spec::bridge(&filter)?, format, out).await
}

/// Streams the rows `spec` selects. Always walks the time index (never a sort, so memory
/// stays constant whatever the filter matches).
async fn export_spec<W: AsyncWrite + Unpin>(
    store: &CdrStore,
    spec: &Spec,
    format: ExportFormat,
    out: W,
) -> Result<u64, ExportError> {
    let table = spec.table.name();
    let mut conn = store.pool().acquire().await?;
    let columns: Vec<Column> = table_columns(&mut conn, table)
        .await?
        .into_iter()
        .filter(|(name, _)| name != "id")
        .map(|(name, _)| Column {
            time: TIME_COLUMNS.contains(&name.as_str()),
            name,
        })
        .collect();
    let select = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(",");
    let index = spec.table.time_index();
    let hint = if has_index(&mut conn, index).await? {
        format!("INDEXED BY {index}")
    } else {
        String::new()
    };
    let (cond, binds) = spec.conditions(false);
    let sql = format!("SELECT {select} FROM {table} {hint} WHERE {cond} ORDER BY start, id");
    let mut out = BufWriter::new(out);
    if format == ExportFormat::Csv {
        out.write_all(csv_header(&columns).as_bytes()).await?;
    }
    let mut rows = bind_all(sqlx::query(&sql), &binds).fetch(&mut *conn);
    let mut count = 0u64;
    let mut line = String::new();
    // `rows` is a boxed `dyn Stream`: its `poll_next` is callable without naming the
    // trait (the futures crates are not direct dependencies).
    while let Some(row) = std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await {
        let row = row?;
        line.clear();
        match format {
            ExportFormat::Csv => csv_row(&columns, &row, &mut line)?,
            ExportFormat::Json => json_row(&columns, &row, &mut line)?,
        }
        out.write_all(line.as_bytes()).await?;
        count += 1;
    }
    out.flush().await?;
    tracing::debug!(table, rows = count, "CDR export done");
    Ok(count)
}

/// Reads column `i` with the type the value actually has (SQLite is dynamically typed).
fn value(row: &SqliteRow, i: usize) -> Result<Value, ExportError> {
    let raw: SqliteValueRef<'_> = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    let decoded = match type_name.as_str() {
        "INTEGER" => <i64 as Decode<'_, sqlx::Sqlite>>::decode(raw).map(Value::Int),
        "REAL" => <f64 as Decode<'_, sqlx::Sqlite>>::decode(raw).map(Value::Real),
        _ => <String as Decode<'_, sqlx::Sqlite>>::decode(raw).map(Value::Text),
    };
    decoded.map_err(|source| {
        ExportError::from(sqlx::Error::ColumnDecode {
            index: i.to_string(),
            source,
        })
    })
}

/// The header row.
fn csv_header(columns: &[Column]) -> String {
    let mut names = Vec::with_capacity(columns.len() + TIME_COLUMNS.len());
    for c in columns {
        names.push(csv_field(&c.name));
        if c.time {
            names.push(csv_field(&format!("{}_local", c.name)));
        }
    }
    let mut line = names.join(",");
    line.push('\n');
    line
}

/// RFC 4180: quoted (with `"` doubled) when it holds a comma, quote, CR, LF or edge space.
fn csv_field(text: &str) -> String {
    let needs =
        text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ');
    if needs {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_row(columns: &[Column], row: &SqliteRow, line: &mut String) -> Result<(), ExportError> {
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let v = value(row, i)?;
        match (&v, c.time) {
            (Value::Int(ms), true) => {
                line.push_str(&iso_utc(*ms));
                line.push(',');
                line.push_str(&local_datetime(*ms));
            }
            (Value::Text(text), time) => {
                line.push_str(&csv_field(&defuse_formula(text)));
                if time {
                    line.push(',');
                }
            }
            (_, time) => {
                line.push_str(&csv_field(&plain(&v)));
                if time {
                    line.push(',');
                }
            }
        }
    }
    line.push('\n');
    Ok(())
}

/// A text cell a spreadsheet would run as a formula gets a leading `'` (OWASP's advice on
/// CSV injection): caller names come from SIP `From` headers, i.e. from anyone who can
/// call. Cells starting with `=`, `@`, tab or CR, and `+`/`-` cells that are not plain
/// numbers (`+15551234` stays as it is: it is a phone number, not a formula).
fn defuse_formula(text: &str) -> std::borrow::Cow<'_, str> {
    let mut chars = text.chars();
    let risky = match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => {
            let rest = chars.as_str();
            rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit() || c == '.')
        }
        _ => false,
    };
    if risky {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A value as CSV text (NULL is empty).
fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Int(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(s) => s.clone(),
    }
}

fn json_row(columns: &[Column], row: &SqliteRow, line: &mut String) -> Result<(), ExportError> {
    line.push('{');
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let v = value(row, i)?;
        push_key(line, &c.name);
        match (&v, c.time) {
            (Value::Int(ms), true) => {
                push_json(line, &serde_json::Value::from(iso_utc(*ms)));
                line.push(',');
                push_key(line, &format!("{}_local", c.name));
                push_json(line, &serde_json::Value::from(local_datetime(*ms)));
            }
            (_, time) => {
                let json = match &v {
                    Value::Null => serde_json::Value::Null,
                    Value::Int(n) => serde_json::Value::from(*n),
                    // Non-finite numbers have no JSON form: null.
                    Value::Real(x) => serde_json::Number::from_f64(*x)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number),
                    Value::Text(s) if c.name == DETAILS_COLUMN => serde_json::from_str(s)
                        .unwrap_or_else(|_| serde_json::Value::from(s.as_str())),
                    Value::Text(s) => serde_json::Value::from(s.as_str()),
                };
                push_json(line, &json);
                if time {
                    line.push(',');
                    push_key(line, &format!("{}_local", c.name));
                    line.push_str("null");
                }
            }
        }
    }
    line.push_str("}\n");
    Ok(())
}

fn push_key(line: &mut String, key: &str) {
    push_json(line, &serde_json::Value::from(key));
    line.push(':');
}

fn push_json(line: &mut String, value: &serde_json::Value) {
    // Display of a serde_json::Value is its compact JSON text.
    line.push_str(&value.to_string());
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
