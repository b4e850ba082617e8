//! The dialog table: forking (RFC 3261 §12.1.2, §12.3), matching (§12.2) and the 481
//! helper (§12.2.2).

use super::*;

#[test]
fn forked_responses_create_two_dialogs() {
    let inv = invite_from_alice();
    let mut table = DialogTable::new();
    for tag in ["tagA", "tagB"] {
        let r = answer_at_alice(
            "SIP/2.0 180 Ringing",
            Some(tag),
            Some("<sip:bob@192.0.2.4>"),
            &[],
        );
        assert!(matches!(
            table.on_uac_response(&inv, &r).unwrap(),
            UacResponseOutcome::Created(_)
        ));
    }
    assert_eq!(table.len(), 2);
    // A repeated 180 from A updates, a 100 creates nothing.
    let again = answer_at_alice(
        "SIP/2.0 180 Ringing",
        Some("tagA"),
        Some("<sip:bob@192.0.2.4>"),
        &[],
    );
    assert!(matches!(
        table.on_uac_response(&inv, &again).unwrap(),
        UacResponseOutcome::Updated(_)
    ));
    let trying = answer_at_alice("SIP/2.0 100 Trying", None, None, &[]);
    assert_eq!(
        table.on_uac_response(&inv, &trying).unwrap(),
        UacResponseOutcome::NoDialog
    );
    assert_eq!(table.len(), 2);
    // §12.3: a failure final response ends both early dialogs.
    let busy = answer_at_alice("SIP/2.0 486 Busy Here", Some("tagC"), None, &[]);
    match table.on_uac_response(&inv, &busy).unwrap() {
        UacResponseOutcome::EarlyTerminated(ids) => assert_eq!(ids.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(table.iter().all(|d| d.state() == DialogState::Terminated));
    assert_eq!(table.remove_terminated().len(), 2);
    assert!(table.is_empty());
}

#[test]
fn unknown_dialog_481() {
    let r = alice_to_bob("BYE", 314160, None);
    let resp = unknown_dialog_response(&r);
    assert_eq!(resp.status, 481);
    assert_eq!(resp.reason, "Call/Transaction Does Not Exist");
    assert_eq!(resp.headers.to().unwrap().tag(), Some("a6c85cf"));
    let vias = resp.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].branch(), Some("z9hG4bKnew"));
    assert_eq!(resp.headers.cseq().unwrap().method, Method::Bye);
    assert_eq!(resp.headers.call_id().unwrap(), CALL_ID);
}

#[test]
fn table_matching() {
    let mut table = DialogTable::new();
    table.insert(bob_confirmed());
    table.insert(uac_dialog("SIP/2.0 200 OK", &[]));
    assert_eq!(table.len(), 2);
    // (request, matches Bob's UAS dialog?)
    let wrong_call = {
        let mut r = alice_to_bob("BYE", 314160, None);
        r.headers.set(HeaderName::CallId, "other@host");
        r
    };
    let no_to_tag = invite_at_bob("<sip:alice@pc33.atlanta.com>", &[]);
    let cases = [
        (alice_to_bob("BYE", 314160, None), true),
        (wrong_call, false),
        (no_to_tag, false),
    ];
    for (r, hit) in cases {
        let found = table.find_for_request(&r).map(|d| d.role());
        assert_eq!(found, hit.then_some(Role::Uas), "{}", r.method);
    }
    // Responses: Alice's UAC dialog is Call-ID + From tag (local) + To tag (remote).
    let ok = answer_at_alice("SIP/2.0 200 OK", Some("a6c85cf"), None, &[]);
    assert_eq!(
        table.find_for_response(&ok).map(|d| d.role()),
        Some(Role::Uac)
    );
    let other = answer_at_alice("SIP/2.0 200 OK", Some("zzz"), None, &[]);
    assert!(table.find_for_response(&other).is_none());
    let id = DialogId::for_received_response(&ok).unwrap();
    assert!(table.remove(&id).is_some());
    assert_eq!(table.len(), 1);
}

#[test]
fn dispatch_request_outcomes() {
    let mut table = DialogTable::new();
    table.insert(bob_confirmed());
    let stranger = {
        let mut r = alice_to_bob("INFO", 314160, None);
        r.headers.set(HeaderName::CallId, "unknown@host");
        r
    };
    let stray_ack = {
        let mut r = alice_to_bob("ACK", 314159, None);
        r.headers.set(HeaderName::CallId, "unknown@host");
        r
    };
    // (request, expected dispatch as (kind, status)); applied in order.
    let cases = [
        (
            invite_at_bob("<sip:alice@pc33.atlanta.com>", &[]),
            ("out", 0),
        ),
        (alice_to_bob("INFO", 314160, None), ("in", 0)),
        (alice_to_bob("INFO", 314150, None), ("reject", 500)),
        (stranger, ("reject", 481)),
        (stray_ack, ("absorb", 0)),
        (alice_to_bob("BYE", 314161, None), ("in", 0)),
        (alice_to_bob("INFO", 314162, None), ("reject", 481)),
    ];
    for (r, want) in cases {
        let got = match table.dispatch_request(&r, 4) {
            RequestDispatch::OutOfDialog => ("out", 0),
            RequestDispatch::InDialog(id) => {
                assert_eq!(id.local_tag, "a6c85cf");
                ("in", 0)
            }
            RequestDispatch::Reject(resp) => ("reject", resp.status),
            RequestDispatch::Absorb => ("absorb", 0),
        };
        assert_eq!(got, want, "{} {:?}", r.method, r.headers.cseq());
    }
}

#[test]
fn forked_2xx_confirms_only_its_dialog() {
    let inv = invite_from_alice();
    let mut table = DialogTable::new();
    let mut ids = Vec::new();
    for tag in ["tagA", "tagB"] {
        let r = answer_at_alice(
            "SIP/2.0 183 Session Progress",
            Some(tag),
            Some("<sip:b@h>"),
            &[],
        );
        match table.on_uac_response(&inv, &r).unwrap() {
            UacResponseOutcome::Created(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    let ok_b = answer_at_alice("SIP/2.0 200 OK", Some("tagB"), Some("<sip:b@h2>"), &[]);
    table.on_uac_response(&inv, &ok_b).unwrap();
    let states: Vec<DialogState> = ids
        .iter()
        .map(|id| table.get(id).unwrap().state())
        .collect();
    assert_eq!(states, [DialogState::Early, DialogState::Confirmed]);
    // §13.2.2.4: a 2xx from a new To tag creates a further (confirmed) dialog.
    let ok_c = answer_at_alice("SIP/2.0 200 OK", Some("tagC"), Some("<sip:c@h>"), &[]);
    match table.on_uac_response(&inv, &ok_c).unwrap() {
        UacResponseOutcome::Created(id) => {
            assert_eq!(table.get(&id).unwrap().state(), DialogState::Confirmed)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(table.len(), 3);
}
