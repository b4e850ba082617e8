//! One TCP or TLS connection: a reader task framing messages with [`StreamFramer`]
//! (Content-Length framing, RFC 3261 §18.3; CRLF keep-alives, RFC 5626 §4.4.1) and a writer
//! task draining the flow's bounded queue. Also the delivery step shared with UDP.
//!
//! Depends on `sip::message` (parse, framing) and the sibling flow table and Via stamping.
//!
//! ```text
//!  reader: read ─> framer.extend ─> next():
//!            Message(bytes) ─> parse ─> Inbound::Message | Inbound::Malformed
//!            KeepAlivePing  ─> queue "\r\n" (pong)
//!            KeepAlivePong  ─> ignore
//!            Err (cannot delimit, too large) ─> close
//!          EOF | read error | idle timeout | cancelled ─> close
//!  close:  remove from flow table, cancel the connection token (stops the writer)
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::flows::{ConnectLocks, Flow, FlowTable};
use super::{via, FlowId, Inbound, Source, TransportOptions, WRITE_QUEUE};
use crate::sip::message::{Framed, Message, StreamFramer, Transport};

/// Bytes read from a socket per read call.
const READ_CHUNK: usize = 16 * 1024;

/// State shared by the [`super::TransportLayer`] handle and every task.
pub(super) struct Shared {
    /// Where parsed and malformed messages go.
    pub(super) inbound: mpsc::Sender<Inbound>,
    /// Cancelled on shutdown; connection tokens are its children.
    pub(super) shutdown: CancellationToken,
    /// Every task is spawned here so shutdown can wait for them.
    pub(super) tracker: TaskTracker,
    /// Limits and timeouts.
    pub(super) options: TransportOptions,
    /// Open TCP/TLS connections.
    pub(super) flows: FlowTable,
    /// Serialises outbound connects per destination.
    pub(super) connecting: ConnectLocks,
    /// Next flow id to hand out (ids are never reused).
    next_flow: AtomicU64,
}

impl Shared {
    pub(super) fn new(
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        options: TransportOptions,
    ) -> Self {
        Shared {
            inbound,
            shutdown,
            tracker,
            options,
            flows: FlowTable::default(),
            connecting: ConnectLocks::default(),
            next_flow: AtomicU64::new(1),
        }
    }

    /// A fresh flow id.
    pub(super) fn next_flow_id(&self) -> FlowId {
        FlowId(self.next_flow.fetch_add(1, Ordering::Relaxed))
    }
}

/// Parses one delimited message, stamps `received`/`rport` on requests and hands it to the
/// layer above. Returns `false` when the receiver is gone or `cancel` fired.
pub(super) async fn deliver(
    shared: &Shared,
    bytes: Bytes,
    source: Source,
    cancel: &CancellationToken,
) -> bool {
    let item = match Message::parse(&bytes) {
        Ok(mut msg) => {
            if let Err(error) = via::stamp_received(&mut msg, &source) {
                // The endpoint answers 400 on the broken Via; deliver unchanged.
                tracing::debug!(%error, "top Via not stamped");
            }
            tracing::trace!(remote = %source.remote, message = %String::from_utf8_lossy(&bytes), "received");
            Inbound::Message { msg, source }
        }
        Err(error) => {
            tracing::debug!(remote = %source.remote, %error, len = bytes.len(), "malformed message");
            Inbound::Malformed {
                bytes,
                error,
                source,
            }
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => false,
        sent = shared.inbound.send(item) => sent.is_ok(),
    }
}

/// Time of the last read or write on a connection, for the idle timeout.
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + std::time::Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// Registers a connected stream as a new flow and spawns its reader and writer tasks.
pub(super) fn spawn_connection<S>(
    shared: &Arc<Shared>,
    stream: S,
    transport: Transport,
    remote: SocketAddr,
    local: SocketAddr,
) -> FlowId
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let id = shared.next_flow_id();
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let span = tracing::info_span!(
        "sip_conn",
        transport = transport.as_str(),
        remote = %remote,
        flow = id.0
    );
    let flow = Flow {
        id,
        transport: transport.clone(),
        remote,
        local,
    };
    shared.flows.insert(flow, tx.clone());
    let conn = shared.shutdown.child_token();
    let activity = Arc::new(Activity::new());
    let (rd, wr) = tokio::io::split(stream);
    let source = Source {
        transport,
        remote,
        local,
        flow: Some(id),
    };
    span.in_scope(|| tracing::debug!("connection open"));
    shared
        .tracker
        .spawn(write_loop(wr, rx, conn.clone(), activity.clone()).instrument(span.clone()));
    shared
        .tracker
        .spawn(read_loop(shared.clone(), rd, tx, conn, activity, source).instrument(span));
    id
}

/// Drains the write queue into the socket until cancelled or a write fails.
async fn write_loop<S: AsyncWrite>(
    mut wr: WriteHalf<S>,
    mut rx: mpsc::Receiver<Bytes>,
    conn: CancellationToken,
    activity: Arc<Activity>,
) {
    loop {
        let bytes = tokio::select! {
            _ = conn.cancelled() => break,
            next = rx.recv() => match next {
                Some(bytes) => bytes,
                None => break,
            },
        };
        let written = tokio::select! {
            _ = conn.cancelled() => break,
            r = async {
                wr.write_all(&bytes).await?;
                wr.flush().await
            } => r,
        };
        match written {
            Ok(()) => {
                activity.touch();
                tracing::trace!(len = bytes.len(), message = %String::from_utf8_lossy(&bytes), "sent");
            }
            Err(error) => {
                tracing::debug!(%error, "write failed");
                break;
            }
        }
    }
    conn.cancel();
    // Best effort close_notify / FIN; the peer may already be gone.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(200), wr.shutdown()).await;
}

/// Why a reader stopped, for the log.
#[derive(Debug)]
enum CloseReason {
    Eof,
    Cancelled,
    Idle,
    ReadError,
    Framing,
    ReceiverGone,
}

/// Reads, frames and delivers until the connection ends; then unregisters the flow.
async fn read_loop<S: AsyncRead>(
    shared: Arc<Shared>,
    mut rd: ReadHalf<S>,
    tx: mpsc::Sender<Bytes>,
    conn: CancellationToken,
    activity: Arc<Activity>,
    source: Source,
) {
    let idle = shared.options.idle_timeout;
    let mut framer = StreamFramer::new(shared.options.max_message);
    let mut buf = vec![0u8; READ_CHUNK];
    let reason = loop {
        let deadline = activity.last() + idle;
        let n = tokio::select! {
            _ = conn.cancelled() => break CloseReason::Cancelled,
            _ = tokio::time::sleep_until(deadline) => {
                if Instant::now() >= activity.last() + idle {
                    break CloseReason::Idle;
                }
                continue; // a write happened meanwhile
            }
            r = rd.read(&mut buf) => match r {
                Ok(0) => break CloseReason::Eof,
                Ok(n) => n,
                Err(error) => {
                    tracing::debug!(%error, "read failed");
                    break CloseReason::ReadError;
                }
            },
        };
        activity.touch();
        framer.extend(buf.get(..n).unwrap_or_default());
        if let Some(reason) = drain_framer(&shared, &mut framer, &tx, &conn, &source).await {
            break reason;
        }
    };
    tracing::debug!(?reason, "connection closed");
    if let Some(id) = source.flow {
        shared.flows.remove(id);
    }
    conn.cancel();
}

/// Delivers every complete item in the framer. `Some(reason)` closes the connection.
async fn drain_framer(
    shared: &Shared,
    framer: &mut StreamFramer,
    tx: &mpsc::Sender<Bytes>,
    conn: &CancellationToken,
    source: &Source,
) -> Option<CloseReason> {
    loop {
        match framer.next() {
            Ok(None) => return None,
            Ok(Some(Framed::Message(bytes))) => {
                if !deliver(shared, bytes, source.clone(), conn).await {
                    return Some(if conn.is_cancelled() {
                        CloseReason::Cancelled
                    } else {
                        CloseReason::ReceiverGone
                    });
                }
            }
            Ok(Some(Framed::KeepAlivePing)) => {
                // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong.
                tracing::trace!("keep-alive ping");
                if tx.try_send(Bytes::from_static(b"\r\n")).is_err() {
                    tracing::debug!("pong dropped: write queue full");
                }
            }
            Ok(Some(Framed::KeepAlivePong)) => tracing::trace!("keep-alive pong"),
            Err(error) => {
                // RFC 3261 §18.3: without a usable Content-Length the stream cannot be
                // re-synchronised, so only this connection is closed.
                tracing::info!(%error, "framing error, closing connection");
                return Some(CloseReason::Framing);
            }
        }
    }
}
