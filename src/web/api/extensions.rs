//! `/api/v1` routes for extensions (being built: issue 6, second part).

use axum::Router;

use crate::web::WebState;

pub(super) fn routes() -> Router<WebState> {
    Router::new()
}
