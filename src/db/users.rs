//! The `users` table: extensions that may register and place calls. A user is stored with
//! its HA1 digests (`H(username:realm:password)` for MD5 and SHA-256, RFC 2617 §3.2.2.2,
//! RFC 7616 §3.4.2), never with the password. Users seeded from configuration carry
//! `origin = 'config'` so that removing one from the config removes it here too; users
//! created from the web admin carry `origin = 'web'` and are left alone by the seeding.

use std::collections::HashSet;
use std::time::SystemTime;

use sqlx::{Row, SqliteConnection};

use super::{unix_ms, Db, DbError};

/// The `origin` of users created from the configuration files.
pub const ORIGIN_CONFIG: &str = "config";

/// The `origin` of users created from the web admin (kept across restarts and seeding).
pub const ORIGIN_WEB: &str = "web";

/// One row of `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Authentication realm (the SIP domain).
    pub realm: String,
    /// User name / extension, e.g. `1001`.
    pub username: String,
    /// Optional display name for caller id.
    pub display_name: Option<String>,
    /// Lowercase hex `MD5(username:realm:password)`.
    pub ha1_md5: String,
    /// Lowercase hex `SHA-256(username:realm:password)`.
    pub ha1_sha256: String,
    /// The password is a well-known default: refuse this user from non-loopback sources.
    pub loopback_only: bool,
    /// Where the user came from (`config` for seeded users).
    pub origin: String,
}

/// Inserts or replaces the user identified by (realm, username).
pub async fn upsert(db: &Db, user: &UserRecord) -> Result<(), DbError> {
    let mut conn = db.pool().acquire().await?;
    upsert_on(&mut conn, user, unix_ms(SystemTime::now())).await
}

async fn upsert_on(
    conn: &mut SqliteConnection,
    user: &UserRecord,
    now_ms: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO users (realm, username, display_name, ha1_md5, ha1_sha256, loopback_only, \
         origin, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (realm, username) DO UPDATE SET display_name = excluded.display_name, \
         ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256, \
         loopback_only = excluded.loopback_only, origin = excluded.origin, \
         updated_at = excluded.updated_at",
    )
    .bind(&user.realm)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.ha1_md5)
    .bind(&user.ha1_sha256)
    .bind(user.loopback_only)
    .bind(&user.origin)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts `user` unless (realm, username) exists; false (nothing written) when it does.
pub async fn insert_new(db: &Db, user: &UserRecord) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO users (realm, username, display_name, ha1_md5, ha1_sha256, loopback_only, \
         origin, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (realm, username) DO NOTHING",
    )
    .bind(&user.realm)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.ha1_md5)
    .bind(&user.ha1_sha256)
    .bind(user.loopback_only)
    .bind(&user.origin)
    .bind(unix_ms(SystemTime::now()))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the user (realm, username); false when there is none.
pub async fn delete(db: &Db, realm: &str, username: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM users WHERE realm = ?1 AND username = ?2")
        .bind(realm)
        .bind(username)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Looks a user up by realm and user name (exact, case-sensitive match).
pub async fn get(db: &Db, realm: &str, username: &str) -> Result<Option<UserRecord>, DbError> {
    let row = sqlx::query(
        "SELECT realm, username, display_name, ha1_md5, ha1_sha256, loopback_only, origin \
         FROM users WHERE realm = ?1 AND username = ?2",
    )
    .bind(realm)
    .bind(username)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(decode).transpose()
}

/// Every user of `realm` (the registrar's in-memory directory is loaded from this).
pub async fn list_realm(db: &Db, realm: &str) -> Result<Vec<UserRecord>, DbError> {
    let rows = sqlx::query(
        "SELECT realm, username, display_name, ha1_md5, ha1_sha256, loopback_only, origin \
         FROM users WHERE realm = ?1",
    )
    .bind(realm)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode).collect()
}

fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<UserRecord, DbError> {
    Ok(UserRecord {
        realm: row.try_get("realm")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        ha1_md5: row.try_get("ha1_md5")?,
        ha1_sha256: row.try_get("ha1_sha256")?,
        loopback_only: row.try_get("loopback_only")?,
        origin: row.try_get("origin")?,
    })
}

/// Deletes the users of `origin` whose user name is not in `keep` (users removed from the
/// configuration); returns how many were deleted. Runs in one transaction.
pub async fn delete_missing(db: &Db, origin: &str, keep: &[String]) -> Result<u64, DbError> {
    let mut tx = db.pool().begin().await?;
    let keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
    let deleted = delete_missing_on(&mut tx, origin, &keep).await?;
    tx.commit().await?;
    Ok(deleted)
}

async fn delete_missing_on(
    conn: &mut SqliteConnection,
    origin: &str,
    keep: &HashSet<&str>,
) -> Result<u64, DbError> {
    let rows = sqlx::query("SELECT realm, username FROM users WHERE origin = ?1")
        .bind(origin)
        .fetch_all(&mut *conn)
        .await?;
    let mut deleted = 0;
    for row in rows {
        let username: String = row.try_get("username")?;
        if keep.contains(username.as_str()) {
            continue;
        }
        let realm: String = row.try_get("realm")?;
        deleted += sqlx::query("DELETE FROM users WHERE realm = ?1 AND username = ?2")
            .bind(&realm)
            .bind(&username)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(deleted)
}

/// What [`sync_origin`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSummary {
    /// Users inserted or updated.
    pub upserted: u64,
    /// Users of the origin deleted because they are no longer listed.
    pub deleted: u64,
}

/// Makes the users of `origin` exactly `users` (each must carry that origin): upserts them
/// all and deletes the others of that origin, in one transaction. Used to seed the
/// configured extensions at start-up.
pub async fn sync_origin(
    db: &Db,
    origin: &str,
    users: &[UserRecord],
) -> Result<SyncSummary, DbError> {
    let now_ms = unix_ms(SystemTime::now());
    let mut tx = db.pool().begin().await?;
    for user in users {
        upsert_on(&mut tx, user, now_ms).await?;
    }
    let keep: HashSet<&str> = users.iter().map(|u| u.username.as_str()).collect();
    let deleted = delete_missing_on(&mut tx, origin, &keep).await?;
    tx.commit().await?;
    Ok(SyncSummary {
        upserted: u64::try_from(users.len()).unwrap_or(u64::MAX),
        deleted,
    })
}

/// Number of users.
pub async fn count(db: &Db) -> Result<u64, DbError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
