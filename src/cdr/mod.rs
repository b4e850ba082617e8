//! The CDR subsystem: a consumer of the switch's event stream that turns events into
//! leg-mode records (one per channel), bridge-mode records (one per path of communication
//! between Party A and Party B, Asterisk specification) and CEL rows, and writes them to
//! SQLite, a CSV log, a live feed and an optional webhook without ever blocking calls.
//!
//! - [`model`]: the record types, the store operations (`CdrOp`) and feed items.
//! - [`leg`], [`bridge`], [`cel`]: the sans-IO engines, `apply(&Event, &mut Vec<CdrOp>)`.
//! - [`pipeline`]: the tasks (bus → engines → backlog → writer), [`writer`] (group commit,
//!   retries, status file, CSV thread), [`health`] (counters, latency histogram).
//! - [`store`]: `cdr.db` (schema, batch writes, crash journal, recovery, outbox).
//! - [`fields`] (custom fields), [`csv`] (daily CSV logs), [`time`] (rendering and parsing),
//!   [`webhook`] (HTTP delivery from the outbox), [`export`] (CSV / JSON Lines streaming).
//! - [`query`]: searches, call detail and reports for the web (read-only connections).
//!
//! Layering: uses `config`, `db` and `switch` (events, snapshots); the switch never uses it.

pub mod bridge;
pub mod cel;
pub mod csv;
pub mod export;
pub mod fields;
pub mod health;
pub mod leg;
pub mod model;
pub mod pipeline;
pub mod query;
pub mod store;
#[cfg(test)]
pub(crate) mod testkit;
pub mod time;
pub mod webhook;
pub mod writer;
