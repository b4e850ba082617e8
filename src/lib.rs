//! switchboard: a SIP softswitch (B2BUA, registrar, RTP relay, dialplan, ACD, CDR) for small offices.
//!
//! Layers, each using only those before it: [`config`], [`runtime`], [`db`] → [`sip`]
//! (message → transport → transaction → dialog → auth → registrar → endpoint) → [`media`]
//! → [`switch`] → [`cdr`] → [`server`].

pub mod cdr;
pub mod config;
pub mod db;
pub mod media;
pub mod runtime;
pub mod server;
pub mod sip;
pub mod switch;
