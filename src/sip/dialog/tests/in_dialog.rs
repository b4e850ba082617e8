//! In-dialog requests (RFC 3261 §12.2): building them with loose and strict routing,
//! CSeq rules, target refresh, termination (§12.2.1.2, §15) and re-INVITE glare (§14.2).

use super::*;

#[test]
fn loose_routing_request() {
    let mut d = uac_dialog("SIP/2.0 200 OK", &RR_LOOSE);
    let bye = reparse(&d.create_request(Method::Bye, &udp_via()).unwrap());
    assert_eq!(bye.method, Method::Bye);
    // §12.2.1.1: loose routing keeps the remote target as Request-URI, Route = route set.
    assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.4");
    assert_eq!(
        route_strings(&bye),
        ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    );
    assert_eq!(d.next_hop().to_string(), "sip:p1.example.com;lr");
    let h = &bye.headers;
    assert_eq!(h.from().unwrap().tag(), Some("1928301774"));
    assert_eq!(h.from().unwrap().uri.to_string(), "sip:alice@atlanta.com");
    assert_eq!(h.to().unwrap().tag(), Some("a6c85cf"));
    assert_eq!(h.to().unwrap().uri.to_string(), "sip:bob@biloxi.com");
    assert_eq!(h.call_id().unwrap(), CALL_ID);
    let cseq = h.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (314160, Method::Bye));
    assert_eq!(h.max_forwards().unwrap(), Some(70));
    let via = h.top_via().unwrap();
    assert!(via.branch().unwrap().starts_with("z9hG4bK"));
    assert_eq!(via.host.to_string(), "pc33.atlanta.com");
    assert_eq!(via.port, Some(5060));
    // BYE carries no Contact; a re-INVITE does, with a fresh branch and the next CSeq.
    assert!(h.get(&HeaderName::Contact).is_none());
    let reinvite = reparse(&d.create_request(Method::Invite, &udp_via()).unwrap());
    assert_eq!(reinvite.headers.cseq().unwrap().seq, 314161);
    assert_eq!(
        reinvite.headers.get(&HeaderName::Contact),
        Some("<sip:alice@pc33.atlanta.com>")
    );
    assert_ne!(reinvite.headers.top_via().unwrap().branch(), via.branch());
}

#[test]
fn no_route_set_request() {
    let mut d = uac_dialog("SIP/2.0 200 OK", &[]);
    let info = reparse(&d.create_request(Method::Info, &udp_via()).unwrap());
    assert_eq!(info.uri.to_string(), "sip:bob@192.0.2.4");
    assert!(route_strings(&info).is_empty());
    assert_eq!(d.next_hop().to_string(), "sip:bob@192.0.2.4");
}

#[test]
fn strict_routing_request() {
    // Alice's route set is [p1 (strict, no lr), p2;lr]. §12.2.1.1: Request-URI = first
    // route (without `method`), Route = the rest, then the remote target.
    let rr = [
        "Record-Route: <sip:p2.example.com;lr>",
        "Record-Route: <sip:p1.example.com;method=INVITE;transport=tcp>",
    ];
    let mut d = uac_dialog("SIP/2.0 200 OK", &rr);
    let bye = reparse(&d.create_request(Method::Bye, &udp_via()).unwrap());
    assert_eq!(bye.uri.to_string(), "sip:p1.example.com;transport=tcp");
    assert_eq!(
        route_strings(&bye),
        ["sip:p2.example.com;lr", "sip:bob@192.0.2.4"]
    );
    assert_eq!(
        d.next_hop().to_string(),
        "sip:p1.example.com;method=INVITE;transport=tcp"
    );
}

#[test]
fn uas_local_cseq_starts_when_first_sending() {
    let invite = invite_at_bob("<sip:alice@pc33.atlanta.com>", &RR_LOOSE);
    let mut d = Dialog::new_uas(&invite, &bob_answer(&invite, 200), &bob_contact()).unwrap();
    let first = d.create_request(Method::Info, &udp_via()).unwrap();
    let second = d.create_request(Method::Bye, &udp_via()).unwrap();
    assert_eq!(first.headers.cseq().unwrap().seq, 1);
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(d.local_seq(), Some(2));
    // Bob's requests: From = Bob with his tag, To = Alice with hers; first hop p2.
    assert_eq!(second.headers.from().unwrap().tag(), Some("a6c85cf"));
    assert_eq!(second.headers.to().unwrap().tag(), Some("1928301774"));
    assert_eq!(second.uri.to_string(), "sip:alice@pc33.atlanta.com");
    assert_eq!(d.next_hop().to_string(), "sip:p2.example.com;lr");
}

#[test]
fn cseq_ordering() {
    // (method, CSeq, expected result, remote seq afterwards); applied in order.
    let steps: [(&str, u32, Result<(), DialogError>, u32); 6] = [
        ("ACK", 314159, Ok(()), 314159),
        ("INFO", 314160, Ok(()), 314160),
        ("INFO", 314170, Ok(()), 314170), // gaps are fine (§12.2.2)
        (
            "INFO",
            314165,
            Err(DialogError::CSeqOutOfOrder {
                received: 314165,
                remote_seq: 314170,
            }),
            314170,
        ),
        ("ACK", 314159, Ok(()), 314170), // ACK keeps its INVITE's number
        ("OPTIONS", 314170, Ok(()), 314170),
    ];
    let mut d = bob_confirmed();
    for (method, seq, want, remote) in steps {
        let r = alice_to_bob(method, seq, None);
        assert_eq!(d.on_request(&r), want, "{method} {seq}");
        assert_eq!(d.remote_seq(), Some(remote), "{method} {seq}");
    }
    let err = DialogError::CSeqOutOfOrder {
        received: 1,
        remote_seq: 2,
    };
    let r = err.response_for(&alice_to_bob("INFO", 1, None), 5).unwrap();
    assert_eq!(r.status, 500);
}

#[test]
fn target_refresh_on_reinvite_and_2xx() {
    // UAS side: re-INVITE with a new Contact replaces the remote target; INFO does not.
    let mut d = bob_confirmed();
    d.on_request(&alice_to_bob(
        "INFO",
        314160,
        Some("<sip:alice@198.51.100.7>"),
    ))
    .unwrap();
    assert_eq!(d.remote_target().to_string(), "sip:alice@pc33.atlanta.com");
    d.on_request(&alice_to_bob(
        "INVITE",
        314161,
        Some("<sip:alice@198.51.100.7:5070>"),
    ))
    .unwrap();
    assert_eq!(d.remote_target().to_string(), "sip:alice@198.51.100.7:5070");

    // UAC side: 2xx to our re-INVITE replaces it (§12.2.1.2); a 4xx does not.
    let mut d = uac_dialog("SIP/2.0 200 OK", &RR_LOOSE);
    let reinvite = d.create_request(Method::Invite, &udp_via()).unwrap();
    let mut fail = Response::for_request(&reinvite, 488, None, None);
    fail.headers
        .push(HeaderName::Contact, "<sip:bob@203.0.113.1>");
    d.on_response(&fail).unwrap();
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.4");
    let mut ok = Response::for_request(&reinvite, 200, None, None);
    ok.headers
        .push(HeaderName::Contact, "<sip:bob@203.0.113.9>");
    d.on_response(&ok).unwrap();
    assert_eq!(d.remote_target().to_string(), "sip:bob@203.0.113.9");
    assert_eq!(d.state(), DialogState::Confirmed);
}

#[test]
fn bye_terminates() {
    // Received BYE.
    let mut d = bob_confirmed();
    d.on_request(&alice_to_bob("BYE", 314160, None)).unwrap();
    assert_eq!(d.state(), DialogState::Terminated);
    assert_eq!(
        d.on_request(&alice_to_bob("INFO", 314161, None)),
        Err(DialogError::Terminated)
    );
    assert_eq!(
        d.create_request(Method::Info, &udp_via()).unwrap_err(),
        DialogError::Terminated
    );

    // Our BYE: a 401 keeps the dialog (credentials follow), the 200 ends it.
    let mut d = uac_dialog("SIP/2.0 200 OK", &[]);
    let bye = d.create_request(Method::Bye, &udp_via()).unwrap();
    d.on_response(&Response::for_request(&bye, 401, None, None))
        .unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    d.on_response(&Response::for_request(&bye, 200, None, None))
        .unwrap();
    assert_eq!(d.state(), DialogState::Terminated);
}

#[test]
fn in_dialog_481_408_and_timeout_terminate() {
    // (status to an in-dialog INFO, dialog terminated?)
    let cases = [(200, false), (404, false), (481, true), (408, true)];
    for (status, ends) in cases {
        let mut d = uac_dialog("SIP/2.0 200 OK", &[]);
        let info = d.create_request(Method::Info, &udp_via()).unwrap();
        d.on_response(&Response::for_request(&info, status, None, None))
            .unwrap();
        assert_eq!(d.state() == DialogState::Terminated, ends, "{status}");
    }
    let mut d = uac_dialog("SIP/2.0 200 OK", &[]);
    d.on_request_timeout();
    assert_eq!(d.state(), DialogState::Terminated);
}

#[test]
fn reinvite_glare() {
    // We have a re-INVITE in progress: the peer's INVITE gets 491 (§14.2).
    let mut d = bob_confirmed();
    let ours = d.create_request(Method::Invite, &udp_via()).unwrap();
    let theirs = alice_to_bob("INVITE", 314160, Some("<sip:alice@pc33.atlanta.com>"));
    let err = d.on_request(&theirs).unwrap_err();
    assert_eq!(err, DialogError::RequestPending);
    assert_eq!(err.response_for(&theirs, 3).unwrap().status, 491);
    // Once ours is answered, their next INVITE is taken; a second one overlapping gets
    // 500 with Retry-After.
    d.on_response(&Response::for_request(&ours, 200, None, None))
        .unwrap();
    d.on_request(&alice_to_bob("INVITE", 314161, None)).unwrap();
    let second = alice_to_bob("INVITE", 314162, None);
    let err = d.on_request(&second).unwrap_err();
    assert_eq!(err, DialogError::InviteInProgress);
    let r = err.response_for(&second, 7).unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.headers.get(&HeaderName::RetryAfter), Some("7"));
    assert!(err
        .response_for(&alice_to_bob("ACK", 314161, None), 7)
        .is_none());
}
