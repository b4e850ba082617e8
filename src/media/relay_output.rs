//! [`MediaOutput`]: RTP the switch makes itself (prompts, tones, music on hold) sent to one
//! leg's phone out of that leg's relay socket, so NATed phones receive it on the port they
//! send to. A child module of `relay` (it reads the session's private state).
//!
//! Depends on the parent `relay` module only.

use super::{Inner, Leg};
use bytes::Bytes;
use std::sync::Weak;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a [`MediaOutput`] sends.
#[derive(Clone, Debug)]
enum Target {
    /// A leg of a relay session. `Weak`: a player still holding the handle must not keep the
    /// session's ports out of the pool after the session closed.
    Relay {
        inner: Weak<Inner>,
        leg: Leg,
        /// The session's token: cancelled on close/drop/shutdown.
        cancel: CancellationToken,
    },
    /// A queue of whole packets (tests, future mixers).
    Channel(mpsc::Sender<Bytes>),
}

/// A cheap clonable handle sending RTP packets to one leg's phone (see the module docs).
#[derive(Clone, Debug)]
pub struct MediaOutput {
    target: Target,
}

impl MediaOutput {
    /// The output towards `leg` of the session behind `inner`.
    pub(super) fn relay(inner: Weak<Inner>, leg: Leg, cancel: CancellationToken) -> Self {
        MediaOutput {
            target: Target::Relay { inner, leg, cancel },
        }
    }

    /// An output that queues every packet (copied) on a bounded channel of `capacity`
    /// instead of a socket: for tests of code that plays media, and for future mixers.
    pub fn channel(capacity: usize) -> (MediaOutput, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let output = MediaOutput {
            target: Target::Channel(tx),
        };
        (output, rx)
    }

    /// Sends one RTP packet to the leg's phone: to its latched source, else its SDP address,
    /// out of the leg's RTP socket, counted in the leg's `packets_out`/`bytes_out`. `false`
    /// when no destination is known yet, the session is closed, or the send failed (a full
    /// channel for [`Self::channel`] outputs). Never waits for a slow receiver.
    pub async fn send_rtp(&self, packet: &[u8]) -> bool {
        match &self.target {
            Target::Channel(tx) => tx.try_send(Bytes::copy_from_slice(packet)).is_ok(),
            Target::Relay { inner, leg, cancel } => {
                if cancel.is_cancelled() {
                    return false;
                }
                let Some(inner) = inner.upgrade() else {
                    return false;
                };
                let dest = inner.lock().legs[leg.index()].rtp.destination();
                let Some(dest) = dest else {
                    return false;
                };
                match inner.pair(*leg).rtp.send_to(packet, dest).await {
                    Ok(n) => {
                        inner.out[leg.index()].count_rtp(n);
                        true
                    }
                    Err(error) => {
                        tracing::trace!(?leg, %error, %dest, "media output send failed");
                        false
                    }
                }
            }
        }
    }

    /// Whether packets can still go anywhere (the session is open / the channel has a reader).
    pub fn is_open(&self) -> bool {
        match &self.target {
            Target::Channel(tx) => !tx.is_closed(),
            Target::Relay { inner, cancel, .. } => {
                !cancel.is_cancelled() && inner.strong_count() > 0
            }
        }
    }
}
