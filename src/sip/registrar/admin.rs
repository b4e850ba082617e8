//! Administrative changes to the user directory and bindings (the web admin's extension
//! pages): add, change and remove one user — the `users` row first, then the in-memory
//! directory, so the next REGISTER or INVITE sees the change without a reload — and drop
//! every binding of an AOR (database through the group-commit writer, then memory).
//!
//! Each change runs under the AOR's lock (`serial`), the same one REGISTER updates take:
//! two admin changes of one user cannot interleave their database and memory steps, and
//! a deletion's "drop the bindings" is ordered with the REGISTERs of that AOR.
//!
//! Depends on: `db::users`, the registrar's writer and location service.

use std::sync::{Arc, PoisonError};

use crate::db::users::{self, UserRecord};
use crate::db::DbError;

use super::Registrar;

impl Registrar {
    /// The digest realm users are stored under (HA1 = `H(user:realm:password)`).
    pub fn realm(&self) -> &str {
        &self.settings.realm
    }

    /// Whether `username` is a user of our realm (configured or added from the web).
    pub fn has_user(&self, username: &str) -> bool {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(username)
    }

    /// The in-memory record of `username` (what digest authentication checks against).
    pub fn user_record(&self, username: &str) -> Option<Arc<UserRecord>> {
        self.user(username)
    }

    /// Every user of the directory, by user name (numeric order for numbers of one length,
    /// shorter numbers first).
    pub fn user_records(&self) -> Vec<Arc<UserRecord>> {
        let mut list: Vec<Arc<UserRecord>> = self
            .users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        list.sort_by(|a, b| (a.username.len(), &a.username).cmp(&(b.username.len(), &b.username)));
        list
    }

    /// Adds `user` (its realm must be ours) to the database and the directory; false, and
    /// nothing changed, when the user exists already.
    pub async fn add_user(&self, user: UserRecord) -> Result<bool, DbError> {
        let _aor = self.aor_locks.lock(&self.aor_for(&user.username)).await;
        if !users::insert_new(&self.db, &user).await? {
            return Ok(false);
        }
        self.cache_user(user);
        Ok(true)
    }

    /// Changes `username`'s record: `change` gets the current one, read under the AOR's
    /// lock (so a concurrent change or deletion is seen, never overwritten), and returns
    /// the new one or refuses. `Ok(None)`: there is no such user (deleted meanwhile).
    pub async fn update_user<E: From<DbError>>(
        &self,
        username: &str,
        change: impl FnOnce(&UserRecord) -> Result<UserRecord, E>,
    ) -> Result<Option<UserRecord>, E> {
        let _aor = self.aor_locks.lock(&self.aor_for(username)).await;
        let Some(current) = self.user(username) else {
            return Ok(None);
        };
        let user = change(&current)?;
        users::upsert(&self.db, &user).await?;
        self.cache_user(user.clone());
        Ok(Some(user))
    }

    /// Removes `username` from the database and the directory, then drops every binding of
    /// its AOR (so calls stop reaching its phones at once). Returns `None` when there is no
    /// such user, else how many bindings were dropped.
    pub async fn remove_user(&self, username: &str) -> Result<Option<usize>, DbError> {
        let aor = self.aor_for(username);
        let _aor = self.aor_locks.lock(&aor).await;
        let removed = users::delete(&self.db, &self.settings.realm, username).await?;
        let cached = self
            .users
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(username)
            .is_some();
        if !removed && !cached {
            return Ok(None);
        }
        tracing::info!(user = username, "user removed from the directory");
        self.drop_bindings_locked(&aor).await.map(Some)
    }

    /// Drops every binding of `aor` (database through the writer, then memory); returns how
    /// many it had. Registered phones are not told: their next REGISTER is challenged again.
    pub async fn drop_bindings(&self, aor: &str) -> Result<usize, DbError> {
        let _aor = self.aor_locks.lock(aor).await;
        self.drop_bindings_locked(aor).await
    }

    /// The number of unexpired bindings of `username`'s AOR.
    pub fn registration_count(&self, username: &str) -> usize {
        self.contacts_for(&self.aor_for(username)).len()
    }

    /// [`Registrar::drop_bindings`] with the AOR's lock held by the caller.
    async fn drop_bindings_locked(&self, aor: &str) -> Result<usize, DbError> {
        let contacts: Vec<String> = self.snapshot(aor).iter().map(|b| b.key()).collect();
        if contacts.is_empty() {
            return Ok(0);
        }
        let n = contacts.len();
        // Committed before memory changes, like every registrar update.
        self.writer.apply(aor, contacts, Vec::new()).await?;
        self.install(aor, Vec::new());
        tracing::info!(%aor, bindings = n, "bindings dropped by the administrator");
        Ok(n)
    }

    /// Installs `user` in the in-memory directory.
    fn cache_user(&self, user: UserRecord) {
        self.users
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.username.clone(), Arc::new(user));
    }
}
