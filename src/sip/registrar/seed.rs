//! Seeding the `users` table from configuration: clear-text passwords from the config files
//! are hashed into HA1 values here (RFC 2617 §3.2.2.2, RFC 7616 §3.4.2) and only those are
//! stored; users removed from the configuration are deleted.

use crate::db::users::{self, SyncSummary, UserRecord, ORIGIN_CONFIG};
use crate::db::{Db, DbError};
use crate::sip::auth::{ha1, Algorithm};

/// One extension as configured. The password is hashed by [`seed_users`] and dropped.
#[derive(Clone, Copy)]
pub struct ConfiguredUser<'a> {
    /// User name / extension.
    pub username: &'a str,
    /// Clear-text password from the configuration.
    pub password: &'a str,
    /// Display name for caller id.
    pub display_name: Option<&'a str>,
    /// The password is well known (shipped default): accept this user only from loopback.
    pub loopback_only: bool,
}

impl std::fmt::Debug for ConfiguredUser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("ConfiguredUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("loopback_only", &self.loopback_only)
            .finish_non_exhaustive()
    }
}

/// The stored form of `user` in `realm` (HA1 for MD5 and SHA-256, origin `config`).
pub fn user_record(realm: &str, user: &ConfiguredUser<'_>) -> UserRecord {
    UserRecord {
        realm: realm.to_owned(),
        username: user.username.to_owned(),
        display_name: user.display_name.map(str::to_owned),
        ha1_md5: ha1(Algorithm::Md5, user.username, realm, user.password),
        ha1_sha256: ha1(Algorithm::Sha256, user.username, realm, user.password),
        loopback_only: user.loopback_only,
        origin: ORIGIN_CONFIG.to_owned(),
    }
}

/// Makes the configured users of the database exactly `users` (one transaction).
pub async fn seed_users(
    db: &Db,
    realm: &str,
    users: &[ConfiguredUser<'_>],
) -> Result<SyncSummary, DbError> {
    let records: Vec<UserRecord> = users.iter().map(|u| user_record(realm, u)).collect();
    let summary = users::sync_origin(db, ORIGIN_CONFIG, &records).await?;
    tracing::info!(
        upserted = summary.upserted,
        deleted = summary.deleted,
        "configured users seeded"
    );
    Ok(summary)
}
