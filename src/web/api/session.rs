//! `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/me`.
//!
//! Login order: address locked → 429; bad input → 422; account locked → 429; password
//! checked (against a dummy hash for an unknown name, same time); a failure counts for
//! the address and the account (the one that reaches the limit answers 429 with
//! `Retry-After`), else 401; success opens a session (cookie + CSRF token in the body).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{JsonBody, Principal, Via, SESSION_COOKIE};
use crate::web::error::ApiError;
use crate::web::password::verify;
use crate::web::store::Role;
use crate::web::WebState;

/// `POST /api/v1/login` body (documentation: the handler reads it field by field, so a
/// 422 names the bad field).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct LoginRequest {
    /// Account name.
    name: String,
    /// Its password.
    password: String,
}

/// A logged-in caller: the login answer and `GET /api/v1/me`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionAnswer {
    /// Account name (or the API token's label).
    name: String,
    /// What it may do.
    role: Role,
    /// How the request was authenticated (`session` or `token`; absent in the login answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<&'static str>,
    /// The session's CSRF token, to send as `X-CSRF-Token` on POST/PUT/PATCH/DELETE
    /// (null for a token).
    csrf_token: Option<String>,
}

pub(super) fn open_routes() -> Router<WebState> {
    Router::new().route("/api/v1/login", post(login))
}

pub(super) fn protected_routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
}

/// The client address (unspecified when served without connection info, e.g. in tests).
fn client_ip(connect: Option<Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    connect
        .map(|Extension(ConnectInfo(addr))| addr.ip().to_canonical())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn retry_after(ms: i64) -> ApiError {
    let secs = u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000).max(1);
    ApiError::TooManyAttempts {
        retry_after_secs: secs,
    }
}

fn cookie(state: &WebState, value: &str, max_age_secs: u64) -> Result<HeaderValue, ApiError> {
    let secure = if state.inner.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(|_| ApiError::BadRequest("unusable session id".into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/login",
    tag = "session",
    request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, description = "logged in; `Set-Cookie: sb_session=...`", body = SessionAnswer),
        (status = 400, description = "not a JSON object", body = ErrorBody),
        (status = 401, description = "wrong name or password", body = ErrorBody),
        (status = 422, description = "a field is missing or not a string", body = ErrorBody),
        (status = 429, description = "address or account locked (`Retry-After`)", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<WebState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let ip = client_ip(connect);
    if let Some(left) = state.inner.limiter.locked(ip, Instant::now()) {
        state
            .metrics()
            .failed_logins
            .fetch_add(1, Ordering::Relaxed);
        return Err(retry_after(
            i64::try_from(left.as_millis()).unwrap_or(i64::MAX),
        ));
    }
    body.only(&["name", "password"])?;
    let name = body.string("name")?;
    let password = body.string("password")?;
    let now = state.now_ms();
    let creds = state.store().credentials(&name).await?;
    if let Some(c) = &creds {
        if c.account.locked_until > now {
            state
                .metrics()
                .failed_logins
                .fetch_add(1, Ordering::Relaxed);
            return Err(retry_after(c.account.locked_until - now));
        }
    }
    let ok = match &creds {
        Some(c) => verify(&password, &c.password_hash).await?,
        None => {
            verify(&password, state.dummy_hash().await?).await?;
            false
        }
    };
    let Some(creds) = creds.filter(|_| ok) else {
        return Err(failed_login(&state, ip, &name, now).await?);
    };
    state.inner.limiter.success(ip);
    state.store().record_login(&name).await?;
    let (id, session) = state.sessions().create(&name, Instant::now())?;
    state
        .store()
        .audit(
            now,
            &name,
            "login",
            &name,
            json!({ "address": ip.to_string() }),
        )
        .await?;
    let body = SessionAnswer {
        name: creds.account.name,
        role: creds.account.role,
        via: None,
        csrf_token: Some(session.csrf),
    };
    let mut response = Json(body).into_response();
    let max_age = state.sessions().lifetime().as_secs();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, &id, max_age)?);
    Ok(response)
}

/// Counts a failed login; the answer: 429 when this failure locks the address or the
/// account, else 401.
async fn failed_login(
    state: &WebState,
    ip: IpAddr,
    name: &str,
    now: i64,
) -> Result<ApiError, ApiError> {
    state
        .metrics()
        .failed_logins
        .fetch_add(1, Ordering::Relaxed);
    tracing::warn!(account = name, address = %ip, "web login failed");
    let address_lock = state.inner.limiter.failure(ip, Instant::now());
    let account_lock = state
        .store()
        .record_failed_login(name, now, state.inner.lockout)
        .await?;
    if let Some(until) = account_lock {
        state
            .store()
            .audit(
                now,
                "system",
                "account.locked",
                name,
                json!({ "until": until, "address": ip.to_string() }),
            )
            .await?;
        return Ok(retry_after(until - now));
    }
    if let Some(lock) = address_lock {
        tracing::warn!(address = %ip, secs = lock.as_secs(), "web logins from this address locked");
        return Ok(retry_after(
            i64::try_from(lock.as_millis()).unwrap_or(i64::MAX),
        ));
    }
    Ok(ApiError::BadCredentials)
}

#[utoipa::path(
    post,
    path = "/api/v1/logout",
    tag = "session",
    responses(
        (status = 204, description = "session closed, cookie cleared (a token: nothing to do)"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "missing or wrong X-CSRF-Token", body = ErrorBody),
    )
)]
async fn logout(State(state): State<WebState>, caller: Principal) -> Result<Response, ApiError> {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Via::Session { id, .. } = &caller.via {
        state.sessions().remove(id);
        state
            .audit(&caller.actor(), "logout", &caller.name, json!({}))
            .await?;
        response
            .headers_mut()
            .insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "session",
    responses(
        (status = 200, description = "the caller", body = SessionAnswer),
        (status = 401, description = "login required", body = ErrorBody),
    )
)]
async fn me(caller: Principal) -> Json<SessionAnswer> {
    let (via, csrf) = match &caller.via {
        Via::Session { csrf, .. } => ("session", Some(csrf.clone())),
        Via::Token { .. } => ("token", None),
    };
    Json(SessionAnswer {
        name: caller.name,
        role: caller.role,
        via: Some(via),
        csrf_token: csrf,
    })
}
