//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the JSON API, generated from
//! the handlers' `#[utoipa::path]` annotations and their body types' `ToSchema` derives
//! (utoipa), served behind login like every API call.
//!
//! Security is set here, not in each annotation, so the document cannot drift from
//! [`crate::web::auth::require_login`]: an operation without its own `security(...)` gets
//! "session cookie `sb_session`, or bearer token", and a state-changing one (POST, PUT,
//! PATCH, DELETE) "session cookie + `X-CSRF-Token` header, or bearer token". Login says
//! `security(())` (open).
//!
//! Depends on: the sibling handler modules (their `__path_*` items and schema types),
//! `crate::web::store` (schemas), utoipa, axum.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::web::auth::Principal;
use crate::web::store::{Account, ApiToken, AuditEntry, Role};
use crate::web::WebState;

/// Name of the session-cookie security scheme.
const SESSION: &str = "session";
/// Name of the CSRF-header security scheme (paired with [`SESSION`] on changes).
const CSRF: &str = "csrf";
/// Name of the bearer-token security scheme.
const BEARER: &str = "bearer";

/// The body of every error answer: `{"error": "...", "detail": ...}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// A short message (`login required`, `invalid input`, `not found`, ...).
    pub(crate) error: String,
    /// Null, a string, or an object (for 422: `{field, message}`; for a rejected dialplan:
    /// `{errors: [...]}`).
    pub(crate) detail: serde_json::Value,
}

/// The document: every annotated handler and the schemas they name.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "switchboard admin API",
        description = "The JSON API of the switchboard web admin. Log in with `POST /api/v1/login` \
            (session cookie `sb_session`; send the returned `csrf_token` as `X-CSRF-Token` on \
            every POST/PUT/PATCH/DELETE) or use an API token (`Authorization: Bearer ...`). \
            Times are Unix milliseconds (UTC). Errors are `{\"error\", \"detail\"}`."
    ),
    paths(
        super::session::login,
        super::session::logout,
        super::session::me,
        super::accounts::list,
        super::accounts::create,
        super::accounts::update,
        super::accounts::delete,
        super::tokens::list,
        super::tokens::create,
        super::tokens::remove,
        super::audit::audit,
        super::status::status,
        super::calls::list,
        super::calls::hang_up,
        super::calls::calls_live,
        super::calls::cdr_live,
        super::registrations::list,
        super::extensions::list,
        super::extensions::show,
        super::extensions::create,
        super::extensions::update,
        super::extensions::reset_password,
        super::extensions::delete,
        super::gateways::list,
        super::gateways::show,
        super::gateways::create,
        super::gateways::update,
        super::gateways::delete,
        super::dialplan::overview,
        super::dialplan::file,
        super::dialplan::validate,
        super::dialplan::save,
        super::dialplan::create,
        super::dialplan::delete,
        super::cdr::legs,
        super::cdr::bridges,
        super::cdr::call,
        super::cdr::legs_csv,
        super::cdr::bridges_csv,
        super::reports::report,
        super::reports::chart,
        super::reports::today,
        openapi_json,
    ),
    components(schemas(
        ErrorBody,
        Role,
        Account,
        ApiToken,
        AuditEntry,
        super::session::LoginRequest,
        super::session::SessionAnswer,
        super::accounts::AccountList,
        super::accounts::NewAccount,
        super::accounts::AccountChange,
        super::accounts::CreatedAccount,
        super::tokens::TokenList,
        super::tokens::NewToken,
        super::tokens::CreatedToken,
        super::audit::AuditPage,
    )),
    modifiers(&Security),
    tags(
        (name = "session", description = "login, logout, who am I"),
        (name = "accounts", description = "admin accounts (admin role to change)"),
        (name = "tokens", description = "API tokens for scripts"),
        (name = "audit", description = "who changed what, when"),
        (name = "status", description = "version, uptime, calls, CDR pipeline, storage"),
        (name = "calls", description = "live calls (list, hang up, WebSocket feeds)"),
        (name = "registrations", description = "registered phones"),
        (name = "extensions", description = "SIP users (web-created ones are editable)"),
        (name = "gateways", description = "trunks and their health"),
        (name = "dialplan", description = "the dialplan files: read, validate, save, reload"),
        (name = "cdr", description = "call detail records: search, one call, CSV export"),
        (name = "reports", description = "answer rate, talk time, busiest, charts"),
        (name = "meta", description = "this document"),
    )
)]
struct ApiDoc;

/// Adds the security schemes and each operation's requirement (see the module docs).
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::web::auth::SESSION_COOKIE,
                "the session cookie set by POST /api/v1/login",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "the session's csrf_token (login answer, GET /api/v1/me); required with the \
                 cookie on POST, PUT, PATCH and DELETE",
            ))),
        );
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an API token (POST /api/v1/tokens)"))
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            for (op, changes) in [
                (&mut item.get, false),
                (&mut item.head, false),
                (&mut item.options, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ] {
                if let Some(op) = op.as_mut() {
                    require_login(op, changes);
                }
            }
        }
    }
}

/// Sets the login requirement of `op` unless its annotation gave one.
fn require_login(op: &mut Operation, changes: bool) {
    if op.security.is_some() {
        return;
    }
    let session = if changes {
        SecurityRequirement::new(SESSION, Vec::<String>::new()).add(CSRF, Vec::<String>::new())
    } else {
        SecurityRequirement::new(SESSION, Vec::<String>::new())
    };
    op.security = Some(vec![
        session,
        SecurityRequirement::new(BEARER, Vec::<String>::new()),
    ]);
}

/// The generated document.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as JSON, built once (it only depends on the code).
fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // Serialising plain structs and maps of strings cannot fail; an empty object would
        // show the bug at once.
        document().to_pretty_json().unwrap_or_else(|error| {
            tracing::error!(%error, "cannot serialise the OpenAPI document");
            "{}".to_owned()
        })
    })
}

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "this OpenAPI 3.1 document", content_type = "application/json"),
        (status = 401, description = "login required", body = ErrorBody),
    )
)]
async fn openapi_json(_caller: Principal) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
