//! Query strings of the CDR endpoints: the leg and bridge filters (`from`/`to` as Unix ms
//! or RFC 3339), read key by key so that an unknown key or a bad value is a 422 naming it.
//! The `*Query` structs describe the parameters in the OpenAPI document.
//!
//! Depends on: `crate::cdr::query` (the filters), chrono (RFC 3339), utoipa.

use std::collections::BTreeMap;

use utoipa::IntoParams;

use crate::cdr::model::Millis;
use crate::cdr::query::{BridgeFilter, LegFilter};
use crate::web::error::ApiError;

/// The keys of a leg search.
const LEG_KEYS: &[&str] = &[
    "from",
    "to",
    "number",
    "direction",
    "linkedid",
    "account",
    "limit",
    "cursor",
];

/// The keys of a bridge search.
const BRIDGE_KEYS: &[&str] = &[
    "from",
    "to",
    "number",
    "disposition",
    "linkedid",
    "account",
    "limit",
    "cursor",
];

/// `GET /api/v1/cdr/legs` and `legs.csv` query (documentation: read from a map, see
/// [`leg_filter`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct LegQuery {
    /// Legs starting at or after this: Unix ms, or RFC 3339 (`2026-11-23T08:00:00+01:00`).
    from: Option<String>,
    /// Legs starting before this: Unix ms or RFC 3339.
    to: Option<String>,
    /// Caller, callee or destination number: exact, or a prefix when it ends with `*`.
    number: Option<String>,
    /// `inbound` or `outbound`.
    direction: Option<String>,
    /// The call's linkedid.
    linkedid: Option<String>,
    /// The leg's extension or gateway.
    account: Option<String>,
    /// Rows per page, 1-500 (default 50; ignored by the CSV export).
    limit: Option<u32>,
    /// `next_cursor` of the previous page (ignored by the CSV export).
    cursor: Option<String>,
}

/// `GET /api/v1/cdr/bridges` and `bridges.csv` query (documentation, see [`bridge_filter`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct BridgeQuery {
    /// Records starting at or after this: Unix ms or RFC 3339.
    from: Option<String>,
    /// Records starting before this: Unix ms or RFC 3339.
    to: Option<String>,
    /// `src` or `dst`: exact, or a prefix when it ends with `*`.
    number: Option<String>,
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED` or `CONGESTION` (any case).
    disposition: Option<String>,
    /// The call's linkedid.
    linkedid: Option<String>,
    /// Party A's account code.
    account: Option<String>,
    /// Rows per page, 1-500 (default 50; ignored by the CSV export).
    limit: Option<u32>,
    /// `next_cursor` of the previous page (ignored by the CSV export).
    cursor: Option<String>,
}

/// A leg filter from a query string; empty values count as absent (an empty form field).
pub(crate) fn leg_filter(query: &BTreeMap<String, String>) -> Result<LegFilter, ApiError> {
    let mut f = LegFilter::default();
    for (key, value) in present(query, LEG_KEYS)? {
        match key {
            "from" => f.from = Some(parse_time("from", value)?),
            "to" => f.to = Some(parse_time("to", value)?),
            "number" => f.number = Some(value.to_owned()),
            "direction" => f.direction = Some(value.to_owned()),
            "linkedid" => f.linkedid = Some(value.to_owned()),
            "account" => f.account = Some(value.to_owned()),
            "limit" => f.limit = Some(parse_limit(value)?),
            "cursor" => f.cursor = Some(value.to_owned()),
            _ => {} // `present` let through only the keys above
        }
    }
    Ok(f)
}

/// A bridge filter from a query string; empty values count as absent.
pub(crate) fn bridge_filter(query: &BTreeMap<String, String>) -> Result<BridgeFilter, ApiError> {
    let mut f = BridgeFilter::default();
    for (key, value) in present(query, BRIDGE_KEYS)? {
        match key {
            "from" => f.from = Some(parse_time("from", value)?),
            "to" => f.to = Some(parse_time("to", value)?),
            "number" => f.number = Some(value.to_owned()),
            "disposition" => f.disposition = Some(value.to_owned()),
            "linkedid" => f.linkedid = Some(value.to_owned()),
            "account" => f.account = Some(value.to_owned()),
            "limit" => f.limit = Some(parse_limit(value)?),
            "cursor" => f.cursor = Some(value.to_owned()),
            _ => {} // `present` let through only the keys above
        }
    }
    Ok(f)
}

/// The non-empty `(key, value)` pairs of `query`, every key one of `allowed` (else a 422
/// naming the key).
pub(crate) fn present<'a>(
    query: &'a BTreeMap<String, String>,
    allowed: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, ApiError> {
    let mut out = Vec::with_capacity(query.len());
    for (key, value) in query {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::invalid(
                key,
                format!(
                    "unknown query parameter (expected one of: {})",
                    allowed.join(", ")
                ),
            ));
        }
        if !value.trim().is_empty() {
            out.push((key.as_str(), value.as_str()));
        }
    }
    Ok(out)
}

/// A time given as Unix milliseconds or as an RFC 3339 date-time with an offset
/// (`2026-11-23T08:00:00Z`, `…T08:00:00.250+01:00`). A `+` sent unencoded in a query string
/// arrives as a space; `…T08:00:00 01:00` is read as `+01:00`.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<Millis, ApiError> {
    let text = text.trim();
    let bad = || {
        ApiError::invalid(
            field,
            "Unix milliseconds or an RFC 3339 time such as 2026-11-23T08:00:00Z, \
             from 1970 to 9999",
        )
    };
    if let Ok(ms) = text.parse::<i64>() {
        // Period arithmetic (`to - from`, bucket rounding) must not overflow.
        return if (0..=MAX_TIME_MS).contains(&ms) {
            Ok(ms)
        } else {
            Err(bad())
        };
    }
    let fixed;
    let text = match text.len().checked_sub(6) {
        Some(i) if text.is_char_boundary(i) && text[i..].starts_with(' ') => {
            fixed = format!("{}+{}", &text[..i], &text[i + 1..]);
            fixed.as_str()
        }
        _ => text,
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .ok()
        .filter(|ms| (0..=MAX_TIME_MS).contains(ms))
        .ok_or_else(bad)
}

/// The latest time accepted in a filter: 9999-12-31T23:59:59.999Z.
const MAX_TIME_MS: Millis = 253_402_300_799_999;

/// A page size (the range is checked by the query engine, which names `limit` too).
fn parse_limit(text: &str) -> Result<u32, ApiError> {
    text.trim()
        .parse::<u32>()
        .map_err(|_| ApiError::invalid("limit", "an integer from 1 to 500"))
}
