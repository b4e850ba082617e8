//! The dialplan editor: `GET /api/v1/dialplan` (the directory, the running generation),
//! `GET/PUT/DELETE /api/v1/dialplan/files/{name}`, `POST /api/v1/dialplan/files` (create)
//! and `POST /api/v1/dialplan/validate` (check a candidate without writing).
//!
//! A change is checked as the loader would see the directory after it: the candidate file
//! replaces (or joins, or leaves) the directory's set in memory and the whole set is
//! parsed. Invalid: 422 `{"error":"invalid dialplan","detail":{"errors":[{file,line,col,
//! message}]}}`, nothing written, the running dialplan kept. Valid: written atomically, then
//! [`Reloader::reload`]`("web")`. Should that reload still reject the directory (another
//! edit on disk in between), the change is undone on disk and the answer is that 422.
//!
//! ```text
//!  lock saves ─► read set ─► candidate ─► parse ─errors─► 422 (nothing written)
//!                                           │ ok
//!                                           ▼
//!                        write atomically ─► reload("web") ─rejected─► undo ─► 422
//!                                                │ reloaded
//!                                                ▼
//!                                     audit dialplan.save/create/delete ─► 200/201/204
//! ```
//!
//! Changes are for admins (viewers 403) and serialised by one lock; reading and validating
//! are open to every logged-in caller. Without a running dialplan (`services().dialplan` is
//! `None`): 503.
//!
//! Depends on: `crate::dialplan::{Reloader, ReloadReply}`, `super::cdr::DataState` (the
//! lock), `super::super::{auth, error}`, axum, tokio (`spawn_blocking`), utoipa.

mod change;
mod files;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use self::change::{Applied, Change};
use self::files::{FileError, FileInfo, Problem, MAX_FILE_BYTES};
use crate::dialplan::{ReloadSummary, Reloader};
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{AdminOnly, JsonBody, Principal};
use crate::web::error::{ApiError, WebError};
use crate::web::WebState;

/// `GET /api/v1/dialplan` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DialplanOverview {
    /// The directory the dialplan is read from.
    dir: String,
    /// Generation of the dialplan in force (+1 per successful reload).
    generation: u64,
    /// Contexts in the dialplan in force.
    contexts: usize,
    /// Extensions over all its contexts.
    extensions: usize,
    /// The `*.conf` files, in load order.
    files: Vec<FileInfo>,
}

/// `GET /api/v1/dialplan/files/{name}` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DialplanFile {
    /// The file name.
    name: String,
    /// Its text.
    content: String,
}

/// `POST /api/v1/dialplan/validate` body (documentation: read field by field).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct ValidateRequest {
    /// The file the candidate stands for (`[A-Za-z0-9_.-]+.conf`; a new name adds a file).
    name: String,
    /// The candidate text.
    content: String,
}

/// `POST /api/v1/dialplan/validate` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Validation {
    /// Whether the directory with the candidate loads.
    ok: bool,
    /// Every problem (empty when `ok`).
    errors: Vec<Problem>,
}

/// `PUT /api/v1/dialplan/files/{name}` body (documentation).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct SaveRequest {
    /// The new text (at most 1 MiB).
    content: String,
}

/// `POST /api/v1/dialplan/files` body (documentation).
#[derive(ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct CreateRequest {
    /// The new file's name (`[A-Za-z0-9_.-]+.conf`).
    name: String,
    /// Its text (at most 1 MiB).
    content: String,
}

/// Answer of a save or a creation: the file and the dialplan now in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Saved {
    /// The file name.
    name: String,
    /// Its size in bytes.
    size: usize,
    /// Generation of the reloaded dialplan.
    generation: u64,
    /// Its contexts.
    contexts: usize,
    /// Its extensions.
    extensions: usize,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/dialplan", get(overview))
        .route("/api/v1/dialplan/validate", post(validate))
        .route("/api/v1/dialplan/files", post(create))
        .route(
            "/api/v1/dialplan/files/{name}",
            put(save).get(file).delete(delete),
        )
}

/// The running dialplan's reloader; 503 without one.
fn reloader(state: &WebState) -> Result<&Reloader, ApiError> {
    state
        .services()
        .dialplan
        .as_ref()
        .ok_or(ApiError::Unavailable("no dialplan is running"))
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(WebError::Task(e)))?
        .map_err(internal)
}

fn internal(e: FileError) -> ApiError {
    ApiError::Internal(WebError::File {
        path: e.path,
        source: e.source,
    })
}

/// A checked file name from the path or body (422 naming `name`).
fn name_field(name: &str) -> Result<(), ApiError> {
    files::check_name(name).map_err(|m| ApiError::invalid("name", m))
}

/// The `content` field (422 naming it when missing, not a string or too large).
fn content_field(body: &JsonBody) -> Result<String, ApiError> {
    let content = body.string("content")?;
    if content.len() > MAX_FILE_BYTES {
        return Err(ApiError::invalid("content", "larger than 1 MiB"));
    }
    Ok(content)
}

#[utoipa::path(
    get,
    path = "/api/v1/dialplan",
    tag = "dialplan",
    responses(
        (status = 200, description = "the dialplan directory and the generation in force", body = DialplanOverview),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 503, description = "no dialplan is running", body = ErrorBody),
    )
)]
pub(super) async fn overview(
    State(state): State<WebState>,
    _caller: Principal,
) -> Result<Json<DialplanOverview>, ApiError> {
    let reloader = reloader(&state)?;
    let dir = reloader.dir().to_owned();
    let summary = reloader.live().summary();
    let listed = dir.clone();
    let files = blocking(move || files::list(&listed)).await?;
    Ok(Json(DialplanOverview {
        dir: dir.display().to_string(),
        generation: summary.generation,
        contexts: summary.contexts,
        extensions: summary.extensions,
        files,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/dialplan/files/{name}",
    tag = "dialplan",
    params(("name" = String, Path, description = "file name, `[A-Za-z0-9_.-]+.conf`")),
    responses(
        (status = 200, description = "the file's text", body = DialplanFile),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 404, description = "no such file", body = ErrorBody),
        (status = 422, description = "not a dialplan file name", body = ErrorBody),
        (status = 503, description = "no dialplan is running", body = ErrorBody),
    )
)]
pub(super) async fn file(
    State(state): State<WebState>,
    _caller: Principal,
    Path(name): Path<String>,
) -> Result<Json<DialplanFile>, ApiError> {
    name_field(&name)?;
    let dir = reloader(&state)?.dir().to_owned();
    let wanted = name.clone();
    let read = tokio::task::spawn_blocking(move || files::read(&dir, &wanted))
        .await
        .map_err(|e| ApiError::Internal(WebError::Task(e)))?;
    match read {
        Ok(content) => Ok(Json(DialplanFile { name, content })),
        Err(e) if e.not_found() => Err(ApiError::NotFound(format!("dialplan file {name}"))),
        Err(e) => Err(internal(e)),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/dialplan/validate",
    tag = "dialplan",
    request_body = ValidateRequest,
    responses(
        (status = 200, description = "whether the directory with this candidate loads, and every problem", body = Validation),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "missing X-CSRF-Token", body = ErrorBody),
        (status = 422, description = "a field is bad (named in `detail.field`)", body = ErrorBody),
        (status = 503, description = "no dialplan is running", body = ErrorBody),
    )
)]
pub(super) async fn validate(
    State(state): State<WebState>,
    _caller: Principal,
    body: JsonBody,
) -> Result<Json<Validation>, ApiError> {
    body.only(&["name", "content"])?;
    let name = body.string("name")?;
    name_field(&name)?;
    let content = content_field(&body)?;
    let dir = reloader(&state)?.dir().to_owned();
    let errors = blocking(move || {
        let mut set = files::read_set(&dir)?;
        set.put(&name, &content);
        Ok(set.problems())
    })
    .await?;
    Ok(Json(Validation {
        ok: errors.is_empty(),
        errors,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/dialplan/files/{name}",
    tag = "dialplan",
    params(("name" = String, Path, description = "file name, `[A-Za-z0-9_.-]+.conf`")),
    request_body = SaveRequest,
    responses(
        (status = 200, description = "written and reloaded", body = Saved),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such file", body = ErrorBody),
        (status = 422, description = "a bad field, or `invalid dialplan` with `detail.errors` [{file, line, col, message}] (nothing written)", body = ErrorBody),
        (status = 503, description = "no dialplan is running", body = ErrorBody),
    )
)]
pub(super) async fn save(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(name): Path<String>,
    body: JsonBody,
) -> Result<Json<Saved>, ApiError> {
    name_field(&name)?;
    body.only(&["content"])?;
    let content = content_field(&body)?;
    let size = content.len();
    let change = Change::Save {
        name: name.clone(),
        content,
    };
    let applied = apply(&state, change).await?;
    let detail = json!({
        "bytes_before": applied.before,
        "bytes_after": size,
        "generation": applied.summary.generation,
    });
    state
        .audit(&caller.actor(), "dialplan.save", &name, detail)
        .await?;
    Ok(Json(saved(name, size, &applied.summary)))
}

#[utoipa::path(
    post,
    path = "/api/v1/dialplan/files",
    tag = "dialplan",
    request_body = CreateRequest,
    responses(
        (status = 201, description = "created and reloaded", body = Saved),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 409, description = "the file exists", body = ErrorBody),
        (status = 422, description = "a bad field, or `invalid dialplan` with `detail.errors` (nothing written)", body = ErrorBody),
        (status = 503, description = "no dialplan is running", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    body: JsonBody,
) -> Result<Response, ApiError> {
    body.only(&["name", "content"])?;
    let name = body.string("name")?;
    name_field(&name)?;
    let content = content_field(&body)?;
    let size = content.len();
    let change = Change::Create {
        name: name.clone(),
        content,
    };
    let applied = apply(&state, change).await?;
    let detail = json!({ "bytes": size, "generation": applied.summary.generation });
    state
        .audit(&caller.actor(), "dialplan.create", &name, detail)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(saved(name, size, &applied.summary)),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/dialplan/files/{name}",
    tag = "dialplan",
    params(("name" = String, Path, description = "file name, `[A-Za-z0-9_.-]+.conf`")),
    responses(
        (status = 204, description = "removed and reloaded"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing X-CSRF-Token", body = ErrorBody),
        (status = 404, description = "no such file", body = ErrorBody),
        (status = 422, description = "the last file, or `invalid dialplan` without it (nothing removed)", body = ErrorBody),
        (status = 503, description = "no dialplan is running", body = ErrorBody),
    )
)]
pub(super) async fn delete(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    name_field(&name)?;
    let applied = apply(&state, Change::Delete { name: name.clone() }).await?;
    let detail = json!({
        "bytes_before": applied.before,
        "generation": applied.summary.generation,
    });
    state
        .audit(&caller.actor(), "dialplan.delete", &name, detail)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Applies `change` to the running dialplan's directory under the saves lock.
async fn apply(state: &WebState, change: Change) -> Result<Applied, ApiError> {
    let reloader = reloader(state)?;
    let _one_at_a_time = state.inner.data.dialplan_saves().lock().await;
    change::apply(reloader.dir().to_owned(), change, || reloader.reload("web")).await
}

fn saved(name: String, size: usize, summary: &ReloadSummary) -> Saved {
    Saved {
        name,
        size,
        generation: summary.generation,
        contexts: summary.contexts,
        extensions: summary.extensions,
    }
}
