//! The transaction table: owns every live transaction, matches incoming messages to them
//! (RFC 3261 §17.1.3, §17.2.3), handles CANCEL (§9.1, §9.2) and multiplexes all timers
//! into one `poll_timeout()` / `on_timeout(now)` pair for the driver.
//!
//! Every call returns the [`TableEvent`]s it produced, in order: messages to transmit and
//! events for the TU. Terminated transactions are removed at once (`len()` is exact).
//! Timers sit in a min-heap with lazy invalidation: each transaction records the deadline
//! it is scheduled for, and heap entries that no longer match are skipped.
//!
//! Depends on `sip::message` and the sibling state machines.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Debug;

use tokio::time::Instant;
use tracing::debug;

use crate::sip::message::{Message, Method, Request, Response};

use super::key::TransactionKey;
use super::{
    ClientInvite, ClientNonInvite, Output, ServerInvite, ServerInviteState, ServerNonInvite,
    TimerConfig, TransactionError, TuEvent,
};

mod cancel;

/// What the table asks the driver / TU to do.
#[derive(Debug, Clone)]
pub enum TableEvent<D> {
    /// Send `message` to `dest`. `key` names the transaction that sent it, so a send
    /// failure can be reported with [`TransactionTable::on_transport_error`].
    Transmit {
        /// The sending transaction.
        key: TransactionKey,
        /// The request or response.
        message: Message,
        /// Where to send it.
        dest: D,
    },
    /// A new request created server transaction `key`; the TU answers it with
    /// [`TransactionTable::send_response`].
    NewRequest {
        /// The new server transaction.
        key: TransactionKey,
        /// The request.
        request: Request,
    },
    /// An ACK that matches no INVITE server transaction awaiting one: the ACK for a 2xx
    /// (its own transaction, RFC 3261 §17.1.1.3), for the dialog layer.
    StrayAck {
        /// The ACK.
        request: Request,
    },
    /// A 2xx to an INVITE that matches no client transaction: a retransmission or a
    /// forked 2xx, which the dialog layer must ACK again (RFC 3261 §13.2.2.4, §17.1.1.2).
    StrayResponse {
        /// The response.
        response: Response,
    },
    /// A CANCEL matched INVITE server transaction `invite_key` that is still Proceeding;
    /// the table has answered the CANCEL with 200 and the TU should now answer the INVITE
    /// with 487 (RFC 3261 §9.2).
    CancelReceived {
        /// The INVITE server transaction being cancelled.
        invite_key: TransactionKey,
        /// The CANCEL.
        cancel: Request,
    },
    /// An event of transaction `key` for the TU.
    Tu {
        /// The transaction.
        key: TransactionKey,
        /// What happened.
        event: TuEvent,
    },
}

/// One of the four machines.
#[derive(Debug)]
enum Txn<D> {
    InviteClient {
        txn: ClientInvite<D>,
        /// The TU asked to CANCEL while still Calling: send it on the first provisional
        /// response (RFC 3261 §9.1).
        cancel_pending: bool,
    },
    NonInviteClient(ClientNonInvite<D>),
    InviteServer(ServerInvite<D>),
    NonInviteServer(ServerNonInvite<D>),
}

impl<D: Clone + Debug> Txn<D> {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Self::InviteClient { txn, .. } => txn.poll_timeout(),
            Self::NonInviteClient(t) => t.poll_timeout(),
            Self::InviteServer(t) => t.poll_timeout(),
            Self::NonInviteServer(t) => t.poll_timeout(),
        }
    }

    fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<D>>) {
        match self {
            Self::InviteClient { txn, .. } => txn.on_timeout(now, out),
            Self::NonInviteClient(t) => t.on_timeout(now, out),
            Self::InviteServer(t) => t.on_timeout(now, out),
            Self::NonInviteServer(t) => t.on_timeout(now, out),
        }
    }

    fn on_transport_error(&mut self, out: &mut Vec<Output<D>>) {
        match self {
            Self::InviteClient { txn, .. } => txn.on_transport_error(out),
            Self::NonInviteClient(t) => t.on_transport_error(out),
            Self::InviteServer(t) => t.on_transport_error(out),
            Self::NonInviteServer(t) => t.on_transport_error(out),
        }
    }

    fn state_name(&self) -> &'static str {
        match self {
            Self::InviteClient { txn, .. } => txn.state().as_str(),
            Self::NonInviteClient(t) => t.state().as_str(),
            Self::InviteServer(t) => t.state().as_str(),
            Self::NonInviteServer(t) => t.state().as_str(),
        }
    }
}

#[derive(Debug)]
struct Slot<D> {
    txn: Txn<D>,
    /// The deadline this transaction has a live heap entry for.
    scheduled: Option<Instant>,
    /// False for transactions the table runs on its own (the server side of CANCEL): the
    /// TU never heard of them, so it gets no events for them.
    tu_visible: bool,
}

/// All transactions of one endpoint. `D` is the driver's destination type.
#[derive(Debug)]
pub struct TransactionTable<D> {
    config: TimerConfig,
    /// Boxed: a slot is ~600 bytes, and at 4,000 REGISTERs/s Timer J keeps ~250k of them
    /// alive; inline values would make the map's table (never shrunk by itself) huge.
    slots: HashMap<TransactionKey, Box<Slot<D>>>,
    /// Min-heap of (deadline, transaction); entries not equal to `Slot::scheduled` are stale.
    timers: BinaryHeap<Reverse<(Instant, TransactionKey)>>,
}

impl<D: Clone + Debug> TransactionTable<D> {
    /// An empty table using `config` for every transaction.
    pub fn new(config: TimerConfig) -> Self {
        Self {
            config,
            slots: HashMap::new(),
            timers: BinaryHeap::new(),
        }
    }

    /// The timer configuration.
    pub fn config(&self) -> &TimerConfig {
        &self.config
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether transaction `key` is live.
    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.slots.contains_key(key)
    }

    /// The state name of transaction `key` ("Calling", "Completed", ...), for logs and tests.
    pub fn state(&self, key: &TransactionKey) -> Option<&'static str> {
        self.slots.get(key).map(|s| s.txn.state_name())
    }

    /// An incoming request. `dest` is where responses to it go (the driver computes it per
    /// RFC 3261 §18.2.2 / RFC 3581). Reliability is taken from the top Via's transport.
    ///
    /// New request → [`TableEvent::NewRequest`]; retransmission → absorbed (maybe
    /// answered with the last response); ACK for our non-2xx → absorbed; other ACK →
    /// [`TableEvent::StrayAck`]; CANCEL → answered here (200 + `CancelReceived`, or 481).
    pub fn on_request(
        &mut self,
        request: Request,
        dest: D,
        now: Instant,
    ) -> Result<Vec<TableEvent<D>>, TransactionError> {
        let key = TransactionKey::for_incoming_request(&request)?;
        let mut events = Vec::new();
        if matches!(request.method, Method::Ack) {
            self.on_ack(key, request, now, &mut events);
        } else if self.slots.contains_key(&key) {
            // RFC 3261 §17.2.3: a retransmission of the request.
            self.drive(&key, &mut events, |txn, out| match txn {
                Txn::InviteServer(t) => t.on_request(&request, now, out),
                Txn::NonInviteServer(t) => t.on_request(&request, out),
                Txn::InviteClient { .. } | Txn::NonInviteClient(_) => {}
            });
        } else if matches!(request.method, Method::Cancel) {
            self.on_cancel(key, request, dest, now, &mut events)?;
        } else {
            let reliable = request.headers.top_via()?.transport.is_reliable();
            let txn = if matches!(request.method, Method::Invite) {
                Txn::InviteServer(ServerInvite::new(
                    request.clone(),
                    dest,
                    reliable,
                    self.config,
                    now,
                ))
            } else {
                Txn::NonInviteServer(ServerNonInvite::new(dest, reliable, self.config))
            };
            debug!(%key, reliable, "server transaction created");
            self.insert(key.clone(), txn, true);
            events.push(TableEvent::NewRequest { key, request });
        }
        self.prune();
        Ok(events)
    }

    /// An incoming response: passed to its client transaction (RFC 3261 §17.1.3). An
    /// unmatched 2xx to an INVITE becomes [`TableEvent::StrayResponse`]; other unmatched
    /// responses are dropped (§18.1.2).
    pub fn on_response(
        &mut self,
        response: Response,
        now: Instant,
    ) -> Result<Vec<TableEvent<D>>, TransactionError> {
        let key = TransactionKey::for_response(&response)?;
        let mut events = Vec::new();
        match key.filter(|k| self.slots.contains_key(k)) {
            Some(key) => {
                let provisional = response.status < 200;
                self.drive(&key, &mut events, |txn, out| match txn {
                    Txn::InviteClient { txn, .. } => txn.on_response(response, now, out),
                    Txn::NonInviteClient(t) => t.on_response(response, now, out),
                    Txn::InviteServer(_) | Txn::NonInviteServer(_) => {}
                });
                if provisional {
                    self.flush_pending_cancel(&key, now, &mut events)?;
                }
            }
            None => {
                let cseq = response.headers.cseq()?;
                if (200..300).contains(&response.status) && matches!(cseq.method, Method::Invite) {
                    events.push(TableEvent::StrayResponse { response });
                } else {
                    debug!(status = response.status, "unmatched response dropped");
                }
            }
        }
        self.prune();
        Ok(events)
    }

    /// Start a client transaction for `request` (RFC 3261 §17.1). The caller has put a
    /// fresh `z9hG4bK` branch on the top Via. `reliable` selects the timer behaviour.
    pub fn send_request(
        &mut self,
        request: Request,
        dest: D,
        reliable: bool,
        now: Instant,
    ) -> Result<(TransactionKey, Vec<TableEvent<D>>), TransactionError> {
        if matches!(request.method, Method::Ack) {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let key = TransactionKey::for_outgoing_request(&request)?;
        if self.slots.contains_key(&key) {
            return Err(TransactionError::DuplicateTransaction(Box::new(key)));
        }
        let mut out = Vec::new();
        let txn = if matches!(request.method, Method::Invite) {
            Txn::InviteClient {
                txn: ClientInvite::new(request, dest, reliable, self.config, now, &mut out),
                cancel_pending: false,
            }
        } else {
            Txn::NonInviteClient(ClientNonInvite::new(
                request,
                dest,
                reliable,
                self.config,
                now,
                &mut out,
            ))
        };
        debug!(%key, reliable, "client transaction created");
        self.insert(key.clone(), txn, true);
        let mut events = Vec::new();
        self.apply(&key, out, &mut events);
        self.prune();
        Ok((key, events))
    }

    /// The TU answers server transaction `key` (RFC 3261 §17.2.1, §17.2.2).
    pub fn send_response(
        &mut self,
        key: &TransactionKey,
        response: Response,
        now: Instant,
    ) -> Result<Vec<TableEvent<D>>, TransactionError> {
        let slot = self
            .slots
            .get_mut(key)
            .ok_or_else(|| TransactionError::UnknownTransaction(Box::new(key.clone())))?;
        let mut out = Vec::new();
        match &mut slot.txn {
            Txn::InviteServer(t) => t.send_response(response, now, &mut out)?,
            Txn::NonInviteServer(t) => t.send_response(response, now, &mut out)?,
            Txn::InviteClient { .. } | Txn::NonInviteClient(_) => {
                return Err(TransactionError::WrongKind("response"))
            }
        }
        let mut events = Vec::new();
        self.apply(key, out, &mut events);
        self.prune();
        Ok(events)
    }

    /// The driver failed to send a message of transaction `key`: the transaction
    /// terminates and the TU is told (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
    /// Unknown keys are ignored (the transaction may already be gone).
    pub fn on_transport_error(&mut self, key: &TransactionKey) -> Vec<TableEvent<D>> {
        let mut events = Vec::new();
        self.drive(key, &mut events, |txn, out| txn.on_transport_error(out));
        self.prune();
        events
    }

    /// The earliest deadline of any transaction; the driver sleeps until then and calls
    /// [`Self::on_timeout`]. May be early (never late) after a transaction's timer moved.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Fire every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<TableEvent<D>> {
        let mut events = Vec::new();
        loop {
            let Some(top) = self.timers.peek_mut() else {
                break;
            };
            if top.0 .0 > now {
                break;
            }
            let Reverse((deadline, key)) = PeekMut::pop(top);
            let due = self.slots.get_mut(&key).is_some_and(|slot| {
                let live = slot.scheduled == Some(deadline);
                if live {
                    slot.scheduled = None;
                }
                live
            });
            if due {
                self.drive(&key, &mut events, |txn, out| txn.on_timeout(now, out));
            }
        }
        self.prune();
        events
    }

    /// ACK: absorbed by an INVITE server transaction waiting for it, else stray
    /// (RFC 3261 §17.2.1, §17.2.3).
    fn on_ack(
        &mut self,
        key: TransactionKey,
        ack: Request,
        now: Instant,
        events: &mut Vec<TableEvent<D>>,
    ) {
        let absorbs = match self.slots.get(&key).map(|s| &s.txn) {
            Some(Txn::InviteServer(t)) => {
                matches!(t.state(), ServerInviteState::Completed | ServerInviteState::Confirmed)
                    // RFC 3261 §17.2.3 (RFC 2543): the ACK's To tag must be the tag of the
                    // response we sent.
                    && (!key.is_rfc2543() || to_tag(&ack) == t.final_to_tag())
            }
            _ => false,
        };
        if absorbs {
            self.drive(&key, events, |txn, out| {
                if let Txn::InviteServer(t) = txn {
                    t.on_request(&ack, now, out);
                }
            });
        } else {
            events.push(TableEvent::StrayAck { request: ack });
        }
    }

    fn insert(&mut self, key: TransactionKey, txn: Txn<D>, tu_visible: bool) {
        self.slots.insert(
            key.clone(),
            Box::new(Slot {
                txn,
                scheduled: None,
                tu_visible,
            }),
        );
        self.reschedule(&key);
    }

    /// Run `f` on transaction `key` (if live) and apply what it output.
    fn drive(
        &mut self,
        key: &TransactionKey,
        events: &mut Vec<TableEvent<D>>,
        f: impl FnOnce(&mut Txn<D>, &mut Vec<Output<D>>),
    ) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        // CONVENTIONS: transactions log inside a span naming them (branch and method).
        let span = tracing::debug_span!("transaction", %key);
        let _entered = span.enter();
        let mut out = Vec::new();
        f(&mut slot.txn, &mut out);
        self.apply(key, out, events);
    }

    /// Turn machine outputs into table events; remove the transaction if it terminated,
    /// else bring its heap entry up to date.
    fn apply(
        &mut self,
        key: &TransactionKey,
        out: Vec<Output<D>>,
        events: &mut Vec<TableEvent<D>>,
    ) {
        let visible = self.slots.get(key).is_none_or(|s| s.tu_visible);
        let mut terminated = false;
        for output in out {
            match output {
                Output::Transmit { message, dest } => events.push(TableEvent::Transmit {
                    key: key.clone(),
                    message,
                    dest,
                }),
                Output::ToTu(event) if visible => events.push(TableEvent::Tu {
                    key: key.clone(),
                    event,
                }),
                Output::ToTu(_) => {}
                Output::Terminated => terminated = true,
            }
        }
        if terminated {
            self.slots.remove(key);
            self.compact();
            debug!(%key, "transaction terminated");
            if visible {
                events.push(TableEvent::Tu {
                    key: key.clone(),
                    event: TuEvent::Terminated,
                });
            }
        } else {
            self.reschedule(key);
        }
    }

    /// Push a heap entry if the transaction's next deadline changed.
    fn reschedule(&mut self, key: &TransactionKey) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        let next = slot.txn.poll_timeout();
        if next != slot.scheduled {
            slot.scheduled = next;
            if let Some(deadline) = next {
                self.timers.push(Reverse((deadline, key.clone())));
            }
        }
    }

    /// Drop stale heap entries from the top so `poll_timeout` is exact where possible.
    /// Gives memory back after a burst: hash tables and heaps never shrink on their own,
    /// so a load peak would otherwise stay resident for the life of the process.
    fn compact(&mut self) {
        const MIN_CAPACITY: usize = 4096;
        let (len, cap) = (self.slots.len(), self.slots.capacity());
        if cap > MIN_CAPACITY && len * 4 < cap {
            self.slots.shrink_to((len * 2).max(MIN_CAPACITY));
        }
        let (len, cap) = (self.timers.len(), self.timers.capacity());
        if cap > MIN_CAPACITY && len * 4 < cap {
            self.timers.shrink_to((len * 2).max(MIN_CAPACITY));
        }
    }

    fn prune(&mut self) {
        while let Some(top) = self.timers.peek_mut() {
            let Reverse((deadline, key)) = &*top;
            let live = self
                .slots
                .get(key)
                .is_some_and(|s| s.scheduled == Some(*deadline));
            if live {
                break;
            }
            PeekMut::pop(top);
        }
    }
}

/// The To tag of a request, if any.
fn to_tag(req: &Request) -> Option<String> {
    req.headers.to().ok()?.tag().map(str::to_owned)
}
