//! Row → record: rebuilds a [`LegRecord`] from a `cdr_leg` row (recovery of realtime rows
//! left open by a crash). When the row has a `details` JSON that parses as a record, that
//! is used (it also holds the channel variables); otherwise the columns are read one by one
//! and the variables are empty.
//!
//! Depends on: `cdr::model`, sqlx.

use std::collections::BTreeMap;

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::StoreError;
use crate::cdr::model::{LegRecord, LegStatus, RtpSummary};

/// The `cdr_leg` row as a record, and whether it is complete (from `details`, with its
/// variables) rather than rebuilt from the columns (variables empty).
pub(crate) fn leg_from_row(
    row: &SqliteRow,
    has_details: bool,
) -> Result<(LegRecord, bool), StoreError> {
    if has_details {
        let details: Option<String> = row.try_get("details")?;
        if let Some(record) = details
            .as_deref()
            .and_then(|json| serde_json::from_str::<LegRecord>(json).ok())
        {
            return Ok((record, true));
        }
    }
    let status: String = row.try_get("status")?;
    let record = LegRecord {
        uuid: row.try_get("uuid")?,
        node_id: row.try_get("node_id")?,
        status: parse_status(&status)?,
        direction: row.try_get("direction")?,
        account: row.try_get("account")?,
        caller_id_number: row.try_get("caller_id_number")?,
        caller_id_name: row.try_get("caller_id_name")?,
        callee_id_number: row.try_get("callee_id_number")?,
        destination_number: row.try_get("destination_number")?,
        originator: row.try_get("originator")?,
        bridge_uuid: row.try_get("bridge_uuid")?,
        call_source: row.try_get("call_source")?,
        source_name: row.try_get("source_name")?,
        source_number: row.try_get("source_number")?,
        dial_number: row.try_get("dial_number")?,
        line_group: row.try_get("line_group")?,
        context: row.try_get("context")?,
        channel_name: row.try_get("channel_name")?,
        sip_call_id: row.try_get("sip_call_id")?,
        start: row.try_get("start")?,
        answer: row.try_get("answer")?,
        end: row.try_get("end")?,
        duration: row.try_get("duration")?,
        billsec: row.try_get("billsec")?,
        duration_ms: row.try_get("duration_ms")?,
        billsec_ms: row.try_get("billsec_ms")?,
        hangup_cause: row.try_get("hangup_cause")?,
        q850: small(row, "q850")?,
        sip_code: small(row, "sip_code")?,
        hangup_side: row.try_get("hangup_side")?,
        codec: row.try_get("codec")?,
        rtp: RtpSummary {
            in_packets: count(row, "rtp_in_packets")?,
            in_lost: count(row, "rtp_in_lost")?,
            in_jitter_ms: row.try_get("rtp_in_jitter_ms")?,
            out_packets: count(row, "rtp_out_packets")?,
            out_lost: count(row, "rtp_out_lost")?,
            out_jitter_ms: row.try_get("rtp_out_jitter_ms")?,
        },
        linkedid: row.try_get("linkedid")?,
        accountcode: row.try_get("accountcode")?,
        amaflags: row.try_get("amaflags")?,
        userfield: row.try_get("userfield")?,
        variables: BTreeMap::new(),
    };
    Ok((record, false))
}

fn parse_status(text: &str) -> Result<LegStatus, StoreError> {
    Ok(match text {
        "created" => LegStatus::Created,
        "ringing" => LegStatus::Ringing,
        "answered" => LegStatus::Answered,
        "bridged" => LegStatus::Bridged,
        "hangup" => LegStatus::Hangup,
        other => {
            return Err(StoreError::Corrupt {
                column: "cdr_leg.status",
                value: other.to_owned(),
            })
        }
    })
}

/// A nullable small integer column (`q850`, `sip_code`).
fn small(row: &SqliteRow, column: &'static str) -> Result<Option<u16>, StoreError> {
    let v: Option<i64> = row.try_get(column)?;
    v.map(|v| {
        u16::try_from(v).map_err(|_| StoreError::Corrupt {
            column,
            value: v.to_string(),
        })
    })
    .transpose()
}

/// A non-negative counter column.
fn count(row: &SqliteRow, column: &'static str) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(column)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        column,
        value: v.to_string(),
    })
}
