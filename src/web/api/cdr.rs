//! The CDR views: `GET /api/v1/cdr/legs` and `/bridges` (filtered, keyset-paged searches),
//! `GET /api/v1/cdr/calls/{linkedid}` (one call: legs, bridge records, CEL timeline) and
//! `GET /api/v1/cdr/legs.csv` / `bridges.csv` (every match, streamed as CSV).
//!
//! Every read goes through one [`CdrQuery`] (a small read-only pool on `cdr.db`), opened at
//! the first request and kept in [`DataState`]; without CDRs (`cdr_db` is `None`) the
//! endpoints answer 503. A bad filter is a 422 naming the query parameter.
//!
//! Depends on: `crate::cdr::{query, export}`, `super::super::{auth, error}`, axum, utoipa.

mod params;
mod stream;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::{Mutex, OnceCell, OwnedSemaphorePermit, Semaphore};
use utoipa::ToSchema;

use crate::cdr::export::{export_bridges, export_legs, ExportFormat};
use crate::cdr::query::{CdrQuery, Page, QueryError, RowMap, Spec};
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::Principal;
use crate::web::error::{ApiError, WebError};
use crate::web::WebState;

pub(crate) use params::{parse_time, present};
pub(crate) use params::{BridgeQuery, LegQuery};

/// CSV exports that may run at once (each holds a CDR read connection of the pool of 4
/// while it streams; the searches and reports keep the others).
const MAX_EXPORTS: usize = 2;

/// State of the data endpoints (CDR views, reports, dialplan editor), one per [`WebState`].
#[derive(Debug)]
pub(crate) struct DataState {
    /// The CDR query engine, opened on first use (the CDR writer creates `cdr.db` at start).
    cdr: OnceCell<CdrQuery>,
    /// Held across a dialplan save (validate, write, reload) so two saves cannot interleave.
    /// A tokio lock: held across the file writes and the reload.
    dialplan_saves: Mutex<()>,
    /// Permits for the CSV exports running now ([`MAX_EXPORTS`]).
    exports: Arc<Semaphore>,
}

impl Default for DataState {
    fn default() -> DataState {
        DataState {
            cdr: OnceCell::new(),
            dialplan_saves: Mutex::new(()),
            exports: Arc::new(Semaphore::new(MAX_EXPORTS)),
        }
    }
}

/// A permit to run one CSV export, or 503 while [`MAX_EXPORTS`] run.
fn export_permit(state: &WebState) -> Result<OwnedSemaphorePermit, ApiError> {
    state
        .inner
        .data
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::Unavailable("two CSV exports are running; try again when one has finished")
        })
}

impl DataState {
    /// The lock serialising dialplan changes.
    pub(crate) fn dialplan_saves(&self) -> &Mutex<()> {
        &self.dialplan_saves
    }
}

/// The query engine, opened on first use; 503 without CDRs.
pub(crate) async fn cdr_query(state: &WebState) -> Result<&CdrQuery, ApiError> {
    let path = state
        .services()
        .cdr_db
        .as_ref()
        .ok_or(ApiError::Unavailable(
            "CDRs are disabled ([cdr] enabled = false)",
        ))?;
    state
        .inner
        .data
        .cdr
        .get_or_try_init(|| CdrQuery::open(path))
        .await
        .map_err(query_error)
}

/// A query error as an API error: a bad filter is a 422 naming it, the rest a 500.
pub(crate) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Invalid { field, reason } => ApiError::invalid(field, reason),
        QueryError::Store(e) => ApiError::Internal(WebError::Cdr(e)),
    }
}

/// One page of a search.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CdrPage {
    /// The records, newest first; every column of the table under its own name (times in
    /// Unix ms, `details` as JSON).
    #[schema(value_type = Vec<Object>)]
    rows: Vec<RowMap>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

impl From<Page> for CdrPage {
    fn from(page: Page) -> CdrPage {
        CdrPage {
            rows: page.rows,
            next_cursor: page.next_cursor,
        }
    }
}

/// Everything recorded about one call.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CdrCall {
    /// The call's linkedid.
    linkedid: String,
    /// Its leg records, by start time.
    #[schema(value_type = Vec<Object>)]
    legs: Vec<RowMap>,
    /// Its bridge records (Asterisk-style CDRs), by start time then sequence.
    #[schema(value_type = Vec<Object>)]
    bridges: Vec<RowMap>,
    /// Its channel events, in order (empty when CEL is off).
    #[schema(value_type = Vec<Object>)]
    cel: Vec<RowMap>,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/cdr/legs", get(legs))
        .route("/api/v1/cdr/bridges", get(bridges))
        .route("/api/v1/cdr/legs.csv", get(legs_csv))
        .route("/api/v1/cdr/bridges.csv", get(bridges_csv))
        .route("/api/v1/cdr/calls/{linkedid}", get(call))
}

#[utoipa::path(
    get,
    path = "/api/v1/cdr/legs",
    tag = "cdr",
    params(LegQuery),
    responses(
        (status = 200, description = "one page of leg records, newest first", body = CdrPage),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn legs(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<CdrPage>, ApiError> {
    let filter = params::leg_filter(&query)?;
    let page = cdr_query(&state)
        .await?
        .legs(&filter)
        .await
        .map_err(query_error)?;
    Ok(Json(page.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/cdr/bridges",
    tag = "cdr",
    params(BridgeQuery),
    responses(
        (status = 200, description = "one page of bridge records, newest first", body = CdrPage),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn bridges(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<CdrPage>, ApiError> {
    let filter = params::bridge_filter(&query)?;
    let page = cdr_query(&state)
        .await?
        .bridges(&filter)
        .await
        .map_err(query_error)?;
    Ok(Json(page.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/cdr/calls/{linkedid}",
    tag = "cdr",
    params(("linkedid" = String, Path, description = "the call's linkedid")),
    responses(
        (status = 200, description = "the call's legs, bridge records and CEL events", body = CdrCall),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 404, description = "no record has this linkedid", body = ErrorBody),
        (status = 422, description = "linkedid longer than 128 bytes", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn call(
    State(state): State<WebState>,
    _caller: Principal,
    Path(linkedid): Path<String>,
) -> Result<Json<CdrCall>, ApiError> {
    let detail = cdr_query(&state)
        .await?
        .call_detail(&linkedid)
        .await
        .map_err(query_error)?
        .ok_or_else(|| ApiError::NotFound(format!("call {linkedid}")))?;
    Ok(Json(CdrCall {
        linkedid: detail.linkedid,
        legs: detail.legs,
        bridges: detail.bridge,
        cel: detail.cel,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/cdr/legs.csv",
    tag = "cdr",
    params(LegQuery),
    responses(
        (status = 200, description = "every matching leg record, oldest first, as CSV (header row; times as UTC ISO-8601 plus a `_local` column)", content_type = "text/csv"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn legs_csv(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = params::leg_filter(&query)?;
    // Refuse a bad filter with a 422 now: once the body streams, the status is sent.
    Spec::leg(&filter).map_err(query_error)?;
    let engine = cdr_query(&state).await?.clone();
    let permit = export_permit(&state)?;
    let body = stream::body(Some(permit), move |out| async move {
        export_legs(engine.store(), &filter, ExportFormat::Csv, out).await
    });
    Ok(csv_response("cdr-legs", state.now_ms(), body))
}

#[utoipa::path(
    get,
    path = "/api/v1/cdr/bridges.csv",
    tag = "cdr",
    params(BridgeQuery),
    responses(
        (status = 200, description = "every matching bridge record, oldest first, as CSV", content_type = "text/csv"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn bridges_csv(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = params::bridge_filter(&query)?;
    Spec::bridge(&filter).map_err(query_error)?;
    let engine = cdr_query(&state).await?.clone();
    let permit = export_permit(&state)?;
    let body = stream::body(Some(permit), move |out| async move {
        export_bridges(engine.store(), &filter, ExportFormat::Csv, out).await
    });
    Ok(csv_response("cdr-bridges", state.now_ms(), body))
}

/// A streamed CSV download named `<stem>-<now ms>.csv`.
fn csv_response(stem: &str, now_ms: i64, body: axum::body::Body) -> Response {
    let disposition = format!("attachment; filename=\"{stem}-{now_ms}.csv\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
#[path = "cdr/tests.rs"]
mod tests;
