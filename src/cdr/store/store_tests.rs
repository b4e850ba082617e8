//! Store-level tests: schema, reopening, custom column validation, sequences, heartbeat.

use sqlx::Row;

use super::testutil::{count, live_bridge, open, settings, T};
use super::{CdrStore, StoreError};
use crate::cdr::model::CdrOp;
use crate::config::parse_field;

#[tokio::test]
async fn open_creates_every_table_and_reopening_is_a_no_op() {
    let (_dir, path, store) = open(&settings()).await;
    for table in [
        "cdr_leg",
        "cdr",
        "cel",
        "cdr_live",
        "cdr_outbox",
        "cdr_node",
    ] {
        assert_eq!(count(&store, table, "").await, 0, "{table}");
    }
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mode, "wal");
    store.close().await;
    let again = CdrStore::open(&path, &settings()).await;
    assert!(again.is_ok(), "{:?}", again.err());
}

#[tokio::test]
async fn web_ui_indexes_exist() {
    let (_dir, _path, store) = open(&settings()).await;
    let names: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'index'")
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|r| r.try_get(0).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for want in [
        "cdr_leg_open",
        "cdr_leg_caller",
        "cdr_leg_destination",
        "cdr_leg_linkedid",
        "cdr_start",
        "cdr_src",
        "cdr_dst",
        "cdr_disposition",
        "cdr_linkedid",
        "cel_linkedid",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing in {names:?}"
        );
    }
}

#[tokio::test]
async fn bad_custom_column_names_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for column in ["billsec", "drop table", "Details", "1abc"] {
        let mut s = settings();
        let mut spec = parse_field("queue_name").unwrap_or_else(|e| panic!("{e}"));
        spec.column = column.to_owned();
        s.fields = vec![spec];
        let result = CdrStore::open(&dir.path().join("cdr.db"), &s).await;
        assert!(
            matches!(result, Err(StoreError::BadColumn(ref c)) if c == column),
            "{column}: {:?}",
            result.err()
        );
    }
}

#[tokio::test]
async fn next_sequence_counts_final_and_open_bridge_records() {
    let (_dir, _path, store) = open(&settings()).await;
    let next = || async {
        store
            .next_sequence()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(next().await, 0);
    store
        .write_batch(&[CdrOp::BridgeLive(live_bridge("a", 41, T, true))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next().await, 42);
    store
        .write_batch(
            &[CdrOp::BridgeFinal(super::testutil::final_bridge(
                "a", 41, T,
            ))],
            T,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&store, "cdr_live", "").await, 0);
    assert_eq!(next().await, 42);
}

#[tokio::test]
async fn heartbeat_keeps_started_and_moves_last_alive() {
    let (_dir, _path, store) = open(&settings()).await;
    store.recover(T).await.unwrap_or_else(|e| panic!("{e}"));
    store
        .heartbeat(T + 1_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = sqlx::query("SELECT started, last_alive FROM cdr_node WHERE node_id = '1.2.3'")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started: i64 = row.try_get(0).unwrap_or_else(|e| panic!("{e}"));
    let alive: i64 = row.try_get(1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((started, alive), (T, T + 1_000));
}

#[tokio::test]
async fn open_read_only_of_a_missing_file_fails() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let result = CdrStore::open_read_only(&dir.path().join("nope.db")).await;
    assert!(
        matches!(result, Err(StoreError::Open { .. })),
        "{:?}",
        result.err()
    );
}

#[test]
fn chunk_sizes_are_powers_of_two_and_add_up() {
    use super::bind::{chunk_sizes, max_rows};
    assert_eq!(max_rows(41), 512);
    assert_eq!(max_rows(22), 1024);
    assert_eq!(max_rows(1), 1024);
    for n in [0, 1, 2, 3, 511, 512, 513, 1000, 2047, 5000] {
        let sizes = chunk_sizes(n, 512);
        assert_eq!(sizes.iter().sum::<usize>(), n, "{n}");
        assert!(
            sizes.iter().all(|s| s.is_power_of_two() && *s <= 512),
            "{n}: {sizes:?}"
        );
    }
}
