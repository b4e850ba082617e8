//! `/api/v1/extensions`: the SIP users (extensions) of the registrar's realm. Listing is for
//! every logged-in account; changes are for admins, audited (never with the password), and
//! take effect at once through the registrar's in-memory directory
//! ([`crate::sip::registrar::Registrar::add_user`] and friends) while persisting in
//! `switchboard.db` (`users`, origin `web`). Extensions of the configuration files (origin
//! `config`) are read-only here: 409, edit the file.
//!
//! Passwords are stored only as HA1 digests (MD5 and SHA-256, realm = the registrar's).
//! Well-known or weak passwords ([`crate::config::weak_password`]) are refused with a 422
//! naming `password`; without a password a random one is generated and returned once.
//!
//! Depends on: `crate::sip::registrar`, `crate::db::users`, `crate::config` (number and
//! password rules), `crate::web::{auth, error, password}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::config::{valid_number, weak_password};
use crate::db::users::{UserRecord, ORIGIN_CONFIG, ORIGIN_WEB};
use crate::sip::auth::{ha1, Algorithm};
use crate::sip::registrar::Registrar;
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{AdminOnly, JsonBody, Principal};
use crate::web::error::ApiError;
use crate::web::password::random_password;
use crate::web::WebState;

/// Longest SIP password accepted (digest input; phones rarely take more).
const MAX_PASSWORD_LEN: usize = 128;

/// Longest display name accepted (caller-ID name).
const MAX_DISPLAY_NAME_LEN: usize = 64;

/// One extension as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ExtensionView {
    /// The number (1 to 32 digits), also the SIP user name.
    number: String,
    /// Caller-ID name, if set.
    display_name: Option<String>,
    /// `config` (sip-profiles/*.toml, read-only here) or `web`.
    origin: String,
    /// Whether this API may change or delete it (origin `web`).
    editable: bool,
    /// Accepted from loopback addresses only (configured well-known passwords).
    loopback_only: bool,
    /// Current (unexpired) registrations.
    registrations: usize,
}

/// `GET /api/v1/extensions` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExtensionList {
    /// Every extension, by number.
    extensions: Vec<ExtensionView>,
}

/// `POST /api/v1/extensions` answer: the extension and its password, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedExtension {
    /// The extension.
    #[serde(flatten)]
    extension: ExtensionView,
    /// The SIP password (generated when none was given); not retrievable later.
    password: String,
}

/// `POST /api/v1/extensions/{number}/password` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PasswordAnswer {
    /// The new SIP password (generated when none was given); not retrievable later.
    password: String,
}

/// `POST /api/v1/extensions` body (documentation: read field by field, a 422 names the field).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct NewExtension {
    /// 1 to 32 digits, not yet used.
    number: String,
    /// 8 to 128 characters, not well known (not the number, not `pw<digits>`, not a common
    /// password); omitted: a random one is generated and returned.
    password: Option<String>,
    /// Caller-ID name, up to 64 characters.
    display_name: Option<String>,
}

/// `PUT /api/v1/extensions/{number}` body: at least one of the two.
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct ExtensionChange {
    /// New caller-ID name; `""` removes it.
    display_name: Option<String>,
    /// New SIP password (same rules as on creation).
    password: Option<String>,
}

/// `POST /api/v1/extensions/{number}/password` body.
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct PasswordReset {
    /// The new password; omitted: a random one is generated and returned.
    password: Option<String>,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/extensions", get(list).post(create))
        .route(
            "/api/v1/extensions/{number}",
            get(show).put(update).delete(delete),
        )
        .route("/api/v1/extensions/{number}/password", post(reset_password))
}

fn registrar(state: &WebState) -> Result<Arc<Registrar>, ApiError> {
    state
        .services()
        .registrar
        .clone()
        .ok_or(ApiError::Unavailable("the registrar is not running"))
}

fn view(registrar: &Registrar, user: &UserRecord) -> ExtensionView {
    ExtensionView {
        number: user.username.clone(),
        display_name: user.display_name.clone(),
        origin: user.origin.clone(),
        editable: user.origin != ORIGIN_CONFIG,
        loopback_only: user.loopback_only,
        registrations: registrar.registration_count(&user.username),
    }
}

fn config_conflict(number: &str) -> ApiError {
    ApiError::Conflict(format!(
        "extension {number} is defined in sip-profiles/*.toml; edit the file"
    ))
}

/// The web-created user `number`: 404 when absent, 409 when it comes from the config.
fn editable_user(registrar: &Registrar, number: &str) -> Result<Arc<UserRecord>, ApiError> {
    let user = registrar
        .user_record(number)
        .ok_or_else(|| not_found(number))?;
    if user.origin == ORIGIN_CONFIG {
        return Err(config_conflict(number));
    }
    Ok(user)
}

/// Checks a SIP password for extension `number` (422 naming `password`).
fn check_sip_password(number: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(ApiError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "password",
            "must not contain control characters",
        ));
    }
    if let Some(why) = weak_password(number, password) {
        return Err(ApiError::invalid(
            "password",
            format!("is well known or weak ({why}); choose another or omit it to get a random one"),
        ));
    }
    Ok(())
}

/// The password given in `body` (checked), else a generated one.
fn password_or_random(body: &JsonBody, number: &str) -> Result<String, ApiError> {
    match body.opt_string("password")? {
        Some(p) => {
            check_sip_password(number, &p)?;
            Ok(p)
        }
        None => Ok(random_password()?),
    }
}

/// The `display_name` of `body`: `None` absent, `Some(None)` to remove it.
fn display_name_field(body: &JsonBody) -> Result<Option<Option<String>>, ApiError> {
    let Some(name) = body.opt_string("display_name")? else {
        return Ok(None);
    };
    let name = name.trim();
    if name.chars().count() > MAX_DISPLAY_NAME_LEN {
        return Err(ApiError::invalid(
            "display_name",
            format!("must be at most {MAX_DISPLAY_NAME_LEN} characters"),
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(ApiError::invalid(
            "display_name",
            "must not contain control characters, '\"' or '\\'",
        ));
    }
    Ok(Some((!name.is_empty()).then(|| name.to_owned())))
}

/// `user` with the digests of `password` in `realm`.
fn with_password(mut user: UserRecord, password: &str) -> UserRecord {
    user.ha1_md5 = ha1(Algorithm::Md5, &user.username, &user.realm, password);
    user.ha1_sha256 = ha1(Algorithm::Sha256, &user.username, &user.realm, password);
    user
}

#[utoipa::path(
    get,
    path = "/api/v1/extensions",
    tag = "extensions",
    responses(
        (status = 200, description = "every extension", body = ExtensionList),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 503, description = "no registrar (web admin without a switch)", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<WebState>,
    _caller: Principal,
) -> Result<Json<ExtensionList>, ApiError> {
    let registrar = registrar(&state)?;
    let extensions = registrar
        .user_records()
        .iter()
        .map(|u| view(&registrar, u))
        .collect();
    Ok(Json(ExtensionList { extensions }))
}

#[utoipa::path(
    get,
    path = "/api/v1/extensions/{number}",
    tag = "extensions",
    params(("number" = String, Path, description = "extension number")),
    responses(
        (status = 200, description = "the extension", body = ExtensionView),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 404, description = "no such extension", body = ErrorBody),
        (status = 503, description = "no registrar", body = ErrorBody),
    )
)]
async fn show(
    State(state): State<WebState>,
    _caller: Principal,
    Path(number): Path<String>,
) -> Result<Json<ExtensionView>, ApiError> {
    let registrar = registrar(&state)?;
    let user = registrar
        .user_record(&number)
        .ok_or_else(|| not_found(&number))?;
    Ok(Json(view(&registrar, &user)))
}

#[utoipa::path(
    post,
    path = "/api/v1/extensions",
    tag = "extensions",
    request_body = NewExtension,
    responses(
        (status = 201, description = "created; the password is shown this once", body = CreatedExtension),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 409, description = "the number exists (in the config files or here)", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "no registrar", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    body: JsonBody,
) -> Result<Response, ApiError> {
    body.only(&["number", "password", "display_name"])?;
    let registrar = registrar(&state)?;
    let number = body.string("number")?;
    if !valid_number(&number) {
        return Err(ApiError::invalid("number", "must be 1 to 32 digits"));
    }
    let display_name = display_name_field(&body)?.flatten();
    let generated = body.opt_string("password")?.is_none();
    let password = password_or_random(&body, &number)?;
    if let Some(existing) = registrar.user_record(&number) {
        return Err(if existing.origin == ORIGIN_CONFIG {
            config_conflict(&number)
        } else {
            ApiError::Conflict(format!("extension {number} exists"))
        });
    }
    let user = UserRecord {
        realm: registrar.realm().to_owned(),
        username: number.clone(),
        display_name,
        ha1_md5: String::new(),
        ha1_sha256: String::new(),
        loopback_only: false,
        origin: ORIGIN_WEB.to_owned(),
    };
    let user = with_password(user, &password);
    if !registrar.add_user(user.clone()).await? {
        return Err(ApiError::Conflict(format!("extension {number} exists")));
    }
    state
        .audit(
            &caller.actor(),
            "extension.create",
            &number,
            json!({ "display_name": user.display_name, "password_generated": generated }),
        )
        .await?;
    let created = CreatedExtension {
        extension: view(&registrar, &user),
        password,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/extensions/{number}",
    tag = "extensions",
    params(("number" = String, Path, description = "extension number")),
    request_body = ExtensionChange,
    responses(
        (status = 200, description = "the changed extension", body = ExtensionView),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such extension", body = ErrorBody),
        (status = 409, description = "defined in the config files: edit the file", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "no registrar", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(number): Path<String>,
    body: JsonBody,
) -> Result<Json<ExtensionView>, ApiError> {
    body.only(&["display_name", "password"])?;
    let registrar = registrar(&state)?;
    editable_user(&registrar, &number)?;
    let display_name = display_name_field(&body)?;
    let password = body.opt_string("password")?;
    if let Some(p) = &password {
        check_sip_password(&number, p)?;
    }
    if display_name.is_none() && password.is_none() {
        return Err(ApiError::invalid(
            "display_name",
            "give a display_name or a password to change",
        ));
    }
    // Applied to the record as it is under the AOR lock: a concurrent reset or deletion
    // is never undone.
    let user = change_web_user(&registrar, &number, |mut user| {
        if let Some(name) = display_name {
            user.display_name = name;
        }
        match &password {
            Some(p) => with_password(user, p),
            None => user,
        }
    })
    .await?;
    state
        .audit(
            &caller.actor(),
            "extension.update",
            &number,
            json!({ "display_name": user.display_name, "password_changed": password.is_some() }),
        )
        .await?;
    Ok(Json(view(&registrar, &user)))
}

#[utoipa::path(
    post,
    path = "/api/v1/extensions/{number}/password",
    tag = "extensions",
    params(("number" = String, Path, description = "extension number")),
    request_body = PasswordReset,
    responses(
        (status = 200, description = "the new password, shown this once", body = PasswordAnswer),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such extension", body = ErrorBody),
        (status = 409, description = "defined in the config files: edit the file", body = ErrorBody),
        (status = 422, description = "the password is weak or well known", body = ErrorBody),
        (status = 503, description = "no registrar", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(number): Path<String>,
    raw: Bytes,
) -> Result<Json<PasswordAnswer>, ApiError> {
    let body = optional_body(&raw)?;
    body.only(&["password"])?;
    let registrar = registrar(&state)?;
    editable_user(&registrar, &number)?;
    let generated = body.opt_string("password")?.is_none();
    let password = password_or_random(&body, &number)?;
    change_web_user(&registrar, &number, |user| with_password(user, &password)).await?;
    state
        .audit(
            &caller.actor(),
            "extension.password",
            &number,
            json!({ "password_generated": generated }),
        )
        .await?;
    Ok(Json(PasswordAnswer { password }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/extensions/{number}",
    tag = "extensions",
    params(("number" = String, Path, description = "extension number")),
    responses(
        (status = 204, description = "deleted; its registrations are dropped"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such extension", body = ErrorBody),
        (status = 409, description = "defined in the config files: edit the file", body = ErrorBody),
        (status = 503, description = "no registrar", body = ErrorBody),
    )
)]
async fn delete(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    let registrar = registrar(&state)?;
    editable_user(&registrar, &number)?;
    let dropped = registrar
        .remove_user(&number)
        .await?
        .ok_or_else(|| not_found(&number))?;
    state
        .audit(
            &caller.actor(),
            "extension.delete",
            &number,
            json!({ "registrations_dropped": dropped }),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A JSON object body that may be empty (`POST .../password` without a body generates).
fn optional_body(raw: &[u8]) -> Result<JsonBody, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(JsonBody::default());
    }
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(JsonBody(map)),
        Ok(_) => Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!("the body is not JSON: {e}"))),
    }
}

fn not_found(number: &str) -> ApiError {
    ApiError::NotFound(format!("extension {number}"))
}

/// Changes the web extension `number` as it is under its AOR lock (a concurrent reset or
/// deletion is never undone): 404 when it is gone, 409 when the config files define it.
async fn change_web_user(
    registrar: &Registrar,
    number: &str,
    change: impl FnOnce(UserRecord) -> UserRecord,
) -> Result<UserRecord, ApiError> {
    registrar
        .update_user(number, |current| {
            if current.origin == ORIGIN_CONFIG {
                return Err(config_conflict(number));
            }
            Ok(change(current.clone()))
        })
        .await?
        .ok_or_else(|| not_found(number))
}
