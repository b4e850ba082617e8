//! `GET/POST /api/v1/accounts`, `PUT/DELETE /api/v1/accounts/{name}`. Changes are for
//! admins only, audited, and never leave the system without an admin (409).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::web::accounts::{check_name, check_password};
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{AdminOnly, JsonBody, Principal, Via};
use crate::web::error::ApiError;
use crate::web::store::{Account, Change, Role};
use crate::web::WebState;

/// `GET /api/v1/accounts` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccountList {
    /// Every admin account, by name.
    accounts: Vec<Account>,
}

/// `POST /api/v1/accounts` body (documentation: read field by field, a 422 names the field).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct NewAccount {
    /// 1-64 letters, digits, `.`, `_`, `-`.
    name: String,
    /// At least 12 characters.
    password: String,
    /// Default `viewer`.
    role: Option<Role>,
}

/// `PUT /api/v1/accounts/{name}` body: at least one of the two.
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct AccountChange {
    /// The new role (the last admin cannot be demoted: 409).
    role: Option<Role>,
    /// A new password (other sessions of the account are closed).
    password: Option<String>,
}

/// `POST /api/v1/accounts` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedAccount {
    /// Account name.
    name: String,
    /// Its role.
    role: Role,
    /// Creation time, Unix ms.
    created: i64,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/accounts", get(list).post(create))
        .route("/api/v1/accounts/{name}", put(update).delete(delete))
}

#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    responses(
        (status = 200, description = "the admin accounts", body = AccountList),
        (status = 401, description = "login required", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<WebState>,
    _caller: Principal,
) -> Result<Json<AccountList>, ApiError> {
    let accounts = state.store().accounts().await?;
    Ok(Json(AccountList { accounts }))
}

fn password_field(body: &JsonBody) -> Result<Option<String>, ApiError> {
    let password = body.opt_string("password")?;
    if let Some(p) = &password {
        check_password(p).map_err(|m| ApiError::invalid("password", m))?;
    }
    Ok(password)
}

#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    request_body = NewAccount,
    responses(
        (status = 201, description = "created", body = CreatedAccount),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 409, description = "the account exists", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    body: JsonBody,
) -> Result<Response, ApiError> {
    body.only(&["name", "password", "role"])?;
    let name = body.string("name")?;
    check_name(&name).map_err(|m| ApiError::invalid("name", m))?;
    let password =
        password_field(&body)?.ok_or_else(|| ApiError::invalid("password", "required"))?;
    let role = body.opt_role("role")?.unwrap_or(Role::Viewer);
    let hash = state.passwords().hash(&password).await?;
    let now = state.now_ms();
    if !state
        .store()
        .create_account(&name, &hash, role, now)
        .await?
    {
        return Err(ApiError::Conflict(format!("account {name} exists")));
    }
    state
        .store()
        .audit(
            now,
            &caller.actor(),
            "account.create",
            &name,
            json!({ "role": role }),
        )
        .await?;
    let created = CreatedAccount {
        name,
        role,
        created: now,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    put,
    path = "/api/v1/accounts/{name}",
    tag = "accounts",
    params(("name" = String, Path, description = "account name")),
    request_body = AccountChange,
    responses(
        (status = 200, description = "the changed account", body = Account),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such account", body = ErrorBody),
        (status = 409, description = "the last admin cannot be demoted", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
    )
)]
async fn update(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<Account>, ApiError> {
    body.only(&["role", "password"])?;
    let role = body.opt_role("role")?;
    let password = password_field(&body)?;
    if role.is_none() && password.is_none() {
        return Err(ApiError::invalid(
            "role",
            "give a role or a password to change",
        ));
    }
    let hash = match &password {
        Some(p) => Some(state.passwords().hash(p).await?),
        None => None,
    };
    match state
        .store()
        .update_account(&name, role, hash.as_deref())
        .await?
    {
        Change::Done => {}
        Change::NotFound => return Err(ApiError::NotFound(format!("account {name}"))),
        Change::LastAdmin => {
            return Err(ApiError::Conflict(format!(
                "{name} is the last admin and cannot be demoted"
            )))
        }
    }
    if password.is_some() {
        // Other browsers logged in as this account must log in again.
        let keep = match &caller.via {
            Via::Session { id, .. } if caller.name == name => Some(id.as_str()),
            _ => None,
        };
        state.sessions().remove_account(&name, keep);
    }
    let detail = json!({ "role": role, "password_changed": password.is_some() });
    state
        .audit(&caller.actor(), "account.update", &name, detail)
        .await?;
    let account = state
        .store()
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("account {name}")))?;
    Ok(Json(account))
}

#[utoipa::path(
    delete,
    path = "/api/v1/accounts/{name}",
    tag = "accounts",
    params(("name" = String, Path, description = "account name")),
    responses(
        (status = 204, description = "deleted; its sessions are closed"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such account", body = ErrorBody),
        (status = 409, description = "the last admin cannot be deleted", body = ErrorBody),
    )
)]
async fn delete(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.store().delete_account(&name).await? {
        Change::Done => {}
        Change::NotFound => return Err(ApiError::NotFound(format!("account {name}"))),
        Change::LastAdmin => {
            return Err(ApiError::Conflict(format!(
                "{name} is the last admin and cannot be deleted"
            )))
        }
    }
    state.sessions().remove_account(&name, None);
    state
        .audit(&caller.actor(), "account.delete", &name, json!({}))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
