//! The transaction-user API of the endpoint, server side: requests delivered to the call
//! core ([`IncomingRequest`], new INVITEs) and to dialog owners ([`InDialogRequest`]),
//! and the [`ServerTransaction`] handle to answer them.
//!
//! ```text
//!  INVITE ─► endpoint ─try_send─► Receiver<IncomingRequest> (call core; full → 503)
//!  in-dialog ─► endpoint ─try_send─► owner of the DialogId (unknown → 481, full → 503)
//!  owner ──ServerTransaction::respond──► endpoint ──► TransactionTable::send_response
//!        ◄── cancelled() / next_event(): Cancelled, Ack, AckTimeout, TransportError
//! ```
//!
//! A 2xx to an INVITE is retransmitted by the endpoint (T1 doubling to T2, unreliable
//! transports) until its ACK arrives — [`ServerEvent::Ack`] — or 64·T1 passes —
//! [`ServerEvent::AckTimeout`] (RFC 3261 §13.3.1.4). Dropping a `ServerTransaction` that
//! has not sent a final response answers `500` so no transaction is left hanging.
//!
//! Depends on `sip::message`, `sip::transport`, `sip::transaction`.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::sip::message::{Method, Request, Response};
use crate::sip::transaction::TransactionKey;
use crate::sip::transport::Source;

use super::handle::{Command, EndpointError};

/// Capacity of the queue of new requests (INVITEs) from the endpoint to the call core.
/// When it is full the endpoint answers `503 Service Unavailable` with `Retry-After`
/// instead of waiting (RFC 3261 §21.5.4).
pub const INCOMING_QUEUE: usize = 4096;

/// `Retry-After` (seconds) of the 503 sent when the call core or a dialog owner is
/// overloaded.
pub const OVERLOAD_RETRY_AFTER: u32 = 5;

/// Capacity of one server transaction's event queue (a handful of events at most).
pub(super) const SERVER_EVENT_QUEUE: usize = 4;

/// A new out-of-dialog request for the call core: today INVITE only (OPTIONS and REGISTER
/// are answered by the endpoint, other methods get 405).
#[derive(Debug)]
pub struct IncomingRequest {
    /// The request (top Via stamped with `received`/`rport`).
    pub request: Request,
    /// Where it came from (transport, addresses, flow to answer on / reuse).
    pub source: Source,
    /// Its server transaction.
    pub txn: ServerTransaction,
}

/// A request inside a registered dialog (RFC 3261 §12.2.2), for the dialog's owner:
/// BYE, re-INVITE, INFO, UPDATE, or an ACK for a 2xx that no transaction waited for.
#[derive(Debug)]
pub struct InDialogRequest {
    /// The request.
    pub request: Request,
    /// Where it came from.
    pub source: Source,
    /// Its server transaction; `None` for ACK (never answered).
    pub txn: Option<ServerTransaction>,
}

/// What happens to a server transaction after the request was delivered.
#[derive(Debug, Clone)]
pub enum ServerEvent {
    /// A CANCEL matched this INVITE while no final response was sent; the CANCEL got its
    /// 200, the owner now answers the INVITE with 487 (RFC 3261 §9.2).
    Cancelled,
    /// The ACK for our 2xx to this INVITE (RFC 3261 §13.3.1.4); retransmission stopped.
    Ack(Box<Request>),
    /// No ACK for our 2xx within 64·T1 (RFC 3261 §13.3.1.4: the session SHOULD be ended
    /// with BYE), or for our non-2xx final (Timer H, §17.2.1).
    AckTimeout,
    /// A response could not be sent (RFC 3261 §17.2.4).
    TransportError,
}

/// Handle to answer one received request (RFC 3261 §17.2). Cheap to hold; respond with
/// provisional responses, then exactly one final response.
#[derive(Debug)]
pub struct ServerTransaction {
    key: TransactionKey,
    method: Method,
    commands: mpsc::Sender<Command>,
    cancelled: CancellationToken,
    events: mpsc::Receiver<ServerEvent>,
    /// A final response was sent (or the transaction was handed back): no 500 on drop.
    finished: AtomicBool,
}

impl ServerTransaction {
    pub(super) fn new(
        key: TransactionKey,
        method: Method,
        commands: mpsc::Sender<Command>,
        cancelled: CancellationToken,
        events: mpsc::Receiver<ServerEvent>,
    ) -> Self {
        Self {
            key,
            method,
            commands,
            cancelled,
            events,
            finished: AtomicBool::new(false),
        }
    }

    /// The server transaction key.
    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    /// The method of the request being answered.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Sends `response` (build it with `Response::for_request`, with our To tag on
    /// everything but 100). Provisional responses may repeat; the first final response
    /// ends the transaction (later ones are dropped by the transaction layer). For a 2xx
    /// to INVITE the endpoint retransmits it until the ACK (see [`ServerEvent`]).
    pub async fn respond(&self, response: Response) -> Result<(), EndpointError> {
        if response.status >= 200 {
            self.finished.store(true, Ordering::Relaxed);
        }
        self.commands
            .send(Command::Respond {
                key: self.key.clone(),
                response,
            })
            .await
            .map_err(|_| EndpointError::Closed)
    }

    /// Resolves when a CANCEL matched this (INVITE) transaction before its final response
    /// (RFC 3261 §9.2). Usable in `select!` next to other work; never resolves otherwise.
    pub async fn cancelled(&self) {
        self.cancelled.cancelled().await
    }

    /// Whether a CANCEL matched this transaction.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// The next event ([`ServerEvent`]); `None` once the endpoint forgot the transaction
    /// (after the final response's ACK or timeout, or a non-INVITE's final response).
    pub async fn next_event(&mut self) -> Option<ServerEvent> {
        self.events.recv().await
    }

    /// Marks the transaction answered by the endpoint itself (no 500 on drop).
    pub(super) fn disarm(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }
}

impl Drop for ServerTransaction {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::Relaxed) {
            // Best effort: a full queue or a stopped endpoint leaves nothing to do.
            let _ = self.commands.try_send(Command::Abandon {
                key: self.key.clone(),
            });
        }
    }
}
