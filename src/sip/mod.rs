//! The SIP stack, bottom to top: message syntax and framing, transports, transactions
//! (RFC 3261 §17), dialogs (§12), digest authentication, the registrar, and the endpoint
//! that ties them to the network.

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod message;
pub mod registrar;
pub mod transaction;
pub mod transport;
