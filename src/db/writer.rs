//! Group commit for the `registrations` table: one writer task owns a write connection and
//! applies every queued change in ONE transaction per batch, so N concurrent registrations
//! cost one commit instead of N (SQLite has a single writer anyway).
//!
//! ```text
//!  callers ── WriteJob{op, ack} ──► bounded queue ──► writer task
//!                                                      │ recv_many (≤ MAX_BATCH)
//!                                                      │ BEGIN IMMEDIATE
//!                                                      │   per op: SAVEPOINT → apply → RELEASE
//!                                                      │           (error: ROLLBACK TO → that op fails alone)
//!                                                      │ COMMIT (error: ROLLBACK → every op fails)
//!                                                      ▼
//!                                                   ack each op (Ok only once committed)
//! ```
//!
//! An `Ok` ack means the change is committed (in WAL mode with `synchronous=NORMAL`: survives a
//! process crash). On shutdown the task closes its queue, applies what is still queued, acks
//! it and ends; later submissions fail with [`DbError::WriterStopped`].
//!
//! Depends on: the rest of `db` only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

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

/// Applies `batch` in one transaction and acks every job; empties `batch`.
async fn write_batch(
    conn: &mut PoolConnection<Sqlite>,
    batch: &mut Vec<WriteJob>,
    stats: &WriterStats,
) {
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats
        .ops
        .fetch_add(u64::try_from(batch.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
    let now_ms = unix_ms(SystemTime::now());
    let outcome = async {
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        let mut results = Vec::with_capacity(batch.len());
        for job in batch.iter() {
            results.push(apply_isolated(&mut tx, &job.op, now_ms).await?);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(results)
    }
    .await;
    match outcome {
        Ok(results) => {
            for (job, result) in batch.drain(..).zip(results) {
                // A caller that gave up no longer listens: nothing to do.
                let _ = job.ack.send(result);
            }
        }
        Err(error) => {
            tracing::error!(%error, ops = batch.len(), "registration batch not committed");
            let error = Arc::new(error);
            for job in batch.drain(..) {
                let _ = job.ack.send(Err(DbError::Batch(error.clone())));
            }
        }
    }
    tracing::trace!(batches = stats.batches.load(Ordering::Relaxed), "registration batch done");
}

/// Runs `op` inside a savepoint so that its failure undoes only its own changes. The outer
/// error is a failure of the savepoint machinery itself (the whole batch is then lost).
async fn apply_isolated(
    tx: &mut SqliteConnection,
    op: &WriteOp,
    now_ms: i64,
) -> Result<Result<u64, DbError>, sqlx::Error> {
    let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
    match apply_op(&mut savepoint, op, now_ms).await {
        Ok(rows) => {
            savepoint.commit().await?;
            Ok(Ok(rows))
        }
        Err(error) => {
            tracing::warn!(%error, "registration change rolled back");
            savepoint.rollback().await?;
            Ok(Err(error))
        }
    }
}

async fn apply_op(conn: &mut SqliteConnection, op: &WriteOp, now_ms: i64) -> Result<u64, DbError> {
    match op {
        WriteOp::Apply { aor, remove, upsert } => {
            registrations::apply_on(conn, aor, remove, upsert, now_ms).await?;
            Ok(u64::try_from(remove.len() + upsert.len()).unwrap_or(u64::MAX))
        }
        WriteOp::DeleteExpired { now } => registrations::delete_expired_on(conn, *now).await,
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
