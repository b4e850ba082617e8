//! `GET /api/v1/audit?limit=&before=`: the audit log, newest first (paging with `before`,
//! the smallest id of the previous page).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::web::api::openapi::ErrorBody;
use crate::web::auth::Principal;
use crate::web::error::ApiError;
use crate::web::store::AuditEntry;
use crate::web::WebState;

/// `GET /api/v1/audit` query (documentation: read from a map so an unknown key is a 422).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct AuditQuery {
    /// Rows per page, 1-1000 (default 100).
    limit: Option<u32>,
    /// Only entries with a smaller id (the smallest id of the previous page).
    before: Option<i64>,
}

/// `GET /api/v1/audit` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditPage {
    /// Newest first.
    entries: Vec<AuditEntry>,
}

/// Rows per page when `limit` is not given, and the most one page may hold.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/api/v1/audit", get(audit))
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "one page of the audit log, newest first", body = AuditPage),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter", body = ErrorBody),
    )
)]
async fn audit(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<AuditPage>, ApiError> {
    if let Some(k) = query
        .keys()
        .find(|k| !["limit", "before"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(
            k,
            "unknown query parameter (expected limit, before)",
        ));
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", "must be an integer from 1 to 1000"))?,
    };
    let before = match query.get("before") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid("before", "must be an integer (an audit id)"))?,
        ),
    };
    let entries = state.store().audit_entries(limit, before).await?;
    Ok(Json(AuditPage { entries }))
}
