//! The SIP endpoint: the one task that ties the transports to the transaction table, the
//! request handlers (registrar, OPTIONS) and the transaction user above it (the call
//! core), through the API of [`SipHandle`], [`ClientTransaction`], [`IncomingRequest`],
//! [`InDialogRequest`] and [`ServerTransaction`].
//!
//! ```text
//!  transport ──Inbound──► [ACL] ─► [validate: 400 stateless] ─► TransactionTable::on_request
//!                                                                   │ NewRequest
//!                                       [screen: 405/501/416/483/420]
//!                            OPTIONS → 200 ◄────────────────────────┤
//!                            REGISTER → task (registrar) ──► replies ┤
//!                            INVITE → Receiver<IncomingRequest> ◄────┤ (full → 503)
//!                            To tag → registered dialog owner ◄──────┘ (unknown → 481)
//!  SipHandle ──commands──► send_request / cancel / respond / (un)register_dialog
//!  transport ◄──Transmit── TransactionTable ◄── responses, requests; 2xx retransmissions
//! ```
//!
//! The task owns the table and every routing map, so it needs no lock; its timers (the
//! table's, 2xx retransmissions, UAC leg expiry) are one `sleep_until`. It never waits on
//! the layer above: deliveries use `try_send`, and anything that waits (the database) runs
//! in its own task and hands its response back through a bounded queue.
//!
//! For the call core: INVITE authentication is its job (`Registrar::authenticate_request`,
//! 407); it decrements Max-Forwards when forwarding (RFC 3261 §16.6 step 3; the endpoint
//! only answers 483 at zero); it registers a dialog before sending the response that
//! creates it, and ACKs every 2xx its INVITE gets ([`SipHandle::send_ack`]).
//!
//! Depends on every `sip` module below it and on `config` (the ACL).

mod build;
mod dispatch;
mod handle;
mod incoming;
mod local;
mod reject;
mod uac;
mod uas;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info_span, warn, Instrument};

use crate::config::Acl;
use crate::runtime::Lifecycle;
use crate::sip::dialog::DialogId;
use crate::sip::message::{Message, Method, Request, Response, Transport};
use crate::sip::registrar::Registrar;
use crate::sip::transaction::{TableEvent, TimerConfig, TransactionKey, TransactionTable, TuEvent};
use crate::sip::transport::{response_target, Inbound, Source, Target, TransportLayer};

pub use build::{new_uac_request, UacRequest, MAX_FORWARDS};
pub use handle::{
    ClientEvent, ClientTransaction, EndpointError, SipHandle, CLIENT_EVENT_QUEUE, COMMAND_QUEUE,
};
pub use incoming::{
    InDialogRequest, IncomingRequest, ServerEvent, ServerTransaction, INCOMING_QUEUE,
    OVERLOAD_RETRY_AFTER,
};
pub use local::{ALLOW, ALLOW_CALLS, SUPPORTED};
pub use reject::{reject, status_for, Rejection};

use dispatch::Origin;
use handle::Command;

/// Responses computed off the endpoint task (e.g. by the registrar) waiting to be sent
/// through their server transaction. Bounded: a full queue makes handler tasks wait, which
/// is the back-pressure we want when the database is slow.
const REPLY_QUEUE: usize = 1024;

/// Inbound messages queued from the transports to the endpoint. Bounded so a flood fills
/// socket buffers (and drops there) instead of memory.
pub const INBOUND_QUEUE: usize = 4096;

/// What the endpoint needs to know besides its collaborators.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// `Server` header value of our responses.
    pub server: String,
    /// Networks allowed to send us requests; others are dropped.
    pub acl: Acl,
    /// RFC 3261 T1/T2/T4.
    pub timers: TimerConfig,
}

/// A response a handler task produced for server transaction `key`.
#[derive(Debug)]
struct Reply {
    key: TransactionKey,
    response: Response,
}

/// The endpoint task's state. Built by [`Endpoint::spawn`].
pub struct Endpoint {
    settings: EndpointSettings,
    transport: TransportLayer,
    registrar: Arc<Registrar>,
    table: TransactionTable<Target>,
    inbound: mpsc::Receiver<Inbound>,
    replies_tx: mpsc::Sender<Reply>,
    replies_rx: mpsc::Receiver<Reply>,
    /// Stream sends run in their own task (a connect can take seconds); failures come back
    /// here so the transaction learns of them (RFC 3261 §17.1.4).
    send_errors_tx: mpsc::Sender<TransactionKey>,
    send_errors_rx: mpsc::Receiver<TransactionKey>,
    /// Shutdown token and task tracker for the tasks the endpoint spawns.
    lifecycle: Lifecycle,
    /// Commands from every [`SipHandle`] and [`ServerTransaction`].
    commands_rx: mpsc::Receiver<Command>,
    /// Given to each new [`ServerTransaction`].
    commands_tx: mpsc::Sender<Command>,
    /// New INVITEs for the call core; a dropped receiver means no call core.
    incoming_tx: mpsc::Sender<IncomingRequest>,
    /// Owners of the dialogs registered through [`SipHandle::register_dialog`].
    dialogs: HashMap<DialogId, mpsc::Sender<Box<InDialogRequest>>>,
    /// Client transactions started through the API.
    uac: uac::ClientRoutes,
    /// Server transactions handed to the TU, and 2xx retransmissions.
    uas: uas::ServerSide,
}

impl Endpoint {
    /// Starts the endpoint task on the lifecycle's tracker. `inbound` is the receiving end
    /// of the queue given to [`TransportLayer::start`]. Returns the handle for the
    /// transaction user and the queue of new INVITEs (capacity [`INCOMING_QUEUE`]): give it
    /// to the call core, or drop it to answer INVITE with 405 as without one.
    pub fn spawn(
        settings: EndpointSettings,
        transport: TransportLayer,
        registrar: Arc<Registrar>,
        inbound: mpsc::Receiver<Inbound>,
        lifecycle: &Lifecycle,
    ) -> (SipHandle, mpsc::Receiver<IncomingRequest>) {
        Self::spawn_with(
            settings,
            transport,
            registrar,
            inbound,
            lifecycle,
            INCOMING_QUEUE,
        )
    }

    /// [`Endpoint::spawn`] with the incoming queue's capacity (tests fill a small one).
    fn spawn_with(
        settings: EndpointSettings,
        transport: TransportLayer,
        registrar: Arc<Registrar>,
        inbound: mpsc::Receiver<Inbound>,
        lifecycle: &Lifecycle,
        incoming_capacity: usize,
    ) -> (SipHandle, mpsc::Receiver<IncomingRequest>) {
        let (replies_tx, replies_rx) = mpsc::channel(REPLY_QUEUE);
        let (send_errors_tx, send_errors_rx) = mpsc::channel(REPLY_QUEUE);
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (incoming_tx, incoming_rx) = mpsc::channel(incoming_capacity.max(1));
        let handle = SipHandle {
            commands: commands_tx.clone(),
            transport: transport.clone(),
        };
        let endpoint = Endpoint {
            table: TransactionTable::new(settings.timers),
            uas: uas::ServerSide::new(settings.timers),
            uac: uac::ClientRoutes::default(),
            dialogs: HashMap::new(),
            commands_rx,
            commands_tx,
            incoming_tx,
            settings,
            transport,
            registrar,
            inbound,
            replies_tx,
            replies_rx,
            send_errors_tx,
            send_errors_rx,
            lifecycle: lifecycle.clone(),
        };
        lifecycle
            .tracker
            .spawn(endpoint.run().instrument(info_span!("sip_endpoint")));
        (handle, incoming_rx)
    }

    async fn run(mut self) {
        let shutdown = self.lifecycle.shutdown.clone();
        loop {
            let deadline = [
                self.table.poll_timeout(),
                self.uas.poll_timeout(),
                self.uac.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            tokio::select! {
                _ = shutdown.cancelled() => break,
                item = self.inbound.recv() => match item {
                    Some(item) => self.on_inbound(item).await,
                    None => break,
                },
                Some(reply) = self.replies_rx.recv() => {
                    let events = self.table.send_response(&reply.key, reply.response, Instant::now());
                    match events {
                        Ok(events) => self.process(events).await,
                        Err(error) => debug!(%error, key = %reply.key, "late response dropped"),
                    }
                }
                Some(command) = self.commands_rx.recv() => self.on_command(command).await,
                Some(key) = self.send_errors_rx.recv() => {
                    let events = self.table.on_transport_error(&key);
                    self.process(events).await;
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let now = Instant::now();
                    let events = self.table.on_timeout(now);
                    self.process(events).await;
                    self.uac.on_timeout(now);
                    for (bytes, dest) in self.uas.on_timeout(now) {
                        self.send_raw(dest, bytes).await;
                    }
                }
            }
        }
        let (uac_routes, uac_legs) = self.uac.len();
        let (uas_txns, uas_2xx) = self.uas.len();
        debug!(
            transactions = self.table.len(),
            uac_routes,
            uac_legs,
            uas_txns,
            uas_2xx,
            dialogs = self.dialogs.len(),
            "endpoint stopped"
        );
    }

    async fn on_inbound(&mut self, item: Inbound) {
        match item {
            Inbound::Message { msg, source } => {
                if !self.settings.acl.allows(source.remote.ip()) {
                    debug!(remote = %source.remote, "dropped: source not in ACL");
                    return;
                }
                match msg {
                    Message::Request(req) => self.on_request(req, source).await,
                    Message::Response(resp) => self.on_response(resp).await,
                }
            }
            Inbound::Malformed {
                bytes,
                error,
                source,
            } => {
                if !self.settings.acl.allows(source.remote.ip()) {
                    return;
                }
                self.reject_stateless(&bytes, &error, &source).await;
            }
        }
    }

    async fn on_request(&mut self, req: Request, source: Source) {
        if let Err(error) = req.validate() {
            // RFC 3261 §8.1.1: a request without what a UAS needs gets 400 (never an ACK).
            if !matches!(req.method, Method::Ack) {
                let bytes = Message::Request(req).to_bytes();
                self.reject_stateless(&bytes, &error, &source).await;
            }
            return;
        }
        let dest = match req.headers.top_via() {
            Ok(via) => response_target(&via, &source),
            Err(_) => return, // validate() checked it
        };
        // Everything this request causes is logged under its Call-ID (one grep per call).
        let span = info_span!(
            "sip_request",
            call_id = req.headers.call_id().unwrap_or("-"),
            method = req.method.as_str(),
            remote = %source.remote,
        );
        async {
            match self.table.on_request(req, dest.clone(), Instant::now()) {
                Ok(events) => {
                    self.process_with_origin(events, Some((&source, &dest)))
                        .await
                }
                Err(error) => debug!(%error, "request not matched"),
            }
        }
        .instrument(span)
        .await
    }

    async fn on_response(&mut self, resp: Response) {
        if resp.validate().is_err() {
            debug!(status = resp.status, "malformed response dropped");
            return;
        }
        let span = info_span!(
            "sip_response",
            call_id = resp.headers.call_id().unwrap_or("-"),
            status = resp.status,
        );
        async {
            match self.table.on_response(resp, Instant::now()) {
                Ok(events) => self.process(events).await,
                Err(error) => debug!(%error, "response not matched"),
            }
        }
        .instrument(span)
        .await
    }

    async fn process(&mut self, events: Vec<TableEvent<Target>>) {
        self.process_with_origin(events, None).await;
    }

    /// Runs table events to completion; events caused by handling an event (a response
    /// that triggers a Transmit) are queued behind the current ones, preserving order.
    async fn process_with_origin(&mut self, events: Vec<TableEvent<Target>>, origin: Origin<'_>) {
        let mut queue: VecDeque<TableEvent<Target>> = events.into();
        while let Some(event) = queue.pop_front() {
            match event {
                TableEvent::Transmit { key, message, dest } => {
                    self.transmit(key, message, dest).await
                }
                TableEvent::NewRequest { key, request } => {
                    if let Some(more) = self.on_new_request(key, request, origin) {
                        queue.extend(more);
                    }
                }
                TableEvent::StrayAck { request } => self.on_stray_ack(request, origin),
                TableEvent::StrayResponse { response } => {
                    // RFC 3261 §13.2.2.4: to the UAC that must ACK it again.
                    let status = response.status;
                    if !self.uac.on_stray(response) {
                        debug!(status, "2xx without transaction or leg ignored");
                    }
                }
                TableEvent::CancelReceived { invite_key, .. } => {
                    // RFC 3261 §9.2: the table answered the CANCEL; the owner answers 487.
                    self.uas.on_cancel(&invite_key);
                }
                TableEvent::Tu { key, event } => {
                    if self.uac.contains(&key) {
                        let linger = self.settings.timers.timeout_64t1();
                        self.uac.on_tu(&key, event, Instant::now(), linger);
                    } else if self.uas.contains(&key) {
                        self.uas.on_tu(&key, event);
                    } else if !matches!(event, TuEvent::Terminated) {
                        debug!(%key, event = ?event, "transaction event");
                    }
                }
            }
        }
    }

    /// A command from the transaction user.
    async fn on_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Send {
                key,
                request,
                target,
                events,
                leg,
            } => {
                let reliable = target.transport.is_reliable();
                match self.table.send_request(*request, target, reliable, now) {
                    Ok((key, table_events)) => {
                        self.uac.insert(key, events, leg);
                        self.process(table_events).await;
                    }
                    Err(error) => {
                        warn!(%error, %key, "request not sent");
                        let _ = events.try_send(ClientEvent::TransportError);
                    }
                }
            }
            Command::Cancel { key } => match self.table.cancel(&key, now) {
                Ok((_, events)) => self.process(events).await,
                Err(error) => debug!(%error, %key, "CANCEL not sent"),
            },
            Command::Respond { key, response } => {
                let invite = key.method() == "INVITE";
                if (200..300).contains(&response.status) && invite {
                    // RFC 3261 §13.3.1.4: the UAS core retransmits its 2xx until the ACK.
                    self.uas.start_2xx(&key, &response, now);
                } else if response.status >= 200 && !invite {
                    self.uas.finished(&key);
                }
                match self.table.send_response(&key, response, now) {
                    Ok(events) => self.process(events).await,
                    Err(error) => debug!(%error, %key, "response dropped"),
                }
            }
            Command::Abandon { key } => {
                if let Some(response) = self.uas.fallback(&key) {
                    warn!(%key, "server transaction dropped unanswered: 500");
                    if let Some(events) = self.answer(&key, response) {
                        self.process(events).await;
                    }
                }
            }
            Command::RegisterDialog { id, owner } => {
                self.dialogs.insert(id, owner);
            }
            Command::UnregisterDialog { id } => {
                self.dialogs.remove(&id);
            }
        }
    }

    fn spawn_register(&self, key: TransactionKey, request: Request, source: Source) {
        let registrar = self.registrar.clone();
        let replies = self.replies_tx.clone();
        // Created inside the request's span, so the task's logs carry its Call-ID too.
        let span = info_span!("register", transport = source.transport.as_str());
        let shutdown = self.lifecycle.shutdown.clone();
        self.lifecycle.tracker.spawn(
            async move {
                let response = registrar.handle(&request, &source, SystemTime::now()).await;
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = replies.send(Reply { key, response }) => {}
                }
            }
            .instrument(span),
        );
    }

    /// Sends bytes no transaction owns (2xx retransmissions); failures are only logged
    /// (the missing ACK ends the call).
    async fn send_raw(&self, dest: Target, bytes: bytes::Bytes) {
        if matches!(dest.transport, Transport::Udp) {
            if let Err(error) = self.transport.send(&dest, bytes).await {
                debug!(%error, addr = %dest.addr, "UDP send failed");
            }
            return;
        }
        let transport = self.transport.clone();
        self.lifecycle.tracker.spawn(async move {
            if let Err(error) = transport.send(&dest, bytes).await {
                debug!(%error, addr = %dest.addr, "stream send failed");
            }
        });
    }

    async fn transmit(&self, key: TransactionKey, message: Message, dest: Target) {
        let bytes = message.to_bytes();
        if matches!(dest.transport, Transport::Udp) {
            // A datagram send does not wait on the peer: send inline, keep the order.
            if let Err(error) = self.transport.send(&dest, bytes).await {
                debug!(%error, addr = %dest.addr, "UDP send failed");
                let _ = self.send_errors_tx.try_send(key);
            }
            return;
        }
        let transport = self.transport.clone();
        let errors = self.send_errors_tx.clone();
        self.lifecycle.tracker.spawn(async move {
            if let Err(error) = transport.send(&dest, bytes).await {
                debug!(%error, addr = %dest.addr, "stream send failed");
                // The endpoint may be gone at shutdown; nothing left to tell then.
                let _ = errors.try_send(key);
            }
        });
    }

    /// Sends a stateless error answer for a request that could not be processed.
    async fn reject_stateless(
        &self,
        raw: &[u8],
        error: &crate::sip::message::ParseError,
        source: &Source,
    ) {
        let Some(rejection) = reject(raw, error, &self.settings.server) else {
            debug!(remote = %source.remote, %error, "malformed message dropped (no response possible)");
            return;
        };
        let dest = response_target(&rejection.top_via, source);
        debug!(remote = %source.remote, %error, status = rejection.status, "request rejected");
        if let Err(error) = self.transport.send(&dest, rejection.bytes).await {
            debug!(%error, "rejection not sent");
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
