//! The call dispatcher: one task reading the endpoint's queue of new INVITEs. It does the
//! cheap synchronous checks (loop detection) and starts a call actor per INVITE, so a
//! slow call never holds up the next one.
//!
//! Depends on `sip::endpoint` and the call actor.

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{debug, info_span, warn, Instrument};

use crate::sip::endpoint::IncomingRequest;
use std::net::{IpAddr, SocketAddr};

use crate::sip::message::{Host, Request, Via};

use super::{actor, msgs, CallContext};

/// Starts the dispatcher on the lifecycle's tracker. It runs until the endpoint closes the
/// queue (the endpoint stops last), so INVITEs arriving while the call core drains get 503.
pub fn spawn_dispatcher(ctx: Arc<CallContext>, mut incoming: mpsc::Receiver<IncomingRequest>) {
    let tracker = ctx.lifecycle.tracker.clone();
    tracker.spawn(
        async move {
            while let Some(item) = incoming.recv().await {
                dispatch(&ctx, item).await;
            }
            debug!("call dispatcher stopped");
        }
        .instrument(info_span!("call_dispatcher")),
    );
}

async fn dispatch(ctx: &Arc<CallContext>, item: IncomingRequest) {
    let draining = ctx.lifecycle.shutdown.is_cancelled();
    let refused = !ctx.admission.is_open();
    if refused {
        warn!(holders = ?ctx.admission.holders(), "new call refused: admission closed (503)");
    }
    if draining || refused || is_loop(ctx, &item.request) {
        // RFC 3261 §16.3 item 4 (as a B2BUA): the request went out from us and came back
        // (482); or the call core is shutting down or not taking calls (503, RFC 3261
        // §21.5.4).
        let status = if draining || refused { 503 } else { 482 };
        let resp = msgs::response_to(
            &item.request,
            status,
            None,
            &crate::sip::message::new_tag(),
            None,
            &ctx.config.sip.user_agent,
        );
        if let Err(error) = item.txn.respond(resp).await {
            debug!(%error, status, "rejection not sent");
        }
        return;
    }
    let span = info_span!(
        "call",
        call_id = item.request.headers.call_id().unwrap_or("-"),
        remote = %item.source.remote,
    );
    let ctx = Arc::clone(ctx);
    ctx.lifecycle
        .tracker
        .clone()
        .spawn(actor::run(ctx, item).instrument(span));
}

/// Our own Call-ID on an incoming INVITE, or one of our own listeners in its Via path
/// with one of our branches, means the call looped back to us.
fn is_loop(ctx: &CallContext, req: &Request) -> bool {
    if let Ok(call_id) = req.headers.call_id() {
        if ctx.registry.is_outgoing(call_id) {
            return true;
        }
    }
    let Ok(vias) = req.headers.vias() else {
        return false;
    };
    let listeners: Vec<SocketAddr> = ctx
        .sip
        .transport()
        .listeners()
        .iter()
        .map(|l| l.addr)
        .collect();
    passed_through_us(&vias, &listeners)
}

/// Whether a Via below the top one (the sender's) names one of our listeners: the request
/// was forwarded by us and came back.
fn passed_through_us(vias: &[Via], listeners: &[SocketAddr]) -> bool {
    vias.iter().skip(1).any(|via| {
        let ip = match &via.host {
            Host::V4(ip) => IpAddr::V4(*ip),
            Host::V6(ip) => IpAddr::V6(*ip),
            Host::Name(_) => return false,
        };
        let port = via.port.unwrap_or(5060);
        listeners.iter().any(|l| l.ip() == ip && l.port() == port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_via_of_ours_below_the_top_is_a_loop() {
        let ours: SocketAddr = "127.0.0.1:5060".parse().expect("addr");
        let via = |s: &str| Via::parse(s).expect("via");
        let top = via("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa");
        let other = via("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKb");
        let us = via("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKc");
        // Our address on top only: a phone on our host, not a loop.
        assert!(!passed_through_us(&[top.clone(), other.clone()], &[ours]));
        assert!(passed_through_us(&[other.clone(), us], &[ours]));
        let name = via("SIP/2.0/UDP pbx.example;branch=z9hG4bKd");
        assert!(!passed_through_us(&[other, name], &[ours]));
    }
}
