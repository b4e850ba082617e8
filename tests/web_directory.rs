//! In-process tests of the directory API (extensions and gateways): the axum router over a
//! real `switchboard.db` in a temporary directory, with a real `Registrar` and a stored
//! `LiveGateways` as the switch's services (no PBX, no listener for the web). The gateway
//! health check runs through a real SIP endpoint on 127.0.0.1 against a UDP socket that
//! answers OPTIONS and one that stays silent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use switchboard::config::{Acl, Gateway, ListenTransport, WebSettings};
use switchboard::db::registrations::{self, RegistrationRow};
use switchboard::db::Db;
use switchboard::runtime::Lifecycle;
use switchboard::sip::auth::{ha1, Algorithm};
use switchboard::sip::registrar::{seed_users, ConfiguredUser, Registrar, RegistrarSettings};
use switchboard::switch::call::CallRegistry;
use switchboard::switch::gateways::LiveGateways;
use switchboard::web::{self, PasswordPolicy, Role, WebOptions, WebServices, WebState};
use tower::ServiceExt as _;

/// Gateway CRUD, conflicts and 422s.
#[path = "web_directory/gateways.rs"]
mod gateways;
/// The health check through a real endpoint.
#[path = "web_directory/probe.rs"]
mod probe;

const REALM: &str = "switchboard.test";
const ADMIN_PW: &str = "admin-password-1";
const VIEWER_PW: &str = "viewer-password-1";

/// A configured extension (seeded like the server does at start).
const CONFIG_EXT: &str = "1001";

struct App {
    dir: tempfile::TempDir,
    db: Db,
    lifecycle: Lifecycle,
    registrar: Arc<Registrar>,
    gateways: LiveGateways,
    router: Router,
}

fn config_gateway() -> Gateway {
    Gateway {
        name: "carrier".into(),
        host: "127.0.0.1".into(),
        port: 5080,
        ip: "127.0.0.1".parse().ok(),
        transport: ListenTransport::Udp,
        trust_inbound_by_source: true,
        register: false,
    }
}

/// The services over `db` as the server builds them at start: seed the configured
/// extension, load the registrar and the gateway directory.
async fn services(db: &Db, lifecycle: &Lifecycle) -> (Arc<Registrar>, LiveGateways) {
    let configured = [ConfiguredUser {
        username: CONFIG_EXT,
        password: "config-secret-1001",
        display_name: Some("Configured"),
        loopback_only: false,
    }];
    seed_users(db, REALM, &configured).await.expect("seed");
    let registrar = Registrar::new(db.clone(), RegistrarSettings::new(REALM), lifecycle)
        .await
        .expect("registrar");
    let gateways = LiveGateways::load(db.clone(), vec![config_gateway()], Acl::loopback())
        .await
        .expect("gateways");
    (Arc::new(registrar), gateways)
}

/// A fresh database with accounts `root` (admin) and `watcher` (viewer).
async fn app() -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    app_on(dir, db).await
}

/// The application over an existing database (a "restart").
async fn app_on(dir: tempfile::TempDir, db: Db) -> App {
    let lifecycle = Lifecycle::new();
    let (registrar, gateways) = services(&db, &lifecycle).await;
    let mut options = WebOptions::new(
        db.clone(),
        WebSettings::default(),
        CallRegistry::new(),
        None,
    );
    options.passwords = PasswordPolicy::fast_for_tests();
    options.services = WebServices {
        registrar: Some(registrar.clone()),
        gateways: Some(gateways.clone()),
        ..WebServices::default()
    };
    let state = WebState::new(options);
    for (name, pw, role) in [
        ("root", ADMIN_PW, Role::Admin),
        ("watcher", VIEWER_PW, Role::Viewer),
    ] {
        web::accounts::set_password(state.store(), state.passwords(), name, pw, Some(role), 0)
            .await
            .expect("account");
    }
    App {
        dir,
        db,
        lifecycle,
        registrar,
        gateways,
        router: web::router(state),
    }
}

impl App {
    /// Stops the registrar's writer and hands back the database for a restart.
    async fn stop(self) -> (tempfile::TempDir, Db) {
        self.lifecycle.stop_and_wait().await;
        (self.dir, self.db)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(&self.router, method, path, auth, body).await
    }

    async fn session(&self, name: &str, password: &str) -> Auth {
        session(&self.router, name, password).await
    }

    async fn audit_actions(&self, admin: &Auth) -> Vec<(String, String, Value)> {
        let (_, body) = self
            .call(Method::GET, "/api/v1/audit?limit=100", admin, None)
            .await;
        body["entries"]
            .as_array()
            .or_else(|| body["audit"].as_array())
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or_default().to_owned(),
                    e["target"].as_str().unwrap_or_default().to_owned(),
                    e["detail"].clone(),
                )
            })
            .collect()
    }
}

#[derive(Clone, Default)]
struct Auth {
    cookie: Option<String>,
    csrf: Option<String>,
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    auth: &Auth,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(c) = &auth.cookie {
        req = req.header(header::COOKIE, format!("sb_session={c}"));
    }
    if let Some(c) = &auth.csrf {
        req = req.header("X-CSRF-Token", c);
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let res = router
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, body)
}

/// Logs in and returns the session (cookie + CSRF token).
async fn session(router: &Router, name: &str, password: &str) -> Auth {
    let body = json!({ "name": name, "password": password });
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .strip_prefix("sb_session=")
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let answer: Value = serde_json::from_slice(&bytes).expect("json");
    let csrf = answer["csrf_token"]
        .as_str()
        .or_else(|| answer["csrf"].as_str())
        .map(str::to_owned);
    Auth {
        cookie: Some(cookie),
        csrf,
    }
}

fn binding(aor: &str, contact: &str) -> RegistrationRow {
    RegistrationRow {
        aor: aor.into(),
        contact: contact.into(),
        expires_at: SystemTime::now() + Duration::from_secs(600),
        q: None,
        call_id: "reg@test".into(),
        cseq: 1,
        transport: "UDP".into(),
        source: "127.0.0.1:40000".parse().expect("sa"),
        local: "127.0.0.1:5060".parse().expect("sa"),
        flow_id: None,
        instance: None,
        reg_id: None,
        user_agent: Some("test phone".into()),
        path: None,
    }
}

#[tokio::test]
async fn extension_lifecycle_takes_effect_at_once_and_persists() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;

    let (status, body) = app
        .call(Method::GET, "/api/v1/extensions", &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["extensions"][0]["number"], CONFIG_EXT);
    assert_eq!(body["extensions"][0]["origin"], "config");
    assert_eq!(body["extensions"][0]["editable"], false);

    // Created with a chosen password: the registrar authenticates against it at once.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/extensions",
            &admin,
            Some(json!({ "number": "2001", "password": "Tr0ub4dor&3x", "display_name": "Alice" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["origin"], "web");
    assert_eq!(body["editable"], true);
    assert_eq!(body["password"], "Tr0ub4dor&3x");
    let user = app.registrar.user_record("2001").expect("in the directory");
    assert_eq!(
        user.ha1_md5,
        ha1(Algorithm::Md5, "2001", REALM, "Tr0ub4dor&3x")
    );
    assert_eq!(
        user.ha1_sha256,
        ha1(Algorithm::Sha256, "2001", REALM, "Tr0ub4dor&3x")
    );
    assert!(!user.loopback_only);
    assert!(app.registrar.has_user("2001"));

    // Without a password, a strong one is generated and returned once.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/extensions",
            &admin,
            Some(json!({ "number": "2002" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let generated = body["password"].as_str().expect("password").to_owned();
    assert!(generated.len() >= 16, "{generated}");
    assert!(switchboard::config::weak_password("2002", &generated).is_none());
    let user = app.registrar.user_record("2002").expect("2002");
    assert_eq!(user.ha1_md5, ha1(Algorithm::Md5, "2002", REALM, &generated));
    let (_, shown) = app
        .call(Method::GET, "/api/v1/extensions/2002", &admin, None)
        .await;
    assert!(
        shown.get("password").is_none(),
        "never shown again: {shown}"
    );

    // Display name and password changes.
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/extensions/2001",
            &admin,
            Some(json!({ "display_name": "Alice B" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["display_name"], "Alice B");
    let before = app.registrar.user_record("2001").expect("2001");
    assert_eq!(
        before.ha1_md5,
        ha1(Algorithm::Md5, "2001", REALM, "Tr0ub4dor&3x")
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/extensions/2001/password",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reset = body["password"].as_str().expect("password").to_owned();
    let after = app.registrar.user_record("2001").expect("2001");
    assert_eq!(after.ha1_md5, ha1(Algorithm::Md5, "2001", REALM, &reset));
    assert_eq!(after.display_name.as_deref(), Some("Alice B"));

    // The audit trail names every change and never holds a password.
    let audit = app.audit_actions(&admin).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _, _)| a.as_str()).collect();
    for want in ["extension.create", "extension.update", "extension.password"] {
        assert!(actions.contains(&want), "{actions:?}");
    }
    let dump = format!("{audit:?}");
    assert!(!dump.contains("Tr0ub4dor") && !dump.contains(&reset) && !dump.contains(&generated));

    // Restart: the web extensions are loaded again, the configured one is kept.
    let (dir, db) = app.stop().await;
    let app = app_on(dir, db).await;
    let user = app.registrar.user_record("2001").expect("persisted");
    assert_eq!(user.ha1_md5, ha1(Algorithm::Md5, "2001", REALM, &reset));
    assert_eq!(user.origin, "web");
    assert_eq!(user.display_name.as_deref(), Some("Alice B"));
    assert!(app.registrar.has_user(CONFIG_EXT));
    app.lifecycle.stop_and_wait().await;
}

#[tokio::test]
async fn deleting_an_extension_drops_its_registrations() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/extensions",
            &admin,
            Some(json!({ "number": "3001" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // A phone registered while the switch was down: stored, loaded at the next start.
    let aor = app.registrar.aor_for("3001");
    registrations::apply(
        &app.db,
        &aor,
        &[],
        &[binding(&aor, "sip:3001@127.0.0.1:40000")],
    )
    .await
    .expect("binding");
    let (dir, db) = app.stop().await;
    let app = app_on(dir, db).await;
    let admin = app.session("root", ADMIN_PW).await;
    assert_eq!(app.registrar.contacts_for(&aor).len(), 1);
    let (_, body) = app
        .call(Method::GET, "/api/v1/extensions/3001", &admin, None)
        .await;
    assert_eq!(body["registrations"], 1, "{body}");

    let (status, body) = app
        .call(Method::DELETE, "/api/v1/extensions/3001", &admin, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!app.registrar.has_user("3001"));
    assert!(app.registrar.contacts_for(&aor).is_empty(), "memory");
    let stored = registrations::load_all(&app.db).await.expect("load");
    assert!(stored.iter().all(|r| r.aor != aor), "database: {stored:?}");
    let (status, _) = app
        .call(Method::GET, "/api/v1/extensions/3001", &admin, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(Method::DELETE, "/api/v1/extensions/3001", &admin, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let audit = app.audit_actions(&admin).await;
    assert!(
        audit.iter().any(|(a, t, d)| a == "extension.delete"
            && t == "3001"
            && d["registrations_dropped"] == 1),
        "{audit:?}"
    );
    // Gone for good.
    let (dir, db) = app.stop().await;
    let app = app_on(dir, db).await;
    assert!(!app.registrar.has_user("3001"));
    app.lifecycle.stop_and_wait().await;
}

#[tokio::test]
async fn configured_extensions_are_read_only_and_bad_input_is_named() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let conflict = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("edit the file"),
            "{body}"
        );
    };
    let path = format!("/api/v1/extensions/{CONFIG_EXT}");
    conflict(
        app.call(
            Method::POST,
            "/api/v1/extensions",
            &admin,
            Some(json!({ "number": CONFIG_EXT })),
        )
        .await,
    );
    conflict(
        app.call(
            Method::PUT,
            &path,
            &admin,
            Some(json!({ "display_name": "x" })),
        )
        .await,
    );
    conflict(
        app.call(
            Method::POST,
            &format!("{path}/password"),
            &admin,
            Some(json!({})),
        )
        .await,
    );
    conflict(app.call(Method::DELETE, &path, &admin, None).await);
    assert!(app.registrar.has_user(CONFIG_EXT));

    let invalid = |(status, body): (StatusCode, Value), field: &str| {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["detail"]["field"], field, "{body}");
    };
    for (body, field) in [
        (json!({ "number": "12a" }), "number"),
        (json!({ "number": "" }), "number"),
        (json!({ "number": "1".repeat(33) }), "number"),
        (json!({}), "number"),
        (json!({ "number": "4001", "password": "4001" }), "password"),
        (
            json!({ "number": "4001", "password": "pw4001" }),
            "password",
        ),
        (
            json!({ "number": "4001", "password": "password" }),
            "password",
        ),
        (json!({ "number": "4001", "password": "short" }), "password"),
        (
            json!({ "number": "4001", "password": "switchboard-4001" }),
            "password",
        ),
        (
            json!({ "number": "4001", "display_name": "a\"b" }),
            "display_name",
        ),
        (json!({ "number": "4001", "colour": "red" }), "colour"),
    ] {
        invalid(
            app.call(Method::POST, "/api/v1/extensions", &admin, Some(body))
                .await,
            field,
        );
    }
    assert!(!app.registrar.has_user("4001"));
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/extensions",
            &admin,
            Some(json!({ "number": "4001" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/extensions",
            &admin,
            Some(json!({ "number": "4001" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    invalid(
        app.call(
            Method::PUT,
            "/api/v1/extensions/4001",
            &admin,
            Some(json!({ "password": "12345678" })),
        )
        .await,
        "password",
    );
    invalid(
        app.call(
            Method::PUT,
            "/api/v1/extensions/4001",
            &admin,
            Some(json!({})),
        )
        .await,
        "display_name",
    );
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/extensions/4999",
            &admin,
            Some(json!({ "display_name": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.lifecycle.stop_and_wait().await;
}

#[tokio::test]
async fn viewers_read_but_do_not_change_and_strangers_get_401() {
    let app = app().await;
    let viewer = app.session("watcher", VIEWER_PW).await;
    let (status, _) = app
        .call(Method::GET, "/api/v1/extensions", &viewer, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/v1/gateways", &viewer, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/extensions",
            Some(json!({ "number": "5001" })),
        ),
        (
            Method::PUT,
            "/api/v1/extensions/1001",
            Some(json!({ "display_name": "x" })),
        ),
        (
            Method::POST,
            "/api/v1/extensions/1001/password",
            Some(json!({})),
        ),
        (Method::DELETE, "/api/v1/extensions/1001", None),
        (
            Method::POST,
            "/api/v1/gateways",
            Some(json!({ "name": "x", "address": "127.0.0.1:5090" })),
        ),
        (
            Method::PUT,
            "/api/v1/gateways/carrier",
            Some(json!({ "address": "127.0.0.1:1" })),
        ),
        (Method::DELETE, "/api/v1/gateways/carrier", None),
    ] {
        let (status, answer) = app.call(method.clone(), path, &viewer, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        let (status, _) = app.call(method.clone(), path, &Auth::default(), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert!(!app.registrar.has_user("5001"));
    let (status, _) = app
        .call(Method::GET, "/api/v1/extensions", &Auth::default(), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.lifecycle.stop_and_wait().await;
}

#[tokio::test]
async fn without_the_switch_the_directory_answers_503() {
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
    .expect("account");
    let router = web::router(state);
    let admin = session(&router, "root", ADMIN_PW).await;
    for path in ["/api/v1/extensions", "/api/v1/gateways"] {
        let (status, body) = call(&router, Method::GET, path, &admin, None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(body["error"], "unavailable");
    }
}
