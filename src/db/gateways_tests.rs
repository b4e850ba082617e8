//! `gateways` table against a real SQLite file.

use super::*;

fn row(name: &str, address: &str) -> GatewayRow {
    GatewayRow {
        name: name.into(),
        address: address.into(),
        transport: "udp".into(),
        trust_inbound_by_source: false,
        created: 1_000,
        updated: 1_000,
    }
}

async fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("open");
    (dir, db)
}

#[tokio::test]
async fn insert_get_update_delete_and_persist() {
    let (dir, db) = open().await;
    assert!(insert(&db, &row("carrier", "192.0.2.1:5060"))
        .await
        .expect("insert"));
    assert!(
        !insert(&db, &row("carrier", "192.0.2.9:5060"))
            .await
            .expect("dup"),
        "an existing name is not overwritten"
    );
    assert!(insert(&db, &row("alpha", "[2001:db8::1]:5061"))
        .await
        .expect("insert"));
    let names: Vec<String> = list(&db)
        .await
        .expect("list")
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["alpha", "carrier"], "sorted by name");
    assert_eq!(
        get(&db, "carrier").await.expect("get").map(|g| g.address),
        Some("192.0.2.1:5060".into())
    );

    let mut changed = row("carrier", "sip.example.net:5080");
    changed.transport = "tls".into();
    changed.trust_inbound_by_source = true;
    changed.created = 5;
    changed.updated = 2_000;
    assert!(update(&db, &changed).await.expect("update"));
    assert!(!update(&db, &row("nobody", "h:1"))
        .await
        .expect("update missing"));
    let got = get(&db, "carrier").await.expect("get").expect("present");
    assert_eq!(got.address, "sip.example.net:5080");
    assert_eq!(got.transport, "tls");
    assert!(got.trust_inbound_by_source);
    assert_eq!(
        (got.created, got.updated),
        (1_000, 2_000),
        "created is kept"
    );

    assert!(delete(&db, "alpha").await.expect("delete"));
    assert!(!delete(&db, "alpha").await.expect("delete again"));
    db.close().await;

    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("reopen");
    let all = list(&db).await.expect("list");
    assert_eq!(all, vec![got], "the change survives a reopen");
}

#[tokio::test]
async fn the_table_refuses_an_unknown_transport() {
    let (_dir, db) = open().await;
    let mut bad = row("x", "h:1");
    bad.transport = "sctp".into();
    assert!(insert(&db, &bad).await.is_err());
    assert!(list(&db).await.expect("list").is_empty());
}
