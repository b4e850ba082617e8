//! In-process tests of the web API: the axum `Router` built by `switchboard::web::router`
//! driven with `tower::ServiceExt::oneshot` (no socket, no PBX), over a real
//! `switchboard.db` in a temporary directory; and `switchboard admin set-password` run as
//! the binary.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use switchboard::config::WebSettings;
use switchboard::db::Db;
use switchboard::switch::call::CallRegistry;
use switchboard::web::{self, PasswordPolicy, Role, WebOptions, WebState};
use tower::ServiceExt as _;

/// Tokens, audit, accounts, status, first start and the CLI.
#[path = "web_api/resources.rs"]
mod resources;

const ADMIN_PW: &str = "admin-password-1";

struct App {
    _dir: tempfile::TempDir,
    state: WebState,
    router: Router,
}

/// A fresh database with account `root` (admin, [`ADMIN_PW`]).
async fn app() -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let state = WebState::new(options);
    web::accounts::set_password(
        state.store(),
        state.passwords(),
        "root",
        ADMIN_PW,
        Some(Role::Admin),
        0,
    )
    .await
    .expect("seed admin");
    let router = web::router(state.clone());
    App {
        _dir: dir,
        state,
        router,
    }
}

/// How a request authenticates.
#[derive(Clone, Default)]
struct Auth {
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
    peer: Option<SocketAddr>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl App {
    async fn call(&self, method: Method, path: &str, auth: &Auth, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(c) = &auth.cookie {
            req = req.header(header::COOKIE, format!("sb_session={c}"));
        }
        if let Some(c) = &auth.csrf {
            req = req.header("X-CSRF-Token", c);
        }
        if let Some(t) = &auth.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).expect("request");
        if let Some(peer) = auth.peer {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn login_from(&self, name: &str, password: &str, peer: Option<SocketAddr>) -> Reply {
        let auth = Auth {
            peer,
            ..Auth::default()
        };
        let body = json!({ "name": name, "password": password });
        self.call(Method::POST, "/api/v1/login", &auth, Some(body))
            .await
    }

    /// Logs in and returns the session (cookie + CSRF token).
    async fn session(&self, name: &str, password: &str) -> Auth {
        let r = self.login_from(name, password, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let cookie = r.headers[header::SET_COOKIE].to_str().expect("ascii");
        let value = cookie
            .strip_prefix("sb_session=")
            .and_then(|c| c.split(';').next())
            .expect("cookie value");
        Auth {
            cookie: Some(value.to_owned()),
            csrf: r.body["csrf_token"].as_str().map(str::to_owned),
            ..Auth::default()
        }
    }

    async fn add_account(&self, admin: &Auth, name: &str, role: &str) {
        let body = json!({ "name": name, "password": "password-of-someone", "role": role });
        let r = self
            .call(Method::POST, "/api/v1/accounts", admin, Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_me_logout_work() {
    let app = app().await;
    let r = app.login_from("root", ADMIN_PW, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["role"], "admin");
    let cookie = r.headers[header::SET_COOKIE].to_str().expect("ascii");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let session = app.session("root", ADMIN_PW).await;
    let me = app.call(Method::GET, "/api/v1/me", &session, None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["name"], "root");
    assert_eq!(me.body["via"], "session");
    assert_eq!(me.body["csrf_token"].as_str(), session.csrf.as_deref());
    let out = app
        .call(Method::POST, "/api/v1/logout", &session, None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .contains("Max-Age=0"));
    let me = app.call(Method::GET, "/api/v1/me", &session, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_password_and_unknown_account_get_the_same_401() {
    let app = app().await;
    let wrong = app.login_from("root", "not-the-password", None).await;
    let unknown = app.login_from("nobody", "not-the-password", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["error"], "wrong name or password");
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(app.state.failed_logins(), 2);
}

#[tokio::test]
async fn five_failures_lock_the_account_with_429_and_retry_after() {
    let app = app().await;
    for i in 1..=4 {
        let peer = Some(SocketAddr::from(([192, 0, 2, i], 40000)));
        let r = app.login_from("root", "wrong-password", peer).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let peer = Some(SocketAddr::from(([192, 0, 2, 5], 40000)));
    let r = app.login_from("root", "wrong-password", peer).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((890..=900).contains(&retry), "{retry}");
    // Locked: even the right password is refused.
    let r = app.login_from("root", ADMIN_PW, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.state.failed_logins(), 6);
    let audit = app
        .state
        .store()
        .audit_entries(10, None)
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.action == "account.locked"));
}

#[tokio::test]
async fn five_failures_from_one_address_lock_the_address() {
    let app = app().await;
    let peer = Some(SocketAddr::from(([198, 51, 100, 7], 5555)));
    for i in 0..4 {
        let r = app.login_from(&format!("guess{i}"), "x", peer).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.login_from("guess4", "x", peer).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = app.login_from("root", ADMIN_PW, peer).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "address still locked"
    );
    // Another address may still log in.
    let other = Some(SocketAddr::from(([198, 51, 100, 8], 5555)));
    assert_eq!(
        app.login_from("root", ADMIN_PW, other).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_api_route_needs_a_login() {
    let app = app().await;
    let none = Auth::default();
    let forged = Auth {
        cookie: Some("0".repeat(64)),
        ..Auth::default()
    };
    let bad_bearer = Auth {
        bearer: Some("sbt_nope".into()),
        ..Auth::default()
    };
    let routes = [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/status"),
        (Method::GET, "/api/v1/accounts"),
        (Method::POST, "/api/v1/accounts"),
        (Method::PUT, "/api/v1/accounts/root"),
        (Method::DELETE, "/api/v1/accounts/root"),
        (Method::GET, "/api/v1/tokens"),
        (Method::POST, "/api/v1/tokens"),
        (Method::DELETE, "/api/v1/tokens/1"),
        (Method::GET, "/api/v1/audit"),
        (Method::POST, "/api/v1/logout"),
    ];
    for (method, path) in routes {
        for auth in [&none, &forged, &bad_bearer] {
            let r = app.call(method.clone(), path, auth, None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(r.body["error"], "login required");
        }
    }
    let r = app.call(Method::GET, "/api/v1/nothing", &none, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"], "not found");
}

#[tokio::test]
async fn state_changes_with_a_session_need_the_csrf_token() {
    let app = app().await;
    let session = app.session("root", ADMIN_PW).await;
    let body = json!({ "name": "eve", "password": "password-of-eve", "role": "viewer" });
    let no_csrf = Auth {
        csrf: None,
        ..session.clone()
    };
    let wrong = Auth {
        csrf: Some("f".repeat(64)),
        ..session.clone()
    };
    for auth in [&no_csrf, &wrong] {
        let r = app
            .call(Method::POST, "/api/v1/accounts", auth, Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body["detail"]
            .as_str()
            .expect("detail")
            .contains("X-CSRF-Token"));
        let r = app.call(Method::POST, "/api/v1/logout", auth, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // Reads need no token.
    let r = app
        .call(Method::GET, "/api/v1/accounts", &no_csrf, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call(Method::POST, "/api/v1/accounts", &session, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn viewers_read_but_every_change_is_403() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    app.add_account(&admin, "vic", "viewer").await;
    let viewer = app.session("vic", "password-of-someone").await;
    let account = json!({ "name": "x1", "password": "password-x1" });
    let changes = [
        (Method::POST, "/api/v1/accounts", Some(account)),
        (
            Method::PUT,
            "/api/v1/accounts/root",
            Some(json!({ "role": "viewer" })),
        ),
        (Method::DELETE, "/api/v1/accounts/root", None),
        (Method::POST, "/api/v1/tokens", Some(json!({ "name": "t" }))),
        (Method::DELETE, "/api/v1/tokens/1", None),
    ];
    for (method, path, body) in changes {
        let r = app.call(method.clone(), path, &viewer, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(r.body["error"], "forbidden");
    }
    for path in [
        "/api/v1/status",
        "/api/v1/accounts",
        "/api/v1/tokens",
        "/api/v1/audit",
    ] {
        let r = app.call(Method::GET, path, &viewer, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    // A viewer may still log out.
    let r = app
        .call(Method::POST, "/api/v1/logout", &viewer, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let cases = [
        (
            "/api/v1/accounts",
            json!({ "password": "long-enough-1" }),
            "name",
        ),
        (
            "/api/v1/accounts",
            json!({ "name": "a b", "password": "long-enough-1" }),
            "name",
        ),
        (
            "/api/v1/accounts",
            json!({ "name": "bob", "password": "short" }),
            "password",
        ),
        (
            "/api/v1/accounts",
            json!({ "name": "bob", "password": 12345678 }),
            "password",
        ),
        (
            "/api/v1/accounts",
            json!({ "name": "bob", "password": "long-enough-1", "role": "root" }),
            "role",
        ),
        (
            "/api/v1/accounts",
            json!({ "name": "bob", "password": "long-enough-1", "admin": true }),
            "admin",
        ),
        ("/api/v1/tokens", json!({}), "name"),
        (
            "/api/v1/tokens",
            json!({ "name": "t", "role": "god" }),
            "role",
        ),
    ];
    for (path, body, field) in cases {
        let r = app
            .call(Method::POST, path, &admin, Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.body["error"], "invalid input");
        assert_eq!(r.body["detail"]["field"], field, "{body}");
        let message = r.body["detail"]["message"].as_str().expect("message");
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
    }
    let r = app
        .call(
            Method::PUT,
            "/api/v1/accounts/root",
            &admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(Method::DELETE, "/api/v1/tokens/abc", &admin, None)
        .await;
    assert_eq!(r.body["detail"]["field"], "id");
    let r = app
        .call(Method::GET, "/api/v1/audit?limit=0", &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"]["field"], "limit");
    let r = app
        .call(
            Method::POST,
            "/api/v1/login",
            &Auth::default(),
            Some(json!({ "name": "root" })),
        )
        .await;
    assert_eq!(r.body["detail"]["field"], "password");
    // Not a JSON object: 400.
    let r = app
        .call(
            Method::POST,
            "/api/v1/accounts",
            &admin,
            Some(json!([1, 2])),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "bad request");
}
