//! `GET /api/v1/status`: version, uptime, live calls and channels (with calls per second
//! over the last 10 s), registrations, storage sizes, CDR pipeline health.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::db::unix_ms;
use crate::web::auth::Principal;
use crate::web::WebState;

/// The name of the main database in the data directory (`server::DATABASE_FILE`; the web
/// layer sits below the server module and cannot name it).
pub(crate) const DATABASE_FILE: &str = "switchboard.db";

/// `GET /api/v1/status` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Status {
    /// The switchboard version.
    version: &'static str,
    /// Seconds since the web server started.
    uptime_secs: u64,
    /// Live and total calls.
    calls: CallFigures,
    /// Registered contacts (null without a registrar).
    registrations: Option<usize>,
    /// Database sizes.
    storage: Storage,
    /// The CDR pipeline: `{"enabled": false}`, or its health (backlog, records written,
    /// latency, degraded condition).
    #[schema(value_type = Object)]
    cdr: Value,
}

/// Call figures of [`Status`].
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CallFigures {
    /// Calls up now.
    active: usize,
    /// Channels (legs) up now.
    channels: usize,
    /// Calls since the start.
    total: u64,
    /// Calls started per second over the last 10 s (two decimals).
    per_second: f64,
}

/// Storage figures of [`Status`]: bytes on disk, database file plus write-ahead log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Storage {
    /// `switchboard.db` (null when the data directory is unknown).
    switchboard_db: Option<u64>,
    /// `cdr.db` (null when CDRs are disabled).
    cdr_db: Option<u64>,
    /// Free space of the data directory: not measured (always null).
    free_bytes: Option<u64>,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/api/v1/status", get(status))
}

/// Bytes of an SQLite database on disk: the file and its write-ahead log. `None` when the
/// file does not exist (or cannot be read).
pub(crate) async fn database_bytes(path: &Path) -> Option<u64> {
    let main = tokio::fs::metadata(path).await.ok()?.len();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = tokio::fs::metadata(PathBuf::from(wal))
        .await
        .map_or(0, |m| m.len());
    Some(main + wal)
}

/// Registered contacts (bindings in memory), when the registrar is there.
pub(crate) fn registrations(state: &WebState) -> Option<usize> {
    state
        .services()
        .registrar
        .as_ref()
        .map(|r| r.binding_count())
}

#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "status",
    responses(
        (status = 200, description = "the system status", body = Status),
        (status = 401, description = "login required", body = crate::web::api::openapi::ErrorBody),
    )
)]
async fn status(State(state): State<WebState>, _caller: Principal) -> Json<Status> {
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
    let services = state.services();
    let switchboard_db = match &services.data_dir {
        Some(dir) => database_bytes(&dir.join(DATABASE_FILE)).await,
        None => None,
    };
    let cdr_db = match &services.cdr_db {
        Some(path) => database_bytes(path).await,
        None => None,
    };
    let per_second = state.inner.live.rate().per_second();
    Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.inner.started.elapsed().as_secs(),
        calls: CallFigures {
            active: counts.calls,
            channels: counts.channels,
            total: counts.calls_total,
            per_second: (per_second * 100.0).round() / 100.0,
        },
        registrations: registrations(&state),
        storage: Storage {
            switchboard_db,
            cdr_db,
            free_bytes: None,
        },
        cdr,
    })
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
