//! Authentication outcomes of REGISTER and INVITE (407).

use std::time::{Duration, SystemTime};

use anyhow::bail;

use super::*;
use crate::sip::auth::DEFAULT_NONCE_TTL;
use crate::sip::message::{HeaderName, Message};
use crate::sip::registrar::AuthHeader;

#[tokio::test]
async fn wrong_password_unknown_user_and_foreign_aor_are_refused() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut wrong = challenged(&f, "1001", "not-it", now).await?;
    let resp = send(
        &f,
        &mut wrong,
        "w",
        2,
        "Contact: <sip:a@127.0.0.1>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 403);
    let mut unknown = challenged(&f, "1500", "pw1500", now).await?;
    let resp = send(
        &f,
        &mut unknown,
        "u",
        2,
        "Contact: <sip:a@127.0.0.1>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 403);
    // Authenticated as 1001 but registering 1002's AOR.
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let auth = client.header("REGISTER", "sip:switchboard.test");
    let mut req = register("1002", "x", 2, &format!("Authorization: {auth}\r\n"))?;
    assert_eq!(f.registrar.handle(&req, &local(), now).await.status, 403);
    req.uri = crate::sip::message::Uri::parse("sip:elsewhere.example")?;
    assert_eq!(f.registrar.handle(&req, &local(), now).await.status, 403);
    assert_eq!(f.registrar.binding_count(), 0);
    Ok(())
}

#[tokio::test]
async fn stale_nonce_gets_stale_challenge() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let later = now + DEFAULT_NONCE_TTL + Duration::from_secs(1);
    let resp = send(
        &f,
        &mut client,
        "s",
        2,
        "Contact: <sip:a@127.0.0.1>\r\n",
        &local(),
        later,
    )
    .await?;
    assert_eq!(resp.status, 401);
    let challenges: Vec<&str> = resp.headers.get_all(&HeaderName::WwwAuthenticate).collect();
    assert!(
        challenges.iter().all(|c| c.ends_with("stale=true")),
        "{challenges:?}"
    );
    let mut fresh = Client::from_challenge(&resp, "1001", "pw1001")?;
    let resp = send(
        &f,
        &mut fresh,
        "s",
        3,
        "Contact: <sip:a@127.0.0.1>\r\n",
        &local(),
        later,
    )
    .await?;
    assert_eq!(resp.status, 200);
    Ok(())
}

#[tokio::test]
async fn replayed_nonce_count_is_rechallenged() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let auth = client.header("REGISTER", "sip:switchboard.test");
    let extra = format!("Contact: <sip:a@127.0.0.1>\r\nAuthorization: {auth}\r\n");
    let first = register("1001", "r", 2, &extra)?;
    assert_eq!(f.registrar.handle(&first, &local(), now).await.status, 200);
    // The same credentials again (a captured request replayed with a new CSeq).
    let replay = register("1001", "r", 3, &extra)?;
    let resp = f.registrar.handle(&replay, &local(), now).await;
    assert_eq!(resp.status, 401);
    assert!(!resp
        .headers
        .get(&HeaderName::WwwAuthenticate)
        .unwrap_or_default()
        .contains("stale"));
    // The legitimate client moves on to nc=2 and is accepted.
    let resp = send(
        &f,
        &mut client,
        "r",
        4,
        "Contact: <sip:a@127.0.0.1>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 200);
    Ok(())
}

#[tokio::test]
async fn loopback_only_user_refused_from_the_network() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1002", "pw1002", now).await?;
    let lan = source("192.0.2.1:5060");
    let resp = send(
        &f,
        &mut client,
        "l",
        2,
        "Contact: <sip:1002@192.0.2.1>\r\n",
        &lan,
        now,
    )
    .await?;
    assert_eq!(
        (resp.status, resp.reason.as_str()),
        (403, "Forbidden (default password)")
    );
    let resp = send(
        &f,
        &mut client,
        "l",
        3,
        "Contact: <sip:1002@127.0.0.1>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 200);
    Ok(())
}

#[tokio::test]
async fn invite_challenge_uses_407() -> anyhow::Result<()> {
    let f = fixture().await?;
    let text = format!(
        "INVITE sip:1002@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-i\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@{DOMAIN}>;tag=a\r\nTo: <sip:1002@{DOMAIN}>\r\n\
         Call-ID: inv\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    );
    let Ok(Message::Request(mut invite)) = Message::parse(text.as_bytes()) else {
        bail!("parse")
    };
    let resp = match f
        .registrar
        .authenticate_request(&invite, AuthHeader::ProxyAuthorization, &local())
        .await
    {
        Ok(user) => bail!("authenticated {user} without credentials"),
        Err(resp) => resp,
    };
    assert_eq!(resp.status, 407);
    assert_eq!(
        resp.headers.get_all(&HeaderName::ProxyAuthenticate).count(),
        2
    );
    let mut client = Client::from_challenge(&resp, "1001", "pw1001")?;
    let uri = format!("sip:1002@{DOMAIN}");
    invite.headers.push(
        HeaderName::ProxyAuthorization,
        client.header("INVITE", &uri),
    );
    let user = f
        .registrar
        .authenticate_request(&invite, AuthHeader::ProxyAuthorization, &local())
        .await;
    assert_eq!(user.ok().as_deref(), Some("1001"));
    Ok(())
}

#[tokio::test]
async fn malformed_or_foreign_credentials() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let bad = register(
        "1001",
        "b",
        1,
        "Authorization: Digest username=\"1001\", realm=\"switchboard.test\r\n",
    )?;
    assert_eq!(f.registrar.handle(&bad, &local(), now).await.status, 400);
    // Other schemes and other realms are not ours: challenge.
    let basic = register("1001", "b", 2, "Authorization: Basic MTAwMTpwdzEwMDE=\r\n")?;
    assert_eq!(f.registrar.handle(&basic, &local(), now).await.status, 401);
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let other = client
        .header("REGISTER", "sip:switchboard.test")
        .replace("realm=\"switchboard.test\"", "realm=\"x\"");
    let foreign = register("1001", "b", 3, &format!("Authorization: {other}\r\n"))?;
    assert_eq!(
        f.registrar.handle(&foreign, &local(), now).await.status,
        401
    );
    // digest-uri that is not the Request-URI: 400 (RFC 2617 §3.2.2.5).
    let wrong_uri = client.header("REGISTER", "sip:elsewhere.test");
    let req = register("1001", "b", 4, &format!("Authorization: {wrong_uri}\r\n"))?;
    assert_eq!(f.registrar.handle(&req, &local(), now).await.status, 400);
    Ok(())
}
