//! INVITE scenarios between two endpoints: answer + ACK + BYE, 2xx retransmission until
//! the ACK or 64·T1, CANCEL before the answer.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

use crate::sip::dialog::Dialog;
use crate::sip::message::{Method, Response, Transport};

use super::super::{ClientTransaction, ServerEvent};
use super::{answer, fast, next_event, next_response, request, tag, Node, PATIENCE};

/// The next response that is not `100 Trying` (sent by the transaction after 200 ms).
async fn next_non_trying(txn: &mut ClientTransaction) -> Result<Response> {
    loop {
        let r = next_response(txn).await?;
        if r.status != 100 {
            return Ok(r);
        }
    }
}

#[tokio::test]
async fn invite_answered_acked_then_bye_routed_to_the_dialog_owner() -> Result<()> {
    let a = Node::start(fast()).await?;
    let mut b = Node::start(fast()).await?;
    let invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut uac = a.sip.send_request(invite, b.target(Transport::Udp)).await?;
    let mut inc = b.next_incoming().await?;
    assert_eq!(inc.request.method, Method::Invite);
    assert_eq!(inc.source.transport, Transport::Udp);

    let to_tag = tag();
    inc.txn
        .respond(answer(&b, &inc.request, 180, &to_tag)?)
        .await?;
    let ok = answer(&b, &inc.request, 200, &to_tag)?;
    let contact = b
        .sip
        .local_contact(&Transport::Udp, b.udp, Some("callee"))
        .context("contact")?;
    let uas_dialog = Dialog::new_uas(&inc.request, &ok, &contact)?;
    let (owner_tx, mut owner_rx) = mpsc::channel(8);
    b.sip
        .register_dialog(uas_dialog.id().clone(), owner_tx)
        .await?;
    inc.txn.respond(ok).await?;

    assert_eq!(next_non_trying(&mut uac).await?.status, 180);
    let ok = next_non_trying(&mut uac).await?;
    assert_eq!(ok.status, 200);
    let mut uac_dialog = Dialog::new_uac(uac.request(), &ok)?;
    let target = b.target(Transport::Udp);
    let sent_by = a.sip.sent_by(&target).context("sent-by")?;
    let ack = uac_dialog.create_ack(uac_dialog.invite_seq(), &sent_by);
    a.sip.send_ack(ack, target.clone()).await?;
    match timeout(PATIENCE, inc.txn.next_event()).await? {
        Some(ServerEvent::Ack(ack)) => assert_eq!(ack.method, Method::Ack),
        other => bail!("expected the ACK, got {other:?}"),
    }

    // A repeated ACK finds no 2xx waiting: it goes to the dialog's owner, without a
    // transaction.
    let again = uac_dialog.create_ack(uac_dialog.invite_seq(), &sent_by);
    a.sip.send_ack(again, target.clone()).await?;
    let stray = timeout(PATIENCE, owner_rx.recv())
        .await?
        .context("owner queue closed")?;
    assert_eq!(stray.request.method, Method::Ack);
    assert!(stray.txn.is_none());

    // A re-INVITE from the callee reaches the caller's registered dialog (UAC side), whose
    // 2xx is retransmitted until the callee's ACK.
    let (caller_tx, mut caller_rx) = mpsc::channel(8);
    a.sip
        .register_dialog(uac_dialog.id().clone(), caller_tx)
        .await?;
    let mut uas_dialog = uas_dialog;
    let back = a.target(Transport::Udp);
    let b_sent_by = b.sip.sent_by(&back).context("sent-by")?;
    let reinvite = uas_dialog.create_request(Method::Invite, &b_sent_by)?;
    let mut reinvite_txn = b.sip.send_request(reinvite, back.clone()).await?;
    let got = timeout(PATIENCE, caller_rx.recv())
        .await?
        .context("caller queue closed")?;
    assert_eq!(got.request.method, Method::Invite);
    let mut re_txn = got.txn.context("re-INVITE has a transaction")?;
    let mut re_ok = Response::for_request(&got.request, 200, None, None);
    re_ok.headers.push(
        crate::sip::message::HeaderName::Contact,
        contact.to_string(),
    );
    re_txn.respond(re_ok).await?;
    let re_ok = next_non_trying(&mut reinvite_txn).await?;
    assert_eq!(re_ok.status, 200);
    uas_dialog.on_response(&re_ok)?;
    let seq = re_ok.headers.cseq()?.seq;
    b.sip
        .send_ack(uas_dialog.create_ack(seq, &b_sent_by), back)
        .await?;
    match timeout(PATIENCE, re_txn.next_event()).await? {
        Some(ServerEvent::Ack(_)) => {}
        other => bail!("expected the re-INVITE's ACK, got {other:?}"),
    }

    // BYE from the caller reaches the callee's registered dialog owner.
    let bye = uac_dialog.create_request(Method::Bye, &sent_by)?;
    let mut bye_txn = a.sip.send_request(bye, target.clone()).await?;
    let in_dialog = timeout(PATIENCE, owner_rx.recv())
        .await?
        .context("owner queue closed")?;
    assert_eq!(in_dialog.request.method, Method::Bye);
    let txn = in_dialog.txn.context("BYE has a transaction")?;
    txn.respond(Response::for_request(&in_dialog.request, 200, None, None))
        .await?;
    assert_eq!(next_response(&mut bye_txn).await?.status, 200);
    // A non-INVITE transaction's handle ends after its final response.
    assert!(next_event(&mut bye_txn).await?.is_none());

    // Once unregistered, the dialog is unknown: 481.
    b.sip.unregister_dialog(uas_dialog.id().clone()).await?;
    let bye = uac_dialog.create_request(Method::Bye, &sent_by)?;
    let mut bye_txn = a.sip.send_request(bye, target).await?;
    assert_eq!(next_response(&mut bye_txn).await?.status, 481);
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn two_hundred_is_retransmitted_with_doubling_until_the_ack() -> Result<()> {
    let a = Node::start(fast()).await?;
    let mut b = Node::start(fast()).await?;
    let invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let target = b.target(Transport::Udp);
    let mut uac = a.sip.send_request(invite, target.clone()).await?;
    let mut inc = b.next_incoming().await?;
    inc.txn
        .respond(answer(&b, &inc.request, 200, &tag())?)
        .await?;

    // The first 2xx and two retransmissions (T1, then 2·T1 later) reach the UAC's handle
    // even though its transaction ended with the first one.
    let mut arrivals = Vec::new();
    let mut last = None;
    while arrivals.len() < 3 {
        let r = next_non_trying(&mut uac).await?;
        assert_eq!(r.status, 200);
        arrivals.push(Instant::now());
        last = Some(r);
    }
    let span = arrivals[2].duration_since(arrivals[0]);
    // Retransmissions at +T1 and +3·T1: without doubling the third would come at +2·T1.
    assert!(span >= Duration::from_millis(55), "{span:?}");

    let ok = last.context("a 2xx")?;
    let dialog = Dialog::new_uac(uac.request(), &ok)?;
    let sent_by = a.sip.sent_by(&target).context("sent-by")?;
    a.sip
        .send_ack(dialog.create_ack(dialog.invite_seq(), &sent_by), target)
        .await?;
    match timeout(PATIENCE, inc.txn.next_event()).await? {
        Some(ServerEvent::Ack(_)) => {}
        other => bail!("expected the ACK, got {other:?}"),
    }
    // After the ACK, retransmissions stop (one or two may have been in flight on a loaded
    // machine; without the stop about eight more would come); the leg is
    // forgotten 64·T1 after the first 2xx and the handle ends.
    let mut late = 0;
    while let Some(event) = next_event(&mut uac).await? {
        late += 1;
        assert!(
            late <= 2,
            "2xx still retransmitted after the ACK: {event:?}"
        );
    }
    assert!(arrivals[0].elapsed() >= fast().timeout_64t1());
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn unacknowledged_two_hundred_gives_up_after_64_t1() -> Result<()> {
    let a = Node::start(fast()).await?;
    let mut b = Node::start(fast()).await?;
    let invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut uac = a.sip.send_request(invite, b.target(Transport::Udp)).await?;
    let mut inc = b.next_incoming().await?;
    let started = Instant::now();
    inc.txn
        .respond(answer(&b, &inc.request, 200, &tag())?)
        .await?;
    match timeout(PATIENCE, inc.txn.next_event()).await? {
        Some(ServerEvent::AckTimeout) => {}
        other => bail!("expected AckTimeout, got {other:?}"),
    }
    assert!(started.elapsed() >= fast().timeout_64t1());
    // The UAC never ACKed: it saw the 2xx and every retransmission. With T1 = 20 ms and
    // T2 = 160 ms they go out at 20, 60, 140, 300, 460, ... 1260 ms: 11 with the first.
    let mut oks = 0;
    while let Some(event) = next_event(&mut uac).await? {
        match event {
            super::ClientEvent::Response(r) if r.status == 200 => oks += 1,
            super::ClientEvent::Response(r) if r.status == 100 => {}
            other => bail!("unexpected {other:?}"),
        }
    }
    // Late timers on a loaded machine can only lose a few at the end.
    assert!((6..=12).contains(&oks), "{oks} 2xx received");
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn cancel_before_answer_gets_487_and_the_transaction_acks_it() -> Result<()> {
    let a = Node::start(fast()).await?;
    let mut b = Node::start(fast()).await?;
    let invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut uac = a.sip.send_request(invite, b.target(Transport::Udp)).await?;
    let mut inc = b.next_incoming().await?;
    let to_tag = tag();
    inc.txn
        .respond(answer(&b, &inc.request, 180, &to_tag)?)
        .await?;
    assert_eq!(next_non_trying(&mut uac).await?.status, 180);
    assert!(!inc.txn.is_cancelled());

    a.sip.cancel(&uac).await?;
    timeout(PATIENCE, inc.txn.cancelled()).await?;
    match timeout(PATIENCE, inc.txn.next_event()).await? {
        Some(ServerEvent::Cancelled) => {}
        other => bail!("expected Cancelled, got {other:?}"),
    }
    inc.txn
        .respond(answer(&b, &inc.request, 487, &to_tag)?)
        .await?;
    assert_eq!(next_non_trying(&mut uac).await?.status, 487);
    // The 487 was ACKed by the INVITE client transaction (RFC 3261 §17.1.1.3) and absorbed
    // by the server transaction: the UAS sees neither an ACK nor an AckTimeout (which
    // would come after 64·T1), its handle just ends after Timer I.
    let started = Instant::now();
    match timeout(PATIENCE, inc.txn.next_event()).await? {
        None => {}
        other => bail!("expected the end of the transaction, got {other:?}"),
    }
    assert!(started.elapsed() < fast().timeout_64t1());
    assert!(next_event(&mut uac).await?.is_none());
    a.stop().await;
    b.stop().await;
    Ok(())
}
