//! SIP transports: UDP, TCP and TLS listeners, outbound connections, and the flow table
//! (RFC 3261 §18, RFC 5626 flows as far as a registrar needs, RFC 3581 symmetric responses).
//!
//! Depends only on [`crate::sip::message`] (parsing and stream framing) plus tokio and rustls.
//!
//! Data path:
//! ```text
//!   socket ──recv──> (UDP: Message::parse per datagram | TCP/TLS: StreamFramer per connection)
//!          ──> via::stamp_received (requests) ──> Inbound ──> mpsc::Sender<Inbound> (endpoint)
//!   TransportLayer::send(Target, bytes) ──> UDP socket | flow writer queue | new connection
//! ```
//! A *flow* ([`FlowId`]) names one TCP/TLS connection (or one UDP listening socket, so that
//! responses leave from the socket the request arrived on, RFC 3581 §4). Responses and later
//! requests to the same flow reuse it; when no flow is open, `send` connects (one connect at a
//! time per destination, so concurrent sends share the new connection). Outbound TLS verifies
//! the peer by IP address, or by the host passed to [`TransportLayer::send_named`] (SNI).
//!
//! Connection life cycle (one reader task and one writer task per connection):
//! ```text
//!   accept/connect ──> Open ──(EOF | I/O error | framing error | idle timeout | shutdown)──> Closed
//!                       │  ^                                   (removed from the flow table)
//!                       └──┘ message / keep-alive / write (resets the idle timer)
//! ```
//! Every task is spawned on the caller's `TaskTracker` and stops on the `CancellationToken`.

pub mod cert;
mod flows;
mod stream;
mod tcp;
mod tls;
mod udp;
pub mod via;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::sip::message::{Message, ParseError, Transport};

pub use flows::Flow;
pub use via::{response_target, stamp_received};

/// Identifies one flow: a TCP/TLS connection, or a UDP listening socket (RFC 5626 §5.2).
/// Ids are never reused during the life of a [`TransportLayer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flow-{}", self.0)
    }
}

/// Where an inbound message came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Transport the message arrived on.
    pub transport: Transport,
    /// The peer's address (the packet source, after any NAT).
    pub remote: SocketAddr,
    /// Our socket's local address (may be a wildcard address for wildcard binds).
    pub local: SocketAddr,
    /// The flow the message arrived on: the connection for TCP/TLS, the listening socket for
    /// UDP. Put it into a [`Target`] to answer on the same flow.
    pub flow: Option<FlowId>,
}

/// Where to send a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Transport to use.
    pub transport: Transport,
    /// Destination address (used to connect when the flow is absent or closed).
    pub addr: SocketAddr,
    /// Preferred flow. For TCP/TLS the connection is reused if still open; for UDP it selects
    /// the local socket to send from. `None`: any open connection to `addr`, else connect.
    pub flow: Option<FlowId>,
}

/// An inbound item delivered to the layer above.
#[derive(Debug)]
pub enum Inbound {
    /// A parsed message (requests already carry `received`/`rport` in their top Via).
    Message {
        /// The message.
        msg: Message,
        /// Where it came from.
        source: Source,
    },
    /// Bytes that were delimited as one message (a UDP datagram, or a Content-Length framed
    /// stream message) but did not parse. The endpoint decides whether a 400 can be sent.
    Malformed {
        /// The raw message bytes.
        bytes: Bytes,
        /// Why parsing failed.
        error: ParseError,
        /// Where it came from.
        source: Source,
    },
}

/// One listening socket to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSpec {
    /// UDP, TCP or TLS.
    pub transport: Transport,
    /// Address to bind (port 0 picks a free port; see [`TransportLayer::listeners`]).
    pub addr: SocketAddr,
}

/// TLS configuration for inbound (server) and outbound (client) connections.
#[derive(Clone, Debug)]
pub struct TlsSetup {
    /// Server side: our certificate chain and key.
    pub server: Arc<rustls::ServerConfig>,
    /// Client side: the roots we trust for outbound TLS connections.
    pub client: Arc<rustls::ClientConfig>,
}

/// Tunables of the transport layer; [`Default`] gives production values.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// Largest message accepted on a TCP/TLS connection (headers + body); bigger closes it.
    pub max_message: usize,
    /// A connection without reads or writes for this long is closed. Clients keep their
    /// flows open with CRLF keep-alives (RFC 5626 §4.4.1).
    pub idle_timeout: Duration,
    /// Limit for establishing an outbound TCP connection.
    pub connect_timeout: Duration,
    /// Limit for a TLS handshake (inbound or outbound).
    pub handshake_timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            max_message: 64 * 1024,
            idle_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Errors of the transport layer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A listening socket could not be bound.
    #[error("cannot bind {transport} listener on {addr}: {source}")]
    Bind {
        /// Transport name ("UDP", "TCP", "TLS").
        transport: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A listener was asked for a transport we do not serve (SCTP, WS, ...).
    #[error("transport {0} is not supported")]
    UnsupportedTransport(String),
    /// A TLS listener or TLS target without a [`TlsSetup`].
    #[error("TLS requested but no TLS configuration was given")]
    TlsNotConfigured,
    /// No UDP socket exists that can reach the target's address family.
    #[error("no {transport} socket can reach {addr}")]
    NoSocket {
        /// Transport name.
        transport: &'static str,
        /// The target address.
        addr: SocketAddr,
    },
    /// Sending a datagram failed.
    #[error("send to {addr} failed: {source}")]
    Send {
        /// Destination.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// An outbound connection could not be established.
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// Destination.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// An outbound connection or TLS handshake did not complete in time.
    #[error("connect to {addr} timed out")]
    ConnectTimeout {
        /// Destination.
        addr: SocketAddr,
    },
    /// The TLS handshake with a peer failed.
    #[error("TLS handshake with {addr} failed: {source}")]
    Handshake {
        /// Peer.
        addr: SocketAddr,
        /// The error reported by rustls (wrapped in io::Error by tokio-rustls).
        source: std::io::Error,
    },
    /// The host name cannot be used as a TLS server name.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    /// The connection's write queue is full: the peer is not reading.
    #[error("{0} is congested (write queue full)")]
    Congested(FlowId),
    /// The connection closed while sending.
    #[error("{0} is closed")]
    FlowClosed(FlowId),
    /// The transport layer is shutting down.
    #[error("transport layer is shutting down")]
    ShuttingDown,
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}")]
    CertIo {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A certificate or key file is not valid PEM.
    #[error("{path}: {source}")]
    CertPem {
        /// The file.
        path: PathBuf,
        /// The PEM error.
        source: rustls_pki_types::pem::Error,
    },
    /// A certificate file holds no certificate.
    #[error("{0}: no certificate found")]
    NoCertificate(PathBuf),
    /// Only one of certificate and key was configured.
    #[error("a TLS certificate and its key must be configured together")]
    CertKeyMismatch,
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    CertGenerate(#[from] rcgen::Error),
    /// rustls refused the certificate, key or CA.
    #[error("TLS configuration error: {0}")]
    TlsConfig(#[from] rustls::Error),
}

/// Capacity of each connection's write queue: enough for a burst of retransmissions and
/// forked responses; a full queue means the peer stopped reading.
const WRITE_QUEUE: usize = 128;

/// Cheap, cloneable handle to the running transports.
#[derive(Clone)]
pub struct TransportLayer {
    inner: Arc<Inner>,
}

impl fmt::Debug for TransportLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportLayer")
            .field("listeners", &self.inner.listeners)
            .finish_non_exhaustive()
    }
}

/// State shared by the handle and all tasks.
struct Inner {
    /// Listeners with the addresses actually bound.
    listeners: Vec<ListenerSpec>,
    /// UDP sockets, each with its flow id.
    udp: Vec<udp::UdpSlot>,
    /// State shared with connection tasks.
    shared: Arc<stream::Shared>,
    /// Outbound TLS connector; `None` without a [`TlsSetup`].
    tls_connector: Option<tokio_rustls::TlsConnector>,
}

impl TransportLayer {
    /// Binds every listener and starts its tasks, with default [`TransportOptions`].
    pub async fn start(
        listeners: &[ListenerSpec],
        tls: Option<TlsSetup>,
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Result<Self, TransportError> {
        Self::start_with_options(
            listeners,
            tls,
            TransportOptions::default(),
            inbound,
            shutdown,
            tracker,
        )
        .await
    }

    /// Binds every listener and starts its tasks. Fails (binding nothing lasting) if any
    /// listener cannot be bound; tasks already started stop with `shutdown`.
    pub async fn start_with_options(
        listeners: &[ListenerSpec],
        tls: Option<TlsSetup>,
        options: TransportOptions,
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Result<Self, TransportError> {
        let shared = Arc::new(stream::Shared::new(inbound, shutdown, tracker, options));
        let mut bound = Vec::with_capacity(listeners.len());
        let mut udp_slots = Vec::new();
        let mut pending_tcp = Vec::new();
        for spec in listeners {
            match &spec.transport {
                Transport::Udp => {
                    let slot = udp::bind(&shared, spec.addr).await?;
                    bound.push(ListenerSpec {
                        transport: Transport::Udp,
                        addr: slot.local,
                    });
                    udp_slots.push(slot);
                }
                Transport::Tcp => {
                    let listener = tcp::bind(spec.addr, "TCP").await?;
                    let local = tcp::local_addr(&listener, spec.addr, "TCP")?;
                    bound.push(ListenerSpec {
                        transport: Transport::Tcp,
                        addr: local,
                    });
                    pending_tcp.push((listener, local, None));
                }
                Transport::Tls => {
                    let setup = tls.as_ref().ok_or(TransportError::TlsNotConfigured)?;
                    let listener = tcp::bind(spec.addr, "TLS").await?;
                    let local = tcp::local_addr(&listener, spec.addr, "TLS")?;
                    bound.push(ListenerSpec {
                        transport: Transport::Tls,
                        addr: local,
                    });
                    let acceptor = tokio_rustls::TlsAcceptor::from(setup.server.clone());
                    pending_tcp.push((listener, local, Some(acceptor)));
                }
                other => {
                    return Err(TransportError::UnsupportedTransport(
                        other.as_str().to_owned(),
                    ))
                }
            }
        }
        // Start the loops only once every bind succeeded.
        for slot in &udp_slots {
            udp::spawn_recv_loop(&shared, slot);
        }
        for (listener, local, acceptor) in pending_tcp {
            tcp::spawn_accept_loop(&shared, listener, local, acceptor);
        }
        let tls_connector = tls.map(|t| tokio_rustls::TlsConnector::from(t.client));
        Ok(TransportLayer {
            inner: Arc::new(Inner {
                listeners: bound,
                udp: udp_slots,
                shared,
                tls_connector,
            }),
        })
    }

    /// Sends one encoded message. UDP: one datagram from the flow's socket (or the first
    /// socket of the right address family). TCP/TLS: over `target.flow` if open, else over
    /// any open connection to `target.addr`, else over a new connection (TLS verifies the
    /// peer certificate against the IP address).
    pub async fn send(&self, target: &Target, bytes: Bytes) -> Result<(), TransportError> {
        self.send_named(target, None, bytes).await
    }

    /// Like [`send`](Self::send), but a new TLS connection uses `server_name` for SNI and
    /// certificate verification instead of the target IP address.
    pub async fn send_named(
        &self,
        target: &Target,
        server_name: Option<&str>,
        bytes: Bytes,
    ) -> Result<(), TransportError> {
        let shared = &self.inner.shared;
        if shared.shutdown.is_cancelled() {
            return Err(TransportError::ShuttingDown);
        }
        match &target.transport {
            Transport::Udp => udp::send(&self.inner.udp, target, &bytes).await,
            Transport::Tcp | Transport::Tls => {
                let tls = matches!(target.transport, Transport::Tls);
                if let Some(flow) = shared.flows.find(target.flow, tls, target.addr) {
                    tracing::trace!(flow = %flow, len = bytes.len(), "reusing flow");
                    return shared.flows.enqueue(flow, bytes);
                }
                let key = (tls, target.addr);
                let lock = shared.connecting.get(key);
                let flow = {
                    let _connecting = lock.lock().await;
                    // Another sender may have connected while we waited.
                    match shared.flows.find(target.flow, tls, target.addr) {
                        Some(flow) => Ok(flow),
                        None => self.connect(tls, server_name, target.addr).await,
                    }
                };
                shared.connecting.release(key, lock);
                shared.flows.enqueue(flow?, bytes)
            }
            other => Err(TransportError::UnsupportedTransport(
                other.as_str().to_owned(),
            )),
        }
    }

    /// Opens a new TCP or TLS connection (RFC 3261 §18.1.1) and registers its flow.
    async fn connect(
        &self,
        tls: bool,
        server_name: Option<&str>,
        addr: SocketAddr,
    ) -> Result<FlowId, TransportError> {
        let shared = &self.inner.shared;
        if !tls {
            return tcp::connect(shared, addr).await;
        }
        let connector = self
            .inner
            .tls_connector
            .as_ref()
            .ok_or(TransportError::TlsNotConfigured)?;
        let name = tls::server_name(server_name, addr.ip())?;
        tls::connect(shared, connector, name, addr).await
    }

    /// The bound address of the first listener of `transport`.
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.inner
            .listeners
            .iter()
            .find(|l| l.transport == transport)
            .map(|l| l.addr)
    }

    /// All listeners with the addresses actually bound (port 0 resolved).
    pub fn listeners(&self) -> &[ListenerSpec] {
        &self.inner.listeners
    }

    /// The open TCP/TLS connection `id`, if any.
    pub fn flow(&self, id: FlowId) -> Option<Flow> {
        self.inner.shared.flows.get(id)
    }

    /// Number of open TCP/TLS connections.
    pub fn connection_count(&self) -> usize {
        self.inner.shared.flows.len()
    }
}

/// `true` for an address in the same family as `ip` (IPv4-mapped IPv6 counts as IPv4).
fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical().is_ipv4() == b.to_canonical().is_ipv4()
}
