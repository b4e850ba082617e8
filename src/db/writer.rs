//! Group commit for the `registrations` table: one writer task owns a write connection and
//! applies every queued change in ONE transaction per batch, so N concurrent registrations
//! cost one commit instead of N (SQLite has a single writer anyway).
//!
//! ```text
//!  callers ── WriteJob{op, ack} ──► bounded queue ──► writer task
//!                                                      │ recv_many (≤ MAX_BATCH)
//!                                                      │ BEGIN
//!                                                      │   ops in order (upserts coalesced
//!                                                      │   into multi-row INSERTs)
//!                                                      │ COMMIT ──ok──► ack each op
//!                                                      │   └─error─► ROLLBACK; each op again in
//!                                                      ▼             its own transaction, ack each
//! ```
//!
//! Every statement is a round trip to sqlx's SQLite thread (two thread wake-ups), so the
//! batch path keeps statements per change near zero (no per-change savepoints: isolation of
//! a failing change is done by the one-by-one retry). An `Ok` ack means the change is
//! committed (WAL with `synchronous=NORMAL`: survives a process crash; a power loss may lose
//! the last commits, the trade-off chosen in [`Db::open`]). On shutdown the task closes its queue, applies what is still queued, acks
//! it and ends; later submissions fail with [`DbError::WriterStopped`].
//!
//! Depends on: the rest of `db` only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::registrations::{self, RegistrationRow};
use super::{unix_ms, Db, DbError};

/// Queue capacity: a few batches' worth (≈ 4 × [`MAX_BATCH`]) absorbs a burst of thousands of
/// REGISTERs per second while one commit runs; beyond that callers wait (back-pressure)
/// instead of growing memory without bound.
pub const WRITE_QUEUE: usize = 1024;

/// A batch slower than this is logged at WARN: callers wait that long for their answer.
const SLOW_BATCH: Duration = Duration::from_millis(100);

/// Most changes applied in one transaction: bounds how long one commit (and so the latest
/// caller's answer) takes, while still amortising the commit over many changes.
pub const MAX_BATCH: usize = 256;

/// One change to the `registrations` table.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Update the bindings of one AOR: delete the contacts in `remove`, then insert or
    /// replace `upsert` (see [`registrations::apply`]).
    Apply {
        /// The address-of-record.
        aor: String,
        /// Contacts whose rows are deleted.
        remove: Vec<String>,
        /// Rows inserted or replaced.
        upsert: Vec<RegistrationRow>,
    },
    /// Delete the bindings expired at or before `now`.
    DeleteExpired {
        /// The sweep time.
        now: SystemTime,
    },
}

/// A queued change and where to report its outcome.
#[derive(Debug)]
struct WriteJob {
    op: WriteOp,
    /// Rows affected once committed, or why the change is not stored.
    ack: oneshot::Sender<Result<u64, DbError>>,
}

/// Counters of the writer task, for tests and diagnostics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed (or attempted).
    pub batches: AtomicU64,
    /// Changes processed.
    pub ops: AtomicU64,
}

/// Handle to the writer task: cheap to clone; submitting waits for the commit.
#[derive(Debug, Clone)]
pub struct RegistrationWriter {
    /// The bounded queue of the writer task.
    jobs: mpsc::Sender<WriteJob>,
    /// Shared with the task.
    stats: Arc<WriterStats>,
}

/// The writer task before it is started (lets a test fill the queue first).
#[derive(Debug)]
pub struct WriterTask {
    db: Db,
    jobs: mpsc::Receiver<WriteJob>,
    stats: Arc<WriterStats>,
}

impl RegistrationWriter {
    /// Creates the queue and the (not yet running) task.
    pub fn new(db: Db) -> (RegistrationWriter, WriterTask) {
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let stats = Arc::new(WriterStats::default());
        let handle = RegistrationWriter {
            jobs: tx,
            stats: stats.clone(),
        };
        (
            handle,
            WriterTask {
                db,
                jobs: rx,
                stats,
            },
        )
    }

    /// Creates the writer and spawns its task on `tracker`; the task drains its queue and
    /// ends when `shutdown` is cancelled.
    pub fn spawn(db: Db, shutdown: CancellationToken, tracker: &TaskTracker) -> RegistrationWriter {
        let (handle, task) = RegistrationWriter::new(db);
        tracker.spawn(task.run(shutdown));
        handle
    }

    /// Queues `op` and waits until it is committed; returns the rows it affected.
    pub async fn submit(&self, op: WriteOp) -> Result<u64, DbError> {
        let (ack, done) = oneshot::channel();
        self.jobs
            .send(WriteJob { op, ack })
            .await
            .map_err(|_| DbError::WriterStopped)?;
        done.await.map_err(|_| DbError::WriterStopped)?
    }

    /// [`WriteOp::Apply`]: stores one registrar update of `aor`.
    pub async fn apply(
        &self,
        aor: &str,
        remove: Vec<String>,
        upsert: Vec<RegistrationRow>,
    ) -> Result<(), DbError> {
        self.submit(WriteOp::Apply {
            aor: aor.to_owned(),
            remove,
            upsert,
        })
        .await
        .map(|_| ())
    }

    /// [`WriteOp::DeleteExpired`]: deletes the bindings expired at `now`; returns how many.
    pub async fn delete_expired(&self, now: SystemTime) -> Result<u64, DbError> {
        self.submit(WriteOp::DeleteExpired { now }).await
    }

    /// The task's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

impl WriterTask {
    /// Runs until `shutdown` (then drains the queue) or until every handle is dropped.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut conn = match self.db.pool().acquire().await {
            Ok(conn) => conn,
            Err(error) => {
                // Every queued and future submission fails with WriterStopped.
                tracing::error!(%error, "registration writer cannot get a connection");
                return;
            }
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let received = tokio::select! {
                n = self.jobs.recv_many(&mut batch, MAX_BATCH) => n,
                () = shutdown.cancelled() => {
                    // Refuse new work, finish what is queued.
                    self.jobs.close();
                    self.jobs.recv_many(&mut batch, MAX_BATCH).await
                }
            };
            if received == 0 {
                break;
            }
            write_batch(&mut conn, &mut batch, &self.stats).await;
        }
        tracing::debug!("registration writer stopped");
    }
}

/// Applies `batch` in one transaction and acks every job; empties `batch`. If the batch
/// fails (one bad change, or the commit), it is rolled back and each change is retried in
/// its own transaction, so only the failing ones are refused.
async fn write_batch(
    conn: &mut PoolConnection<Sqlite>,
    batch: &mut Vec<WriteJob>,
    stats: &WriterStats,
) {
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.ops.fetch_add(
        u64::try_from(batch.len()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    let started = Instant::now();
    let ops = batch.len();
    let now_ms = unix_ms(SystemTime::now());
    let outcome = async {
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        let counts = apply_all(&mut tx, batch, now_ms).await?;
        tx.commit().await?;
        Ok::<_, DbError>(counts)
    }
    .await;
    match outcome {
        Ok(counts) => {
            for (job, count) in batch.drain(..).zip(counts) {
                // A caller that gave up no longer listens: nothing to do.
                let _ = job.ack.send(Ok(count));
            }
        }
        Err(error) => {
            tracing::warn!(%error, ops = batch.len(), "registration batch failed; retrying one by one");
            for job in batch.drain(..) {
                let result = write_one(conn, &job.op, now_ms).await;
                if let Err(error) = &result {
                    tracing::error!(%error, "registration change not stored");
                }
                let _ = job.ack.send(result);
            }
        }
    }
    let elapsed = started.elapsed();
    if elapsed > SLOW_BATCH {
        tracing::warn!(
            ops,
            elapsed_ms = elapsed.as_millis(),
            "slow registration batch"
        );
    } else {
        tracing::trace!(
            ops,
            elapsed_us = elapsed.as_micros(),
            "registration batch committed"
        );
    }
}

/// Applies the ops of `batch` in order on `conn` (inside a transaction); returns the rows
/// each affected. Consecutive upserts are coalesced into multi-row INSERTs: they are flushed
/// before any delete, so the effect is exactly that of applying the ops one by one.
async fn apply_all(
    conn: &mut SqliteConnection,
    batch: &[WriteJob],
    now_ms: i64,
) -> Result<Vec<u64>, DbError> {
    let mut counts = Vec::with_capacity(batch.len());
    let mut pending: Vec<&RegistrationRow> = Vec::new();
    for job in batch {
        match &job.op {
            WriteOp::Apply {
                aor,
                remove,
                upsert,
            } => {
                if !remove.is_empty() {
                    flush(&mut *conn, &mut pending, now_ms).await?;
                    registrations::remove_contacts(&mut *conn, aor, remove).await?;
                }
                pending.extend(upsert);
                counts.push(u64::try_from(remove.len() + upsert.len()).unwrap_or(u64::MAX));
            }
            WriteOp::DeleteExpired { now } => {
                flush(&mut *conn, &mut pending, now_ms).await?;
                counts.push(registrations::delete_expired_on(&mut *conn, *now).await?);
            }
        }
    }
    flush(conn, &mut pending, now_ms).await?;
    Ok(counts)
}

/// Writes the coalesced upserts.
async fn flush(
    conn: &mut SqliteConnection,
    pending: &mut Vec<&RegistrationRow>,
    now_ms: i64,
) -> Result<(), DbError> {
    if pending.is_empty() {
        return Ok(());
    }
    let rows: Vec<RegistrationRow> = pending.drain(..).cloned().collect();
    registrations::upsert_rows(conn, &rows, now_ms).await
}

/// One op in its own transaction (the retry path after a failed batch).
async fn write_one(
    conn: &mut PoolConnection<Sqlite>,
    op: &WriteOp,
    now_ms: i64,
) -> Result<u64, DbError> {
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    let count = match op {
        WriteOp::Apply {
            aor,
            remove,
            upsert,
        } => {
            registrations::apply_on(&mut tx, aor, remove, upsert, now_ms).await?;
            u64::try_from(remove.len() + upsert.len()).unwrap_or(u64::MAX)
        }
        WriteOp::DeleteExpired { now } => registrations::delete_expired_on(&mut tx, *now).await?,
    };
    tx.commit().await?;
    Ok(count)
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
