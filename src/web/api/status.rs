//! `GET /api/v1/status`: version, uptime, live calls and channels, CDR pipeline health.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::db::unix_ms;
use crate::web::auth::Principal;
use crate::web::WebState;

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/api/v1/status", get(status))
}

async fn status(State(state): State<WebState>, _caller: Principal) -> Json<Value> {
    let counts = state.inner.calls.counts();
    let cdr = match &state.inner.cdr {
        None => json!({ "enabled": false }),
        Some(handle) => {
            let h = handle.health();
            json!({
                "enabled": true,
                "healthy": h.degraded.is_none(),
                "backlog": h.backlog,
                "backlog_peak": h.backlog_peak,
                "records_written": h.records_written,
                "failed_batches": h.failed_batches,
                "dead_lettered": h.dead_lettered,
                "latency_ms": { "p50": h.latency_ms.0, "p99": h.latency_ms.1, "max": h.latency_ms.2 },
                "degraded": h.degraded.map(|d| json!({ "error": d.error, "since": unix_ms(d.since) })),
            })
        }
    };
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.inner.started.elapsed().as_secs(),
        "calls": {
            "active": counts.calls,
            "channels": counts.channels,
            "total": counts.calls_total,
        },
        "cdr": cdr,
    }))
}
