//! Report query defaults and validation, and the local day of the dashboard chart.

use super::*;

/// 2026-11-23T00:00:00Z.
const DAY0: Millis = 1_795_392_000_000;

fn field(error: ApiError) -> String {
    match error {
        ApiError::Invalid { field, .. } => field,
        other => panic!("not a 422: {other:?}"),
    }
}

#[test]
fn defaults_are_the_last_week_by_day_and_short_periods_by_hour() {
    let now = DAY0 + 5 * HOUR_MS;
    let r = request(&[], now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.from, r.to), (now - 7 * DAY_MS, now));
    assert_eq!(r.bucket, Bucket::Day);
    assert_eq!(r.tz_offset_minutes, 0);
    let r = request(
        &[("from", "2026-11-23T00:00:00Z"), ("tz_offset_min", "-300")],
        now,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.from, r.to, r.bucket), (DAY0, now, Bucket::Hour));
    assert_eq!(r.tz_offset_minutes, -300);
    let r = request(&[("bucket", "DAY"), ("to", "1795392000000")], now)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.to, r.bucket), (DAY0, Bucket::Day));
}

#[test]
fn bad_values_are_named() {
    let now = DAY0;
    let bad = |pairs: &[(&str, &str)]| field(request(pairs, now).expect_err("bad"));
    assert_eq!(bad(&[("bucket", "week")]), "bucket");
    assert_eq!(bad(&[("tz_offset_min", "900")]), "tz_offset_min");
    assert_eq!(bad(&[("tz_offset_min", "+1h")]), "tz_offset_min");
    assert_eq!(bad(&[("from", "soon")]), "from");
    assert_eq!(bad(&[("from", "5"), ("to", "5")]), "from");
}

#[test]
fn today_is_the_local_day() {
    // 23:30 UTC on the 22nd is already the 23rd at UTC+1.
    let now = DAY0 - 30 * 60_000;
    let r = today_request(now, 60);
    assert_eq!(r.from, DAY0 - HOUR_MS);
    assert_eq!(r.to - r.from, DAY_MS);
    assert_eq!(local_date(r.from, 60), "2026-11-23");
    // And still the 22nd at UTC-5.
    let r = today_request(now, -300);
    assert_eq!(local_date(r.from, -300), "2026-11-22");
    assert_eq!(r.from, DAY0 - DAY_MS + 5 * HOUR_MS);
    assert!(r.from <= now && now < r.to);
}
