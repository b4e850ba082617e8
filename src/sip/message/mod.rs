//! The SIP message layer (RFC 3261 §7, §20, §25): methods, URIs, header names, the header
//! container with lazy typed accessors, parsing, framing for datagrams and streams,
//! serialisation that keeps untouched headers byte-identical, response construction and
//! random identifiers.
//!
//! Depends on nothing else in the crate (it is the bottom of the SIP stack); everything
//! above (`transport`, `transaction`, `dialog`, ...) uses the types re-exported here.
//!
//! Data flow: bytes → [`StreamFramer`] (streams) → [`Message::parse`] (start line, header
//! boundaries and names; values untouched) → typed accessors on [`Headers`] on demand →
//! [`Message::encode`].

#![warn(missing_docs, unreachable_pub)]

mod encode;
mod error;
mod framing;
mod header_name;
mod headers;
mod ids;
mod lex;
mod method;
mod msg;
mod parse;
mod response;
pub mod typed;
mod uri;

pub use error::ParseError;
pub use framing::{Framed, StreamFramer};
pub use header_name::HeaderName;
pub use headers::{Header, Headers};
pub use ids::{new_branch, new_call_id, new_tag, BRANCH_COOKIE};
pub use method::Method;
pub use msg::{Message, Request, Response};
pub use response::default_reason;
pub use typed::cseq::CSeq;
pub use typed::name_addr::{ContactValue, NameAddr};
pub use typed::params::Params;
pub use typed::via::{Transport, Via};
pub use uri::{Host, Scheme, SipUri, TelUri, Uri};
