//! Answers for messages that cannot go through a transaction: a request that failed to
//! parse or lacks what a UAS needs (RFC 3261 §8.1.1) still gets `400` (or `413`/`505`/
//! `513`) when its Via, From, To, Call-ID and CSeq can be recovered from the raw bytes, so
//! that the sender learns why; otherwise it is dropped, because no response can be
//! addressed (RFC 3261 §18.2.2 needs the top Via).
//!
//! Depends on `sip::message` only: this is a lenient line scan, not the real parser.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::sip::message::{new_tag, HeaderName, ParseError, Via};

/// The headers a stateless error response copies from its request (RFC 3261 §8.2.6.2).
#[derive(Debug, Default)]
struct Salvaged<'a> {
    vias: Vec<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    call_id: Option<&'a str>,
    cseq: Option<&'a str>,
}

/// A ready-to-send error response and the top Via it must be routed by.
#[derive(Debug)]
pub struct Rejection {
    /// The encoded response.
    pub bytes: Bytes,
    /// The request's top Via (where the response goes, RFC 3261 §18.2.2).
    pub top_via: Via,
    /// Status code of the response, for logs.
    pub status: u16,
}

/// The status and reason phrase a request that failed with `error` gets.
pub fn status_for(error: &ParseError) -> (u16, &'static str) {
    match error {
        // RFC 3261 §8.2.1: an unsupported SIP-Version gets 505.
        ParseError::BadVersion => (505, "Version Not Supported"),
        // RFC 3261 §21.5.13: the server cannot process a request this large.
        ParseError::TooLarge => (513, "Message Too Large"),
        other => (400, other.reason()),
    }
}

/// Builds the error response for the request in `raw` that failed with `error`, or `None`
/// when `raw` is a response (never answered, RFC 3261 §8.1.3.1 / §18.1.2), an ACK (never
/// answered, §17.2.1), or lacks a parseable top Via. Whatever of From, To, Call-ID and
/// CSeq can be found is copied, so a request missing its Call-ID still learns why.
pub fn reject(raw: &[u8], error: &ParseError, server: &str) -> Option<Rejection> {
    let head_end = memchr::memmem::find(raw, b"\r\n\r\n").unwrap_or(raw.len());
    let head = raw.get(..head_end)?;
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let start = std::str::from_utf8(lines.next()?).ok()?;
    if start.starts_with("SIP/") || start.starts_with("ACK ") {
        return None;
    }
    let mut found = Salvaged::default();
    for line in lines {
        // Folded continuation lines and non-UTF-8 lines are skipped: a best effort only.
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            continue;
        }
        // A line with control characters (a bare CR, NUL...) is not copied: it would make
        // our own response malformed.
        if line
            .iter()
            .any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
        {
            continue;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match HeaderName::parse(name.trim()) {
            HeaderName::Via => found.vias.push(value),
            HeaderName::From => found.from = found.from.or(Some(value)),
            HeaderName::To => found.to = found.to.or(Some(value)),
            HeaderName::CallId => found.call_id = found.call_id.or(Some(value)),
            HeaderName::CSeq => found.cseq = found.cseq.or(Some(value)),
            _ => {}
        }
    }
    let top = found.vias.first()?;
    let top_via = Via::parse(first_element(top)).ok()?;
    let (status, reason) = status_for(error);
    let mut text = String::with_capacity(512);
    // Writing to a String cannot fail.
    let _ = write!(text, "SIP/2.0 {status} {reason}\r\n");
    for via in &found.vias {
        let _ = write!(text, "Via: {via}\r\n");
    }
    if let Some(from) = found.from {
        let _ = write!(text, "From: {from}\r\n");
    }
    match found.to {
        Some(to) if to.contains(";tag=") => {
            let _ = write!(text, "To: {to}\r\n");
        }
        // RFC 3261 §8.2.6.2: a UAS adds a To tag to its responses.
        Some(to) => {
            let _ = write!(text, "To: {to};tag={}\r\n", new_tag());
        }
        None => {}
    }
    if let Some(call_id) = found.call_id {
        let _ = write!(text, "Call-ID: {call_id}\r\n");
    }
    if let Some(cseq) = found.cseq {
        let _ = write!(text, "CSeq: {cseq}\r\n");
    }
    let _ = write!(text, "Server: {server}\r\nContent-Length: 0\r\n\r\n");
    Some(Rejection {
        bytes: Bytes::from(text),
        top_via,
        status,
    })
}

/// The first element of a comma-separated Via header value (quotes are not expected in the
/// sent-by part, and parameters with quoted commas are rare enough for a best effort).
fn first_element(value: &str) -> &str {
    value.split(',').next().unwrap_or(value).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD_CL: &str = "OPTIONS sip:switchboard.test SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n\
        From: <sip:1000@switchboard.test>;tag=a\r\n\
        To: <sip:switchboard.test>\r\n\
        Call-ID: bad-cl\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: -5\r\n\r\n";

    #[test]
    fn bad_request_copies_headers_and_adds_to_tag() {
        let r = reject(BAD_CL.as_bytes(), &ParseError::BadContentLength, "sb").expect("answer");
        let text = std::str::from_utf8(&r.bytes).expect("utf8");
        assert!(
            text.starts_with("SIP/2.0 400 Bad Content-Length\r\n"),
            "{text}"
        );
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"));
        assert!(text.contains("Call-ID: bad-cl\r\n"));
        assert!(text.contains("To: <sip:switchboard.test>;tag="));
        assert_eq!(r.top_via.branch(), Some("z9hG4bK-1"));
        assert_eq!(r.status, 400);
    }

    #[test]
    fn missing_call_id_still_answered() {
        let raw = "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let r =
            reject(raw.as_bytes(), &ParseError::MissingHeader("Call-ID"), "sb").expect("answer");
        let text = std::str::from_utf8(&r.bytes).expect("utf8");
        assert!(
            text.starts_with("SIP/2.0 400 Missing Call-ID\r\n"),
            "{text}"
        );
        assert!(!text.contains("Call-ID:"));
    }

    #[test]
    fn version_and_size_map_to_their_codes() {
        assert_eq!(status_for(&ParseError::BadVersion).0, 505);
        assert_eq!(status_for(&ParseError::TooLarge).0, 513);
        assert_eq!(status_for(&ParseError::MissingHeader("Call-ID")).0, 400);
    }

    #[test]
    fn unaddressable_messages_are_dropped() {
        let cases: &[&str] = &[
            // no Via
            "OPTIONS sip:a SIP/2.0\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
            // a response
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
            // an ACK
            "ACK sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
            // the only Via carries a bare CR
            "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r7\r\nCall-ID: x\r\n\r\n",
            // a Via that does not parse
            "OPTIONS sip:a SIP/2.0\r\nVia: garbage\r\nCall-ID: x\r\n\r\n",
            // garbage
            "\u{1}\u{2}\u{3}",
        ];
        for case in cases {
            assert!(
                reject(case.as_bytes(), &ParseError::BadStartLine, "sb").is_none(),
                "{case:?}"
            );
        }
    }
}
