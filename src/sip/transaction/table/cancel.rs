//! CANCEL handling of the transaction table (RFC 3261 §9): sending a CANCEL for an
//! INVITE client transaction (§9.1), and answering an incoming CANCEL (§9.2).
//!
//! Depends on `sip::message` and the sibling state machines.

use tokio::time::Instant;
use tracing::debug;

use crate::sip::message::{Method, Request, Response};

use super::super::key::{cancel_target_key, TransactionKey};
use super::super::{
    build, ClientInviteState, ClientNonInvite, ServerInviteState, ServerNonInvite, TransactionError,
};
use super::{to_tag, TableEvent, TransactionTable, Txn};

impl<D: Clone + std::fmt::Debug> TransactionTable<D> {
    /// CANCEL the INVITE client transaction `invite_key` (RFC 3261 §9.1). Returns the key
    /// of the CANCEL's own client transaction. Before any provisional response the CANCEL
    /// is held back and sent when the first one arrives (§9.1); if a final response comes
    /// first it is never sent. Once sent, the INVITE gives up after 64*T1 without a final
    /// response (a synthetic 487 reaches the TU).
    pub fn cancel(
        &mut self,
        invite_key: &TransactionKey,
        now: Instant,
    ) -> Result<(TransactionKey, Vec<TableEvent<D>>), TransactionError> {
        // The CANCEL reuses the INVITE's top Via, hence its branch (RFC 3261 §9.1).
        let TransactionKey::Client { branch, .. } = invite_key else {
            return Err(TransactionError::WrongKind("CANCEL"));
        };
        let cancel_key = TransactionKey::Client {
            branch: branch.clone(),
            method: Method::Cancel.as_str().to_owned(),
        };
        let duplicate = self.slots.contains_key(&cancel_key);
        let slot = self
            .slots
            .get_mut(invite_key)
            .ok_or_else(|| TransactionError::UnknownTransaction(Box::new(invite_key.clone())))?;
        let Txn::InviteClient {
            txn,
            cancel_pending,
        } = &mut slot.txn
        else {
            return Err(TransactionError::WrongKind("CANCEL"));
        };
        if *cancel_pending || duplicate {
            return Err(TransactionError::DuplicateTransaction(Box::new(cancel_key)));
        }
        let mut events = Vec::new();
        match txn.state() {
            ClientInviteState::Calling => *cancel_pending = true,
            ClientInviteState::Proceeding => self.start_cancel(invite_key, now, &mut events)?,
            state => {
                return Err(TransactionError::InvalidState {
                    state: state.as_str(),
                    what: "CANCEL",
                })
            }
        }
        self.prune();
        Ok((cancel_key, events))
    }

    /// A CANCEL with no transaction of its own yet (RFC 3261 §9.2): 200 and
    /// `CancelReceived` if it matches an INVITE server transaction, else 481. Either way
    /// the answer goes through a server transaction that absorbs retransmitted CANCELs.
    pub(super) fn on_cancel(
        &mut self,
        key: TransactionKey,
        cancel: Request,
        dest: D,
        now: Instant,
        events: &mut Vec<TableEvent<D>>,
    ) -> Result<(), TransactionError> {
        let target = cancel_target_key(&cancel)?;
        let (status, tag, notify) = match self.slots.get(&target).map(|s| &s.txn) {
            // RFC 2543 matching also compares the To tag with the INVITE's (§9.2, §17.2.3).
            Some(Txn::InviteServer(inv))
                if !target.is_rfc2543() || to_tag(&cancel) == to_tag(inv.request()) =>
            {
                // RFC 3261 §9.2: the To tag of the 200 SHOULD equal that of the INVITE's
                // responses; only the TU's pending final response is cancelled.
                let notify = inv.state() == ServerInviteState::Proceeding;
                (200, inv.provisional_to_tag(), notify)
            }
            _ => (481, None, false),
        };
        let reliable = cancel.headers.top_via()?.transport.is_reliable();
        let response = Response::for_request(&cancel, status, None, tag.as_deref());
        let mut server = ServerNonInvite::new(dest, reliable, self.config);
        let mut out = Vec::new();
        server.send_response(response, now, &mut out)?;
        debug!(%key, status, "CANCEL answered");
        self.insert(key.clone(), Txn::NonInviteServer(server), false);
        self.apply(&key, out, events);
        if notify {
            events.push(TableEvent::CancelReceived {
                invite_key: target,
                cancel,
            });
        }
        Ok(())
    }

    /// Send a CANCEL that waited for the INVITE's first provisional response (§9.1).
    pub(super) fn flush_pending_cancel(
        &mut self,
        key: &TransactionKey,
        now: Instant,
        events: &mut Vec<TableEvent<D>>,
    ) -> Result<(), TransactionError> {
        let due = match self.slots.get_mut(key).map(|s| &mut s.txn) {
            Some(Txn::InviteClient {
                txn,
                cancel_pending,
            }) if *cancel_pending && txn.state() == ClientInviteState::Proceeding => {
                *cancel_pending = false;
                true
            }
            _ => false,
        };
        if due {
            self.start_cancel(key, now, events)?;
        }
        Ok(())
    }

    /// Build the CANCEL for INVITE client transaction `invite_key` (RFC 3261 §9.1) and
    /// start its own non-INVITE client transaction, to the same destination.
    fn start_cancel(
        &mut self,
        invite_key: &TransactionKey,
        now: Instant,
        events: &mut Vec<TableEvent<D>>,
    ) -> Result<(), TransactionError> {
        let Some(Txn::InviteClient { txn, .. }) =
            self.slots.get_mut(invite_key).map(|s| &mut s.txn)
        else {
            return Err(TransactionError::UnknownTransaction(Box::new(
                invite_key.clone(),
            )));
        };
        let cancel = build::cancel_for(txn.request());
        let (dest, reliable) = (txn.dest().clone(), txn.reliable());
        txn.cancel_sent(now);
        self.reschedule(invite_key);
        let key = TransactionKey::for_outgoing_request(&cancel)?;
        let mut out = Vec::new();
        let client = ClientNonInvite::new(cancel, dest, reliable, self.config, now, &mut out);
        debug!(%key, "CANCEL sent");
        self.insert(key.clone(), Txn::NonInviteClient(client), true);
        self.apply(&key, out, events);
        Ok(())
    }
}
