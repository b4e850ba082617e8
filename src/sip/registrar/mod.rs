//! The registrar (RFC 3261 §10.3) and location service.
//!
//! `REGISTER` requests are authenticated with digest ([`crate::sip::auth`]) against an
//! in-memory copy of the `users` table (loaded at start, refreshed by
//! [`Registrar::reload_users`]; no SQL per request), checked, and turned into an update of the
//! bindings of one address-of-record (AOR). Every update is committed to SQLite through the
//! group-commit writer ([`crate::db::writer`]) *before* the 200 is sent, so a restart keeps
//! the registrations; the in-memory [`Binding`] map serves [`Registrar::contacts_for`]
//! lookups for the call core without touching the database. Expired bindings are removed
//! by [`Registrar::sweep`] (run periodically by [`Registrar::spawn_sweeper`]).
//!
//! Ordering and durability of one update (under the AOR's lock, see `serial`):
//! snapshot → plan (§10.3 step 7) → writer commit (await ack) → install in memory → 200.
//! Memory is only changed after the commit succeeded, so it never lists a binding that is
//! not stored; if the commit fails the answer is 500 and memory keeps the previous bindings
//! (which are exactly what the rolled-back database still holds).
//!
//! ```text
//!  REGISTER ─► domain? ─► Require? ─► authenticated? ─► To = user? ─► contacts/expires ok? ─► CSeq in order?
//!               │403        │420         │401/403/400       │404/403      │400/423             │500
//!               ▼                                                                             ▼
//!                                               AOR lock ─► persist (group commit) ─► update memory ─► 200 (all bindings, Date)
//! ```
//!
//! Depends on: `db`, `sip::message`, `sip::transport` (Source, FlowId), `sip::auth`.

mod admin;
mod authn;
mod date;
mod listing;
mod location;
mod register;
mod seed;
mod serial;

pub use authn::AuthHeader;
pub use date::http_date;
pub use location::Binding;
pub use seed::{seed_users, user_record, ConfiguredUser};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::db::users::UserRecord;
use crate::db::writer::RegistrationWriter;
use crate::db::{self, Db, DbError};
use crate::runtime::Lifecycle;
use crate::sip::auth::{AuthError, DigestChallenger, DEFAULT_NONCE_TTL, DEFAULT_TRACKED_NONCES};
use location::Location;
use serial::AorLocks;

/// Registrar policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarSettings {
    /// The SIP domain we are registrar for (AORs are `sip:user@domain`).
    pub domain: String,
    /// Further host names accepted in the Request-URI and To (e.g. the server's DNS name).
    pub aliases: Vec<String>,
    /// Digest realm (usually the domain).
    pub realm: String,
    /// Shortest accepted registration in seconds; shorter non-zero ones get 423 (§10.3 step 7).
    pub min_expires: u32,
    /// Longest registration granted; longer requests are shortened.
    pub max_expires: u32,
    /// Expiry when the request gives none (§10.2.1.1).
    pub default_expires: u32,
    /// How long a digest nonce stays valid.
    pub nonce_ttl: Duration,
    /// Challenge with SHA-256 before MD5 (RFC 8760 §2.4); MD5 first when false.
    pub sha256_first: bool,
}

impl RegistrarSettings {
    /// Defaults for `domain`: realm = domain, min 60 s, max 3600 s, default 3600 s, nonce 300 s.
    pub fn new(domain: impl Into<String>) -> RegistrarSettings {
        let domain = domain.into();
        RegistrarSettings {
            realm: domain.clone(),
            domain,
            aliases: Vec::new(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            nonce_ttl: DEFAULT_NONCE_TTL,
            sha256_first: false,
        }
    }
}

/// Why the registrar could not start.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    /// Loading the stored bindings failed.
    #[error("cannot load registrations: {0}")]
    Db(#[from] DbError),
    /// The digest challenger could not be created.
    #[error("cannot create the digest challenger: {0}")]
    Auth(#[from] AuthError),
}

/// Most bindings one AOR may hold; more are refused (a bound on memory per user).
const MAX_BINDINGS_PER_AOR: usize = 32;

/// The registrar: shared behind an `Arc` by the endpoint and the call core.
#[derive(Debug)]
pub struct Registrar {
    /// Durable storage of users and bindings (reads at start-up and on reload).
    db: Db,
    /// The group-commit writer every binding change goes through.
    writer: RegistrationWriter,
    /// The users of our realm by user name, copied from `db::users` (the source of truth) so
    /// that authentication does no SQL. A std RwLock: read per request, replaced on reload,
    /// never held across an await.
    users: RwLock<HashMap<String, Arc<UserRecord>>>,
    /// Policy.
    settings: RegistrarSettings,
    /// Digest challenges and verification for REGISTER (and INVITE via
    /// [`Registrar::authenticate_request`]).
    challenger: DigestChallenger,
    /// Bindings per AOR. A std RwLock: `contacts_for` readers (every call) far outnumber
    /// writers, and no guard is held across an await.
    location: RwLock<Location>,
    /// Serialises "read bindings → persist → replace bindings" per AOR so concurrent
    /// REGISTERs for one AOR cannot lose updates; different AORs proceed in parallel.
    aor_locks: AorLocks,
}

impl Registrar {
    /// Creates the registrar: loads the users of the realm and the stored bindings (deleting
    /// those already expired), and spawns the group-commit writer on `lifecycle` (it drains
    /// its queue and stops when `lifecycle.shutdown` is cancelled).
    pub async fn new(
        db: Db,
        settings: RegistrarSettings,
        lifecycle: &Lifecycle,
    ) -> Result<Registrar, RegistrarError> {
        let now = SystemTime::now();
        let removed = db::registrations::delete_expired(&db, now).await?;
        let mut location = Location::default();
        let mut by_aor: std::collections::BTreeMap<String, Vec<Binding>> = Default::default();
        for row in db::registrations::load_all(&db).await? {
            let contact = row.contact.clone();
            match Binding::from_row(row) {
                Some(binding) => by_aor.entry(binding.aor.clone()).or_default().push(binding),
                None => tracing::warn!(%contact, "stored contact does not parse; ignored"),
            }
        }
        for (aor, bindings) in by_aor {
            location.replace(&aor, bindings);
        }
        tracing::info!(
            loaded = location.len(),
            expired = removed,
            "registrar bindings loaded"
        );
        let challenger = DigestChallenger::new(settings.nonce_ttl, DEFAULT_TRACKED_NONCES)?;
        let users = load_users(&db, &settings.realm).await?;
        tracing::info!(users = users.len(), realm = %settings.realm, "user directory loaded");
        let writer =
            RegistrationWriter::spawn(db.clone(), lifecycle.shutdown.clone(), &lifecycle.tracker);
        Ok(Registrar {
            db,
            writer,
            users: RwLock::new(users),
            settings,
            challenger,
            location: RwLock::new(location),
            aor_locks: AorLocks::default(),
        })
    }

    /// Reloads the in-memory user directory from `db::users` (call after changing users, e.g.
    /// after [`seed_users`]); returns how many users the realm has.
    pub async fn reload_users(&self) -> Result<usize, DbError> {
        let users = load_users(&self.db, &self.settings.realm).await?;
        let n = users.len();
        *self.users.write().unwrap_or_else(PoisonError::into_inner) = users;
        tracing::info!(users = n, "user directory reloaded");
        Ok(n)
    }

    /// The cached user record of `username` in our realm.
    fn user(&self, username: &str) -> Option<Arc<UserRecord>> {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(username)
            .cloned()
    }

    /// The settings in force.
    pub fn settings(&self) -> &RegistrarSettings {
        &self.settings
    }

    /// The canonical AOR of a user in our domain: `sip:user@domain`.
    pub fn aor_for(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.settings.domain.to_ascii_lowercase())
    }

    /// The current (unexpired) bindings of `aor`, highest `q` first.
    pub fn contacts_for(&self, aor: &str) -> Vec<Binding> {
        let now = SystemTime::now();
        let mut list: Vec<Binding> = self
            .location
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(aor)
            .iter()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect();
        // RFC 3261 §20.10: no q means 1.0.
        list.sort_by(|a, b| b.q.unwrap_or(1.0).total_cmp(&a.q.unwrap_or(1.0)));
        list
    }

    /// Number of bindings held in memory (expired ones count until swept).
    pub fn binding_count(&self) -> usize {
        self.location
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Removes the bindings expired at `now` from memory and the database; returns how many
    /// were removed from memory.
    ///
    /// No AOR lock is taken: removing expired bindings commutes with updates (a concurrent
    /// update drops expired bindings itself, and never re-stores an unchanged one).
    pub async fn sweep(&self, now: SystemTime) -> usize {
        let removed = self
            .location
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .sweep(now);
        if let Err(error) = self.writer.delete_expired(now).await {
            tracing::warn!(%error, "cannot delete expired registrations");
        }
        self.aor_locks.prune();
        if removed > 0 {
            tracing::debug!(removed, "expired bindings swept");
        }
        removed
    }

    /// Runs [`Registrar::sweep`] once now (bindings may have lapsed while we were down),
    /// then every `every` until `shutdown` is cancelled, on a task tracked by `tracker`.
    pub fn spawn_sweeper(
        self: Arc<Self>,
        every: Duration,
        shutdown: CancellationToken,
        tracker: &TaskTracker,
    ) {
        tracker.spawn(async move {
            self.sweep(SystemTime::now()).await;
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        self.sweep(SystemTime::now()).await;
                    }
                }
            }
        });
    }

    /// The bindings of `aor` as a snapshot (for an update).
    fn snapshot(&self, aor: &str) -> Vec<Binding> {
        self.location
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(aor)
            .to_vec()
    }

    /// Installs the new bindings of `aor` in memory (after they were persisted).
    fn install(&self, aor: &str, bindings: Vec<Binding>) {
        self.location
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(aor, bindings);
    }

    /// Whether `host` (from a Request-URI or To) names this registrar's domain.
    fn serves_host(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.settings.domain)
            || self
                .settings
                .aliases
                .iter()
                .any(|a| a.eq_ignore_ascii_case(host))
    }
}

/// The users of `realm` keyed by user name.
async fn load_users(db: &Db, realm: &str) -> Result<HashMap<String, Arc<UserRecord>>, DbError> {
    Ok(db::users::list_realm(db, realm)
        .await?
        .into_iter()
        .map(|u| (u.username.clone(), Arc::new(u)))
        .collect())
}

/// Whether `ip` is a loopback address (IPv4-mapped IPv6 included).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests;
