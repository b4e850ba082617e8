//! `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`. The secret is in the creation
//! answer only; the database keeps its SHA-256.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::web::accounts::check_name;
use crate::web::auth::{AdminOnly, JsonBody, Principal};
use crate::web::error::ApiError;
use crate::web::password::{new_api_token, token_digest};
use crate::web::store::Role;
use crate::web::WebState;

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", delete(remove))
}

async fn list(State(state): State<WebState>, _caller: Principal) -> Result<Json<Value>, ApiError> {
    let tokens = state.store().tokens().await?;
    Ok(Json(json!({ "tokens": tokens })))
}

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
    let created = json!({ "id": id, "name": name, "role": role, "created": now, "token": secret });
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

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
        .store()
        .audit(
            state.now_ms(),
            &caller.actor(),
            "token.delete",
            &id.to_string(),
            json!({}),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
