//! The event bus: fans every published [`Event`] out to any number of consumers through
//! bounded queues, in one global order.
//!
//! Two kinds of consumer:
//! - **lossy** ([`EventBus::subscribe_lossy`]; web live view, metrics): `try_send`; when
//!   its queue is full the event is dropped *for that consumer only*, its drop counter
//!   grows and a warning naming it is logged at most once per [`DROP_WARN_INTERVAL`]. A
//!   lossy consumer never slows the publisher.
//! - **lossless** ([`EventBus::subscribe_lossless`]; CDR, ACD): when its queue is full
//!   the publisher waits for room. The waits are counted and timed (count, total, max,
//!   in [`ConsumerStats`]) so back-pressure is explicit and measured.
//!
//! A consumer that dropped its receiver is removed at the next publish.
//!
//! ## Ordering and locking
//! `publish` runs in two steps under a *publish turn*, a FIFO `tokio::sync::Mutex<()>`:
//! 1. take the subscriber list (an `Arc<Vec<..>>` copied out of a `std::sync::Mutex`
//!    that is held only for that copy and for subscribe/remove — never across an await),
//!    assign the next sequence number, `try_send` to every lossy consumer;
//! 2. deliver to each lossless consumer in subscription order: `try_send`, and only if
//!    its queue is full, `send().await` (the measured wait).
//!
//! Holding the turn across step 2's await is the point: it makes "assign seq + deliver to
//! every lossless queue" one step, so every consumer receives seq strictly increasing and
//! no publisher can overtake one that is waiting for a lossless consumer. The price,
//! by design: while a lossless consumer is full, every publisher waits (that *is* the
//! back-pressure), and lossy consumers get nothing new meanwhile. Without a full lossless
//! queue nothing awaits except the uncontended turn.
//!
//! Per-channel order follows from the owner: one actor publishes a channel's events one
//! after another, and the turn is FIFO. If a `publish` future is dropped mid-way (e.g. on
//! shutdown), consumers not yet reached miss that event; the turn is released.
//!
//! Depends on `switch::{events, channel, ids}` and tokio.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::switch::channel::ChannelSnapshot;
use crate::switch::events::{Event, EventKind};

/// Default queue of a lossy consumer: about one second of events at 1,000 events/s (a
/// busy switch); a live view that falls further behind resyncs from snapshots anyway.
pub const DEFAULT_LOSSY_CAPACITY: usize = 1024;

/// Default queue of a lossless consumer: ~10 events per call at 1,500 calls/s gives half a
/// second of slack for a database commit stall before publishers are held back.
pub const DEFAULT_LOSSLESS_CAPACITY: usize = 8192;

/// At most one "slow consumer" warning per consumer in this interval.
pub const DROP_WARN_INTERVAL: Duration = Duration::from_secs(5);

/// How a consumer is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerKind {
    /// Drops events when its queue is full.
    Lossy,
    /// Holds publishers back when its queue is full.
    Lossless,
}

/// Counters of one consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Name given at subscription.
    pub name: String,
    /// Lossy or lossless.
    pub kind: ConsumerKind,
    /// Events queued for it.
    pub delivered: u64,
    /// Events dropped because its queue was full (lossy only).
    pub dropped: u64,
    /// How many publishes had to wait for room (lossless only).
    pub waits: u64,
    /// Total time publishers waited for it.
    pub wait_total: Duration,
    /// Longest single wait.
    pub wait_max: Duration,
    /// Events currently in its queue.
    pub queued: usize,
}

/// Counters of the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusStats {
    /// Events published (the last sequence number).
    pub published: u64,
    /// Consumers removed because their receiver was dropped.
    pub removed_consumers: u64,
    /// Live consumers, in subscription order.
    pub consumers: Vec<ConsumerStats>,
}

struct Consumer {
    name: Arc<str>,
    kind: ConsumerKind,
    capacity: usize,
    tx: mpsc::Sender<Arc<Event>>,
    delivered: AtomicU64,
    dropped: AtomicU64,
    dropped_since_warn: AtomicU64,
    /// Last "slow consumer" warning. std Mutex: a two-line section, never across an await.
    last_warn: Mutex<Option<Instant>>,
    waits: AtomicU64,
    wait_total_ns: AtomicU64,
    wait_max_ns: AtomicU64,
    closed: AtomicBool,
}

impl Consumer {
    fn stats(&self) -> ConsumerStats {
        ConsumerStats {
            name: self.name.to_string(),
            kind: self.kind,
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            wait_total: Duration::from_nanos(self.wait_total_ns.load(Ordering::Relaxed)),
            wait_max: Duration::from_nanos(self.wait_max_ns.load(Ordering::Relaxed)),
            queued: self.capacity.saturating_sub(self.tx.capacity()),
        }
    }

    fn record_drop(&self) {
        let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let since = self.dropped_since_warn.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let due = match self.last_warn.lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|t| now.duration_since(t) >= DROP_WARN_INTERVAL);
                if due {
                    *last = Some(now);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            self.dropped_since_warn.store(0, Ordering::Relaxed);
            tracing::warn!(consumer = %self.name, dropped = since, dropped_total = total, "slow event consumer: events dropped");
        }
    }

    fn record_wait(&self, waited: Duration) {
        let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.wait_total_ns.fetch_add(ns, Ordering::Relaxed);
        self.wait_max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}

struct Inner {
    seq: AtomicU64,
    /// The publish turn (see module docs): FIFO async mutex held for one whole fan-out.
    turn: tokio::sync::Mutex<()>,
    /// Subscribers, copy-on-write. std Mutex: held only to clone or replace the `Arc`.
    consumers: Mutex<Arc<Vec<Arc<Consumer>>>>,
    removed: AtomicU64,
}

/// The event bus; cheap to clone (shared).
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("published", &self.inner.seq.load(Ordering::Relaxed))
            .finish()
    }
}

impl EventBus {
    /// A bus with no consumer.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                seq: AtomicU64::new(0),
                turn: tokio::sync::Mutex::new(()),
                consumers: Mutex::new(Arc::new(Vec::new())),
                removed: AtomicU64::new(0),
            }),
        }
    }

    /// A consumer that may lose events when slower than the switch (queue of `capacity`,
    /// at least 1).
    pub fn subscribe_lossy(&self, name: &str, capacity: usize) -> mpsc::Receiver<Arc<Event>> {
        self.subscribe(name, capacity, ConsumerKind::Lossy)
    }

    /// A consumer that never loses events: publishers wait while its queue (of
    /// `capacity`, at least 1) is full.
    pub fn subscribe_lossless(&self, name: &str, capacity: usize) -> mpsc::Receiver<Arc<Event>> {
        self.subscribe(name, capacity, ConsumerKind::Lossless)
    }

    fn subscribe(
        &self,
        name: &str,
        capacity: usize,
        kind: ConsumerKind,
    ) -> mpsc::Receiver<Arc<Event>> {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let consumer = Arc::new(Consumer {
            name: Arc::from(name),
            kind,
            capacity,
            tx,
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            dropped_since_warn: AtomicU64::new(0),
            last_warn: Mutex::new(None),
            waits: AtomicU64::new(0),
            wait_total_ns: AtomicU64::new(0),
            wait_max_ns: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        });
        let mut guard = self
            .inner
            .consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut list = Vec::clone(&guard);
        list.push(consumer);
        *guard = Arc::new(list);
        tracing::debug!(
            consumer = name,
            ?kind,
            capacity,
            "event consumer subscribed"
        );
        rx
    }

    fn consumers(&self) -> Arc<Vec<Arc<Consumer>>> {
        Arc::clone(
            &self
                .inner
                .consumers
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// Publishes a fact about `snapshot`'s channel, stamped now; returns its sequence
    /// number. Waits only while a lossless consumer's queue is full.
    pub async fn publish(&self, snapshot: Arc<ChannelSnapshot>, kind: EventKind) -> u64 {
        self.publish_inner(snapshot, kind, None).await
    }

    /// As [`Self::publish`] with an explicit timestamp (tests, replay).
    pub async fn publish_at(
        &self,
        snapshot: Arc<ChannelSnapshot>,
        kind: EventKind,
        at: SystemTime,
    ) -> u64 {
        self.publish_inner(snapshot, kind, Some(at)).await
    }

    async fn publish_inner(
        &self,
        snapshot: Arc<ChannelSnapshot>,
        kind: EventKind,
        at: Option<SystemTime>,
    ) -> u64 {
        let _turn = self.inner.turn.lock().await;
        let consumers = self.consumers();
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let event = Arc::new(Event {
            seq,
            at: at.unwrap_or_else(SystemTime::now),
            channel: snapshot.id.clone(),
            snapshot,
            kind,
        });
        let mut any_closed = false;
        for c in consumers.iter().filter(|c| c.kind == ConsumerKind::Lossy) {
            match c.tx.try_send(Arc::clone(&event)) {
                Ok(()) => {
                    c.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Full(_)) => c.record_drop(),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    c.closed.store(true, Ordering::Relaxed);
                    any_closed = true;
                }
            }
        }
        for c in consumers
            .iter()
            .filter(|c| c.kind == ConsumerKind::Lossless)
        {
            let delivered = match c.tx.try_send(Arc::clone(&event)) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(ev)) => {
                    let started = Instant::now();
                    let sent = c.tx.send(ev).await.is_ok();
                    c.record_wait(started.elapsed());
                    sent
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            };
            if delivered {
                c.delivered.fetch_add(1, Ordering::Relaxed);
            } else {
                c.closed.store(true, Ordering::Relaxed);
                any_closed = true;
            }
        }
        if any_closed {
            self.remove_closed();
        }
        seq
    }

    fn remove_closed(&self) {
        let mut guard = self
            .inner
            .consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (closed, open): (Vec<_>, Vec<_>) = guard
            .iter()
            .cloned()
            .partition(|c| c.closed.load(Ordering::Relaxed));
        for c in &closed {
            tracing::info!(consumer = %c.name, kind = ?c.kind, "event consumer closed; removed");
        }
        self.inner
            .removed
            .fetch_add(closed.len() as u64, Ordering::Relaxed);
        *guard = Arc::new(open);
    }

    /// The last sequence number published (0 before the first event).
    pub fn last_seq(&self) -> u64 {
        self.inner.seq.load(Ordering::Relaxed)
    }

    /// Counters of the bus and of every live consumer.
    pub fn stats(&self) -> BusStats {
        BusStats {
            published: self.last_seq(),
            removed_consumers: self.inner.removed.load(Ordering::Relaxed),
            consumers: self.consumers().iter().map(|c| c.stats()).collect(),
        }
    }
}

#[cfg(test)]
#[path = "bus_tests.rs"]
mod tests;
