//! UDP: one socket per listener, a receive loop per socket (one datagram = one message,
//! RFC 3261 §18.3), and sending from the socket a request arrived on (RFC 3581 §4).
//!
//! Depends on the sibling stream module for delivery. A `[::]` bind is dual-stack on Linux
//! (IPv4 peers appear as `::ffff:a.b.c.d`); do not also bind `0.0.0.0` on the same port.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tracing::Instrument;

use super::stream::{deliver, Shared};
use super::{same_family, FlowId, Inbound, Source, Target, TransportError};
use crate::sip::message::{ParseError, Transport};

/// Largest UDP payload (IPv4 limit 65507, IPv6 jumbograms aside); one reusable buffer.
const MAX_DATAGRAM: usize = 65535;

/// One bound UDP socket.
pub(super) struct UdpSlot {
    /// The flow id naming this socket in [`Source::flow`].
    pub(super) flow: FlowId,
    /// The bound address.
    pub(super) local: SocketAddr,
    /// The socket, shared by the receive loop and senders.
    pub(super) socket: Arc<UdpSocket>,
}

/// Binds one UDP listener.
pub(super) async fn bind(shared: &Shared, addr: SocketAddr) -> Result<UdpSlot, TransportError> {
    let bind_err = |source| TransportError::Bind {
        transport: "UDP",
        addr,
        source,
    };
    let socket = bind_socket(addr).map_err(bind_err)?;
    let local = socket.local_addr().map_err(bind_err)?;
    Ok(UdpSlot {
        flow: shared.next_flow_id(),
        local,
        socket: Arc::new(socket),
    })
}

/// Socket buffer size asked for on UDP listeners. The default (~208 KiB) overflows under
/// bursts of a few thousand requests per second and the kernel drops datagrams, which
/// then cost a retransmission (500 ms); the kernel caps the request at `net.core.rmem_max`.
const UDP_BUFFER: usize = 4 * 1024 * 1024;

/// Binds a non-blocking UDP socket with enlarged buffers (best effort: a kernel refusing
/// the size keeps its default).
fn bind_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // A wildcard IPv6 bind stays dual-stack, as with a plain bind on Linux.
        let _ = socket.set_only_v6(false);
    }
    if let Err(error) = socket.set_recv_buffer_size(UDP_BUFFER) {
        tracing::debug!(%error, "UDP receive buffer not enlarged");
    }
    if let Err(error) = socket.set_send_buffer_size(UDP_BUFFER) {
        tracing::debug!(%error, "UDP send buffer not enlarged");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Starts the receive loop of one socket.
pub(super) fn spawn_recv_loop(shared: &Arc<Shared>, slot: &UdpSlot) {
    let span = tracing::info_span!("sip_udp", local = %slot.local);
    let shared2 = shared.clone();
    let socket = slot.socket.clone();
    let flow = slot.flow;
    shared
        .tracker
        .spawn(recv_loop(shared2, socket, flow).instrument(span));
}

async fn recv_loop(shared: Arc<Shared>, socket: Arc<UdpSocket>, flow: FlowId) {
    let local = match socket.local_addr() {
        Ok(local) => local,
        Err(error) => {
            tracing::error!(%error, "UDP socket has no local address");
            return;
        }
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, remote) = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            r = socket.recv_from(&mut buf) => match r {
                Ok(v) => v,
                Err(error) => {
                    // E.g. ICMP errors reported on some platforms; the socket stays usable.
                    tracing::debug!(%error, "UDP receive error");
                    tokio::task::yield_now().await;
                    continue;
                }
            },
        };
        let datagram = buf.get(..n).unwrap_or_default();
        if is_keepalive(datagram) {
            // RFC 5626 §4.4.1 CRLF keep-alives also arrive over UDP from many UAs; ignore.
            tracing::trace!(%remote, "UDP keep-alive");
            continue;
        }
        let source = Source {
            transport: Transport::Udp,
            remote,
            local,
            flow: Some(flow),
        };
        if datagram.len() > shared.options.max_message {
            // The configured size limit applies to datagrams too; the endpoint answers 513
            // when the head names a Via (RFC 3261 §21.5.13).
            tracing::debug!(%remote, len = datagram.len(), "datagram over the size limit");
            let item = Inbound::Malformed {
                bytes: Bytes::copy_from_slice(datagram),
                error: ParseError::TooLarge,
                source,
            };
            tokio::select! {
                _ = shared.shutdown.cancelled() => break,
                sent = shared.inbound.send(item) => if sent.is_err() { break },
            }
            continue;
        }
        if !deliver(
            &shared,
            Bytes::copy_from_slice(datagram),
            source,
            &shared.shutdown,
        )
        .await
        {
            break;
        }
    }
    tracing::debug!("UDP receive loop stopped");
}

/// A datagram of only CR/LF (a keep-alive), or empty.
fn is_keepalive(datagram: &[u8]) -> bool {
    datagram.iter().all(|b| *b == b'\r' || *b == b'\n')
}

/// Sends one datagram: from the target flow's socket when given, else from the first socket
/// of the target's address family.
pub(super) async fn send(
    slots: &[UdpSlot],
    target: &Target,
    bytes: &[u8],
) -> Result<(), TransportError> {
    let slot = target
        .flow
        .and_then(|id| slots.iter().find(|s| s.flow == id))
        .filter(|s| can_reach(s.local, target.addr))
        .or_else(|| {
            slots
                .iter()
                .find(|s| same_family(s.local.ip(), target.addr.ip()))
        })
        .or_else(|| slots.iter().find(|s| can_reach(s.local, target.addr)))
        .ok_or(TransportError::NoSocket {
            transport: "UDP",
            addr: target.addr,
        })?;
    let dest = socket_dest(slot.local, target.addr);
    tracing::trace!(local = %slot.local, %dest, message = %String::from_utf8_lossy(bytes), "UDP send");
    slot.socket
        .send_to(bytes, dest)
        .await
        .map(|_| ())
        .map_err(|source| TransportError::Send {
            addr: target.addr,
            source,
        })
}

/// Whether a socket bound to `local` can send to `dest`: same family, or a dual-stack
/// wildcard IPv6 socket sending to IPv4.
fn can_reach(local: SocketAddr, dest: SocketAddr) -> bool {
    same_family(local.ip(), dest.ip())
        || matches!(local.ip(), IpAddr::V6(v6) if v6.is_unspecified())
}

/// The destination as the socket's family needs it (IPv4 mapped into IPv6 on a v6 socket).
fn socket_dest(local: SocketAddr, dest: SocketAddr) -> SocketAddr {
    match (local.ip(), dest.ip()) {
        (IpAddr::V6(_), IpAddr::V4(v4)) => {
            SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), dest.port())
        }
        (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), dest.port()),
            None => dest,
        },
        _ => dest,
    }
}
