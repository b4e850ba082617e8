//! `GET /api/v1/calls` and `DELETE /api/v1/calls/{id}` through the router (oneshot), with
//! calls published on a real event bus and hang-up tokens filed in a real call registry.

use std::time::Duration;

use axum::http::{Method, StatusCode};

use crate::cdr::testkit::Sim;
use crate::switch::call::registry::admin_hangup;
use crate::web::live::testutil::{web, web_with, Setup};

#[tokio::test]
async fn the_call_list_shows_published_calls() {
    let t = web().await;
    let (status, body) = t.json(Method::GET, "/api/v1/calls", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = t.json(Method::GET, "/api/v1/calls", Some(&t.viewer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({ "calls": [] }));

    let (_, mut deltas) = t.state.inner.live.feed().subscribe();
    let mut sim = Sim::new();
    let first = sim.create_inbound("1000", "1001");
    let second = sim.create_inbound("1002", "1003");
    sim.ring(second);
    t.publish(&mut sim).await;
    tokio::time::timeout(Duration::from_secs(10), deltas.recv())
        .await
        .expect("a delta")
        .expect("open");
    let (status, body) = t.json(Method::GET, "/api/v1/calls", Some(&t.viewer)).await;
    assert_eq!(status, StatusCode::OK);
    let calls = body["calls"].as_array().expect("calls");
    let ids: Vec<&str> = calls.iter().filter_map(|c| c["id"].as_str()).collect();
    // Oldest first.
    assert_eq!(ids, vec![sim.uuid(first), sim.uuid(second)]);
    assert_eq!(calls[1]["state"], "ringing");
    assert_eq!(calls[1]["caller"]["number"], "1002");
}

#[tokio::test]
async fn an_admin_hangs_a_call_up_a_viewer_may_not() {
    let t = web().await;
    let mut guard = Some(t.calls.call_started());
    let id = "5b1c2f9e-0000-4000-8000-000000000001";
    let requested = admin_hangup(&mut guard, id);
    let path = format!("/api/v1/calls/{id}");

    let (status, body) = t.json(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = t.json(Method::DELETE, &path, Some(&t.viewer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let unknown = "/api/v1/calls/5b1c2f9e-0000-4000-8000-00000000ffff";
    let (status, body) = t.json(Method::DELETE, unknown, Some(&t.admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "not found");

    let (status, body) = t.json(Method::DELETE, &path, Some(&t.admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    tokio::time::timeout(Duration::from_secs(5), requested)
        .await
        .expect("the call's actor is told to hang up");
    let audit = t
        .state
        .store()
        .audit_entries(10, None)
        .await
        .expect("audit");
    let row = audit
        .iter()
        .find(|e| e.action == "call.hangup")
        .expect("audit row");
    assert_eq!(row.target, id);
    assert_eq!(row.actor, "token:ops");
    assert_eq!(row.detail["q850"], 16);
    // Gone: 404.
    drop(guard);
    let (status, _) = t.json(Method::DELETE, &path, Some(&t.admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_the_switch_live_calls_are_unavailable() {
    let t = web_with(Setup {
        with_bus: false,
        ..Setup::default()
    })
    .await;
    let (status, body) = t.json(Method::GET, "/api/v1/calls", Some(&t.admin)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "unavailable");
}

#[tokio::test]
async fn a_client_too_far_behind_is_resynchronised_with_a_snapshot() {
    use super::{CallsSource, Source as _};
    use crate::web::live::feed::DELTA_BACKLOG;
    use crate::web::live::tracker::{Batch, Rendered};

    let t = web().await;
    let mut source = CallsSource {
        state: t.state.clone(),
        first: None,
        rx: None,
    };
    let first = source.next().await.expect("snapshot");
    assert!(first
        .as_str()
        .starts_with("{\"type\":\"snapshot\",\"seq\":0,"));
    let feed = t.state.inner.live.feed();
    let upsert = |n: u64| Batch {
        upsert: vec![Rendered {
            id: format!("call-{n}"),
            order: (n as i64, 0),
            gateways: Vec::new(),
            json: format!("{{\"id\":\"call-{n}\"}}"),
        }],
        remove: Vec::new(),
    };
    feed.publish(upsert(1));
    let delta = source.next().await.expect("delta");
    assert!(
        delta.as_str().starts_with("{\"type\":\"delta\",\"seq\":1,"),
        "{delta:?}"
    );
    // More deltas than the backlog while the client does not read.
    let backlog = DELTA_BACKLOG as u64;
    for n in 2..=backlog + 5 {
        feed.publish(upsert(n));
    }
    let resync: serde_json::Value =
        serde_json::from_str(source.next().await.expect("resync").as_str()).expect("JSON");
    assert_eq!(resync["type"], "snapshot");
    assert_eq!(resync["seq"], backlog + 5);
    assert_eq!(
        resync["calls"].as_array().map(Vec::len),
        Some(backlog as usize + 5)
    );
    // Then deltas again, in order.
    feed.publish(upsert(1000));
    let next = source.next().await.expect("delta");
    let next: serde_json::Value = serde_json::from_str(next.as_str()).expect("JSON");
    assert_eq!(next["seq"], backlog + 6);
    assert_eq!(next["upsert"][0]["id"], "call-1000");
}
