//! `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`. The secret is in the creation
//! answer only; the database keeps its SHA-256.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::web::accounts::check_name;
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{AdminOnly, JsonBody, Principal};
use crate::web::error::ApiError;
use crate::web::password::{new_api_token, token_digest};
use crate::web::store::{ApiToken, Role};
use crate::web::WebState;

/// `GET /api/v1/tokens` answer (no secrets).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenList {
    /// Every API token.
    tokens: Vec<ApiToken>,
}

/// `POST /api/v1/tokens` body (documentation: read field by field, a 422 names the field).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct NewToken {
    /// A label (1-64 letters, digits, `.`, `_`, `-`).
    name: String,
    /// Default `viewer`.
    role: Option<Role>,
}

/// `POST /api/v1/tokens` answer: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    /// Its id (for `DELETE /api/v1/tokens/{id}`).
    id: i64,
    /// The label.
    name: String,
    /// What it may do.
    role: Role,
    /// Creation time, Unix ms.
    created: i64,
    /// The secret, for `Authorization: Bearer <token>`.
    token: String,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", delete(remove))
}

#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "the API tokens (no secrets)", body = TokenList),
        (status = 401, description = "login required", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<WebState>,
    _caller: Principal,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.store().tokens().await?;
    Ok(Json(TokenList { tokens }))
}

#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = NewToken,
    responses(
        (status = 201, description = "created; the secret is shown this once", body = CreatedToken),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
    )
)]
async fn create(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    body: JsonBody,
) -> Result<Response, ApiError> {
    body.only(&["name", "role"])?;
    let name = body.string("name")?;
    check_name(&name).map_err(|m| ApiError::invalid("name", m))?;
    let role = body.opt_role("role")?.unwrap_or(Role::Viewer);
    let secret = new_api_token()?;
    let now = state.now_ms();
    let actor = caller.actor();
    let id = state
        .store()
        .create_token(&name, &token_digest(&secret), role, &actor, now)
        .await?;
    state
        .store()
        .audit(
            now,
            &actor,
            "token.create",
            &id.to_string(),
            json!({ "name": name, "role": role }),
        )
        .await?;
    let created = CreatedToken {
        id,
        name,
        role,
        created: now,
        token: secret,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    params(("id" = i64, Path, description = "token id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such token", body = ErrorBody),
        (status = 422, description = "the id is not an integer", body = ErrorBody),
    )
)]
async fn remove(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", "must be an integer"))?;
    if !state.store().delete_token(id).await? {
        return Err(ApiError::NotFound(format!("token {id}")));
    }
    state
        .audit(&caller.actor(), "token.delete", &id.to_string(), json!({}))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
