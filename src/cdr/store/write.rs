//! The batch writer: [`CdrStore::write_batch`] applies a batch of [`CdrOp`]s in ONE
//! transaction.
//!
//! ```text
//!  ops ──► coalesce per record id ──► plan ──► BEGIN IMMEDIATE
//!          (last Live wins; Final or      │     cdr_leg inserts (finals) / upserts (realtime)
//!           Drop supersede Live; a        │     cdr inserts, cel inserts
//!           Final is never superseded)    │     cdr_live upserts, cdr_live deletes
//!                                         │     realtime cdr_leg deletes (Drop)
//!                                         │     cdr_outbox inserts (webhook on)
//!                                         │     cdr_node.last_alive = now
//!                                         ▼   COMMIT ──► feed items
//! ```
//!
//! Each table's rows go out in multi-row statements (chunks below SQLite's variable limit);
//! while SQLite's worker thread runs one, this task binds the next.
//!
//! Every statement is idempotent: final leg, bridge and CEL rows are `INSERT OR IGNORE` on
//! their unique keys (`(start, uuid)`, `(sequence, uniqueid)`, `(event_seq, uniqueid, eventtype)`),
//! outbox rows on `record_id`; in realtime mode (and in recovery) leg rows are upserted on
//! `(start, uuid)`, but a row that has an end never changes again. On any error the transaction is rolled back and the
//! connection discarded (SQLite may have rolled back on its own after `SQLITE_FULL`, which
//! would leave sqlx's transaction bookkeeping out of step).
//!
//! Depends on: `cdr::model`, `cdr::fields` (custom field values), `super::bind`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use sqlx::SqliteConnection;

use super::bind::{bind_bridge, bind_cel, bind_extra, bind_leg, chunk_sizes, max_rows, Q};
use super::schema::{CEL_COLUMNS, LIVE_COLUMNS, OUTBOX_COLUMNS};
use super::{CdrStore, Stmt, StoreError};
use crate::cdr::fields::{self, FieldValue, Lookup};
use crate::cdr::model::{BridgeRecord, CdrOp, CelRecord, FeedItem, LegRecord, Millis};

/// A batch slower than this is logged at WARN.
const SLOW_BATCH_MS: u128 = 250;

/// One record's effective operation after coalescing.
#[derive(Debug)]
enum Effective<'a> {
    LegLive(&'a Arc<LegRecord>),
    LegFinal(&'a Arc<LegRecord>),
    LegDrop(&'a str),
    BridgeLive(&'a Arc<BridgeRecord>),
    BridgeFinal(&'a Arc<BridgeRecord>),
    BridgeDrop(&'a str),
}

impl Effective<'_> {
    fn is_final(&self) -> bool {
        matches!(self, Effective::LegFinal(_) | Effective::BridgeFinal(_))
    }
}

/// The journal key of a leg record (`leg:<uuid>`, as [`FeedItem::record_id`]).
pub(crate) fn leg_key(uuid: &str) -> String {
    format!("leg:{uuid}")
}

/// The journal key of a bridge record (`bridge:<uniqueid>:<sequence>`).
pub(crate) fn bridge_key(record_id: &str) -> String {
    format!("bridge:{record_id}")
}

/// Coalesces `ops` per record id, keeping batch order of each record's last effective op;
/// returns the record ops and the CEL records (in order).
fn coalesce(ops: &[CdrOp]) -> (Vec<Effective<'_>>, Vec<&CelRecord>) {
    let mut slots: HashMap<String, usize> = HashMap::with_capacity(ops.len());
    let mut effective: Vec<Option<Effective<'_>>> = Vec::with_capacity(ops.len());
    let mut cels = Vec::new();
    for op in ops {
        let (key, eff) = match op {
            CdrOp::Cel(cel) => {
                cels.push(&**cel);
                continue;
            }
            CdrOp::LegLive(r) => (leg_key(&r.uuid), Effective::LegLive(r)),
            CdrOp::LegFinal(r) => (leg_key(&r.uuid), Effective::LegFinal(r)),
            CdrOp::LegDrop { uuid } => (leg_key(uuid), Effective::LegDrop(uuid)),
            CdrOp::BridgeLive(r) => (bridge_key(&r.record_id()), Effective::BridgeLive(r)),
            CdrOp::BridgeFinal(r) => (bridge_key(&r.record_id()), Effective::BridgeFinal(r)),
            CdrOp::BridgeDrop { record_id } => {
                (bridge_key(record_id), Effective::BridgeDrop(record_id))
            }
        };
        if let Some(&i) = slots.get(&key) {
            if effective[i].as_ref().is_some_and(Effective::is_final) {
                if !eff.is_final() {
                    tracing::warn!(record_id = %key, "CDR op after the record's final; ignored");
                }
                continue;
            }
            effective[i] = None;
        }
        slots.insert(key, effective.len());
        effective.push(Some(eff));
    }
    (effective.into_iter().flatten().collect(), cels)
}

/// A leg row with its computed extra columns.
struct LegRow<'a> {
    rec: &'a LegRecord,
    custom: Vec<FieldValue>,
    details: Option<String>,
}

/// A bridge row with its computed extra columns.
struct BridgeRow<'a> {
    rec: &'a BridgeRecord,
    custom: Vec<FieldValue>,
    details: Option<String>,
}

/// A `cdr_live` row.
struct LiveRow<'a> {
    record_id: String,
    kind: &'static str,
    node_id: &'a str,
    sequence: Option<i64>,
    body: String,
}

/// A `cdr_outbox` row.
struct OutboxRow {
    record_id: String,
    payload: String,
}

/// Everything one transaction writes.
#[derive(Default)]
struct Plan<'a> {
    /// Legs are upserted (realtime rows, recovery) rather than inserted if absent.
    upsert_legs: bool,
    legs: Vec<LegRow<'a>>,
    bridges: Vec<BridgeRow<'a>>,
    cels: Vec<&'a CelRecord>,
    live: Vec<LiveRow<'a>>,
    live_delete: Vec<String>,
    open_delete: Vec<&'a str>,
    outbox: Vec<OutboxRow>,
    feed: Vec<FeedItem>,
}

impl CdrStore {
    /// Applies `ops` in ONE transaction (coalesced per record id: only the last live state
    /// of a record matters, a Final or Drop makes its earlier Lives unnecessary), updates
    /// this node's heartbeat to `now` and, with a webhook configured, queues one outbox row
    /// per final record. Returns the feed items committed: final leg and bridge records,
    /// and in realtime mode the leg updates (`is_final: false`).
    ///
    /// On error nothing of the batch is stored; [`StoreError::is_transient`] tells whether
    /// retrying the same batch later can succeed. Retrying after an unknown commit outcome
    /// is safe (idempotent).
    pub async fn write_batch(
        &self,
        ops: &[CdrOp],
        now: Millis,
    ) -> Result<Vec<FeedItem>, StoreError> {
        self.check_writable()?;
        let started = Instant::now();
        let (effective, cels) = coalesce(ops);
        let plan = self.plan(&effective, cels)?;
        let feed = self.commit(plan, now, false).await?;
        let elapsed = started.elapsed().as_millis();
        if elapsed > SLOW_BATCH_MS {
            tracing::warn!(ops = ops.len(), elapsed_ms = elapsed, "slow CDR batch");
        } else {
            tracing::trace!(ops = ops.len(), elapsed_ms = elapsed, "CDR batch committed");
        }
        Ok(feed)
    }

    /// Applies `ops` like [`CdrStore::write_batch`], and also sets `cdr_node.started`
    /// (the recovery transaction). The leg records in `keep_custom` (rebuilt from columns
    /// only, without their variables) leave their stored custom field values as they are.
    pub(crate) async fn write_recovery(
        &self,
        ops: &[CdrOp],
        now: Millis,
        keep_custom: &HashSet<String>,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let (effective, cels) = coalesce(ops);
        let mut plan = self.plan(&effective, cels)?;
        // Realtime rows left open are closed in place.
        plan.upsert_legs = true;
        for row in &mut plan.legs {
            if keep_custom.contains(&row.rec.uuid) {
                // NULL binds keep the stored values (COALESCE in the upsert).
                row.custom.fill(FieldValue::Null);
            }
        }
        self.commit(plan, now, true).await
    }

    /// Turns the coalesced ops into rows.
    fn plan<'a>(
        &'a self,
        effective: &[Effective<'a>],
        cels: Vec<&'a CelRecord>,
    ) -> Result<Plan<'a>, StoreError> {
        let settings = &self.inner.settings;
        let realtime = settings.realtime;
        let mut plan = Plan {
            upsert_legs: realtime,
            cels,
            ..Plan::default()
        };
        for eff in effective {
            match *eff {
                Effective::LegLive(r) if realtime => {
                    plan.legs.push(self.leg_row(r)?);
                    plan.feed.push(FeedItem::Leg {
                        is_final: false,
                        record: Arc::clone(r),
                    });
                }
                Effective::LegLive(r) => plan.live.push(LiveRow {
                    record_id: leg_key(&r.uuid),
                    kind: "leg",
                    node_id: &r.node_id,
                    sequence: None,
                    body: serde_json::to_string(&**r)?,
                }),
                Effective::LegFinal(r) => {
                    plan.legs.push(self.leg_row(r)?);
                    plan.live_delete.push(leg_key(&r.uuid));
                    plan.feed.push(FeedItem::Leg {
                        is_final: true,
                        record: Arc::clone(r),
                    });
                }
                Effective::LegDrop(uuid) => {
                    plan.live_delete.push(leg_key(uuid));
                    // Also when not realtime now: the row may come from a realtime run.
                    plan.open_delete.push(uuid);
                }
                Effective::BridgeLive(r) => plan.live.push(LiveRow {
                    record_id: bridge_key(&r.record_id()),
                    kind: "bridge",
                    node_id: &r.node_id,
                    sequence: Some(super::bind::int(r.sequence)),
                    body: serde_json::to_string(&**r)?,
                }),
                Effective::BridgeFinal(r) => {
                    plan.bridges.push(BridgeRow {
                        rec: r,
                        custom: custom_values(&settings.fields, &**r),
                        details: self.details(&**r)?,
                    });
                    plan.live_delete.push(bridge_key(&r.record_id()));
                    plan.feed.push(FeedItem::Bridge {
                        record: Arc::clone(r),
                    });
                }
                Effective::BridgeDrop(id) => plan.live_delete.push(bridge_key(id)),
            }
        }
        if settings.webhook.is_some() {
            for item in &plan.feed {
                let is_final = !matches!(
                    item,
                    FeedItem::Leg {
                        is_final: false,
                        ..
                    }
                );
                if is_final {
                    plan.outbox.push(OutboxRow {
                        record_id: item.record_id(),
                        payload: serde_json::to_string(item)?,
                    });
                }
            }
        }
        Ok(plan)
    }

    fn leg_row<'a>(&self, r: &'a LegRecord) -> Result<LegRow<'a>, StoreError> {
        Ok(LegRow {
            rec: r,
            custom: custom_values(&self.inner.settings.fields, r),
            details: self.details(r)?,
        })
    }

    /// The `details` JSON of a record, when enabled.
    fn details<T: serde::Serialize>(&self, record: &T) -> Result<Option<String>, StoreError> {
        if self.inner.settings.details {
            Ok(Some(serde_json::to_string(record)?))
        } else {
            Ok(None)
        }
    }

    /// Runs `plan` in one transaction; on failure discards the connection.
    async fn commit(
        &self,
        plan: Plan<'_>,
        now: Millis,
        mark_started: bool,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let outcome = async {
            let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
            self.apply(&mut tx, &plan, now).await?;
            heartbeat(&mut tx, &self.inner.settings.node_id, now, mark_started).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }
        .await;
        match outcome {
            Ok(()) => Ok(plan.feed),
            Err(error) => {
                // The transaction was dropped (rollback queued); do not reuse the connection.
                conn.close_on_drop();
                tracing::warn!(%error, transient = error.is_transient(), "CDR batch not stored");
                Err(error)
            }
        }
    }

    /// The statements of one transaction, pipelined: while SQLite's worker thread runs one
    /// multi-row statement, this task binds the values of the next.
    async fn apply(
        &self,
        conn: &mut SqliteConnection,
        plan: &Plan<'_>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let jobs = self.jobs(plan);
        let mut queue = jobs.iter();
        let mut next = queue.next().map(|(sql, job)| self.bind_job(sql, *job, now));
        while let Some(q) = next.take() {
            let (done, built) = tokio::join!(q.execute(&mut *conn), async {
                queue.next().map(|(sql, job)| self.bind_job(sql, *job, now))
            });
            done?;
            next = built;
        }
        Ok(())
    }

    /// Every statement of `plan`, in execution order, split into chunks.
    fn jobs<'p>(&self, plan: &'p Plan<'_>) -> Vec<(Arc<str>, Job<'p>)> {
        let mut jobs = Vec::new();
        let leg_stmt = if plan.upsert_legs {
            Stmt::LegUpsert
        } else {
            Stmt::LegInsert
        };
        let mut push =
            |kind: Stmt, columns: usize, len: usize, job: &dyn Fn(usize, usize) -> Job<'p>| {
                let mut at = 0;
                for size in chunk_sizes(len, max_rows(columns)) {
                    jobs.push((self.sql(kind, size), job(at, at + size)));
                    at += size;
                }
            };
        push(
            leg_stmt,
            self.inner.leg_columns.len(),
            plan.legs.len(),
            &|a, b| Job::Legs(&plan.legs[a..b]),
        );
        push(
            Stmt::BridgeInsert,
            self.inner.bridge_columns.len(),
            plan.bridges.len(),
            &|a, b| Job::Bridges(&plan.bridges[a..b]),
        );
        push(
            Stmt::CelInsert,
            CEL_COLUMNS.len(),
            plan.cels.len(),
            &|a, b| Job::Cels(&plan.cels[a..b]),
        );
        push(
            Stmt::LiveUpsert,
            LIVE_COLUMNS.len(),
            plan.live.len(),
            &|a, b| Job::Live(&plan.live[a..b]),
        );
        push(Stmt::LiveDelete, 1, plan.live_delete.len(), &|a, b| {
            Job::LiveDelete(&plan.live_delete[a..b])
        });
        push(Stmt::LegOpenDelete, 1, plan.open_delete.len(), &|a, b| {
            Job::OpenDelete(&plan.open_delete[a..b])
        });
        push(
            Stmt::OutboxInsert,
            OUTBOX_COLUMNS.len(),
            plan.outbox.len(),
            &|a, b| Job::Outbox(&plan.outbox[a..b]),
        );
        jobs
    }

    /// Binds the rows of one chunk.
    fn bind_job<'q>(&self, sql: &'q str, job: Job<'q>, now: Millis) -> Q<'q> {
        let details = self.inner.settings.details;
        let mut q = sqlx::query(sql);
        match job {
            Job::Legs(rows) => {
                for row in rows {
                    q = bind_leg(q, row.rec);
                    q = bind_extra(q, &row.custom, details.then_some(&row.details));
                }
            }
            Job::Bridges(rows) => {
                for row in rows {
                    q = bind_bridge(q, row.rec);
                    q = bind_extra(q, &row.custom, details.then_some(&row.details));
                }
            }
            Job::Cels(rows) => {
                for row in rows {
                    q = bind_cel(q, row);
                }
            }
            Job::Live(rows) => {
                for row in rows {
                    q = q
                        .bind(row.record_id.as_str())
                        .bind(row.kind)
                        .bind(row.node_id)
                        .bind(row.sequence)
                        .bind(row.body.as_str())
                        .bind(now);
                }
            }
            Job::LiveDelete(ids) => {
                for id in ids {
                    q = q.bind(id.as_str());
                }
            }
            Job::OpenDelete(uuids) => {
                for uuid in uuids {
                    q = q.bind(*uuid);
                }
            }
            Job::Outbox(rows) => {
                for row in rows {
                    q = q
                        .bind(row.record_id.as_str())
                        .bind(row.payload.as_str())
                        .bind(now)
                        .bind(now);
                }
            }
        }
        q
    }
}

/// One chunk of rows of one statement.
#[derive(Clone, Copy)]
enum Job<'p> {
    Legs(&'p [LegRow<'p>]),
    Bridges(&'p [BridgeRow<'p>]),
    Cels(&'p [&'p CelRecord]),
    Live(&'p [LiveRow<'p>]),
    LiveDelete(&'p [String]),
    OpenDelete(&'p [&'p str]),
    Outbox(&'p [OutboxRow]),
}

/// The custom field values of `record`, in `specs` order (the `cdr_leg`/`cdr` column order).
fn custom_values(specs: &[crate::config::cdr::FieldSpec], record: &dyn Lookup) -> Vec<FieldValue> {
    if specs.is_empty() {
        return Vec::new();
    }
    fields::values(specs, record)
        .into_iter()
        .map(|(_, value)| value)
        .collect()
}

/// Upserts this node's `cdr_node` row: `last_alive = now` (and `started = now` when
/// `mark_started`, or when the row is new).
pub(crate) async fn heartbeat(
    conn: &mut SqliteConnection,
    node_id: &str,
    now: Millis,
    mark_started: bool,
) -> Result<(), StoreError> {
    let sql = if mark_started {
        "INSERT INTO cdr_node (node_id, started, last_alive) VALUES (?, ?, ?) \
         ON CONFLICT(node_id) DO UPDATE SET started = excluded.started, \
         last_alive = excluded.last_alive"
    } else {
        "INSERT INTO cdr_node (node_id, started, last_alive) VALUES (?, ?, ?) \
         ON CONFLICT(node_id) DO UPDATE SET last_alive = excluded.last_alive"
    };
    sqlx::query(sql)
        .bind(node_id)
        .bind(now)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
