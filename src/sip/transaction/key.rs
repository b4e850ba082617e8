//! Transaction matching keys (RFC 3261 §17.1.3, §17.2.3, §9.2).
//!
//! A [`TransactionKey`] names one transaction in the [`super::TransactionTable`]:
//!
//! * client transactions: top-Via branch + CSeq method of the request (§17.1.3);
//! * server transactions, RFC 3261 peers (branch starts with the magic cookie `z9hG4bK`):
//!   branch + sent-by of the top Via + method, where ACK is filed under INVITE so it
//!   reaches the INVITE transaction and CANCEL keeps its own method (§17.2.3);
//! * server transactions, RFC 2543 peers (no magic cookie): Request-URI, From tag,
//!   Call-ID, CSeq number, method and the whole top Via (§17.2.3). The To tag is *not*
//!   part of this key for INVITE/ACK/CANCEL: the ACK's To tag must equal the tag of the
//!   response we sent and a CANCEL's must equal the INVITE's, which the table checks
//!   after the lookup (it knows the tags); for other methods the To tag is in the key.
//!
//! Depends on `sip::message` only.

use std::fmt;

use crate::sip::message::{HeaderName, Method, Request, Response};

use super::error::TransactionError;

/// RFC 3261 §8.1.1.7: branches of RFC 3261 implementations start with this cookie.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Identifies one transaction. Built only by the constructors below so that both sides of
/// a match are normalised the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionKey {
    /// A client transaction (RFC 3261 §17.1.3).
    Client {
        /// Top Via branch of the request we sent.
        branch: String,
        /// CSeq method of the request (`"INVITE"`, `"CANCEL"`, ...).
        method: String,
    },
    /// A server transaction created by an RFC 3261 request (RFC 3261 §17.2.3).
    Server {
        /// Top Via branch (with the magic cookie).
        branch: String,
        /// Top Via sent-by, host lower-cased, `host` or `host:port`.
        sent_by: String,
        /// Request method, with ACK mapped to INVITE.
        method: String,
    },
    /// A server transaction created by an RFC 2543 request (RFC 3261 §17.2.3, last part).
    Rfc2543 {
        /// Request-URI as sent.
        request_uri: String,
        /// From tag ("" when absent).
        from_tag: String,
        /// Call-ID.
        call_id: String,
        /// CSeq number.
        cseq: u32,
        /// Method, ACK mapped to INVITE.
        method: String,
        /// The whole top Via value.
        top_via: String,
        /// To tag for methods other than INVITE/ACK/CANCEL, "" otherwise (see module doc).
        to_tag: String,
    },
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client { branch, method } => write!(f, "client {method} {branch}"),
            Self::Server {
                branch,
                sent_by,
                method,
            } => write!(f, "server {method} {branch} {sent_by}"),
            Self::Rfc2543 {
                call_id,
                cseq,
                method,
                ..
            } => write!(f, "rfc2543 {method} {cseq} {call_id}"),
        }
    }
}

impl TransactionKey {
    /// Key of the client transaction an outgoing request creates (RFC 3261 §17.1.3).
    /// Fails when the top Via has no `z9hG4bK` branch: we always send RFC 3261 branches.
    pub fn for_outgoing_request(req: &Request) -> Result<Self, TransactionError> {
        let via = req.headers.top_via()?;
        let branch = via.branch().ok_or(TransactionError::MissingBranch)?;
        if !branch.starts_with(MAGIC_COOKIE) {
            return Err(TransactionError::MissingBranch);
        }
        Ok(Self::Client {
            branch: branch.to_owned(),
            method: req.method.as_str().to_owned(),
        })
    }

    /// Key of the client transaction a response belongs to: top Via branch + CSeq method
    /// (RFC 3261 §17.1.3). `None` when the top Via has no branch (cannot be ours).
    pub fn for_response(resp: &Response) -> Result<Option<Self>, TransactionError> {
        let via = resp.headers.top_via()?;
        let cseq = resp.headers.cseq()?;
        Ok(via.branch().map(|branch| Self::Client {
            branch: branch.to_owned(),
            method: cseq.method.as_str().to_owned(),
        }))
    }

    /// Key of the server transaction an incoming request belongs to (RFC 3261 §17.2.3).
    /// ACK yields the key of the INVITE transaction it acknowledges.
    pub fn for_incoming_request(req: &Request) -> Result<Self, TransactionError> {
        server_key(req, &req.method)
    }

    /// The method this key files its transaction under (ACK appears as INVITE).
    pub fn method(&self) -> &str {
        match self {
            Self::Client { method, .. }
            | Self::Server { method, .. }
            | Self::Rfc2543 { method, .. } => method,
        }
    }

    /// Whether this key was built with the RFC 2543 fallback.
    pub fn is_rfc2543(&self) -> bool {
        matches!(self, Self::Rfc2543 { .. })
    }
}

/// Key of the INVITE server transaction a CANCEL targets (RFC 3261 §9.2): the CANCEL is
/// matched by §17.2.3 as if its method were INVITE.
pub fn cancel_target_key(cancel: &Request) -> Result<TransactionKey, TransactionError> {
    server_key(cancel, &Method::Invite)
}

/// Key for a server transaction, pretending the request's method is `method`.
fn server_key(req: &Request, method: &Method) -> Result<TransactionKey, TransactionError> {
    let via = req.headers.top_via()?;
    // RFC 3261 §17.2.3: ACK matches the INVITE transaction.
    let method = match method {
        Method::Ack => Method::Invite.as_str().to_owned(),
        other => other.as_str().to_owned(),
    };
    if let Some(branch) = via.branch().filter(|b| b.starts_with(MAGIC_COOKIE)) {
        let host = via.host.to_string().to_ascii_lowercase();
        let sent_by = match via.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        return Ok(TransactionKey::Server {
            branch: branch.to_owned(),
            sent_by,
            method,
        });
    }
    // RFC 3261 §17.2.3: RFC 2543 fallback.
    let headers = &req.headers;
    let cseq = headers.cseq()?;
    let from_tag = headers.from()?.tag().unwrap_or_default().to_owned();
    let to_tag = if matches!(method.as_str(), "INVITE" | "CANCEL") {
        String::new()
    } else {
        headers.to()?.tag().unwrap_or_default().to_owned()
    };
    let top_via = headers
        .values(&HeaderName::Via)
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    Ok(TransactionKey::Rfc2543 {
        request_uri: req.uri.to_string(),
        from_tag,
        call_id: headers.call_id()?.to_owned(),
        cseq: cseq.seq,
        method,
        top_via,
        to_tag,
    })
}
