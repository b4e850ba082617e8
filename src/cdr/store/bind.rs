//! Multi-row statements: the SQL text of an `INSERT … VALUES (…),(…)` (or a
//! `DELETE … IN (…)`) for a given row count, the binding of one record's values in the
//! column order of `super::schema`, and the chunk sizes that keep every statement under
//! SQLite's bound-variable limit.
//!
//! Row counts per statement are powers of two (a full chunk, then the binary digits of the
//! remainder), so a connection only ever prepares a few distinct statements per table and
//! sqlx's per-connection statement cache keeps them all prepared.
//!
//! Depends on: `cdr::model` (the records), sqlx.

use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::Sqlite;

use crate::cdr::fields::FieldValue;
use crate::cdr::model::{BridgeRecord, CelRecord, LegRecord};

/// A statement under construction, borrowing its SQL text and values.
pub(crate) type Q<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER` since 3.32 (the bundled library is newer).
const MAX_VARIABLES: usize = 32_766;

/// Most rows in one statement: bigger statements gain nothing measurable and take longer
/// to prepare.
const MAX_ROWS: usize = 1024;

/// The largest row count per statement for `columns` bound values per row: a power of two.
pub(crate) fn max_rows(columns: usize) -> usize {
    let fit = (MAX_VARIABLES / columns.max(1)).clamp(1, MAX_ROWS);
    // Largest power of two ≤ fit.
    1 << (usize::BITS - 1 - fit.leading_zeros())
}

/// Splits `n` rows into statement sizes: full chunks of `max`, then powers of two.
pub(crate) fn chunk_sizes(mut n: usize, max: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while n >= max {
        sizes.push(max);
        n -= max;
    }
    let mut p = max;
    while n > 0 {
        p /= 2;
        if n >= p && p > 0 {
            sizes.push(p);
            n -= p;
        }
    }
    sizes
}

/// `"a","b","end"`: a quoted column list.
pub(crate) fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",")
}

/// `INSERT <verb> INTO table (cols) VALUES (?,…),… <suffix>` for `rows` rows.
pub(crate) fn insert_sql(
    verb: &str,
    table: &str,
    columns: &[String],
    rows: usize,
    suffix: &str,
) -> String {
    let one = format!("({})", vec!["?"; columns.len()].join(","));
    let mut sql = String::with_capacity(64 + rows * (one.len() + 1) + suffix.len());
    sql.push_str(&format!(
        "INSERT {verb} INTO {table} ({}) VALUES ",
        column_list(columns)
    ));
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&one);
    }
    sql.push(' ');
    sql.push_str(suffix);
    sql
}

/// `DELETE FROM table WHERE column IN (?,…) <extra>` for `rows` keys.
pub(crate) fn delete_sql(table: &str, column: &str, rows: usize, extra: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE \"{column}\" IN ({}) {extra}",
        vec!["?"; rows].join(",")
    )
}

/// `u64` as SQLite INTEGER (values beyond `i64::MAX` saturate).
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Binds a leg record's values in [`super::schema::LEG_COLUMNS`] order.
pub(crate) fn bind_leg<'q>(q: Q<'q>, r: &'q LegRecord) -> Q<'q> {
    q.bind(r.uuid.as_str())
        .bind(r.node_id.as_str())
        .bind(r.status.as_str())
        .bind(r.direction.as_str())
        .bind(r.account.as_str())
        .bind(r.caller_id_number.as_str())
        .bind(r.caller_id_name.as_str())
        .bind(r.callee_id_number.as_str())
        .bind(r.destination_number.as_str())
        .bind(r.originator.as_deref())
        .bind(r.bridge_uuid.as_deref())
        .bind(r.call_source.as_str())
        .bind(r.source_name.as_str())
        .bind(r.source_number.as_str())
        .bind(r.dial_number.as_str())
        .bind(r.line_group.as_str())
        .bind(r.context.as_str())
        .bind(r.channel_name.as_str())
        .bind(r.sip_call_id.as_deref())
        .bind(r.start)
        .bind(r.answer)
        .bind(r.end)
        .bind(r.duration)
        .bind(r.billsec)
        .bind(r.duration_ms)
        .bind(r.billsec_ms)
        .bind(r.hangup_cause.as_str())
        .bind(r.q850.map(i64::from))
        .bind(r.sip_code.map(i64::from))
        .bind(r.hangup_side.as_str())
        .bind(r.codec.as_deref())
        .bind(int(r.rtp.in_packets))
        .bind(int(r.rtp.in_lost))
        .bind(r.rtp.in_jitter_ms)
        .bind(int(r.rtp.out_packets))
        .bind(int(r.rtp.out_lost))
        .bind(r.rtp.out_jitter_ms)
        .bind(r.linkedid.as_str())
        .bind(r.accountcode.as_str())
        .bind(r.amaflags.as_str())
        .bind(r.userfield.as_str())
}

/// Binds a bridge record's values in [`super::schema::BRIDGE_COLUMNS`] order.
pub(crate) fn bind_bridge<'q>(q: Q<'q>, r: &'q BridgeRecord) -> Q<'q> {
    q.bind(r.node_id.as_str())
        .bind(r.clid.as_str())
        .bind(r.src.as_str())
        .bind(r.dst.as_str())
        .bind(r.dcontext.as_str())
        .bind(r.channel.as_str())
        .bind(r.dstchannel.as_str())
        .bind(r.lastapp.as_str())
        .bind(r.lastdata.as_str())
        .bind(r.start)
        .bind(r.answer)
        .bind(r.end)
        .bind(r.duration)
        .bind(r.billsec)
        .bind(r.duration_ms)
        .bind(r.billsec_ms)
        .bind(r.disposition.as_str())
        .bind(r.amaflags.as_str())
        .bind(r.accountcode.as_str())
        .bind(r.peeraccount.as_str())
        .bind(r.uniqueid.as_str())
        .bind(r.peer_uniqueid.as_str())
        .bind(r.linkedid.as_str())
        .bind(int(r.sequence))
        .bind(r.userfield.as_str())
}

/// Binds a CEL record's values in [`super::schema::CEL_COLUMNS`] order.
pub(crate) fn bind_cel<'q>(q: Q<'q>, r: &'q CelRecord) -> Q<'q> {
    q.bind(int(r.event_seq))
        .bind(r.node_id.as_str())
        .bind(r.eventtype.as_str())
        .bind(r.eventtime)
        .bind(r.cid_name.as_str())
        .bind(r.cid_num.as_str())
        .bind(r.cid_ani.as_str())
        .bind(r.cid_rdnis.as_str())
        .bind(r.cid_dnid.as_str())
        .bind(r.exten.as_str())
        .bind(r.context.as_str())
        .bind(r.channame.as_str())
        .bind(r.appname.as_str())
        .bind(r.appdata.as_str())
        .bind(r.amaflags.as_str())
        .bind(r.accountcode.as_str())
        .bind(r.peeraccount.as_str())
        .bind(r.uniqueid.as_str())
        .bind(r.linkedid.as_str())
        .bind(r.userfield.as_str())
        .bind(r.peer.as_str())
        .bind(r.extra.as_str())
}

/// Binds custom field values, then the `details` JSON when the table has that column.
pub(crate) fn bind_extra<'q>(
    mut q: Q<'q>,
    custom: &'q [FieldValue],
    details: Option<&'q Option<String>>,
) -> Q<'q> {
    for value in custom {
        q = match value {
            FieldValue::Text(s) => q.bind(s.as_str()),
            FieldValue::Number(n) => q.bind(*n),
            FieldValue::Null => q.bind(None::<&str>),
        };
    }
    if let Some(details) = details {
        q = q.bind(details.as_deref());
    }
    q
}
