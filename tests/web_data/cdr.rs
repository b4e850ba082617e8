//! CDR views, CSV export, reports and charts over the dataset of [`super::dataset`].

use std::collections::HashSet;

use super::*;

/// The dataset's period (10 hours from T0), in both accepted forms.
const PERIOD: &str = "from=2026-11-22T00:00:00Z&to=1795341600000";

fn rows(r: &Reply) -> &Vec<Value> {
    r.body["rows"].as_array().expect("rows")
}

#[tokio::test]
async fn legs_are_filtered_and_paged_with_the_cursor() {
    let app = app(With::Everything).await;
    let viewer = app.session("val", VIEWER_PW).await;
    let mut seen = HashSet::new();
    let mut last_start = Millis::MAX;
    let mut path = format!("/api/v1/cdr/legs?{PERIOD}&direction=inbound&limit=100");
    let mut pages = 0;
    loop {
        let r = app.get(&path, &viewer).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        pages += 1;
        for row in rows(&r) {
            assert_eq!(row["direction"], "inbound");
            let start = row["start"].as_i64().expect("start");
            assert!(start <= last_start, "newest first");
            last_start = start;
            assert!(seen.insert(row["uuid"].as_str().expect("uuid").to_owned()));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => {
                path = format!("/api/v1/cdr/legs?{PERIOD}&direction=inbound&limit=100&cursor={c}")
            }
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (300, 3));

    let r = app
        .get(
            &format!("/api/v1/cdr/legs?{PERIOD}&number=1002&limit=500"),
            &viewer,
        )
        .await;
    assert_eq!(rows(&r).len(), 150);
    assert!(r.body["next_cursor"].is_null());
    let r = app
        .get(
            "/api/v1/cdr/legs?number=06120003&account=gw1&limit=500",
            &viewer,
        )
        .await;
    // Outbound legs (n odd) to 06120003 (n % 7 == 3).
    assert_eq!(
        rows(&r).len(),
        (0..LEGS).filter(|n| n % 2 == 1 && n % 7 == 3).count()
    );
    let r = app.get("/api/v1/cdr/legs?linkedid=call-7", &viewer).await;
    let uuids: Vec<&str> = rows(&r).iter().filter_map(|x| x["uuid"].as_str()).collect();
    assert_eq!(uuids, ["uuid-0015", "uuid-0014"]);
    // The three legs of today are outside the period.
    let r = app
        .get("/api/v1/cdr/legs?from=2026-11-22T10:00:00Z", &viewer)
        .await;
    assert_eq!(rows(&r).len(), 3);

    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-11-22", "to"),
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("direction=up", "direction"),
        ("disposition=BUSY", "disposition"),
        ("cursor=zz", "cursor"),
        ("from=5&to=1", "from"),
    ] {
        let r = app.get(&format!("/api/v1/cdr/legs?{query}"), &viewer).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.body["detail"]["field"], field, "{query}: {}", r.body);
    }
    assert_eq!(
        app.get("/api/v1/cdr/legs", &Auth::default()).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bridges_filter_by_disposition_and_a_call_has_its_detail() {
    let app = app(With::Everything).await;
    let admin = app.session("root", ADMIN_PW).await;
    let r = app
        .get("/api/v1/cdr/bridges?disposition=busy", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let linked: Vec<&str> = rows(&r)
        .iter()
        .filter_map(|x| x["linkedid"].as_str())
        .collect();
    assert_eq!(linked, ["call-8", "call-5", "call-2"]);
    assert!(rows(&r).iter().all(|x| x["disposition"] == "BUSY"));
    let r = app
        .get("/api/v1/cdr/bridges?number=1001&limit=4", &admin)
        .await;
    assert_eq!(rows(&r).len(), 4);
    assert!(r.body["next_cursor"].is_string());
    let r = app
        .get("/api/v1/cdr/bridges?direction=inbound", &admin)
        .await;
    assert_eq!(r.body["detail"]["field"], "direction");

    let r = app.get("/api/v1/cdr/calls/call-0", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["linkedid"], "call-0");
    let legs: Vec<&str> = r.body["legs"]
        .as_array()
        .expect("legs")
        .iter()
        .filter_map(|x| x["uuid"].as_str())
        .collect();
    assert_eq!(legs, ["uuid-0000", "uuid-0001"]);
    assert_eq!(r.body["bridges"].as_array().map(Vec::len), Some(1));
    let events: Vec<&str> = r.body["cel"]
        .as_array()
        .expect("cel")
        .iter()
        .filter_map(|x| x["eventtype"].as_str())
        .collect();
    assert_eq!(events, ["CHAN_START", "ANSWER", "HANGUP"]);
    let r = app.get("/api/v1/cdr/calls/no-such-call", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn csv_exports_stream_every_matching_record() {
    let app = app(With::Everything).await;
    let viewer = app.session("val", VIEWER_PW).await;
    let r = app
        .get(&format!("/api/v1/cdr/legs.csv?{PERIOD}&limit=5"), &viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"cdr-legs-"),
        "{disposition}"
    );
    assert!(disposition.ends_with(".csv\""), "{disposition}");
    let lines: Vec<&str> = r.text.lines().collect();
    // A header and every leg of the period (`limit` does not apply to an export).
    assert_eq!(lines.len(), 1 + LEGS as usize);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert!(
        header.contains(&"uuid") && header.contains(&"start_local"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("uuid-0000,"),
        "oldest first: {}",
        lines[1]
    );
    assert!(lines[LEGS as usize].starts_with("uuid-0599,"));
    assert!(r.text.len() > 2 * 64 * 1024, "{} bytes", r.text.len());
    assert!(r.chunks >= 3, "streamed in {} chunks", r.chunks);

    let r = app
        .get(
            &format!("/api/v1/cdr/legs.csv?{PERIOD}&direction=inbound"),
            &viewer,
        )
        .await;
    assert_eq!(r.text.lines().count(), 1 + 300);
    let r = app
        .get("/api/v1/cdr/bridges.csv?disposition=ANSWERED", &viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text.lines().count(), 1 + 4);
    assert!(r
        .text
        .lines()
        .next()
        .is_some_and(|h| h.contains("disposition")));
    let r = app.get("/api/v1/cdr/legs.csv?from=noon", &viewer).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"]["field"], "from");
    let r = app
        .get("/api/v1/cdr/bridges.csv?disposition=maybe", &viewer)
        .await;
    assert_eq!(r.body["detail"]["field"], "disposition");
}

#[tokio::test]
async fn reports_count_calls_per_bucket_and_busiest_accounts() {
    let app = app(With::Everything).await;
    let viewer = app.session("val", VIEWER_PW).await;
    let r = app
        .get(&format!("/api/v1/reports?{PERIOD}&bucket=hour"), &viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Inbound legs are calls: 300, of which those with n % 6 != 0 answered.
    assert_eq!(r.body["total"], 300);
    assert_eq!(r.body["answered"], 200);
    let rate = r.body["answer_rate"].as_f64().expect("rate");
    assert!((rate - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(r.body["avg_talk_secs"], 28.0);
    let buckets = r.body["per_bucket"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 10);
    assert!(buckets.iter().all(|b| b["total"] == 30));
    assert_eq!(buckets[0]["start"], T0);
    assert_eq!(r.body["busiest_gateways"][0]["name"], "gw1");
    assert_eq!(r.body["busiest_gateways"][0]["calls"], 300);
    assert_eq!(
        r.body["busiest_extensions"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(r.body["busiest_extensions"][0]["calls"], 75);
    // Day buckets at UTC+1: the period spans two local days.
    let r = app
        .get(
            &format!("/api/v1/reports?{PERIOD}&bucket=day&tz_offset_min=60"),
            &viewer,
        )
        .await;
    assert_eq!(r.body["per_bucket"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["per_bucket"][0]["start"], T0 - 3_600_000);
    for (query, field) in [
        ("bucket=week", "bucket"),
        ("tz_offset_min=1000", "tz_offset_min"),
        ("from=1795341600000&to=1795305600000", "from"),
        ("period=all", "period"),
    ] {
        let r = app.get(&format!("/api/v1/reports?{query}"), &viewer).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.body["detail"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn charts_are_accessible_svg() {
    let app = app(With::Everything).await;
    let viewer = app.session("val", VIEWER_PW).await;
    let r = app
        .get(
            &format!("/api/v1/reports/chart.svg?{PERIOD}&bucket=hour&series=answered"),
            &viewer,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "image/svg+xml; charset=utf-8"
    );
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str();
    assert!(csp.is_ok_and(|p| p.starts_with("default-src 'none'")));
    let tags = balanced(&r.text);
    assert_eq!(tags[..2], ["svg".to_owned(), "title".to_owned()]);
    let root = r.text.lines().next().expect("root");
    assert!(
        root.contains("role=\"img\"") && root.contains("viewBox="),
        "{root}"
    );
    assert!(
        r.text
            .contains("<title>Answered and total calls per hour, 2026-11-22 to 2026-11-22</title>"),
        "{}",
        &r.text[..400.min(r.text.len())]
    );
    assert!(root.contains("aria-label=\"Answered and total calls per hour, 2026-11-22 to 2026-11-22: 300 calls, 200 answered, over 10 hours"), "{root}");
    assert!(r.text.contains("Answered"), "legend");
    let r = app
        .get(&format!("/api/v1/reports/chart.svg?{PERIOD}"), &viewer)
        .await;
    assert!(
        r.text.contains("<title>Calls per hour,"),
        "short periods default to hours"
    );
    let r = app
        .get("/api/v1/reports/chart.svg?series=pie", &viewer)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"]["field"], "series");

    let r = app
        .get("/api/v1/charts/today.svg?tz_offset_min=0", &viewer)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "image/svg+xml; charset=utf-8"
    );
    balanced(&r.text);
    assert!(r.text.contains("<title>Calls per hour today, "));
    let root = r.text.lines().next().expect("root");
    assert!(
        root.contains(": 3 calls, 2 answered, over 24 hours"),
        "{root}"
    );
    let r = app
        .get("/api/v1/charts/today.svg?tz_offset_min=x", &viewer)
        .await;
    assert_eq!(r.body["detail"]["field"], "tz_offset_min");
}
