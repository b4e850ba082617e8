//! The SIP endpoint: the one task that ties the transports to the transaction table and to
//! the request handlers (registrar, OPTIONS, and later the call core).
//!
//! ```text
//!  transport ──Inbound──► [ACL] ─► [validate: 400 stateless] ─► TransactionTable::on_request
//!                                                                   │ NewRequest
//!                                       [screen: 405/501/416/483/420] ─► [481 in-dialog]
//!                                                                   │
//!                            OPTIONS → 200 ◄────────────────────────┤
//!                            REGISTER → task (registrar, SQLite) ──► replies queue
//!  transport ◄──Transmit── TransactionTable::send_response ◄────────┘
//! ```
//!
//! The task owns the table, so it needs no lock; the table's timers are one
//! `sleep_until(poll_timeout())`. Anything that waits (the database) runs in its own task
//! and hands its response back through a bounded queue. Depends on every `sip` module
//! below it and on `config` (the ACL).

mod local;
mod reject;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info_span, warn, Instrument};

use crate::config::Acl;
use crate::runtime::Lifecycle;
use crate::sip::message::{Message, Method, Request, Response, Transport};
use crate::sip::registrar::Registrar;
use crate::sip::transaction::{TableEvent, TimerConfig, TransactionKey, TransactionTable, TuEvent};
use crate::sip::transport::{response_target, Inbound, Source, Target, TransportLayer};

pub use local::{ALLOW, SUPPORTED};
pub use reject::{reject, status_for, Rejection};

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
}

impl Endpoint {
    /// Starts the endpoint task on the lifecycle's tracker. `inbound` is the receiving end
    /// of the queue given to [`TransportLayer::start`].
    pub fn spawn(
        settings: EndpointSettings,
        transport: TransportLayer,
        registrar: Arc<Registrar>,
        inbound: mpsc::Receiver<Inbound>,
        lifecycle: &Lifecycle,
    ) {
        let (replies_tx, replies_rx) = mpsc::channel(REPLY_QUEUE);
        let (send_errors_tx, send_errors_rx) = mpsc::channel(REPLY_QUEUE);
        let endpoint = Endpoint {
            table: TransactionTable::new(settings.timers),
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
    }

    async fn run(mut self) {
        let shutdown = self.lifecycle.shutdown.clone();
        loop {
            let deadline = self.table.poll_timeout();
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
                Some(key) = self.send_errors_rx.recv() => {
                    let events = self.table.on_transport_error(&key);
                    self.process(events).await;
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let events = self.table.on_timeout(Instant::now());
                    self.process(events).await;
                }
            }
        }
        debug!(transactions = self.table.len(), "endpoint stopped");
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
            match self.table.on_request(req, dest, Instant::now()) {
                Ok(events) => self.process_with_source(events, Some(&source)).await,
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
        self.process_with_source(events, None).await;
    }

    /// Runs table events to completion; events caused by handling an event (a response
    /// that triggers a Transmit) are queued behind the current ones, preserving order.
    async fn process_with_source(
        &mut self,
        events: Vec<TableEvent<Target>>,
        source: Option<&Source>,
    ) {
        let mut queue: VecDeque<TableEvent<Target>> = events.into();
        while let Some(event) = queue.pop_front() {
            match event {
                TableEvent::Transmit { key, message, dest } => {
                    self.transmit(key, message, dest).await
                }
                TableEvent::NewRequest { key, request } => {
                    if let Some(more) = self.on_new_request(key, request, source) {
                        queue.extend(more);
                    }
                }
                TableEvent::StrayAck { request } => {
                    debug!(
                        call_id = request.headers.call_id().unwrap_or("-"),
                        "ACK without transaction ignored"
                    );
                }
                TableEvent::StrayResponse { response } => {
                    debug!(status = response.status, "2xx without transaction ignored");
                }
                TableEvent::CancelReceived { invite_key, .. } => {
                    // No INVITE is left pending by this endpoint yet (the call core will
                    // answer 487 here); the CANCEL itself was answered by the table.
                    debug!(key = %invite_key, "CANCEL for an INVITE already answered");
                }
                TableEvent::Tu { key, event } => match event {
                    TuEvent::Terminated => {}
                    other => debug!(%key, event = ?other, "transaction event"),
                },
            }
        }
    }

    /// A new server transaction: screen it, then answer locally or hand it to a handler.
    /// Returns the table events of a locally sent response.
    fn on_new_request(
        &mut self,
        key: TransactionKey,
        request: Request,
        source: Option<&Source>,
    ) -> Option<Vec<TableEvent<Target>>> {
        let server = self.settings.server.as_str();
        let response = match local::screen(&request, server) {
            local::Screening::Answer(r) => r,
            local::Screening::Pass
                if request.method != Method::Register && local::is_in_dialog(&request) =>
            {
                local::no_dialog(&request, server)
            }
            local::Screening::Pass => match request.method {
                Method::Options => local::options_ok(&request, server),
                Method::Register => {
                    let source = source.cloned()?;
                    self.spawn_register(key, request, source);
                    return None;
                }
                _ => local::no_dialog(&request, server),
            },
        };
        match self.table.send_response(&key, response, Instant::now()) {
            Ok(events) => Some(events),
            Err(error) => {
                warn!(%error, %key, "cannot answer request");
                None
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
