//! Errors of the web layer: [`WebError`] for the account store and start-up helpers, and
//! [`ApiError`], the one error type of every HTTP handler, rendered as
//! `{"error": "...", "detail": ...}` with its status. Database and hashing details are
//! logged, never sent to the client.
//!
//! Depends on: `crate::db`, axum, serde_json, thiserror.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::db::DbError;

/// Failures of the account store, the password hasher and the bootstrap helpers.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A query on `switchboard.db` failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The database could not be opened or migrated.
    #[error("{0}")]
    Db(#[from] DbError),
    /// argon2 refused to hash, or a stored hash does not parse.
    #[error("password hashing failed: {0}")]
    Hash(#[from] argon2::password_hash::Error),
    /// The blocking hashing task panicked or was cancelled.
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The system random generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A stored role is neither `admin` nor `viewer`.
    #[error("corrupt role {0:?} in the account store")]
    CorruptRole(String),
    /// The change would leave no account with the admin role.
    #[error("the last admin account cannot be removed or demoted")]
    LastAdmin,
    /// The web listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The `[web] listen` address.
        addr: std::net::SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// A name or password given to a command line helper is unusable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`name`, `password`).
        field: &'static str,
        /// What is wrong with it.
        message: &'static str,
    },
    /// Reading the CDR database failed (search, detail, report, export).
    #[error("CDR database: {0}")]
    Cdr(#[from] crate::cdr::store::StoreError),
    /// A dialplan file could not be listed, read, written or renamed.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error("chart: {0}")]
    Chart(#[from] super::charts::ChartError),
    /// HTTPS could not be set up (`[web] tls = true`): certificate or key unusable.
    #[error("{0}")]
    Tls(#[from] crate::web::tls::TlsError),
}

/// An HTTP error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON (or not a JSON object).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no valid session or token.
    #[error("login required")]
    Unauthorized,
    /// 401 on `POST /login`: wrong name or password (one message for both).
    #[error("wrong name or password")]
    BadCredentials,
    /// 403: the role may not do this, or the CSRF token is missing or wrong.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404: no such resource.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: the path exists, not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the change conflicts with the current state (exists already, last admin).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 422: a field has a bad value.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field named in the answer.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// 429: too many failed logins; retry after this many seconds.
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    TooManyAttempts {
        /// Seconds until the lock ends (`Retry-After`).
        retry_after_secs: u64,
    },
    /// 422 with a structured detail (e.g. every error of a rejected dialplan).
    #[error("{error}")]
    Unprocessable {
        /// The short message.
        error: &'static str,
        /// What is wrong, as JSON.
        detail: Value,
    },
    /// 503: the part of the switch this needs is not running (e.g. CDRs disabled).
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// 500: logged in full, answered as "internal error".
    #[error("internal error: {0}")]
    Internal(#[from] WebError),
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body: a short `error` and a `detail` (null, a string or an object).
    fn body(&self) -> Value {
        let (error, detail) = match self {
            ApiError::BadRequest(d) => ("bad request", json!(d)),
            ApiError::Unauthorized => ("login required", Value::Null),
            ApiError::BadCredentials => ("wrong name or password", Value::Null),
            ApiError::Forbidden(d) => ("forbidden", json!(d)),
            ApiError::NotFound(d) => ("not found", json!(d)),
            ApiError::MethodNotAllowed => ("method not allowed", Value::Null),
            ApiError::Conflict(d) => ("conflict", json!(d)),
            ApiError::Invalid { field, message } => (
                "invalid input",
                json!({ "field": field, "message": format!("{field}: {message}") }),
            ),
            ApiError::TooManyAttempts { retry_after_secs } => (
                "too many failed logins",
                json!({ "retry_after_secs": retry_after_secs }),
            ),
            ApiError::Unprocessable { error, detail } => (*error, detail.clone()),
            ApiError::Unavailable(d) => ("unavailable", json!(d)),
            ApiError::Internal(_) => ("internal error", Value::Null),
        };
        json!({ "error": error, "detail": detail })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = %e, "web API request failed");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let ApiError::TooManyAttempts { retry_after_secs } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        ApiError::Internal(WebError::Db(e))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        ApiError::Internal(WebError::Query(e))
    }
}
