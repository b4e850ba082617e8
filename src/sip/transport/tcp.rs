//! TCP listeners (accept loops, plain or handing sockets to the TLS acceptor) and outbound
//! TCP connections (RFC 3261 §18.1.1: open a connection when none exists to the target).
//!
//! Depends on the sibling stream (connection tasks) and tls modules.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use super::stream::{spawn_connection, Shared};
use super::{tls, FlowId, TransportError};
use crate::sip::message::Transport;

/// Binds a listening socket (`name` is "TCP" or "TLS", for errors).
pub(super) async fn bind(
    addr: SocketAddr,
    name: &'static str,
) -> Result<TcpListener, TransportError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| TransportError::Bind {
            transport: name,
            addr,
            source,
        })
}

/// The address a listener is actually bound to.
pub(super) fn local_addr(
    listener: &TcpListener,
    addr: SocketAddr,
    name: &'static str,
) -> Result<SocketAddr, TransportError> {
    listener
        .local_addr()
        .map_err(|source| TransportError::Bind {
            transport: name,
            addr,
            source,
        })
}

/// Starts the accept loop of one listener; with an acceptor every connection does a TLS
/// handshake (in its own task, bounded by the handshake timeout) first.
pub(super) fn spawn_accept_loop(
    shared: &Arc<Shared>,
    listener: TcpListener,
    local: SocketAddr,
    acceptor: Option<TlsAcceptor>,
) {
    let name = if acceptor.is_some() { "TLS" } else { "TCP" };
    let span = tracing::info_span!("sip_listen", transport = name, local = %local);
    shared
        .tracker
        .spawn(accept_loop(shared.clone(), listener, acceptor).instrument(span));
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, acceptor: Option<TlsAcceptor>) {
    loop {
        let (stream, remote) = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(error) => {
                    // E.g. EMFILE; keep serving existing connections and retry.
                    tracing::warn!(%error, "accept failed");
                    tokio::task::yield_now().await;
                    continue;
                }
            },
        };
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(error) => {
                tracing::debug!(%error, %remote, "accepted socket has no local address");
                continue;
            }
        };
        // Small SIP messages must not wait for Nagle.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "set_nodelay failed");
        }
        match &acceptor {
            None => {
                spawn_connection(&shared, stream, Transport::Tcp, remote, local);
            }
            Some(acceptor) => tls::spawn_accept(&shared, acceptor.clone(), stream, remote, local),
        }
    }
    tracing::debug!("accept loop stopped");
}

/// Opens a TCP connection to `addr` within the connect timeout.
pub(super) async fn open(shared: &Shared, addr: SocketAddr) -> Result<TcpStream, TransportError> {
    let connect = TcpStream::connect(addr);
    let stream = tokio::select! {
        _ = shared.shutdown.cancelled() => return Err(TransportError::ShuttingDown),
        r = tokio::time::timeout(shared.options.connect_timeout, connect) => match r {
            Err(_) => return Err(TransportError::ConnectTimeout { addr }),
            Ok(Err(source)) => return Err(TransportError::Connect { addr, source }),
            Ok(Ok(stream)) => stream,
        },
    };
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "set_nodelay failed");
    }
    Ok(stream)
}

/// Connects to `addr` and registers the connection as a new flow.
pub(super) async fn connect(
    shared: &Arc<Shared>,
    addr: SocketAddr,
) -> Result<FlowId, TransportError> {
    let stream = open(shared, addr).await?;
    let local = stream
        .local_addr()
        .map_err(|source| TransportError::Connect { addr, source })?;
    tracing::debug!(%addr, %local, "TCP connection opened");
    Ok(spawn_connection(
        shared,
        stream,
        Transport::Tcp,
        addr,
        local,
    ))
}
