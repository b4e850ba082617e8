//! The webhook outbox (`cdr_outbox`): one row per final record, inserted in the same
//! transaction as the record (so a record is never committed without its delivery being
//! owed), read when due, deleted when delivered, rescheduled when a delivery failed.
//!
//! ```text
//!  write_batch ──insert──► pending(attempts, next_attempt)
//!                            │ outbox_due(now) lists it once next_attempt ≤ now
//!                            ├─ outbox_delivered(id) ──► deleted
//!                            └─ outbox_retry(id, t) ──► attempts+1, next_attempt = t
//! ```
//!
//! Depends on: sqlx.

use sqlx::Row;

use super::{CdrStore, StoreError};
use crate::cdr::model::Millis;

/// One record waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Row id (pass it to `outbox_delivered` / `outbox_retry`).
    pub id: i64,
    /// The record id receivers de-duplicate on (`leg:<uuid>`, `bridge:<uniqueid>:<seq>`).
    pub record_id: String,
    /// The JSON body to POST (a serialized `FeedItem`).
    pub payload: String,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created: Millis,
}

impl CdrStore {
    /// Up to `limit` outbox rows due at `now`, oldest first.
    pub async fn outbox_due(&self, now: Millis, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, record_id, payload, attempts, created FROM cdr_outbox \
             WHERE next_attempt <= ? ORDER BY id LIMIT ?",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let attempts: i64 = row.try_get("attempts")?;
                Ok(OutboxItem {
                    id: row.try_get("id")?,
                    record_id: row.try_get("record_id")?,
                    payload: row.try_get("payload")?,
                    attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt {
                        column: "cdr_outbox.attempts",
                        value: attempts.to_string(),
                    })?,
                    created: row.try_get("created")?,
                })
            })
            .collect()
    }

    /// Forgets row `id`: its record was delivered.
    pub async fn outbox_delivered(&self, id: i64) -> Result<(), StoreError> {
        self.check_writable()?;
        sqlx::query("DELETE FROM cdr_outbox WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Counts a failed attempt of row `id` and schedules the next at `next_attempt`.
    pub async fn outbox_retry(&self, id: i64, next_attempt: Millis) -> Result<(), StoreError> {
        self.check_writable()?;
        sqlx::query("UPDATE cdr_outbox SET attempts = attempts + 1, next_attempt = ? WHERE id = ?")
            .bind(next_attempt)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Rows waiting for delivery (status display).
    pub async fn outbox_len(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM cdr_outbox")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
