//! The `/api/v1` routes, one router per resource merged here; every route but login sits
//! behind [`super::auth::require_login`].
//!
//! Depends on: `super::{auth, error, store, WebState}`, axum.

mod accounts;
mod audit;
mod session;
mod status;
mod tokens;

use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::Router;

use super::auth::require_login;
use super::error::ApiError;
use super::WebState;

/// The application: open routes, protected routes, a JSON 404 for everything else.
pub(super) fn router(state: WebState) -> Router {
    let protected = Router::new()
        .merge(session::protected_routes())
        .merge(status::routes())
        .merge(accounts::routes())
        .merge(tokens::routes())
        .merge(audit::routes())
        .route_layer(from_fn_with_state(state.clone(), require_login));
    Router::new()
        .merge(session::open_routes())
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}
