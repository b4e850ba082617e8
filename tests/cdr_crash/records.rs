//! Record checks of `tests/cdr_crash.rs`: matching leg and bridge records to the SIPp calls
//! they belong to (the batch prefix of the Call-ID, SIPp `-cid_str`), time consistency,
//! how the records of one call point at each other, and "same call shape, same fields"
//! (what crash recovery closed must be as complete as what a call's end writes).
//!
//! Depends on: `tests/common/cdr.rs` (rows as column → text maps).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::cdr::{field, int, CdrRow};

/// The batch (`-cid_str` prefix) and SIPp call number of a record's SIP Call-ID.
pub fn batch_of(row: &CdrRow) -> Option<(String, u64)> {
    let call_id = field(row, "sip_call_id")?;
    let mut parts = call_id.splitn(3, '-');
    let batch = parts.next()?;
    let number = parts.next()?.parse().ok()?;
    Some((batch.to_owned(), number))
}

/// `duration`/`billsec` agree with the record's own times (whole seconds truncated, ms
/// exact); an answered record's answer lies within the call.
#[track_caller]
pub fn assert_times_consistent(row: &CdrRow) {
    let start = int(row, "start");
    let end = int(row, "end");
    let answer = int(row, "answer");
    assert!(
        start <= answer && answer <= end,
        "times out of order: {row:#?}"
    );
    assert_eq!(int(row, "duration_ms"), end - start, "{row:#?}");
    assert_eq!(int(row, "duration"), (end - start) / 1000, "{row:#?}");
    assert_eq!(int(row, "billsec_ms"), end - answer, "{row:#?}");
    assert_eq!(int(row, "billsec"), (end - answer) / 1000, "{row:#?}");
}
/// Asserts that every row of `rows` has, in each of `columns`, the one value all rows of
/// `reference` share there (records of calls of the same shape: what recovery closed must
/// be as complete as what the call's end wrote). Panics if `reference` disagrees with
/// itself or is empty.
#[track_caller]
pub fn assert_same_shape(what: &str, rows: &[&CdrRow], reference: &[&CdrRow], columns: &[&str]) {
    assert!(!reference.is_empty(), "{what}: no reference records");
    let mut wrong = Vec::new();
    for column in columns {
        let values: BTreeSet<Option<&str>> = reference.iter().map(|r| field(r, column)).collect();
        assert_eq!(
            values.len(),
            1,
            "{what}: reference records disagree on {column}: {values:?}"
        );
        let want = values.into_iter().next().flatten();
        for row in rows {
            let got = field(row, column);
            if got != want {
                wrong.push(format!(
                    "{column}: got {got:?}, want {want:?} (record {:?})",
                    field(row, "id")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

/// Leg columns that depend only on the call's shape (who dials what, through which route).
pub const LEG_SHAPE: &[&str] = &[
    "account",
    "caller_id_number",
    "caller_id_name",
    "callee_id_number",
    "destination_number",
    "call_source",
    "source_name",
    "source_number",
    "dial_number",
    "line_group",
    "context",
    "accountcode",
    "amaflags",
    "userfield",
    "node_id",
];

/// Bridge-record columns that depend only on the call's shape.
pub const BRIDGE_SHAPE: &[&str] = &[
    "clid",
    "src",
    "dst",
    "dcontext",
    "lastapp",
    "lastdata",
    "amaflags",
    "accountcode",
    "peeraccount",
    "userfield",
    "node_id",
];

/// The rows of `rows` (leg records of `direction`, or bridge records when `None`) that
/// belong to calls of `batch`; `batch_of_uuid` maps inbound leg uuids to batches.
pub fn by_batch<'a>(
    rows: &[&'a CdrRow],
    batch_of_uuid: &BTreeMap<String, String>,
    batch: &str,
    direction: Option<&str>,
) -> Vec<&'a CdrRow> {
    rows.iter()
        .filter(|r| direction.is_none_or(|d| field(r, "direction") == Some(d)))
        .filter(|r| {
            let key = match direction {
                Some("outbound") => field(r, "originator"),
                Some(_) => field(r, "uuid"),
                None => field(r, "uniqueid"),
            };
            key.and_then(|k| batch_of_uuid.get(k)).map(String::as_str) == Some(batch)
        })
        .copied()
        .collect()
}

/// Asserts how the records of two-channel calls point at each other: each outbound leg's
/// originator is an inbound leg, the two legs name each other as `bridge_uuid`, both carry
/// the inbound leg's uuid as `linkedid`, and the call's bridge record joins the two
/// channels with Party A's start and Party B's answer.
#[track_caller]
pub fn assert_linked(legs: &[CdrRow], bridges: &[CdrRow]) {
    let leg_by_uuid: BTreeMap<&str, &CdrRow> = legs
        .iter()
        .filter_map(|l| field(l, "uuid").map(|u| (u, l)))
        .collect();
    for b in legs
        .iter()
        .filter(|l| field(l, "direction") == Some("outbound"))
    {
        let a_uuid = field(b, "originator").unwrap_or_default();
        let a = *leg_by_uuid
            .get(a_uuid)
            .unwrap_or_else(|| panic!("originator of no leg: {b:#?}"));
        let b_uuid = field(b, "uuid");
        assert_eq!(field(a, "bridge_uuid"), b_uuid, "A's peer: {a:#?}\n{b:#?}");
        assert_eq!(field(b, "bridge_uuid"), Some(a_uuid), "B's peer: {b:#?}");
        assert_eq!(field(a, "linkedid"), Some(a_uuid), "{a:#?}");
        assert_eq!(field(b, "linkedid"), Some(a_uuid), "{b:#?}");
        let cdr = bridges
            .iter()
            .find(|c| field(c, "uniqueid") == Some(a_uuid))
            .unwrap_or_else(|| panic!("no bridge record for {a_uuid}"));
        assert_eq!(field(cdr, "channel"), field(a, "channel_name"), "{cdr:#?}");
        assert_eq!(
            field(cdr, "dstchannel"),
            field(b, "channel_name"),
            "{cdr:#?}"
        );
        assert_eq!(field(cdr, "peer_uniqueid"), b_uuid, "{cdr:#?}");
        assert_eq!(field(cdr, "linkedid"), Some(a_uuid), "{cdr:#?}");
        assert_eq!(field(cdr, "start"), field(a, "start"), "{cdr:#?}");
        assert_eq!(field(cdr, "answer"), field(b, "answer"), "{cdr:#?}");
    }
}

/// The calls of a run, from their leg records: inbound legs by the SIPp batch and call
/// number of their Call-ID, outbound legs by their originator.
#[derive(Debug, Clone)]
pub struct CallMap {
    /// SIPp call numbers per batch.
    pub numbers: BTreeMap<String, BTreeSet<u64>>,
    /// Inbound leg uuid → batch.
    pub batch_of_uuid: BTreeMap<String, String>,
}

impl CallMap {
    /// Matches every leg to a call; panics on a leg of no call, two inbound legs for one
    /// SIPp call, or a call without exactly one outbound leg.
    #[track_caller]
    pub fn build(legs: &[CdrRow]) -> CallMap {
        let mut numbers: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        let mut batch_of_uuid = BTreeMap::new();
        let mut outbound_of: BTreeMap<String, usize> = BTreeMap::new();
        for leg in legs {
            match field(leg, "direction") {
                Some("inbound") => {
                    let (batch, number) = batch_of(leg)
                        .unwrap_or_else(|| panic!("inbound leg without a SIPp Call-ID: {leg:#?}"));
                    assert!(
                        numbers.entry(batch.clone()).or_default().insert(number),
                        "two records for SIPp call {batch} {number}: {leg:#?}"
                    );
                    let uuid = field(leg, "uuid").unwrap_or_else(|| panic!("no uuid: {leg:#?}"));
                    batch_of_uuid.insert(uuid.to_owned(), batch);
                }
                Some("outbound") => {
                    let originator = field(leg, "originator")
                        .unwrap_or_else(|| panic!("outbound leg without originator: {leg:#?}"));
                    *outbound_of.entry(originator.to_owned()).or_default() += 1;
                }
                other => panic!("direction {other:?}: {leg:#?}"),
            }
        }
        let calls: BTreeSet<&String> = batch_of_uuid.keys().collect();
        let with_b: BTreeSet<&String> = outbound_of.keys().collect();
        assert_eq!(with_b, calls, "outbound legs vs calls");
        assert!(
            outbound_of.values().all(|&n| n == 1),
            "one outbound leg per call: {outbound_of:#?}"
        );
        CallMap {
            numbers,
            batch_of_uuid,
        }
    }

    /// The SIPp call numbers of `batch` that have records.
    pub fn numbers(&self, batch: &str) -> BTreeSet<u64> {
        self.numbers.get(batch).cloned().unwrap_or_default()
    }

    /// The batch of the call `leg` belongs to.
    #[track_caller]
    pub fn batch_of_leg(&self, leg: &CdrRow) -> String {
        let key = if field(leg, "direction") == Some("inbound") {
            field(leg, "uuid")
        } else {
            field(leg, "originator")
        };
        key.and_then(|k| self.batch_of_uuid.get(k))
            .cloned()
            .unwrap_or_else(|| panic!("leg of no call: {leg:#?}"))
    }

    /// The batch of the call a leg or bridge record belongs to.
    #[track_caller]
    pub fn batch_of(&self, row: &CdrRow) -> String {
        if is_leg(row) {
            return self.batch_of_leg(row);
        }
        field(row, "uniqueid")
            .and_then(|u| self.batch_of_uuid.get(u))
            .cloned()
            .unwrap_or_else(|| panic!("bridge record of no call: {row:#?}"))
    }

    /// Exactly one bridge record per call.
    #[track_caller]
    pub fn assert_one_bridge_each(&self, bridges: &[CdrRow]) {
        let mut per_call: BTreeMap<&str, usize> = BTreeMap::new();
        for cdr in bridges {
            let uniqueid = field(cdr, "uniqueid").unwrap_or_default();
            *per_call.entry(uniqueid).or_default() += 1;
        }
        let calls: BTreeSet<&str> = self.batch_of_uuid.keys().map(String::as_str).collect();
        assert_eq!(
            per_call.keys().copied().collect::<BTreeSet<_>>(),
            calls,
            "bridge records vs calls"
        );
        assert!(
            per_call.values().all(|&n| n == 1),
            "one bridge record per call: {per_call:#?}"
        );
    }

    /// The largest bridge `sequence` of the calls not of `batch` (-1 if none), and the
    /// sequences of `batch`'s calls; panics if two records share a sequence.
    #[track_caller]
    pub fn sequences(&self, batch: &str, bridges: &[CdrRow]) -> (i64, Vec<i64>) {
        let all: BTreeSet<i64> = bridges.iter().map(|c| int(c, "sequence")).collect();
        assert_eq!(
            all.len(),
            bridges.len(),
            "sequence not unique: {bridges:#?}"
        );
        let (mut before, mut of_batch) = (-1, Vec::new());
        for cdr in bridges {
            if self.batch_of(cdr) == batch {
                of_batch.push(int(cdr, "sequence"));
            } else {
                before = before.max(int(cdr, "sequence"));
            }
        }
        (before, of_batch)
    }

    /// The records of the calls of `batch` have the same call-shape fields
    /// ([`LEG_SHAPE`], [`BRIDGE_SHAPE`]) as those of `reference` (same kind of call).
    #[track_caller]
    pub fn assert_same_shape(
        &self,
        batch: &str,
        reference: &str,
        legs: &[CdrRow],
        bridges: &[CdrRow],
    ) {
        let leg_refs: Vec<&CdrRow> = legs.iter().collect();
        for direction in ["inbound", "outbound"] {
            assert_same_shape(
                &format!("{batch} {direction} legs vs {reference}'s"),
                &by_batch(&leg_refs, &self.batch_of_uuid, batch, Some(direction)),
                &by_batch(&leg_refs, &self.batch_of_uuid, reference, Some(direction)),
                LEG_SHAPE,
            );
        }
        let bridge_refs: Vec<&CdrRow> = bridges.iter().collect();
        assert_same_shape(
            &format!("{batch} bridge records vs {reference}'s"),
            &by_batch(&bridge_refs, &self.batch_of_uuid, batch, None),
            &by_batch(&bridge_refs, &self.batch_of_uuid, reference, None),
            BRIDGE_SHAPE,
        );
    }
}

/// Finds the restarted PBX's recovery line in `log` and asserts it counts `legs` leg and
/// `bridges` bridge records closed; returns the previous run's last heartbeat
/// (`previous_alive`, ms) it reports.
#[track_caller]
pub fn assert_recovery_logged(log: &str, legs: u64, bridges: u64) -> i64 {
    let line = log
        .lines()
        .find(|l| l.contains("closed as CRASH"))
        .unwrap_or_else(|| panic!("no recovery line in the log:\n{log}"));
    assert!(
        line.contains(&format!("legs={legs} ")) && line.contains(&format!("bridges={bridges} ")),
        "the recovery line does not count {legs} legs and {bridges} bridge records: {line}"
    );
    eprintln!("recovery: {line}");
    line.split("previous_alive=Some(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no previous_alive=Some(<ms>) in the recovery line: {line}"))
}

/// `inbound`, `outbound` (leg records) or `bridge`.
pub fn kind(row: &CdrRow) -> &str {
    if is_leg(row) {
        field(row, "direction").unwrap_or_default()
    } else {
        "bridge"
    }
}

/// A call that ended normally: leg records NORMAL_CLEARING (Q.850 16).
#[track_caller]
pub fn assert_normal_clearing(row: &CdrRow) {
    if is_leg(row) {
        assert_eq!(
            field(row, "hangup_cause"),
            Some("NORMAL_CLEARING"),
            "{row:#?}"
        );
        assert_eq!(field(row, "q850"), Some("16"), "{row:#?}");
    }
}

/// A record closed by crash recovery: leg records CRASH, hung up locally; the end is the
/// previous run's last heartbeat `alive` (or the record's own answer/start, were that
/// later), never after the kill.
#[track_caller]
pub fn assert_crash_closed(row: &CdrRow, alive: i64, kill_at: i64) {
    if is_leg(row) {
        assert_eq!(field(row, "hangup_cause"), Some("CRASH"), "{row:#?}");
        assert_eq!(field(row, "hangup_side"), Some("local"), "{row:#?}");
        assert_eq!(field(row, "status"), Some("hangup"), "{row:#?}");
    }
    let latest = field(row, "answer").map_or(int(row, "start"), |_| int(row, "answer"));
    let end = int(row, "end");
    assert_eq!(
        end,
        alive.max(latest),
        "CRASH end vs last heartbeat {alive}: {row:#?}"
    );
    assert!(
        end <= kill_at,
        "CRASH end {end} after the kill {kill_at}: {row:#?}"
    );
}

/// Whether `row` is a leg record (`cdr_leg`) rather than a bridge record (`cdr`).
pub fn is_leg(row: &CdrRow) -> bool {
    row.contains_key("direction")
}
