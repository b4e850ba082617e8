//! The CDR pipeline: the tasks that connect the switch's event bus to the store, the CSV
//! log, the live feed and the webhook, so that call processing never waits for a disk.
//!
//! ```text
//!  EventBus ──lossless──► engine task ──ops──► Backlog ──► writer task ──► CdrStore (SQLite)
//!   (switch)              leg/bridge/cel       (bounded,      │ batch = one transaction
//!                          engines, in memory   measured)     ├──► live feed (broadcast)
//!                                                             ├──► CSV thread (std::fs)
//!                                                             └──► webhook (outbox, Notify)
//! ```
//!
//! - The engine task only does in-memory work per event, so the lossless bus queue it reads
//!   never fills and publishers never wait on it.
//! - The backlog is where records wait while the database is locked or the disk is full.
//!   Nothing in it is dropped: the writer retries a failed batch until it commits, logging
//!   loudly and reporting the condition in [`CdrHealth`]. When the backlog exceeds
//!   `max_backlog`, the pipeline closes the [`Admission`] gate (new calls get 503) until it
//!   drains below half of it; calls already up are never touched.
//! - A batch that fails for a non-transient reason (a bug, a corrupt row) is written to a
//!   dead-letter file `cdr-dead-letter.jsonl` in the data directory, loudly, instead of
//!   wedging the writer.
//! - Graceful stop ([`CdrPipeline::finish`]): after the calls drained, the engine task
//!   consumes what is left on the bus, the writer commits the whole backlog, the CSV
//!   thread flushes. If the database stays unwritable for [`STOP_GRACE`] after the stop,
//!   the rest goes to the dead-letter file instead of hanging the process (the records'
//!   journal rows are closed as `CRASH` at the next start; the dead-letter lines hold the
//!   exact records).
//!
//! Depends on `cdr::{model, leg, bridge, cel, store, csv, health, writer}`, `switch::bus`,
//! `runtime`. The writer side is in [`crate::cdr::writer`], the counters in
//! [`crate::cdr::health`].

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info};

use crate::cdr::bridge::BridgeEngine;
use crate::cdr::cel::CelEngine;
use crate::cdr::csv::CsvLog;
pub use crate::cdr::health::{CdrHealth, Degraded, HealthSnapshot};
use crate::cdr::leg::LegEngine;
use crate::cdr::model::{millis, CdrOp, FeedItem};
use crate::cdr::store::CdrStore;
use crate::cdr::writer::{Backlog, CsvThread, Writer};
use crate::config::CdrSettings;
use crate::runtime::Admission;
use crate::switch::bus::EventBus;
use crate::switch::events::Event;

/// The bus queue of the CDR consumer (lossless): the engine task drains it in microseconds
/// per event, so it only fills if that task is starved of CPU.
pub const EVENT_QUEUE: usize = 16_384;
/// Most operations committed in one transaction.
pub const MAX_BATCH: usize = 2_000;
/// Shortest time between two commits unless a full batch is waiting: every commit rewrites
/// whole pages of each table and index it touches, so under load many small commits cost
/// far more than one per interval (group commit). Bounds the close-to-durable latency.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(25);
/// Live feed capacity (a subscriber further behind misses records and is told how many).
pub const FEED_CAPACITY: usize = 4_096;
/// Heartbeat period: a crash is dated no earlier than the last heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a stop keeps retrying an unwritable database before it writes what is left to
/// the dead-letter file (nothing is lost; the process does not hang).
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// The name under which the pipeline closes the admission gate.
pub const ADMISSION_HOLDER: &str = "cdr-backlog";
/// Name of the dead-letter file in the data directory.
pub const DEAD_LETTER_FILE: &str = "cdr-dead-letter.jsonl";
/// Name of the status file in the data directory (rewritten every second by the writer;
/// `switchboard cdr status` prints it).
pub const STATUS_FILE: &str = "cdr-status.json";

/// What consumers of records hold: the live feed and the health counters.
#[derive(Clone, Debug)]
pub struct CdrHandle {
    feed: broadcast::Sender<Arc<FeedItem>>,
    health: Arc<CdrHealth>,
}

impl CdrHandle {
    /// Every record committed from now on (final records, and realtime updates).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedItem>> {
        self.feed.subscribe()
    }

    /// The pipeline's counters and condition.
    pub fn health(&self) -> HealthSnapshot {
        self.health.snapshot()
    }
}

/// The running pipeline; [`CdrPipeline::finish`] stops it after writing everything.
#[derive(Debug)]
pub struct CdrPipeline {
    handle: CdrHandle,
    stop: CancellationToken,
    engine: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    webhook: Option<JoinHandle<()>>,
}

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store could not be opened or recovered.
    #[error("CDR store: {0}")]
    Store(#[from] crate::cdr::store::StoreError),
    /// The CSV directory could not be prepared.
    #[error("CDR CSV log: {0}")]
    Csv(#[from] crate::cdr::csv::CsvError),
}

impl CdrPipeline {
    /// Opens `<data_dir>/cdr.db`, closes what a crashed previous run left open, subscribes to
    /// `bus` and starts the tasks. Call before the switch takes calls.
    pub async fn start(
        settings: &CdrSettings,
        data_dir: &Path,
        bus: &EventBus,
        admission: Admission,
    ) -> Result<CdrPipeline, PipelineError> {
        Self::start_with_grace(settings, data_dir, bus, admission, STOP_GRACE).await
    }

    /// [`Self::start`] with another [`STOP_GRACE`] (tests).
    pub async fn start_with_grace(
        settings: &CdrSettings,
        data_dir: &Path,
        bus: &EventBus,
        admission: Admission,
        stop_grace: Duration,
    ) -> Result<CdrPipeline, PipelineError> {
        let store = CdrStore::open(&data_dir.join(CDR_DATABASE_FILE), settings).await?;
        let report = store.recover(millis(SystemTime::now())).await?;
        info!(?report, "CDR store ready");
        let next_sequence = store.next_sequence().await?;
        let csv = match &settings.csv {
            Some(csv) => Some(CsvLog::open(csv, data_dir)?),
            None => None,
        };
        let health = Arc::new(CdrHealth::default());
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let handle = CdrHandle {
            feed: feed.clone(),
            health: Arc::clone(&health),
        };
        let backlog = Arc::new(Backlog {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            health: Arc::clone(&health),
            admission,
            max: settings.max_backlog,
        });
        let stop = CancellationToken::new();
        let events = bus.subscribe_lossless("cdr", EVENT_QUEUE);
        let engines = Engines::new(settings, next_sequence);
        let engine = tokio::spawn(engine_task(
            events,
            engines,
            Arc::clone(&backlog),
            stop.clone(),
        ));
        let webhook_wake = Arc::new(Notify::new());
        let webhook = settings.webhook.clone().map(|w| {
            tokio::spawn(crate::cdr::webhook::run(
                store.clone(),
                w,
                Arc::clone(&webhook_wake),
                stop.clone(),
            ))
        });
        let writer = Writer {
            store,
            backlog,
            feed,
            csv: csv.map(CsvThread::spawn),
            webhook_wake: settings.webhook.is_some().then_some(webhook_wake),
            dead_letter: data_dir.join(DEAD_LETTER_FILE),
            status_file: data_dir.join(STATUS_FILE),
            status_written: None,
            stop_grace,
            stopping_since: None,
        };
        let writer = tokio::spawn(writer.run(stop.clone()));
        Ok(CdrPipeline {
            handle,
            stop,
            engine: Some(engine),
            writer: Some(writer),
            webhook,
        })
    }

    /// The feed and health handle.
    pub fn handle(&self) -> CdrHandle {
        self.handle.clone()
    }

    /// Stops after consuming every event already published and committing every record.
    pub async fn finish(mut self) {
        self.stop.cancel();
        for task in [self.engine.take(), self.writer.take(), self.webhook.take()]
            .into_iter()
            .flatten()
        {
            if let Err(error) = task.await {
                error!(%error, "CDR task failed");
            }
        }
        let h = self.handle.health();
        info!(
            records = h.records_written,
            batches = h.batches,
            failed_batches = h.failed_batches,
            p99_ms = h.latency_ms.1,
            "CDR pipeline stopped"
        );
    }
}

/// Name of the CDR database inside the data directory.
pub const CDR_DATABASE_FILE: &str = "cdr.db";

/// The engines configured in `[cdr]`.
struct Engines {
    leg: Option<LegEngine>,
    bridge: Option<BridgeEngine>,
    cel: Option<CelEngine>,
}

impl Engines {
    fn new(settings: &CdrSettings, next_sequence: u64) -> Self {
        Self {
            leg: settings.leg.then(|| LegEngine::new(settings)),
            bridge: settings
                .bridge
                .then(|| BridgeEngine::new(settings, next_sequence)),
            cel: settings.cel.then(|| CelEngine::new(settings)),
        }
    }

    fn apply(&mut self, event: &Event, out: &mut Vec<CdrOp>) {
        if let Some(e) = &mut self.leg {
            e.apply(event, out);
        }
        if let Some(e) = &mut self.bridge {
            e.apply(event, out);
        }
        if let Some(e) = &mut self.cel {
            e.apply(event, out);
        }
    }
}

/// Reads the bus and turns events into queued operations; on stop, drains what is queued.
async fn engine_task(
    mut events: mpsc::Receiver<Arc<Event>>,
    mut engines: Engines,
    backlog: Arc<Backlog>,
    stop: CancellationToken,
) {
    let mut ops = Vec::with_capacity(16);
    loop {
        let event = tokio::select! {
            biased;
            e = events.recv() => e,
            _ = stop.cancelled() => break,
        };
        let Some(event) = event else { break };
        handle_event(&mut engines, &backlog, &event, &mut ops);
    }
    while let Ok(event) = events.try_recv() {
        handle_event(&mut engines, &backlog, &event, &mut ops);
    }
    debug!("CDR engine stopped");
}

fn handle_event(engines: &mut Engines, backlog: &Backlog, event: &Event, ops: &mut Vec<CdrOp>) {
    backlog.health.events.fetch_add(1, Ordering::Relaxed);
    engines.apply(event, ops);
    backlog.push(ops, event.at);
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod pipeline_tests;
