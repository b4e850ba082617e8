//! Transaction matching keys (RFC 3261 §17.1.3, §17.2.3, §9.2, RFC 2543 fallback).

use super::*;
use crate::sip::message::{HeaderName, Method};
use crate::sip::transaction::{cancel_target_key, TransactionKey};

/// `req` with its method (request line and CSeq) changed to `method`.
fn with_method(req: &Request, method: Method) -> Request {
    let mut r = req.clone();
    let seq = r.headers.cseq().expect("cseq").seq;
    r.headers
        .set(HeaderName::CSeq, format!("{seq} {}", method.as_str()));
    r.method = method;
    r
}

/// An RFC 2543 INVITE: top Via without the magic cookie.
pub(super) fn legacy_invite() -> Request {
    request(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP old.example.com:5060\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@biloxi.example.com>\r\n\
         From: <sip:carol@chicago.example.com>;tag=c1\r\n\
         Call-ID: legacy-1@old.example.com\r\n\
         CSeq: 7 INVITE\r\n\
         Content-Length: 0\r\n\r\n",
    )
}

#[test]
fn client_key_matches_response_by_branch_and_cseq_method() {
    let inv = invite("UDP", "z9hG4bK74bf9");
    let key = TransactionKey::for_outgoing_request(&inv).expect("key");
    let resp_key = TransactionKey::for_response(&reply(&inv, 180, Some("x"))).expect("parse");
    assert_eq!(resp_key, Some(key.clone()));
    // A response to the CANCEL (same branch, CSeq method CANCEL) is another transaction.
    let cancel = with_method(&inv, Method::Cancel);
    let cancel_key = TransactionKey::for_response(&reply(&cancel, 200, None)).expect("parse");
    assert_ne!(cancel_key, Some(key));
}

#[test]
fn outgoing_request_needs_magic_cookie() {
    assert!(TransactionKey::for_outgoing_request(&legacy_invite()).is_err());
}

#[test]
fn server_key_files_ack_under_invite_and_cancel_apart() {
    let inv = invite("UDP", "z9hG4bKsrv");
    let key = TransactionKey::for_incoming_request(&inv).expect("key");
    assert!(matches!(&key, TransactionKey::Server { method, .. } if method == "INVITE"));
    let ack = with_method(&inv, Method::Ack);
    assert_eq!(
        TransactionKey::for_incoming_request(&ack).expect("ack"),
        key
    );
    let cancel = with_method(&inv, Method::Cancel);
    let cancel_key = TransactionKey::for_incoming_request(&cancel).expect("cancel");
    assert_ne!(cancel_key, key);
    // RFC 3261 §9.2: the CANCEL targets the INVITE transaction.
    assert_eq!(cancel_target_key(&cancel).expect("target"), key);
}

#[test]
fn server_key_includes_sent_by() {
    let a = invite("UDP", "z9hG4bKsame");
    let mut b = a.clone();
    b.headers.replace_first(
        &HeaderName::Via,
        "SIP/2.0/UDP other.example.com:5060;branch=z9hG4bKsame",
    );
    let ka = TransactionKey::for_incoming_request(&a).expect("a");
    let kb = TransactionKey::for_incoming_request(&b).expect("b");
    assert_ne!(
        ka, kb,
        "same branch from another sent-by is another transaction"
    );
}

#[test]
fn rfc2543_fallback_matches_retransmission_ack_and_cancel() {
    let inv = legacy_invite();
    let key = TransactionKey::for_incoming_request(&inv).expect("key");
    assert!(key.is_rfc2543());
    assert_eq!(
        TransactionKey::for_incoming_request(&inv.clone()).expect("again"),
        key
    );
    // The ACK carries the To tag of our response; the key still matches (the table checks
    // the tag against the response it sent).
    let mut ack = with_method(&inv, Method::Ack);
    ack.headers
        .set(HeaderName::To, "<sip:bob@biloxi.example.com>;tag=srv");
    assert_eq!(
        TransactionKey::for_incoming_request(&ack).expect("ack"),
        key
    );
    let cancel = with_method(&inv, Method::Cancel);
    assert_eq!(cancel_target_key(&cancel).expect("target"), key);
    // Another Call-ID, CSeq or From tag is another transaction.
    let mut other = inv.clone();
    other
        .headers
        .set(HeaderName::CallId, "another@old.example.com");
    assert_ne!(
        TransactionKey::for_incoming_request(&other).expect("other"),
        key
    );
    let mut other = inv.clone();
    other.headers.set(HeaderName::CSeq, "8 INVITE");
    assert_ne!(
        TransactionKey::for_incoming_request(&other).expect("other"),
        key
    );
    let mut other = inv;
    other
        .headers
        .set(HeaderName::From, "<sip:carol@chicago.example.com>;tag=c2");
    assert_ne!(
        TransactionKey::for_incoming_request(&other).expect("other"),
        key
    );
}

#[test]
fn rfc2543_non_invite_key_includes_to_tag() {
    let bye = request(
        "BYE sip:carol@chicago.example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP old.example.com:5060\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:carol@chicago.example.com>;tag=c1\r\n\
         From: <sip:bob@biloxi.example.com>;tag=b1\r\n\
         Call-ID: legacy-1@old.example.com\r\n\
         CSeq: 9 BYE\r\n\
         Content-Length: 0\r\n\r\n",
    );
    let key = TransactionKey::for_incoming_request(&bye).expect("key");
    let mut other = bye;
    other
        .headers
        .set(HeaderName::To, "<sip:carol@chicago.example.com>;tag=c9");
    assert_ne!(
        TransactionKey::for_incoming_request(&other).expect("other"),
        key
    );
}
