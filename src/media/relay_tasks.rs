//! The tasks of a relay session: one receive-and-forward loop per socket ([`pump`]) and the
//! media-timeout watchdog ([`watchdog`]). A child module of `relay` (they share its private
//! state); see the parent's docs for what they do.
//!
//! Depends on the parent `relay` module only.

use super::{Inner, Leg, MediaEvent, Plane, MAX_PACKET};
use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The receive-and-forward loop of one socket. Allocates its buffer once; nothing per packet.
pub(super) async fn pump(inner: Arc<Inner>, leg: Leg, plane: Plane, cancel: CancellationToken) {
    let mut buf = vec![0u8; MAX_PACKET].into_boxed_slice();
    let socket = |leg: Leg| -> &UdpSocket {
        match plane {
            Plane::Rtp => &inner.pair(leg).rtp,
            Plane::Rtcp => &inner.pair(leg).rtcp,
        }
    };
    let input = socket(leg);
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => break,
            r = input.recv_from(&mut buf) => r,
        };
        let (len, src) = match received {
            Ok(r) => r,
            // ICMP errors surfacing on the socket and signals are transient.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused
                        | ErrorKind::ConnectionReset
                        | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(error) => {
                tracing::warn!(?leg, ?plane, %error, "media socket failed; leg stops relaying");
                break;
            }
        };
        let packet = &buf[..len];
        let verdict = {
            let mut shared = inner.lock();
            match plane {
                Plane::Rtp => shared.on_rtp(leg, src, packet, inner.config.latch, Instant::now()),
                Plane::Rtcp => shared.on_rtcp(leg, src, inner.config.latch),
            }
        };
        if let Some(event) = verdict.event {
            if inner.events.try_send(event).is_err() {
                inner.lock().legs[leg.index()].dtmf_dropped += 1;
            }
        }
        let Some(dest) = verdict.forward_to else {
            continue;
        };
        // Bridge: out of the other leg's socket; Echo: back out of this one.
        let sent = tokio::select! {
            _ = cancel.cancelled() => break,
            r = socket(verdict.via).send_to(packet, dest) => r,
        };
        let out = &inner.out[verdict.via.index()];
        match sent {
            Ok(n) => match plane {
                Plane::Rtp => out.count_rtp(n),
                Plane::Rtcp => {
                    out.rtcp.fetch_add(1, Ordering::Relaxed);
                }
            },
            Err(error) => tracing::trace!(?leg, ?plane, %error, %dest, "media send failed"),
        }
    }
}

/// Reports [`MediaEvent::Timeout`] for legs silent past `timeout` while armed.
pub(super) async fn watchdog(inner: Arc<Inner>, timeout: Duration, cancel: CancellationToken) {
    loop {
        let deadline = inner.lock().next_deadline(timeout);
        let Some(deadline) = deadline else {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = inner.wake.notified() => continue,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = inner.wake.notified() => continue,
            _ = tokio::time::sleep_until(deadline) => {}
        }
        let expired = inner.lock().expired(timeout, Instant::now());
        for leg in expired.into_iter().flatten() {
            tracing::info!(?leg, timeout_s = timeout.as_secs_f64(), "media timeout");
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = inner.events.send(MediaEvent::Timeout { leg }) => {
                    if r.is_err() {
                        return; // nobody listens any more
                    }
                }
            }
        }
    }
}
