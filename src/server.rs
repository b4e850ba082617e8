//! Server assembly: turns a loaded [`Config`] and a data directory into running tasks —
//! the dialplan (loaded first: a broken one fails the start) with its control socket and
//! SIGHUP reload ([`control`]), the database (with the extension directory seeded from
//! config), the registrar and its expiry sweeper, the TLS material, the transports, the SIP
//! endpoint, the call core and the CDR pipeline (subscribed to the call core's events
//! before the first call).
//!
//! This is the top of the layering: it may use every module.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cdr::pipeline::{CdrHandle, CdrPipeline, PipelineError};
use crate::config::{Config, ListenTransport};
use crate::db::{Db, DbError};
use crate::dialplan::{Dialplan, DialplanErrors, LiveDialplan};
use crate::media::sound::SoundLibrary;
use crate::media::{MediaError, PortPool};
use crate::runtime::{Admission, Lifecycle};
use crate::sip::endpoint::{Endpoint, EndpointSettings, IncomingRequest, SipHandle, INBOUND_QUEUE};
use crate::sip::message::Transport;
use crate::sip::registrar::{seed_users as seed_configured_users, ConfiguredUser};
use crate::sip::registrar::{Registrar, RegistrarError, RegistrarSettings};
use crate::sip::transaction::TimerConfig;
use crate::sip::transport::{cert, ListenerSpec, TransportError, TransportLayer, TransportOptions};
use crate::switch::bus::EventBus;
use crate::switch::call::{spawn_dispatcher, CallContext, CallCounts, CallRegistry, Globals};
use crate::switch::gateways::LiveGateways;
use crate::web::{WebError, WebOptions, WebServices, WebState};

pub mod control;

use control::{ControlError, Reloader};

/// Directory inside the data directory where `Record` writes its files.
pub const RECORDINGS_DIR: &str = "recordings";

/// Name of the SQLite database file inside the data directory.
pub const DATABASE_FILE: &str = "switchboard.db";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database could not be opened, migrated or seeded.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// A listener could not be bound, or TLS material could not be loaded or generated.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The registrar could not load its bindings.
    #[error("registrar: {0}")]
    Registrar(#[from] RegistrarError),
    /// The RTP port range is unusable.
    #[error("media: {0}")]
    Media(#[from] MediaError),
    /// The CDR database could not be opened or recovered, or the CSV directory prepared.
    #[error("{0}")]
    Cdr(#[from] PipelineError),
    /// The dialplan does not parse (every problem, `file:line:col: reason`).
    #[error("the dialplan does not load:\n{0}")]
    Dialplan(DialplanErrors),
    /// The control socket could not be set up (or another PBX uses the data directory).
    #[error("control socket: {0}")]
    Control(ControlError),
    /// The web admin could not start (its address is taken, or its accounts table failed).
    #[error("web admin: {0}")]
    Web(#[from] WebError),
}

/// A running server: what `main` keeps to shut it down cleanly.
#[derive(Debug)]
pub struct Server {
    db: Db,
    /// The addresses actually bound, per transport (port 0 in config resolves here).
    pub listeners: Vec<ListenerSpec>,
    /// The call core: event bus, live call counts, RTP port pool.
    pub calls: CallCore,
    /// The dialplan in force (swapped by `switchboard reload` and SIGHUP).
    pub dialplan: LiveDialplan,
    /// `<data>/control.sock` (removed when the lifecycle stops).
    pub control_socket: PathBuf,
    /// The CDR pipeline (`None` with `[cdr] enabled = false`).
    cdr: Option<CdrPipeline>,
    /// The web admin and the address it serves on (`None` with `[web] enabled = false`).
    pub web: Option<(WebState, SocketAddr)>,
}

/// What the server keeps of the call core (for consumers and leak checks).
#[derive(Debug, Clone)]
pub struct CallCore {
    /// Channel events (CDR, CEL, web subscribe here).
    pub bus: EventBus,
    /// Live calls and channels.
    pub registry: CallRegistry,
    /// The relay's port pool (`in_use()` is 0 when no call holds ports).
    pub ports: PortPool,
    /// Stops the call core only (a child of the server's shutdown token): see
    /// [`Server::drain_calls`].
    pub shutdown: CancellationToken,
    /// The gateways in force (configured ones, plus those the web admin adds).
    pub gateways: LiveGateways,
}

impl CallCore {
    /// Live calls, channels and RTP port pairs in use.
    pub fn counts(&self) -> (CallCounts, usize) {
        (self.registry.counts(), self.ports.in_use())
    }
}

impl Server {
    /// Ends every call while the SIP endpoint still runs (answered calls get their BYE,
    /// ringing ones 503 and CANCEL), then waits up to `grace` for the call actors to
    /// finish. Call it between the stop signal and `Lifecycle::stop_and_wait`; the
    /// server's own shutdown would otherwise stop the endpoint in the same instant.
    pub async fn drain_calls(&self, grace: Duration) {
        self.calls.shutdown.cancel();
        if tokio::time::timeout(grace, self.calls.registry.wait_idle())
            .await
            .is_err()
        {
            let (counts, ports) = self.calls.counts();
            tracing::warn!(
                live_calls = counts.calls,
                ports,
                "calls still ending at shutdown"
            );
        }
    }

    /// The CDR feed and health (`None` when CDRs are disabled).
    pub fn cdr(&self) -> Option<CdrHandle> {
        self.cdr.as_ref().map(CdrPipeline::handle)
    }

    /// Writes every CDR still queued (call it after [`Self::drain_calls`], so every channel
    /// has published its last event), then closes the databases (WAL checkpoint on close).
    pub async fn close(mut self) {
        if let Some(cdr) = self.cdr.take() {
            cdr.finish().await;
        }
        self.db.close().await;
    }
}

/// Starts every task of the server on `lifecycle` and returns once all listeners are bound.
pub async fn start(
    config: Config,
    data_dir: &Path,
    lifecycle: &Lifecycle,
) -> Result<Server, ServerError> {
    let (reloader, control_socket) = start_dialplan(&config, data_dir, lifecycle)?;
    let dialplan = reloader.live().clone();
    let db = Db::open(&data_dir.join(DATABASE_FILE)).await?;
    let seeded = seed_users(&db, &config).await?;
    tracing::info!(extensions = seeded, realm = %config.sip.realm, "extension directory seeded");

    let registrar = Arc::new(
        Registrar::new(
            db.clone(),
            RegistrarSettings {
                domain: config.sip.domain.clone(),
                aliases: Vec::new(),
                realm: config.sip.realm.clone(),
                min_expires: config.registrar.min_expires,
                max_expires: config.registrar.max_expires,
                default_expires: config.registrar.default_expires,
                nonce_ttl: config.registrar.nonce_ttl,
                sha256_first: config.registrar.sha256_first,
            },
            lifecycle,
        )
        .await?,
    );
    registrar.clone().spawn_sweeper(
        config.registrar.sweep_interval,
        lifecycle.shutdown.clone(),
        &lifecycle.tracker,
    );

    let listeners: Vec<ListenerSpec> = config
        .sip
        .listen
        .iter()
        .map(|l| ListenerSpec {
            transport: match l.transport {
                ListenTransport::Udp => Transport::Udp,
                ListenTransport::Tcp => Transport::Tcp,
                ListenTransport::Tls => Transport::Tls,
            },
            addr: l.address,
        })
        .collect();
    let tls = if config.sip.has_transport(ListenTransport::Tls) {
        let names = certificate_names(&config, &listeners);
        let tls = &config.sip.tls;
        Some(cert::load_or_generate_with_ca(
            tls.cert.as_deref(),
            tls.key.as_deref(),
            tls.ca_file.as_deref(),
            data_dir,
            &names,
        )?)
    } else {
        None
    };

    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
    let options = TransportOptions {
        max_message: config.sip.max_message_size,
        // A registered phone on TCP/TLS may stay silent until it re-registers: keep its
        // connection at least that long so calls to it can reuse the flow (RFC 5626 §3).
        idle_timeout: Duration::from_secs(u64::from(config.registrar.max_expires) + 60)
            .max(TransportOptions::default().idle_timeout),
        ..TransportOptions::default()
    };
    let transport = TransportLayer::start_with_options(
        &listeners,
        tls,
        options,
        inbound_tx,
        lifecycle.shutdown.clone(),
        lifecycle.tracker.clone(),
    )
    .await?;
    let bound = transport.listeners().to_vec();
    for l in &bound {
        tracing::info!(transport = l.transport.as_str(), addr = %l.addr, "listening");
    }
    let settings = EndpointSettings {
        server: config.sip.user_agent.clone(),
        acl: config.acl.clone(),
        timers: TimerConfig {
            t1: config.sip.timers.t1,
            t2: config.sip.timers.t2,
            t4: config.sip.timers.t4,
        },
    };
    let (sip, incoming) = Endpoint::spawn(
        settings,
        transport,
        registrar.clone(),
        inbound_rx,
        lifecycle,
    );
    let bus = EventBus::new();
    let admission = Admission::new();
    let cdr = if config.cdr.enabled {
        Some(CdrPipeline::start(&config.cdr, data_dir, &bus, admission.clone()).await?)
    } else {
        None
    };
    let web_settings = config.web.clone();
    let gateways =
        LiveGateways::load(db.clone(), config.gateways.clone(), config.acl.clone()).await?;
    let check = config.calls.gateway_check;
    if !check.is_zero() {
        crate::switch::gateways::Prober::new(gateways.clone(), sip.clone())
            .with_timing(check, crate::switch::gateways::PROBE_TIMEOUT.min(check))
            .spawn(lifecycle);
    }
    let calls = start_call_core(
        config,
        sip.clone(),
        registrar.clone(),
        gateways,
        incoming,
        &bound,
        bus,
        admission,
        dialplan.clone(),
        data_dir,
        lifecycle,
    )?;
    let web_listen = web_settings.listen;
    let web = if web_settings.enabled {
        let mut options = WebOptions::new(
            db.clone(),
            web_settings,
            calls.registry.clone(),
            cdr.as_ref().map(CdrPipeline::handle),
        );
        options.services = WebServices {
            registrar: Some(registrar),
            bus: Some(calls.bus.clone()),
            gateways: Some(calls.gateways.clone()),
            dialplan: Some(reloader),
            cdr_db: cdr
                .as_ref()
                .map(|_| data_dir.join(crate::cdr::pipeline::CDR_DATABASE_FILE)),
            sip: Some(sip),
            data_dir: Some(data_dir.to_path_buf()),
        };
        let (state, addr) = crate::web::start(options, web_listen, lifecycle).await?;
        tracing::info!(%addr, "web admin listening");
        Some((state, addr))
    } else {
        None
    };
    Ok(Server {
        db,
        listeners: bound,
        calls,
        dialplan,
        control_socket,
        cdr,
        web,
    })
}

/// Loads the dialplan (a parse error fails the start, with every `file:line:col`), then
/// opens the control socket and the SIGHUP handler that reload it. Returns the live
/// dialplan and the socket path.
fn start_dialplan(
    config: &Config,
    data_dir: &Path,
    lifecycle: &Lifecycle,
) -> Result<(Reloader, PathBuf), ServerError> {
    let dialplan = Dialplan::load_dir(&config.dialplan_dir).map_err(ServerError::Dialplan)?;
    let live = LiveDialplan::new(Arc::new(dialplan));
    let loaded = live.summary();
    tracing::info!(
        generation = loaded.generation,
        contexts = loaded.contexts,
        extensions = loaded.extensions,
        dir = %config.dialplan_dir.display(),
        "dialplan loaded"
    );
    let reloader = Reloader::new(live.clone(), config.dialplan_dir.clone());
    let socket = control::spawn_socket(data_dir, reloader.clone(), lifecycle)
        .map_err(ServerError::Control)?;
    control::spawn_sighup(reloader.clone(), lifecycle);
    Ok((reloader, socket))
}

/// Starts the call dispatcher on the endpoint's queue of new INVITEs, with the event bus,
/// the relay's port pool (`media.rtp_address`, else the first SIP listener's address), the
/// live dialplan, the sounds library (a missing directory is only a warning) and the
/// recordings directory `<data>/recordings`.
#[allow(clippy::too_many_arguments)]
fn start_call_core(
    config: Config,
    sip: SipHandle,
    registrar: Arc<Registrar>,
    gateways: LiveGateways,
    incoming: mpsc::Receiver<IncomingRequest>,
    bound: &[ListenerSpec],
    bus: EventBus,
    admission: Admission,
    dialplan: LiveDialplan,
    data_dir: &Path,
    lifecycle: &Lifecycle,
) -> Result<CallCore, ServerError> {
    let rtp_ip = config
        .media
        .rtp_address
        .or_else(|| bound.first().map(|l| l.addr.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let ports = PortPool::new(rtp_ip, config.media.rtp_port_min, config.media.rtp_port_max)?;
    tracing::info!(%rtp_ip, first = config.media.rtp_port_min, last = config.media.rtp_port_max, "RTP relay ports");
    warn_if_few_file_descriptors(config.media.rtp_port_min, config.media.rtp_port_max);
    let sounds_dir = config.media.sounds_dir.clone();
    if sounds_dir.is_dir() {
        tracing::info!(dir = %sounds_dir.display(), "sounds");
    } else {
        tracing::warn!(
            dir = %sounds_dir.display(),
            "sounds directory not found: Playback and the other prompts will fail \
             (set [media] sounds_dir or run --sounds)"
        );
    }
    let core = CallCore {
        bus,
        registry: CallRegistry::new(),
        ports,
        shutdown: lifecycle.shutdown.child_token(),
        gateways: gateways.clone(),
    };
    let ctx = Arc::new(CallContext {
        sip,
        registrar,
        config: Arc::new(config),
        bus: core.bus.clone(),
        ports: core.ports.clone(),
        registry: core.registry.clone(),
        lifecycle: Lifecycle {
            shutdown: core.shutdown.clone(),
            tracker: lifecycle.tracker.clone(),
        },
        admission,
        dialplan,
        sounds: Arc::new(SoundLibrary::new(sounds_dir)),
        globals: Globals::default(),
        recordings: data_dir.join(RECORDINGS_DIR),
        gateways,
    });
    spawn_dispatcher(ctx, incoming);
    Ok(core)
}

/// Writes the configured extensions into the `users` table as HA1 digests (never the
/// password) and removes config-seeded users that left the configuration.
async fn seed_users(db: &Db, config: &Config) -> Result<usize, DbError> {
    let users: Vec<ConfiguredUser<'_>> = config
        .extensions
        .iter()
        .map(|ext| ConfiguredUser {
            username: &ext.number,
            password: &ext.password,
            display_name: ext.display_name.as_deref(),
            loopback_only: ext.loopback_only,
        })
        .collect();
    seed_configured_users(db, &config.sip.realm, &users).await?;
    Ok(users.len())
}

/// Names for a generated certificate: the domain and every specific listener address.
fn certificate_names(config: &Config, listeners: &[ListenerSpec]) -> Vec<String> {
    let mut names = vec![config.sip.domain.clone()];
    for addr in listeners
        .iter()
        .map(|l| l.addr)
        .filter(|a: &SocketAddr| !a.ip().is_unspecified())
    {
        let ip = addr.ip().to_string();
        if !names.contains(&ip) {
            names.push(ip);
        }
    }
    names
}

/// File descriptors kept for everything but RTP sockets (SIP sockets, connections, SQLite).
const FD_RESERVE: u64 = 1024;

/// Warns when the process may open fewer files than the RTP port range needs: every port of
/// the range is a socket once calls use it, and a call that cannot bind its ports gets 503.
fn warn_if_few_file_descriptors(first: u16, last: u16) {
    let needed = u64::from(last.saturating_sub(first)) + 1 + FD_RESERVE;
    let Some(limit) = open_files_limit() else {
        return;
    };
    if limit < needed {
        tracing::warn!(
            limit,
            needed,
            max_calls = limit.saturating_sub(FD_RESERVE) / 4,
            "the open-files limit (ulimit -n) is below what the RTP port range needs; \
             calls beyond max_calls will get 503"
        );
    }
}

/// The soft `Max open files` limit of this process, from `/proc/self/limits` (Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

/// The soft limit on the `Max open files` line of a `/proc/<pid>/limits` text.
fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    soft.parse().ok() // "unlimited" → None: nothing to warn about
}

#[cfg(test)]
mod tests {
    use super::parse_open_files_limit;

    #[test]
    fn open_files_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            20000                1048576              files     \n";
        assert_eq!(parse_open_files_limit(text), Some(20_000));
        assert_eq!(
            parse_open_files_limit(
                "Max open files            unlimited            unlimited            files"
            ),
            None
        );
        assert_eq!(parse_open_files_limit("nothing here"), None);
    }
}
