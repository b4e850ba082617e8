//! Non-INVITE client transaction (RFC 3261 §17.1.2).
//!
//! ```text
//!                       request sent; Timer E (unreliable only), Timer F
//!                                   |
//!                                   v
//!      Timer E: resend,       +-----------+
//!      E = min(2E, T2)        |           |--- Timer F: 408 to TU --------------+
//!            +--------------->|  Trying   |--- transport error: inform TU -----+ |
//!            +----------------|           |                                    | |
//!                             +-----------+                                    | |
//!                           1xx: to TU |  \ 200-699: to TU                     | |
//!                                      v   \                                   | |
//!      Timer E: resend, E = T2 +------------+\                                 | |
//!      1xx: to TU              |            | \                                | |
//!            +---------------->| Proceeding |--- Timer F: 408 to TU ---------->+ |
//!            +-----------------|            |--- transport error: inform TU -->+ |
//!                              +------------+  \                               | |
//!                       200-699: to TU |        \                              | |
//!                                      v         v                             | |
//!      responses absorbed     +-----------+                                    | |
//!            +--------------->| Completed |                                    | |
//!            +----------------|           |                                    | |
//!                             +-----------+                                    | |
//!                     Timer K (0 if reliable)                                  | |
//!                                      v                                       v v
//!                             +-------------------------------------------------+
//!                             |                    Terminated                   |
//!                             +-------------------------------------------------+
//! ```
//!
//! Depends on `sip::message` and the sibling timer/build helpers.

use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::sip::message::{Message, Request, Response};

use super::{build, transmit, Output, TimerConfig, TuEvent};

/// States of the non-INVITE client transaction (RFC 3261 Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent, no response yet.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived; absorbing its retransmissions.
    Completed,
    /// Done.
    Terminated,
}

impl ClientNonInviteState {
    /// Name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trying => "Trying",
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Terminated => "Terminated",
        }
    }
}

/// A non-INVITE client transaction.
#[derive(Debug)]
pub struct ClientNonInvite<D> {
    state: ClientNonInviteState,
    /// The request, kept for retransmission.
    request: Request,
    /// Where the request goes.
    dest: D,
    /// Reliable transports get no retransmissions and a zero Timer K.
    reliable: bool,
    config: TimerConfig,
    /// Timer E deadline and current interval (unreliable transports only).
    timer_e: Option<(Instant, Duration)>,
    /// Timer F deadline (Trying, Proceeding).
    timer_f: Option<Instant>,
    /// Timer K deadline (Completed).
    timer_k: Option<Instant>,
}

impl<D: Clone + std::fmt::Debug> ClientNonInvite<D> {
    /// Start the transaction: sends the request, arms Timers E and F (RFC 3261 §17.1.2.2).
    pub fn new(
        request: Request,
        dest: D,
        reliable: bool,
        config: TimerConfig,
        now: Instant,
        out: &mut Vec<Output<D>>,
    ) -> Self {
        transmit(out, Message::Request(request.clone()), &dest);
        let timer_e = (!reliable).then(|| (now + config.timer_e(), config.timer_e()));
        Self {
            state: ClientNonInviteState::Trying,
            request,
            dest,
            reliable,
            config,
            timer_e,
            timer_f: Some(now + config.timer_f()),
            timer_k: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// The request this transaction sends.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// A response matched this transaction (RFC 3261 §17.1.2.2).
    pub fn on_response(&mut self, response: Response, now: Instant, out: &mut Vec<Output<D>>) {
        use ClientNonInviteState::*;
        match (self.state, response.status) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                out.push(Output::ToTu(TuEvent::Response(response)));
            }
            (Trying | Proceeding, 200..=699) => {
                // RFC 3261 §17.1.2.2: final response → TU, Completed, Timer K.
                out.push(Output::ToTu(TuEvent::Response(response)));
                self.state = Completed;
                self.timer_e = None;
                self.timer_f = None;
                let k = self.config.timer_k(self.reliable);
                if k.is_zero() {
                    self.terminate(out);
                } else {
                    self.timer_k = Some(now + k);
                }
            }
            (state, status) => {
                // RFC 3261 §17.1.2.2: Completed absorbs retransmitted responses.
                debug!(
                    state = state.as_str(),
                    status, "response absorbed by non-INVITE client transaction"
                );
            }
        }
    }

    /// The driver could not send the request (RFC 3261 §17.1.2.2).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output<D>>) {
        if self.state != ClientNonInviteState::Terminated {
            out.push(Output::ToTu(TuEvent::TransportError));
            self.terminate(out);
        }
    }

    /// The earliest pending timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.timer_e.map(|(t, _)| t), self.timer_f, self.timer_k]
            .into_iter()
            .flatten()
            .min()
    }

    /// Handle every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<D>>) {
        if self.timer_f.is_some_and(|t| t <= now) {
            // RFC 3261 §17.1.2.2: Timer F → timeout to the TU (synthetic 408, §8.1.3.1).
            let response = build::synthetic(&self.request, 408);
            out.push(Output::ToTu(TuEvent::Timeout(response)));
            self.terminate(out);
            return;
        }
        if self.timer_k.is_some_and(|t| t <= now) {
            // RFC 3261 §17.1.2.2: Timer K → Terminated.
            self.terminate(out);
            return;
        }
        if let Some((deadline, interval)) = self.timer_e.filter(|(t, _)| *t <= now) {
            // RFC 3261 §17.1.2.2: Timer E → retransmit; in Trying the interval doubles up
            // to T2, in Proceeding it is T2.
            transmit(out, Message::Request(self.request.clone()), &self.dest);
            let interval = if self.state == ClientNonInviteState::Proceeding {
                self.config.t2
            } else {
                self.config.next_capped(interval)
            };
            let mut next = deadline + interval;
            if next <= now {
                next = now + interval;
            }
            self.timer_e = Some((next, interval));
        }
    }

    fn terminate(&mut self, out: &mut Vec<Output<D>>) {
        self.state = ClientNonInviteState::Terminated;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
        out.push(Output::Terminated);
    }
}
