//! Crash recovery on real SQLite files: a store is written, dropped without closing (the
//! process "dies"), reopened, and `recover` must close every open record correctly.

use sqlx::Row;

use super::super::read::leg_from_row;
use super::super::testutil::{count, live_bridge, live_leg, open, settings, T};
use super::super::CdrStore;
use super::{RecoveryReport, CRASH_CAUSE};
use crate::cdr::model::{CdrOp, Disposition, LegRecord, LegStatus};
use crate::config::cdr::{CdrSettings, LegsFilter};
use crate::config::parse_field;

async fn legs(store: &CdrStore) -> Vec<LegRecord> {
    sqlx::query("SELECT * FROM cdr_leg ORDER BY uuid")
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|r| leg_from_row(r, false).unwrap_or_else(|e| panic!("{e}")).0)
        .collect()
}

/// Writes the open records of a run that dies at `alive` (its last batch), reopens the file
/// with `after` settings and recovers at `now`.
async fn crash_and_recover(
    before: &CdrSettings,
    after: &CdrSettings,
    ops: &[CdrOp],
    alive: i64,
    now: i64,
) -> (tempfile::TempDir, CdrStore, RecoveryReport) {
    let (dir, path, store) = open(before).await;
    store
        .recover(T - 60_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .write_batch(ops, alive)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(store); // no close: the process is gone
    let store = CdrStore::open(&path, after)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = store.recover(now).await.unwrap_or_else(|e| panic!("{e}"));
    (dir, store, report)
}

#[tokio::test]
async fn journal_rows_are_closed_as_crash_records() {
    let s = settings();
    let alive = T + 30_000;
    let ops = [
        CdrOp::LegLive(live_leg("answered", T, true)),
        CdrOp::LegLive(live_leg("ringing", T + 1_000, false)),
        CdrOp::BridgeLive(live_bridge("answered", 3, T, true)),
        CdrOp::BridgeLive(live_bridge("ringing", 4, T + 1_000, false)),
    ];
    let (_dir, store, report) = crash_and_recover(&s, &s, &ops, alive, T + 90_000).await;
    assert_eq!(
        report,
        RecoveryReport {
            previous_alive: Some(alive),
            legs: 2,
            bridges: 2,
            dropped: 0,
        }
    );
    let rows = legs(&store).await;
    assert_eq!(rows.len(), 2);
    for leg in &rows {
        assert_eq!(leg.end, Some(alive), "{}", leg.uuid);
        assert_eq!(leg.hangup_cause, CRASH_CAUSE);
        assert_eq!(leg.hangup_side, "local");
        assert_eq!(leg.status, LegStatus::Hangup);
        assert_eq!(leg.duration_ms, alive - leg.start);
        assert_eq!(leg.duration, (alive - leg.start) / 1_000);
        match leg.answer {
            Some(a) => assert_eq!(
                (leg.billsec_ms, leg.billsec),
                (alive - a, (alive - a) / 1_000)
            ),
            None => assert_eq!((leg.billsec_ms, leg.billsec), (0, 0)),
        }
    }
    let bridges =
        sqlx::query("SELECT uniqueid, disposition, \"end\", billsec FROM cdr ORDER BY uniqueid")
            .fetch_all(store.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(String, String, i64, i64)> = bridges
        .iter()
        .map(|r| {
            (
                r.try_get(0).unwrap_or_else(|e| panic!("{e}")),
                r.try_get(1).unwrap_or_else(|e| panic!("{e}")),
                r.try_get(2).unwrap_or_else(|e| panic!("{e}")),
                r.try_get(3).unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "answered".into(),
                Disposition::Answered.as_str().into(),
                alive,
                27
            ),
            (
                "ringing".into(),
                Disposition::NoAnswer.as_str().into(),
                alive,
                0
            ),
        ]
    );
    assert_eq!(count(&store, "cdr_live", "").await, 0);
    let row = sqlx::query("SELECT started, last_alive FROM cdr_node")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let node: (i64, i64) = (
        row.try_get(0).unwrap_or_else(|e| panic!("{e}")),
        row.try_get(1).unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(node, (T + 90_000, T + 90_000));
    // A second recovery has nothing left to do.
    let again = store
        .recover(T + 91_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.legs, again.bridges, again.dropped), (0, 0, 0));
    assert_eq!(again.previous_alive, Some(T + 90_000));
}

#[tokio::test]
async fn the_end_is_never_before_the_records_own_times() {
    let s = settings();
    // The record says it was answered after the last heartbeat we have.
    let (_dir, store, _) = crash_and_recover(
        &s,
        &s,
        &[CdrOp::LegLive(live_leg("a", T, true))],
        T + 1_000,
        T + 9_000,
    )
    .await;
    let rows = legs(&store).await;
    assert_eq!(rows[0].end, Some(T + 2_500), "answer time of the record");
}

#[tokio::test]
async fn filters_apply_to_recovered_records() {
    let mut after = settings();
    after.unanswered = false;
    after.legs = LegsFilter::A;
    let mut omit = (*live_leg("omitted", T, true)).clone();
    omit.amaflags = "OMIT".into();
    let mut outbound = (*live_leg("outbound", T, true)).clone();
    outbound.direction = "outbound".into();
    let ops = [
        CdrOp::LegLive(live_leg("inbound", T, true)),
        CdrOp::LegLive(outbound.into()),
        CdrOp::LegLive(omit.into()),
        CdrOp::BridgeLive(live_bridge("answered", 1, T, true)),
        CdrOp::BridgeLive(live_bridge("ringing", 2, T, false)),
    ];
    let (_dir, store, report) =
        crash_and_recover(&settings(), &after, &ops, T + 5_000, T + 6_000).await;
    assert_eq!((report.legs, report.bridges, report.dropped), (1, 1, 3));
    let uuids: Vec<String> = legs(&store).await.into_iter().map(|l| l.uuid).collect();
    assert_eq!(uuids, ["inbound"]);
    assert_eq!(count(&store, "cdr", "").await, 1);
    assert_eq!(count(&store, "cdr_live", "").await, 0);
}

#[tokio::test]
async fn realtime_rows_without_end_are_closed_in_place() {
    let mut s = settings();
    s.realtime = true;
    s.fields = vec![parse_field("queue_name").unwrap_or_else(|e| panic!("{e}"))];
    s.webhook = Some(crate::config::cdr::WebhookSettings {
        url: "http://127.0.0.1:9/".into(),
        timeout: std::time::Duration::from_secs(1),
        backoff: std::time::Duration::from_secs(1),
        max_backoff: std::time::Duration::from_secs(1),
    });
    let ops = [
        CdrOp::LegLive(live_leg("a", T, true)),
        CdrOp::LegLive(live_leg("b", T, false)),
    ];
    let (_dir, store, report) = crash_and_recover(&s, &s, &ops, T + 20_000, T + 25_000).await;
    assert_eq!((report.legs, report.dropped), (2, 0));
    assert_eq!(count(&store, "cdr_leg", "").await, 2);
    assert_eq!(count(&store, "cdr_leg", "WHERE \"end\" IS NULL").await, 0);
    assert_eq!(
        count(
            &store,
            "cdr_leg",
            "WHERE queue_name = 'support' AND hangup_cause = 'CRASH'"
        )
        .await,
        2,
        "custom values kept"
    );
    let due = store
        .outbox_due(T + 25_000, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due.len(), 2, "recovered records are delivered too");
}

#[tokio::test]
async fn other_nodes_records_are_left_alone() {
    let mut other = settings();
    other.node_id = "9.9.9".into();
    let (_dir, path, store) = open(&settings()).await;
    store
        .write_batch(&[CdrOp::LegLive(live_leg("mine", T, true))], T + 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let store = CdrStore::open(&path, &other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = store.recover(T + 2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.legs, report.previous_alive), (0, None));
    assert_eq!(count(&store, "cdr_live", "").await, 1);
}
