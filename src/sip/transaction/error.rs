//! Errors of the transaction layer. Depends on `sip::message` (for `ParseError`).

use crate::sip::message::ParseError;

use super::key::TransactionKey;

/// What can go wrong when the TU or the driver hands something to the transaction layer.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// No live transaction has this key (it never existed or has terminated).
    #[error("no transaction {0}")]
    UnknownTransaction(Box<TransactionKey>),
    /// A transaction with this key already exists (the caller reused a branch).
    #[error("transaction {0} already exists")]
    DuplicateTransaction(Box<TransactionKey>),
    /// The input is not allowed in the transaction's current state
    /// (e.g. a second final response, a CANCEL after the final response).
    #[error("{what} not allowed in state {state}")]
    InvalidState {
        /// The transaction's state when the input arrived.
        state: &'static str,
        /// What the caller tried to do.
        what: &'static str,
    },
    /// A header needed for matching (Via, CSeq, Call-ID, From, To) is missing or malformed.
    #[error("malformed message: {0}")]
    Malformed(#[from] ParseError),
    /// A request we send has no top Via branch with the RFC 3261 magic cookie `z9hG4bK`
    /// (RFC 3261 §8.1.1.7).
    #[error("top Via of an outgoing request has no z9hG4bK branch")]
    MissingBranch,
    /// ACK cannot start a client transaction: ACK for a non-2xx is sent by the INVITE
    /// transaction itself, ACK for a 2xx is sent by the TU directly (RFC 3261 §17.1.1.3).
    #[error("ACK does not create a client transaction")]
    AckIsNotATransaction,
    /// The response's status code is outside 100..=699.
    #[error("invalid status code {0}")]
    InvalidStatus(u16),
    /// The transaction is of the wrong kind for this operation (e.g. CANCEL of a non-INVITE,
    /// a response sent through a client transaction).
    #[error("wrong transaction kind for {0}")]
    WrongKind(&'static str),
}
