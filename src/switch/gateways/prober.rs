//! Gateway health checks: every [`PROBE_INTERVAL`] an OPTIONS request (RFC 3261 §11) to
//! each gateway in force, through the SIP endpoint's client transactions, recording up
//! (any response: the peer is alive, as Asterisk's `qualify` counts it), down (no answer
//! within [`PROBE_TIMEOUT`], a transport error, or a name that does not resolve), the
//! round trip, and when.
//!
//! ```text
//!  tick ─► snapshot of the list ─► one OPTIONS per gateway (concurrently) ─► record_health
//!   ▲                                 │ final response → up (rtt)                │
//!   └────────── every 30 s ◄──────────┘ timeout / transport error → down ◄───────┘
//! ```
//!
//! Depends on: `crate::sip::endpoint` (send_request, new_uac_request), `crate::sip::message`,
//! `crate::config::Gateway`, `crate::runtime::Lifecycle`.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::config::{Gateway, ListenTransport};
use crate::db::unix_ms;
use crate::runtime::Lifecycle;
use crate::sip::endpoint::{new_uac_request, ClientEvent, EndpointError, SipHandle, UacRequest};
use crate::sip::message::{new_call_id, Method, NameAddr, Transport, Uri};
use crate::sip::transport::Target;

use super::health::{GatewayHealth, HealthStatus};
use super::LiveGateways;

/// Time between two checks of every gateway (Asterisk's `qualify_frequency` default is
/// 60 s; FreeSWITCH pings are configured per gateway, 30 s is common).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(30);

/// How long one OPTIONS may take before the gateway counts as down (Asterisk's
/// `qualify_timeout` default is 3 s; a little more for distant carriers).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The user part of our From/Contact in checks.
const PROBE_USER: &str = "switchboard";

/// Why one check failed.
#[derive(Debug, thiserror::Error)]
enum ProbeError {
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    #[error("no {0} listener to send from")]
    NoListener(Transport),
    #[error("the request URI does not parse")]
    BadUri,
    #[error("no answer (transaction timeout)")]
    Timeout,
    #[error("transport error")]
    Transport,
    #[error("the transaction ended without an answer")]
    Ended,
}

/// Runs the checks; see the module documentation.
#[derive(Debug, Clone)]
pub struct Prober {
    gateways: LiveGateways,
    sip: SipHandle,
    interval: Duration,
    timeout: Duration,
}

impl Prober {
    /// A prober of `gateways` sending through `sip`, every [`PROBE_INTERVAL`] with
    /// [`PROBE_TIMEOUT`].
    pub fn new(gateways: LiveGateways, sip: SipHandle) -> Prober {
        Prober {
            gateways,
            sip,
            interval: PROBE_INTERVAL,
            timeout: PROBE_TIMEOUT,
        }
    }

    /// Other timings (tests, or a configuration setting later).
    pub fn with_timing(mut self, interval: Duration, timeout: Duration) -> Prober {
        self.interval = interval;
        self.timeout = timeout;
        self
    }

    /// Checks every gateway in force once, concurrently, and records the results; returns
    /// when all are recorded.
    pub async fn probe_all(&self) {
        let list = self.gateways.current();
        let mut checks = JoinSet::new();
        for gateway in list.iter().cloned() {
            let sip = self.sip.clone();
            let timeout = self.timeout;
            checks.spawn(async move {
                let health = probe(&sip, &gateway, timeout).await;
                (gateway, health)
            });
        }
        while let Some(done) = checks.join_next().await {
            match done {
                Ok((gateway, health)) => {
                    if health.status == HealthStatus::Down {
                        tracing::debug!(
                            gateway = %gateway.name,
                            error = health.last_error.as_deref().unwrap_or(""),
                            "gateway check failed"
                        );
                    }
                    self.gateways.record_health(&gateway, health);
                }
                Err(error) => tracing::warn!(%error, "gateway check task failed"),
            }
        }
    }

    /// Runs [`Prober::probe_all`] now and then every interval on `lifecycle`'s tracker,
    /// until its shutdown token is cancelled (a round in progress is abandoned).
    pub fn spawn(self, lifecycle: &Lifecycle) {
        let shutdown = lifecycle.shutdown.clone();
        lifecycle.tracker.spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = self.probe_all() => {}
                        }
                    }
                }
            }
        });
    }
}

/// One check of `gateway`, bounded by `timeout`.
async fn probe(sip: &SipHandle, gateway: &Gateway, timeout: Duration) -> GatewayHealth {
    let outcome = tokio::time::timeout(timeout, options(sip, gateway)).await;
    let checked = Some(unix_ms(SystemTime::now()));
    match outcome {
        Ok(Ok((status, rtt))) => GatewayHealth {
            status: HealthStatus::Up,
            rtt_ms: Some(u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX)),
            last_checked_ms: checked,
            last_error: None,
            last_status_code: Some(status),
        },
        Ok(Err(error)) => down(checked, error.to_string()),
        Err(_) => down(
            checked,
            format!("no answer within {} ms", timeout.as_millis()),
        ),
    }
}

fn down(checked: Option<i64>, error: String) -> GatewayHealth {
    GatewayHealth {
        status: HealthStatus::Down,
        rtt_ms: None,
        last_checked_ms: checked,
        last_error: Some(error),
        last_status_code: None,
    }
}

/// Sends OPTIONS to `gateway` and waits for the final response: its status and the time
/// from sending to it.
async fn options(sip: &SipHandle, gateway: &Gateway) -> Result<(u16, Duration), ProbeError> {
    let addr = resolve(gateway).await?;
    let (transport, param) = match gateway.transport {
        ListenTransport::Udp => (Transport::Udp, ""),
        ListenTransport::Tcp => (Transport::Tcp, ";transport=tcp"),
        ListenTransport::Tls => (Transport::Tls, ";transport=tls"),
    };
    let uri =
        Uri::parse(&format!("sip:{}{param}", gateway.address())).map_err(|_| ProbeError::BadUri)?;
    let us = sip
        .local_contact(&transport, addr, Some(PROBE_USER))
        .ok_or_else(|| ProbeError::NoListener(transport.clone()))?;
    let request = new_uac_request(UacRequest {
        method: Method::Options,
        to: NameAddr::new(uri.clone()),
        uri,
        from: NameAddr::new(us.uri.clone()),
        call_id: new_call_id(),
        cseq: 1,
        contact: Some(us),
    });
    let target = Target {
        transport,
        addr,
        flow: None,
    };
    let sent = Instant::now();
    let mut txn = sip.send_request(request, target).await?;
    while let Some(event) = txn.next().await {
        match event {
            ClientEvent::Response(resp) if resp.status >= 200 => {
                return Ok((resp.status, sent.elapsed()))
            }
            ClientEvent::Response(_) => {}
            ClientEvent::Timeout(_) => return Err(ProbeError::Timeout),
            ClientEvent::TransportError => return Err(ProbeError::Transport),
        }
    }
    Err(ProbeError::Ended)
}

/// The gateway's socket address: its IP literal, else the first address its name resolves to.
async fn resolve(gateway: &Gateway) -> Result<SocketAddr, ProbeError> {
    if let Some(ip) = gateway.ip {
        return Ok(SocketAddr::new(ip, gateway.port));
    }
    tokio::net::lookup_host(gateway.address())
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ProbeError::Resolve(gateway.address()))
}
