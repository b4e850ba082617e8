//! Unit tests for [`super`]: start lines and header sections over CRLF wire fixtures.

use super::*;
use crate::sip::message::Message;

/// A message whose header section is `head` (lines joined with CRLF) and empty body.
fn wire(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.into_bytes()
}

#[test]
fn start_lines() {
    type Case = (
        &'static str,
        Result<(&'static str, &'static str), ParseError>,
    );
    let cases: &[Case] = &[
        ("INVITE sip:a@b SIP/2.0", Ok(("INVITE", "sip:a@b"))),
        ("NEWMETHOD sip:a@b sip/2.0", Ok(("NEWMETHOD", "sip:a@b"))),
        ("SIP/2.0 200 OK", Ok(("200", "OK"))),
        ("SIP/2.0 100 ", Ok(("100", ""))),
        ("SIP/2.0 100", Ok(("100", ""))),
        (
            "SIP/2.0 183 Session Progress, early media",
            Ok(("183", "Session Progress, early media")),
        ),
        ("INVITE sip:a@b SIP/7.0", Err(ParseError::BadVersion)),
        ("SIP/7.0 200 OK", Err(ParseError::BadVersion)),
        ("INVITE sip:a@b HTTP/1.1", Err(ParseError::BadStartLine)),
        ("INVITE  sip:a@b SIP/2.0", Err(ParseError::BadStartLine)),
        ("INVITE sip:a@b  SIP/2.0", Err(ParseError::BadStartLine)),
        ("INVITE sip:a@b; lr SIP/2.0", Err(ParseError::BadUri)),
        ("INVITE <sip:a@b> SIP/2.0", Err(ParseError::BadUri)),
        ("IN<VITE sip:a@b SIP/2.0", Err(ParseError::BadMethod)),
        ("SIP/2.0 20 OK", Err(ParseError::BadStatus)),
        ("SIP/2.0 099 X", Err(ParseError::BadStatus)),
        ("SIP/2.0 700 X", Err(ParseError::BadStatus)),
        ("INVITE", Err(ParseError::BadStartLine)),
    ];
    for (line, want) in cases {
        let got = parse_head(&wire(&[line, "Call-ID: x"])).map(|h| match h.start {
            StartLine::Request { method, uri } => (method.to_string(), uri.to_string()),
            StartLine::Response { status, reason } => (status.to_string(), reason),
        });
        let want = want.clone().map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(got, want, "{line}");
    }
}

#[test]
fn header_lines() {
    let head = parse_head(&wire(&[
        "OPTIONS sip:a@b SIP/2.0",
        "v: SIP/2.0/UDP h;branch=z9hG4bK1",
        "Subject\t :  first",
        "   second\t",
        "\tthird",
        "X-Empty:",
        "cAlL-iD:abc",
        "NewFangledHeader:   newfangled value",
        " continued newfangled value",
    ]))
    .expect("valid");
    let h = &head.headers;
    assert_eq!(h.len(), 5);
    assert_eq!(
        h.get(&HeaderName::Via),
        Some("SIP/2.0/UDP h;branch=z9hG4bK1")
    );
    assert_eq!(h.get(&HeaderName::Subject), Some("first second third"));
    assert_eq!(h.get(&"x-empty".into()), Some(""));
    assert_eq!(h.call_id(), Ok("abc"));
    assert_eq!(
        h.get(&"newfangledheader".into()),
        Some("newfangled value continued newfangled value")
    );
    let raw: Vec<_> = h.iter().filter_map(|x| x.raw()).collect();
    assert_eq!(raw[1], "Subject\t :  first\r\n   second\t\r\n\tthird");
}

#[test]
fn bad_header_sections() {
    let cases: &[(&[&str], ParseError)] = &[
        (
            &["OPTIONS sip:a@b SIP/2.0", " leading continuation"],
            ParseError::BadHeader { line: 2 },
        ),
        (
            &["OPTIONS sip:a@b SIP/2.0", "NoColonHere"],
            ParseError::BadHeader { line: 2 },
        ),
        (
            &["OPTIONS sip:a@b SIP/2.0", "Call-ID: a", "Bad Name: x"],
            ParseError::BadHeader { line: 3 },
        ),
        (
            &["OPTIONS sip:a@b SIP/2.0", ": empty name"],
            ParseError::BadHeader { line: 2 },
        ),
        (
            &["OPTIONS sip:a@b SIP/2.0", "From: bare\nLF <sip:a@b>"],
            ParseError::BadHeader { line: 2 },
        ),
        (
            &["OPTIONS sip:a@b SIP/2.0", "From: bare\rCR"],
            ParseError::BadHeader { line: 2 },
        ),
        (
            &["OPTIONS sip:a@b SIP/2.0", "Subject: a", " folded\nbare"],
            ParseError::BadHeader { line: 2 },
        ),
    ];
    for (lines, want) in cases {
        assert_eq!(
            parse_head(&wire(lines)).err(),
            Some(want.clone()),
            "{lines:?}"
        );
    }
    assert_eq!(parse_head(b"").err(), Some(ParseError::Empty));
    assert_eq!(parse_head(b"\r\n\r\n").err(), Some(ParseError::Empty));
    assert_eq!(
        parse_head(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n").err(),
        Some(ParseError::Truncated)
    );
    assert_eq!(
        parse_head(b"OPTIONS sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n").err(),
        Some(ParseError::BadEncoding)
    );
}

#[test]
fn leading_crlf_is_ignored_and_no_headers_is_fine() {
    let msg = Message::parse(b"\r\n\r\nSIP/2.0 200 OK\r\n\r\n").expect("valid");
    assert!(!msg.is_request());
    assert!(msg.headers().is_empty());
}
