//! Many REGISTERs at once (multi-threaded runtime): per-AOR ordering holds, none is lost,
//! and after the group commits the database rows equal the in-memory bindings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use tokio::task::JoinSet;

use super::*;
use crate::db::{registrations, unix_ms};
use crate::runtime::Lifecycle;

/// Users 2000.. plus the AOR under test.
async fn registrar(users: usize) -> anyhow::Result<(tempfile::TempDir, Arc<Registrar>)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("c.sqlite")).await?;
    let names: Vec<(String, String)> = (0..users)
        .map(|i| (format!("{}", 2000 + i), format!("pw{}", 2000 + i)))
        .chain([("1001".to_owned(), "pw1001".to_owned())])
        .collect();
    let configured: Vec<ConfiguredUser<'_>> = names
        .iter()
        .map(|(u, p)| ConfiguredUser {
            username: u,
            password: p,
            display_name: None,
            loopback_only: false,
        })
        .collect();
    seed_users(&db, DOMAIN, &configured).await?;
    let settings = RegistrarSettings {
        sha256_first: true,
        ..RegistrarSettings::new(DOMAIN)
    };
    let registrar = Registrar::new(db, settings, &Lifecycle::new()).await?;
    Ok((dir, Arc::new(registrar)))
}

/// Challenge, then the authenticated REGISTER; returns the final status.
async fn register_as(
    registrar: &Registrar,
    user: &str,
    call_id: &str,
    cseq: u32,
    contact: &str,
    now: SystemTime,
) -> anyhow::Result<u16> {
    let first = register(user, call_id, cseq, &format!("Contact: <{contact}>\r\n"))?;
    let challenge = registrar.handle(&first, &local(), now).await;
    anyhow::ensure!(
        challenge.status == 401,
        "expected 401, got {}",
        challenge.status
    );
    let mut client = Client::from_challenge(&challenge, user, &format!("pw{user}"))?;
    let auth = client.header("REGISTER", &format!("sip:{DOMAIN}"));
    let extra = format!("Contact: <{contact}>\r\nAuthorization: {auth}\r\n");
    let req = register(user, call_id, cseq + 1, &extra)?;
    Ok(registrar.handle(&req, &local(), now).await.status)
}

/// (aor, contact) → (call-id, cseq, expires ms) as stored and as held in memory.
type Rows = BTreeMap<(String, String), (String, u32, i64)>;

async fn db_rows(registrar: &Registrar) -> anyhow::Result<Rows> {
    Ok(registrations::load_all(registrar.registrar_db())
        .await?
        .into_iter()
        .map(|r| {
            (
                (r.aor, r.contact),
                (r.call_id, r.cseq, unix_ms(r.expires_at)),
            )
        })
        .collect())
}

fn memory_rows(registrar: &Registrar, aors: &[String]) -> Rows {
    aors.iter()
        .flat_map(|aor| registrar.contacts_for(aor))
        .map(|b| {
            let r = b.to_row();
            (
                (r.aor, r.contact),
                (r.call_id, r.cseq, unix_ms(r.expires_at)),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registers_lose_nothing_and_memory_equals_db() -> anyhow::Result<()> {
    const USERS: usize = 40;
    const SAME_AOR_CONTACTS: usize = 24;
    let (_dir, registrar) = registrar(USERS).await?;
    let now = SystemTime::now();
    let mut tasks = JoinSet::new();
    // Different AORs: two contacts each, from two REGISTERs racing each other.
    for i in 0..USERS {
        for device in 0..2 {
            let registrar = registrar.clone();
            tasks.spawn(async move {
                let user = format!("{}", 2000 + i);
                let contact = format!("sip:{user}@192.0.2.{device}:5060");
                register_as(
                    &registrar,
                    &user,
                    &format!("d{i}-{device}"),
                    1,
                    &contact,
                    now,
                )
                .await
            });
        }
    }
    // One AOR: many devices at once (none may be lost)...
    for device in 0..SAME_AOR_CONTACTS {
        let registrar = registrar.clone();
        tasks.spawn(async move {
            let contact = format!("sip:1001@198.51.100.{device}:5060");
            register_as(
                &registrar,
                "1001",
                &format!("dev{device}"),
                1,
                &contact,
                now,
            )
            .await
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.push(done??);
    }
    assert!(statuses.iter().all(|&s| s == 200), "statuses: {statuses:?}");

    // ... and one device re-registering with one Call-ID and racing CSeqs: whatever the
    // order, the highest CSeq is never refused and is what remains (RFC 3261 §10.3 step 7).
    let mut tasks = JoinSet::new();
    for cseq in (10..40).step_by(2) {
        let registrar = registrar.clone();
        tasks.spawn(async move {
            register_as(
                &registrar,
                "1001",
                "refresh",
                cseq,
                "sip:1001@203.0.113.9:5060",
                now,
            )
            .await
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.push(done??);
    }
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 500),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));

    let aors: Vec<String> = (0..USERS)
        .map(|i| registrar.aor_for(&format!("{}", 2000 + i)))
        .chain([AOR.to_owned()])
        .collect();
    let memory = memory_rows(&registrar, &aors);
    assert_eq!(memory.len(), USERS * 2 + SAME_AOR_CONTACTS + 1);
    let refreshed = memory
        .get(&(AOR.to_owned(), "sip:1001@203.0.113.9:5060".to_owned()))
        .context("refreshed binding")?;
    // The last REGISTER of the race carries CSeq 38 + 1 (after its challenge).
    assert_eq!((refreshed.0.as_str(), refreshed.1), ("refresh", 39));
    assert_eq!(db_rows(&registrar).await?, memory);
    assert_eq!(registrar.binding_count(), memory.len());
    // Every AOR lock is free again: the sweep prunes them all.
    registrar.sweep(now).await;
    assert_eq!(registrar.aor_locks.len(), 0);
    Ok(())
}

#[tokio::test]
async fn users_added_after_start_authenticate_after_reload() -> anyhow::Result<()> {
    let (_dir, registrar) = registrar(0).await?;
    let now = SystemTime::now();
    let late = ConfiguredUser {
        username: "3000",
        password: "pw3000",
        display_name: None,
        loopback_only: false,
    };
    users::upsert(
        registrar.registrar_db(),
        &super::super::user_record(DOMAIN, &late),
    )
    .await?;
    // Not in the in-memory directory yet: unknown user.
    let status = register_as(&registrar, "3000", "late", 1, "sip:3000@192.0.2.7", now).await?;
    assert_eq!(status, 403);
    assert_eq!(registrar.reload_users().await?, 2);
    let status = register_as(&registrar, "3000", "late2", 1, "sip:3000@192.0.2.7", now).await?;
    assert_eq!(status, 200);
    Ok(())
}
