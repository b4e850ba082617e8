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
//!   thread flushes.
//!
//! Depends on `cdr::{model, leg, bridge, cel, store, csv}`, `switch::bus`, `runtime`.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::cdr::bridge::BridgeEngine;
use crate::cdr::cel::CelEngine;
use crate::cdr::csv::CsvLog;
use crate::cdr::leg::LegEngine;
use crate::cdr::model::{millis, CdrOp, FeedItem};
use crate::cdr::store::CdrStore;
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
/// The name under which the pipeline closes the admission gate.
pub const ADMISSION_HOLDER: &str = "cdr-backlog";
/// Name of the dead-letter file in the data directory.
pub const DEAD_LETTER_FILE: &str = "cdr-dead-letter.jsonl";
/// Name of the status file in the data directory (rewritten every second by the writer;
/// `switchboard cdr status` prints it).
pub const STATUS_FILE: &str = "cdr-status.json";

/// Counters and condition of the pipeline, shared with status views.
#[derive(Debug, Default)]
pub struct CdrHealth {
    backlog: AtomicUsize,
    backlog_peak: AtomicUsize,
    events: AtomicU64,
    ops_written: AtomicU64,
    records_written: AtomicU64,
    batches: AtomicU64,
    failed_batches: AtomicU64,
    dead_lettered: AtomicU64,
    latency: Mutex<LatencyHistogram>,
    condition: Mutex<Option<Degraded>>,
}

/// Why writing is stalled, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// The last error text.
    pub error: String,
    /// When the condition started.
    pub since: SystemTime,
}

/// A copy of [`CdrHealth`] for display.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSnapshot {
    /// Operations waiting for the database.
    pub backlog: usize,
    /// Largest backlog seen.
    pub backlog_peak: usize,
    /// Events consumed from the bus.
    pub events: u64,
    /// Store operations committed.
    pub ops_written: u64,
    /// Final records committed.
    pub records_written: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Transactions that failed (and were retried).
    pub failed_batches: u64,
    /// Operations written to the dead-letter file.
    pub dead_lettered: u64,
    /// Close-to-durable latency of final records: p50, p99, max (milliseconds).
    pub latency_ms: (f64, f64, f64),
    /// Set while the database cannot be written.
    pub degraded: Option<Degraded>,
}

impl CdrHealth {
    /// A copy of the counters.
    pub fn snapshot(&self) -> HealthSnapshot {
        let latency = lock(&self.latency);
        HealthSnapshot {
            backlog: self.backlog.load(Ordering::Relaxed),
            backlog_peak: self.backlog_peak.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            ops_written: self.ops_written.load(Ordering::Relaxed),
            records_written: self.records_written.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            latency_ms: (
                latency.quantile(0.5),
                latency.quantile(0.99),
                latency.max_ms(),
            ),
            degraded: lock(&self.condition).clone(),
        }
    }
}

/// Latencies in log-spaced buckets (1 µs × 2^(i/4)): cheap to record, ~19 % resolution.
#[derive(Debug)]
struct LatencyHistogram {
    buckets: [u64; 128],
    count: u64,
    max_us: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: [0; 128],
            count: 0,
            max_us: 0,
        }
    }
}

impl LatencyHistogram {
    fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let index = ((us as f64).log2() * 4.0) as usize;
        if let Some(b) = self.buckets.get_mut(index.min(127)) {
            *b += 1;
        }
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The upper edge of the bucket holding quantile `q`, in milliseconds.
    fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank.max(1) {
                let edge_us = 2f64.powf((i as f64 + 1.0) / 4.0);
                return (edge_us / 1000.0).min(self.max_ms());
            }
        }
        self.max_ms()
    }

    fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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

/// One queued operation and when the event that produced it happened.
struct Pending {
    op: CdrOp,
    event_at: SystemTime,
}

/// The bounded, measured queue between the engine and the writer.
struct Backlog {
    queue: Mutex<VecDeque<Pending>>,
    wake: Notify,
    health: Arc<CdrHealth>,
    admission: Admission,
    max: usize,
}

impl Backlog {
    fn push(&self, ops: &mut Vec<CdrOp>, event_at: SystemTime) {
        if ops.is_empty() {
            return;
        }
        let len = {
            let mut q = lock(&self.queue);
            q.extend(ops.drain(..).map(|op| Pending { op, event_at }));
            q.len()
        };
        self.health.backlog.store(len, Ordering::Relaxed);
        self.health.backlog_peak.fetch_max(len, Ordering::Relaxed);
        if len > self.max && self.admission.is_open() {
            error!(
                backlog = len,
                max_backlog = self.max,
                "CDR backlog full: refusing new calls (503) until the database catches up; \
                 no record is dropped"
            );
            self.admission.close(ADMISSION_HOLDER);
        }
        self.wake.notify_one();
    }

    /// Up to `max` operations from the front (they stay counted until committed).
    fn take(&self, max: usize) -> Vec<Pending> {
        let mut q = lock(&self.queue);
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    fn committed(&self, n: usize) {
        let len = {
            let q = lock(&self.queue);
            q.len()
        };
        let _ = n;
        self.health.backlog.store(len, Ordering::Relaxed);
        if len <= self.max / 2 && !self.admission.is_open() {
            info!(backlog = len, "CDR backlog drained: taking new calls again");
            self.admission.open(ADMISSION_HOLDER);
        }
    }

    fn is_empty(&self) -> bool {
        lock(&self.queue).is_empty()
    }

    fn len(&self) -> usize {
        lock(&self.queue).len()
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

/// The CSV log on its own thread (blocking file I/O off the runtime).
struct CsvThread {
    tx: std::sync::mpsc::Sender<Vec<Arc<FeedItem>>>,
    thread: std::thread::JoinHandle<()>,
}

impl CsvThread {
    fn spawn(mut log: CsvLog) -> CsvThread {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<Arc<FeedItem>>>();
        let thread = std::thread::spawn(move || {
            while let Ok(items) = rx.recv() {
                let items: Vec<FeedItem> = items.iter().map(|i| (**i).clone()).collect();
                if let Err(error) = log.write(&items) {
                    error!(%error, records = items.len(), "CDR CSV log write failed");
                }
            }
        });
        CsvThread { tx, thread }
    }

    fn send(&self, items: Vec<Arc<FeedItem>>) {
        if self.tx.send(items).is_err() {
            error!("CDR CSV thread gone");
        }
    }

    fn finish(self) {
        drop(self.tx);
        if self.thread.join().is_err() {
            error!("CDR CSV thread panicked");
        }
    }
}

/// The writer task's state.
struct Writer {
    store: CdrStore,
    backlog: Arc<Backlog>,
    feed: broadcast::Sender<Arc<FeedItem>>,
    csv: Option<CsvThread>,
    webhook_wake: Option<Arc<Notify>>,
    dead_letter: PathBuf,
    status_file: PathBuf,
    status_written: Option<tokio::time::Instant>,
}

impl Writer {
    async fn run(mut self, stop: CancellationToken) {
        let mut last_beat = tokio::time::Instant::now();
        let mut last_commit = last_beat;
        loop {
            self.write_status(false);
            let stopping = stop.is_cancelled();
            if self.backlog.is_empty() {
                if stopping {
                    break;
                }
                if last_beat.elapsed() >= HEARTBEAT {
                    if let Err(error) = self.store.heartbeat(millis(SystemTime::now())).await {
                        warn!(%error, "CDR heartbeat not written");
                    }
                    last_beat = tokio::time::Instant::now();
                }
                tokio::select! {
                    _ = self.backlog.wake.notified() => {}
                    _ = tokio::time::sleep(HEARTBEAT) => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            }
            // Group commit: gather for up to COMMIT_INTERVAL since the last commit, unless a
            // full batch is already waiting or the pipeline is stopping.
            let due = last_commit + COMMIT_INTERVAL;
            if !stopping && self.backlog.len() < MAX_BATCH && tokio::time::Instant::now() < due {
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = stop.cancelled() => {}
                }
            }
            let batch = self.backlog.take(MAX_BATCH);
            self.commit(batch).await;
            last_commit = tokio::time::Instant::now();
            last_beat = last_commit;
        }
        if let Some(csv) = self.csv.take() {
            csv.finish();
        }
        self.write_status(true);
    }

    /// Rewrites the status file (at most once per [`HEARTBEAT`] unless `force`): the health
    /// counters, the condition and the admission gate, for `switchboard cdr status` and
    /// monitoring. Written to a temporary file and renamed, so readers never see half of it;
    /// a failure (disk full) is only logged at debug level: the log already says loudly.
    fn write_status(&mut self, force: bool) {
        if !force && self.status_written.is_some_and(|t| t.elapsed() < HEARTBEAT) {
            return;
        }
        self.status_written = Some(tokio::time::Instant::now());
        let h = self.backlog.health.snapshot();
        let status = serde_json::json!({
            "updated": millis(SystemTime::now()),
            "backlog": h.backlog,
            "backlog_peak": h.backlog_peak,
            "max_backlog": self.backlog.max,
            "admission_open": self.backlog.admission.is_open(),
            "events": h.events,
            "records_written": h.records_written,
            "ops_written": h.ops_written,
            "batches": h.batches,
            "failed_batches": h.failed_batches,
            "dead_lettered": h.dead_lettered,
            "latency_ms": {"p50": h.latency_ms.0, "p99": h.latency_ms.1, "max": h.latency_ms.2},
            "degraded": h.degraded.map(|d| serde_json::json!({
                "error": d.error,
                "since": millis(d.since),
            })),
        });
        let tmp = self.status_file.with_extension("json.tmp");
        let result = std::fs::write(&tmp, format!("{status:#}\n"))
            .and_then(|()| std::fs::rename(&tmp, &self.status_file));
        if let Err(error) = result {
            debug!(%error, file = %self.status_file.display(), "CDR status file not written");
        }
    }

    /// Commits `batch`, retrying transient failures until it succeeds.
    async fn commit(&mut self, batch: Vec<Pending>) {
        let ops: Vec<CdrOp> = batch.iter().map(|p| p.op.clone()).collect();
        let health = Arc::clone(&self.backlog.health);
        let mut delay = Duration::from_millis(50);
        let mut last_log: Option<tokio::time::Instant> = None;
        let items = loop {
            match self
                .store
                .write_batch(&ops, millis(SystemTime::now()))
                .await
            {
                Ok(items) => break items,
                Err(error) if error.is_transient() => {
                    health.failed_batches.fetch_add(1, Ordering::Relaxed);
                    let since = {
                        let mut c = lock(&health.condition);
                        let since = c.as_ref().map_or_else(SystemTime::now, |d| d.since);
                        *c = Some(Degraded {
                            error: error.to_string(),
                            since,
                        });
                        since
                    };
                    if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                        error!(
                            %error,
                            backlog = health.backlog.load(Ordering::Relaxed),
                            stalled_secs = since.elapsed().map(|d| d.as_secs()).unwrap_or(0),
                            "CDR database cannot be written; records are queued and retried"
                        );
                        last_log = Some(tokio::time::Instant::now());
                    }
                    self.write_status(false);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(error) => {
                    health.failed_batches.fetch_add(1, Ordering::Relaxed);
                    self.dead_letter(&ops, &error.to_string());
                    self.backlog.committed(batch.len());
                    return;
                }
            }
        };
        if lock(&health.condition).take().is_some() {
            info!("CDR database writable again");
        }
        let now = SystemTime::now();
        {
            let mut hist = lock(&health.latency);
            for p in &batch {
                if matches!(p.op, CdrOp::LegFinal(_) | CdrOp::BridgeFinal(_)) {
                    hist.record(now.duration_since(p.event_at).unwrap_or_default());
                }
            }
        }
        health.batches.fetch_add(1, Ordering::Relaxed);
        health
            .ops_written
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let finals = items
            .iter()
            .filter(|i| {
                !matches!(
                    i,
                    FeedItem::Leg {
                        is_final: false,
                        ..
                    }
                )
            })
            .count();
        health
            .records_written
            .fetch_add(finals as u64, Ordering::Relaxed);
        self.backlog.committed(batch.len());
        let items: Vec<Arc<FeedItem>> = items.into_iter().map(Arc::new).collect();
        for item in &items {
            // No subscriber is fine: the feed is best-effort; the table is the record.
            let _ = self.feed.send(Arc::clone(item));
        }
        if let Some(csv) = &self.csv {
            csv.send(items);
        }
        if let Some(wake) = &self.webhook_wake {
            wake.notify_one();
        }
    }

    /// Appends `ops` to the dead-letter file so a batch the database refuses for good is
    /// kept for an operator, then moves on.
    fn dead_letter(&self, ops: &[CdrOp], reason: &str) {
        let health = &self.backlog.health;
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.dead_letter)?;
            for op in ops {
                let line = match op {
                    CdrOp::LegFinal(r) | CdrOp::LegLive(r) => {
                        serde_json::json!({"op": "leg", "reason": reason, "record": r})
                    }
                    CdrOp::BridgeFinal(r) | CdrOp::BridgeLive(r) => {
                        serde_json::json!({"op": "bridge", "reason": reason, "record": r})
                    }
                    CdrOp::Cel(r) => {
                        serde_json::json!({"op": "cel", "reason": reason, "record": r})
                    }
                    CdrOp::LegDrop { .. } | CdrOp::BridgeDrop { .. } => continue,
                };
                writeln!(f, "{line}")?;
            }
            f.sync_data()
        })();
        health
            .dead_lettered
            .fetch_add(ops.len() as u64, Ordering::Relaxed);
        match result {
            Ok(()) => error!(
                reason,
                ops = ops.len(),
                file = %self.dead_letter.display(),
                "CDR batch refused by the database; written to the dead-letter file"
            ),
            Err(io) => error!(
                reason,
                %io,
                ops = ops.len(),
                "CDR batch refused by the database and the dead-letter file failed"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LatencyHistogram;
    use std::time::Duration;

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = LatencyHistogram::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.quantile(0.5);
        let p99 = h.quantile(0.99);
        assert!((50.0..=62.0).contains(&p50), "p50 {p50}");
        assert!((99.0..=100.0).contains(&p99), "p99 {p99}");
        assert_eq!(h.max_ms(), 100.0);
        assert_eq!(LatencyHistogram::default().quantile(0.99), 0.0);
    }
}
