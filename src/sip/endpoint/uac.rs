//! Client-side routing of the endpoint task: which [`ClientTransaction`] queue each
//! transaction event goes to, and where 2xx responses to an INVITE go once its transaction
//! has ended (RFC 3261 §13.2.2.4: retransmitted and forked 2xx must reach the UAC core,
//! which ACKs each one). Such "legs" are kept 64·T1 after the first 2xx, the window in
//! which 2xx retransmissions can still arrive (§17.1.1.2 / RFC 6026 Timer L).
//!
//! ```text
//!   Send ─► route(key) [+ leg(Call-ID, From tag, CSeq) for INVITE]
//!   Tu Response/Timeout/TransportError ─► queue      Tu Terminated ─► drop route
//!   first 2xx ─► leg expires at now + 64·T1          stray 2xx ─► leg's queue
//!   leg expiry / queue closed ─► drop leg (the ClientTransaction's next() yields None)
//! ```
//!
//! Sans-IO apart from the queues: every input carries `now`. Depends on
//! `sip::transaction` and `sip::message`.
//!
//! [`ClientTransaction`]: super::ClientTransaction

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::sip::message::Response;
use crate::sip::transaction::{TransactionKey, TuEvent};

use super::handle::{ClientEvent, LegKey};

struct Route {
    events: mpsc::Sender<ClientEvent>,
    leg: Option<LegKey>,
}

struct Leg {
    events: mpsc::Sender<ClientEvent>,
    /// Set by the first 2xx: when the leg is forgotten.
    expires: Option<Instant>,
}

/// Routes of the client transactions started through the API.
#[derive(Default)]
pub(super) struct ClientRoutes {
    routes: HashMap<TransactionKey, Route>,
    legs: HashMap<LegKey, Leg>,
    /// Leg expiries, lazily invalidated (an entry is live if it equals `Leg::expires`).
    expiry: BinaryHeap<Reverse<(Instant, LegKey)>>,
}

impl ClientRoutes {
    /// Starts routing transaction `key` (and, for an INVITE, its `leg`) to `events`.
    pub fn insert(
        &mut self,
        key: TransactionKey,
        events: mpsc::Sender<ClientEvent>,
        leg: Option<LegKey>,
    ) {
        if let Some(leg) = &leg {
            self.legs.insert(
                leg.clone(),
                Leg {
                    events: events.clone(),
                    expires: None,
                },
            );
        }
        self.routes.insert(key, Route { events, leg });
    }

    /// Whether `key` is a transaction started through the API.
    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.routes.contains_key(key)
    }

    /// A transaction event. `linger` is how long a leg outlives its first 2xx (64·T1).
    pub fn on_tu(&mut self, key: &TransactionKey, event: TuEvent, now: Instant, linger: Duration) {
        let Some(route) = self.routes.get(key) else {
            return;
        };
        let (event, last) = match event {
            TuEvent::Response(resp) => {
                if (200..300).contains(&resp.status) {
                    if let Some(leg) = route.leg.as_ref().and_then(|l| self.legs.get_mut(l)) {
                        if leg.expires.is_none() {
                            let at = now + linger;
                            leg.expires = Some(at);
                            if let Some(name) = &route.leg {
                                self.expiry.push(Reverse((at, name.clone())));
                            }
                        }
                    }
                }
                let last = resp.status >= 200;
                (ClientEvent::Response(Box::new(resp)), last)
            }
            TuEvent::Timeout(resp) => (ClientEvent::Timeout(Box::new(resp)), true),
            TuEvent::TransportError => (ClientEvent::TransportError, true),
            TuEvent::AckTimeout => return,
            TuEvent::Terminated => {
                self.forget(key);
                return;
            }
        };
        deliver(&route.events, event);
        if last {
            // Nothing more reaches the TU through the transaction (a non-2xx final is
            // absorbed by it); only a 2xx leg stays, for retransmitted or forked 2xx.
            self.forget(key);
        }
    }

    /// Drops the route of `key`, and its leg unless a 2xx keeps it alive.
    fn forget(&mut self, key: &TransactionKey) {
        if let Some(route) = self.routes.remove(key) {
            if let Some(leg) = route.leg {
                if self.legs.get(&leg).is_some_and(|l| l.expires.is_none()) {
                    self.legs.remove(&leg);
                }
            }
        }
    }

    /// A 2xx to an INVITE that matched no transaction: to its leg, if still known.
    /// Returns whether a leg took it.
    pub fn on_stray(&mut self, response: Response) -> bool {
        let Some(name) = LegKey::of(&response.headers) else {
            return false;
        };
        let Some(leg) = self.legs.get(&name) else {
            return false;
        };
        if leg.events.is_closed() {
            self.legs.remove(&name);
            return false;
        }
        deliver(&leg.events, ClientEvent::Response(Box::new(response)));
        true
    }

    /// The earliest leg expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expiry.peek().map(|Reverse((at, _))| *at)
    }

    /// Forgets every leg whose time is up.
    pub fn on_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.expiry.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, name))) = self.expiry.pop() else {
                break;
            };
            let live = self.legs.get(&name).is_some_and(|l| l.expires == Some(at));
            // A route still running (a late INVITE transaction) keeps its sender anyway.
            if live {
                self.legs.remove(&name);
            }
        }
    }

    /// Number of routes and legs (for tests and leak checks).
    pub fn len(&self) -> (usize, usize) {
        (self.routes.len(), self.legs.len())
    }
}

fn deliver(events: &mpsc::Sender<ClientEvent>, event: ClientEvent) {
    match events.try_send(event) {
        Ok(()) => {}
        Err(TrySendError::Full(event)) => {
            warn!(event = ?event, "client transaction owner not reading: event dropped")
        }
        Err(TrySendError::Closed(_)) => debug!("client transaction owner gone"),
    }
}
