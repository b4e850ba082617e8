//! Tests of the storage layer against a real SQLite file in a temporary directory.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::registrations::{self, RegistrationRow};
use super::users::{self, UserRecord, ORIGIN_CONFIG};
use super::{from_unix_ms, unix_ms, Db};

fn user(name: &str) -> UserRecord {
    UserRecord {
        realm: "switchboard.test".into(),
        username: name.into(),
        display_name: Some(format!("Ext {name}")),
        ha1_md5: "00".repeat(16),
        ha1_sha256: "11".repeat(32),
        loopback_only: false,
        origin: ORIGIN_CONFIG.into(),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 1)))
}

fn binding(aor: &str, contact: &str, expires_at: SystemTime) -> RegistrationRow {
    RegistrationRow {
        aor: aor.into(),
        contact: contact.into(),
        expires_at,
        q: Some(0.5),
        call_id: "abc@host".into(),
        cseq: 7,
        transport: "TCP".into(),
        source: addr("192.0.2.1:5060"),
        local: addr("[::1]:15060"),
        flow_id: Some(42),
        instance: Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".into()),
        reg_id: Some(1),
        user_agent: Some("phone/1.0".into()),
        path: None,
    }
}

#[tokio::test]
async fn open_creates_file_and_is_reopenable() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("sb.sqlite");
    let db = Db::open(&path).await?;
    users::upsert(&db, &user("1001")).await?;
    db.close().await;
    assert!(path.exists());
    // Re-opening re-runs the migrator, which must accept the already applied migration.
    let db = Db::open(&path).await?;
    assert_eq!(users::count(&db).await?, 1);
    let mode: String = sqlx::Row::try_get(
        &sqlx::query("PRAGMA journal_mode")
            .fetch_one(db.pool())
            .await?,
        0,
    )?;
    assert_eq!(mode.to_ascii_lowercase(), "wal");
    Ok(())
}

#[tokio::test]
async fn users_upsert_get_delete_missing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("u.sqlite")).await?;
    for name in ["1000", "1001", "1002"] {
        users::upsert(&db, &user(name)).await?;
    }
    let mut changed = user("1001");
    changed.loopback_only = true;
    changed.display_name = None;
    users::upsert(&db, &changed).await?;
    assert_eq!(
        users::get(&db, "switchboard.test", "1001").await?,
        Some(changed)
    );
    assert_eq!(users::get(&db, "other.test", "1001").await?, None);
    let mut manual = user("2000");
    manual.origin = "web".into();
    users::upsert(&db, &manual).await?;
    let deleted = users::delete_missing(&db, ORIGIN_CONFIG, &["1000".to_string()]).await?;
    assert_eq!(deleted, 2);
    assert_eq!(users::count(&db).await?, 2);
    assert!(users::get(&db, "switchboard.test", "2000").await?.is_some());
    Ok(())
}

#[tokio::test]
async fn sync_origin_replaces_the_configured_set() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("s.sqlite")).await?;
    let first: Vec<UserRecord> = (1000..1100).map(|n| user(&n.to_string())).collect();
    let summary = users::sync_origin(&db, ORIGIN_CONFIG, &first).await?;
    assert_eq!((summary.upserted, summary.deleted), (100, 0));
    let second = vec![user("1000"), user("1200")];
    let summary = users::sync_origin(&db, ORIGIN_CONFIG, &second).await?;
    assert_eq!((summary.upserted, summary.deleted), (2, 99));
    assert_eq!(users::count(&db).await?, 2);
    assert!(users::get(&db, "switchboard.test", "1200").await?.is_some());
    assert!(users::get(&db, "switchboard.test", "1050").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn registrations_roundtrip_and_expiry() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("r.sqlite")).await?;
    let now = from_unix_ms(unix_ms(SystemTime::now()));
    let aor = "sip:1001@switchboard.test";
    let a = binding(
        aor,
        "sip:1001@192.0.2.1:5060",
        now + Duration::from_secs(60),
    );
    let b = binding(aor, "sip:1001@192.0.2.2:5060", now + Duration::from_secs(1));
    registrations::apply(&db, aor, &[], &[a.clone(), b.clone()]).await?;
    assert_eq!(
        registrations::load_all(&db).await?,
        vec![a.clone(), b.clone()]
    );
    let mut a2 = a.clone();
    a2.cseq = 8;
    registrations::apply(
        &db,
        aor,
        std::slice::from_ref(&b.contact),
        std::slice::from_ref(&a2),
    )
    .await?;
    assert_eq!(registrations::load_all(&db).await?, vec![a2]);
    registrations::apply(&db, aor, &[], &[b]).await?;
    let removed = registrations::delete_expired(&db, now + Duration::from_secs(2)).await?;
    assert_eq!(removed, 1);
    assert_eq!(registrations::count(&db).await?, 1);
    Ok(())
}
