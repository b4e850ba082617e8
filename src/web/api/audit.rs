//! `GET /api/v1/audit?limit=&before=`: the audit log, newest first (paging with `before`,
//! the smallest id of the previous page).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::web::auth::Principal;
use crate::web::error::ApiError;
use crate::web::WebState;

/// Rows per page when `limit` is not given, and the most one page may hold.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/api/v1/audit", get(audit))
}

async fn audit(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({ "entries": entries })))
}
