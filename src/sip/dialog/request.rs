//! Building requests inside a dialog (RFC 3261 §12.2.1.1): Request-URI and Route from the
//! remote target and route set (loose and strict routing), From/To with tags, Call-ID,
//! CSeq, Contact, Max-Forwards and a fresh Via branch; and the ACK for a 2xx (§13.2.2.4).

use super::core::is_target_refresh;
use super::{Dialog, DialogError, DialogState, Role, SentBy};
use crate::sip::message::{new_branch, HeaderName, Method, NameAddr, Request, Uri, Via};

/// RFC 3261 §8.1.1.6: Max-Forwards SHOULD be 70.
const MAX_FORWARDS: &str = "70";

/// RFC 3261 §8.1.1.5: the initial CSeq number a UAS picks when it first sends a request
/// on the dialog (any value below 2^31 will do; the peer's numbering is separate).
const INITIAL_LOCAL_SEQ: u32 = 1;

/// Methods whose requests carry our Contact: target refresh requests (§12.2.1.1, RFC 3311,
/// RFC 6665) and REFER (RFC 3515 §2.4.1). BYE, PRACK, INFO, MESSAGE do not need one.
fn carries_contact(method: &Method) -> bool {
    is_target_refresh(method) || *method == Method::Refer
}

/// The Request-URI and Route values for the dialog's next request.
struct Target {
    uri: Uri,
    routes: Vec<NameAddr>,
}

/// Whether a route entry is a loose router (its URI has `lr`, RFC 3261 §16.12.1.1).
fn is_loose(route: &NameAddr) -> bool {
    match &route.uri {
        Uri::Sip(u) => u.params.has("lr"),
        _ => false,
    }
}

/// A route URI turned into a Request-URI: RFC 3261 §12.2.1.1 strips the parameters not
/// allowed in a Request-URI (§19.1.1 Table 1: `method`, and URI headers).
fn as_request_uri(uri: &Uri) -> Uri {
    let mut uri = uri.clone();
    if let Uri::Sip(u) = &mut uri {
        u.params.remove("method");
        u.headers = None;
    }
    uri
}

impl Dialog {
    /// RFC 3261 §12.2.1.1: Request-URI and Route set for the next request.
    fn target(&self) -> Target {
        match self.route_set.split_first() {
            // No route set: straight to the remote target.
            None => Target {
                uri: self.remote_target.clone(),
                routes: Vec::new(),
            },
            // Loose routing: Request-URI = remote target, Route = route set as is.
            Some((first, _)) if is_loose(first) => Target {
                uri: self.remote_target.clone(),
                routes: self.route_set.clone(),
            },
            // Strict routing: Request-URI = first route, Route = the rest, then the remote
            // target as the last entry.
            Some((first, rest)) => {
                let mut routes = rest.to_vec();
                routes.push(NameAddr::new(self.remote_target.clone()));
                Target {
                    uri: as_request_uri(&first.uri),
                    routes,
                }
            }
        }
    }

    /// The URI to resolve (RFC 3263) to send the next request: the first route if there is
    /// a route set, else the remote target (RFC 3261 §8.1.2, §12.2.1.1).
    pub fn next_hop(&self) -> &Uri {
        self.route_set
            .first()
            .map_or(&self.remote_target, |r| &r.uri)
    }

    /// Builds a new in-dialog request (RFC 3261 §12.2.1.1) with the next local CSeq number.
    /// The caller adds a body, credentials and any method-specific headers, then hands the
    /// request to a new client transaction towards [`Dialog::next_hop`].
    ///
    /// Fails on a terminated dialog, for BYE from the callee on an early dialog (§15), and
    /// for ACK/CANCEL ([`Dialog::create_ack`] builds the ACK for a 2xx; CANCEL is built from
    /// the request it cancels, §9.1).
    pub fn create_request(&mut self, method: Method, via: &SentBy) -> Result<Request, DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated);
        }
        if matches!(method, Method::Ack | Method::Cancel) {
            return Err(DialogError::WrongMethod(method));
        }
        // RFC 3261 §15: the callee MUST NOT send BYE on an early dialog.
        if method == Method::Bye && self.role == Role::Uas && self.state == DialogState::Early {
            return Err(DialogError::ByeOnEarlyDialog);
        }
        // RFC 3261 §12.2.1.1: CSeq = local sequence number + 1 (initial value if empty).
        let seq = self
            .local_seq
            .map_or(INITIAL_LOCAL_SEQ, |s| s.saturating_add(1));
        self.local_seq = Some(seq);
        if method == Method::Invite {
            // RFC 3261 §14.1: remembered until its final response, for glare (§14.2).
            self.pending_local_invite = Some(seq);
        }
        Ok(self.build(method, seq, via))
    }

    /// The ACK for a 2xx response to the INVITE with CSeq number `invite_seq`
    /// (RFC 3261 §13.2.2.4): same CSeq number with method ACK, the dialog's Request-URI
    /// and Route, and a new branch. It is sent directly, not through a transaction.
    pub fn create_ack(&self, invite_seq: u32, via: &SentBy) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }

    fn build(&self, method: Method, seq: u32, via: &SentBy) -> Request {
        let target = self.target();
        let mut req = Request::new(method.clone(), target.uri);
        let h = &mut req.headers;
        // RFC 3261 §8.1.1.7: fresh branch; RFC 3581 §3: ask for rport.
        let mut top = Via::new(
            via.transport.clone(),
            via.host.clone(),
            via.port,
            &new_branch(),
        );
        top.params.set("rport", None);
        h.push(HeaderName::Via, top.to_string());
        h.push(HeaderName::MaxForwards, MAX_FORWARDS);
        for route in &target.routes {
            h.push(HeaderName::Route, route.to_string());
        }
        // RFC 3261 §12.2.1.1: From = local URI + local tag, To = remote URI + remote tag.
        h.push(
            HeaderName::From,
            tagged(&self.local_uri, &self.id.local_tag).to_string(),
        );
        h.push(
            HeaderName::To,
            tagged(&self.remote_uri, &self.id.remote_tag).to_string(),
        );
        h.push(HeaderName::CallId, self.id.call_id.clone());
        h.push(HeaderName::CSeq, format!("{seq} {method}"));
        if carries_contact(&method) {
            h.push(HeaderName::Contact, self.local_contact.to_string());
        }
        h.push(HeaderName::ContentLength, "0");
        req
    }
}

/// A From/To value with its tag (none when the tag is null, §12.1.1).
fn tagged(addr: &NameAddr, tag: &str) -> NameAddr {
    let mut addr = addr.clone();
    if !tag.is_empty() {
        addr.set_tag(tag);
    }
    addr
}
