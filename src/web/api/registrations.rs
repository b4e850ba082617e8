//! `GET /api/v1/registrations`: the phones registered now (every unexpired binding of
//! every extension), read from the registrar's memory (no SQL).
//!
//! Depends on: `crate::sip::registrar` ([`crate::sip::registrar::Registrar::bindings`]),
//! `crate::web::{auth, error}`, axum.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::unix_ms;
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::Principal;
use crate::web::error::ApiError;
use crate::web::WebState;

/// One registered contact.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct RegistrationView {
    /// The extension (user name).
    pub(crate) extension: String,
    /// Its address-of-record (`sip:1001@example.com`).
    pub(crate) aor: String,
    /// The registered Contact URI.
    pub(crate) contact: String,
    /// The phone's User-Agent, if it sent one.
    pub(crate) user_agent: Option<String>,
    /// `udp`, `tcp` or `tls`: what the REGISTER came over.
    pub(crate) transport: String,
    /// The address the REGISTER came from (`ip:port`; where a NATed phone is reached).
    pub(crate) source: String,
    /// When the binding lapses unless refreshed, Unix ms.
    pub(crate) expires_ms: i64,
    /// Whole seconds left.
    pub(crate) expires_in_s: u64,
}

/// `GET /api/v1/registrations` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationList {
    /// By extension, then contact.
    pub(crate) registrations: Vec<RegistrationView>,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/api/v1/registrations", get(list))
}

#[utoipa::path(
    get,
    path = "/api/v1/registrations",
    tag = "registrations",
    responses(
        (status = 200, description = "the registered contacts", body = RegistrationList),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 503, description = "no registrar behind the web server", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<WebState>,
    _caller: Principal,
) -> Result<Json<RegistrationList>, ApiError> {
    let Some(registrar) = &state.services().registrar else {
        return Err(ApiError::Unavailable(
            "no registrar (the switch is not running)",
        ));
    };
    let now = SystemTime::now();
    let registrations = registrar
        .bindings(now)
        .into_iter()
        .map(|r| {
            let b = r.binding;
            RegistrationView {
                extension: r.extension,
                contact: b.contact.to_string(),
                user_agent: b.user_agent.clone(),
                transport: b.transport.as_str().to_ascii_lowercase(),
                source: b.source.to_string(),
                expires_ms: unix_ms(b.expires_at.max(UNIX_EPOCH)),
                expires_in_s: b.remaining(now),
                aor: b.aor,
            }
        })
        .collect();
    Ok(Json(RegistrationList { registrations }))
}

#[cfg(test)]
#[path = "registrations_tests.rs"]
mod tests;
