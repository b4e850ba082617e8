//! Resource endpoints: API tokens, the audit log, account rules, status, the first-start
//! admin and `switchboard admin set-password`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use super::*;

#[tokio::test]
async fn api_tokens_authenticate_without_csrf_until_deleted() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "script", "role": "admin" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.body["token"].as_str().expect("token").to_owned();
    let id = r.body["id"].as_i64().expect("id");
    let bearer = Auth {
        bearer: Some(secret.clone()),
        ..Auth::default()
    };
    let me = app.call(Method::GET, "/api/v1/me", &bearer, None).await;
    assert_eq!(me.body["via"], "token");
    assert_eq!(me.body["name"], "script");
    // A state change with a token needs no CSRF header.
    app.add_account(&bearer, "made-by-token", "viewer").await;
    // The listing never shows the secret, and records the last use.
    let list = app.call(Method::GET, "/api/v1/tokens", &admin, None).await;
    let listed = &list.body["tokens"][0];
    assert_eq!(listed["id"], id);
    assert!(listed.get("token").is_none());
    assert!(listed["last_used"].is_i64());
    assert!(!list.body.to_string().contains(&secret));
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let me = app.call(Method::GET, "/api/v1/me", &bearer, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A viewer token cannot change anything.
    let r = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "ro" })),
        )
        .await;
    assert_eq!(r.body["role"], "viewer");
    let ro = Auth {
        bearer: r.body["token"].as_str().map(str::to_owned),
        ..Auth::default()
    };
    let r = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            &ro,
            Some(json!({ "name": "x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn changes_are_written_to_the_audit_log() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    app.add_account(&admin, "ann", "viewer").await;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/accounts/ann",
            &admin,
            Some(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["role"], "admin");
    let r = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            &admin,
            Some(json!({ "name": "ci" })),
        )
        .await;
    let id = r.body["id"].as_i64().expect("id");
    app.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        &admin,
        None,
    )
    .await;
    let r = app
        .call(Method::DELETE, "/api/v1/accounts/ann", &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(Method::GET, "/api/v1/audit?limit=6", &admin, None)
        .await;
    let entries = r.body["entries"].as_array().expect("entries");
    let actions: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
                e["target"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let id = id.to_string();
    assert_eq!(
        actions,
        [
            ("root", "account.delete", "ann"),
            ("root", "token.delete", id.as_str()),
            ("root", "token.create", id.as_str()),
            ("root", "account.update", "ann"),
            ("root", "account.create", "ann"),
            ("root", "login", "root"),
        ]
    );
    assert_eq!(entries[3]["detail"]["role"], "admin");
    assert!(entries[0]["at"].as_i64().expect("at") > 0);
    // Paging with `before`.
    let last = entries[5]["id"].as_i64().expect("id");
    let r = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?before={last}"),
            &admin,
            None,
        )
        .await;
    let older = r.body["entries"].as_array().expect("entries");
    assert!(older.iter().all(|e| e["id"].as_i64() < Some(last)));
    assert_eq!(older[0]["actor"], "cli", "the seeding set-password");
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted_or_demoted() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let r = app
        .call(Method::DELETE, "/api/v1/accounts/root", &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["error"], "conflict");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/accounts/root",
            &admin,
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call(Method::DELETE, "/api/v1/accounts/ghost", &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.add_account(&admin, "second", "admin").await;
    let r = app
        .call(Method::DELETE, "/api/v1/accounts/root", &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Its session ended with it.
    let r = app.call(Method::GET, "/api/v1/me", &admin, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .call(
            Method::POST,
            "/api/v1/accounts",
            &Auth::default(),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn duplicate_account_is_409_and_password_change_ends_other_sessions() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let other = app.session("root", ADMIN_PW).await;
    let body = json!({ "name": "root", "password": "whatever-long" });
    let r = app
        .call(Method::POST, "/api/v1/accounts", &admin, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/accounts/root",
            &admin,
            Some(json!({ "password": "new-password-9" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", &admin, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", &other, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_from("root", ADMIN_PW, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_from("root", "new-password-9", None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn status_reports_version_uptime_calls_and_cdr() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let r = app.call(Method::GET, "/api/v1/status", &admin, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert!(r.body["uptime_secs"].is_u64());
    assert_eq!(r.body["calls"]["active"], 0);
    assert_eq!(r.body["calls"]["channels"], 0);
    assert_eq!(r.body["cdr"]["enabled"], false);
}

#[tokio::test]
async fn first_start_creates_admin_once_with_a_usable_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let state = WebState::new(options);
    let password = state
        .ensure_admin()
        .await
        .expect("ensure")
        .expect("created");
    assert_eq!(password.len(), 20);
    assert_eq!(state.ensure_admin().await.expect("ensure"), None);
    let app = App {
        router: web::router(state.clone()),
        state,
        _dir: dir,
    };
    let r = app.login_from("admin", &password, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["role"], "admin");
}

fn set_password_cli(data: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("admin")
        .arg("set-password")
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run switchboard");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[tokio::test]
async fn admin_set_password_cli_creates_and_updates_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let out = set_password_cli(&data, &["alice"], "first-password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice created with role admin"));
    let out = set_password_cli(&data, &["--role", "viewer", "bob"], "bob-password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = set_password_cli(&data, &["alice"], "second-password\r\n");
    assert!(out.status.success());
    // Refused: too short, empty, demoting the only admin.
    assert!(!set_password_cli(&data, &["alice"], "short\n")
        .status
        .success());
    assert!(!set_password_cli(&data, &["alice"], "").status.success());
    let out = set_password_cli(&data, &["--role", "viewer", "alice"], "third-password\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("last admin"));

    let db = Db::open(&data.join("switchboard.db")).await.expect("db");
    let store = web::Store::new(db);
    let alice = store
        .credentials("alice")
        .await
        .expect("query")
        .expect("alice");
    assert_eq!(alice.account.role, Role::Admin);
    assert!(
        web::password::verify("second-password", &alice.password_hash)
            .await
            .expect("verify")
    );
    let bob = store.credentials("bob").await.expect("query").expect("bob");
    assert_eq!(bob.account.role, Role::Viewer);
    let audit = store.audit_entries(10, None).await.expect("audit");
    assert_eq!(audit.len(), 3);
    assert!(audit
        .iter()
        .all(|e| e.actor == "cli" && e.action == "account.set_password"));
}

#[tokio::test]
async fn cookies_are_secure_under_tls_and_wrong_methods_get_json_405() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    options.secure_cookies = true;
    let state = WebState::new(options);
    web::accounts::set_password(state.store(), state.passwords(), "root", ADMIN_PW, None, 0)
        .await
        .expect("seed");
    let app = App {
        router: web::router(state.clone()),
        state,
        _dir: dir,
    };
    let r = app.login_from("root", ADMIN_PW, None).await;
    let cookie = r.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let r = app
        .call(Method::GET, "/api/v1/login", &Auth::default(), None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["error"], "method not allowed");
}
