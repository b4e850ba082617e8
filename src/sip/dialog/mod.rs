//! SIP dialogs (RFC 3261 §12, with the dialog parts of §13 INVITE, §14 re-INVITE and §15 BYE),
//! sans-IO.
//!
//! A [`Dialog`] is the peer-to-peer state two user agents keep between an INVITE's
//! non-failure response and the BYE: the dialog ID (Call-ID + local tag + remote tag), the
//! local and remote CSeq numbers, the remote target (the peer's Contact), the route set
//! learned from Record-Route, and the secure flag. Nothing here does I/O or keeps time: the
//! caller feeds requests and responses in ([`Dialog::on_request`], [`Dialog::on_response`],
//! [`Dialog::on_sent_response`]) and builds in-dialog requests out
//! ([`Dialog::create_request`], [`Dialog::create_ack`]), handing them to the transaction
//! layer itself. [`DialogTable`] finds the dialog an incoming request or response belongs
//! to, keeps the several early dialogs a forked INVITE may create, and
//! [`unknown_dialog_response`] builds the 481 for in-dialog requests that match nothing.
//!
//! Depends only on [`crate::sip::message`] (and `tracing`); the transaction layer is the
//! caller's business.
//!
//! ```text
//!   UAC: 101-199 with To tag          UAS: sends 101-199 with To tag
//!   (Dialog::new_uac)                 (Dialog::new_uas)
//!              |                                |
//!              v                                v
//!         +---------+   2xx to the INVITE   +-----------+
//!         |  Early  | --------------------> | Confirmed | <-- 2xx creates it directly
//!         +---------+   (received / sent)   +-----------+     (new_uac / new_uas)
//!              |                                 |
//!              | 3xx-6xx to the INVITE           | BYE received or answered,
//!              | (§12.3), BYE from UAC (§15)     | 481/408 to an in-dialog request,
//!              v                                 | no response at all (§12.2.1.2)
//!         +------------+                         |
//!         | Terminated | <-----------------------+
//!         +------------+
//! ```

mod core;
mod request;
mod table;

#[cfg(test)]
mod tests;

pub use self::core::Dialog;
pub use self::table::{unknown_dialog_response, DialogTable, RequestDispatch, UacResponseOutcome};

use crate::sip::message::{HeaderName, Host, Method, ParseError, Request, Response, Transport};

/// Identifies a dialog (RFC 3261 §12): Call-ID plus the tags seen from this side.
///
/// For a UAS the local tag is the To tag it put in its response; for a UAC it is the From
/// tag of its request. Call-IDs and tags are compared byte for byte (§8.1.1.4, §19.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The Call-ID header value shared by every message of the dialog.
    pub call_id: String,
    /// Our tag (From tag of our requests, To tag of requests we receive).
    pub local_tag: String,
    /// The peer's tag; empty when an RFC 2543 peer sent no From tag (§12.1.1).
    pub remote_tag: String,
}

/// Where a dialog is in its life (RFC 3261 §12): see the module diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional (101-199) response with a To tag.
    Early,
    /// Created or confirmed by a 2xx response.
    Confirmed,
    /// Ended by BYE, a failure final response, 481/408 or a timeout; no more requests.
    Terminated,
}

/// Which side of the dialog-creating request we were on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We sent the dialog-creating request (§12.1.2).
    Uac,
    /// We received it and answered (§12.1.1).
    Uas,
}

/// The transport and sent-by address to put in the Via of a request we build; the branch
/// is generated fresh for each request (RFC 3261 §8.1.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentBy {
    /// Transport the request will leave on (the Via sent-protocol).
    pub transport: Transport,
    /// Host (or address) where we want responses.
    pub host: Host,
    /// Port where we want responses; `None` leaves the default for the transport.
    pub port: Option<u16>,
}

/// Why a message could not create or update a dialog, or a request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// The response has no To tag, so no dialog ID can be formed (§12.1.2).
    #[error("response has no To tag")]
    MissingToTag,
    /// Our own request has no From tag (§8.1.1.3 makes it mandatory).
    #[error("request has no From tag")]
    MissingFromTag,
    /// No usable SIP Contact where §12.1.1/§12.1.2 require one (the remote target, or
    /// our own Contact in the INVITE we sent).
    #[error("no usable Contact header")]
    MissingContact,
    /// Only 101-299 responses create dialogs (§12.1).
    #[error("status {status} does not create a dialog")]
    NotDialogCreating {
        /// The status code that was offered.
        status: u16,
    },
    /// The request's CSeq is lower than the remote sequence number (§12.2.2): answer 500.
    #[error("CSeq {received} is lower than the remote sequence number {remote_seq}")]
    CSeqOutOfOrder {
        /// CSeq number of the rejected request.
        received: u32,
        /// The dialog's remote sequence number.
        remote_seq: u32,
    },
    /// An INVITE arrived while an earlier INVITE from the peer is still unanswered (§14.2):
    /// answer 500 with a Retry-After of 0-10 s.
    #[error("an earlier INVITE on this dialog is still in progress")]
    InviteInProgress,
    /// An INVITE arrived while our own INVITE on this dialog is in progress (§14.2):
    /// answer 491 Request Pending.
    #[error("our INVITE on this dialog is still in progress")]
    RequestPending,
    /// The dialog is terminated: no requests may be sent, received ones get 481.
    #[error("dialog is terminated")]
    Terminated,
    /// The callee must not send BYE on an early dialog (§15); it sends a final response.
    #[error("a UAS must not send BYE on an early dialog")]
    ByeOnEarlyDialog,
    /// ACK and CANCEL are not built with `create_request`: ACK for 2xx comes from
    /// [`Dialog::create_ack`] (§13.2.2.4), CANCEL from the request it cancels (§9.1).
    #[error("{0} cannot be built as a new in-dialog request")]
    WrongMethod(Method),
    /// A header the dialog needs could not be parsed.
    #[error("bad header: {0}")]
    BadHeader(#[from] ParseError),
}

impl DialogError {
    /// The status to answer a received in-dialog request with when
    /// [`Dialog::on_request`] returned this error, if it calls for one.
    pub fn status(&self) -> Option<u16> {
        match self {
            // RFC 3261 §12.2.2: out-of-order request gets 500.
            DialogError::CSeqOutOfOrder { .. } => Some(500),
            // RFC 3261 §14.2: overlapping INVITEs from the peer get 500 + Retry-After.
            DialogError::InviteInProgress => Some(500),
            // RFC 3261 §14.2: INVITE glare gets 491.
            DialogError::RequestPending => Some(491),
            // RFC 3261 §12.2.2: no (live) dialog for the request.
            DialogError::Terminated => Some(481),
            DialogError::BadHeader(_) => Some(400),
            _ => None,
        }
    }

    /// Builds the response for a received request rejected by [`Dialog::on_request`]
    /// (`None` for ACK, which is never answered, or an error that calls for no response).
    /// `retry_after` (seconds, RFC 3261 §14.2 says pick 0-10 at random) is added to the
    /// 500 for [`DialogError::InviteInProgress`].
    pub fn response_for(&self, req: &Request, retry_after: u32) -> Option<Response> {
        if req.method == Method::Ack {
            return None;
        }
        let status = self.status()?;
        let reason = match self {
            DialogError::BadHeader(e) => Some(e.reason()),
            _ => None,
        };
        let mut resp = Response::for_request(req, status, reason, None);
        if matches!(self, DialogError::InviteInProgress) {
            resp.headers
                .push(HeaderName::RetryAfter, retry_after.to_string());
        }
        Some(resp)
    }
}
