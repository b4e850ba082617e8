//! `GET /metrics`: the switch's figures in the Prometheus text exposition format 0.0.4
//! (`# HELP` and `# TYPE` lines, then the samples), written by hand. Open when
//! `[web] metrics_public = true` (a scraper on a trusted network); otherwise it needs a
//! login like the API (a bearer token is what a scraper uses).
//!
//! Every figure is read from counters kept anyway (call registry, relay packet counters,
//! CDR health, the web counters): a scrape does no I/O and no per-call work.
//!
//! Depends on: `crate::web::{auth, live, WebState}`, `crate::media::relay` (packet
//! totals), axum.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::auth::principal;
use super::error::ApiError;
use super::WebState;
use crate::media::relay::rtp_packet_totals;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Routes served without the API's login middleware (they check what they need themselves).
pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/metrics", get(metrics))
}

/// The figures of one scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Calls up now.
    pub active_calls: usize,
    /// Channels (legs) up now.
    pub active_channels: usize,
    /// Calls started since the process started.
    pub calls_total: u64,
    /// Calls per second over the last 10 s.
    pub calls_per_second: f64,
    /// Registered contacts (`None`: no registrar, the family is left out).
    pub registrations: Option<usize>,
    /// RTP packets received from phones.
    pub rtp_packets_in: u64,
    /// RTP packets sent to phones.
    pub rtp_packets_out: u64,
    /// Records waiting to be written (`None`: CDRs disabled, left out).
    pub cdr_queue_depth: Option<usize>,
    /// Failed web logins.
    pub failed_logins: u64,
    /// Seconds since the web server started.
    pub uptime_seconds: u64,
}

impl Figures {
    /// The figures of `state` now.
    pub fn collect(state: &WebState) -> Figures {
        let counts = state.inner.calls.counts();
        let (rtp_in, rtp_out) = rtp_packet_totals();
        Figures {
            active_calls: counts.calls,
            active_channels: counts.channels,
            calls_total: counts.calls_total,
            calls_per_second: state.inner.live.rate().per_second(),
            registrations: state
                .services()
                .registrar
                .as_ref()
                .map(|r| r.binding_count()),
            rtp_packets_in: rtp_in,
            rtp_packets_out: rtp_out,
            cdr_queue_depth: state.inner.cdr.as_ref().map(|c| c.health().backlog),
            failed_logins: state.failed_logins(),
            uptime_seconds: state.inner.started.elapsed().as_secs(),
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        family(
            &mut out,
            "switchboard_active_calls",
            "gauge",
            "Calls up now.",
        );
        sample(&mut out, "switchboard_active_calls", "", self.active_calls);
        family(
            &mut out,
            "switchboard_active_channels",
            "gauge",
            "Channels (call legs) up now.",
        );
        sample(
            &mut out,
            "switchboard_active_channels",
            "",
            self.active_channels,
        );
        family(
            &mut out,
            "switchboard_calls_total",
            "counter",
            "Calls started since the process started.",
        );
        sample(&mut out, "switchboard_calls_total", "", self.calls_total);
        family(
            &mut out,
            "switchboard_calls_per_second",
            "gauge",
            "Calls started per second over the last 10 seconds.",
        );
        sample(
            &mut out,
            "switchboard_calls_per_second",
            "",
            self.calls_per_second,
        );
        if let Some(n) = self.registrations {
            family(
                &mut out,
                "switchboard_registrations",
                "gauge",
                "Registered contacts (phones).",
            );
            sample(&mut out, "switchboard_registrations", "", n);
        }
        family(
            &mut out,
            "switchboard_rtp_packets_total",
            "counter",
            "RTP packets relayed: in = received from phones, out = sent to phones.",
        );
        sample(
            &mut out,
            "switchboard_rtp_packets_total",
            "{direction=\"in\"}",
            self.rtp_packets_in,
        );
        sample(
            &mut out,
            "switchboard_rtp_packets_total",
            "{direction=\"out\"}",
            self.rtp_packets_out,
        );
        if let Some(n) = self.cdr_queue_depth {
            family(
                &mut out,
                "switchboard_cdr_queue_depth",
                "gauge",
                "CDR records waiting to be written to cdr.db.",
            );
            sample(&mut out, "switchboard_cdr_queue_depth", "", n);
        }
        family(
            &mut out,
            "switchboard_failed_logins_total",
            "counter",
            "Failed logins to the web admin.",
        );
        sample(
            &mut out,
            "switchboard_failed_logins_total",
            "",
            self.failed_logins,
        );
        family(
            &mut out,
            "switchboard_uptime_seconds",
            "gauge",
            "Seconds since the web server started.",
        );
        sample(
            &mut out,
            "switchboard_uptime_seconds",
            "",
            self.uptime_seconds,
        );
        out
    }
}

/// `# HELP` and `# TYPE` lines (the help text has no backslash or newline to escape).
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{name}{labels} {value}");
}

async fn metrics(State(state): State<WebState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !state.settings().metrics_public {
        principal(&state, &headers).await?;
    }
    let text = Figures::collect(&state).render();
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
