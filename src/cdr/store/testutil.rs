//! Test helpers of the store and export tests: a store in a temporary directory, record
//! builders for live records and CEL rows, and row counts.

use std::path::PathBuf;
use std::sync::Arc;

use sqlx::Row;
use tempfile::TempDir;

use super::CdrStore;
use crate::cdr::fields::tests::{bridge_record, leg_record};
use crate::cdr::model::{BridgeRecord, CelRecord, Disposition, LegRecord, LegStatus, Millis};
use crate::config::cdr::CdrSettings;

/// 2026-11-22T23:45:01.123Z.
pub(crate) const T: Millis = 1_795_391_101_123;

/// Default settings with this node id (the record builders use `1.2.3`).
pub(crate) fn settings() -> CdrSettings {
    CdrSettings {
        node_id: "1.2.3".to_owned(),
        ..CdrSettings::default()
    }
}

/// A store opened on `<tmp>/cdr.db` with `settings`.
pub(crate) async fn open(settings: &CdrSettings) -> (TempDir, PathBuf, CdrStore) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("cdr.db");
    let store = CdrStore::open(&path, settings)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    (dir, path, store)
}

/// A final answered leg (see `fields::tests::leg_record`).
pub(crate) fn final_leg(uuid: &str, start: Millis) -> Arc<LegRecord> {
    Arc::new(leg_record(uuid, start))
}

/// The same leg while live: no end, no cause, `status`; answered iff `answered`.
pub(crate) fn live_leg(uuid: &str, start: Millis, answered: bool) -> Arc<LegRecord> {
    let mut r = leg_record(uuid, start);
    r.status = if answered {
        LegStatus::Answered
    } else {
        LegStatus::Ringing
    };
    if !answered {
        r.answer = None;
    }
    r.end = None;
    (r.duration, r.billsec, r.duration_ms, r.billsec_ms) = (0, 0, 0, 0);
    r.hangup_cause = String::new();
    r.hangup_side = String::new();
    r.q850 = None;
    Arc::new(r)
}

/// A final answered bridge record.
pub(crate) fn final_bridge(uniqueid: &str, sequence: u64, start: Millis) -> Arc<BridgeRecord> {
    Arc::new(bridge_record(uniqueid, sequence, start))
}

/// The same bridge record while open; answered iff `answered`.
pub(crate) fn live_bridge(
    uniqueid: &str,
    sequence: u64,
    start: Millis,
    answered: bool,
) -> Arc<BridgeRecord> {
    let mut r = bridge_record(uniqueid, sequence, start);
    if !answered {
        r.answer = None;
        r.dstchannel = String::new();
    }
    r.end = None;
    (r.duration, r.billsec, r.duration_ms, r.billsec_ms) = (0, 0, 0, 0);
    r.disposition = Disposition::NoAnswer;
    Arc::new(r)
}

/// A CEL row of channel `uniqueid`.
pub(crate) fn cel(event_seq: u64, uniqueid: &str, at: Millis) -> Arc<CelRecord> {
    Arc::new(CelRecord {
        event_seq,
        node_id: "1.2.3".to_owned(),
        eventtype: "CHAN_START".to_owned(),
        eventtime: at,
        cid_name: "Alice".to_owned(),
        cid_num: "1000".to_owned(),
        cid_ani: "1000".to_owned(),
        cid_rdnis: String::new(),
        cid_dnid: "1001".to_owned(),
        exten: "1001".to_owned(),
        context: "internal".to_owned(),
        channame: "SIP/1000-0001".to_owned(),
        appname: String::new(),
        appdata: String::new(),
        amaflags: "DOCUMENTATION".to_owned(),
        accountcode: String::new(),
        peeraccount: String::new(),
        uniqueid: uniqueid.to_owned(),
        linkedid: uniqueid.to_owned(),
        userfield: String::new(),
        peer: String::new(),
        extra: "{}".to_owned(),
    })
}

/// Rows of `table` (optionally filtered by a `WHERE` clause).
pub(crate) async fn count(store: &CdrStore, table: &str, filter: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table} {filter}");
    sqlx::query(&sql)
        .fetch_one(store.pool())
        .await
        .and_then(|row| row.try_get("n"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
