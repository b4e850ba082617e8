//! `GET /api/v1/registrations` over a real registrar whose bindings were stored in
//! `switchboard.db` before it started (it loads them), and without a registrar (503).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::{Method, StatusCode};

use crate::db::registrations::{self, RegistrationRow};
use crate::db::Db;
use crate::runtime::Lifecycle;
use crate::sip::registrar::{seed_users, ConfiguredUser, Registrar, RegistrarSettings};
use crate::web::live::testutil::{web, web_with, Setup};
use crate::web::WebServices;

const DOMAIN: &str = "switchboard.test";

fn row(aor: &str, contact: &str, expires_at: SystemTime, ua: Option<&str>) -> RegistrationRow {
    RegistrationRow {
        aor: aor.into(),
        contact: contact.into(),
        expires_at,
        q: None,
        call_id: "reg-1".into(),
        cseq: 7,
        transport: "TLS".into(),
        source: SocketAddr::from(([198, 51, 100, 4], 40_000)),
        local: SocketAddr::from(([127, 0, 0, 1], 15061)),
        flow_id: None,
        instance: None,
        reg_id: None,
        user_agent: ua.map(str::to_owned),
        path: None,
    }
}

/// A registrar on its own database: users 1001 and 1002; 1001 has one current and one
/// lapsed binding.
async fn registrar(dir: &std::path::Path) -> Arc<Registrar> {
    let db = Db::open(&dir.join("registrar.sqlite")).await.expect("db");
    let users = ["1001", "1002"].map(|u| ConfiguredUser {
        username: u,
        password: "pw-secret",
        display_name: None,
        loopback_only: false,
    });
    seed_users(&db, DOMAIN, &users).await.expect("users");
    let aor = format!("sip:1001@{DOMAIN}");
    let in_ten_minutes = SystemTime::now() + Duration::from_secs(600);
    let rows = [row(
        &aor,
        "sip:1001@198.51.100.4:40000;transport=tls",
        in_ten_minutes,
        Some("Yealink T54W"),
    )];
    registrations::apply(&db, &aor, &[], &rows)
        .await
        .expect("store");
    let settings = RegistrarSettings::new(DOMAIN);
    Arc::new(
        Registrar::new(db, settings, &Lifecycle::new())
            .await
            .expect("registrar"),
    )
}

#[tokio::test]
async fn lists_the_registered_contacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = registrar(dir.path()).await;
    let t = web_with(Setup {
        services: Box::new(move |_| WebServices {
            registrar: Some(r),
            ..WebServices::default()
        }),
        ..Setup::default()
    })
    .await;
    let (status, body) = t
        .json(Method::GET, "/api/v1/registrations", Some(&t.viewer))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = body["registrations"].as_array().expect("list");
    assert_eq!(list.len(), 1, "{body}");
    let reg = &list[0];
    assert_eq!(reg["extension"], "1001");
    assert_eq!(reg["aor"], format!("sip:1001@{DOMAIN}"));
    assert_eq!(reg["contact"], "sip:1001@198.51.100.4:40000;transport=tls");
    assert_eq!(reg["user_agent"], "Yealink T54W");
    assert_eq!(reg["transport"], "tls");
    assert_eq!(reg["source"], "198.51.100.4:40000");
    let left = reg["expires_in_s"].as_u64().expect("seconds");
    assert!((590..=600).contains(&left), "{left}");
    let expires = reg["expires_ms"].as_i64().expect("ms");
    let now = crate::db::unix_ms(SystemTime::now());
    assert!(
        (expires - now - 600_000).abs() < 10_000,
        "{expires} vs {now}"
    );

    // Login is required.
    let (status, _) = t.json(Method::GET, "/api/v1/registrations", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_registrar_it_is_unavailable() {
    let t = web().await;
    let (status, body) = t
        .json(Method::GET, "/api/v1/registrations", Some(&t.admin))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "unavailable");
}
