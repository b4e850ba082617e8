//! metrics (being built: issue 6, second part).

use axum::Router;

use super::WebState;

/// Routes served without the API's login middleware (they check what they need themselves).
pub(super) fn routes() -> Router<WebState> {
    Router::new()
}
