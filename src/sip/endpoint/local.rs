//! Responses the endpoint gives on its own, before or instead of a request handler:
//! `OPTIONS` (RFC 3261 §11.2), `483` for exhausted Max-Forwards, `416` for URI schemes we
//! cannot serve (§8.2.2.1), `420` for unsupported required extensions (§8.2.2.3), and
//! `405`/`501` with `Allow` for methods we do not handle (§8.2.1).
//!
//! Depends on `sip::message` only.

use crate::sip::dialog::unknown_dialog_response;
use crate::sip::message::{new_tag, HeaderName, Method, Request, Response, Uri};

/// Methods this endpoint answers without a call core (the `Allow` header value).
pub const ALLOW: &str = "ACK, CANCEL, OPTIONS, REGISTER";

/// Methods answered when a call core consumes the incoming requests.
pub const ALLOW_CALLS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE";

/// The `Allow` value: with or without a call core.
pub fn allow(calls: bool) -> &'static str {
    if calls {
        ALLOW_CALLS
    } else {
        ALLOW
    }
}

/// Extensions we implement (the `Supported` header value, and what `Require` may name).
/// `timer` (RFC 4028): the call core passes session timers through and answers a caller
/// that requires one with its own interval (`switch::call`).
pub const SUPPORTED: &[&str] = &["path", "timer"];

/// What the endpoint does with a new (valid) request before any handler sees it.
#[derive(Debug)]
pub enum Screening {
    /// Answer with this response; no handler runs.
    Answer(Response),
    /// Pass the request on to its handler.
    Pass,
}

/// Applies the checks every UAS makes before processing (RFC 3261 §8.2, and §16.3 for
/// Max-Forwards, which a B2BUA enforces like a proxy), in the RFC's order. `calls`: a call
/// core consumes INVITE, BYE, INFO and UPDATE (else they get 405).
pub fn screen(req: &Request, server: &str, calls: bool) -> Screening {
    let answer = |status, reason: Option<&str>| {
        let mut r = Response::for_request(req, status, reason, Some(&new_tag()));
        r.headers.push(HeaderName::Server, server);
        r
    };
    // §8.2.1: methods. An extension method is unknown to us → 501; a known one we do not
    // serve yet → 405, both with Allow.
    match &req.method {
        Method::Extension(_) => {
            let mut r = answer(501, None);
            r.headers.push(HeaderName::Allow, allow(calls));
            return Screening::Answer(r);
        }
        Method::Register | Method::Options | Method::Ack | Method::Cancel => {}
        Method::Invite | Method::Bye | Method::Info | Method::Update if calls => {}
        _ => {
            let mut r = answer(405, None);
            r.headers.push(HeaderName::Allow, allow(calls));
            return Screening::Answer(r);
        }
    }
    // §8.2.2.1: Request-URI scheme.
    if !matches!(req.uri, Uri::Sip(_)) {
        return Screening::Answer(answer(416, None));
    }
    // §16.3 step 3: Max-Forwards exhausted.
    if let Ok(Some(0)) = req.headers.max_forwards() {
        if !matches!(req.method, Method::Ack) {
            return Screening::Answer(answer(483, None));
        }
    }
    // §8.2.2.3: Require naming an extension we do not support (not for CANCEL/ACK).
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<&str> = req
            .headers
            .values(&HeaderName::Require)
            .filter(|opt| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(opt)))
            .collect();
        if !unsupported.is_empty() {
            let mut r = answer(420, None);
            r.headers
                .push(HeaderName::Unsupported, unsupported.join(", "));
            return Screening::Answer(r);
        }
    }
    Screening::Pass
}

/// The 200 answer to an OPTIONS request addressed to us (RFC 3261 §11.2).
pub fn options_ok(req: &Request, server: &str, calls: bool) -> Response {
    let mut r = Response::for_request(req, 200, None, Some(&new_tag()));
    r.headers.push(HeaderName::Allow, allow(calls));
    r.headers.push(HeaderName::Accept, "application/sdp");
    r.headers.push(HeaderName::Supported, SUPPORTED.join(", "));
    r.headers.push(HeaderName::Server, server);
    r
}

/// `481 Call/Transaction Does Not Exist` for an in-dialog request that matches no
/// registered dialog (RFC 3261 §12.2.2).
pub fn no_dialog(req: &Request, server: &str) -> Response {
    let mut r = unknown_dialog_response(req);
    r.headers.push(HeaderName::Server, server);
    r
}

/// `503 Service Unavailable` with `Retry-After` (RFC 3261 §21.5.4) for a request the call
/// core cannot take now (its queue is full).
pub fn overloaded(req: &Request, server: &str, retry_after: u32) -> Response {
    let mut r = Response::for_request(req, 503, None, Some(&new_tag()));
    r.headers
        .push(HeaderName::RetryAfter, retry_after.to_string());
    r.headers.push(HeaderName::Server, server);
    r
}

/// True when `req` carries a To tag, i.e. claims to belong to a dialog (RFC 3261 §12.2.2).
pub fn is_in_dialog(req: &Request) -> bool {
    req.headers
        .to()
        .map(|to| to.tag().is_some())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::Message;

    fn request(method_line: &str, extra: &str) -> Request {
        let method = method_line.split(' ').next().unwrap_or("OPTIONS");
        let text = format!(
            "{method_line}\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-s\r\n\
             From: <sip:1000@switchboard.test>;tag=f\r\nTo: <sip:switchboard.test>\r\n\
             Call-ID: screen\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match Message::parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("fixture did not parse: {other:?}"),
        }
    }

    fn status(s: Screening) -> Option<u16> {
        match s {
            Screening::Answer(r) => Some(r.status),
            Screening::Pass => None,
        }
    }

    #[test]
    fn screening_table() {
        let cases: &[(&str, &str, Option<u16>)] = &[
            (
                "OPTIONS sip:switchboard.test SIP/2.0",
                "Max-Forwards: 70\r\n",
                None,
            ),
            (
                "OPTIONS sip:switchboard.test SIP/2.0",
                "Max-Forwards: 0\r\n",
                Some(483),
            ),
            ("BREW sip:switchboard.test SIP/2.0", "", Some(501)),
            ("SUBSCRIBE sip:switchboard.test SIP/2.0", "", Some(405)),
            ("INVITE sip:1001@switchboard.test SIP/2.0", "", Some(405)),
            ("OPTIONS tel:+15550100 SIP/2.0", "", Some(416)),
            ("OPTIONS http://example.com/ SIP/2.0", "", Some(416)),
            (
                "OPTIONS sip:switchboard.test SIP/2.0",
                "Require: foo\r\n",
                Some(420),
            ),
            (
                "REGISTER sip:switchboard.test SIP/2.0",
                "Require: path\r\n",
                None,
            ),
        ];
        for (line, extra, want) in cases {
            assert_eq!(
                status(screen(&request(line, extra), "sb", false)),
                *want,
                "{line} {extra}"
            );
        }
    }

    #[test]
    fn rejections_carry_allow_and_unsupported() {
        let Screening::Answer(r) = screen(&request("BREW sip:a SIP/2.0", ""), "sb", false) else {
            panic!("BREW passed");
        };
        assert_eq!(r.headers.get(&HeaderName::Allow), Some(ALLOW));
        let Screening::Answer(r) = screen(
            &request("OPTIONS sip:a SIP/2.0", "Require: x, path\r\n"),
            "sb",
            false,
        ) else {
            panic!("Require passed");
        };
        assert_eq!(r.headers.get(&HeaderName::Unsupported), Some("x"));
    }

    #[test]
    fn call_methods_pass_only_with_a_call_core() {
        for line in [
            "INVITE sip:1001@switchboard.test SIP/2.0",
            "BYE sip:1001@switchboard.test SIP/2.0",
            "INFO sip:1001@switchboard.test SIP/2.0",
            "UPDATE sip:1001@switchboard.test SIP/2.0",
        ] {
            assert_eq!(
                status(screen(&request(line, ""), "sb", true)),
                None,
                "{line}"
            );
            assert_eq!(
                status(screen(&request(line, ""), "sb", false)),
                Some(405),
                "{line}"
            );
        }
        let Screening::Answer(r) = screen(&request("MESSAGE sip:a SIP/2.0", ""), "sb", true) else {
            panic!("MESSAGE passed");
        };
        assert_eq!(r.headers.get(&HeaderName::Allow), Some(ALLOW_CALLS));
        let r = overloaded(&request("INVITE sip:a SIP/2.0", ""), "sb", 5);
        assert_eq!(
            (r.status, r.headers.get(&HeaderName::RetryAfter)),
            (503, Some("5"))
        );
    }

    #[test]
    fn options_answer_lists_capabilities() {
        let r = options_ok(&request("OPTIONS sip:a SIP/2.0", ""), "sb", false);
        assert_eq!(r.status, 200);
        assert!(r.headers.to().expect("to").tag().is_some());
        assert_eq!(r.headers.get(&HeaderName::Accept), Some("application/sdp"));
    }
}
