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
