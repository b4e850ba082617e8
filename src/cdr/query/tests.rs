//! Query engine tests on real SQLite files: each filter, under both plans (index-driven
//! and time scan), paging without gaps or duplicates (ties on `start` included), prefix
//! matching, custom columns, call detail, reports on a hand-made dataset, the filtered
//! export, and a read-only open.

use std::sync::Arc;

use serde_json::Value;

use super::{BridgeFilter, CdrQuery, LegFilter, Page, QueryError, RowMap};
use crate::cdr::export::{export_legs, ExportFormat};
use crate::cdr::fields::tests::{bridge_record, leg_record};
use crate::cdr::model::{CdrOp, Disposition, LegRecord, Millis};
use crate::cdr::store::testutil::{cel, open, settings, T};
use crate::cdr::store::CdrStore;
use crate::config::parse_field;

pub(super) const HOUR: Millis = 3_600_000;

/// A leg: `n` numbers everything; `caller`/`callee` as given.
#[allow(clippy::too_many_arguments)]
pub(super) fn leg(
    n: u32,
    start: Millis,
    direction: &str,
    account: &str,
    caller: &str,
    callee: &str,
    line_group: &str,
    talk: Option<i64>,
) -> CdrOp {
    let mut r: LegRecord = leg_record(&format!("uuid-{n:03}"), start);
    r.direction = direction.to_owned();
    r.account = account.to_owned();
    r.caller_id_number = caller.to_owned();
    r.callee_id_number = callee.to_owned();
    r.destination_number = callee.to_owned();
    r.line_group = line_group.to_owned();
    r.linkedid = format!("call-{}", n / 2);
    match talk {
        Some(secs) => {
            r.answer = Some(start + 1_000);
            r.billsec = secs;
        }
        None => {
            r.answer = None;
            r.billsec = 0;
        }
    }
    CdrOp::LegFinal(Arc::new(r))
}

/// 40 legs over 40 hours, 2 per call; ties on `start` for legs 10/11; numbers 1000-1003
/// and external 0612…; every 4th call unanswered.
fn dataset() -> Vec<CdrOp> {
    let mut ops = Vec::new();
    for n in 0..40u32 {
        let start = if n == 11 {
            T + 10 * HOUR
        } else {
            T + Millis::from(n) * HOUR
        };
        let ext = format!("100{}", n % 4);
        let external = format!("0612{:04}", n % 7);
        let talk = (n / 2 % 4 != 0).then_some(i64::from(n) * 10);
        ops.push(if n % 2 == 0 {
            leg(n, start, "inbound", &ext, &ext, &external, "", talk)
        } else {
            leg(n, start, "outbound", "gw1", &ext, &external, "gw1", talk)
        });
    }
    ops
}

pub(super) async fn filled(ops: &[CdrOp]) -> (tempfile::TempDir, std::path::PathBuf, CdrStore) {
    let mut s = settings();
    s.fields = vec![parse_field("queue_name").unwrap_or_else(|e| panic!("{e}"))];
    let (dir, path, store) = open(&s).await;
    store
        .write_batch(ops, T)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    (dir, path, store)
}

/// The engine under both plans: index-driven when possible, and time scans only.
pub(super) async fn engines(store: &CdrStore) -> [CdrQuery; 2] {
    let q = CdrQuery::with_store(store.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut scan = q.clone();
    scan.drive_max = -1;
    [q, scan]
}

fn uuids(rows: &[RowMap]) -> Vec<String> {
    rows.iter()
        .map(|r| r["uuid"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every page of a leg search, concatenated.
async fn all_legs(q: &CdrQuery, filter: &LegFilter) -> Vec<RowMap> {
    let mut filter = filter.clone();
    let mut rows = Vec::new();
    for _ in 0..100 {
        let page: Page = q.legs(&filter).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(page.rows.len() <= filter.limit.unwrap_or(50) as usize);
        rows.extend(page.rows);
        match page.next_cursor {
            Some(c) => filter.cursor = Some(c),
            None => return rows,
        }
    }
    panic!("paging does not end");
}

/// Uuids of the dataset legs `keep` selects, newest first (start DESC, id DESC).
fn expected(keep: impl Fn(u32) -> bool) -> Vec<String> {
    let mut legs: Vec<(Millis, u32)> = (0..40u32)
        .filter(|n| keep(*n))
        .map(|n| {
            (
                if n == 11 {
                    T + 10 * HOUR
                } else {
                    T + Millis::from(n) * HOUR
                },
                n,
            )
        })
        .collect();
    legs.sort_by(|a, b| b.cmp(a));
    legs.iter().map(|(_, n)| format!("uuid-{n:03}")).collect()
}

#[tokio::test]
async fn paging_returns_every_row_once_in_order() {
    let (_d, _p, store) = filled(&dataset()).await;
    for q in engines(&store).await {
        for limit in [1, 3, 7, 50] {
            let f = LegFilter {
                limit: Some(limit),
                ..Default::default()
            };
            let rows = all_legs(&q, &f).await;
            assert_eq!(uuids(&rows), expected(|_| true), "limit {limit}");
        }
    }
}

#[tokio::test]
async fn each_leg_filter_selects_its_rows_under_both_plans() {
    let (_d, _p, store) = filled(&dataset()).await;
    type Keep = Box<dyn Fn(u32) -> bool>;
    let cases: Vec<(LegFilter, Keep)> = vec![
        (
            LegFilter {
                from: Some(T + 5 * HOUR),
                to: Some(T + 9 * HOUR),
                ..Default::default()
            },
            Box::new(|n| (5..9).contains(&n)),
        ),
        // Exact: 1002 is the caller of legs n % 4 == 2.
        (
            LegFilter {
                number: Some("1002".into()),
                ..Default::default()
            },
            Box::new(|n| n % 4 == 2),
        ),
        // Exact on callee / destination.
        (
            LegFilter {
                number: Some("06120003".into()),
                ..Default::default()
            },
            Box::new(|n| n % 7 == 3),
        ),
        // Prefix: every external number.
        (
            LegFilter {
                number: Some("0612*".into()),
                ..Default::default()
            },
            Box::new(|_| true),
        ),
        (
            LegFilter {
                number: Some("100*".into()),
                ..Default::default()
            },
            Box::new(|_| true),
        ),
        (
            LegFilter {
                number: Some("0613*".into()),
                ..Default::default()
            },
            Box::new(|_| false),
        ),
        (
            LegFilter {
                direction: Some("outbound".into()),
                ..Default::default()
            },
            Box::new(|n| n % 2 == 1),
        ),
        (
            LegFilter {
                linkedid: Some("call-7".into()),
                ..Default::default()
            },
            Box::new(|n| n / 2 == 7),
        ),
        (
            LegFilter {
                account: Some("1001".into()),
                ..Default::default()
            },
            Box::new(|_| false),
        ),
        (
            LegFilter {
                account: Some("1002".into()),
                ..Default::default()
            },
            Box::new(|n| n % 4 == 2),
        ),
        (
            LegFilter {
                account: Some("gw1".into()),
                number: Some("1003".into()),
                from: Some(T + 20 * HOUR),
                limit: Some(2),
                ..Default::default()
            },
            Box::new(|n| n % 4 == 3 && n >= 20),
        ),
    ];
    for q in engines(&store).await {
        for (filter, keep) in &cases {
            let f = LegFilter {
                limit: filter.limit.or(Some(4)),
                ..filter.clone()
            };
            assert_eq!(uuids(&all_legs(&q, &f).await), expected(keep), "{filter:?}");
        }
    }
}

#[tokio::test]
async fn rows_carry_every_column_including_custom_ones() {
    let (_d, _p, store) = filled(&dataset()).await;
    let [q, _] = engines(&store).await;
    let page = q
        .legs(&LegFilter {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = &page.rows[0];
    assert_eq!(row["uuid"], Value::from("uuid-039"));
    assert_eq!(row["queue_name"], Value::from("support"));
    assert_eq!(row["start"], Value::from(T + 39 * HOUR));
    assert!(row["id"].is_i64());
    assert_eq!(row["rtp_in_jitter_ms"], Value::from(1.5));
    assert!(row["answer"].is_i64(), "call 19 is answered");
    assert!(page.next_cursor.is_some());
}

fn bridge(uniqueid: &str, seq: u64, start: Millis, src: &str, dst: &str, d: Disposition) -> CdrOp {
    let mut r = bridge_record(uniqueid, seq, start);
    r.src = src.to_owned();
    r.dst = dst.to_owned();
    r.disposition = d;
    r.linkedid = format!("link-{}", seq / 2);
    r.accountcode = if seq % 3 == 0 { "sales" } else { "" }.to_owned();
    CdrOp::BridgeFinal(Arc::new(r))
}

#[tokio::test]
async fn bridge_filters_and_paging() {
    let mut ops = Vec::new();
    for seq in 0..12u64 {
        let d = if seq % 4 == 0 {
            Disposition::Busy
        } else {
            Disposition::Answered
        };
        let start = T + i64::try_from(seq).unwrap_or(0) * HOUR;
        ops.push(bridge(
            &format!("u{seq}"),
            seq,
            start,
            &format!("10{seq:02}"),
            "2000",
            d,
        ));
    }
    let (_d, _p, store) = filled(&ops).await;
    let seqs = |page: &Page| -> Vec<i64> {
        page.rows
            .iter()
            .filter_map(|r| r["sequence"].as_i64())
            .collect()
    };
    for q in engines(&store).await {
        let mut f = BridgeFilter {
            limit: Some(5),
            ..Default::default()
        };
        let mut got = Vec::new();
        loop {
            let page = q.bridges(&f).await.unwrap_or_else(|e| panic!("{e}"));
            got.extend(seqs(&page));
            match page.next_cursor {
                Some(c) => f.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, (0..12).rev().collect::<Vec<_>>());
        let run = |f: BridgeFilter| {
            let q = q.clone();
            async move { seqs(&q.bridges(&f).await.unwrap_or_else(|e| panic!("{e}"))) }
        };
        let f = BridgeFilter {
            disposition: Some("busy".into()),
            ..Default::default()
        };
        assert_eq!(run(f).await, vec![8, 4, 0]);
        let f = BridgeFilter {
            number: Some("1003".into()),
            ..Default::default()
        };
        assert_eq!(run(f).await, vec![3]);
        let f = BridgeFilter {
            number: Some("2000".into()),
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(run(f).await, vec![11, 10]);
        let f = BridgeFilter {
            number: Some("101*".into()),
            ..Default::default()
        };
        assert_eq!(run(f).await, vec![11, 10]);
        let f = BridgeFilter {
            linkedid: Some("link-2".into()),
            ..Default::default()
        };
        assert_eq!(run(f).await, vec![5, 4]);
        let f = BridgeFilter {
            account: Some("sales".into()),
            ..Default::default()
        };
        assert_eq!(run(f).await, vec![9, 6, 3, 0]);
    }
}

#[tokio::test]
async fn call_detail_gathers_legs_bridge_records_and_cel_in_order() {
    let mut ops = dataset();
    let mut b = bridge_record("uuid-015", 3, T + 15 * HOUR);
    b.linkedid = "call-7".to_owned();
    ops.push(CdrOp::BridgeFinal(Arc::new(b)));
    for (seq, at) in [
        (9, T + 15 * HOUR + 900),
        (7, T + 14 * HOUR),
        (8, T + 14 * HOUR),
    ] {
        let mut c = (*cel(seq, "uuid-014", at)).clone();
        c.linkedid = "call-7".to_owned();
        ops.push(CdrOp::Cel(Arc::new(c)));
    }
    ops.push(CdrOp::Cel(cel(10, "other", T)));
    let (_d, _p, store) = filled(&ops).await;
    let [q, _] = engines(&store).await;
    let detail = q
        .call_detail("call-7")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("call-7 not found"));
    assert_eq!(uuids(&detail.legs), vec!["uuid-014", "uuid-015"]);
    assert_eq!(detail.bridge.len(), 1);
    let seqs: Vec<i64> = detail
        .cel
        .iter()
        .filter_map(|r| r["event_seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![7, 8, 9]);
    assert!(q
        .call_detail("nope")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none());
    assert!(matches!(
        q.call_detail("").await,
        Err(QueryError::Invalid {
            field: "linkedid",
            ..
        })
    ));
}

#[tokio::test]
async fn export_applies_the_search_filters() {
    let (_d, _p, store) = filled(&dataset()).await;
    let mut out = Vec::new();
    let f = LegFilter {
        number: Some("1002".into()),
        limit: Some(1),
        cursor: Some("1_1".into()),
        ..Default::default()
    };
    let n = export_legs(&store, &f, ExportFormat::Csv, &mut out)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 10, "limit and cursor are ignored");
    let text = String::from_utf8(out).unwrap_or_default();
    assert_eq!(text.lines().count(), 11);
    let bad = LegFilter {
        direction: Some("sideways".into()),
        ..Default::default()
    };
    assert!(export_legs(&store, &bad, ExportFormat::Csv, Vec::new())
        .await
        .is_err());
}

#[tokio::test]
async fn opens_read_only_and_refuses_bad_filters() {
    let (_d, path, store) = filled(&dataset()).await;
    let q = CdrQuery::open(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(q.leg_time_index);
    let page = q
        .legs(&LegFilter::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.rows.len(), 40);
    assert!(page.next_cursor.is_none());
    let bad = LegFilter {
        limit: Some(501),
        ..Default::default()
    };
    assert!(matches!(
        q.legs(&bad).await,
        Err(QueryError::Invalid { field: "limit", .. })
    ));
    q.close().await;
    store.close().await;
}

#[tokio::test]
async fn a_callee_differing_from_the_destination_is_found_through_the_partial_index() {
    let mut r = leg_record("moved", T);
    r.callee_id_number = "2222".to_owned();
    let ops = [CdrOp::LegFinal(Arc::new(r))];
    let (_d, _p, store) = filled(&ops).await;
    for q in engines(&store).await {
        for number in ["2222", "222*", "1001"] {
            let f = LegFilter {
                number: Some(number.into()),
                ..Default::default()
            };
            assert_eq!(uuids(&all_legs(&q, &f).await), vec!["moved"], "{number}");
        }
    }
    let sql = format!(
        "EXPLAIN QUERY PLAN SELECT 1 FROM cdr_leg WHERE (\"callee_id_number\" = ? AND {})",
        super::filter::CALLEE_PARTIAL
    );
    let plan: Vec<String> = sqlx::query(&sql)
        .bind("2222")
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .filter_map(|row| sqlx::Row::try_get::<String, _>(row, "detail").ok())
        .collect();
    assert!(
        plan.iter().any(|d| d.contains("cdr_leg_callee")),
        "{plan:?}"
    );
}
