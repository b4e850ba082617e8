//! Where the endpoint task sends a new server transaction: screened and answered locally
//! (OPTIONS, 405/501/416/483/420, 481), to the registrar (REGISTER), to the call core
//! (INVITE, through the incoming queue) or to a dialog's owner (in-dialog requests, RFC
//! 3261 §12.2.2); and where an ACK without a transaction goes (§13.3.1.4).
//!
//! Delivery never waits: a full queue gets `503` + `Retry-After`, a dropped receiver gets
//! what the endpoint would answer without it (405 for INVITE, 481 in a dialog).
//!
//! Depends on the sibling modules of `sip::endpoint`.

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::sip::dialog::DialogId;
use crate::sip::message::{new_tag, Method, Request, Response};
use crate::sip::transaction::{TableEvent, TransactionKey};
use crate::sip::transport::{Source, Target};

use super::incoming::{
    InDialogRequest, IncomingRequest, ServerTransaction, OVERLOAD_RETRY_AFTER, SERVER_EVENT_QUEUE,
};
use super::uas::Entry;
use super::{local, Endpoint};

/// The request's source and where its responses go.
pub(super) type Origin<'a> = Option<(&'a Source, &'a Target)>;

/// The dialog a received request claims to belong to: its To tag is our tag.
fn dialog_of(req: &Request) -> Option<DialogId> {
    let h = &req.headers;
    Some(DialogId {
        call_id: h.call_id().ok()?.to_owned(),
        local_tag: h.to().ok()?.tag()?.to_owned(),
        remote_tag: h.from().ok()?.tag().unwrap_or_default().to_owned(),
    })
}

impl Endpoint {
    /// A new server transaction: screen it, then answer locally or hand it on. Returns the
    /// table events of a locally sent response.
    pub(super) fn on_new_request(
        &mut self,
        key: TransactionKey,
        request: Request,
        origin: Origin<'_>,
    ) -> Option<Vec<TableEvent<Target>>> {
        let calls = !self.incoming_tx.is_closed();
        let server = self.settings.server.as_str();
        let response = match local::screen(&request, server, calls) {
            local::Screening::Answer(r) => r,
            local::Screening::Pass => {
                if let Some(ok) = self.uas.retransmitted_invite(&request) {
                    // RFC 3261 §13.3.1.4: the INVITE came again, our 2xx was lost.
                    ok
                } else if request.method != Method::Register && local::is_in_dialog(&request) {
                    self.deliver_in_dialog(&key, request, origin)?
                } else {
                    match request.method {
                        Method::Options => local::options_ok(&request, server, calls),
                        Method::Register => {
                            let (source, _) = origin?;
                            self.spawn_register(key, request, source.clone());
                            return None;
                        }
                        Method::Invite => self.deliver_invite(&key, request, origin)?,
                        _ => local::no_dialog(&request, server),
                    }
                }
            }
        };
        self.answer(&key, response)
    }

    /// Sends `response` through server transaction `key`; returns the table events.
    pub(super) fn answer(
        &mut self,
        key: &TransactionKey,
        response: Response,
    ) -> Option<Vec<TableEvent<Target>>> {
        match self.table.send_response(key, response, Instant::now()) {
            Ok(events) => Some(events),
            Err(error) => {
                warn!(%error, %key, "cannot answer request");
                None
            }
        }
    }

    /// A handle for server transaction `key` and the endpoint's side of it.
    fn server_txn(
        &self,
        key: &TransactionKey,
        request: &Request,
        dest: &Target,
    ) -> (ServerTransaction, Entry) {
        let (events_tx, events_rx) = mpsc::channel(SERVER_EVENT_QUEUE);
        let cancel = CancellationToken::new();
        let txn = ServerTransaction::new(
            key.clone(),
            request.method.clone(),
            self.commands_tx.clone(),
            cancel.clone(),
            events_rx,
        );
        let mut fallback = Response::for_request(request, 500, None, Some(&new_tag()));
        fallback.headers.push(
            crate::sip::message::HeaderName::Server,
            self.settings.server.as_str(),
        );
        let entry = Entry {
            events: events_tx,
            cancel,
            dest: dest.clone(),
            fallback,
        };
        (txn, entry)
    }

    /// Out-of-dialog INVITE → call core. `None` when delivered; else the answer.
    fn deliver_invite(
        &mut self,
        key: &TransactionKey,
        request: Request,
        origin: Origin<'_>,
    ) -> Option<Response> {
        let server = self.settings.server.as_str();
        let Some((source, dest)) = origin else {
            return Some(local::no_dialog(&request, server));
        };
        let (txn, entry) = self.server_txn(key, &request, dest);
        let item = IncomingRequest {
            request,
            source: source.clone(),
            txn,
        };
        match self.incoming_tx.try_send(item) {
            Ok(()) => {
                self.uas.insert(key.clone(), entry);
                None
            }
            Err(TrySendError::Full(item)) => {
                item.txn.disarm();
                warn!(%key, "call core queue full: 503");
                Some(local::overloaded(
                    &item.request,
                    server,
                    OVERLOAD_RETRY_AFTER,
                ))
            }
            Err(TrySendError::Closed(item)) => {
                item.txn.disarm();
                let local::Screening::Answer(r) = local::screen(&item.request, server, false)
                else {
                    return Some(local::no_dialog(&item.request, server));
                };
                Some(r)
            }
        }
    }

    /// In-dialog request → the dialog's owner (RFC 3261 §12.2.2). `None` when delivered.
    fn deliver_in_dialog(
        &mut self,
        key: &TransactionKey,
        request: Request,
        origin: Origin<'_>,
    ) -> Option<Response> {
        let server = self.settings.server.as_str();
        let id = dialog_of(&request);
        let owner = id.as_ref().and_then(|id| self.dialogs.get(id));
        let (Some(owner), Some((source, dest))) = (owner, origin) else {
            return Some(local::no_dialog(&request, server));
        };
        if request.method == Method::Options {
            // An in-dialog OPTIONS (keep-alive probe) is answered here.
            return Some(local::options_ok(&request, server, true));
        }
        let owner = owner.clone();
        let (txn, entry) = self.server_txn(key, &request, dest);
        let item = Box::new(InDialogRequest {
            request,
            source: source.clone(),
            txn: Some(txn),
        });
        let rejected = match owner.try_send(item) {
            Ok(()) => {
                self.uas.insert(key.clone(), entry);
                return None;
            }
            Err(TrySendError::Full(item)) => {
                warn!(%key, "dialog owner queue full: 503");
                (item, true)
            }
            Err(TrySendError::Closed(item)) => {
                if let Some(id) = &id {
                    self.dialogs.remove(id);
                }
                (item, false)
            }
        };
        let (item, overloaded) = rejected;
        if let Some(txn) = &item.txn {
            txn.disarm();
        }
        Some(if overloaded {
            local::overloaded(&item.request, server, OVERLOAD_RETRY_AFTER)
        } else {
            local::no_dialog(&item.request, server)
        })
    }

    /// An ACK that matched no transaction: the ACK for one of our 2xx (stops its
    /// retransmission, RFC 3261 §13.3.1.4), else to the dialog's owner, else dropped.
    pub(super) fn on_stray_ack(&mut self, ack: Request, origin: Origin<'_>) {
        let Some(ack) = self.uas.on_ack(ack) else {
            self.uas.prune();
            return;
        };
        let owner = dialog_of(&ack).and_then(|id| self.dialogs.get(&id));
        match (owner, origin) {
            (Some(owner), Some((source, _))) => {
                let item = Box::new(InDialogRequest {
                    request: ack,
                    source: source.clone(),
                    txn: None,
                });
                if owner.try_send(item).is_err() {
                    debug!("ACK dropped: dialog owner not reading");
                }
            }
            _ => debug!(
                call_id = ack.headers.call_id().unwrap_or("-"),
                "ACK without transaction or dialog ignored"
            ),
        }
    }
}
