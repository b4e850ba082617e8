//! INVITE client transaction (RFC 3261 §17.1.1).
//!
//! ```text
//!                       INVITE sent; Timer A (unreliable only), Timer B
//!                                   |
//!                                   v
//!      Timer A: resend,       +-----------+
//!      A = 2*A (no cap)       |           |--- Timer B: 408 to TU ---------------+
//!            +--------------->|  Calling  |--- 2xx: to TU -------------------+   |
//!            +----------------|           |--- transport error: inform TU ---|-+ |
//!                             +-----------+                                  | | |
//!                           1xx: to TU |  \ 300-699: ACK, to TU              | | |
//!                                      v   \                                 | | |
//!      1xx: to TU             +------------+\                                | | |
//!            +--------------->|            | \--------------+                | | |
//!            +----------------| Proceeding |--- 2xx: to TU -|--------------->+ | |
//!                             +------------+                |                | | |
//!                  300-699: ACK, to TU |                    |                | | |
//!                                      v                    v                | | |
//!      300-699: resend ACK    +-----------+<----------------+                | | |
//!            +--------------->|           |                                  | | |
//!            +----------------| Completed |--- transport error: inform TU ---+ | |
//!                             +-----------+                                  | | |
//!                     Timer D (0 if reliable)                                | | |
//!                                      v                                     v v v
//!                             +-------------------------------------------------------+
//!                             |                      Terminated                       |
//!                             +-------------------------------------------------------+
//! ```
//!
//! A 2xx ends the transaction (RFC 3261 §17.1.1.2; RFC 6026's Accepted state is not
//! used): retransmitted 2xx no longer match and reach the dialog layer, which sends the
//! ACK for 2xx itself (§13.2.2.4). The ACK for 300–699 is built here (§17.1.1.3).
//! A transport error in any state terminates the transaction and informs the TU.
//! After [`ClientInvite::cancel_sent`] a transaction left in Proceeding gives up after
//! 64*T1 with a synthetic 487 (§9.1).
//!
//! Depends on `sip::message` and the sibling timer/build helpers.

use tokio::time::Instant;
use tracing::debug;

use crate::sip::message::{Message, Request, Response};

use super::{build, transmit, Output, TimerConfig, TuEvent};

/// States of the INVITE client transaction (RFC 3261 Figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, no response yet.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A 300–699 arrived and was ACKed; absorbing its retransmissions.
    Completed,
    /// Done.
    Terminated,
}

impl ClientInviteState {
    /// Name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calling => "Calling",
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Terminated => "Terminated",
        }
    }
}

/// An INVITE client transaction.
#[derive(Debug)]
pub struct ClientInvite<D> {
    state: ClientInviteState,
    /// The INVITE, kept for retransmission and to build the ACK.
    request: Request,
    /// Where the INVITE (and its ACK) goes.
    dest: D,
    /// Reliable transports get no retransmissions and a zero Timer D.
    reliable: bool,
    config: TimerConfig,
    /// The ACK for the non-2xx final response, resent for each retransmission of it.
    ack: Option<Request>,
    /// Timer A deadline and its current interval (unreliable transports only).
    timer_a: Option<(Instant, std::time::Duration)>,
    /// Timer B deadline (Calling only), or the §9.1 64*T1 guard after a CANCEL.
    timer_b: Option<Instant>,
    /// Whether `timer_b` is the CANCEL guard (→ 487) rather than Timer B (→ 408).
    cancel_guard: bool,
    /// Timer D deadline (Completed).
    timer_d: Option<Instant>,
}

impl<D: Clone + std::fmt::Debug> ClientInvite<D> {
    /// Start the transaction: sends the INVITE and arms Timers A and B (RFC 3261 §17.1.1.2).
    pub fn new(
        request: Request,
        dest: D,
        reliable: bool,
        config: TimerConfig,
        now: Instant,
        out: &mut Vec<Output<D>>,
    ) -> Self {
        transmit(out, Message::Request(request.clone()), &dest);
        // RFC 3261 §17.1.1.2: Timer A only for unreliable transports; Timer B always.
        let timer_a = (!reliable).then(|| (now + config.timer_a(), config.timer_a()));
        Self {
            state: ClientInviteState::Calling,
            request,
            dest,
            reliable,
            config,
            ack: None,
            timer_a,
            timer_b: Some(now + config.timer_b()),
            cancel_guard: false,
            timer_d: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// The INVITE this transaction sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The destination the INVITE is sent to.
    pub fn dest(&self) -> &D {
        &self.dest
    }

    /// Whether the transport is reliable.
    pub fn reliable(&self) -> bool {
        self.reliable
    }

    /// A response matched this transaction (RFC 3261 §17.1.1.2).
    pub fn on_response(&mut self, response: Response, now: Instant, out: &mut Vec<Output<D>>) {
        use ClientInviteState::*;
        let status = response.status;
        match (self.state, status) {
            (Calling | Proceeding, 100..=199) => {
                // RFC 3261 §17.1.1.2: stop retransmitting; Timer B only guards Calling.
                self.state = Proceeding;
                self.timer_a = None;
                if !self.cancel_guard {
                    self.timer_b = None;
                }
                out.push(Output::ToTu(TuEvent::Response(response)));
            }
            (Calling | Proceeding, 200..=299) => {
                // RFC 3261 §17.1.1.2: 2xx goes to the TU and the transaction terminates.
                out.push(Output::ToTu(TuEvent::Response(response)));
                self.terminate(out);
            }
            (Calling | Proceeding, 300..=699) => {
                // RFC 3261 §17.1.1.2: ACK, pass up, Completed with Timer D.
                let ack = build::ack_for_non_2xx(&self.request, &response);
                transmit(out, Message::Request(ack.clone()), &self.dest);
                self.ack = Some(ack);
                out.push(Output::ToTu(TuEvent::Response(response)));
                self.state = Completed;
                self.timer_a = None;
                self.timer_b = None;
                let d = self.config.timer_d(self.reliable);
                if d.is_zero() {
                    self.terminate(out);
                } else {
                    self.timer_d = Some(now + d);
                }
            }
            (Completed, 300..=699) => {
                // RFC 3261 §17.1.1.2: retransmitted final response: resend the ACK, do
                // not pass it up.
                if let Some(ack) = &self.ack {
                    transmit(out, Message::Request(ack.clone()), &self.dest);
                }
            }
            (state, status) => {
                debug!(
                    state = state.as_str(),
                    status, "response absorbed by INVITE client transaction"
                );
            }
        }
    }

    /// The TU sent a CANCEL for this INVITE: if no final response arrives within 64*T1
    /// the transaction is considered cancelled (RFC 3261 §9.1).
    pub fn cancel_sent(&mut self, now: Instant) {
        if matches!(
            self.state,
            ClientInviteState::Calling | ClientInviteState::Proceeding
        ) && self.timer_b.is_none()
        {
            self.timer_b = Some(now + self.config.timeout_64t1());
            self.cancel_guard = true;
        }
    }

    /// The driver could not send a message of this transaction (RFC 3261 §17.1.1.2).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output<D>>) {
        if self.state != ClientInviteState::Terminated {
            out.push(Output::ToTu(TuEvent::TransportError));
            self.terminate(out);
        }
    }

    /// The earliest pending timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.timer_a.map(|(t, _)| t), self.timer_b, self.timer_d]
            .into_iter()
            .flatten()
            .min()
    }

    /// Handle every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<D>>) {
        if self.timer_b.is_some_and(|t| t <= now) {
            // RFC 3261 §17.1.1.2: Timer B → timeout to the TU (synthetic 408, §8.1.3.1);
            // §9.1: the CANCEL guard → treat as cancelled (synthetic 487).
            let status = if self.cancel_guard { 487 } else { 408 };
            let response = build::synthetic(&self.request, status);
            out.push(Output::ToTu(TuEvent::Timeout(response)));
            self.terminate(out);
            return;
        }
        if self.timer_d.is_some_and(|t| t <= now) {
            // RFC 3261 §17.1.1.2: Timer D → Terminated.
            self.terminate(out);
            return;
        }
        if let Some((deadline, interval)) = self.timer_a.filter(|(t, _)| *t <= now) {
            // RFC 3261 §17.1.1.2: Timer A → retransmit, double the interval (no cap).
            transmit(out, Message::Request(self.request.clone()), &self.dest);
            let interval = interval.saturating_mul(2);
            let mut next = deadline + interval;
            if next <= now {
                next = now + interval;
            }
            self.timer_a = Some((next, interval));
        }
    }

    fn terminate(&mut self, out: &mut Vec<Output<D>>) {
        self.state = ClientInviteState::Terminated;
        self.timer_a = None;
        self.timer_b = None;
        self.timer_d = None;
        out.push(Output::Terminated);
    }
}
