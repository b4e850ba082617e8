//! Result rows as JSON objects: every column of the row under its own name (custom field
//! columns included), values typed as SQLite stored them (SQLite is dynamically typed),
//! the `details` column embedded as JSON. Times stay INTEGER milliseconds (UTC); the web
//! layer renders them.
//!
//! Depends on: sqlx, serde_json.

use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteRow, SqliteValueRef};
use sqlx::{Column, Decode, Row, TypeInfo, ValueRef};

use crate::cdr::store::schema::DETAILS_COLUMN;
use crate::cdr::store::StoreError;

/// One record as a JSON object, keys in column order.
pub type RowMap = Map<String, Value>;

/// `row` as a JSON object.
pub(crate) fn to_map(row: &SqliteRow) -> Result<RowMap, StoreError> {
    let mut map = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let name = column.name();
        let value = value(row, i)?;
        let value = match value {
            Value::String(s) if name == DETAILS_COLUMN => {
                serde_json::from_str(&s).unwrap_or(Value::String(s))
            }
            other => other,
        };
        map.insert(name.to_owned(), value);
    }
    Ok(map)
}

/// Column `i` decoded with the type the value actually has.
fn value(row: &SqliteRow, i: usize) -> Result<Value, StoreError> {
    let raw: SqliteValueRef<'_> = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    let decoded = match type_name.as_str() {
        "INTEGER" => <i64 as Decode<'_, sqlx::Sqlite>>::decode(raw).map(Value::from),
        // Non-finite numbers have no JSON form: null.
        "REAL" => <f64 as Decode<'_, sqlx::Sqlite>>::decode(raw)
            .map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
        _ => <String as Decode<'_, sqlx::Sqlite>>::decode(raw).map(Value::String),
    };
    decoded.map_err(|source| {
        StoreError::from(sqlx::Error::ColumnDecode {
            index: i.to_string(),
            source,
        })
    })
}
