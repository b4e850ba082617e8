//! The document matches the router: every (path, method) it lists is routed and behind
//! login (401 without credentials, not 404/405), login is the only open operation, every
//! path is under `/api/v1`, and the served JSON is an OpenAPI 3.1 document.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt as _;

use super::*;
use crate::config::WebSettings;
use crate::db::Db;
use crate::switch::call::CallRegistry;
use crate::web::{accounts, PasswordPolicy, Role, WebOptions};

const PASSWORD: &str = "openapi-test-password";

async fn app() -> (tempfile::TempDir, Router) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let state = WebState::new(options);
    accounts::set_password(
        state.store(),
        state.passwords(),
        "root",
        PASSWORD,
        Some(Role::Admin),
        0,
    )
    .await
    .expect("seed admin");
    (dir, crate::web::router(state))
}

/// `path` with every `{param}` replaced by `1`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('1');
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every (path, method, open) of the document; `open` when its security is `[{}]`.
fn operations(doc: &utoipa::openapi::OpenApi) -> Vec<(String, Method, bool)> {
    let mut ops = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
            (Method::HEAD, &item.head),
            (Method::OPTIONS, &item.options),
        ] {
            if let Some(op) = op {
                let security = op
                    .security
                    .as_ref()
                    .expect("security set on every operation");
                let open = security
                    .iter()
                    .any(|r| serde_json::to_value(r).expect("json") == serde_json::json!({}));
                ops.push((path.clone(), method, open));
            }
        }
    }
    ops
}

#[test]
fn concrete_paths_replace_every_parameter() {
    assert_eq!(concrete("/api/v1/a/{id}/b/{name}"), "/api/v1/a/1/b/1");
    assert_eq!(concrete("/api/v1/me"), "/api/v1/me");
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_needs_login() {
    let (_dir, router) = app().await;
    let doc = document();
    let ops = operations(&doc);
    assert!(ops.len() >= 12, "too few operations: {ops:?}");
    let open: Vec<_> = ops.iter().filter(|(_, _, open)| *open).collect();
    assert_eq!(
        open,
        vec![&("/api/v1/login".to_owned(), Method::POST, true)],
        "login must be the only open operation"
    );
    for (path, method, open) in &ops {
        assert!(path.starts_with("/api/v1/"), "{path} is not under /api/v1");
        let request = Request::builder()
            .method(method.clone())
            .uri(concrete(path))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let status = router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
            .status();
        let expected = if *open {
            // Login with an empty object: routed, and refuses the missing field.
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{method} {path}");
    }
}

#[tokio::test]
async fn unrouted_operations_would_be_caught() {
    // The check above can fail: an unknown path is 404, a wrong method 405, not 401.
    let (_dir, router) = app().await;
    for (method, path, expected) in [
        (Method::GET, "/api/v1/no-such-thing", StatusCode::NOT_FOUND),
        (Method::PATCH, "/api/v1/me", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let status = router.clone().oneshot(request).await.expect("ok").status();
        assert_eq!(status, expected, "{method} {path}");
    }
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_json() {
    let (_dir, router) = app().await;
    let login = Request::post("/api/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"name":"root","password":"{PASSWORD}"}}"#
        )))
        .expect("request");
    let answer = router.clone().oneshot(login).await.expect("ok");
    assert_eq!(answer.status(), StatusCode::OK);
    let cookie = answer
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let get = Request::get("/api/v1/openapi.json")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    let answer = router.oneshot(get).await.expect("ok");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers().get(header::CONTENT_TYPE).expect("type"),
        "application/json"
    );
    let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .expect("body");
    let json: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(json["openapi"], "3.1.0");
    let schemes = &json["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "sb_session");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(json["info"]["title"], "switchboard admin API");
    assert_eq!(json["info"]["version"], env!("CARGO_PKG_VERSION"));
    check_structure(&json);
    // A change needs the CSRF header with the cookie; a read does not.
    let post = &json["paths"]["/api/v1/accounts"]["post"]["security"];
    assert_eq!(post[0], serde_json::json!({ "session": [], "csrf": [] }));
    let get = &json["paths"]["/api/v1/accounts"]["get"]["security"];
    assert_eq!(get[0], serde_json::json!({ "session": [] }));
    // Every `$ref` points at a schema the document defines.
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    for r in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap_or_default();
        assert!(
            json["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
}

/// The OpenAPI 3.1 shape: path items hold only operations (and their shared fields), each
/// operation has a tag, a security requirement and responses keyed by 3-digit codes.
fn check_structure(json: &Value) {
    let paths = json["paths"].as_object().expect("paths object");
    assert_eq!(paths.len(), document().paths.paths.len());
    for (path, item) in paths {
        let item = item.as_object().expect("path item object");
        for (key, op) in item {
            let method = [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ];
            if ["parameters", "summary", "description"].contains(&key.as_str()) {
                continue;
            }
            assert!(
                method.contains(&key.as_str()),
                "{path}: unexpected key {key}"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{key} {path}: no tag"
            );
            assert!(op["security"].is_array(), "{key} {path}: no security");
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{key} {path}: no responses");
            for code in responses.keys() {
                assert!(
                    code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()),
                    "{key} {path}: response key {code}"
                );
            }
        }
    }
}

/// Operations a viewer may call although they are POSTs: ending its own session, and
/// checking a dialplan candidate (nothing is written).
const VIEWER_MAY_POST: [&str; 2] = ["/api/v1/logout", "/api/v1/dialplan/validate"];

#[tokio::test]
async fn every_documented_change_needs_the_csrf_header_and_the_admin_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let state = WebState::new(options);
    for (name, role) in [("root", Role::Admin), ("watcher", Role::Viewer)] {
        accounts::set_password(
            state.store(),
            state.passwords(),
            name,
            PASSWORD,
            Some(role),
            0,
        )
        .await
        .expect("seed account");
    }
    let router = crate::web::router(state.clone());
    let now = std::time::Instant::now();
    let (admin_id, _) = state.sessions().create("root", now).expect("session");
    let (viewer_id, viewer) = state.sessions().create("watcher", now).expect("session");
    let changes: Vec<(String, Method)> = operations(&document())
        .into_iter()
        .filter(|(_, m, open)| !open && ![Method::GET, Method::HEAD].contains(m))
        .map(|(path, method, _)| (path, method))
        .collect();
    assert!(changes.len() >= 15, "too few changes: {changes:?}");
    let send = |path: &str, method: &Method, session: &str, csrf: Option<&str>| {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(concrete(path))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, format!("sb_session={session}"));
        if let Some(token) = csrf {
            request = request.header("x-csrf-token", token);
        }
        let request = request.body(Body::from("{}")).expect("request");
        let router = router.clone();
        async move {
            let answer = router.oneshot(request).await.expect("infallible");
            let status = answer.status();
            let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
                .await
                .expect("body");
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    for (path, method) in &changes {
        // An admin's cookie without the header: refused before the handler runs.
        let (status, body) = send(path, method, &admin_id, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert!(
            body.to_ascii_lowercase().contains("csrf"),
            "{method} {path}: {body}"
        );
        // A viewer with its header: refused for its role.
        if !VIEWER_MAY_POST.contains(&path.as_str()) {
            let (status, body) = send(path, method, &viewer_id, Some(&viewer.csrf)).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "viewer {method} {path}: {body}"
            );
        }
    }
}
