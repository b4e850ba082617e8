//! TLS over TCP (RFC 3261 §26.2, port 5061) with tokio-rustls on the ring provider:
//! server handshakes for accepted sockets and client handshakes for outbound connections.
//! After the handshake a TLS connection is framed exactly like TCP.
//!
//! Depends on the sibling tcp (connect) and stream (connection tasks) modules.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::Instrument;

use super::stream::{spawn_connection, Shared};
use super::{tcp, FlowId, TransportError};
use crate::sip::message::Transport;

/// Runs the server handshake of an accepted socket in its own task (so a slow client does
/// not block the accept loop) and registers the connection when it succeeds.
pub(super) fn spawn_accept(
    shared: &Arc<Shared>,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    remote: SocketAddr,
    local: SocketAddr,
) {
    let span = tracing::info_span!("sip_tls_handshake", remote = %remote);
    let shared2 = shared.clone();
    let task = async move {
        let timeout = shared2.options.handshake_timeout;
        let handshake = tokio::time::timeout(timeout, acceptor.accept(stream));
        let result = tokio::select! {
            _ = shared2.shutdown.cancelled() => return,
            r = handshake => r,
        };
        match result {
            Ok(Ok(tls)) => {
                spawn_connection(&shared2, tls, Transport::Tls, remote, local);
            }
            Ok(Err(error)) => tracing::info!(%error, "TLS handshake failed"),
            Err(_) => tracing::info!("TLS handshake timed out"),
        }
    };
    shared.tracker.spawn(task.instrument(span));
}

/// The name to verify the peer certificate against: `host` when given (also sent as SNI),
/// else the IP address (no SNI is sent for IP addresses, RFC 6066 §3).
pub(super) fn server_name(
    host: Option<&str>,
    ip: IpAddr,
) -> Result<ServerName<'static>, TransportError> {
    match host {
        Some(host) => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            ServerName::try_from(bare.to_owned())
                .map_err(|_| TransportError::ServerName(host.to_owned()))
        }
        None => Ok(ServerName::from(ip.to_canonical())),
    }
}

/// Connects to `addr`, runs the client handshake and registers the connection.
pub(super) async fn connect(
    shared: &Arc<Shared>,
    connector: &TlsConnector,
    name: ServerName<'static>,
    addr: SocketAddr,
) -> Result<FlowId, TransportError> {
    let stream = tcp::open(shared, addr).await?;
    let local = stream
        .local_addr()
        .map_err(|source| TransportError::Connect { addr, source })?;
    let handshake = tokio::time::timeout(
        shared.options.handshake_timeout,
        connector.connect(name, stream),
    );
    let tls = tokio::select! {
        _ = shared.shutdown.cancelled() => return Err(TransportError::ShuttingDown),
        r = handshake => match r {
            Err(_) => return Err(TransportError::ConnectTimeout { addr }),
            Ok(Err(source)) => return Err(TransportError::Handshake { addr, source }),
            Ok(Ok(tls)) => tls,
        },
    };
    tracing::debug!(%addr, %local, "TLS connection opened");
    Ok(spawn_connection(shared, tls, Transport::Tls, addr, local))
}
