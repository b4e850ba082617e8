//! Edge cases of the API: unknown dialog (481), request timeout, overload (503), TCP,
//! no call core (405), a server transaction dropped unanswered (500).

use std::time::Duration;

use anyhow::{bail, Result};
use tokio::net::UdpSocket;
use tokio::time::{timeout, Instant};

use crate::sip::message::{HeaderName, Method, NameAddr, Transport};
use crate::sip::transaction::TimerConfig;
use crate::sip::transport::Target;

use super::super::{ClientEvent, EndpointError, ALLOW, ALLOW_CALLS};
use super::{answer, fast, next_event, next_response, request, tag, Node};

#[tokio::test]
async fn in_dialog_request_for_an_unknown_dialog_gets_481() -> Result<()> {
    let a = Node::start(fast()).await?;
    let b = Node::start(fast()).await?;
    let mut bye = request(Method::Bye, &a, &b, Transport::Udp, "callee")?;
    let mut to = NameAddr::parse("<sip:callee@switchboard.test>")?;
    to.set_tag("never-registered");
    bye.headers.set(HeaderName::To, to.to_string());
    let mut txn = a.sip.send_request(bye, b.target(Transport::Udp)).await?;
    assert_eq!(next_response(&mut txn).await?.status, 481);
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn unanswered_request_times_out_after_64_t1() -> Result<()> {
    let a = Node::start(fast()).await?;
    // A socket that receives and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await?;
    let target = Target {
        transport: Transport::Udp,
        addr: silent.local_addr()?,
        flow: None,
    };
    let mut req = request(Method::Options, &a, &a, Transport::Udp, "nobody")?;
    req.uri = crate::sip::message::Uri::parse(&format!("sip:nobody@{}", target.addr))?;
    let started = Instant::now();
    let mut txn = a.sip.send_request(req, target).await?;
    match next_event(&mut txn).await? {
        Some(ClientEvent::Timeout(r)) => assert_eq!(r.status, 408),
        other => bail!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= fast().timeout_64t1());
    assert!(next_event(&mut txn).await?.is_none());
    // Timer E retransmitted the request: the silent peer got several copies.
    let mut buf = vec![0u8; 4096];
    let mut copies = 0;
    while let Ok(Ok(_)) = timeout(Duration::from_millis(1), silent.recv_from(&mut buf)).await {
        copies += 1;
    }
    assert!(copies >= 5, "{copies} copies");
    a.stop().await;
    Ok(())
}

#[tokio::test]
async fn full_incoming_queue_answers_503_with_retry_after() -> Result<()> {
    let a = Node::start(fast()).await?;
    let b = Node::start_with(fast(), 1).await?;
    let first = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut first = a.sip.send_request(first, b.target(Transport::Udp)).await?;
    let second = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut second = a.sip.send_request(second, b.target(Transport::Udp)).await?;
    // Nobody reads b's queue: the first INVITE waits in it (100 Trying after 200 ms), the
    // second is refused at once.
    let refused = loop {
        let r = next_response(&mut second).await?;
        if r.status != 100 {
            break r;
        }
    };
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers.get(&HeaderName::RetryAfter), Some("5"));
    assert_eq!(next_response(&mut first).await?.status, 100);
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn request_and_response_over_tcp() -> Result<()> {
    let a = Node::start(TimerConfig::default()).await?;
    let mut b = Node::start(TimerConfig::default()).await?;
    let options = request(Method::Options, &a, &b, Transport::Tcp, "callee")?;
    let mut txn = a
        .sip
        .send_request(options, b.target(Transport::Tcp))
        .await?;
    let sent_via = txn.request().headers.top_via()?;
    assert_eq!(sent_via.transport, Transport::Tcp);
    let ok = next_response(&mut txn).await?;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.get(&HeaderName::Allow), Some(ALLOW_CALLS));
    assert!(next_event(&mut txn).await?.is_none());

    // An INVITE over TCP reaches the call core with a TCP source and is answered on the
    // same connection.
    let invite = request(Method::Invite, &a, &b, Transport::Tcp, "callee")?;
    let mut uac = a.sip.send_request(invite, b.target(Transport::Tcp)).await?;
    let inc = b.next_incoming().await?;
    assert_eq!(inc.source.transport, Transport::Tcp);
    assert!(inc.source.flow.is_some());
    inc.txn
        .respond(answer(&b, &inc.request, 486, &tag())?)
        .await?;
    let busy = loop {
        let r = next_response(&mut uac).await?;
        if r.status != 100 {
            break r;
        }
    };
    assert_eq!(busy.status, 486);
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn without_a_call_core_invite_gets_405() -> Result<()> {
    let a = Node::start(fast()).await?;
    let mut b = Node::start(fast()).await?;
    // The call core's queue is dropped: the endpoint behaves as if there were none.
    drop(std::mem::replace(
        &mut b.incoming,
        tokio::sync::mpsc::channel(1).1,
    ));
    let invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut txn = a.sip.send_request(invite, b.target(Transport::Udp)).await?;
    let r = next_response(&mut txn).await?;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get(&HeaderName::Allow), Some(ALLOW));
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn dropped_server_transaction_answers_500() -> Result<()> {
    let a = Node::start(fast()).await?;
    let mut b = Node::start(fast()).await?;
    let invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let mut txn = a.sip.send_request(invite, b.target(Transport::Udp)).await?;
    drop(b.next_incoming().await?);
    let r = loop {
        let r = next_response(&mut txn).await?;
        if r.status != 100 {
            break r;
        }
    };
    assert_eq!(r.status, 500);
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn api_misuse_is_refused() -> Result<()> {
    let a = Node::start(fast()).await?;
    let b = Node::start(fast()).await?;
    let ack = request(Method::Ack, &a, &b, Transport::Udp, "callee")?;
    let refused = a.sip.send_request(ack, b.target(Transport::Udp)).await;
    assert!(matches!(
        refused,
        Err(EndpointError::WrongMethod(Method::Ack))
    ));
    let options = request(Method::Options, &a, &b, Transport::Udp, "callee")?;
    let refused = a.sip.send_ack(options, b.target(Transport::Udp)).await;
    assert!(matches!(refused, Err(EndpointError::WrongMethod(_))));
    let tls = Target {
        transport: Transport::Tls,
        addr: b.udp,
        flow: None,
    };
    let options = request(Method::Options, &a, &b, Transport::Udp, "callee")?;
    let refused = a.sip.send_request(options, tls).await;
    assert!(matches!(refused, Err(EndpointError::NoListener(_))));
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test]
async fn invite_retransmitted_after_the_2xx_gets_the_same_2xx() -> Result<()> {
    // Default timers: the first 2xx retransmission would come only after T1 = 500 ms.
    let a = Node::start(TimerConfig::default()).await?;
    let mut b = Node::start(TimerConfig::default()).await?;
    let raw = UdpSocket::bind("127.0.0.1:0").await?;
    let mut invite = request(Method::Invite, &a, &b, Transport::Udp, "callee")?;
    let via = crate::sip::message::Via::new(
        Transport::Udp,
        crate::sip::message::Host::V4(std::net::Ipv4Addr::LOCALHOST),
        Some(raw.local_addr()?.port()),
        &crate::sip::message::new_branch(),
    );
    invite.headers.push_front(HeaderName::Via, via.to_string());
    let bytes = crate::sip::message::Message::Request(invite).to_bytes();
    raw.send_to(&bytes, b.udp).await?;
    let inc = b.next_incoming().await?;
    inc.txn
        .respond(answer(&b, &inc.request, 200, &tag())?)
        .await?;
    let first = recv_final(&raw).await?;
    // The UAC "lost" it and retransmits its INVITE: the endpoint answers with the same
    // 2xx (RFC 3261 §13.3.1.4) at once, and the call core sees no second INVITE.
    let sent = Instant::now();
    raw.send_to(&bytes, b.udp).await?;
    let again = recv_final(&raw).await?;
    assert!(
        sent.elapsed() < TimerConfig::default().t1,
        "answered by Timer G?"
    );
    assert_eq!(again.to_bytes(), first.to_bytes());
    assert!(b.incoming.try_recv().is_err());
    a.stop().await;
    b.stop().await;
    Ok(())
}

/// The next response on `raw` that is not `100 Trying`.
async fn recv_final(raw: &UdpSocket) -> Result<crate::sip::message::Message> {
    let mut buf = vec![0u8; 8192];
    loop {
        let (n, _) = timeout(super::PATIENCE, raw.recv_from(&mut buf)).await??;
        let msg = crate::sip::message::Message::parse(buf.get(..n).unwrap_or_default())?;
        match &msg {
            crate::sip::message::Message::Response(r) if r.status == 100 => continue,
            _ => return Ok(msg),
        }
    }
}
