//! The store's rules on a real database: failure window and lock, unlock by a new
//! password, the last-admin guard, tokens by digest.

use super::*;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    (dir, Store::new(db))
}

const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 3,
    window_ms: 1_000,
    lock_ms: 10_000,
};

#[tokio::test]
async fn failures_outside_the_window_start_a_new_count() {
    let (_dir, s) = store().await;
    assert!(s
        .create_account("a", "h", Role::Admin, 0)
        .await
        .expect("create"));
    assert!(!s
        .create_account("a", "h", Role::Admin, 0)
        .await
        .expect("dup"));
    assert_eq!(
        s.record_failed_login("a", 10_000, POLICY).await.expect("f"),
        None
    );
    assert_eq!(
        s.record_failed_login("a", 10_500, POLICY).await.expect("f"),
        None
    );
    // 1.6 s after the previous one: the count starts again at 1.
    assert_eq!(
        s.record_failed_login("a", 12_100, POLICY).await.expect("f"),
        None
    );
    assert_eq!(
        s.record_failed_login("a", 12_200, POLICY).await.expect("f"),
        None
    );
    assert_eq!(
        s.record_failed_login("a", 12_300, POLICY).await.expect("f"),
        Some(22_300)
    );
    let c = s.credentials("a").await.expect("q").expect("a");
    assert_eq!(
        (c.account.locked_until, c.account.failed_logins),
        (22_300, 0)
    );
    // Unknown accounts are not counted here (the address limiter covers them).
    assert_eq!(
        s.record_failed_login("zz", 0, POLICY).await.expect("f"),
        None
    );
    // A new password unlocks.
    assert_eq!(
        s.update_account("a", None, Some("h2")).await.expect("u"),
        Change::Done
    );
    let c = s.credentials("a").await.expect("q").expect("a");
    assert_eq!(
        (c.account.locked_until, c.password_hash.as_str()),
        (0, "h2")
    );
}

#[tokio::test]
async fn the_last_admin_is_guarded() {
    let (_dir, s) = store().await;
    s.create_account("a", "h", Role::Admin, 0).await.expect("a");
    s.create_account("v", "h", Role::Viewer, 0)
        .await
        .expect("v");
    assert_eq!(s.delete_account("a").await.expect("d"), Change::LastAdmin);
    assert_eq!(
        s.update_account("a", Some(Role::Viewer), None)
            .await
            .expect("u"),
        Change::LastAdmin
    );
    assert_eq!(
        s.delete_account("nobody").await.expect("d"),
        Change::NotFound
    );
    assert_eq!(s.delete_account("v").await.expect("d"), Change::Done);
    s.create_account("b", "h", Role::Admin, 0).await.expect("b");
    assert_eq!(
        s.update_account("a", Some(Role::Viewer), None)
            .await
            .expect("u"),
        Change::Done
    );
    assert_eq!(s.admin_count().await.expect("n"), 1);
    let names: Vec<String> = s
        .accounts()
        .await
        .expect("l")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test]
async fn tokens_are_found_by_digest_and_stamped() {
    let (_dir, s) = store().await;
    let id = s
        .create_token("ci", "d1", Role::Viewer, "root", 5)
        .await
        .expect("create");
    assert_eq!(s.use_token("other", 9).await.expect("use"), None);
    let t = s.use_token("d1", 9).await.expect("use").expect("token");
    assert_eq!(
        (t.id, t.last_used, t.created_by.as_str()),
        (id, Some(9), "root")
    );
    assert!(s.delete_token(id).await.expect("delete"));
    assert!(!s.delete_token(id).await.expect("delete"));
    assert_eq!(s.use_token("d1", 10).await.expect("use"), None);
}
