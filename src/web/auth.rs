//! Who is asking: the `require_login` middleware (session cookie `sb_session` or
//! `Authorization: Bearer <token>`), the CSRF rule, and the extractors handlers use —
//! [`Principal`] (any logged-in caller), [`AdminOnly`] (403 for viewers) and [`JsonBody`]
//! (a JSON object whose fields are read one by one, so a 422 always names the field).
//!
//! CSRF: a state-changing request (POST, PUT, PATCH, DELETE) authenticated by a session
//! cookie must carry `X-CSRF-Token` equal to its session's token (given by the login
//! answer and `GET /api/v1/me`); a bearer-token request needs none (a browser never adds
//! that header on its own).
//!
//! Depends on: `super::{store, session, password, error}`, axum.

use std::time::Instant;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::password::{secrets_equal, token_digest};
use super::store::Role;
use super::WebState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sb_session";

/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A browser session.
    Session {
        /// The session id (cookie value).
        id: String,
        /// Its CSRF token.
        csrf: String,
    },
    /// An API token.
    Token {
        /// The token's id.
        id: i64,
    },
}

/// The authenticated caller, put into the request's extensions by `require_login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Account name, or the token's label.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Session or token.
    pub via: Via,
}

impl Principal {
    /// The audit log's actor: the account name, or `token:<label>`.
    pub fn actor(&self) -> String {
        match self.via {
            Via::Session { .. } => self.name.clone(),
            Via::Token { .. } => format!("token:{}", self.name),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

/// A caller with the admin role (viewers get 403).
#[derive(Debug, Clone)]
pub struct AdminOnly(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for AdminOnly {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let p = Principal::from_request_parts(parts, state).await?;
        if p.role != Role::Admin {
            return Err(ApiError::Forbidden(
                "the viewer role cannot change anything",
            ));
        }
        Ok(AdminOnly(p))
    }
}

/// The session id in the `Cookie` header(s), if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The bearer token of the `Authorization` header: `Some(Err)` when the header is there
/// but is not a bearer token.
fn bearer(headers: &HeaderMap) -> Option<Result<&str, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let value = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    Some(
        value
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized),
    )
}

fn is_state_changing(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Resolves the caller of `headers` (a bearer token wins over a cookie).
pub async fn principal(state: &WebState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let Some(token) = bearer(headers) {
        let digest = token_digest(token?);
        let token = state
            .store()
            .use_token(&digest, state.now_ms())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Principal {
            name: token.name,
            role: token.role,
            via: Via::Token { id: token.id },
        });
    }
    let id = session_cookie(headers).ok_or(ApiError::Unauthorized)?;
    let session = state
        .sessions()
        .get(id, Instant::now())
        .ok_or(ApiError::Unauthorized)?;
    // The role is read at every request: a demotion or deletion applies at once.
    let Some(creds) = state.store().credentials(&session.name).await? else {
        state.sessions().remove(id);
        return Err(ApiError::Unauthorized);
    };
    Ok(Principal {
        name: creds.account.name,
        role: creds.account.role,
        via: Via::Session {
            id: id.to_owned(),
            csrf: session.csrf,
        },
    })
}

/// Middleware of every route but login: 401 without a valid session or token, 403 for a
/// state-changing session request without the right CSRF token; else the [`Principal`]
/// goes into the request's extensions.
pub async fn require_login(
    State(state): State<WebState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = principal(&state, request.headers()).await?;
    if let Via::Session { csrf, .. } = &caller.via {
        if is_state_changing(request.method()) {
            let sent = request
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !secrets_equal(sent, csrf) {
                return Err(ApiError::Forbidden(
                    "missing or wrong X-CSRF-Token header (see GET /api/v1/me)",
                ));
            }
        }
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// A JSON object body; fields are taken with [`JsonBody::string`] and friends so that a
/// bad one is a 422 naming it. Not JSON, or not an object: 400.
#[derive(Debug, Default)]
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(Value::Object(map))) => Ok(JsonBody(map)),
            Ok(_) => Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            )),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}

impl JsonBody {
    /// Refuses fields other than `allowed` (422 naming the first unknown one).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::invalid(
                k,
                format!("unknown field (expected one of: {})", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// An optional string field (null counts as absent).
    pub fn opt_string(&self, field: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid(field, "must be a string")),
        }
    }

    /// A required string field.
    pub fn string(&self, field: &str) -> Result<String, ApiError> {
        self.opt_string(field)?
            .ok_or_else(|| ApiError::invalid(field, "required"))
    }

    /// An optional role field (`admin` or `viewer`).
    pub fn opt_role(&self, field: &str) -> Result<Option<Role>, ApiError> {
        self.opt_string(field)?
            .map(|s| {
                Role::parse(&s).ok_or_else(|| ApiError::invalid(field, "must be admin or viewer"))
            })
            .transpose()
    }
}
