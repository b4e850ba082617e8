//! Building responses: [`Response::new`], [`Response::for_request`] (RFC 3261 §8.2.6) and
//! the default reason phrases of every status code defined by RFC 3261 §21 (plus the
//! common extension codes). Depends on [`super::msg`], [`super::headers`].

use bytes::Bytes;

use super::header_name::HeaderName;
use super::headers::{Header, Headers};
use super::msg::{Request, Response};

impl Response {
    /// A response with no headers and an empty body.
    pub fn new(status: u16, reason: impl Into<String>) -> Response {
        Response {
            status,
            reason: reason.into(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// RFC 3261 §8.2.6.2: copies all Via lines, From, To, Call-ID and CSeq (untouched lines
    /// stay byte-identical); adds `to_tag` to To when given and To has no tag yet; sets
    /// Content-Length 0. `reason` defaults to [`default_reason`]. Record-Route (§12.1.1)
    /// is the caller's job.
    pub fn for_request(
        req: &Request,
        status: u16,
        reason: Option<&str>,
        to_tag: Option<&str>,
    ) -> Response {
        let mut resp = Response::new(status, reason.unwrap_or_else(|| default_reason(status)));
        let copied: Vec<&Header> = req
            .headers
            .iter()
            .filter(|h| {
                matches!(
                    h.name(),
                    HeaderName::Via
                        | HeaderName::From
                        | HeaderName::To
                        | HeaderName::CallId
                        | HeaderName::CSeq
                )
            })
            .collect();
        for h in copied {
            let needs_tag = *h.name() == HeaderName::To && to_tag.is_some() && !has_tag(h.value());
            match (needs_tag, to_tag) {
                (true, Some(tag)) => resp
                    .headers
                    .push(HeaderName::To, format!("{};tag={tag}", h.value())),
                _ => resp.headers.push_header(h.clone()),
            }
        }
        resp.headers.push(HeaderName::ContentLength, "0");
        resp
    }
}

/// Whether a To/From value already carries a tag parameter.
fn has_tag(value: &str) -> bool {
    match super::typed::name_addr::NameAddr::parse(value) {
        Ok(na) => na.tag().is_some(),
        Err(_) => value.to_ascii_lowercase().contains(";tag="),
    }
}

/// The reason phrase RFC 3261 §21 (and the extensions that define them) gives `status`;
/// for unknown codes a generic phrase of the class.
pub fn default_reason(status: u16) -> &'static str {
    known_reason(status).unwrap_or(match status {
        100..=199 => "Provisional",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Global Failure",
    })
}

/// The registered reason phrase of `status`, if any.
fn known_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Message;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK1\r\nv: SIP/2.0/UDP p2;branch=z9hG4bK2\r\nMax-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.com>\r\nFrom: <sip:alice@atlanta.com>;tag=1928\r\nCall-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@pc33>\r\nRecord-Route: <sip:p1;lr>\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn for_request_copies_the_right_headers() {
        let Ok(Message::Request(req)) = Message::parse(INVITE) else {
            panic!("fixture must parse")
        };
        let resp = Response::for_request(&req, 180, None, Some("xyz"));
        assert_eq!(resp.reason, "Ringing");
        let wire = resp.to_bytes();
        let want = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bK1\r\nv: SIP/2.0/UDP p2;branch=z9hG4bK2\r\nTo: Bob <sip:bob@biloxi.com>;tag=xyz\r\nFrom: <sip:alice@atlanta.com>;tag=1928\r\nCall-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(std::str::from_utf8(&wire).ok(), Some(want));
        let resp = Response::for_request(&req, 486, Some("Busy"), None);
        assert_eq!(resp.headers.to().expect("to").tag(), None);
        assert_eq!(resp.reason, "Busy");
        // In-dialog request: To already has a tag, which is kept byte for byte.
        let tagged = std::str::from_utf8(INVITE).unwrap_or_default().replace(
            "To: Bob <sip:bob@biloxi.com>",
            "To: Bob <sip:bob@biloxi.com>;tag=old",
        );
        let Ok(Message::Request(req)) = Message::parse(tagged.as_bytes()) else {
            panic!("fixture must parse")
        };
        let resp = Response::for_request(&req, 200, None, Some("new"));
        assert_eq!(
            resp.headers.get(&HeaderName::To),
            Some("Bob <sip:bob@biloxi.com>;tag=old")
        );
    }

    #[test]
    fn reasons() {
        for (code, want) in [
            (100, "Trying"),
            (481, "Call/Transaction Does Not Exist"),
            (505, "Version Not Supported"),
            (299, "Success"),
            (699, "Global Failure"),
        ] {
            assert_eq!(default_reason(code), want);
        }
    }
}
