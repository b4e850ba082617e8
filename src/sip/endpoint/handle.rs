//! The transaction-user API of the endpoint, client side: [`SipHandle`] (cloneable, talks
//! to the endpoint task through one bounded command queue) and [`ClientTransaction`]
//! (the events of one request we sent).
//!
//! ```text
//!  call core ──send_request──► SipHandle ──Command::Send──► endpoint task ──► TransactionTable
//!      ▲                          │ (adds Via, branch, rport)                      │
//!      └──── ClientTransaction::next() ◄── per-request queue ◄── Tu events / stray 2xx
//!  call core ──send_ack (2xx)──► TransportLayer::send (no transaction, RFC 3261 §13.2.2.4)
//! ```
//!
//! Depends on `sip::message`, `sip::transport`, `sip::transaction`, `sip::dialog`.

use tokio::sync::mpsc;

use crate::sip::dialog::{DialogId, SentBy};
use crate::sip::message::{Message, Method, NameAddr, ParseError, Request, Response, Transport};
use crate::sip::transaction::{TransactionError, TransactionKey};
use crate::sip::transport::{Target, TransportError, TransportLayer};

use super::build;
use super::incoming::InDialogRequest;

/// Capacity of the command queue from every [`SipHandle`] to the endpoint task. A full
/// queue makes callers wait (they are call actors, never the endpoint itself).
pub const COMMAND_QUEUE: usize = 8192;

/// Capacity of the event queue of one [`ClientTransaction`]. A request gets a handful of
/// responses; an owner that lets 32 pile up loses further provisional ones (logged).
pub const CLIENT_EVENT_QUEUE: usize = 32;

/// Why the endpoint refused a call of the API.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The endpoint task has stopped (shutdown).
    #[error("the SIP endpoint has stopped")]
    Closed,
    /// We have no listener of the target's transport, so no Via/Contact can be built.
    #[error("no {0} listener to send from")]
    NoListener(Transport),
    /// ACK is never sent through a transaction (use [`SipHandle::send_ack`]); CANCEL is
    /// sent with [`SipHandle::cancel`].
    #[error("{0} cannot be sent with send_request")]
    WrongMethod(Method),
    /// The request lacks a header needed to send it (Call-ID, From, CSeq...).
    #[error("malformed request: {0}")]
    Malformed(#[from] ParseError),
    /// The transaction layer refused the request (e.g. duplicate branch).
    #[error("transaction: {0}")]
    Transaction(#[from] TransactionError),
    /// Sending the ACK failed.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
}

/// What happens to a request we sent, in order. Responses are boxed so that the event
/// queue of every transaction stays small (it lives as long as an INVITE's 2xx window).
#[derive(Debug, Clone)]
pub enum ClientEvent {
    /// A response: provisional (1xx), or final. For INVITE, 2xx responses keep coming after
    /// the first one (retransmissions, other forks): each must be ACKed with
    /// [`SipHandle::send_ack`] (RFC 3261 §13.2.2.4). A non-2xx final was ACKed by the
    /// transaction already (§17.1.1.3).
    Response(Box<Response>),
    /// No final response in time (Timer B/F, RFC 3261 §17.1.1.2, §17.1.2.2): carries the
    /// synthetic `408` (or `487` when a CANCEL went unanswered for 64·T1, §9.1) to treat
    /// as the final answer.
    Timeout(Box<Response>),
    /// The transport could not send the request (RFC 3261 §8.1.3.1: treat as 503).
    TransportError,
}

/// Stray 2xx responses to an INVITE are routed by Call-ID, From tag and CSeq number
/// (RFC 3261 §13.2.2.4: they no longer match the transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct LegKey {
    pub call_id: String,
    pub from_tag: String,
    pub seq: u32,
}

impl LegKey {
    /// The key of a request or response (`None` when a header does not parse).
    pub fn of(msg_headers: &crate::sip::message::Headers) -> Option<LegKey> {
        Some(LegKey {
            call_id: msg_headers.call_id().ok()?.to_owned(),
            from_tag: msg_headers
                .from()
                .ok()?
                .tag()
                .unwrap_or_default()
                .to_owned(),
            seq: msg_headers.cseq().ok()?.seq,
        })
    }
}

/// A request from the API to the endpoint task.
#[derive(Debug)]
pub(super) enum Command {
    Send {
        key: TransactionKey,
        request: Box<Request>,
        target: Target,
        events: mpsc::Sender<ClientEvent>,
        /// INVITE only: where stray 2xx are routed.
        leg: Option<LegKey>,
    },
    Cancel {
        key: TransactionKey,
    },
    Respond {
        key: TransactionKey,
        response: Response,
    },
    /// A server transaction was dropped without a final response: answer 500.
    Abandon {
        key: TransactionKey,
    },
    RegisterDialog {
        id: DialogId,
        owner: mpsc::Sender<Box<InDialogRequest>>,
    },
    UnregisterDialog {
        id: DialogId,
    },
}

/// Cloneable handle to the endpoint task: send requests, CANCEL them, send ACKs for 2xx,
/// and register the dialogs whose in-dialog requests we want.
#[derive(Debug, Clone)]
pub struct SipHandle {
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) transport: TransportLayer,
}

impl SipHandle {
    /// Sends `request` to `target` through a new client transaction (RFC 3261 §17.1).
    /// Every Via of `request` is replaced by ours: the target's transport, our listener's
    /// address, a fresh branch and `rport` (§8.1.1.7, RFC 3581). Retransmissions run on
    /// unreliable transports only. The returned handle yields the responses; for an INVITE
    /// it keeps yielding 2xx retransmissions for 64·T1 after the first 2xx.
    ///
    /// The caller decrements Max-Forwards itself when forwarding a request it received
    /// (RFC 3261 §16.6 step 3, which a B2BUA applies like a proxy).
    pub async fn send_request(
        &self,
        mut request: Request,
        target: Target,
    ) -> Result<ClientTransaction, EndpointError> {
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Err(EndpointError::WrongMethod(request.method));
        }
        let local = self.local_addr(&target)?;
        build::set_via(&mut request, &build::our_via(&target.transport, local));
        let key = TransactionKey::for_outgoing_request(&request)?;
        let leg = match request.method {
            Method::Invite => Some(
                LegKey::of(&request.headers)
                    .ok_or(ParseError::MissingHeader("Call-ID, From or CSeq"))?,
            ),
            _ => None,
        };
        let (events_tx, events) = mpsc::channel(CLIENT_EVENT_QUEUE);
        self.command(Command::Send {
            key: key.clone(),
            request: Box::new(request.clone()),
            target,
            events: events_tx,
            leg,
        })
        .await?;
        Ok(ClientTransaction {
            key,
            request,
            events,
        })
    }

    /// CANCELs the INVITE of `txn` (RFC 3261 §9.1): sent at once if a provisional response
    /// arrived, else when the first one does; never after a final response. The INVITE's
    /// outcome (normally `487`) still arrives on `txn`.
    pub async fn cancel(&self, txn: &ClientTransaction) -> Result<(), EndpointError> {
        if txn.request.method != Method::Invite {
            return Err(EndpointError::WrongMethod(txn.request.method.clone()));
        }
        self.command(Command::Cancel {
            key: txn.key.clone(),
        })
        .await
    }

    /// Sends the ACK for a 2xx (RFC 3261 §13.2.2.4) directly through the transport: it is
    /// not a transaction. Its Via is replaced by ours with a fresh branch. Build it with
    /// `Dialog::create_ack`. Call again for every retransmitted 2xx.
    pub async fn send_ack(&self, mut ack: Request, target: Target) -> Result<(), EndpointError> {
        if ack.method != Method::Ack {
            return Err(EndpointError::WrongMethod(ack.method));
        }
        let local = self.local_addr(&target)?;
        build::set_via(&mut ack, &build::our_via(&target.transport, local));
        let bytes = Message::Request(ack).to_bytes();
        self.transport.send(&target, bytes).await?;
        Ok(())
    }

    /// Routes the in-dialog requests of dialog `id` (Call-ID, our tag, the peer's tag) to
    /// `owner`, including ACKs of 2xx that no transaction waits for. Register before the
    /// response that creates the dialog leaves (commands are processed in order), and
    /// unregister when the dialog ends; requests for unknown dialogs get 481.
    pub async fn register_dialog(
        &self,
        id: DialogId,
        owner: mpsc::Sender<Box<InDialogRequest>>,
    ) -> Result<(), EndpointError> {
        self.command(Command::RegisterDialog { id, owner }).await
    }

    /// Stops routing dialog `id`; later requests on it get 481.
    pub async fn unregister_dialog(&self, id: DialogId) -> Result<(), EndpointError> {
        self.command(Command::UnregisterDialog { id }).await
    }

    /// Our Contact for requests and responses on `transport` (`None` without such a
    /// listener): `<sip:[user@]ip:port[;transport=..]>`. A wildcard listener advertises
    /// the address that routes to `remote`.
    pub fn local_contact(
        &self,
        transport: &Transport,
        remote: std::net::SocketAddr,
        user: Option<&str>,
    ) -> Option<NameAddr> {
        let local = self.transport.local_addr(transport.clone())?;
        Some(build::contact(
            transport,
            build::advertised(local, remote),
            user,
        ))
    }

    /// The Via sent-by for in-dialog requests built by `Dialog::create_request` /
    /// `create_ack` (`send_request` and `send_ack` replace that Via anyway).
    pub fn sent_by(&self, target: &Target) -> Option<SentBy> {
        let local = self.local_addr(target).ok()?;
        Some(build::sent_by(&target.transport, local))
    }

    /// The transport layer (for its listeners and flows).
    pub fn transport(&self) -> &TransportLayer {
        &self.transport
    }

    fn local_addr(&self, target: &Target) -> Result<std::net::SocketAddr, EndpointError> {
        let local = self
            .transport
            .local_addr(target.transport.clone())
            .ok_or_else(|| EndpointError::NoListener(target.transport.clone()))?;
        Ok(build::advertised(local, target.addr))
    }

    pub(super) async fn command(&self, command: Command) -> Result<(), EndpointError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| EndpointError::Closed)
    }
}

/// One request we sent: its key, the request as sent (with our Via; `Dialog::new_uac`
/// needs it), and its events.
#[derive(Debug)]
pub struct ClientTransaction {
    key: TransactionKey,
    request: Request,
    events: mpsc::Receiver<ClientEvent>,
}

impl ClientTransaction {
    /// The client transaction key (top Via branch + method).
    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    /// The request exactly as sent.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The next event; `None` once no more can come: after the final response, timeout or
    /// transport error — for an INVITE answered 2xx, 64·T1 after the first 2xx (the window
    /// in which retransmitted or forked 2xx still arrive and must be ACKed).
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.events.recv().await
    }
}
