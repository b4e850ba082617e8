//! Login sessions and the per-address login limiter, both in memory: a restart logs every
//! browser out (acceptable for an admin UI; the account lock itself is in the database).
//!
//! Sessions: a random 256-bit id (the `sb_session` cookie) maps to the account name, a
//! CSRF token and an expiry. The role is not cached: every request reads the account, so a
//! role change or a deletion applies at once. Expired sessions are removed when looked up
//! and swept when a new one is created.
//!
//! Depends on: `super::password` (random ids), std.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::error::WebError;
use super::password::random_hex256;

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The account name.
    pub name: String,
    /// The value `X-CSRF-Token` must carry on state-changing requests.
    pub csrf: String,
    /// When it stops being valid.
    pub expires: Instant,
}

/// The server-side session table; cheap to clone.
#[derive(Debug, Clone)]
pub struct Sessions {
    /// Held only for a map operation, never across an await: a std Mutex.
    map: Arc<Mutex<HashMap<String, Session>>>,
    lifetime: Duration,
}

impl Sessions {
    /// An empty table whose sessions last `lifetime`.
    pub fn new(lifetime: Duration) -> Sessions {
        Sessions {
            map: Arc::new(Mutex::new(HashMap::new())),
            lifetime,
        }
    }

    /// How long a session lasts (the cookie's `Max-Age`).
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a session for `name`; returns its id and the session.
    pub fn create(&self, name: &str, now: Instant) -> Result<(String, Session), WebError> {
        let id = random_hex256()?;
        let session = Session {
            name: name.to_owned(),
            csrf: random_hex256()?,
            expires: now + self.lifetime,
        };
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        map.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session `id` (an expired one is removed and `None`).
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.lock();
        match map.get(id) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id` (logout).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Ends every session of `name` except `keep` (password change, account deletion).
    pub fn remove_account(&self, name: &str, keep: Option<&str>) {
        self.lock()
            .retain(|id, s| s.name != name || Some(id.as_str()) == keep);
    }

    /// Number of sessions held (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Failed logins per client address: `max_failures` within `window` lock the address for
/// `lock` (whatever account it tries). Sans-IO: every call takes `now`.
#[derive(Debug, Clone)]
pub struct AddressLimiter {
    /// Held for one map operation, never across an await: a std Mutex.
    map: Arc<Mutex<HashMap<IpAddr, Failures>>>,
    max_failures: usize,
    window: Duration,
    lock: Duration,
}

#[derive(Debug, Default)]
struct Failures {
    times: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// Addresses tracked at most; beyond it the oldest-idle entries are dropped (a flood of
/// spoofed sources must not grow memory without bound).
const MAX_TRACKED_ADDRESSES: usize = 10_000;

impl AddressLimiter {
    /// A limiter with the given limits.
    pub fn new(max_failures: u32, window: Duration, lock: Duration) -> AddressLimiter {
        AddressLimiter {
            map: Arc::new(Mutex::new(HashMap::new())),
            max_failures: usize::try_from(max_failures).unwrap_or(usize::MAX).max(1),
            window,
            lock,
        }
    }

    fn lock_map(&self) -> MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Some(remaining)` while `ip` is locked.
    pub fn locked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let map = self.lock_map();
        let until = map.get(&ip)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure from `ip`; returns the lock length when this one locks it.
    pub fn failure(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.lock_map();
        if map.len() >= MAX_TRACKED_ADDRESSES && !map.contains_key(&ip) {
            let window = self.window;
            map.retain(|_, f| {
                f.locked_until.is_some_and(|u| u > now)
                    || f.times
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let entry = map.entry(ip).or_default();
        while entry
            .times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            entry.times.pop_front();
        }
        entry.times.push_back(now);
        if entry.times.len() >= self.max_failures {
            entry.times.clear();
            entry.locked_until = Some(now + self.lock);
            return Some(self.lock);
        }
        None
    }

    /// A successful login from `ip` clears its count.
    pub fn success(&self, ip: IpAddr) {
        self.lock_map().remove(&ip);
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
