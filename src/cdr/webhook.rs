//! Webhook delivery: POSTs every final record queued in the store's outbox (`cdr_outbox`) to
//! `[cdr.webhook] url`, at least once, with a minimal HTTP/1.1 client over
//! `tokio::net::TcpStream` (plain `http://` only).
//!
//! One request per record: `POST <path> HTTP/1.1` with `Host`, `Content-Type:
//! application/json`, `Content-Length`, `X-Switchboard-Record-Id: <record id>` and
//! `Connection: close`; the body is the outbox payload with a top-level `record_id` (added when
//! the payload object lacks one). Only the status line of the answer is read. The whole
//! exchange (connect, send, status line) is bounded by `timeout`.
//!
//! ```text
//!            ┌──────────── wake (new rows) / next retry due / idle poll ◄──────────┐
//!            ▼                                                                      │
//!  outbox_due(now, 64) ──► for each row: POST ──2xx──► outbox_delivered(id)         │
//!                                           ├─other status──► outbox_retry(id, now + backoff·2^attempts ≤ max)
//!                                           └─connect error / timeout ──► outbox_retry, end of round
//!            (64 rows: fetch again at once; fewer: sleep) ───────────────────────────┘
//! ```
//!
//! A connection failure or timeout ends the round: the receiver is probably down, so the other
//! due rows wait for the next round instead of each paying the timeout, and wakes (new rows)
//! are ignored until that row's retry is due: a dead receiver is probed once per backoff. Rows not yet due at
//! start (left by a previous run) are found by the idle poll (every `max_backoff`, at least
//! 1 s). A row is deleted only after a 2xx, so a crash or shutdown in between re-sends it:
//! receivers de-duplicate on the record id. Store errors are logged and the round is retried
//! after `backoff`.
//!
//! The URL is parsed by the configuration layer ([`WebhookSettings::endpoint`], i.e.
//! `config::cdr::parse_http_url`, which validated it at load): host, port (80 by default),
//! and the request target (path and query, a `#fragment` dropped). The TCP connection goes to
//! `host:port`; the `Host` header omits port 80 and brackets an IPv6 address.
//!
//! Depends on `cdr::store` (outbox), `cdr::model` (`Millis`), `config::cdr`
//! (`WebhookSettings`, `HttpUrl`), tokio, serde_json.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::model::{millis, Millis};
use super::store::{CdrStore, OutboxItem};
use crate::config::cdr::{HttpUrl, WebhookSettings};

/// Rows fetched per round.
pub const BATCH: u32 = 64;
/// Longest status line accepted (RFC 9112 §4 sets no limit; real ones are tiny).
const MAX_STATUS_LINE: u64 = 8 * 1024;
/// The idle poll never runs more often than this.
const MIN_IDLE_POLL: Duration = Duration::from_secs(1);

/// Why one delivery failed (the row is retried).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No TCP connection to the receiver.
    #[error("cannot connect to {authority}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The connection failed while sending or reading.
    #[error("connection failed")]
    Io(#[from] std::io::Error),
    /// The exchange took longer than the configured timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer does not start with an HTTP/1.x status line.
    #[error("not an HTTP status line: {line:?}")]
    BadResponse {
        /// What came instead (truncated).
        line: String,
    },
}

impl DeliveryError {
    /// Whether the receiver itself is unreachable or silent (ends the round).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            DeliveryError::Connect { .. } | DeliveryError::Timeout(_)
        )
    }
}

/// The delay before the next attempt of a row that has failed `attempts` times before this
/// failure: `backoff · 2^attempts`, at most `max_backoff`.
pub fn backoff_delay(settings: &WebhookSettings, attempts: u32) -> Duration {
    let factor = 1u32.checked_shl(attempts).unwrap_or(u32::MAX);
    settings
        .backoff
        .checked_mul(factor)
        .unwrap_or(settings.max_backoff)
        .min(settings.max_backoff)
}

/// The body POSTed for `item`: its payload with a top-level `record_id` (added to a JSON
/// object that lacks one; anything else is sent unchanged).
pub fn body_for(item: &OutboxItem) -> Vec<u8> {
    match serde_json::from_str::<serde_json::Value>(&item.payload) {
        Ok(serde_json::Value::Object(mut map)) if !map.contains_key("record_id") => {
            map.insert(
                "record_id".to_owned(),
                serde_json::Value::String(item.record_id.clone()),
            );
            serde_json::to_vec(&serde_json::Value::Object(map))
                .unwrap_or_else(|_| item.payload.clone().into_bytes())
        }
        _ => item.payload.clone().into_bytes(),
    }
}

/// POSTs `body` to `url` with the record id header; returns the response status.
pub async fn post(
    url: &HttpUrl,
    record_id: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<u16, DeliveryError> {
    tokio::time::timeout(timeout, exchange(url, record_id, body))
        .await
        .map_err(|_| DeliveryError::Timeout(timeout))?
}

async fn exchange(url: &HttpUrl, record_id: &str, body: &[u8]) -> Result<u16, DeliveryError> {
    let mut stream = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|source| DeliveryError::Connect {
            authority: url.authority(),
            source,
        })?;
    // A header value cannot carry line breaks (RFC 9110 §5.5); the ids never have them.
    let record_id: String = record_id.chars().filter(|c| !c.is_control()).collect();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: switchboard\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         X-Switchboard-Record-Id: {record_id}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host_header(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    let mut reader = BufReader::new(stream).take(MAX_STATUS_LINE);
    let mut line = Vec::with_capacity(64);
    reader.read_until(b'\n', &mut line).await?;
    parse_status_line(&line)
}

/// The status code of an `HTTP/1.x NNN reason` line (RFC 9112 §4).
pub fn parse_status_line(line: &[u8]) -> Result<u16, DeliveryError> {
    let bad = || DeliveryError::BadResponse {
        line: String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned(),
    };
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let mut parts = text.trim_end_matches(['\r', '\n']).splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(bad());
    }
    match code.parse::<u16>() {
        Ok(status) if (100..600).contains(&status) => Ok(status),
        _ => Err(bad()),
    }
}

/// The delivery loop; see the module docs. Returns on `shutdown` (or at once when
/// [`WebhookSettings::endpoint`] refuses the URL, which configuration validation prevents).
pub async fn run(
    store: CdrStore,
    settings: WebhookSettings,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    // Configuration validation refuses a bad `url` at load (same parser), so this only
    // fails for settings built by hand; it is not reachable from a loaded configuration.
    let url = match settings.endpoint() {
        Ok(url) => url,
        Err(reason) => {
            warn!(url = %settings.url, %reason, "CDR webhook disabled: unusable URL");
            return;
        }
    };
    info!(url = %settings.url, "CDR webhook delivery started");
    let idle = settings.max_backoff.max(MIN_IDLE_POLL);
    // Retry times this loop scheduled and has not fetched yet (the next wake-up).
    let mut retries: Vec<Millis> = Vec::new();
    loop {
        let now = millis(SystemTime::now());
        retries.retain(|&t| t > now);
        let due = match store.outbox_due(now, BATCH).await {
            Ok(due) => due,
            Err(error) => {
                warn!(%error, transient = error.is_transient(), "webhook outbox not readable");
                let wait = settings.backoff.max(MIN_IDLE_POLL);
                if sleep_or_stop(wait, Some(&wake), &shutdown).await {
                    return;
                }
                continue;
            }
        };
        let full = due.len() >= BATCH as usize;
        let mut unreachable = false;
        for item in &due {
            let body = body_for(item);
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = post(&url, &item.record_id, &body, settings.timeout) => r,
            };
            match outcome {
                Ok(status) if (200..300).contains(&status) => {
                    debug!(record_id = %item.record_id, status, "webhook delivered");
                    if let Err(error) = store.outbox_delivered(item.id).await {
                        warn!(%error, record_id = %item.record_id, "delivered row not removed: it will be sent again");
                    }
                    continue;
                }
                Ok(status) => {
                    info!(record_id = %item.record_id, status, attempts = item.attempts.saturating_add(1), "webhook rejected the record: retrying later");
                }
                Err(error) => {
                    info!(%error, record_id = %item.record_id, attempts = item.attempts.saturating_add(1), "webhook delivery failed: retrying later");
                    unreachable = error.is_unreachable();
                }
            }
            let delay = backoff_delay(&settings, item.attempts);
            let at = millis(SystemTime::now()).saturating_add(duration_millis(delay));
            match store.outbox_retry(item.id, at).await {
                Ok(()) => retries.push(at),
                Err(error) => warn!(%error, record_id = %item.record_id, "retry not scheduled"),
            }
            if unreachable {
                break;
            }
        }
        if full && !unreachable {
            continue;
        }
        let now = millis(SystemTime::now());
        let wait = retries
            .iter()
            .min()
            .map(|&t| Duration::from_millis(u64::try_from(t.saturating_sub(now)).unwrap_or(0)))
            .map_or(idle, |d| d.min(idle));
        // After an unreachable receiver only the retry time ends the wait, not new rows.
        let wake = (!unreachable).then_some(&*wake);
        if sleep_or_stop(wait, wake, &shutdown).await {
            return;
        }
    }
}

/// Waits `wait`, or until woken (when `wake` is given); `true` when shutting down.
async fn sleep_or_stop(
    wait: Duration,
    wake: Option<&Notify>,
    shutdown: &CancellationToken,
) -> bool {
    let woken = async {
        match wake {
            Some(wake) => wake.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = woken => false,
        _ = tokio::time::sleep(wait) => false,
    }
}

fn duration_millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
