//! The `/api/v1` routes, one router per resource merged here; every route but login sits
//! behind [`super::auth::require_login`].
//!
//! Depends on: `super::{auth, error, store, WebState}`, axum.

mod accounts;
mod audit;
mod calls;
mod cdr;
mod dialplan;
mod extensions;
mod gateways;
mod openapi;
mod registrations;
mod reports;
mod session;
mod status;
mod tokens;

pub(super) use cdr::DataState;

use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::Router;

use super::auth::require_login;
use super::error::ApiError;
use super::WebState;

/// The application: `open` (routes that check what they need themselves: pages, assets,
/// metrics), login, the protected API, a JSON 404 for everything else.
pub(super) fn router(state: WebState, open: Router<WebState>) -> Router {
    let protected = Router::new()
        .merge(session::protected_routes())
        .merge(status::routes())
        .merge(accounts::routes())
        .merge(tokens::routes())
        .merge(audit::routes())
        .merge(calls::routes())
        .merge(registrations::routes())
        .merge(extensions::routes())
        .merge(gateways::routes())
        .merge(dialplan::routes())
        .merge(cdr::routes())
        .merge(reports::routes())
        .merge(openapi::routes())
        .route_layer(from_fn_with_state(state.clone(), require_login));
    Router::new()
        .merge(session::open_routes())
        .merge(open)
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
