//! HTTPS for the web admin (`[web] tls = true`): the same router served over rustls on the
//! ring provider, with the certificate from `[web] tls_cert`/`tls_key` or, when those are
//! not set, the self-signed one the SIP TLS transport also uses (generated on first start
//! into `<data>/tls/`, see [`crate::sip::transport::cert`]).
//!
//! ```text
//!  TcpListener ─accept─► spawn handshake (≤ HANDSHAKE_TIMEOUT) ─► JoinSet ─► TlsListener::accept
//!        ▲                 (at most MAX_PENDING_HANDSHAKES at once)           │
//!        └──────────── keeps accepting while handshakes run ◄────────────────┘ axum::serve
//! ```
//!
//! The handshakes run in their own tasks, so a client that connects and says nothing (or
//! handshakes slowly) never holds up the next `accept`; it is dropped after
//! [`HANDSHAKE_TIMEOUT`]. The tasks live in the listener's `JoinSet`: dropping the listener
//! (server shutdown) aborts the ones still running.
//!
//! Depends on: `crate::sip::transport::cert` (loading or generating the pair), rustls,
//! tokio-rustls, axum (`serve::Listener`).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{Listener, ListenerExt as _};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::{WebOptions, WebState};
use crate::sip::transport::{cert, TransportError};

/// How long a client may take from TCP connect to a finished TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; beyond this the listener stops accepting until one
/// finishes (the kernel's backlog holds the rest), so a flood of idle connections costs
/// bounded memory.
pub const MAX_PENDING_HANDSHAKES: usize = 256;

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate or key could not be loaded, or none could be generated.
    #[error("web TLS certificate: {0}")]
    Certificate(#[from] TransportError),
    /// `[web] tls = true` without `tls_cert`/`tls_key` needs the data directory to keep a
    /// generated certificate in.
    #[error("web TLS: no certificate configured and no data directory to generate one in")]
    NoDataDir,
}

/// The server config for HTTPS: `cert` + `key` when given (both or neither), else the
/// generated pair in `data_dir/tls/` (created if missing, with `names` and the loopback
/// names in its subjectAltName). ALPN offers HTTP/1.1 only (the server speaks nothing else).
pub fn server_config(
    cert: Option<&Path>,
    key: Option<&Path>,
    data_dir: &Path,
    names: &[String],
) -> Result<Arc<ServerConfig>, TlsError> {
    let setup = cert::load_or_generate(cert, key, data_dir, names)?;
    let mut config = ServerConfig::clone(&setup.server);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// For `web::start`: when `[web] tls = true`, builds the HTTPS config (the certificate
/// named by `[web] tls_cert`/`tls_key`, or the generated one in the data directory with the
/// listen address as a name) and marks the session cookie `Secure`. `None` for plain HTTP.
pub fn prepare(
    options: &mut WebOptions,
    listen: SocketAddr,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let data_dir = match (&cert, &options.services.data_dir) {
        // Not used: the configured pair is loaded (or refused if only half of it is given).
        (Some(_), _) => PathBuf::new(),
        (None, Some(dir)) => dir.clone(),
        (None, None) => return Err(TlsError::NoDataDir),
    };
    let names = if listen.ip().is_unspecified() {
        Vec::new()
    } else {
        vec![listen.ip().to_string()]
    };
    let config = server_config(cert.as_deref(), key.as_deref(), &data_dir, &names)?;
    options.secure_cookies = true;
    Ok(config)
}

/// What a handshake task yields: the stream and the client's address, or nothing when the
/// client failed or timed out (already logged).
type Handshake = Option<(TlsStream<TcpStream>, SocketAddr)>;

/// A TCP listener whose connections come out TLS-terminated (see the module docs).
pub struct TlsListener {
    /// The bound socket.
    tcp: TcpListener,
    /// rustls acceptor with the server config.
    acceptor: TlsAcceptor,
    /// Handshakes in progress (aborted when the listener is dropped).
    handshakes: JoinSet<Handshake>,
    /// Per-connection handshake limit.
    timeout: Duration,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .field("pending_handshakes", &self.handshakes.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// Wraps `tcp`; handshakes use `config` and [`HANDSHAKE_TIMEOUT`].
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
            timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// The same with another handshake limit (tests).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> TlsListener {
        self.timeout = timeout;
        self
    }

    fn start_handshake(&mut self, stream: TcpStream, peer: SocketAddr) {
        let acceptor = self.acceptor.clone();
        let limit = self.timeout;
        self.handshakes.spawn(async move {
            match tokio::time::timeout(limit, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => Some((tls, peer)),
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "web TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(%peer, ?limit, "web TLS handshake timed out");
                    None
                }
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < MAX_PENDING_HANDSHAKES;
            let pending = !self.handshakes.is_empty();
            tokio::select! {
                accepted = self.tcp.accept(), if room => match accepted {
                    Ok((stream, peer)) => self.start_handshake(stream, peer),
                    Err(error) => accept_failed(error).await,
                },
                Some(done) = self.handshakes.join_next(), if pending => match done {
                    Ok(Some(connection)) => return connection,
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "web TLS handshake task failed"),
                },
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// After a failed `accept`: a connection that died before we took it is nothing; anything
/// else (out of file descriptors) is logged and waited out, as axum's own listener does.
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "web TLS accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves the application over HTTPS on `listener` until `shutdown` is cancelled (then
/// in-flight requests finish); like [`super::serve`], client addresses come from the socket.
pub async fn serve_tls(
    state: WebState,
    listener: TcpListener,
    config: Arc<ServerConfig>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let app = super::router(state).into_make_service_with_connect_info::<SocketAddr>();
    // `tap_io` also gives axum's `ConnectInfo<SocketAddr>` for a custom listener.
    let listener = TlsListener::new(listener, config).tap_io(|tls| {
        if let Err(error) = tls.get_ref().0.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
