//! Dialog creation on both sides (RFC 3261 §12.1.1, §12.1.2), early to confirmed
//! (§13.2.2.4), and the secure flag.

use super::*;

#[test]
fn uas_dialog_creation() {
    // (response status, expected state)
    let cases = [
        (180, DialogState::Early),
        (183, DialogState::Early),
        (200, DialogState::Confirmed),
    ];
    for (status, want) in cases {
        let invite = invite_at_bob("<sip:alice@pc33.atlanta.com>", &RR_LOOSE);
        let d = Dialog::new_uas(&invite, &bob_answer(&invite, status), &bob_contact()).unwrap();
        assert_eq!(d.state(), want, "{status}");
        assert_eq!(d.role(), Role::Uas);
        assert_eq!(
            d.id(),
            &DialogId {
                call_id: CALL_ID.into(),
                local_tag: "a6c85cf".into(),
                remote_tag: "1928301774".into()
            }
        );
        // §12.1.1: route set in Record-Route order, remote target from the request Contact.
        let routes: Vec<String> = d.route_set().iter().map(|r| r.uri.to_string()).collect();
        assert_eq!(routes, ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]);
        assert_eq!(d.remote_target().to_string(), "sip:alice@pc33.atlanta.com");
        assert_eq!(d.remote_seq(), Some(314159));
        assert_eq!(d.local_seq(), None);
        assert_eq!(d.remote_uri().uri.to_string(), "sip:alice@atlanta.com");
        assert!(d.remote_uri().tag().is_none());
        assert_eq!(d.local_uri().uri.to_string(), "sip:bob@biloxi.com");
        assert!(!d.is_secure());
    }
}

#[test]
fn uas_creation_errors() {
    let invite = invite_at_bob("<sip:alice@pc33.atlanta.com>", &[]);
    let cases: [(Response, DialogError); 3] = [
        (
            Response::for_request(&invite, 180, None, None),
            DialogError::MissingToTag,
        ),
        (
            bob_answer(&invite, 100),
            DialogError::NotDialogCreating { status: 100 },
        ),
        (
            bob_answer(&invite, 486),
            DialogError::NotDialogCreating { status: 486 },
        ),
    ];
    for (r, want) in cases {
        assert_eq!(
            Dialog::new_uas(&invite, &r, &bob_contact()).unwrap_err(),
            want
        );
    }
    let star = invite_at_bob("*", &[]);
    assert_eq!(
        Dialog::new_uas(&star, &bob_answer(&star, 200), &bob_contact()).unwrap_err(),
        DialogError::MissingContact
    );
}

#[test]
fn uac_dialog_creation() {
    // §12.1.2: route set is the response's Record-Route reversed.
    let d = uac_dialog("SIP/2.0 180 Ringing", &RR_LOOSE);
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.role(), Role::Uac);
    let routes: Vec<String> = d.route_set().iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.4");
    assert_eq!(d.local_seq(), Some(314159));
    assert_eq!(d.remote_seq(), None);
    assert_eq!(d.id().local_tag, "1928301774");
    assert_eq!(d.id().remote_tag, "a6c85cf");
    assert_eq!(
        d.local_contact().uri.to_string(),
        "sip:alice@pc33.atlanta.com"
    );

    let inv = invite_from_alice();
    let cases = [
        (
            answer_at_alice(
                "SIP/2.0 180 Ringing",
                None,
                Some("<sip:bob@192.0.2.4>"),
                &[],
            ),
            DialogError::MissingToTag,
        ),
        (
            answer_at_alice("SIP/2.0 200 OK", Some("x"), None, &[]),
            DialogError::MissingContact,
        ),
        (
            answer_at_alice("SIP/2.0 100 Trying", Some("x"), Some("<sip:b@h>"), &[]),
            DialogError::NotDialogCreating { status: 100 },
        ),
    ];
    for (r, want) in cases {
        assert_eq!(Dialog::new_uac(&inv, &r).unwrap_err(), want);
    }
}

#[test]
fn early_to_confirmed() {
    // UAC: 180 creates early; 200 confirms and recomputes the route set (§13.2.2.4).
    let inv = invite_from_alice();
    let mut table = DialogTable::new();
    let ringing = answer_at_alice(
        "SIP/2.0 180 Ringing",
        Some("a6c85cf"),
        Some("<sip:bob@192.0.2.4>"),
        &[],
    );
    let id = match table.on_uac_response(&inv, &ringing).unwrap() {
        UacResponseOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(table.get(&id).unwrap().state(), DialogState::Early);
    let ok = answer_at_alice(
        "SIP/2.0 200 OK",
        Some("a6c85cf"),
        Some("<sip:bob@192.0.2.5>"),
        &RR_LOOSE,
    );
    assert_eq!(
        table.on_uac_response(&inv, &ok).unwrap(),
        UacResponseOutcome::Updated(id.clone())
    );
    let d = table.get(&id).unwrap();
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.route_set().len(), 2);
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.5");
    let ack = d.create_ack(314159, &udp_via());
    let cseq = ack.headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (314159, Method::Ack));
    assert_eq!(
        route_strings(&ack),
        ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    );

    // UAS: sending the 200 confirms; sending a failure instead terminates.
    for (status, want) in [
        (200, DialogState::Confirmed),
        (486, DialogState::Terminated),
    ] {
        let invite = invite_at_bob("<sip:alice@pc33.atlanta.com>", &[]);
        let mut d = Dialog::new_uas(&invite, &bob_answer(&invite, 180), &bob_contact()).unwrap();
        assert_eq!(
            d.create_request(Method::Bye, &udp_via()).unwrap_err(),
            DialogError::ByeOnEarlyDialog
        );
        d.on_sent_response(&bob_answer(&invite, status)).unwrap();
        assert_eq!(d.state(), want, "{status}");
    }
}

#[test]
fn secure_flag_needs_sips_and_tls() {
    // (Request-URI, Via transport, secure)
    let cases = [
        ("sips:bob@biloxi.com", "TLS", true),
        ("sips:bob@biloxi.com", "TCP", false),
        ("sip:bob@biloxi.com", "TLS", false),
    ];
    for (uri, transport, want) in cases {
        let start = format!("INVITE {uri} SIP/2.0");
        let via = format!("Via: SIP/2.0/{transport} pc33.atlanta.com;branch=z9hG4bK1");
        let invite = req(&[
            &start,
            &via,
            "To: <sips:bob@biloxi.com>",
            "From: <sips:alice@atlanta.com>;tag=1",
            "Call-ID: c1",
            "CSeq: 1 INVITE",
            "Contact: <sips:alice@pc33.atlanta.com>",
            "Content-Length: 0",
        ]);
        let d = Dialog::new_uas(&invite, &bob_answer(&invite, 200), &bob_contact()).unwrap();
        assert_eq!(d.is_secure(), want, "{uri} {transport}");
    }
}
