//! What WebSocket clients of `/api/v1/calls/live` read: the last published view of every
//! live call (one JSON text per call, for snapshots and `GET /api/v1/calls`) and a
//! broadcast of the deltas, each serialised once and shared by every client.
//!
//! Consistency: [`Feed::publish`] updates the view and sends the delta under one lock, and
//! [`Feed::subscribe`] renders the snapshot and subscribes under the same lock, so a client
//! gets exactly the deltas with a `seq` above its snapshot's.
//!
//! Depends on: [`super::tracker`] (the batches), tokio (broadcast), axum (the shared
//! WebSocket text type).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use super::tracker::Batch;

/// Deltas kept for clients that have not read them yet: at one delta per 250 ms, 16 s. A
/// client further behind is resynchronised with a fresh snapshot.
pub const DELTA_BACKLOG: usize = 64;

/// One published call.
#[derive(Debug)]
struct Shown {
    /// Where it sorts: start ms, creation ordinal.
    order: (i64, u64),
    /// The `Call` JSON.
    json: String,
    /// The gateways it runs through (for the gateways' `active_calls`).
    gateways: Vec<String>,
}

/// The published view (see the module docs).
#[derive(Debug, Default)]
struct View {
    /// The `seq` of the last delta.
    seq: u64,
    /// Call id → (started, `Call` JSON).
    calls: HashMap<String, Shown>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Feed {
    /// std Mutex: held to apply one batch (work proportional to it) or to copy the view for
    /// one new client; never across an await.
    view: Mutex<View>,
    deltas: broadcast::Sender<Utf8Bytes>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new()
    }
}

impl Feed {
    /// An empty feed at `seq` 0.
    pub fn new() -> Feed {
        let (deltas, _) = broadcast::channel(DELTA_BACKLOG);
        Feed {
            view: Mutex::new(View::default()),
            deltas,
        }
    }

    fn view(&self) -> MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a non-empty batch as delta `seq` + 1 and sends it to the clients; returns
    /// the delta's size in bytes (0 for an empty batch: nothing is sent).
    pub fn publish(&self, batch: Batch) -> usize {
        if batch.is_empty() {
            return 0;
        }
        let mut view = self.view();
        let seq = view.seq + 1;
        let text = delta_text(seq, &batch);
        let size = text.len();
        for id in &batch.remove {
            view.calls.remove(id);
        }
        for r in batch.upsert {
            view.calls.insert(
                r.id,
                Shown {
                    order: r.order,
                    json: r.json,
                    gateways: r.gateways,
                },
            );
        }
        view.seq = seq;
        // No receiver is not an error: nobody is watching.
        let _ = self.deltas.send(Utf8Bytes::from(text));
        size
    }

    /// The snapshot message for a new client and the deltas that follow it.
    pub fn subscribe(&self) -> (Utf8Bytes, broadcast::Receiver<Utf8Bytes>) {
        let view = self.view();
        let rx = self.deltas.subscribe();
        let mut text = format!("{{\"type\":\"snapshot\",\"seq\":{},\"calls\":", view.seq);
        push_calls(&mut text, &view);
        text.push('}');
        (Utf8Bytes::from(text), rx)
    }

    /// `{"calls":[...]}`, oldest call first (`GET /api/v1/calls`).
    pub fn calls_json(&self) -> String {
        let view = self.view();
        let mut text = String::from("{\"calls\":");
        push_calls(&mut text, &view);
        text.push('}');
        text
    }

    /// Calls in the published view.
    pub fn len(&self) -> usize {
        self.view().calls.len()
    }

    /// Whether the published view has no call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live calls per gateway they run through (inbound from it or dialled out through it),
    /// as last published.
    pub fn gateway_calls(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for shown in self.view().calls.values() {
            for gateway in &shown.gateways {
                *counts.entry(gateway.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The `seq` of the last delta.
    pub fn seq(&self) -> u64 {
        self.view().seq
    }
}

/// Appends the JSON array of the view's calls, oldest first.
fn push_calls(text: &mut String, view: &View) {
    let mut calls: Vec<(&String, &Shown)> = view.calls.iter().collect();
    calls.sort_unstable_by(|a, b| (a.1.order, a.0).cmp(&(b.1.order, b.0)));
    text.reserve(calls.iter().map(|c| c.1.json.len() + 1).sum::<usize>() + 2);
    text.push('[');
    for (i, (_, shown)) in calls.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&shown.json);
    }
    text.push(']');
}

/// `{"type":"delta","seq":N,"upsert":[Call],"remove":[id]}` from already rendered calls.
fn delta_text(seq: u64, batch: &Batch) -> String {
    let size: usize = batch.upsert.iter().map(|r| r.json.len() + 1).sum::<usize>()
        + batch.remove.iter().map(|id| id.len() + 3).sum::<usize>()
        + 64;
    let mut text = String::with_capacity(size);
    text.push_str("{\"type\":\"delta\",\"seq\":");
    text.push_str(&seq.to_string());
    text.push_str(",\"upsert\":[");
    for (i, r) in batch.upsert.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&r.json);
    }
    text.push_str("],\"remove\":");
    // Ids are uuids; serde escapes anything else correctly.
    text.push_str(&serde_json::to_string(&batch.remove).unwrap_or_else(|_| "[]".into()));
    text.push('}');
    text
}
