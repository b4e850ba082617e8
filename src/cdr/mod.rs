//! The CDR subsystem: a consumer of the switch's event stream that turns events into
//! leg-mode records (one per channel), bridge-mode records (one per path of communication
//! between Party A and Party B, Asterisk specification) and CEL rows, and writes them to
//! SQLite, a CSV log, a live feed and an optional webhook without ever blocking calls.
//!
//! - [`model`]: the record types and the store operations the engines emit.
//!
//! Layering: uses `config`, `db` and `switch` (events, snapshots); the switch never uses it.

pub mod bridge;
pub mod cel;
pub mod csv;
pub mod export;
pub mod fields;
pub mod leg;
pub mod model;
pub mod pipeline;
pub mod store;
#[cfg(test)]
pub(crate) mod testkit;
pub mod time;
pub mod webhook;
