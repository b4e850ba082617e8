//! Query-string reading: times in both forms, unknown keys and bad values named, empty
//! values ignored; query errors mapped to 422 / 500.

use super::params::{bridge_filter, leg_filter};
use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn field(error: ApiError) -> String {
    match error {
        ApiError::Invalid { field, .. } => field,
        other => panic!("not a 422: {other:?}"),
    }
}

#[test]
fn times_are_unix_ms_or_rfc3339() {
    let t = |s: &str| parse_time("from", s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(t("1795392000000"), 1_795_392_000_000);
    assert_eq!(t(" 5 "), 5);
    assert_eq!(t("2026-11-23T00:00:00Z"), 1_795_392_000_000);
    assert_eq!(t("2026-11-23T01:00:00.250+01:00"), 1_795_392_000_250);
    assert_eq!(t("2026-11-22T19:00:00-05:00"), 1_795_392_000_000);
    // An unencoded `+` arrives as a space.
    assert_eq!(t("2026-11-23T01:00:00 01:00"), 1_795_392_000_000);
    for bad in [
        "yesterday",
        "2026-11-23",
        "2026-11-23T00:00:00",
        "12.5",
        "2026-13-01T00:00:00Z",
        // Outside 1970..=9999: period arithmetic would overflow.
        "-5",
        "-9223372036854775808",
        "9223372036854775807",
        "1969-12-31T23:59:59Z",
    ] {
        let e = parse_time("to", bad).expect_err(bad);
        assert_eq!(field(e), "to", "{bad}");
    }
}

#[test]
fn filters_read_every_key_and_skip_empty_values() {
    let f = leg_filter(&map(&[
        ("from", "2026-11-23T00:00:00Z"),
        ("to", ""),
        ("number", "10*"),
        ("direction", "inbound"),
        ("linkedid", "abc"),
        ("account", "1000"),
        ("limit", "20"),
        ("cursor", "5_6"),
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.from, Some(1_795_392_000_000));
    assert_eq!(f.to, None);
    assert_eq!(f.number.as_deref(), Some("10*"));
    assert_eq!(f.direction.as_deref(), Some("inbound"));
    assert_eq!(f.linkedid.as_deref(), Some("abc"));
    assert_eq!(f.account.as_deref(), Some("1000"));
    assert_eq!(f.limit, Some(20));
    assert_eq!(f.cursor.as_deref(), Some("5_6"));
    let b = bridge_filter(&map(&[("disposition", "busy"), ("to", "7")]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.disposition.as_deref(), Some("busy"));
    assert_eq!(b.to, Some(7));
}

#[test]
fn unknown_keys_and_bad_values_are_named() {
    let e = leg_filter(&map(&[("disposition", "BUSY")])).expect_err("not a leg key");
    assert_eq!(field(e), "disposition");
    let e = bridge_filter(&map(&[("direction", "inbound")])).expect_err("not a bridge key");
    assert_eq!(field(e), "direction");
    assert_eq!(
        field(leg_filter(&map(&[("limit", "ten")])).expect_err("limit")),
        "limit"
    );
    assert_eq!(
        field(leg_filter(&map(&[("from", "noon")])).expect_err("from")),
        "from"
    );
}

#[test]
fn query_errors_map_to_422_and_500() {
    let e = query_error(QueryError::Invalid {
        field: "direction",
        reason: "inbound or outbound".into(),
    });
    assert_eq!(e.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(e), "direction");
    let e = query_error(QueryError::Store(crate::cdr::store::StoreError::ReadOnly));
    assert_eq!(e.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
}

/// The annotations of the data endpoints (CDR, dialplan, reports) make a document with
/// every route and method, their parameters and schemas.
#[test]
fn openapi_annotations_describe_every_data_route() {
    use crate::web::api::{dialplan, reports};
    use utoipa::OpenApi;

    #[derive(OpenApi)]
    #[openapi(paths(
        dialplan::overview,
        dialplan::file,
        dialplan::validate,
        dialplan::save,
        dialplan::create,
        dialplan::delete,
        super::legs,
        super::bridges,
        super::call,
        super::legs_csv,
        super::bridges_csv,
        reports::report,
        reports::chart,
        reports::today,
    ))]
    struct Doc;

    let doc = serde_json::to_value(Doc::openapi()).unwrap_or_default();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/dialplan", "get"),
        ("/api/v1/dialplan/files/{name}", "get"),
        ("/api/v1/dialplan/files/{name}", "put"),
        ("/api/v1/dialplan/files/{name}", "delete"),
        ("/api/v1/dialplan/files", "post"),
        ("/api/v1/dialplan/validate", "post"),
        ("/api/v1/cdr/legs", "get"),
        ("/api/v1/cdr/bridges", "get"),
        ("/api/v1/cdr/calls/{linkedid}", "get"),
        ("/api/v1/cdr/legs.csv", "get"),
        ("/api/v1/cdr/bridges.csv", "get"),
        ("/api/v1/reports", "get"),
        ("/api/v1/reports/chart.svg", "get"),
        ("/api/v1/charts/today.svg", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let legs = &paths["/api/v1/cdr/legs"]["get"];
    let names: Vec<&str> = legs["parameters"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "from",
            "to",
            "number",
            "direction",
            "linkedid",
            "account",
            "limit",
            "cursor"
        ]
    );
    let csv = &paths["/api/v1/cdr/legs.csv"]["get"]["responses"]["200"]["content"];
    assert!(csv["text/csv"].is_object(), "{csv}");
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "CdrPage",
        "Validation",
        "Problem",
        "Report",
        "DialplanOverview",
    ] {
        assert!(schemas[schema].is_object(), "{schema}: {schemas}");
    }
}
