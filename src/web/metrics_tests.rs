//! `/metrics`: the text format (every family with HELP and TYPE, samples parse), the
//! figures it reads, and who may read it.

use axum::http::{header, Method, StatusCode};

use super::*;
use crate::config::WebSettings;
use crate::web::live::testutil::{web, web_with, Setup};

/// Checks the exposition text line by line; returns (name with labels, value) samples.
fn parse(text: &str) -> Vec<(String, f64)> {
    let mut typed: Vec<String> = Vec::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(!help.is_empty(), "{line}");
            helped.push(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            assert!(
                helped.last() == Some(&name.to_owned()),
                "HELP before TYPE: {line}"
            );
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "counter names end in _total: {line}"
                );
            }
            typed.push(name.to_owned());
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample: name value");
            let name = series.split('{').next().unwrap_or(series);
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            assert_eq!(
                typed.last().map(String::as_str),
                Some(name),
                "TYPE first: {line}"
            );
            let value: f64 = value.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
            samples.push((series.to_owned(), value));
        }
    }
    assert!(text.ends_with('\n'), "the text ends with a line feed");
    samples
}

fn value(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

#[test]
fn the_text_format_is_prometheus_0_0_4() {
    let figures = Figures {
        active_calls: 3,
        active_channels: 6,
        calls_total: 120,
        calls_per_second: 2.5,
        registrations: Some(14),
        rtp_packets_in: 1_000_000,
        rtp_packets_out: 999_999,
        cdr_queue_depth: Some(2),
        failed_logins: 4,
        uptime_seconds: 3600,
    };
    let samples = parse(&figures.render());
    let want = [
        ("switchboard_active_calls", 3.0),
        ("switchboard_active_channels", 6.0),
        ("switchboard_calls_total", 120.0),
        ("switchboard_calls_per_second", 2.5),
        ("switchboard_registrations", 14.0),
        (
            "switchboard_rtp_packets_total{direction=\"in\"}",
            1_000_000.0,
        ),
        (
            "switchboard_rtp_packets_total{direction=\"out\"}",
            999_999.0,
        ),
        ("switchboard_cdr_queue_depth", 2.0),
        ("switchboard_failed_logins_total", 4.0),
        ("switchboard_uptime_seconds", 3600.0),
    ];
    for (series, v) in want {
        assert_eq!(value(&samples, series), Some(v), "{series}");
    }
    assert_eq!(samples.len(), want.len());
    // Without a registrar or CDRs, those families are left out (not reported as 0).
    let bare = Figures::default().render();
    let samples = parse(&bare);
    assert_eq!(value(&samples, "switchboard_registrations"), None);
    assert_eq!(value(&samples, "switchboard_cdr_queue_depth"), None);
    assert!(!bare.contains("switchboard_registrations"));
}

#[tokio::test]
async fn metrics_need_a_login_unless_public() {
    let t = web().await;
    let (status, _, body) = t.call(Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let _calls: Vec<_> = (0..3).map(|_| t.calls.call_started()).collect();
    let (status, headers, body) = t.call(Method::GET, "/metrics", Some(&t.viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], CONTENT_TYPE);
    let samples = parse(&body);
    assert_eq!(value(&samples, "switchboard_active_calls"), Some(3.0));
    assert_eq!(value(&samples, "switchboard_calls_total"), Some(3.0));
    assert!(value(&samples, "switchboard_rtp_packets_total{direction=\"in\"}").is_some());

    let open = web_with(Setup {
        settings: WebSettings {
            metrics_public: true,
            ..WebSettings::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, _, body) = open.call(Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("# TYPE switchboard_uptime_seconds gauge"));
}
