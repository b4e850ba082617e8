//! The server side of the API's WebSocket feeds (`/api/v1/calls/live`, `/api/v1/cdr/live`):
//! the same-origin check made before the upgrade, and [`serve`], which writes what a
//! [`Source`] yields to one client while answering its frames and checking it is alive.
//!
//! A client is dropped, never buffered for without bound: a send that does not complete
//! within [`SEND_TIMEOUT`] ends the connection, and so does silence longer than
//! [`IDLE_LIMIT`] (the server pings every [`PING_INTERVAL`]; any frame counts as a sign
//! of life). What a slow client misses stays in the source's bounded backlog (the sources
//! resynchronise or report the loss, see `live::feed` and the CDR feed).
//!
//! ```text
//!  upgrade ─► loop ┬─ source.next() ─► send (timeout → drop) ────┐
//!                  ├─ client frame: close/error → end; other → alive
//!                  ├─ ping tick: silent > IDLE_LIMIT → end; else Ping
//!                  └─ stop (shutdown) → Close 1001 → end ◄───────┘
//! ```
//!
//! Depends on: [`crate::web::error::ApiError`], axum (WebSocket), tokio.

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::{header, HeaderMap};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::web::error::ApiError;

/// Longest wait for one message to be written to a client before it is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the server pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// A client heard from (any frame, pongs included) less recently than this is gone.
pub const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// Largest frame a client may send (it only sends pongs, pings and close frames).
pub const MAX_CLIENT_MESSAGE: usize = 4_096;

/// Close code "going away" (RFC 6455 §7.4.1): the server shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code "normal closure": the source ended.
const CLOSE_NORMAL: u16 = 1000;
/// Close code for a client whose login ended (RFC 6455 §7.4.1: policy violation).
const CLOSE_POLICY: u16 = 1008;

/// Asks again whether the client's login (session or token) is still valid; checked at
/// every ping, so a logout, an expired session, a deleted account or a revoked token ends
/// the feed within [`PING_INTERVAL`].
pub(crate) type StillAllowed =
    Box<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Something a WebSocket feed sends: each call yields the next text message, or `None`
/// when the feed has ended.
pub(crate) trait Source: Send {
    /// The next message to send.
    fn next(&mut self) -> impl Future<Output = Option<Utf8Bytes>> + Send;
}

/// 403 when the request carries an `Origin` whose host and port differ from `Host` (a page
/// of another site opening a socket with the user's cookie; RFC 6455 §10.2). No `Origin`
/// (a non-browser client): allowed.
pub fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let refused = || ApiError::Forbidden(CROSS_ORIGIN);
    let origin = origin.to_str().map_err(|_| refused())?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(refused)?;
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Err(refused());
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => ":80",
        "https" | "wss" => ":443",
        _ => return Err(refused()),
    };
    let strip = |s: &str| -> String {
        let s = s.trim().to_ascii_lowercase();
        match s.strip_suffix(default_port) {
            Some(bare) => bare.to_owned(),
            None => s,
        }
    };
    if strip(authority) == strip(host) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// The 403 detail of a refused cross-origin upgrade.
const CROSS_ORIGIN: &str = "cross-origin WebSocket refused (Origin does not match Host)";

/// Why [`serve`] ended (logged at debug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The client closed or the connection failed.
    ClientGone,
    /// A send did not complete within [`SEND_TIMEOUT`].
    TooSlow,
    /// Nothing heard from the client for [`IDLE_LIMIT`].
    Silent,
    /// The source ended.
    SourceEnded,
    /// The server shuts down.
    Shutdown,
    /// The client's login ended (logout, expiry, account deleted, token revoked).
    LoggedOut,
}

/// Sends `source`'s messages to `socket` until one side ends (see the module docs).
pub(crate) async fn serve<S: Source>(
    mut socket: WebSocket,
    mut source: S,
    stop: CancellationToken,
    allowed: StillAllowed,
) -> End {
    let mut last_heard = Instant::now();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let end = loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break End::Shutdown,
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break End::ClientGone,
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    break End::Silent;
                }
                if !allowed().await {
                    break End::LoggedOut;
                }
                if let Err(end) = send(&mut socket, Message::Ping(Default::default())).await {
                    break end;
                }
            }
            message = source.next() => match message {
                Some(text) => {
                    if let Err(end) = send(&mut socket, Message::Text(text)).await {
                        break end;
                    }
                }
                None => break End::SourceEnded,
            },
        }
    };
    let code = match end {
        End::Shutdown => Some((CLOSE_GOING_AWAY, "server shutting down")),
        End::SourceEnded => Some((CLOSE_NORMAL, "feed ended")),
        End::LoggedOut => Some((CLOSE_POLICY, "login ended")),
        End::ClientGone | End::TooSlow | End::Silent => None,
    };
    if let Some((code, reason)) = code {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = send(&mut socket, Message::Close(Some(frame))).await;
    }
    tracing::debug!(?end, "WebSocket client done");
    end
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), End> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::ClientGone),
        Err(_) => Err(End::TooSlow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("origin"));
        }
        if let Some(v) = host {
            h.insert(header::HOST, HeaderValue::from_str(v).expect("host"));
        }
        h
    }

    #[test]
    fn origin_must_match_host() {
        let cases = [
            (None, Some("pbx:8080"), true),
            (Some("http://pbx:8080"), Some("pbx:8080"), true),
            (Some("http://PBX:8080"), Some("pbx:8080"), true),
            (Some("https://pbx.example"), Some("pbx.example:443"), true),
            (Some("http://pbx.example:80"), Some("pbx.example"), true),
            (Some("http://evil.example"), Some("pbx:8080"), false),
            (Some("http://pbx:8081"), Some("pbx:8080"), false),
            (Some("https://pbx.example"), Some("pbx.example:80"), false),
            (Some("null"), Some("pbx:8080"), false),
            (Some("http://pbx:8080"), None, false),
            (Some("file://pbx:8080"), Some("pbx:8080"), false),
        ];
        for (origin, host, ok) in cases {
            let got = check_origin(&headers(origin, host));
            assert_eq!(got.is_ok(), ok, "{origin:?} vs {host:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.status(), axum::http::StatusCode::FORBIDDEN);
            }
        }
    }
}
