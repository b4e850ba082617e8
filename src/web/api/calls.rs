//! Live calls and the live feeds: `GET /api/v1/calls` (the calls up now), `DELETE
//! /api/v1/calls/{id}` (an admin hangs a call up), and the WebSockets `GET
//! /api/v1/calls/live` (a snapshot, then a delta at most every 250 ms) and `GET
//! /api/v1/cdr/live` (each CDR record as the pipeline commits it).
//!
//! Both WebSockets need a login like any API call (cookie or bearer) and refuse a browser
//! page of another origin (`Origin` ≠ `Host`: 403). See [`crate::web::live`] for the
//! tracker and [`crate::web::live::socket`] for the per-client loop (ping, slow clients).
//!
//! Depends on: `crate::web::{live, auth, error}`, `crate::cdr::{pipeline, model}`,
//! `crate::switch::call` (the hang-up request), axum.

use std::sync::Arc;

use axum::extract::ws::{Utf8Bytes, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use crate::cdr::model::FeedItem;
use crate::web::api::openapi::ErrorBody;
use crate::web::auth::{AdminOnly, Principal};
use crate::web::error::ApiError;
use crate::web::live::model::Call;
use crate::web::live::socket::{self, check_origin, Source, MAX_CLIENT_MESSAGE};
use crate::web::WebState;

/// `GET /api/v1/calls` answer (the handler writes the same shape from pre-rendered JSON).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // only described in the OpenAPI document, never built
pub(crate) struct CallList {
    /// The live calls, oldest first (as of the last published batch: at most 250 ms old).
    calls: Vec<Call>,
}

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/v1/calls", get(list))
        .route("/api/v1/calls/{id}", axum::routing::delete(hang_up))
        .route("/api/v1/calls/live", get(calls_live))
        .route("/api/v1/cdr/live", get(cdr_live))
}

/// 503 unless the web state has the switch's event bus.
fn need_switch(state: &WebState) -> Result<(), ApiError> {
    match state.services().bus {
        Some(_) => Ok(()),
        None => Err(ApiError::Unavailable(
            "live calls need the running switch (no event bus)",
        )),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/calls",
    tag = "calls",
    responses(
        (status = 200, description = "the live calls", body = CallList),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 503, description = "no switch (event bus) behind the web server", body = ErrorBody),
    )
)]
async fn list(State(state): State<WebState>, _caller: Principal) -> Result<Response, ApiError> {
    need_switch(&state)?;
    let body = state.inner.live.feed().calls_json();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/calls/{id}",
    tag = "calls",
    params(("id" = String, Path, description = "the call's id (its A channel uuid)")),
    responses(
        (status = 204, description = "hang-up requested: BYE (answered) or CANCEL + 480 (ringing), Q.850 cause 16"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "viewer role, or missing CSRF token", body = ErrorBody),
        (status = 404, description = "no live call with this id", body = ErrorBody),
    )
)]
async fn hang_up(
    State(state): State<WebState>,
    AdminOnly(caller): AdminOnly,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.inner.calls.request_hangup(&id) {
        return Err(ApiError::NotFound(format!("call {id}")));
    }
    let actor = caller.actor();
    tracing::info!(call = %id, hangup_by = "admin", %actor, "hang-up requested");
    state
        .audit(&actor, "call.hangup", &id, json!({ "q850": 16 }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/calls/live",
    tag = "calls",
    description = "WebSocket. Server → client JSON text messages: first \
        `{\"type\":\"snapshot\",\"seq\":N,\"calls\":[Call]}`, then, at most every 250 ms and only \
        when something changed, `{\"type\":\"delta\",\"seq\":N,\"upsert\":[Call],\"remove\":[id]}` \
        (seq + 1 each; many changes of one call within a window are one upsert). A client \
        too far behind gets a fresh snapshot; one that does not read for 5 s is dropped.",
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "Origin does not match Host", body = ErrorBody),
        (status = 503, description = "no switch (event bus) behind the web server", body = ErrorBody),
    )
)]
async fn calls_live(
    State(state): State<WebState>,
    _caller: Principal,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&headers)?;
    need_switch(&state)?;
    let allowed = still_allowed(&state, &headers);
    let live = &state.inner.live;
    let (stop, clients) = (live.stop().clone(), live.clients().clone());
    let source = CallsSource {
        state: state.clone(),
        first: None,
        rx: None,
    };
    Ok(ws
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |ws| {
            let served = clients.track_future(socket::serve(ws, source, stop, allowed));
            async move {
                served.await;
            }
        }))
}

#[utoipa::path(
    get,
    path = "/api/v1/cdr/live",
    tag = "cdr",
    description = "WebSocket. One JSON text message per CDR record the pipeline commits: \
        `{\"kind\":\"leg\",\"final\":bool,\"record\":{...}}` or \
        `{\"kind\":\"bridge\",\"record\":{...}}`; a client that fell behind gets \
        `{\"kind\":\"lagged\",\"missed\":n}`.",
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 401, description = "login required", body = ErrorBody),
        (status = 403, description = "Origin does not match Host", body = ErrorBody),
        (status = 503, description = "CDRs are disabled", body = ErrorBody),
    )
)]
async fn cdr_live(
    State(state): State<WebState>,
    _caller: Principal,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&headers)?;
    let allowed = still_allowed(&state, &headers);
    let Some(cdr) = &state.inner.cdr else {
        return Err(ApiError::Unavailable(
            "CDRs are disabled ([cdr] enabled = false)",
        ));
    };
    let source = CdrSource {
        rx: cdr.subscribe(),
    };
    let live = &state.inner.live;
    let (stop, clients) = (live.stop().clone(), live.clients().clone());
    Ok(ws
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |ws| {
            let served = clients.track_future(socket::serve(ws, source, stop, allowed));
            async move {
                served.await;
            }
        }))
}

/// The check a feed repeats at every ping: the request's credentials (cookie or bearer
/// token) still log in.
fn still_allowed(state: &WebState, headers: &HeaderMap) -> socket::StillAllowed {
    let (state, headers) = (state.clone(), headers.clone());
    Box::new(move || {
        let (state, headers) = (state.clone(), headers.clone());
        Box::pin(async move { crate::web::auth::principal(&state, &headers).await.is_ok() })
    })
}

/// The live-call feed of one client: its snapshot, then the deltas; a fresh snapshot
/// when it fell more than the feed's backlog behind.
struct CallsSource {
    state: WebState,
    first: Option<Utf8Bytes>,
    rx: Option<broadcast::Receiver<Utf8Bytes>>,
}

impl Source for CallsSource {
    async fn next(&mut self) -> Option<Utf8Bytes> {
        let feed = self.state.inner.live.feed();
        let rx = match &mut self.rx {
            Some(rx) => rx,
            None => {
                // Subscribed when the socket is up: the snapshot is as fresh as can be.
                let (snapshot, rx) = feed.subscribe();
                self.first = Some(snapshot);
                self.rx.insert(rx)
            }
        };
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        match rx.recv().await {
            Ok(delta) => Some(delta),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "live-call client lagged: resynchronised");
                let (snapshot, rx) = feed.subscribe();
                self.rx = Some(rx);
                Some(snapshot)
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The CDR feed of one client.
struct CdrSource {
    rx: broadcast::Receiver<Arc<FeedItem>>,
}

impl Source for CdrSource {
    async fn next(&mut self) -> Option<Utf8Bytes> {
        loop {
            match self.rx.recv().await {
                Ok(item) => match serde_json::to_string(&*item) {
                    Ok(text) => return Some(Utf8Bytes::from(text)),
                    Err(error) => tracing::warn!(%error, "CDR record not sent"),
                },
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let text = json!({ "kind": "lagged", "missed": missed }).to_string();
                    return Some(Utf8Bytes::from(text));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
#[path = "calls_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "calls_ws_tests.rs"]
mod ws_tests;
