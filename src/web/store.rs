//! The web layer's tables in `switchboard.db` (migration 0002): `admin_users` (argon2id
//! hashes, role, failed-login counters and lock), `api_tokens` (SHA-256 of the secret only)
//! and `audit_log` (who changed what, when). Every function is one short statement on the
//! pool; the "last admin" rules are single conditional statements, so two concurrent
//! requests cannot both remove the second-to-last admin (SQLite has one writer).
//!
//! Depends on: `crate::db`, sqlx, serde.

use serde::Serialize;
use sqlx::Row;

use super::error::WebError;
use crate::db::Db;

/// What an account or a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Read only: every state-changing request is refused with 403.
    Viewer,
}

impl Role {
    /// `admin` or `viewer`, as stored and as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// Parses `admin` / `viewer` (exactly).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    fn from_column(s: &str) -> Result<Role, WebError> {
        Role::parse(s).ok_or_else(|| WebError::CorruptRole(s.to_owned()))
    }
}

/// An admin account as listed by the API (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Creation time, Unix ms.
    pub created: i64,
    /// Failed logins counted in the current window.
    pub failed_logins: i64,
    /// Logins are refused until this time (Unix ms; 0 or past: not locked).
    pub locked_until: i64,
}

/// An account with its password hash, for login.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub account: Account,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// An API token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    /// Its id (path of `DELETE /api/v1/tokens/{id}`).
    pub id: i64,
    /// A label chosen at creation.
    pub name: String,
    /// What requests with it may do.
    pub role: Role,
    /// Creation time, Unix ms.
    pub created: i64,
    /// Who created it.
    pub created_by: String,
    /// Last request authenticated with it, Unix ms.
    pub last_used: Option<i64>,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Increasing id.
    pub id: i64,
    /// When, Unix ms.
    pub at: i64,
    /// Who: an account name, `token:<name>`, `cli` or `system`.
    pub actor: String,
    /// What, e.g. `account.create`, `token.delete`, `login`.
    pub action: String,
    /// On what (account name, token id).
    pub target: String,
    /// Details as JSON (never a password or token).
    pub detail: serde_json::Value,
}

/// Result of a change that may hit the "last admin" rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Done.
    Done,
    /// No such account.
    NotFound,
    /// Refused: it would leave no admin.
    LastAdmin,
}

/// Failed-login limits: `max_failures` within `window_ms` lock for `lock_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures that trigger the lock.
    pub max_failures: u32,
    /// Window in which they are counted, ms.
    pub window_ms: i64,
    /// Length of the lock, ms.
    pub lock_ms: i64,
}

impl Default for LockoutPolicy {
    /// 5 failures in 15 minutes lock for 15 minutes.
    fn default() -> LockoutPolicy {
        LockoutPolicy {
            max_failures: 5,
            window_ms: 15 * 60_000,
            lock_ms: 15 * 60_000,
        }
    }
}

/// Query functions over the web tables; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

const ACCOUNT_COLUMNS: &str = "name, role, created, failed_logins, locked_until, password_hash";

/// SQL condition: the account `?` is not the only admin.
const NOT_LAST_ADMIN: &str =
    "(role <> 'admin' OR (SELECT count(*) FROM admin_users WHERE role = 'admin') > 1)";

impl Store {
    /// A store over the opened (and migrated) database.
    pub fn new(db: Db) -> Store {
        Store { db }
    }

    fn account_from(row: &sqlx::sqlite::SqliteRow) -> Result<Credentials, WebError> {
        let role: String = row.try_get("role")?;
        Ok(Credentials {
            account: Account {
                name: row.try_get("name")?,
                role: Role::from_column(&role)?,
                created: row.try_get("created")?,
                failed_logins: row.try_get("failed_logins")?,
                locked_until: row.try_get("locked_until")?,
            },
            password_hash: row.try_get("password_hash")?,
        })
    }

    /// The account `name` with its hash.
    pub async fn credentials(&self, name: &str) -> Result<Option<Credentials>, WebError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_users WHERE name = ?");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(Self::account_from).transpose()
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, WebError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_users ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|r| Self::account_from(r).map(|c| c.account))
            .collect()
    }

    /// Number of accounts with the admin role.
    pub async fn admin_count(&self) -> Result<i64, WebError> {
        let row = sqlx::query("SELECT count(*) AS n FROM admin_users WHERE role = 'admin'")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Creates an account; `false` when the name is taken.
    pub async fn create_account(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<bool, WebError> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO admin_users (name, password_hash, role, created) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(name)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now_ms)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes the role and/or password of `name`; a new password also clears the failure
    /// count and the lock. Demoting the last admin is refused.
    pub async fn update_account(
        &self,
        name: &str,
        role: Option<Role>,
        password_hash: Option<&str>,
    ) -> Result<Change, WebError> {
        let guard = if role == Some(Role::Viewer) {
            format!(" AND {NOT_LAST_ADMIN}")
        } else {
            String::new()
        };
        let sql = format!(
            "UPDATE admin_users SET role = coalesce(?, role), \
             password_hash = coalesce(?, password_hash), \
             failed_logins = CASE WHEN ? IS NULL THEN failed_logins ELSE 0 END, \
             locked_until = CASE WHEN ? IS NULL THEN locked_until ELSE 0 END \
             WHERE name = ?{guard}"
        );
        let done = sqlx::query(&sql)
            .bind(role.map(Role::as_str))
            .bind(password_hash)
            .bind(password_hash)
            .bind(password_hash)
            .bind(name)
            .execute(self.db.pool())
            .await?;
        self.change_outcome(name, done.rows_affected()).await
    }

    /// Deletes `name`, unless it is the last admin.
    pub async fn delete_account(&self, name: &str) -> Result<Change, WebError> {
        let sql = format!("DELETE FROM admin_users WHERE name = ? AND {NOT_LAST_ADMIN}");
        let done = sqlx::query(&sql).bind(name).execute(self.db.pool()).await?;
        self.change_outcome(name, done.rows_affected()).await
    }

    async fn change_outcome(&self, name: &str, rows: u64) -> Result<Change, WebError> {
        if rows == 1 {
            return Ok(Change::Done);
        }
        Ok(match self.credentials(name).await? {
            Some(_) => Change::LastAdmin,
            None => Change::NotFound,
        })
    }

    /// Counts a failed login of `name` (a failure older than the window starts a new
    /// count); at `max_failures` the account is locked. Returns the lock end when locked.
    pub async fn record_failed_login(
        &self,
        name: &str,
        now_ms: i64,
        policy: LockoutPolicy,
    ) -> Result<Option<i64>, WebError> {
        let row = sqlx::query(
            "UPDATE admin_users SET failed_logins = CASE WHEN last_failed < ? THEN 1 \
             ELSE failed_logins + 1 END, last_failed = ? WHERE name = ? RETURNING failed_logins",
        )
        .bind(now_ms - policy.window_ms)
        .bind(now_ms)
        .bind(name)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let failures: i64 = row.try_get("failed_logins")?;
        if failures < i64::from(policy.max_failures) {
            return Ok(None);
        }
        let until = now_ms + policy.lock_ms;
        sqlx::query("UPDATE admin_users SET failed_logins = 0, locked_until = ? WHERE name = ?")
            .bind(until)
            .bind(name)
            .execute(self.db.pool())
            .await?;
        Ok(Some(until))
    }

    /// A successful login: the failure count starts again.
    pub async fn record_login(&self, name: &str) -> Result<(), WebError> {
        sqlx::query("UPDATE admin_users SET failed_logins = 0 WHERE name = ?")
            .bind(name)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Stores a new token (its SHA-256 only) and returns its id.
    pub async fn create_token(
        &self,
        name: &str,
        digest: &str,
        role: Role,
        created_by: &str,
        now_ms: i64,
    ) -> Result<i64, WebError> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (name, token_sha256, role, created, created_by) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(digest)
        .bind(role.as_str())
        .bind(now_ms)
        .bind(created_by)
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    fn token_from(row: &sqlx::sqlite::SqliteRow) -> Result<ApiToken, WebError> {
        let role: String = row.try_get("role")?;
        Ok(ApiToken {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            role: Role::from_column(&role)?,
            created: row.try_get("created")?,
            created_by: row.try_get("created_by")?,
            last_used: row.try_get("last_used")?,
        })
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, WebError> {
        let rows = sqlx::query(
            "SELECT id, name, role, created, created_by, last_used FROM api_tokens ORDER BY id DESC",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(Self::token_from).collect()
    }

    /// The token whose secret hashes to `digest`, stamping its `last_used`.
    pub async fn use_token(&self, digest: &str, now_ms: i64) -> Result<Option<ApiToken>, WebError> {
        let row = sqlx::query(
            "UPDATE api_tokens SET last_used = ? WHERE token_sha256 = ? \
             RETURNING id, name, role, created, created_by, last_used",
        )
        .bind(now_ms)
        .bind(digest)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(Self::token_from).transpose()
    }

    /// Deletes token `id`; `false` when there is none.
    pub async fn delete_token(&self, id: i64) -> Result<bool, WebError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = ?")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends an audit row.
    pub async fn audit(
        &self,
        now_ms: i64,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), WebError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(now_ms)
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail.to_string())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The newest `limit` audit rows with an id below `before` (all when `None`), newest first.
    pub async fn audit_entries(
        &self,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, WebError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, detail FROM audit_log \
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get("detail")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
