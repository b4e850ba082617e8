//! The live task over a real event bus: deltas coalesced per window, snapshots for new
//! subscribers, the call rate, shutdown. Paused tokio time (once the database is open):
//! windows are exact.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast;

use super::testutil::{web, TestWeb};
use super::*;
use crate::cdr::testkit::Sim;
use crate::config::WebSettings;
use crate::db::Db;
use crate::switch::call::CallRegistry;
use crate::web::WebOptions;

async fn next_delta(rx: &mut broadcast::Receiver<axum::extract::ws::Utf8Bytes>) -> Value {
    let text = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a delta in time")
        .expect("feed open");
    serde_json::from_str(text.as_str()).expect("JSON")
}

#[tokio::test]
async fn deltas_are_coalesced_per_window_and_snapshots_follow_them() {
    let f: TestWeb = web().await;
    // Paused after the database is open (sqlx's pool timeouts run on tokio's clock).
    tokio::time::pause();
    let live = &f.state.inner.live;
    let (snapshot, mut rx) = live.feed().subscribe();
    let snapshot: Value = serde_json::from_str(snapshot.as_str()).expect("JSON");
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["seq"], 0);
    assert_eq!(snapshot["calls"], serde_json::json!([]));

    // First change after a quiet spell: sent at once.
    let mut sim = Sim::new();
    let a = sim.create_inbound("1000", "1001");
    let t0 = Instant::now();
    f.publish(&mut sim).await;
    let d1 = next_delta(&mut rx).await;
    // Leading edge: no wait (tokio's timer rounds "now" up to its next millisecond).
    assert!(
        t0.elapsed() <= Duration::from_millis(1),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(
        (d1["type"].as_str(), d1["seq"].as_u64()),
        (Some("delta"), Some(1))
    );
    assert_eq!(d1["upsert"][0]["id"], sim.uuid(a));
    assert_eq!(d1["upsert"][0]["state"], "down");

    // Many changes of the call inside the next window: one delta, one upsert, 250 ms on.
    sim.start_app(a, "Dial", "SIP/1001");
    let b = sim.dial(a, "1001", "1001", false);
    sim.ring_legs(a, &[b]);
    sim.progress(b);
    sim.progress(a);
    f.publish(&mut sim).await;
    let d2 = next_delta(&mut rx).await;
    let waited = t0.elapsed();
    assert!(
        waited >= FLUSH_INTERVAL && waited <= FLUSH_INTERVAL + Duration::from_millis(2),
        "trailing edge of the window: {waited:?}"
    );
    assert_eq!(d2["seq"], 2);
    let upserts = d2["upsert"].as_array().expect("upsert");
    assert_eq!(upserts.len(), 1, "{d2}");
    assert_eq!(upserts[0]["state"], "early");
    assert_eq!(upserts[0]["legs"][0]["id"], sim.uuid(b));

    // A new subscriber's snapshot is the state after delta 2.
    let (snapshot, _rx2) = live.feed().subscribe();
    let snapshot: Value = serde_json::from_str(snapshot.as_str()).expect("JSON");
    assert_eq!(snapshot["seq"], 2);
    assert_eq!(snapshot["calls"][0], upserts[0]);
    let listed: Value = serde_json::from_str(&live.feed().calls_json()).expect("JSON");
    assert_eq!(listed["calls"][0], upserts[0]);

    // The end of the call: a remove.
    let cause =
        crate::switch::cause::HangupCause::from_sip(487, crate::switch::cause::HangupSide::Caller);
    sim.fail_leg(a, b, cause, crate::switch::events::DialStatus::Cancel);
    sim.hangup(a, cause);
    sim.destroy(a);
    f.publish(&mut sim).await;
    let d3 = next_delta(&mut rx).await;
    assert_eq!(d3["seq"], 3);
    assert_eq!(d3["remove"], serde_json::json!([sim.uuid(a)]));
    assert_eq!(d3["upsert"], serde_json::json!([]));
    assert!(live.feed().is_empty());

    f.lifecycle.stop_and_wait().await;
    assert!(live.stop().is_cancelled());
    assert!(!live.is_tracking());
}

#[tokio::test]
async fn the_call_rate_follows_the_call_counter() {
    let f: TestWeb = web().await;
    // Paused after the database is open (sqlx's pool timeouts run on tokio's clock).
    tokio::time::pause();
    let live = &f.state.inner.live;
    assert!(live.is_tracking());
    let mut guards = Vec::new();
    // 4 calls a second for 12 seconds (sampled once a second by the live task).
    for _ in 0..12 {
        for _ in 0..4 {
            guards.push(f.calls.call_started());
        }
        tokio::time::sleep(SAMPLE_INTERVAL).await;
    }
    let rate = live.rate().per_second();
    assert!((rate - 4.0).abs() < 0.01, "{rate}");
    drop(guards);
    f.lifecycle.stop_and_wait().await;
}

#[tokio::test]
async fn without_a_bus_only_the_rate_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let calls = CallRegistry::new();
    let state = WebState::new(WebOptions::new(
        db,
        WebSettings::default(),
        calls.clone(),
        None,
    ));
    let lifecycle = Lifecycle::new();
    tokio::time::pause();
    start(&state, &lifecycle);
    tokio::time::sleep(SAMPLE_INTERVAL / 2).await;
    let _guards: Vec<_> = (0..10).map(|_| calls.call_started()).collect();
    tokio::time::sleep(SAMPLE_INTERVAL * 3).await;
    let live = &state.inner.live;
    assert!(!live.is_tracking());
    assert!(live.rate().per_second() > 0.0);
    lifecycle.stop_and_wait().await;
}
