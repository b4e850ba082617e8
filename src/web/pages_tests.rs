//! Pages through the whole router with `oneshot`: redirects without a session, the shell
//! with one, assets with content type, ETag and 304, the security headers, a 404.

use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use tower::ServiceExt as _;

use crate::config::WebSettings;
use crate::db::Db;
use crate::switch::call::CallRegistry;
use crate::web::{router, PasswordPolicy, WebOptions, WebState};

struct App {
    state: WebState,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let state = WebState::new(options);
    state.ensure_admin().await.expect("admin");
    App { state, _dir: dir }
}

impl App {
    /// A session cookie of the first admin.
    fn cookie(&self) -> String {
        let (id, _) = self
            .state
            .sessions()
            .create("admin", Instant::now())
            .expect("session");
        format!("sb_session={id}")
    }

    async fn get(&self, uri: &str, headers: &[(header::HeaderName, &str)]) -> Response {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(k, *v);
        }
        let req = req.body(Body::empty()).expect("request");
        router(self.state.clone())
            .oneshot(req)
            .await
            .expect("infallible")
    }
}

fn header_of(res: &Response, name: header::HeaderName) -> &str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn body(res: Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[tokio::test]
async fn root_redirects_to_the_app() {
    let app = app().await;
    let res = app.get("/", &[]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header_of(&res, header::LOCATION), "/ui/");
}

#[tokio::test]
async fn app_without_session_redirects_to_login_with_next() {
    let app = app().await;
    let res = app.get("/ui/cdr/call/abc?x=1", &[]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        header_of(&res, header::LOCATION),
        "/login?next=/ui/cdr/call/abc%3Fx%3D1"
    );
    let res = app
        .get("/ui/", &[(header::COOKIE, "sb_session=not-a-session")])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header_of(&res, header::LOCATION), "/login?next=/ui/");
}

#[tokio::test]
async fn app_with_session_serves_the_shell_with_security_headers() {
    let app = app().await;
    let cookie = app.cookie();
    for path in ["/ui/", "/ui/extensions", "/ui/cdr/call/x-1"] {
        let res = app.get(path, &[(header::COOKIE, cookie.as_str())]).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&res, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        let csp = header_of(&res, header::CONTENT_SECURITY_POLICY);
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(header_of(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header_of(&res, header::X_FRAME_OPTIONS), "DENY");
        assert_eq!(header_of(&res, header::REFERRER_POLICY), "same-origin");
        assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-store");
        let html = body(res).await;
        assert!(html.contains("/assets/js/app.js"), "{html}");
    }
}

#[tokio::test]
async fn login_page_is_open_and_a_logged_in_browser_goes_on() {
    let app = app().await;
    let res = app.get("/login?next=/ui/cdr", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header_of(&res, header::CONTENT_SECURITY_POLICY).contains("default-src 'self'"));
    assert!(body(res).await.contains("/assets/js/login.js"));
    let cookie = app.cookie();
    let res = app
        .get("/login?next=/ui/cdr", &[(header::COOKIE, cookie.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header_of(&res, header::LOCATION), "/ui/cdr");
    // Not to another site.
    let res = app
        .get(
            "/login?next=//evil.example/ui/",
            &[(header::COOKIE, cookie.as_str())],
        )
        .await;
    assert_eq!(header_of(&res, header::LOCATION), "/ui/");
}

#[tokio::test]
async fn assets_have_type_etag_and_answer_304_when_unchanged() {
    let app = app().await;
    let res = app.get("/assets/js/app.js", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header_of(&res, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
    assert_eq!(header_of(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let etag = header_of(&res, header::ETAG).to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    assert!(!body(res).await.is_empty());

    let res = app
        .get(
            "/assets/js/app.js",
            &[(header::IF_NONE_MATCH, etag.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_of(&res, header::ETAG), etag);
    assert!(body(res).await.is_empty());

    let res = app
        .get("/assets/js/app.js", &[(header::IF_NONE_MATCH, "\"stale\"")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = app.get("/assets/css/app.css", &[]).await;
    assert_eq!(
        header_of(&res, header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );
}

#[tokio::test]
async fn unknown_asset_is_a_json_404() {
    let app = app().await;
    for path in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/README.md",
    ] {
        let res = app.get(path, &[]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(body(res).await.contains("\"not found\""), "{path}");
    }
}

#[test]
fn next_must_stay_inside_the_app() {
    use super::safe_next;
    assert_eq!(safe_next(Some("/ui/cdr?x=1")), "/ui/cdr?x=1");
    assert_eq!(safe_next(Some("https://evil.example/")), "/ui/");
    assert_eq!(safe_next(Some("/ui//evil")), "/ui/");
    assert_eq!(safe_next(Some("/api/v1/me")), "/ui/");
    assert_eq!(safe_next(None), "/ui/");
}
