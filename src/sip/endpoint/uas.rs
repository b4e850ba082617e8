//! Server-side bookkeeping of the endpoint task: the server transactions handed to the
//! transaction user (their CANCEL token and event queue), and the 2xx responses to INVITE
//! that the UAS core retransmits until the ACK arrives (RFC 3261 §13.3.1.4).
//!
//! ```text
//!             2xx to INVITE sent
//!                    │  (entry moves from `txns` to `pending`, keyed Call-ID/From tag/CSeq)
//!                    ▼
//!   ┌───────── Waiting for ACK ──────────┐  retransmit at T1, 2T1, .. capped at T2
//!   │ ACK (StrayAck) ──► ServerEvent::Ack│  (unreliable transports only)
//!   │ 64·T1 ──► ServerEvent::AckTimeout  │  INVITE retransmission ──► resend the 2xx
//!   └────────────────────────────────────┘
//! ```
//!
//! Sans-IO apart from the queues: every input carries `now`, retransmissions come back as
//! `(bytes, target)` pairs. Depends on `sip::message`, `sip::transport`,
//! `sip::transaction`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::sip::message::{Message, Method, Request, Response};
use crate::sip::transaction::{TimerConfig, TransactionKey, TuEvent};
use crate::sip::transport::Target;

use super::handle::LegKey;
use super::incoming::ServerEvent;

/// A server transaction the TU holds a [`super::ServerTransaction`] for.
pub(super) struct Entry {
    pub events: mpsc::Sender<ServerEvent>,
    pub cancel: CancellationToken,
    /// Where responses go (RFC 3261 §18.2.2).
    pub dest: Target,
    /// The `500` sent if the TU drops its handle without a final response.
    pub fallback: Response,
}

/// A 2xx to an INVITE waiting for its ACK.
struct Pending {
    response: Response,
    bytes: Bytes,
    dest: Target,
    events: mpsc::Sender<ServerEvent>,
    /// Next retransmission and the interval that led to it (`None` on reliable transports).
    retransmit: Option<(Instant, Duration)>,
    give_up: Instant,
    /// The deadline this entry has a live heap entry for.
    scheduled: Instant,
}

impl Pending {
    fn next_deadline(&self) -> Instant {
        match self.retransmit {
            Some((at, _)) => at.min(self.give_up),
            None => self.give_up,
        }
    }
}

/// Server transactions of the TU and 2xx retransmissions.
pub(super) struct ServerSide {
    timers: TimerConfig,
    txns: HashMap<TransactionKey, Entry>,
    pending: HashMap<LegKey, Pending>,
    heap: BinaryHeap<Reverse<(Instant, LegKey)>>,
}

impl ServerSide {
    pub fn new(timers: TimerConfig) -> Self {
        Self {
            timers,
            txns: HashMap::new(),
            pending: HashMap::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// The TU now holds server transaction `key`.
    pub fn insert(&mut self, key: TransactionKey, entry: Entry) {
        self.txns.insert(key, entry);
    }

    /// Whether the TU holds server transaction `key`.
    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.txns.contains_key(key)
    }

    /// The `500` for a transaction whose handle was dropped unanswered.
    pub fn fallback(&self, key: &TransactionKey) -> Option<Response> {
        self.txns.get(key).map(|e| e.fallback.clone())
    }

    /// A CANCEL matched INVITE transaction `key` (RFC 3261 §9.2).
    pub fn on_cancel(&mut self, key: &TransactionKey) {
        if let Some(entry) = self.txns.get(key) {
            entry.cancel.cancel();
            let _ = entry.events.try_send(ServerEvent::Cancelled);
        }
    }

    /// A transaction event for a TU-held server transaction.
    pub fn on_tu(&mut self, key: &TransactionKey, event: TuEvent) {
        let event = match event {
            TuEvent::AckTimeout => ServerEvent::AckTimeout,
            TuEvent::TransportError => ServerEvent::TransportError,
            TuEvent::Terminated => {
                self.txns.remove(key);
                return;
            }
            TuEvent::Response(_) | TuEvent::Timeout(_) => return,
        };
        if let Some(entry) = self.txns.get(key) {
            let _ = entry.events.try_send(event);
        }
    }

    /// A final response went out on non-INVITE transaction `key`: no event can follow but
    /// a transport error, so the TU's handle is released now (not after Timer J).
    pub fn finished(&mut self, key: &TransactionKey) {
        self.txns.remove(key);
    }

    /// The TU sends a 2xx to INVITE transaction `key`: from now on the endpoint
    /// retransmits it until the ACK (RFC 3261 §13.3.1.4). Call before handing the 2xx to
    /// the transaction (which terminates on it).
    pub fn start_2xx(&mut self, key: &TransactionKey, response: &Response, now: Instant) {
        let Some(entry) = self.txns.remove(key) else {
            return;
        };
        let Some(leg) = LegKey::of(&response.headers) else {
            return;
        };
        let reliable = entry.dest.transport.is_reliable();
        let t1 = self.timers.t1;
        let mut pending = Pending {
            bytes: Message::Response(response.clone()).to_bytes(),
            response: response.clone(),
            dest: entry.dest,
            events: entry.events,
            retransmit: (!reliable).then(|| (now + t1, t1)),
            give_up: now + self.timers.timeout_64t1(),
            scheduled: now,
        };
        pending.scheduled = pending.next_deadline();
        self.heap.push(Reverse((pending.scheduled, leg.clone())));
        debug!(call_id = %leg.call_id, seq = leg.seq, "2xx waits for its ACK");
        self.pending.insert(leg, pending);
    }

    /// An ACK without a transaction: if it acknowledges one of our 2xx, stop that 2xx and
    /// tell its owner (returns `None`); otherwise hand it back.
    pub fn on_ack(&mut self, ack: Request) -> Option<Request> {
        let Some(leg) = LegKey::of(&ack.headers) else {
            return Some(ack);
        };
        match self.pending.remove(&leg) {
            Some(pending) => {
                debug!(call_id = %leg.call_id, seq = leg.seq, "2xx acknowledged");
                let _ = pending.events.try_send(ServerEvent::Ack(Box::new(ack)));
                None
            }
            None => Some(ack),
        }
    }

    /// Drops stale heap entries from the top (acknowledged 2xx), so the endpoint does not
    /// wake up for them.
    pub fn prune(&mut self) {
        while let Some(Reverse((at, leg))) = self.heap.peek() {
            if self.pending.get(leg).is_some_and(|p| p.scheduled == *at) {
                break;
            }
            self.heap.pop();
        }
    }

    /// RFC 3261 §13.3.1.4: an INVITE retransmitted after our 2xx (which the UAC did not
    /// get) arrives as a new request; the answer is the same 2xx.
    pub fn retransmitted_invite(&self, req: &Request) -> Option<Response> {
        if req.method != Method::Invite {
            return None;
        }
        let leg = LegKey::of(&req.headers)?;
        self.pending.get(&leg).map(|p| p.response.clone())
    }

    /// The earliest retransmission or give-up deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Fires due retransmissions and give-ups; returns what to send.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<(Bytes, Target)> {
        let mut out = Vec::new();
        while let Some(Reverse((at, _))) = self.heap.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, leg))) = self.heap.pop() else {
                break;
            };
            let Some(pending) = self.pending.get_mut(&leg) else {
                continue;
            };
            if pending.scheduled != at {
                continue;
            }
            if pending.give_up <= now {
                // RFC 3261 §13.3.1.4: no ACK in 64·T1 — the owner ends the session.
                if let Some(pending) = self.pending.remove(&leg) {
                    debug!(call_id = %leg.call_id, seq = leg.seq, "no ACK for 2xx");
                    let _ = pending.events.try_send(ServerEvent::AckTimeout);
                }
                continue;
            }
            if let Some((due, interval)) = pending.retransmit {
                if due <= now {
                    out.push((pending.bytes.clone(), pending.dest.clone()));
                    // RFC 3261 §13.3.1.4: the interval doubles up to T2.
                    let interval = self.timers.next_capped(interval);
                    pending.retransmit = Some((now + interval, interval));
                }
            }
            pending.scheduled = pending.next_deadline();
            self.heap.push(Reverse((pending.scheduled, leg)));
        }
        out
    }

    /// Numbers of TU-held transactions and of 2xx waiting for an ACK (leak checks).
    pub fn len(&self) -> (usize, usize) {
        (self.txns.len(), self.pending.len())
    }
}
