//! INVITE server transaction (RFC 3261 §17.2.1).
//!
//! ```text
//!                    INVITE received: pass to TU; arm the 200 ms 100-Trying timer
//!                                   |
//!                                   v
//!      INVITE: resend last 1xx +------------+
//!      1xx from TU: send       |            |--- 2xx from TU: send ---------------+
//!            +---------------->| Proceeding |--- transport error: inform TU ----+ |
//!            +-----------------|            |                                   | |
//!                              +------------+                                   | |
//!               300-699 from TU: send |  Timer G (unreliable only), Timer H     | |
//!                                     v                                         | |
//!      INVITE or Timer G:     +-----------+                                     | |
//!      resend final,          |           |--- Timer H: inform TU ------------->+ |
//!      G = min(2G, T2)        | Completed |--- transport error: inform TU ----->+ |
//!            +--------------->|           |                                     | |
//!            +----------------|           |                                     | |
//!                             +-----------+                                     | |
//!                          ACK: stop G, H |  Timer I                            | |
//!                                         v                                     | |
//!      ACK: absorb            +-----------+                                     | |
//!            +--------------->| Confirmed |                                     | |
//!            +----------------|           |                                     | |
//!                             +-----------+                                     | |
//!                     Timer I (0 if reliable)                                   | |
//!                                         v                                     v v
//!                             +--------------------------------------------------+
//!                             |                    Terminated                    |
//!                             +--------------------------------------------------+
//! ```
//!
//! A 2xx from the TU is sent once and the transaction terminates (RFC 3261 §17.2.1):
//! retransmitting the 2xx until the ACK arrives is the job of the TU / dialog layer
//! (§13.3.1.4), and the ACK for a 2xx matches no transaction (it reaches the TU as
//! [`super::TableEvent::StrayAck`]). If the TU sends no provisional response within
//! 200 ms the transaction sends `100 Trying` itself (§17.2.1).
//!
//! Consequence of RFC 3261's 2xx → Terminated (closed by RFC 6026, not used here): an
//! INVITE retransmitted after our 2xx (its 2xx was lost before any 1xx reached the UAC)
//! matches no transaction and comes up again as a new request; the UAS core / dialog
//! layer recognises it (same Call-ID, From tag, CSeq) and resends its 2xx (§13.3.1.4).
//!
//! Depends on `sip::message` and the sibling timer/build helpers.

use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::sip::message::{Message, Method, Request, Response};

use super::{build, transmit, Output, TimerConfig, TransactionError, TuEvent, AUTO_TRYING_DELAY};

/// States of the INVITE server transaction (RFC 3261 Figure 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// Waiting for the TU's final response.
    Proceeding,
    /// Final 300–699 sent, waiting for the ACK.
    Completed,
    /// ACK received, absorbing ACK retransmissions.
    Confirmed,
    /// Done.
    Terminated,
}

impl ServerInviteState {
    /// Name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proceeding => "Proceeding",
            Self::Completed => "Completed",
            Self::Confirmed => "Confirmed",
            Self::Terminated => "Terminated",
        }
    }
}

/// An INVITE server transaction.
#[derive(Debug)]
pub struct ServerInvite<D> {
    state: ServerInviteState,
    /// The INVITE that created the transaction.
    request: Request,
    /// Where responses go (computed by the driver per RFC 3261 §18.2.2).
    dest: D,
    /// Reliable transports get no response retransmissions and a zero Timer I.
    reliable: bool,
    config: TimerConfig,
    /// Most recent provisional response, resent on INVITE retransmissions.
    last_provisional: Option<Response>,
    /// The 300–699 final response, resent by Timer G and on INVITE retransmissions.
    final_response: Option<Response>,
    /// When to send the automatic `100 Trying` (RFC 3261 §17.2.1).
    timer_trying: Option<Instant>,
    /// Timer G deadline and current interval (unreliable transports only).
    timer_g: Option<(Instant, Duration)>,
    /// Timer H deadline (Completed).
    timer_h: Option<Instant>,
    /// Timer I deadline (Confirmed).
    timer_i: Option<Instant>,
}

impl<D: Clone + std::fmt::Debug> ServerInvite<D> {
    /// Create the transaction for a new INVITE (RFC 3261 §17.2.1). Sends nothing yet: the
    /// automatic `100 Trying` goes out at `now + 200 ms` unless the TU answers first.
    pub fn new(
        request: Request,
        dest: D,
        reliable: bool,
        config: TimerConfig,
        now: Instant,
    ) -> Self {
        Self {
            state: ServerInviteState::Proceeding,
            request,
            dest,
            reliable,
            config,
            last_provisional: None,
            final_response: None,
            timer_trying: Some(now + AUTO_TRYING_DELAY),
            timer_g: None,
            timer_h: None,
            timer_i: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// The INVITE that created the transaction.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The To tag of the final response sent, if any (RFC 2543 ACK matching, §17.2.3).
    pub fn final_to_tag(&self) -> Option<String> {
        let resp = self.final_response.as_ref()?;
        resp.headers.to().ok()?.tag().map(str::to_owned)
    }

    /// The To tag of the most recent provisional response, if any (used for the 200 to a
    /// CANCEL, RFC 3261 §9.2).
    pub fn provisional_to_tag(&self) -> Option<String> {
        let resp = self.last_provisional.as_ref()?;
        resp.headers.to().ok()?.tag().map(str::to_owned)
    }

    /// A request matched this transaction: a retransmitted INVITE or the ACK for our
    /// non-2xx final response (RFC 3261 §17.2.1).
    pub fn on_request(&mut self, request: &Request, now: Instant, out: &mut Vec<Output<D>>) {
        use ServerInviteState::*;
        let is_ack = matches!(request.method, Method::Ack);
        match (self.state, is_ack) {
            (Proceeding, false) => {
                // Resend the most recent provisional response; none yet → 100 Trying now.
                let resp = match &self.last_provisional {
                    Some(resp) => resp.clone(),
                    None => self.send_trying(),
                };
                transmit(out, Message::Response(resp), &self.dest);
            }
            (Completed, false) => {
                if let Some(resp) = &self.final_response {
                    transmit(out, Message::Response(resp.clone()), &self.dest);
                }
            }
            (Completed, true) => {
                // RFC 3261 §17.2.1: ACK → Confirmed, stop G and H, arm Timer I.
                self.state = Confirmed;
                self.timer_g = None;
                self.timer_h = None;
                let i = self.config.timer_i(self.reliable);
                if i.is_zero() {
                    self.terminate(out);
                } else {
                    self.timer_i = Some(now + i);
                }
            }
            (state, is_ack) => {
                debug!(
                    state = state.as_str(),
                    is_ack, "request absorbed by INVITE server transaction"
                );
            }
        }
    }

    /// The TU answers the INVITE through this transaction (RFC 3261 §17.2.1).
    pub fn send_response(
        &mut self,
        response: Response,
        now: Instant,
        out: &mut Vec<Output<D>>,
    ) -> Result<(), TransactionError> {
        if self.state != ServerInviteState::Proceeding {
            return Err(TransactionError::InvalidState {
                state: self.state.as_str(),
                what: "response to INVITE",
            });
        }
        match response.status {
            100..=199 => {
                self.timer_trying = None;
                transmit(out, Message::Response(response.clone()), &self.dest);
                self.last_provisional = Some(response);
            }
            200..=299 => {
                // RFC 3261 §17.2.1: 2xx → Terminated; the TU retransmits it (§13.3.1.4).
                transmit(out, Message::Response(response), &self.dest);
                self.terminate(out);
            }
            300..=699 => {
                transmit(out, Message::Response(response.clone()), &self.dest);
                self.final_response = Some(response);
                self.state = ServerInviteState::Completed;
                self.timer_trying = None;
                // RFC 3261 §17.2.1: Timer G only on unreliable transports; Timer H always.
                if !self.reliable {
                    let g = self.config.timer_g();
                    self.timer_g = Some((now + g, g));
                }
                self.timer_h = Some(now + self.config.timer_h());
            }
            status => return Err(TransactionError::InvalidStatus(status)),
        }
        Ok(())
    }

    /// The driver could not send a response (RFC 3261 §17.2.1).
    pub fn on_transport_error(&mut self, out: &mut Vec<Output<D>>) {
        if self.state != ServerInviteState::Terminated {
            out.push(Output::ToTu(TuEvent::TransportError));
            self.terminate(out);
        }
    }

    /// The earliest pending timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.timer_trying,
            self.timer_g.map(|(t, _)| t),
            self.timer_h,
            self.timer_i,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Handle every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<D>>) {
        if self.timer_h.is_some_and(|t| t <= now) {
            // RFC 3261 §17.2.1: Timer H → Terminated, tell the TU the ACK never came.
            out.push(Output::ToTu(TuEvent::AckTimeout));
            self.terminate(out);
            return;
        }
        if self.timer_i.is_some_and(|t| t <= now) {
            // RFC 3261 §17.2.1: Timer I → Terminated.
            self.terminate(out);
            return;
        }
        if self.timer_trying.is_some_and(|t| t <= now) {
            // RFC 3261 §17.2.1: no provisional from the TU within 200 ms → 100 Trying.
            let trying = self.send_trying();
            transmit(out, Message::Response(trying), &self.dest);
        }
        if let Some((deadline, interval)) = self.timer_g.filter(|(t, _)| *t <= now) {
            // RFC 3261 §17.2.1: Timer G → resend the final response, min(2G, T2).
            if let Some(resp) = &self.final_response {
                transmit(out, Message::Response(resp.clone()), &self.dest);
            }
            let interval = self.config.next_capped(interval);
            let mut next = deadline + interval;
            if next <= now {
                next = now + interval;
            }
            self.timer_g = Some((next, interval));
        }
    }

    /// Build the automatic 100 Trying and remember it as the last provisional response.
    fn send_trying(&mut self) -> Response {
        self.timer_trying = None;
        let trying = build::trying_for(&self.request);
        self.last_provisional = Some(trying.clone());
        trying
    }

    fn terminate(&mut self, out: &mut Vec<Output<D>>) {
        self.state = ServerInviteState::Terminated;
        self.timer_trying = None;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        out.push(Output::Terminated);
    }
}
