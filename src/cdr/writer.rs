//! The pipeline's writer side: the backlog between the engine task and the writer, the
//! writer task (group commit, retries, dead letters, status file) and the CSV thread.
//! See [`crate::cdr::pipeline`] for the whole picture.
//!
//! Depends on `cdr::{model, store, csv, health}`, `runtime::Admission`, tokio.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::cdr::csv::CsvLog;
use crate::cdr::health::{lock, CdrHealth, Degraded};
use crate::cdr::model::{millis, CdrOp, FeedItem};
use crate::cdr::pipeline::{ADMISSION_HOLDER, COMMIT_INTERVAL, HEARTBEAT, MAX_BATCH};
use crate::cdr::store::CdrStore;
use crate::runtime::Admission;

/// One queued operation and when the event that produced it happened.
pub(crate) struct Pending {
    pub(crate) op: CdrOp,
    pub(crate) event_at: SystemTime,
}

/// The bounded, measured queue between the engine and the writer.
pub(crate) struct Backlog {
    pub(crate) queue: Mutex<VecDeque<Pending>>,
    pub(crate) wake: Notify,
    pub(crate) health: Arc<CdrHealth>,
    pub(crate) admission: Admission,
    pub(crate) max: usize,
}

impl Backlog {
    pub(crate) fn push(&self, ops: &mut Vec<CdrOp>, event_at: SystemTime) {
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
    pub(crate) fn take(&self, max: usize) -> Vec<Pending> {
        let mut q = lock(&self.queue);
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    pub(crate) fn committed(&self, n: usize) {
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

    pub(crate) fn is_empty(&self) -> bool {
        lock(&self.queue).is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.queue).len()
    }
}

/// The CSV log on its own thread (blocking file I/O off the runtime).
pub(crate) struct CsvThread {
    tx: std::sync::mpsc::Sender<Vec<Arc<FeedItem>>>,
    thread: std::thread::JoinHandle<()>,
}

impl CsvThread {
    pub(crate) fn spawn(mut log: CsvLog) -> CsvThread {
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
pub(crate) struct Writer {
    pub(crate) store: CdrStore,
    pub(crate) backlog: Arc<Backlog>,
    pub(crate) feed: broadcast::Sender<Arc<FeedItem>>,
    pub(crate) csv: Option<CsvThread>,
    pub(crate) webhook_wake: Option<Arc<Notify>>,
    pub(crate) dead_letter: PathBuf,
    pub(crate) status_file: PathBuf,
    pub(crate) status_written: Option<tokio::time::Instant>,
    /// How long a stop waits for an unwritable database before dead-lettering.
    pub(crate) stop_grace: Duration,
    /// When the stop was first noticed during a failing commit.
    pub(crate) stopping_since: Option<tokio::time::Instant>,
}

impl Writer {
    pub(crate) async fn run(mut self, stop: CancellationToken) {
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
            self.commit(batch, &stop).await;
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

    /// Commits `batch`, retrying transient failures until it succeeds — or, once the
    /// pipeline is stopping and `stop_grace` has passed since, writes it to the dead-letter
    /// file so a process asked to stop does not hang on an unwritable database.
    async fn commit(&mut self, batch: Vec<Pending>, stop: &CancellationToken) {
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
                    if stop.is_cancelled() {
                        let since = *self
                            .stopping_since
                            .get_or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() >= self.stop_grace {
                            self.dead_letter(
                                &ops,
                                "stopping while the CDR database cannot be written",
                            );
                            self.backlog.committed(batch.len());
                            return;
                        }
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled(), if !stop.is_cancelled() => {}
                    }
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
