//! The administration web server (issue 6): an axum application serving the JSON API under
//! `/api/v1` — login sessions, API tokens, admin accounts, the audit log and the system
//! status. Pages, the live-call WebSocket, CDR views, OpenAPI and metrics come next.
//!
//! ```text
//!  request ─► router ─► /api/v1/login (open) ──────────────────────────► api::session
//!                   └─► everything else ─► auth::require_login ─► api::{session, accounts,
//!                         (session cookie or bearer token → 401;          tokens, audit, status}
//!                          CSRF on POST/PUT/PATCH/DELETE → 403)            AdminOnly → 403 viewer
//! ```
//!
//! State ([`WebState`]): the account [`store::Store`] over `switchboard.db`, the in-memory
//! [`session::Sessions`] and [`session::AddressLimiter`], the call registry and the CDR
//! pipeline's health (for `/api/v1/status`), and the counters for `/metrics`.
//!
//! Depends on: `crate::{config, db, runtime, switch::call, cdr::pipeline}`, axum, argon2, ring.
//! Never uses the server assembly module (it sits above this one and wires it).

pub mod accounts;
mod api;
pub mod auth;
mod charts;
pub mod error;
pub mod live;
pub mod metrics;
mod pages;
pub mod password;
pub mod session;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::cdr::pipeline::CdrHandle;
use crate::config::WebSettings;
use crate::db::{unix_ms, Db};
use crate::dialplan::Reloader;
use crate::runtime::Lifecycle;
use crate::sip::endpoint::SipHandle;
use crate::sip::registrar::Registrar;
use crate::switch::bus::EventBus;
use crate::switch::call::CallRegistry;
use crate::switch::gateways::LiveGateways;

pub use error::{ApiError, WebError};
pub use password::PasswordPolicy;
pub use session::{AddressLimiter, Sessions};
pub use store::{LockoutPolicy, Role, Store};

/// Everything [`WebState::new`] needs.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// The opened `switchboard.db` (migration 0002 applied by [`Db::open`]).
    pub db: Db,
    /// `[web]` settings (session lifetime).
    pub settings: WebSettings,
    /// Live calls and channels.
    pub calls: CallRegistry,
    /// The CDR pipeline (`None` when `[cdr] enabled = false`).
    pub cdr: Option<CdrHandle>,
    /// Mark the session cookie `Secure` (set when the server is reached over HTTPS).
    pub secure_cookies: bool,
    /// argon2 cost of new hashes (default: OWASP).
    pub passwords: PasswordPolicy,
    /// Failed-login limits, per account and per client address.
    pub lockout: LockoutPolicy,
    /// The switch's parts the admin pages read and change (all `None` in API-only tests).
    pub services: WebServices,
}

/// Handles on the running switch that the pages and API act on; each is `None` when the
/// web state is built without a switch (unit tests), and the endpoints using it answer 503.
#[derive(Debug, Clone, Default)]
pub struct WebServices {
    /// Users (extensions) and their registrations.
    pub registrar: Option<Arc<Registrar>>,
    /// Channel events (live calls).
    pub bus: Option<EventBus>,
    /// The gateways in force.
    pub gateways: Option<LiveGateways>,
    /// The dialplan in force, its directory, and the reload the control socket also uses.
    pub dialplan: Option<Reloader>,
    /// `<data>/cdr.db` (CDR search, reports, export), when CDRs are enabled.
    pub cdr_db: Option<PathBuf>,
    /// The SIP endpoint (gateway health checks).
    pub sip: Option<SipHandle>,
    /// The data directory (`switchboard.db`, `cdr.db`, recordings), for storage figures.
    pub data_dir: Option<PathBuf>,
}

impl WebOptions {
    /// Options with the default password policy and lockout, plain-HTTP cookies.
    pub fn new(
        db: Db,
        settings: WebSettings,
        calls: CallRegistry,
        cdr: Option<CdrHandle>,
    ) -> WebOptions {
        WebOptions {
            db,
            settings,
            calls,
            cdr,
            secure_cookies: false,
            passwords: PasswordPolicy::default(),
            lockout: LockoutPolicy::default(),
            services: WebServices::default(),
        }
    }
}

/// Counters exported later at `/metrics`.
#[derive(Debug, Default)]
pub struct WebMetrics {
    /// Failed login attempts (wrong password, unknown account, locked).
    pub failed_logins: AtomicU64,
}

/// The application state shared by every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct WebState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    sessions: Sessions,
    limiter: AddressLimiter,
    lockout: LockoutPolicy,
    passwords: PasswordPolicy,
    secure_cookies: bool,
    calls: CallRegistry,
    cdr: Option<CdrHandle>,
    metrics: WebMetrics,
    /// Handles on the running switch.
    services: WebServices,
    /// Live calls (batched WebSocket feed, snapshot cache) and the calls-per-second ring.
    live: live::Live,
    /// The data endpoints' state: the CDR query handle (opened on first use) and the lock
    /// serialising dialplan saves.
    data: api::DataState,
    /// `[web]` as configured (e.g. `metrics_public`).
    settings: WebSettings,
    /// When the state was built (uptime).
    started: Instant,
    /// A hash verified against when the account does not exist, so an unknown name takes
    /// as long as a wrong password (no account enumeration by timing).
    dummy_hash: OnceCell<String>,
}

impl WebState {
    /// Builds the state.
    pub fn new(options: WebOptions) -> WebState {
        let lock = Duration::from_millis(u64::try_from(options.lockout.lock_ms).unwrap_or(0));
        let window = Duration::from_millis(u64::try_from(options.lockout.window_ms).unwrap_or(0));
        WebState {
            inner: Arc::new(Inner {
                store: Store::new(options.db),
                sessions: Sessions::new(options.settings.session_lifetime),
                settings: options.settings,
                limiter: AddressLimiter::new(options.lockout.max_failures, window, lock),
                lockout: options.lockout,
                passwords: options.passwords,
                secure_cookies: options.secure_cookies,
                calls: options.calls,
                cdr: options.cdr,
                metrics: WebMetrics::default(),
                services: options.services,
                live: live::Live::new(),
                data: api::DataState::default(),
                started: Instant::now(),
                dummy_hash: OnceCell::new(),
            }),
        }
    }

    /// The account, token and audit tables.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The login sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// Handles on the running switch.
    pub fn services(&self) -> &WebServices {
        &self.inner.services
    }

    /// `[web]` as configured.
    pub fn settings(&self) -> &WebSettings {
        &self.inner.settings
    }

    /// The counters for `/metrics`.
    pub fn metrics(&self) -> &WebMetrics {
        &self.inner.metrics
    }

    /// Failed logins so far.
    pub fn failed_logins(&self) -> u64 {
        self.inner.metrics.failed_logins.load(Ordering::Relaxed)
    }

    /// The argon2 policy for new hashes.
    pub fn passwords(&self) -> &PasswordPolicy {
        &self.inner.passwords
    }

    /// Appends an audit row for a change `actor` made now (who, what, on what, details).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), WebError> {
        self.store()
            .audit(self.now_ms(), actor, action, target, detail)
            .await
    }

    /// Wall-clock time in Unix ms (audit, tokens, account locks).
    pub fn now_ms(&self) -> i64 {
        unix_ms(SystemTime::now())
    }

    /// First start: creates the `admin` account with a random password logged once (see
    /// [`accounts::ensure_admin`]). Call once before serving.
    pub async fn ensure_admin(&self) -> Result<Option<String>, WebError> {
        accounts::ensure_admin(self.store(), self.passwords(), self.now_ms()).await
    }

    async fn dummy_hash(&self) -> Result<&str, WebError> {
        let hash = self
            .inner
            .dummy_hash
            .get_or_try_init(|| self.inner.passwords.hash("not a password"))
            .await?;
        Ok(hash.as_str())
    }
}

/// The whole application (every route, state attached), for [`serve`] and for tests that
/// drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: WebState) -> Router {
    let open = Router::new()
        .merge(pages::routes())
        .merge(metrics::routes());
    api::router(state, open)
}

/// Everything the server needs in one call: creates the first admin if there is none
/// ([`WebState::ensure_admin`]), binds `listen`, and serves on `lifecycle`'s tracker until
/// its shutdown token is cancelled. Returns the state (for metrics) and the bound address.
pub async fn start(
    mut options: WebOptions,
    listen: SocketAddr,
    lifecycle: &Lifecycle,
) -> Result<(WebState, SocketAddr), WebError> {
    let tls = if options.settings.tls {
        let (cert, key) = (
            options.settings.tls_cert.clone(),
            options.settings.tls_key.clone(),
        );
        // Also marks the session cookie Secure.
        Some(tls::prepare(&mut options, listen, cert, key)?)
    } else {
        None
    };
    let state = WebState::new(options);
    state.ensure_admin().await?;
    live::start(&state, lifecycle);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| WebError::Bind {
            addr: listen,
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| WebError::Bind {
        addr: listen,
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(addr = %bound, scheme, "web admin listening");
    let shutdown = lifecycle.shutdown.clone();
    let served = state.clone();
    lifecycle.tracker.spawn(async move {
        let result = match tls {
            Some(config) => tls::serve_tls(served, listener, config, shutdown).await,
            None => serve(served, listener, shutdown).await,
        };
        if let Err(error) = result {
            tracing::error!(%error, "web server stopped");
        }
    });
    Ok((state, bound))
}

/// Serves the application on `listener` until `shutdown` is cancelled (then in-flight
/// requests finish). Client addresses come from the socket (login limits per address).
pub async fn serve(
    state: WebState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
