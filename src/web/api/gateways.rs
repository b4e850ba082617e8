//! `/api/v1/gateways`: the SIP trunks in force with their health. Listing is for every
//! logged-in account; changes are for admins, audited, and act on
//! [`crate::switch::gateways::LiveGateways`] (stored in `switchboard.db`, in force for the
//! next call). Gateways of the configuration files are read-only here: 409, edit the file.
//! A 422 names the bad field; the answers carry `warnings` (e.g. `[acl]` refusing the
//! gateway's address, which would drop its calls).
//!
//! `state.active_calls` is not filled here: the live-call registry knows it (the lead adds
//! it from `src/web/api/calls.rs`' tracker).
//!
//! Depends on: `crate::switch::gateways`, `crate::web::{auth, error}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::config::ListenTransport;
use crate::switch::gateways::edit::parse_transport;
use crate::switch::gateways::{GatewayEntry, GatewayError, GatewaySpec, LiveGateways};
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{AdminOnly, JsonBody, Principal};
use crate::web::error::ApiError;
use crate::web::WebState;

/// The last health check of a gateway.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct GatewayStateView {
    /// `up` (answered the last OPTIONS, any status), `down` (no answer in time or a
    /// transport error) or `unknown` (not checked yet).
    status: &'static str,
    /// Round trip of the last answered OPTIONS, ms.
    rtt_ms: Option<u64>,
    /// When it was last checked, Unix ms.
    last_checked_ms: Option<i64>,
    /// Why the last check failed.
    last_error: Option<String>,
    /// Status code of the last answer (a 404/405 still means reachable).
    last_status_code: Option<u16>,
    /// Live calls through it now (inbound from it or dialled out through it).
    active_calls: usize,
}

/// One gateway as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct GatewayView {
    /// Unique name, used by the dialplan (`SIP/<name>/<number>`).
    name: String,
    /// `host:port` (IPv6 in brackets).
    address: String,
    /// `udp`, `tcp` or `tls`.
    transport: &'static str,
    /// Requests from its IP skip digest authentication.
    trust_inbound_by_source: bool,
    /// `config` (sip-profiles/*.toml, read-only here) or `web`.
    origin: &'static str,
    /// Whether this API may change or delete it (origin `web`).
    editable: bool,
    /// When it was added / last changed (web gateways), Unix ms.
    created_ms: Option<i64>,
    /// When it was last changed (web gateways), Unix ms.
    updated_ms: Option<i64>,
    /// Health.
    state: GatewayStateView,
    /// What the operator should know (e.g. `[acl]` refuses its address).
    warnings: Vec<String>,
}

/// `GET /api/v1/gateways` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GatewayList {
    /// Configured gateways first (file order), then the web ones by name.
    gateways: Vec<GatewayView>,
}

/// `POST /api/v1/gateways` body (documentation: read field by field, a 422 names the field).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct NewGateway {
    /// `[A-Za-z0-9_.-]+`, 1 to 64 characters, not a configured gateway's name.
    name: String,
    /// `host:port`, `ip:port` or `[ipv6]:port`.
    address: String,
    /// `udp` (default), `tcp` or `tls`.
    transport: Option<String>,
    /// Trust requests from its IP without authentication (needs an IP address); default false.
    trust_inbound_by_source: Option<bool>,
}

/// `PUT /api/v1/gateways/{name}` body: the fields to change (others are kept).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct GatewayChange {
    /// Must equal the path's name if given (no renaming).
    name: Option<String>,
    /// `host:port`, `ip:port` or `[ipv6]:port`.
    address: Option<String>,
    /// `udp`, `tcp` or `tls`.
    transport: Option<String>,
    /// Trust requests from its IP without authentication (needs an IP address).
    trust_inbound_by_source: Option<bool>,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/gateways", get(list).post(create))
        .route(
            "/api/v1/gateways/{name}",
            get(show).put(update).delete(delete),
        )
}

fn gateways(state: &WebState) -> Result<LiveGateways, ApiError> {
    state
        .services()
        .gateways
        .clone()
        .ok_or(ApiError::Unavailable(
            "the gateway directory is not running",
        ))
}

fn view(state: &WebState, live: &LiveGateways, entry: GatewayEntry) -> GatewayView {
    let active_calls = state
        .inner
        .live
        .feed()
        .gateway_calls()
        .get(&entry.gateway.name)
        .copied()
        .unwrap_or(0);
    view_with(live, entry, active_calls)
}

fn view_with(live: &LiveGateways, entry: GatewayEntry, active_calls: usize) -> GatewayView {
    let health = entry.health;
    GatewayView {
        warnings: live.warnings(&entry.gateway),
        address: entry.gateway.address(),
        transport: entry.gateway.transport.as_str(),
        trust_inbound_by_source: entry.gateway.trust_inbound_by_source,
        name: entry.gateway.name,
        origin: entry.origin.as_str(),
        editable: entry.origin == crate::switch::gateways::GatewayOrigin::Web,
        created_ms: entry.created_ms,
        updated_ms: entry.updated_ms,
        state: GatewayStateView {
            status: health.status.as_str(),
            rtt_ms: health.rtt_ms,
            last_checked_ms: health.last_checked_ms,
            last_error: health.last_error,
            last_status_code: health.last_status_code,
            active_calls,
        },
    }
}

fn api_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::Invalid { field, message } => ApiError::invalid(field, message),
        GatewayError::ConfigDefined(name) => ApiError::Conflict(format!(
            "gateway {name} is defined in sip-profiles/*.toml; edit the file"
        )),
        GatewayError::Exists(name) => ApiError::Conflict(format!("gateway {name} exists")),
        GatewayError::NotFound(name) => ApiError::NotFound(format!("gateway {name}")),
        GatewayError::ReadOnly => ApiError::Unavailable("the gateway directory is read-only"),
        GatewayError::Db(e) => ApiError::Internal(e.into()),
    }
}

/// An optional boolean field (null counts as absent).
fn opt_bool(body: &JsonBody, field: &str) -> Result<Option<bool>, ApiError> {
    match body.0.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(field, "must be true or false")),
    }
}

fn opt_transport(body: &JsonBody) -> Result<Option<ListenTransport>, ApiError> {
    body.opt_string("transport")?
        .map(|t| parse_transport(&t).map_err(api_error))
        .transpose()
}

#[utoipa::path(
    get,
    path = "/api/v1/gateways",
    tag = "gateways",
    responses(
        (status = 200, description = "every gateway with its health", body = GatewayList),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 503, description = "no gateway directory (web admin without a switch)", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<WebState>,
    _caller: Principal,
) -> Result<Json<GatewayList>, ApiError> {
    let live = gateways(&state)?;
    let active = state.inner.live.feed().gateway_calls();
    let gateways = live
        .entries()
        .into_iter()
        .map(|e| {
            let n = active.get(&e.gateway.name).copied().unwrap_or(0);
            view_with(&live, e, n)
        })
        .collect();
    Ok(Json(GatewayList { gateways }))
}

#[utoipa::path(
    get,
    path = "/api/v1/gateways/{name}",
    tag = "gateways",
    params(("name" = String, Path, description = "gateway name")),
    responses(
        (status = 200, description = "the gateway", body = GatewayView),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 404, description = "no such gateway", body = ErrorBody),
        (status = 503, description = "no gateway directory", body = ErrorBody),
    )
)]
async fn show(
    State(state): State<WebState>,
    _caller: Principal,
    Path(name): Path<String>,
) -> Result<Json<GatewayView>, ApiError> {
    let live = gateways(&state)?;
    let entry = live
        .entry(&name)
        .ok_or_else(|| ApiError::NotFound(format!("gateway {name}")))?;
    Ok(Json(view(&state, &live, entry)))
}

#[utoipa::path(
    post,
    path = "/api/v1/gateways",
    tag = "gateways",
    request_body = NewGateway,
    responses(
        (status = 201, description = "added; in force for the next call", body = GatewayView),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 409, description = "the name exists (in the config files or here)", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "no gateway directory", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    body: JsonBody,
) -> Result<Response, ApiError> {
    body.only(&["name", "address", "transport", "trust_inbound_by_source"])?;
    let live = gateways(&state)?;
    let spec = GatewaySpec {
        name: body.string("name")?,
        address: body.string("address")?,
        transport: opt_transport(&body)?.unwrap_or(ListenTransport::Udp),
        trust_inbound_by_source: opt_bool(&body, "trust_inbound_by_source")?.unwrap_or(false),
    };
    let entry = live.create(&spec).await.map_err(api_error)?;
    audit(&state, &caller.actor(), "gateway.create", &entry).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &live, entry))).into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/gateways/{name}",
    tag = "gateways",
    params(("name" = String, Path, description = "gateway name")),
    request_body = GatewayChange,
    responses(
        (status = 200, description = "changed; in force for the next call", body = GatewayView),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such gateway", body = ErrorBody),
        (status = 409, description = "defined in the config files: edit the file", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "no gateway directory", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<GatewayView>, ApiError> {
    body.only(&["name", "address", "transport", "trust_inbound_by_source"])?;
    let live = gateways(&state)?;
    let (new_name, address) = (body.opt_string("name")?, body.opt_string("address")?);
    let transport = opt_transport(&body)?;
    let trust = opt_bool(&body, "trust_inbound_by_source")?;
    // The fields not given are taken from the gateway as it is under the directory's edit
    // lock: two partial changes at once both apply.
    let entry = live
        .update_with(&name, |current| GatewaySpec {
            name: new_name.unwrap_or_else(|| name.clone()),
            address: address.unwrap_or_else(|| current.address()),
            transport: transport.unwrap_or(current.transport),
            trust_inbound_by_source: trust.unwrap_or(current.trust_inbound_by_source),
        })
        .await
        .map_err(api_error)?;
    audit(&state, &caller.actor(), "gateway.update", &entry).await?;
    Ok(Json(view(&state, &live, entry)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/gateways/{name}",
    tag = "gateways",
    params(("name" = String, Path, description = "gateway name")),
    responses(
        (status = 204, description = "deleted (calls in progress through it go on)"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such gateway", body = ErrorBody),
        (status = 409, description = "defined in the config files: edit the file", body = ErrorBody),
        (status = 503, description = "no gateway directory", body = ErrorBody),
    )
)]
async fn delete(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let live = gateways(&state)?;
    live.delete(&name).await.map_err(api_error)?;
    state
        .audit(&caller.actor(), "gateway.delete", &name, json!({}))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(
    state: &WebState,
    actor: &str,
    action: &str,
    entry: &GatewayEntry,
) -> Result<(), ApiError> {
    let g = &entry.gateway;
    let detail = json!({
        "address": g.address(),
        "transport": g.transport.as_str(),
        "trust_inbound_by_source": g.trust_inbound_by_source,
    });
    state.audit(actor, action, &g.name, detail).await?;
    Ok(())
}
