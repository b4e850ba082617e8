//! Batch writer tests on real SQLite files: coalescing, idempotency, realtime rows, outbox,
//! custom columns, chunking, and transient errors (locked database, full disk) that clear
//! without losing anything.

use std::sync::Arc;

use sqlx::{Connection, Row, SqliteConnection};

use super::super::read::leg_from_row;
use super::super::testutil::{
    cel, count, final_bridge, final_leg, live_bridge, live_leg, open, settings, T,
};
use super::super::{CdrStore, StoreError};
use crate::cdr::model::{CdrOp, FeedItem, LegStatus};
use crate::config::cdr::WebhookSettings;
use crate::config::parse_field;

fn webhook() -> Option<WebhookSettings> {
    Some(WebhookSettings {
        url: "http://127.0.0.1:9/cdr".to_owned(),
        timeout: std::time::Duration::from_secs(1),
        backoff: std::time::Duration::from_millis(100),
        max_backoff: std::time::Duration::from_secs(10),
    })
}

async fn leg_row(store: &CdrStore, uuid: &str) -> crate::cdr::model::LegRecord {
    let row = sqlx::query("SELECT * FROM cdr_leg WHERE uuid = ?")
        .bind(uuid)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("row {uuid}: {e}"));
    leg_from_row(&row, false)
        .unwrap_or_else(|e| panic!("decode: {e}"))
        .0
}

#[tokio::test]
async fn final_legs_round_trip_field_by_field() {
    let (_dir, _path, store) = open(&settings()).await;
    let a = final_leg("a", T);
    let mut b = (*final_leg("b", T + 5)).clone();
    b.originator = Some("a".into());
    b.direction = "outbound".into();
    b.sip_code = Some(486);
    b.codec = None;
    b.answer = None;
    b.billsec = 0;
    b.billsec_ms = 0;
    let b = Arc::new(b);
    let feed = store
        .write_batch(
            &[CdrOp::LegFinal(a.clone()), CdrOp::LegFinal(b.clone())],
            T + 70_000,
        )
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    assert_eq!(feed.len(), 2);
    assert!(matches!(&feed[0], FeedItem::Leg { is_final: true, record } if record.uuid == "a"));
    for want in [a, b] {
        let mut want = (*want).clone();
        want.variables.clear();
        assert_eq!(leg_row(&store, &want.uuid).await, want);
    }
    let alive: i64 = sqlx::query("SELECT last_alive FROM cdr_node WHERE node_id = '1.2.3'")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(alive, T + 70_000);
}

#[tokio::test]
async fn coalescing_keeps_last_live_and_final_supersedes() {
    let (_dir, _path, store) = open(&settings()).await;
    let ops = [
        CdrOp::LegLive(live_leg("x", T, false)),
        CdrOp::LegLive(live_leg("y", T, false)),
        CdrOp::LegLive(live_leg("x", T, true)),
        CdrOp::LegLive(live_leg("y", T, true)),
        CdrOp::LegFinal(final_leg("x", T)),
        CdrOp::BridgeLive(live_bridge("x", 4, T, false)),
        CdrOp::BridgeLive(live_bridge("x", 4, T, true)),
    ];
    let feed = store
        .write_batch(&ops, T + 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.len(), 1, "only x is final");
    assert_eq!(count(&store, "cdr_leg", "").await, 1);
    assert_eq!(
        count(&store, "cdr_live", "").await,
        2,
        "y's and the bridge's live rows"
    );
    let body: String = sqlx::query("SELECT body FROM cdr_live WHERE record_id = 'leg:y'")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    let y: crate::cdr::model::LegRecord =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(y.status, LegStatus::Answered, "the last live state is kept");
    assert_eq!(
        store
            .next_sequence()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        5
    );

    // Later batches: y ends (its live row goes), the bridge record is dropped.
    let ops = [
        CdrOp::LegFinal(final_leg("y", T)),
        CdrOp::BridgeDrop {
            record_id: "x:4".into(),
        },
    ];
    store
        .write_batch(&ops, T + 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&store, "cdr_live", "").await, 0);
    assert_eq!(count(&store, "cdr_leg", "").await, 2);
    assert_eq!(count(&store, "cdr", "").await, 0);
}

#[tokio::test]
async fn a_final_written_twice_is_stored_once() {
    let mut s = settings();
    s.webhook = webhook();
    let (_dir, _path, store) = open(&s).await;
    let ops = [
        CdrOp::LegFinal(final_leg("a", T)),
        CdrOp::BridgeFinal(final_bridge("a", 0, T)),
        CdrOp::Cel(cel(1, "a", T)),
        CdrOp::Cel(cel(2, "a", T + 1)),
    ];
    for _ in 0..2 {
        let feed = store
            .write_batch(&ops, T)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(feed.len(), 2);
    }
    assert_eq!(count(&store, "cdr_leg", "").await, 1);
    assert_eq!(count(&store, "cdr", "").await, 1);
    assert_eq!(count(&store, "cel", "").await, 2);
    assert_eq!(count(&store, "cdr_outbox", "").await, 2);
    assert_eq!(
        store
            .next_sequence()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
}

#[tokio::test]
async fn outbox_rows_follow_final_records() {
    let mut s = settings();
    s.webhook = webhook();
    let (_dir, _path, store) = open(&s).await;
    let ops = [
        CdrOp::LegLive(live_leg("a", T, false)),
        CdrOp::LegFinal(final_leg("b", T)),
        CdrOp::BridgeFinal(final_bridge("b", 7, T)),
    ];
    store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let due = store
        .outbox_due(T, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = due.iter().map(|i| i.record_id.as_str()).collect();
    assert_eq!(ids, ["leg:b", "bridge:b:7"]);
    let payload: serde_json::Value =
        serde_json::from_str(&due[0].payload).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(payload["kind"], "leg");
    assert_eq!(payload["final"], true);
    assert_eq!(payload["record"]["uuid"], "b");
    // Retry pushes the first into the future; delivering the second removes it.
    store
        .outbox_retry(due[0].id, T + 500)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .outbox_delivered(due[1].id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(store
        .outbox_due(T, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
    let later = store
        .outbox_due(T + 500, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].attempts, 1);
    assert_eq!(
        store.outbox_len().await.unwrap_or_else(|e| panic!("{e}")),
        1
    );
}

#[tokio::test]
async fn no_outbox_without_webhook() {
    let (_dir, _path, store) = open(&settings()).await;
    store
        .write_batch(&[CdrOp::LegFinal(final_leg("a", T))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&store, "cdr_outbox", "").await, 0);
}

#[tokio::test]
async fn realtime_rows_are_inserted_updated_and_finalized_in_place() {
    let mut s = settings();
    s.realtime = true;
    let (_dir, _path, store) = open(&s).await;
    let feed = store
        .write_batch(&[CdrOp::LegLive(live_leg("a", T, false))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        &feed[..],
        [FeedItem::Leg {
            is_final: false,
            ..
        }]
    ));
    assert_eq!(
        count(&store, "cdr_live", "").await,
        0,
        "no journal in realtime"
    );
    assert_eq!(leg_row(&store, "a").await.status, LegStatus::Ringing);
    let id = |store: CdrStore| async move {
        sqlx::query("SELECT id FROM cdr_leg WHERE uuid = 'a'")
            .fetch_one(store.pool())
            .await
            .and_then(|r| r.try_get::<i64, _>(0))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first_id = id(store.clone()).await;
    store
        .write_batch(&[CdrOp::LegLive(live_leg("a", T, true))], T + 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(leg_row(&store, "a").await.status, LegStatus::Answered);
    store
        .write_batch(&[CdrOp::LegFinal(final_leg("a", T))], T + 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut want = (*final_leg("a", T)).clone();
    want.variables.clear();
    assert_eq!(leg_row(&store, "a").await, want);
    assert_eq!(id(store.clone()).await, first_id, "updated in place");
    // A replayed live state never reopens a final row.
    store
        .write_batch(&[CdrOp::LegLive(live_leg("a", T, true))], T + 3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(leg_row(&store, "a").await, want);
    // A dropped live leg disappears.
    store
        .write_batch(&[CdrOp::LegLive(live_leg("b", T, false))], T + 4)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .write_batch(&[CdrOp::LegDrop { uuid: "b".into() }], T + 5)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&store, "cdr_leg", "").await, 1);
}

#[tokio::test]
async fn custom_columns_and_details_are_added_and_filled() {
    let mut s = settings();
    s.fields = [
        "number:bill:billsec",
        "queue_name",
        "both:${queue_name}/${codec}",
    ]
    .iter()
    .map(|f| parse_field(f).unwrap_or_else(|e| panic!("{e}")))
    .collect();
    s.details = true;
    let (_dir, path, store) = open(&s).await;
    store
        .write_batch(
            &[
                CdrOp::LegFinal(final_leg("a", T)),
                CdrOp::BridgeFinal(final_bridge("a", 1, T)),
            ],
            T,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = sqlx::query("SELECT bill, queue_name, both, details FROM cdr_leg")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bill: Option<f64> = row.try_get("bill").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bill, Some(62.0));
    let queue: String = row.try_get("queue_name").unwrap_or_else(|e| panic!("{e}"));
    let both: String = row.try_get("both").unwrap_or_else(|e| panic!("{e}"));
    let details: String = row.try_get("details").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((queue.as_str(), both.as_str()), ("support", "support/PCMU"));
    let parsed: crate::cdr::model::LegRecord =
        serde_json::from_str(&details).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, *final_leg("a", T));
    let bridge_queue: Option<String> = sqlx::query("SELECT queue_name FROM cdr")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bridge_queue.as_deref(), Some(""));
    store.close().await;

    // Reopen with one more (numeric) field: the column is added, old rows keep NULL.
    s.fields
        .push(parse_field("number:lost:rtp_in_lost").unwrap_or_else(|e| panic!("{e}")));
    let store = CdrStore::open(&path, &s)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .write_batch(&[CdrOp::LegFinal(final_leg("b", T))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lost: Vec<Option<f64>> = sqlx::query("SELECT lost FROM cdr_leg ORDER BY uuid")
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|r| r.try_get(0).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(lost, [None, Some(2.0)]);
}

#[tokio::test]
async fn batches_larger_than_one_statement_are_split() {
    let (_dir, _path, store) = open(&settings()).await;
    let ops: Vec<CdrOp> = (0..2_345)
        .map(|i| CdrOp::LegFinal(final_leg(&format!("u{i}"), T + i)))
        .chain((0..1_500).map(|i| CdrOp::Cel(cel(i, "c", T))))
        .chain((0..777).map(|i| CdrOp::LegLive(live_leg(&format!("l{i}"), T, true))))
        .collect();
    let feed = store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.len(), 2_345);
    assert_eq!(count(&store, "cdr_leg", "").await, 2_345);
    assert_eq!(count(&store, "cel", "").await, 1_500);
    assert_eq!(count(&store, "cdr_live", "").await, 777);
}

#[tokio::test]
async fn a_locked_database_fails_transient_then_succeeds() {
    let (_dir, path, store) = open(&settings()).await;
    let mut other = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ops = [
        CdrOp::LegFinal(final_leg("a", T)),
        CdrOp::LegLive(live_leg("b", T, true)),
    ];
    let error = match store.write_batch(&ops, T).await {
        Err(e) => e,
        Ok(_) => panic!("write succeeded under an exclusive lock"),
    };
    assert!(matches!(error, StoreError::Busy(_)), "{error:?}");
    assert!(error.is_transient());
    sqlx::query("COMMIT")
        .execute(&mut other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&store, "cdr_leg", "").await, 1);
    assert_eq!(count(&store, "cdr_live", "").await, 1);
}

/// Sets `PRAGMA max_page_count` on every connection of the pool (it is per connection).
async fn set_max_pages(store: &CdrStore, pages: i64) {
    let mut held = Vec::new();
    for _ in 0..super::super::MAX_CONNECTIONS {
        let mut conn = store
            .pool()
            .acquire()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        held.push(conn);
    }
}

#[tokio::test]
async fn a_full_disk_fails_transient_then_succeeds() {
    let (_dir, _path, store) = open(&settings()).await;
    store
        .write_batch(&[CdrOp::LegFinal(final_leg("first", T))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pages: i64 = sqlx::query("PRAGMA page_count")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    set_max_pages(&store, pages).await;
    let ops: Vec<CdrOp> = (0..2_000)
        .map(|i| CdrOp::LegFinal(final_leg(&format!("u{i}"), T + i)))
        .collect();
    let error = match store.write_batch(&ops, T).await {
        Err(e) => e,
        Ok(_) => panic!("write succeeded on a full database"),
    };
    assert!(matches!(error, StoreError::Disk(_)), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(
        count(&store, "cdr_leg", "").await,
        1,
        "nothing of the batch stored"
    );
    set_max_pages(&store, 1_000_000).await;
    let feed = store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.len(), 2_000);
    assert_eq!(count(&store, "cdr_leg", "").await, 2_001);
}

#[tokio::test]
async fn a_read_only_store_refuses_writes() {
    let (_dir, path, store) = open(&settings()).await;
    store
        .write_batch(&[CdrOp::LegFinal(final_leg("a", T))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ro = CdrStore::open_read_only(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let error = match ro
        .write_batch(&[CdrOp::LegFinal(final_leg("b", T))], T)
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("read-only write succeeded"),
    };
    assert!(matches!(error, StoreError::ReadOnly));
    assert!(!error.is_transient());
    assert_eq!(count(&ro, "cdr_leg", "").await, 1);
}
