//! `users`: web-created rows next to configured ones, against a real SQLite file.

use super::*;

fn user(name: &str, origin: &str) -> UserRecord {
    UserRecord {
        realm: "switchboard.test".into(),
        username: name.into(),
        display_name: None,
        ha1_md5: "00".repeat(16),
        ha1_sha256: "11".repeat(32),
        loopback_only: false,
        origin: origin.into(),
    }
}

#[tokio::test]
async fn insert_new_refuses_an_existing_user_and_delete_reports_absence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("open");
    assert!(insert_new(&db, &user("2001", ORIGIN_WEB))
        .await
        .expect("insert"));
    let mut other = user("2001", ORIGIN_WEB);
    other.ha1_md5 = "ff".repeat(16);
    assert!(!insert_new(&db, &other).await.expect("insert again"));
    let stored = get(&db, "switchboard.test", "2001").await.expect("get");
    assert_eq!(
        stored,
        Some(user("2001", ORIGIN_WEB)),
        "the first row is kept"
    );
    assert!(delete(&db, "switchboard.test", "2001")
        .await
        .expect("delete"));
    assert!(!delete(&db, "switchboard.test", "2001")
        .await
        .expect("delete again"));
    assert_eq!(
        get(&db, "switchboard.test", "2001").await.expect("get"),
        None
    );
}

#[tokio::test]
async fn seeding_the_configured_users_keeps_the_web_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("open");
    assert!(insert_new(&db, &user("2001", ORIGIN_WEB))
        .await
        .expect("web"));
    sync_origin(&db, ORIGIN_CONFIG, &[user("1001", ORIGIN_CONFIG)])
        .await
        .expect("seed");
    // A restart with another configuration: 1001 goes, the web user stays.
    let summary = sync_origin(&db, ORIGIN_CONFIG, &[user("1002", ORIGIN_CONFIG)])
        .await
        .expect("seed again");
    assert_eq!(summary.deleted, 1);
    let mut names: Vec<(String, String)> = list_realm(&db, "switchboard.test")
        .await
        .expect("list")
        .into_iter()
        .map(|u| (u.username, u.origin))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("1002".to_string(), ORIGIN_CONFIG.to_string()),
            ("2001".to_string(), ORIGIN_WEB.to_string())
        ]
    );
}
