//! Crash recovery: at start-up, [`CdrStore::recover`] closes the records the previous run
//! of this node left open — its crash-journal rows (`cdr_live`) and, in realtime mode, its
//! `cdr_leg` rows without an end — and writes them as final records, in one transaction
//! that also marks this run started.
//!
//! ```text
//!  cdr_node.last_alive (previous run) ─┐
//!  open record (start, answer) ────────┴─► end = max(last_alive, answer or start)
//!     leg:    hangup_cause CRASH, hangup_side local, status hangup; `legs`/OMIT filter
//!     bridge: disposition ANSWERED if answered else NO ANSWER; unanswered/OMIT filter
//!  ──► LegFinal / BridgeFinal (or Drop) through the batch writer ──► started = now
//! ```
//!
//! The end is never later than the last moment the switch was known alive (the heartbeat
//! is written in every batch's transaction), unless the record itself is later.
//!
//! Depends on: `cdr::model`, `config::cdr` (filters), `super::read`, `super::write`.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::Row;

use super::read::leg_from_row;
use super::schema::{table_columns, DETAILS_COLUMN};
use super::{CdrStore, StoreError};
use crate::cdr::model::{BridgeRecord, CdrOp, Disposition, LegRecord, LegStatus, Millis};
use crate::config::cdr::{CdrSettings, LegsFilter};

/// The Q.850-style cause name written on records closed by recovery.
pub const CRASH_CAUSE: &str = "CRASH";

/// What [`CdrStore::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// When the previous run was last known alive (`None`: no previous run of this node).
    pub previous_alive: Option<Millis>,
    /// Leg records closed and written.
    pub legs: u64,
    /// Bridge records closed and written.
    pub bridges: u64,
    /// Open records not written (filtered: `legs`, `unanswered`, AMA `OMIT`).
    pub dropped: u64,
}

impl CdrStore {
    /// Closes what the previous run of this node left open (see the module doc), writes
    /// the final rows (and outbox rows when the webhook is on), deletes the journal rows,
    /// then sets `cdr_node.started` and `last_alive` to `now`. Call once, before the first
    /// `write_batch`.
    pub async fn recover(&self, now: Millis) -> Result<RecoveryReport, StoreError> {
        self.check_writable()?;
        let settings = self.settings();
        let node = settings.node_id.as_str();
        let previous_alive: Option<Millis> =
            sqlx::query("SELECT last_alive FROM cdr_node WHERE node_id = ?")
                .bind(node)
                .fetch_optional(self.pool())
                .await?
                .map(|row| row.try_get("last_alive"))
                .transpose()?;
        let mut report = RecoveryReport {
            previous_alive,
            ..RecoveryReport::default()
        };
        let mut ops = Vec::new();
        let journal = sqlx::query("SELECT record_id, kind, body FROM cdr_live WHERE node_id = ?")
            .bind(node)
            .fetch_all(self.pool())
            .await?;
        for row in &journal {
            let kind: String = row.try_get("kind")?;
            let body: String = row.try_get("body")?;
            match kind.as_str() {
                "leg" => {
                    let record: LegRecord = serde_json::from_str(&body)?;
                    close_leg_op(record, previous_alive, settings, &mut ops, &mut report);
                }
                "bridge" => {
                    let record: BridgeRecord = serde_json::from_str(&body)?;
                    close_bridge_op(record, previous_alive, settings, &mut ops, &mut report);
                }
                _ => {
                    let record_id: String = row.try_get("record_id")?;
                    return Err(StoreError::Corrupt {
                        column: "cdr_live.kind",
                        value: format!("{kind} ({record_id})"),
                    });
                }
            }
        }
        // Realtime rows without an end (written whatever the current mode: the previous
        // run may have been realtime).
        let mut conn = self.pool().acquire().await?;
        let has_details = table_columns(&mut conn, "cdr_leg")
            .await?
            .iter()
            .any(|(c, _)| c == DETAILS_COLUMN);
        let open = sqlx::query("SELECT * FROM cdr_leg WHERE \"end\" IS NULL AND node_id = ?")
            .bind(node)
            .fetch_all(&mut *conn)
            .await?;
        drop(conn);
        let journaled: HashSet<String> = ops
            .iter()
            .filter_map(|op| match op {
                CdrOp::LegFinal(r) => Some(r.uuid.clone()),
                CdrOp::LegDrop { uuid } => Some(uuid.clone()),
                _ => None,
            })
            .collect();
        let mut keep_custom = HashSet::new();
        for row in &open {
            let (record, complete) = leg_from_row(row, has_details)?;
            if journaled.contains(&record.uuid) {
                continue;
            }
            if !complete {
                keep_custom.insert(record.uuid.clone());
            }
            close_leg_op(record, previous_alive, settings, &mut ops, &mut report);
        }
        self.write_recovery(&ops, now, &keep_custom).await?;
        if report.legs + report.bridges + report.dropped > 0 {
            tracing::warn!(
                legs = report.legs,
                bridges = report.bridges,
                dropped = report.dropped,
                previous_alive = ?previous_alive,
                "CDR records left open by the previous run closed as CRASH"
            );
        }
        Ok(report)
    }
}

/// The end of a record closed by recovery.
fn crash_end(start: Millis, answer: Option<Millis>, previous_alive: Option<Millis>) -> Millis {
    let latest = answer.map_or(start, |a| a.max(start));
    previous_alive.map_or(latest, |alive| alive.max(latest))
}

/// `(whole seconds, ms)` of `to − from`.
fn span(from: Millis, to: Millis) -> (i64, i64) {
    let ms = (to - from).max(0);
    (ms / 1_000, ms)
}

/// Closes a leg record (or drops it when the filters exclude it).
fn close_leg_op(
    mut r: LegRecord,
    previous_alive: Option<Millis>,
    settings: &CdrSettings,
    ops: &mut Vec<CdrOp>,
    report: &mut RecoveryReport,
) {
    let wanted = match settings.legs {
        LegsFilter::A => r.direction == "inbound",
        LegsFilter::B => r.direction != "inbound",
        LegsFilter::Ab => true,
    };
    if !wanted || r.amaflags.eq_ignore_ascii_case("OMIT") {
        report.dropped += 1;
        ops.push(CdrOp::LegDrop { uuid: r.uuid });
        return;
    }
    let end = crash_end(r.start, r.answer, previous_alive);
    r.end = Some(end);
    (r.duration, r.duration_ms) = span(r.start, end);
    (r.billsec, r.billsec_ms) = r.answer.map_or((0, 0), |a| span(a, end));
    r.hangup_cause = CRASH_CAUSE.to_owned();
    r.hangup_side = "local".to_owned();
    r.status = LegStatus::Hangup;
    report.legs += 1;
    ops.push(CdrOp::LegFinal(Arc::new(r)));
}

/// Closes a bridge record (or drops it when the filters exclude it).
fn close_bridge_op(
    mut r: BridgeRecord,
    previous_alive: Option<Millis>,
    settings: &CdrSettings,
    ops: &mut Vec<CdrOp>,
    report: &mut RecoveryReport,
) {
    r.disposition = if r.answer.is_some() {
        Disposition::Answered
    } else {
        Disposition::NoAnswer
    };
    let filtered = !settings.unanswered && r.disposition != Disposition::Answered;
    if filtered || r.amaflags.eq_ignore_ascii_case("OMIT") {
        report.dropped += 1;
        ops.push(CdrOp::BridgeDrop {
            record_id: r.record_id(),
        });
        return;
    }
    let end = crash_end(r.start, r.answer, previous_alive);
    r.end = Some(end);
    (r.duration, r.duration_ms) = span(r.start, end);
    (r.billsec, r.billsec_ms) = r.answer.map_or((0, 0), |a| span(a, end));
    report.bridges += 1;
    ops.push(CdrOp::BridgeFinal(Arc::new(r)));
}

#[cfg(test)]
#[path = "recover_tests.rs"]
mod tests;
