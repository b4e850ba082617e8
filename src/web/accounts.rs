//! Account rules shared by the API and the command line: what a valid name and password
//! are, the first-start admin account ([`ensure_admin`]) and `switchboard admin
//! set-password` ([`set_password`]).
//!
//! Depends on: `super::{store, password, error}`.

use serde_json::json;

use super::error::WebError;
use super::password::{random_password, PasswordPolicy};
use super::store::{Change, Role, Store};

/// Name of the account created at first start.
pub const FIRST_ADMIN: &str = "admin";

/// Longest account name.
const MAX_NAME: usize = 64;
/// Shortest accepted password.
pub const MIN_PASSWORD: usize = 8;
/// Longest accepted password (argon2 is fed the whole of it: no megabyte passwords).
const MAX_PASSWORD: usize = 1024;

/// Checks an account or token name: 1–64 characters of `A-Z a-z 0-9 _ . @ -`.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err("must be 1 to 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b))
    {
        return Err("may contain only letters, digits, '_', '.', '@' and '-'");
    }
    Ok(())
}

/// Checks a password: 8 to 1024 characters.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err("must be at least 8 characters");
    }
    if n > MAX_PASSWORD {
        return Err("must be at most 1024 characters");
    }
    Ok(())
}

/// First start: when no account has the admin role, creates [`FIRST_ADMIN`] with a random
/// password, logs it ONCE at WARN and returns it. `None` when an admin exists.
pub async fn ensure_admin(
    store: &Store,
    policy: &PasswordPolicy,
    now_ms: i64,
) -> Result<Option<String>, WebError> {
    if store.admin_count().await? > 0 {
        return Ok(None);
    }
    let password = random_password()?;
    let hash = policy.hash(&password).await?;
    if !store
        .create_account(FIRST_ADMIN, &hash, Role::Admin, now_ms)
        .await?
    {
        tracing::warn!(
            account = FIRST_ADMIN,
            "no web account has the admin role and `admin` exists as a viewer: run \
             `switchboard admin set-password --role admin admin` to regain access"
        );
        return Ok(None);
    }
    store
        .audit(
            now_ms,
            "system",
            "account.create",
            FIRST_ADMIN,
            json!({"role": "admin", "first_start": true}),
        )
        .await?;
    tracing::warn!(
        account = FIRST_ADMIN,
        password = %password,
        "web admin account created with this random password; it is shown only this once: \
         log in and change it, or set another with `switchboard admin set-password admin`"
    );
    Ok(Some(password))
}

/// What [`set_password`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetPassword {
    /// The account was created with this role.
    Created(Role),
    /// The existing account got the new password (and the role, when one was given).
    Updated,
}

/// `switchboard admin set-password`: sets `name`'s password (clearing any lock), creating
/// the account when missing (role `role`, default admin). Audited with actor `cli`.
pub async fn set_password(
    store: &Store,
    policy: &PasswordPolicy,
    name: &str,
    password: &str,
    role: Option<Role>,
    now_ms: i64,
) -> Result<SetPassword, WebError> {
    check_name(name).map_err(|message| WebError::Invalid {
        field: "name",
        message,
    })?;
    check_password(password).map_err(|message| WebError::Invalid {
        field: "password",
        message,
    })?;
    let hash = policy.hash(password).await?;
    let outcome = match store.update_account(name, role, Some(&hash)).await? {
        Change::Done => SetPassword::Updated,
        Change::LastAdmin => return Err(WebError::LastAdmin),
        Change::NotFound => {
            let role = role.unwrap_or(Role::Admin);
            if !store.create_account(name, &hash, role, now_ms).await? {
                // Created concurrently: set it again.
                store.update_account(name, None, Some(&hash)).await?;
                SetPassword::Updated
            } else {
                SetPassword::Created(role)
            }
        }
    };
    let detail = match outcome {
        SetPassword::Created(r) => json!({"created": true, "role": r.as_str()}),
        SetPassword::Updated => json!({"password_changed": true, "role": role.map(Role::as_str)}),
    };
    store
        .audit(now_ms, "cli", "account.set_password", name, detail)
        .await?;
    Ok(outcome)
}
