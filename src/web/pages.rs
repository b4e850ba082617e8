//! The browser UI's pages: `GET /` (to `/ui/`), `GET /login` (the login page), `GET /ui/`
//! and `GET /ui/{*rest}` (the single-page app's shell, for a logged-in browser; else a 302
//! to `/login?next=<path>`), and `GET /assets/{*path}` (the embedded files of `web/`, see
//! [`assets`]). The app itself is plain ES modules that route with the History API under
//! `/ui/` and talk only to the JSON API.
//!
//! Every answer carries the security headers of [`security_headers`]: a Content-Security-
//! Policy allowing only this origin (no inline script or style anywhere in `web/`),
//! `nosniff`, `Referrer-Policy: same-origin` and `X-Frame-Options: DENY`.
//!
//! Depends on: `super::{auth, error, WebState}`, axum.

#[path = "assets.rs"]
mod assets;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::auth::principal;
use super::error::ApiError;
use super::WebState;

/// Where the app lives, and where a login goes by default.
const APP_ROOT: &str = "/ui/";

/// The Content-Security-Policy of every page: this origin only (WebSockets to the same
/// host included; images also from `blob:`, the charts fetched by script), no inline
/// script or style, no framing, forms post only here.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Routes served without the API's login middleware (they check what they need themselves).
pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(|| async { found(APP_ROOT) }))
        .route("/ui", get(|| async { found(APP_ROOT) }))
        .route("/login", get(login_page))
        .route("/ui/", get(app_shell))
        .route("/ui/{*rest}", get(app_shell))
        .route("/assets/{*path}", get(asset))
        .layer(map_response(security_headers))
}

/// Adds the security headers to every answer of these routes.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let opener = HeaderName::from_static("cross-origin-opener-policy");
    headers.insert(opener, HeaderValue::from_static("same-origin"));
    response
}

/// A 302 to `target` (a path on this server).
fn found(target: &str) -> Response {
    match HeaderValue::from_str(target) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => ApiError::BadRequest("unusable redirect target".into()).into_response(),
    }
}

/// An HTML page from the embedded files, never cached (it is the entry point).
fn html(path: &str) -> Response {
    match assets::find(path) {
        Some((asset, _)) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => ApiError::NotFound(path.to_owned()).into_response(),
    }
}

/// `next` when it is a path inside the app (no open redirect to another site), else the
/// app's root.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if (n == "/ui" || n.starts_with(APP_ROOT))
                && !n.contains(['\\', '\r', '\n'])
                && !n.contains("//") =>
        {
            n
        }
        _ => APP_ROOT,
    }
}

/// Percent-encodes a path and query for use as one query parameter value.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `GET /login`: the login page; a browser already logged in goes on to `next`.
async fn login_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if principal(&state, &headers).await.is_ok() {
        let next = safe_next(query.get("next").map(String::as_str));
        return found(next);
    }
    html("login.html")
}

/// `GET /ui/...`: the app's shell for a logged-in browser, else to the login page.
async fn app_shell(State(state): State<WebState>, headers: HeaderMap, uri: Uri) -> Response {
    match principal(&state, &headers).await {
        Ok(_) => html("app.html"),
        Err(ApiError::Unauthorized) => {
            let here = uri.path_and_query().map_or(APP_ROOT, |p| p.as_str());
            let target = format!("/login?next={}", encode_component(safe_next(Some(here))));
            found(&target)
        }
        Err(other) => other.into_response(),
    }
}

/// `GET /assets/{*path}`: an embedded file (304 when unchanged), or a JSON 404.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    assets::response(&path, &headers)
        .unwrap_or_else(|| ApiError::NotFound(format!("/assets/{path}")).into_response())
}

#[cfg(test)]
#[path = "pages_tests.rs"]
mod tests;
