//! Dialog tests over CRLF wire messages (RFC 3261 §12-§15): shared fixtures (Alice calls
//! Bob through proxies p1 and p2, as in RFC 3261 §24.2) and the test groups below.

mod creation;
mod in_dialog;
mod table;

use super::*;
use crate::sip::message::{HeaderName, Host, Message, Method, NameAddr, Request, Response};

/// Joins header lines with CRLF and ends the header section (no body).
fn wire(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.into_bytes()
}

fn req(lines: &[&str]) -> Request {
    match Message::parse(&wire(lines)) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

fn resp(lines: &[&str]) -> Response {
    match Message::parse(&wire(lines)) {
        Ok(Message::Response(r)) => r,
        other => panic!("not a response: {other:?}"),
    }
}

/// Reparses a request we built, proving it is valid on the wire.
fn reparse(r: &Request) -> Request {
    let bytes = Message::Request(r.clone()).to_bytes();
    match Message::parse(&bytes) {
        Ok(Message::Request(r)) => r,
        other => panic!("built request does not parse: {other:?}"),
    }
}

const CALL_ID: &str = "a84b4c76e66710@pc33.atlanta.com";

/// Alice's INVITE as Bob (UAS) receives it, after two record-routing proxies.
fn invite_at_bob(contact: &str, rr: &[&str]) -> Request {
    let contact = format!("Contact: {contact}");
    let mut lines = vec![
        "INVITE sip:bob@192.0.2.4 SIP/2.0",
        "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2",
        "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1",
        "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
        "Max-Forwards: 68",
    ];
    lines.extend_from_slice(rr);
    lines.extend_from_slice(&[
        "To: Bob <sip:bob@biloxi.com>",
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        "CSeq: 314159 INVITE",
        &contact,
        "Content-Length: 0",
    ]);
    req(&lines)
}

/// Alice's INVITE as Alice (UAC) sent it.
fn invite_from_alice() -> Request {
    req(&[
        "INVITE sip:bob@biloxi.com SIP/2.0",
        "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
        "Max-Forwards: 70",
        "To: Bob <sip:bob@biloxi.com>",
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        "CSeq: 314159 INVITE",
        "Contact: <sip:alice@pc33.atlanta.com>",
        "Content-Length: 0",
    ])
}

/// A response to Alice's INVITE as Alice receives it.
fn answer_at_alice(
    status_line: &str,
    to_tag: Option<&str>,
    contact: Option<&str>,
    rr: &[&str],
) -> Response {
    let to = match to_tag {
        Some(t) => format!("To: Bob <sip:bob@biloxi.com>;tag={t}"),
        None => "To: Bob <sip:bob@biloxi.com>".to_owned(),
    };
    let contact = contact.map(|c| format!("Contact: {c}"));
    let mut lines = vec![
        status_line,
        "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.101",
    ];
    lines.extend_from_slice(rr);
    lines.extend_from_slice(&[
        &to,
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        "CSeq: 314159 INVITE",
    ]);
    if let Some(c) = &contact {
        lines.push(c);
    }
    lines.push("Content-Length: 0");
    resp(&lines)
}

const RR_LOOSE: [&str; 2] = [
    "Record-Route: <sip:p2.example.com;lr>",
    "Record-Route: <sip:p1.example.com;lr>",
];

fn bob_contact() -> NameAddr {
    NameAddr::parse("<sip:bob@192.0.2.4>").unwrap()
}

/// Bob's response (with his To tag) to the INVITE he received.
fn bob_answer(invite: &Request, status: u16) -> Response {
    let mut r = Response::for_request(invite, status, None, Some("a6c85cf"));
    r.headers.push(HeaderName::Contact, "<sip:bob@192.0.2.4>");
    r
}

fn uac_dialog(status_line: &str, rr: &[&str]) -> Dialog {
    let r = answer_at_alice(
        status_line,
        Some("a6c85cf"),
        Some("<sip:bob@192.0.2.4>"),
        rr,
    );
    Dialog::new_uac(&invite_from_alice(), &r).unwrap()
}

fn udp_via() -> SentBy {
    SentBy {
        transport: crate::sip::message::Transport::Udp,
        host: Host::Name("pc33.atlanta.com".into()),
        port: Some(5060),
    }
}

fn route_strings(r: &Request) -> Vec<String> {
    r.headers
        .routes(&HeaderName::Route)
        .unwrap()
        .iter()
        .map(|na| na.uri.to_string())
        .collect()
}

/// An in-dialog request from Alice to Bob.
fn alice_to_bob(method: &str, seq: u32, contact: Option<&str>) -> Request {
    let start = format!("{method} sip:bob@192.0.2.4 SIP/2.0");
    let cseq = format!("CSeq: {seq} {method}");
    let mut lines = vec![
        start.as_str(),
        "Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKnew",
        "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds7",
        "Max-Forwards: 69",
        "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf",
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        &cseq,
    ];
    let contact = contact.map(|c| format!("Contact: {c}"));
    if let Some(c) = &contact {
        lines.push(c);
    }
    lines.push("Content-Length: 0");
    req(&lines)
}

fn bob_confirmed() -> Dialog {
    let invite = invite_at_bob("<sip:alice@pc33.atlanta.com>", &RR_LOOSE);
    let mut d = Dialog::new_uas(&invite, &bob_answer(&invite, 200), &bob_contact()).unwrap();
    d.on_sent_response(&bob_answer(&invite, 200)).unwrap();
    d
}
