//! switchboard: a SIP softswitch (B2BUA, registrar, RTP relay, dialplan, ACD, CDR) for small offices.
//!
//! Layers, each using only those before it: [`config`], [`runtime`], [`db`] → [`sip`]
//! (message → transport → transaction → dialog → auth → registrar → endpoint) → [`media`]
//! → [`switch`] → [`cdr`], [`dialplan`] → [`server`]. (The dialplan parser, matcher and
//! expression evaluator exist; calls still use the built-in routing until it is wired in.)

pub mod cdr;
pub mod config;
pub mod db;
pub mod dialplan;
pub mod media;
pub mod runtime;
pub mod server;
pub mod sip;
pub mod switch;
pub mod web;
