//! Non-INVITE server transaction (RFC 3261 §17.2.2).
//!
//! ```text
//!                          request received: pass to TU
//!                                   |
//!                                   v
//!      request: absorb         +-----------+
//!            +---------------->|  Trying   |--- 200-699 from TU: send ---------+
//!            +-----------------|           |                                   |
//!                              +-----------+                                   |
//!                    1xx from TU: send |                                       |
//!                                      v                                       |
//!      request: resend 1xx     +------------+                                  |
//!      1xx from TU: send       |            |--- 200-699 from TU: send ------->|
//!            +---------------->| Proceeding |--- transport error: inform TU ---|-+
//!            +-----------------|            |                                  | |
//!                              +------------+                                  | |
//!                                                                              v |
//!      request: resend final   +-----------+<----------------------------------+ |
//!            +---------------->| Completed |   Timer J = 64*T1 (0 if reliable)   |
//!            +-----------------|           |--- transport error: inform TU ----->+
//!                              +-----------+                                     |
//!                                Timer J |                                       |
//!                                        v                                       v
//!                              +-------------------------------------------------+
//!                              |                    Terminated                   |
//!                              +-------------------------------------------------+
//! ```
//!
//! Final responses the TU sends after the first are refused (RFC 3261 §17.2.2).
//!
//! Depends on `sip::message` and the sibling timer helpers.

use tokio::time::Instant;
use tracing::debug;

use crate::sip::message::{Message, Request, Response};

use super::{transmit, Output, TimerConfig, TransactionError, TuEvent};

/// States of the non-INVITE server transaction (RFC 3261 Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Request received, TU has not answered.
    Trying,
    /// TU sent a provisional response.
    Proceeding,
    /// TU sent the final response; absorbing request retransmissions.
    Completed,
    /// Done.
    Terminated,
}

impl ServerNonInviteState {
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

/// A non-INVITE server transaction.
#[derive(Debug)]
pub struct ServerNonInvite<D> {
    state: ServerNonInviteState,
    /// Where responses go. (The request itself is not kept: the TU got it, and retransmissions
    /// are matched by key; at high request rates Timer J keeps many of these alive.)
    dest: D,
    /// Reliable transports get a zero Timer J.
    reliable: bool,
    config: TimerConfig,
    /// The most recent response sent (provisional or final), resent on retransmissions.
    last_response: Option<Response>,
    /// Timer J deadline (Completed).
    timer_j: Option<Instant>,
}

impl<D: Clone + std::fmt::Debug> ServerNonInvite<D> {
    /// Create the transaction for a new request (RFC 3261 §17.2.2).
    pub fn new(dest: D, reliable: bool, config: TimerConfig) -> Self {
        Self {
            state: ServerNonInviteState::Trying,
            dest,
            reliable,
            config,
            last_response: None,
            timer_j: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// The final response sent, if any.
    pub fn final_response(&self) -> Option<&Response> {
        self.last_response.as_ref().filter(|r| r.status >= 200)
    }

    /// A retransmission of the request arrived (RFC 3261 §17.2.2): absorbed in Trying,
    /// answered with the last response in Proceeding and Completed.
    pub fn on_request(&mut self, _request: &Request, out: &mut Vec<Output<D>>) {
        match (self.state, &self.last_response) {
            (ServerNonInviteState::Proceeding | ServerNonInviteState::Completed, Some(resp)) => {
                transmit(out, Message::Response(resp.clone()), &self.dest);
            }
            (state, _) => {
                debug!(
                    state = state.as_str(),
                    "request absorbed by non-INVITE server transaction"
                );
            }
        }
    }

    /// The TU answers the request through this transaction (RFC 3261 §17.2.2).
    pub fn send_response(
        &mut self,
        response: Response,
        now: Instant,
        out: &mut Vec<Output<D>>,
    ) -> Result<(), TransactionError> {
        use ServerNonInviteState::*;
        if !matches!(self.state, Trying | Proceeding) {
            return Err(TransactionError::InvalidState {
                state: self.state.as_str(),
                what: "response to non-INVITE",
            });
        }
        let status = response.status;
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        transmit(out, Message::Response(response.clone()), &self.dest);
        self.last_response = Some(response);
        if status < 200 {
            self.state = Proceeding;
            return Ok(());
        }
        // RFC 3261 §17.2.2: final response → Completed, Timer J (0 on reliable).
        self.state = Completed;
        let j = self.config.timer_j(self.reliable);
        if j.is_zero() {
            self.terminate(out);
        } else {
            self.timer_j = Some(now + j);
        }
        Ok(())
    }

    /// The driver could not send a response (RFC 3261 §17.2.2).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output<D>>) {
        if self.state != ServerNonInviteState::Terminated {
            out.push(Output::ToTu(TuEvent::TransportError));
            self.terminate(out);
        }
    }

    /// The earliest pending timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_j
    }

    /// Handle every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<D>>) {
        if self.timer_j.is_some_and(|t| t <= now) {
            // RFC 3261 §17.2.2: Timer J → Terminated.
            self.terminate(out);
        }
    }

    fn terminate(&mut self, out: &mut Vec<Output<D>>) {
        self.state = ServerNonInviteState::Terminated;
        self.timer_j = None;
        out.push(Output::Terminated);
    }
}
