//! `GET /api/v1/status`: the figures added for the dashboard (call rate, registrations,
//! storage) next to the existing ones.

use axum::http::{Method, StatusCode};

use crate::web::live::testutil::{web, web_with, Setup};
use crate::web::WebServices;

#[tokio::test]
async fn status_reports_calls_registrations_and_storage() {
    let t = web_with(Setup {
        services: Box::new(|dir| WebServices {
            data_dir: Some(dir.to_path_buf()),
            cdr_db: Some(dir.join("cdr.db")),
            ..WebServices::default()
        }),
        ..Setup::default()
    })
    .await;
    let (status, _) = t.json(Method::GET, "/api/v1/status", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let _calls: Vec<_> = (0..2).map(|_| t.calls.call_started()).collect();
    let (status, body) = t.json(Method::GET, "/api/v1/status", Some(&t.viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["calls"]["active"], 2);
    assert_eq!(body["calls"]["total"], 2);
    assert!(body["calls"]["per_second"].is_number(), "{body}");
    // No registrar in this state: null, not 0.
    assert!(body["registrations"].is_null(), "{body}");
    // switchboard.db is there (the test state opened it); cdr.db is not.
    let size = std::fs::metadata(t.dir.path().join("switchboard.db"))
        .expect("db file")
        .len();
    let reported = body["storage"]["switchboard_db"].as_u64().expect("bytes");
    assert!(reported >= size && size > 0, "{reported} vs {size}");
    assert!(body["storage"]["cdr_db"].is_null(), "{body}");
    assert_eq!(body["cdr"]["enabled"], false);
}

#[tokio::test]
async fn status_without_a_data_directory_has_null_sizes() {
    let t = web().await;
    let (status, body) = t.json(Method::GET, "/api/v1/status", Some(&t.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["storage"]["switchboard_db"].is_null(), "{body}");
    assert!(body["storage"]["free_bytes"].is_null(), "{body}");
}
