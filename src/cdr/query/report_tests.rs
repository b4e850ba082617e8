//! Report tests on a hand-made dataset: totals, answer rate, average talk time, buckets
//! at a UTC offset (day and hour), busiest extensions and gateways, refused requests.

use super::super::tests::{engines, filled, leg, HOUR};
use super::{Bucket, Busiest, ReportRequest};
use crate::cdr::model::Millis;
use crate::cdr::query::QueryError;

#[tokio::test]
async fn report_arithmetic_on_a_small_dataset() {
    // Day 0 starts at D (UTC midnight); the offset is +60 min: local days start at D - 1 h.
    let d: Millis = 1_795_305_600_000; // 2026-11-22T00:00:00Z
    let ops = vec![
        // Inbound calls (counted): 4 on local day 0, 1 on local day 1.
        leg(
            0,
            d - 30 * 60_000,
            "inbound",
            "1000",
            "1000",
            "0612",
            "",
            Some(60),
        ),
        leg(1, d + HOUR, "inbound", "1000", "1000", "1001", "", None),
        leg(
            2,
            d + 2 * HOUR,
            "inbound",
            "1001",
            "1001",
            "0613",
            "",
            Some(30),
        ),
        leg(
            3,
            d + 3 * HOUR,
            "inbound",
            "gw1",
            "0777",
            "1000",
            "",
            Some(90),
        ),
        leg(
            4,
            d + 23 * HOUR + 1,
            "inbound",
            "1002",
            "1002",
            "1000",
            "",
            None,
        ),
        // Outbound legs (not calls; count for extensions and gateways).
        leg(
            5,
            d + 2 * HOUR,
            "outbound",
            "gw1",
            "1001",
            "0613",
            "gw1",
            Some(30),
        ),
        leg(
            6,
            d + 3 * HOUR,
            "outbound",
            "1000",
            "0777",
            "1000",
            "",
            Some(90),
        ),
        // Outside the period.
        leg(
            7,
            d + 5 * 24 * HOUR,
            "inbound",
            "1000",
            "1000",
            "1001",
            "",
            Some(5),
        ),
    ];
    let (_d, _p, store) = filled(&ops).await;
    for q in engines(&store).await {
        let req = ReportRequest {
            from: d - HOUR,
            to: d + 47 * HOUR,
            bucket: Bucket::Day,
            tz_offset_minutes: 60,
        };
        let r = q.report(&req).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.total, r.answered), (5, 3));
        assert!((r.answer_rate - 0.6).abs() < 1e-9);
        assert!((r.avg_talk_secs - 60.0).abs() < 1e-9, "{}", r.avg_talk_secs);
        let buckets: Vec<(Millis, u64, u64)> = r
            .per_bucket
            .iter()
            .map(|b| (b.start, b.total, b.answered))
            .collect();
        assert_eq!(buckets, vec![(d - HOUR, 4, 3), (d + 23 * HOUR, 1, 0)]);
        let names = |l: &[Busiest]| -> Vec<(String, u64, u64)> {
            l.iter()
                .map(|b| (b.name.clone(), b.calls, b.talk_secs))
                .collect()
        };
        assert_eq!(
            names(&r.busiest_extensions),
            vec![
                ("1000".to_owned(), 3, 150),
                ("1001".to_owned(), 1, 30),
                ("1002".to_owned(), 1, 0)
            ]
        );
        assert_eq!(names(&r.busiest_gateways), vec![("gw1".to_owned(), 2, 120)]);

        let hourly = ReportRequest {
            bucket: Bucket::Hour,
            tz_offset_minutes: 0,
            ..req
        };
        let r = q.report(&hourly).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.per_bucket.len(), 48);
        assert_eq!(r.per_bucket[0].start, d - HOUR);
        assert_eq!(r.per_bucket[0].total, 1, "the leg at 23:30 the day before");
        assert_eq!(r.per_bucket.iter().map(|b| b.total).sum::<u64>(), 5);
        assert_eq!(
            (r.per_bucket[24].start, r.per_bucket[24].total),
            (d + 23 * HOUR, 1)
        );

        let bad = ReportRequest {
            to: req.from,
            ..req
        };
        assert!(matches!(
            q.report(&bad).await,
            Err(QueryError::Invalid { field: "from", .. })
        ));
        let bad = ReportRequest {
            tz_offset_minutes: 900,
            ..req
        };
        assert!(q.report(&bad).await.is_err());
        let bad = ReportRequest {
            to: req.from + 400 * 24 * HOUR,
            bucket: Bucket::Hour,
            ..req
        };
        assert!(matches!(
            q.report(&bad).await,
            Err(QueryError::Invalid { field: "to", .. })
        ));
    }
}
