//! The browser UI's static files: every file of `web/` (HTML, CSS, ES modules) embedded in
//! the binary at compile time with `include_bytes!`, so `switchboard run` serves the whole UI
//! with nothing on disk and no build step. Answers carry the right `Content-Type`, a strong
//! `ETag` (SHA-256 of the content, computed once on first use) and `Cache-Control: no-cache`
//! (the browser revalidates each time and gets a bodiless 304 while the file is unchanged —
//! the URLs carry no version, so a longer lifetime would serve stale modules after an
//! upgrade).
//!
//! Adding a file to `web/`: add its path to [`ASSETS`] (a unit test fails when a file of
//! `web/` is missing from the list).
//!
//! Depends on: axum (responses), ring (SHA-256).

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file.
#[derive(Debug)]
pub(super) struct Asset {
    /// Path under `web/` (and under `/assets/`), with `/` separators.
    pub(super) path: &'static str,
    /// The file's bytes.
    pub(super) bytes: &'static [u8],
}

/// Embeds `web/<path>` for each path given.
macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)),
        }),*]
    };
}

/// Every file served under `/assets/` (the two HTML pages are served by [`super::pages`]).
pub(super) static ASSETS: &[Asset] = embed![
    "login.html",
    "app.html",
    "favicon.svg",
    "css/app.css",
    "js/api.js",
    "js/app.js",
    "js/live.js",
    "js/login.js",
    "js/ui.js",
    "js/pages/admin.js",
    "js/pages/call.js",
    "js/pages/cdr.js",
    "js/pages/dashboard.js",
    "js/pages/dialplan.js",
    "js/pages/extensions.js",
    "js/pages/gateways.js",
    "js/pages/reports.js",
];

/// Files of `web/` that are documentation, not served.
#[cfg(test)]
pub(super) const NOT_SERVED: &[&str] = &["README.md"];

/// The quoted strong entity tag of each asset, in [`ASSETS`] order.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = ring::digest::digest(&ring::digest::SHA256, a.bytes);
                let hex: String = digest.as_ref()[..16]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

/// The asset at `path` (relative to `web/`) and its entity tag.
pub(super) fn find(path: &str) -> Option<(&'static Asset, &'static str)> {
    let index = ASSETS.iter().position(|a| a.path == path)?;
    Some((&ASSETS[index], etags()[index].as_str()))
}

/// The `Content-Type` for a file name, by extension.
pub(super) fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `If-None-Match` lists `etag` (weak comparison, RFC 9110 §13.1.2, or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The answer for `GET /assets/<path>`: the file, a 304 when the browser's copy is
/// current, or `None` when there is no such asset.
pub(super) fn response(path: &str, headers: &HeaderMap) -> Option<Response> {
    let (asset, etag) = find(path)?;
    let etag_value = HeaderValue::from_static(etag);
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if not_modified(headers, etag) {
        let headers = [(header::ETAG, etag_value), cache];
        return Some((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(asset.path)),
        ),
        (header::ETAG, etag_value),
        cache,
    ];
    Some((headers, asset.bytes).into_response())
}

#[cfg(test)]
#[path = "assets_tests.rs"]
mod tests;
