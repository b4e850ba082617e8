//! The pipeline with a real bus, a real `cdr.db` and simulated calls: records reach the live
//! feed after their commit, and a locked database fills the backlog, closes the admission
//! gate past `max_backlog` and loses nothing once it is released.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use super::{CdrPipeline, CDR_DATABASE_FILE};
use crate::cdr::model::FeedItem;
use crate::cdr::testkit::Sim;
use crate::config::CdrSettings;
use crate::runtime::Admission;
use crate::switch::bus::EventBus;
use crate::switch::cause::{HangupCause, HangupSide};

/// Publishes an answered 1001 → 1000 call on `bus` (the events the call core would).
async fn answered_call(bus: &EventBus) {
    let mut sim = Sim::new();
    let a = sim.create_inbound("1001", "1000");
    let b = sim.dial(a, "1000", "1000", false);
    sim.ring_legs(a, &[b]);
    sim.advance_ms(1_000);
    sim.connect(a, b);
    sim.advance_ms(3_000);
    let bye = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[b], bye, bye);
    for event in sim.take() {
        bus.publish(event.snapshot.clone(), event.kind.clone())
            .await;
    }
}

async fn count(db: &std::path::Path, table: &str) -> i64 {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .expect("open");
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut conn)
        .await
        .expect("count")
}

#[tokio::test]
async fn committed_records_reach_the_live_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = EventBus::new();
    let pipeline = CdrPipeline::start(&CdrSettings::default(), dir.path(), &bus, Admission::new())
        .await
        .expect("start");
    let mut feed = pipeline.handle().subscribe();
    answered_call(&bus).await;
    let mut legs = 0;
    let mut bridges = 0;
    while legs + bridges < 3 {
        let item = tokio::time::timeout(Duration::from_secs(5), feed.recv())
            .await
            .expect("a record within 5 s")
            .expect("feed open");
        match &*item {
            FeedItem::Leg { is_final, record } => {
                assert!(is_final, "realtime is off: only final records");
                assert_eq!(record.hangup_cause, "NORMAL_CLEARING");
                legs += 1;
            }
            FeedItem::Bridge { record } => {
                assert_eq!(record.disposition.as_str(), "ANSWERED");
                bridges += 1;
            }
        }
    }
    assert_eq!((legs, bridges), (2, 1));
    // The feed comes after the commit: the rows are there already.
    let db = dir.path().join(CDR_DATABASE_FILE);
    assert_eq!(count(&db, "cdr_leg").await, 2);
    assert_eq!(count(&db, "cdr").await, 1);
    let health = pipeline.handle().health();
    assert_eq!(health.records_written, 3);
    assert_eq!(health.backlog, 0);
    pipeline.finish().await;
    assert!(dir.path().join(super::STATUS_FILE).exists());
}

#[tokio::test]
async fn a_locked_database_closes_admission_past_max_backlog_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = EventBus::new();
    let admission = Admission::new();
    let settings = CdrSettings {
        max_backlog: 10,
        ..CdrSettings::default()
    };
    let pipeline = CdrPipeline::start(&settings, dir.path(), &bus, admission.clone())
        .await
        .expect("start");
    let db = dir.path().join(CDR_DATABASE_FILE);
    let mut lock = SqliteConnectOptions::new()
        .filename(&db)
        .connect()
        .await
        .expect("open");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("lock");
    for _ in 0..3 {
        answered_call(&bus).await;
    }
    // 3 calls give more than 10 operations: the gate closes; nothing is written yet.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while admission.is_open() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "admission never closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(admission.holders(), vec![super::ADMISSION_HOLDER]);
    let health = pipeline.handle().health();
    assert!(health.backlog > 10, "{health:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = pipeline.handle().health();
    assert!(health.failed_batches > 0, "{health:?}");
    assert!(health.degraded.is_some(), "{health:?}");
    sqlx::query("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("unlock");
    drop(lock);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !admission.is_open() || pipeline.handle().health().backlog > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "backlog never drained"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pipeline.handle().health().degraded.is_none());
    pipeline.finish().await;
    assert_eq!(count(&db, "cdr_leg").await, 6);
    assert_eq!(count(&db, "cdr").await, 3);
    assert_eq!(count(&db, "cdr_live").await, 0);
}

#[tokio::test]
async fn a_stop_does_not_hang_on_an_unwritable_database_and_keeps_the_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = EventBus::new();
    let grace = Duration::from_millis(300);
    let pipeline = CdrPipeline::start_with_grace(
        &CdrSettings::default(),
        dir.path(),
        &bus,
        Admission::new(),
        grace,
    )
    .await
    .expect("start");
    let db = dir.path().join(CDR_DATABASE_FILE);
    let mut lock = SqliteConnectOptions::new()
        .filename(&db)
        .connect()
        .await
        .expect("open");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("lock");
    answered_call(&bus).await;
    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), pipeline.finish())
        .await
        .expect("finish returns although the database stays locked");
    assert!(
        started.elapsed() >= grace,
        "gave up before the grace period"
    );
    let dead = std::fs::read_to_string(dir.path().join(super::DEAD_LETTER_FILE))
        .expect("dead-letter file");
    let finals: Vec<serde_json::Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .filter(|v: &serde_json::Value| v["record"]["end"].is_number())
        .collect();
    // The two leg records and the bridge record, final, with their reason.
    let legs = finals.iter().filter(|v| v["op"] == "leg").count();
    let bridges = finals.iter().filter(|v| v["op"] == "bridge").count();
    assert!(legs >= 2 && bridges >= 1, "{dead}");
    assert!(dead.contains("stopping while the CDR database cannot be written"));
    drop(lock);
}
