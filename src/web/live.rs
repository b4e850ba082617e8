//! Live calls for the dashboard: one task subscribes to the switch's event bus, keeps the
//! live calls in a [`tracker::Tracker`] (in-memory work only per event, so the lossless
//! subscription never holds the switch back) and publishes the changed calls at most every
//! [`FLUSH_INTERVAL`] to a [`feed::Feed`] that WebSocket clients read (a snapshot, then
//! deltas). The same task samples the call counter once a second for the
//! calls-per-second figure of `/api/v1/status` and `/metrics` ([`rate::CallRate`]).
//!
//! ```text
//!  EventBus ──lossless──► live task ── apply(event): O(1) ──► Tracker (calls, legs, dirty)
//!                            │ first change after a quiet spell: flush at once;
//!                            │ then at most one flush per FLUSH_INTERVAL
//!                            ▼
//!                          Feed ── snapshot text + broadcast of delta texts ──► WS clients
//!                            ▲                                               (socket::serve)
//!  CallRegistry ── 1 s ──► CallRate ──► status, metrics
//! ```
//!
//! Shutdown: the task ends with the lifecycle's shutdown, then tells the WebSocket clients
//! (close frame 1001) and waits for their tasks.
//!
//! Depends on: `crate::switch::{bus, events, channel, call}`, `crate::runtime`,
//! [`crate::web::WebState`], tokio, axum (WebSocket types).

pub mod feed;
pub mod model;
pub mod rate;
pub(crate) mod socket;
pub mod tracker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::runtime::Lifecycle;
use crate::switch::events::Event;
use crate::web::WebState;

use feed::Feed;
use rate::CallRate;
use tracker::Tracker;

/// Shortest time between two deltas: many changes of one call within it become one upsert.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// The live task's bus queue (lossless): it drains an event in about a microsecond, so this
/// only fills if the task is starved of CPU; 8,192 is several seconds of a busy switch.
pub const EVENT_QUEUE: usize = 8_192;

/// Most queued events taken in one go after a wake-up (bounds the time between two checks
/// of the flush deadline and of shutdown).
const DRAIN_BURST: usize = 1_024;

/// How often the call counter is sampled for the call rate.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// The bus consumer's name (bus statistics, slow-consumer logs).
pub const CONSUMER_NAME: &str = "web-live";

/// The live-call state shared by the handlers (one per [`WebState`]).
#[derive(Debug)]
pub struct Live {
    /// The published calls and the delta broadcast.
    feed: Feed,
    /// Calls per second.
    rate: CallRate,
    /// Whether the tracker runs (the web state has the switch's event bus).
    tracking: AtomicBool,
    /// Cancelled when the live task ends: WebSocket clients close.
    stop: CancellationToken,
    /// The WebSocket client tasks (waited for at shutdown).
    clients: TaskTracker,
}

impl Default for Live {
    fn default() -> Self {
        Live::new()
    }
}

impl Live {
    /// Nothing tracked yet (see [`start`]).
    pub fn new() -> Live {
        Live {
            feed: Feed::new(),
            rate: CallRate::new(),
            tracking: AtomicBool::new(false),
            stop: CancellationToken::new(),
            clients: TaskTracker::new(),
        }
    }

    /// The published calls.
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// Calls per second over the last 10 s.
    pub fn rate(&self) -> &CallRate {
        &self.rate
    }

    /// Whether live calls are tracked (the task runs with the switch's bus).
    pub fn is_tracking(&self) -> bool {
        self.tracking.load(Ordering::Relaxed)
    }

    /// Cancelled at shutdown (WebSocket clients end).
    pub(crate) fn stop(&self) -> &CancellationToken {
        &self.stop
    }

    /// Where WebSocket client tasks are tracked.
    pub(crate) fn clients(&self) -> &TaskTracker {
        &self.clients
    }
}

/// Starts the live task on `lifecycle`'s tracker: the call tracker when the state has the
/// switch's bus (`services().bus`), and the call-rate sampler in any case. Call once.
pub fn start(state: &WebState, lifecycle: &Lifecycle) {
    let events = state
        .services()
        .bus
        .as_ref()
        .map(|bus| bus.subscribe_lossless(CONSUMER_NAME, EVENT_QUEUE));
    let state = state.clone();
    let shutdown = lifecycle.shutdown.clone();
    lifecycle
        .tracker
        .spawn(run(state, events, shutdown).instrument(tracing::info_span!("web_live")));
}

/// The live task (see the module docs).
async fn run(
    state: WebState,
    mut events: Option<mpsc::Receiver<Arc<Event>>>,
    shutdown: CancellationToken,
) {
    let live = &state.inner.live;
    live.tracking.store(events.is_some(), Ordering::Relaxed);
    let mut tracker = Tracker::new();
    // The earliest time the next delta may go; `flush_at` is set by the first change.
    let mut next_allowed = Instant::now();
    let mut flush_at: Option<Instant> = None;
    let mut sample = tokio::time::interval(SAMPLE_INTERVAL);
    sample.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let flush_due = flush_at.unwrap_or(next_allowed);
        tokio::select! {
            // A due flush goes before more events, so a steady stream cannot starve it.
            biased;
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(flush_due), if flush_at.is_some() => {
                flush_at = None;
                next_allowed = Instant::now() + FLUSH_INTERVAL;
                live.feed.publish(tracker.flush());
            }
            event = next_event(&mut events) => match event {
                Some(event) => {
                    tracker.apply(&event);
                    // What is queued already joins this change (one delta, not two).
                    if let Some(rx) = events.as_mut() {
                        for _ in 0..DRAIN_BURST {
                            match rx.try_recv() {
                                Ok(event) => tracker.apply(&event),
                                Err(_) => break,
                            }
                        }
                    }
                    if flush_at.is_none() && tracker.has_changes() {
                        flush_at = Some(next_allowed.max(Instant::now()));
                    }
                }
                None => {
                    tracing::info!("event bus closed: live calls no longer tracked");
                    events = None;
                    live.tracking.store(false, Ordering::Relaxed);
                }
            },
            _ = sample.tick() => {
                live.rate.sample(Instant::now(), state.inner.calls.counts().calls_total);
            }
        }
    }
    // Let go of the bus first: calls being torn down must not wait for this queue.
    drop(events);
    live.tracking.store(false, Ordering::Relaxed);
    live.stop.cancel();
    live.clients.close();
    live.clients.wait().await;
    tracing::debug!("live task done");
}

/// The next event, or pending forever without a bus.
async fn next_event(events: &mut Option<mpsc::Receiver<Arc<Event>>>) -> Option<Arc<Event>> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
#[path = "live/live_tests.rs"]
mod tests;
