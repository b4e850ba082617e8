//! Per-AOR serialisation of registrar updates: "read bindings → plan → persist → install" of
//! one address-of-record runs under that AOR's async lock, so two REGISTERs for the same AOR
//! are applied one after the other (the later one sees the earlier one's bindings, RFC 3261
//! §10.3 step 7 CSeq ordering holds, none is lost), while REGISTERs of different AORs wait for
//! the database concurrently and share one group commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

/// The lock of each AOR that was ever updated. Entries are created on first use and pruned
/// by [`AorLocks::prune`] (the registrar's sweep); AORs are authenticated users' addresses,
/// so the map is bounded by the user directory.
#[derive(Debug, Default)]
pub(super) struct AorLocks {
    /// A std Mutex: held only to look up or insert an entry, never across an await.
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AorLocks {
    /// Waits for exclusive use of `aor`; released when the guard drops.
    pub(super) async fn lock(&self, aor: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            match map.get(aor) {
                Some(lock) => lock.clone(),
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    map.insert(aor.to_owned(), lock.clone());
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Drops the entries nobody holds or waits for (clones are only made under the map
    /// lock, so a count of 1 means "only the map").
    pub(super) fn prune(&self) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, lock| Arc::strong_count(lock) > 1);
    }

    /// Number of entries (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
