//! Messages the transaction layer builds itself: the ACK for a non-2xx final response
//! (RFC 3261 §17.1.1.3), CANCEL (§9.1), the automatic `100 Trying` (§17.2.1, §8.2.6.1)
//! and the synthetic responses handed to the TU on timeouts (§8.1.3.1).
//!
//! Depends on `sip::message` only.

use crate::sip::message::{HeaderName, Method, Request, Response};

/// Max-Forwards put on ACK and CANCEL we generate (RFC 3261 §8.1.1.6 recommends 70).
const MAX_FORWARDS: &str = "70";

/// Start a hop-by-hop request (ACK or CANCEL) that copies the Request-URI, the top Via,
/// From, Call-ID, the CSeq number and the Route set of `original`, with `to` as To.
fn hop_request(original: &Request, method: Method, to: Option<&str>) -> Request {
    let mut req = Request::new(method.clone(), original.uri.clone());
    let src = &original.headers;
    let h = &mut req.headers;
    // A single Via equal to the top Via of the original request (§17.1.1.3, §9.1).
    if let Some(via) = src.values(&HeaderName::Via).next() {
        h.push(HeaderName::Via, via.trim());
    }
    h.push(HeaderName::MaxForwards, MAX_FORWARDS);
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        let value = match (&name, to) {
            (HeaderName::To, Some(to)) => Some(to),
            _ => src.get(&name),
        };
        if let Some(value) = value {
            h.push(name, value);
        }
    }
    // CSeq: same number, our method (§17.1.1.3, §9.1). A request without a parsable CSeq
    // never became a transaction, so the fallback to 0 is not reached in practice.
    let seq = src.cseq().map(|c| c.seq).unwrap_or(0);
    h.push(HeaderName::CSeq, format!("{seq} {}", method.as_str()));
    // Route header fields of the original request (§17.1.1.3, §9.1).
    for route in src.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, route);
    }
    h.push(HeaderName::ContentLength, "0");
    req
}

/// The ACK for a 300–699 response to `invite` (RFC 3261 §17.1.1.3): same Request-URI,
/// Call-ID, From, CSeq number, top Via (so the same branch) and Route set as the INVITE,
/// and the To of the response (it carries the UAS's tag).
pub(super) fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    hop_request(invite, Method::Ack, response.headers.get(&HeaderName::To))
}

/// The CANCEL for `invite` (RFC 3261 §9.1): same Request-URI, Call-ID, To, From, CSeq
/// number (method CANCEL), a single Via equal to the INVITE's top Via, Route copied.
pub(super) fn cancel_for(invite: &Request) -> Request {
    hop_request(invite, Method::Cancel, None)
}

/// The `100 Trying` an INVITE server transaction sends on its own (RFC 3261 §17.2.1):
/// no To tag, Timestamp copied (§8.2.6.1).
pub(super) fn trying_for(invite: &Request) -> Response {
    let mut resp = Response::for_request(invite, 100, None, None);
    if let Some(ts) = invite.headers.get(&HeaderName::Timestamp) {
        let ts = ts.to_owned();
        resp.headers.push(HeaderName::Timestamp, ts);
    }
    resp
}

/// A response the transaction layer synthesises for the TU (RFC 3261 §8.1.3.1).
pub(super) fn synthetic(req: &Request, status: u16) -> Response {
    Response::for_request(req, status, None, None)
}
