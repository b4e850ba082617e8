//! The CDR database schema: numbered migrations embedded in the binary (applied by sqlx's
//! [`Migrator`], which records them in its own `_sqlx_migrations` table, like `crate::db`),
//! the column lists the writer binds in order, and the custom field columns (`fields`) and
//! `details` column added with `ALTER TABLE … ADD COLUMN` at open when missing.
//!
//! Unique keys lead with a value that grows with time (`(start, uuid)` for legs,
//! `(sequence, uniqueid)` for bridge records, `(event_seq, uniqueid, eventtype)` for CEL,
//! where `LINKEDID_END` shares the seq of its channel's `CHAN_END`) so that the rows of a batch land in a few adjacent index pages instead of one random page each
//! (uuids are random): a commit then writes a few pages per index, however big the table.
//! The leading column doubles as the time-range index (`start`).
//!
//! Times are INTEGER milliseconds since the Unix epoch (UTC); `start`, `answer`, `end` keep
//! the Asterisk names, so `"end"` must be quoted in SQL (it is a keyword).
//!
//! Depends on: `config::cdr` (`FieldSpec`), sqlx.

use sqlx::migrate::Migrator;

use crate::db::EmbeddedMigrations;
use sqlx::{Row, SqliteConnection};

use super::StoreError;
use crate::config::cdr::{FieldKind, FieldSpec};

/// The migrations, in version order. Add a new entry; never edit an applied one (sqlx
/// records its checksum).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "cdr tables", MIGRATION_1),
    (2, "cdr query indexes", MIGRATION_2),
];

/// Version 1: every table and index.
const MIGRATION_1: &str = r#"
CREATE TABLE cdr_leg (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL,
    node_id TEXT NOT NULL,
    status TEXT NOT NULL,
    direction TEXT NOT NULL,
    account TEXT NOT NULL,
    caller_id_number TEXT NOT NULL,
    caller_id_name TEXT NOT NULL,
    callee_id_number TEXT NOT NULL,
    destination_number TEXT NOT NULL,
    originator TEXT,
    bridge_uuid TEXT,
    call_source TEXT NOT NULL,
    source_name TEXT NOT NULL,
    source_number TEXT NOT NULL,
    dial_number TEXT NOT NULL,
    line_group TEXT NOT NULL,
    context TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    sip_call_id TEXT,
    start INTEGER NOT NULL,
    answer INTEGER,
    "end" INTEGER,
    duration INTEGER NOT NULL,
    billsec INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    billsec_ms INTEGER NOT NULL,
    hangup_cause TEXT NOT NULL,
    q850 INTEGER,
    sip_code INTEGER,
    hangup_side TEXT NOT NULL,
    codec TEXT,
    rtp_in_packets INTEGER NOT NULL,
    rtp_in_lost INTEGER NOT NULL,
    rtp_in_jitter_ms REAL NOT NULL,
    rtp_out_packets INTEGER NOT NULL,
    rtp_out_lost INTEGER NOT NULL,
    rtp_out_jitter_ms REAL NOT NULL,
    linkedid TEXT NOT NULL,
    accountcode TEXT NOT NULL,
    amaflags TEXT NOT NULL,
    userfield TEXT NOT NULL,
    UNIQUE (start, uuid)
);
CREATE INDEX cdr_leg_caller ON cdr_leg(caller_id_number);
CREATE INDEX cdr_leg_destination ON cdr_leg(destination_number);
CREATE INDEX cdr_leg_linkedid ON cdr_leg(linkedid);
CREATE INDEX cdr_leg_open ON cdr_leg(uuid) WHERE "end" IS NULL;

CREATE TABLE cdr (
    id INTEGER PRIMARY KEY,
    node_id TEXT NOT NULL,
    clid TEXT NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    dcontext TEXT NOT NULL,
    channel TEXT NOT NULL,
    dstchannel TEXT NOT NULL,
    lastapp TEXT NOT NULL,
    lastdata TEXT NOT NULL,
    start INTEGER NOT NULL,
    answer INTEGER,
    "end" INTEGER,
    duration INTEGER NOT NULL,
    billsec INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    billsec_ms INTEGER NOT NULL,
    disposition TEXT NOT NULL,
    amaflags TEXT NOT NULL,
    accountcode TEXT NOT NULL,
    peeraccount TEXT NOT NULL,
    uniqueid TEXT NOT NULL,
    peer_uniqueid TEXT NOT NULL,
    linkedid TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    userfield TEXT NOT NULL,
    UNIQUE (sequence, uniqueid)
);
CREATE INDEX cdr_start ON cdr(start);
CREATE INDEX cdr_src ON cdr(src);
CREATE INDEX cdr_dst ON cdr(dst);
CREATE INDEX cdr_disposition ON cdr(disposition);
CREATE INDEX cdr_linkedid ON cdr(linkedid);

CREATE TABLE cel (
    id INTEGER PRIMARY KEY,
    event_seq INTEGER NOT NULL,
    node_id TEXT NOT NULL,
    eventtype TEXT NOT NULL,
    eventtime INTEGER NOT NULL,
    cid_name TEXT NOT NULL,
    cid_num TEXT NOT NULL,
    cid_ani TEXT NOT NULL,
    cid_rdnis TEXT NOT NULL,
    cid_dnid TEXT NOT NULL,
    exten TEXT NOT NULL,
    context TEXT NOT NULL,
    channame TEXT NOT NULL,
    appname TEXT NOT NULL,
    appdata TEXT NOT NULL,
    amaflags TEXT NOT NULL,
    accountcode TEXT NOT NULL,
    peeraccount TEXT NOT NULL,
    uniqueid TEXT NOT NULL,
    linkedid TEXT NOT NULL,
    userfield TEXT NOT NULL,
    peer TEXT NOT NULL,
    extra TEXT NOT NULL,
    UNIQUE (event_seq, uniqueid, eventtype)
);
CREATE INDEX cel_eventtime ON cel(eventtime);
CREATE INDEX cel_linkedid ON cel(linkedid);

CREATE TABLE cdr_live (
    record_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    node_id TEXT NOT NULL,
    sequence INTEGER,
    body TEXT NOT NULL,
    updated INTEGER NOT NULL
);

CREATE TABLE cdr_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX cdr_outbox_due ON cdr_outbox(next_attempt);

CREATE TABLE cdr_node (
    node_id TEXT PRIMARY KEY,
    started INTEGER NOT NULL,
    last_alive INTEGER NOT NULL
);
"#;

/// Version 2: the indexes of the web's CDR searches and reports (`cdr::query`).
///
/// - `cdr_leg_time (start, id, …)`: time-ordered paging (`ORDER BY start DESC, id DESC`
///   walks it backwards with no sort) and, covering `direction, answer, billsec`, the calls
///   per bucket of a report (index range scans; the wide rows are never read). Appended to
///   in time order, like the unique key: nearly free for the batch writer.
/// - `cdr_leg_account (account, start, line_group, billsec)`: the account filter and the
///   busiest extensions and gateways of a report (one covering range scan per account, no
///   sort: a month of 1,000,000 legs in ~90 ms instead of ~500 ms for a `GROUP BY`).
///   The price: ~200 insertion points per batch, like the number indexes; the writer
///   bench (final legs, batches of 1,000) drops from ~52k to ~34k records/s with it.
/// - `cdr_leg_callee`: the number filter matches caller, callee or destination (the other
///   two had indexes). Partial: only legs whose callee differs from the destination (rare;
///   the others are found through `cdr_leg_destination`), so the writer pays almost nothing
///   for it. `cdr::query` repeats the condition verbatim so SQLite uses it.
const MIGRATION_2: &str = r#"
CREATE INDEX cdr_leg_time ON cdr_leg(start, id, direction, answer, billsec);
CREATE INDEX cdr_leg_account ON cdr_leg(account, start, line_group, billsec);
CREATE INDEX cdr_leg_callee ON cdr_leg(callee_id_number)
    WHERE callee_id_number <> destination_number;
"#;

/// Columns of `cdr_leg` written from a `LegRecord`, in bind order (see `super::bind`).
pub(crate) const LEG_COLUMNS: &[&str] = &[
    "uuid",
    "node_id",
    "status",
    "direction",
    "account",
    "caller_id_number",
    "caller_id_name",
    "callee_id_number",
    "destination_number",
    "originator",
    "bridge_uuid",
    "call_source",
    "source_name",
    "source_number",
    "dial_number",
    "line_group",
    "context",
    "channel_name",
    "sip_call_id",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "duration_ms",
    "billsec_ms",
    "hangup_cause",
    "q850",
    "sip_code",
    "hangup_side",
    "codec",
    "rtp_in_packets",
    "rtp_in_lost",
    "rtp_in_jitter_ms",
    "rtp_out_packets",
    "rtp_out_lost",
    "rtp_out_jitter_ms",
    "linkedid",
    "accountcode",
    "amaflags",
    "userfield",
];

/// Columns of `cdr` written from a `BridgeRecord`, in bind order.
pub(crate) const BRIDGE_COLUMNS: &[&str] = &[
    "node_id",
    "clid",
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "duration_ms",
    "billsec_ms",
    "disposition",
    "amaflags",
    "accountcode",
    "peeraccount",
    "uniqueid",
    "peer_uniqueid",
    "linkedid",
    "sequence",
    "userfield",
];

/// Columns of `cel` written from a `CelRecord`, in bind order.
pub(crate) const CEL_COLUMNS: &[&str] = &[
    "event_seq",
    "node_id",
    "eventtype",
    "eventtime",
    "cid_name",
    "cid_num",
    "cid_ani",
    "cid_rdnis",
    "cid_dnid",
    "exten",
    "context",
    "channame",
    "appname",
    "appdata",
    "amaflags",
    "accountcode",
    "peeraccount",
    "uniqueid",
    "linkedid",
    "userfield",
    "peer",
    "extra",
];

/// Columns of `cdr_live`, in bind order.
pub(crate) const LIVE_COLUMNS: &[&str] = &[
    "record_id",
    "kind",
    "node_id",
    "sequence",
    "body",
    "updated",
];

/// Columns of `cdr_outbox` written per final record, in bind order.
pub(crate) const OUTBOX_COLUMNS: &[&str] = &["record_id", "payload", "next_attempt", "created"];

/// The name of the JSON column holding the whole record (`details = true`).
pub(crate) const DETAILS_COLUMN: &str = "details";

/// Applies the migrations not yet applied.
pub(crate) async fn migrate(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let migrator = Migrator::new(EmbeddedMigrations(MIGRATIONS)).await?;
    migrator.run(conn).await?;
    Ok(())
}

/// Whether `name` is a plain SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`), safe to splice
/// into a statement between double quotes.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The names of `table`'s columns, in table order.
pub(crate) async fn table_columns(
    conn: &mut SqliteConnection,
    table: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?)")
        .bind(table)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("name")?, row.try_get("type")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Checks the custom columns: plain identifiers, no clash with `builtin`, no duplicates.
pub(crate) fn check_custom(fields: &[FieldSpec], builtin: &[&str]) -> Result<(), StoreError> {
    for (i, spec) in fields.iter().enumerate() {
        let name = spec.column.as_str();
        let clash = builtin.iter().any(|b| b.eq_ignore_ascii_case(name))
            || ["id", DETAILS_COLUMN]
                .iter()
                .any(|b| b.eq_ignore_ascii_case(name))
            || fields[..i]
                .iter()
                .any(|other| other.column.eq_ignore_ascii_case(name));
        if !is_identifier(name) || clash {
            return Err(StoreError::BadColumn(spec.column.clone()));
        }
    }
    Ok(())
}

/// Adds to `table` the custom field columns (TEXT, or REAL for `number:` fields) and, when
/// `details`, the `details` column, where missing. Existing columns are left as they are
/// (a column no longer configured stays, and is no longer written).
pub(crate) async fn add_custom_columns(
    conn: &mut SqliteConnection,
    table: &str,
    fields: &[FieldSpec],
    details: bool,
) -> Result<(), StoreError> {
    let existing = table_columns(conn, table).await?;
    let has = |name: &str| existing.iter().any(|(c, _)| c.eq_ignore_ascii_case(name));
    let mut wanted: Vec<(&str, &str)> = fields
        .iter()
        .map(|spec| {
            let ty = match spec.kind {
                FieldKind::Text => "TEXT",
                FieldKind::Number => "REAL",
            };
            (spec.column.as_str(), ty)
        })
        .collect();
    if details {
        wanted.push((DETAILS_COLUMN, "TEXT"));
    }
    for (column, ty) in wanted {
        if has(column) {
            continue;
        }
        // Safe: `column` passed `check_custom` (a plain identifier), and is quoted.
        let sql = format!("ALTER TABLE {table} ADD COLUMN \"{column}\" {ty}");
        sqlx::query(&sql).execute(&mut *conn).await?;
        tracing::info!(table, column, ty, "CDR custom column added");
    }
    Ok(())
}
