//! Reports and charts: `GET /api/v1/reports` (answer rate, average talk time, calls per
//! hour or day, busiest extensions and gateways over a period), its chart
//! `GET /api/v1/reports/chart.svg`, and the dashboard's `GET /api/v1/charts/today.svg`
//! (calls per hour of the current local day).
//!
//! Query: `from`/`to` as Unix ms or RFC 3339 (default: the 7 days up to now), `bucket`
//! `hour`|`day` (default: `hour` for periods up to 2 days, else `day`), `tz_offset_min`
//! (the browser's offset east of UTC, minutes: `-new Date().getTimezoneOffset()`; default 0)
//! which bucket edges and labels follow. A bad value is a 422 naming it.
//!
//! Depends on: `crate::cdr::query::report` (through `super::cdr`'s query engine),
//! `crate::web::charts` (SVG), axum, utoipa.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::{IntoParams, ToSchema};

use super::cdr::{cdr_query, parse_time, present, query_error};
use crate::cdr::model::Millis;
use crate::cdr::query::{Bucket, Report, ReportRequest};
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::Principal;
use crate::web::charts::{calls_svg, CallsChart};
use crate::web::error::{ApiError, WebError};
use crate::web::WebState;

const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 24 * HOUR_MS;

/// The default period: the last 7 days.
const DEFAULT_PERIOD_MS: Millis = 7 * DAY_MS;

/// Periods up to this long default to hourly buckets.
const HOURLY_UP_TO_MS: Millis = 2 * DAY_MS;

/// The largest offset accepted, minutes (UTC+14:00 exists).
const MAX_OFFSET_MIN: i32 = 14 * 60;

/// `GET /api/v1/reports` query (documentation: read from a map so an unknown key is a 422).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct ReportQuery {
    /// Period start: Unix ms or RFC 3339 (default: `to` minus 7 days).
    from: Option<String>,
    /// Period end, exclusive: Unix ms or RFC 3339 (default: now).
    to: Option<String>,
    /// `hour` or `day` (default: `hour` up to 2 days, else `day`).
    bucket: Option<String>,
    /// Local offset east of UTC in minutes, -840 to 840 (default 0).
    tz_offset_min: Option<i32>,
}

/// `GET /api/v1/reports/chart.svg` query (documentation).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct ChartQuery {
    /// Period start: Unix ms or RFC 3339 (default: `to` minus 7 days).
    from: Option<String>,
    /// Period end, exclusive (default: now).
    to: Option<String>,
    /// `hour` or `day` (default: `hour` up to 2 days, else `day`).
    bucket: Option<String>,
    /// Local offset east of UTC in minutes (default 0).
    tz_offset_min: Option<i32>,
    /// `calls` (total per bucket, the default) or `answered` (answered over total).
    series: Option<String>,
}

/// `GET /api/v1/charts/today.svg` query (documentation).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct TodayQuery {
    /// Local offset east of UTC in minutes: "today" is the local day (default 0).
    tz_offset_min: Option<i32>,
}

/// `crate::cdr::query::Report` as the API shows it.
#[derive(ToSchema)]
#[schema(as = Report)]
#[allow(dead_code)] // schema only: the wire shape of `cdr::query::Report`
pub(crate) struct ReportSchema {
    /// Period start, Unix ms.
    from: i64,
    /// Period end (exclusive), Unix ms.
    to: i64,
    /// `hour` or `day`.
    bucket: String,
    /// The offset the buckets follow, minutes.
    tz_offset_minutes: i32,
    /// Calls (inbound legs) in the period.
    total: u64,
    /// Answered calls.
    answered: u64,
    /// `answered / total` (0 without calls).
    answer_rate: f64,
    /// Mean talk time of answered calls, seconds.
    avg_talk_secs: f64,
    /// Every bucket of the period, in order.
    per_bucket: Vec<BucketSchema>,
    /// Busiest extensions (top 10, by calls then talk time).
    busiest_extensions: Vec<BusiestSchema>,
    /// Busiest gateways.
    busiest_gateways: Vec<BusiestSchema>,
}

/// One bucket of a report.
#[derive(ToSchema)]
#[schema(as = ReportBucket)]
#[allow(dead_code)] // schema only: the wire shape of `cdr::query::BucketCount`
pub(crate) struct BucketSchema {
    /// The bucket's first instant, Unix ms (a local hour or midnight).
    start: i64,
    /// Calls starting in it.
    total: u64,
    /// Of which answered.
    answered: u64,
}

/// One extension or gateway of a busiest list.
#[derive(ToSchema)]
#[schema(as = Busiest)]
#[allow(dead_code)] // schema only: the wire shape of `cdr::query::Busiest`
pub(crate) struct BusiestSchema {
    /// Extension or gateway name.
    name: String,
    /// Legs it had in the period.
    calls: u64,
    /// Their talk time, seconds.
    talk_secs: u64,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/reports", get(report))
        .route("/api/v1/reports/chart.svg", get(chart))
        .route("/api/v1/charts/today.svg", get(today))
}

/// The local offset (422 naming `tz_offset_min`).
fn offset(text: Option<&str>) -> Result<i32, ApiError> {
    let Some(text) = text else { return Ok(0) };
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|m| m.abs() <= MAX_OFFSET_MIN)
        .ok_or_else(|| ApiError::invalid("tz_offset_min", "minutes east of UTC, -840 to 840"))
}

/// The report request of a query string, with its defaults (`now` ends the default period).
fn request(pairs: &[(&str, &str)], now: Millis) -> Result<ReportRequest, ApiError> {
    let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let to = get("to")
        .map(|t| parse_time("to", t))
        .transpose()?
        .unwrap_or(now);
    let from = match get("from") {
        Some(t) => parse_time("from", t)?,
        None => to.saturating_sub(DEFAULT_PERIOD_MS),
    };
    if from >= to {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    let bucket = match get("bucket")
        .map(|b| b.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("hour") => Bucket::Hour,
        Some("day") => Bucket::Day,
        Some(_) => return Err(ApiError::invalid("bucket", "hour or day")),
        None if to - from <= HOURLY_UP_TO_MS => Bucket::Hour,
        None => Bucket::Day,
    };
    Ok(ReportRequest {
        from,
        to,
        bucket,
        tz_offset_minutes: offset(get("tz_offset_min"))?,
    })
}

/// Runs the report; the engine's field names are the query's.
async fn run(state: &WebState, request: &ReportRequest) -> Result<Report, ApiError> {
    cdr_query(state)
        .await?
        .report(request)
        .await
        .map_err(|e| match query_error(e) {
            ApiError::Invalid { field, message } if field == "tz_offset_minutes" => {
                ApiError::invalid("tz_offset_min", message)
            }
            other => other,
        })
}

#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "the calls report over the period", body = ReportSchema),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn report(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Report>, ApiError> {
    let pairs = present(&query, &["from", "to", "bucket", "tz_offset_min"])?;
    let request = request(&pairs, state.now_ms())?;
    Ok(Json(run(&state, &request).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/chart.svg",
    tag = "reports",
    params(ChartQuery),
    responses(
        (status = 200, description = "calls per bucket as an accessible SVG (role=img, title, aria-label; scales to its container)", content_type = "image/svg+xml"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn chart(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let pairs = present(&query, &["from", "to", "bucket", "tz_offset_min", "series"])?;
    let answered = match pairs
        .iter()
        .find(|(k, _)| *k == "series")
        .map(|(_, v)| v.trim())
    {
        None | Some("calls") => false,
        Some("answered") => true,
        Some(_) => return Err(ApiError::invalid("series", "calls or answered")),
    };
    let request = request(&pairs, state.now_ms())?;
    let report = run(&state, &request).await?;
    let what = if answered {
        "Answered and total calls"
    } else {
        "Calls"
    };
    let title = format!(
        "{what} per {}, {} to {}",
        unit(request.bucket),
        local_date(request.from, request.tz_offset_minutes),
        // The last day of the period (its end is exclusive).
        local_date(request.to - 1, request.tz_offset_minutes),
    );
    svg_response(&title, &report, answered)
}

#[utoipa::path(
    get,
    path = "/api/v1/charts/today.svg",
    tag = "reports",
    params(TodayQuery),
    responses(
        (status = 200, description = "calls per hour of the current local day, answered over total, as an accessible SVG", content_type = "image/svg+xml"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 422, description = "a bad or unknown query parameter", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
pub(super) async fn today(
    State(state): State<WebState>,
    _caller: Principal,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let pairs = present(&query, &["tz_offset_min"])?;
    let tz = offset(pairs.first().map(|(_, v)| *v))?;
    let request = today_request(state.now_ms(), tz);
    let report = run(&state, &request).await?;
    let title = format!("Calls per hour today, {}", local_date(request.from, tz));
    svg_response(&title, &report, true)
}

/// The local day containing `now` at offset `tz` (minutes), in hourly buckets.
fn today_request(now: Millis, tz: i32) -> ReportRequest {
    let offset = Millis::from(tz) * 60_000;
    let from = (now + offset).div_euclid(DAY_MS) * DAY_MS - offset;
    ReportRequest {
        from,
        to: from + DAY_MS,
        bucket: Bucket::Hour,
        tz_offset_minutes: tz,
    }
}

fn unit(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
    }
}

/// `YYYY-MM-DD` of `ms` at offset `tz` minutes.
fn local_date(ms: Millis, tz: i32) -> String {
    chrono::DateTime::from_timestamp_millis(ms.saturating_add(Millis::from(tz) * 60_000))
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The report's buckets drawn as an SVG answer.
fn svg_response(title: &str, report: &Report, answered: bool) -> Result<Response, ApiError> {
    let svg = calls_svg(&CallsChart {
        title,
        buckets: &report.per_bucket,
        bucket: report.bucket,
        tz_offset_minutes: report.tz_offset_minutes,
        answered,
    })
    .map_err(|e| ApiError::Internal(WebError::Chart(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Opened on its own, the image may not run or load anything (it has no script).
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

#[cfg(test)]
#[path = "reports/tests.rs"]
mod tests;
