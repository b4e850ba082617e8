//! SIP transactions (RFC 3261 §17), sans-IO.
//!
//! The four transaction state machines ([`ClientInvite`], [`ClientNonInvite`],
//! [`ServerInvite`], [`ServerNonInvite`]) and the [`TransactionTable`] that owns them,
//! matches incoming messages to them (§17.1.3, §17.2.3, RFC 2543 fallback), answers
//! CANCEL (§9.2) and multiplexes their timers.
//!
//! Nothing here does I/O or reads the clock: every input carries `now`, every machine
//! reports its next deadline through `poll_timeout()` and is driven by `on_timeout(now)`,
//! and every message to send comes back as an output (`Transmit { message, dest }`).
//! The driver (the endpoint's tokio task) owns sockets and the sleep; `D` is whatever the
//! driver uses to address a peer (the transport's `Target`): the layer only clones it.
//!
//! ```text
//!   driver ──on_request/on_response/on_timeout(now)──▶ TransactionTable ──▶ machines
//!   driver ◀──────── TableEvent { Transmit, NewRequest, Tu{..}, StrayAck, .. } ◀──┘
//! ```
//!
//! Retransmissions (timers A, E, G) run only on unreliable transports; on reliable ones
//! timers D, I, J and K are zero (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
//!
//! Depends on `sip::message` only (not on `sip::transport`).

mod build;
pub mod client_invite;
pub mod client_non_invite;
mod error;
pub mod key;
pub mod server_invite;
pub mod server_non_invite;
pub mod table;
mod timers;

#[cfg(test)]
mod tests;

pub use client_invite::{ClientInvite, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteState};
pub use error::TransactionError;
pub use key::{cancel_target_key, TransactionKey, MAGIC_COOKIE};
pub use server_invite::{ServerInvite, ServerInviteState};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteState};
pub use table::{TableEvent, TransactionTable};
pub use timers::{TimerConfig, AUTO_TRYING_DELAY};

use crate::sip::message::{Message, Response};

/// What a state machine asks its owner to do, in order.
#[derive(Debug, Clone)]
pub enum Output<D> {
    /// Send `message` to `dest` over the transaction's transport.
    Transmit {
        /// The request or response to send.
        message: Message,
        /// Where to send it (the destination the transaction was created with).
        dest: D,
    },
    /// Tell the transaction user something.
    ToTu(TuEvent),
    /// The machine reached Terminated; its owner drops it.
    Terminated,
}

/// An event for the transaction user (UAC/UAS core, dialog layer).
#[derive(Debug, Clone)]
pub enum TuEvent {
    /// A response to our request (client transactions): provisional or final. For an
    /// INVITE the first 2xx ends the transaction; later 2xx retransmissions arrive as
    /// [`TableEvent::StrayResponse`] and the dialog layer ACKs them (RFC 3261 §13.2.2.4).
    Response(Response),
    /// The request got no final response in time (Timer B or F): carries the synthetic
    /// `408 Request Timeout` the TU should treat as the answer (RFC 3261 §8.1.3.1). After
    /// a CANCEL left unanswered for 64*T1 (§9.1) the synthetic response is a `487`.
    Timeout(Response),
    /// Timer H fired: the final non-2xx response we sent to an INVITE was never
    /// acknowledged (RFC 3261 §17.2.1).
    AckTimeout,
    /// The driver reported that the transport failed to send (RFC 3261 §17.1.1.2,
    /// §17.1.2.2, §17.2.1, §17.2.2): the transaction is terminated.
    TransportError,
    /// The transaction has terminated and been removed from the table.
    Terminated,
}

/// Push a transmit of `message` to `dest`.
fn transmit<D: Clone>(out: &mut Vec<Output<D>>, message: Message, dest: &D) {
    out.push(Output::Transmit {
        message,
        dest: dest.clone(),
    });
}
