//! REGISTER processing: bindings, expiry rules, ordering, persistence and sweeping.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::db::{registrations, Db};
use crate::runtime::Lifecycle;
use crate::sip::message::HeaderName;
use crate::sip::registrar::{Registrar, RegistrarSettings};
use crate::sip::transport::FlowId;

#[tokio::test]
async fn challenge_then_authenticated_register() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let req = register("1001", "c1", 1, "Contact: <sip:1001@127.0.0.1:5070>\r\n")?;
    let resp = f.registrar.handle(&req, &local(), now).await;
    assert_eq!(resp.status, 401);
    let challenges: Vec<&str> = resp.headers.get_all(&HeaderName::WwwAuthenticate).collect();
    assert_eq!(challenges.len(), 2);
    assert!(challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"));
    assert!(
        resp.headers
            .to()
            .map(|t| t.tag().is_some())
            .unwrap_or(false),
        "401 has a To tag"
    );
    let mut client = Client::from_challenge(&resp, "1001", "pw1001")?;
    let resp = send(
        &f,
        &mut client,
        "c1",
        2,
        "Contact: <sip:1001@127.0.0.1:5070>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!((resp.status, resp.reason.as_str()), (200, "OK"));
    assert_eq!(
        contacts(&resp),
        vec!["<sip:1001@127.0.0.1:5070>;expires=3600".to_string()]
    );
    assert!(
        resp.headers.date().map(|d| d.is_some()).unwrap_or(false),
        "200 carries Date"
    );
    let bound = f.registrar.contacts_for(AOR);
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].source, local().remote);
    assert_eq!(bound[0].flow, Some(FlowId(1)));
    assert_eq!(bound[0].user_agent.as_deref(), Some("test-phone"));
    assert_eq!(registrations::count(f.registrar_db()).await?, 1);
    // A REGISTER without Contact is a query: lists the bindings, changes nothing.
    let resp = send(
        &f,
        &mut client,
        "c1",
        3,
        "",
        &local(),
        now + Duration::from_secs(10),
    )
    .await?;
    assert_eq!(
        contacts(&resp),
        vec!["<sip:1001@127.0.0.1:5070>;expires=3590".to_string()]
    );
    Ok(())
}

#[tokio::test]
async fn several_contacts_unregister_and_star() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let two =
        "Contact: <sip:1001@192.0.2.10:5060>;q=0.5, <sip:1001@192.0.2.11:5060>;expires=120\r\n";
    let resp = send(&f, &mut client, "m", 2, two, &local(), now).await?;
    assert_eq!(resp.status, 200);
    assert_eq!(contacts(&resp).len(), 2);
    // A second device (other Call-ID) adds a third binding.
    let resp = send(
        &f,
        &mut client,
        "m2",
        1,
        "Contact: <sip:1001@192.0.2.12>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(contacts(&resp).len(), 3);
    assert_eq!(f.registrar.contacts_for(AOR).len(), 3);
    // Expires: 0 on one contact removes only that one.
    let one = "Contact: <sip:1001@192.0.2.11:5060>\r\nExpires: 0\r\n";
    let resp = send(&f, &mut client, "m", 3, one, &local(), now).await?;
    assert_eq!(contacts(&resp).len(), 2);
    // `*` needs Expires: 0.
    let resp = send(&f, &mut client, "m", 4, "Contact: *\r\n", &local(), now).await?;
    assert_eq!(resp.status, 400);
    let resp = send(
        &f,
        &mut client,
        "m",
        5,
        "Contact: *\r\nExpires: 0\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 200);
    assert!(contacts(&resp).is_empty());
    assert_eq!(f.registrar.binding_count(), 0);
    assert_eq!(registrations::count(f.registrar_db()).await?, 0);
    Ok(())
}

#[tokio::test]
async fn expires_limits_and_cseq_order() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let resp = send(
        &f,
        &mut client,
        "e",
        2,
        "Contact: <sip:a@192.0.2.1>\r\nExpires: 30\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 423);
    assert_eq!(resp.headers.get(&HeaderName::MinExpires), Some("60"));
    let resp = send(
        &f,
        &mut client,
        "e",
        3,
        "Contact: <sip:a@192.0.2.1>;expires=7200\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(
        contacts(&resp),
        vec!["<sip:a@192.0.2.1>;expires=3600".to_string()]
    );
    // Same Call-ID, lower CSeq: the update is aborted (RFC 3261 §10.3 step 7).
    let resp = send(
        &f,
        &mut client,
        "e",
        2,
        "Contact: <sip:a@192.0.2.1>\r\nExpires: 0\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 500);
    assert_eq!(f.registrar.binding_count(), 1);
    Ok(())
}

#[tokio::test]
async fn restart_keeps_bindings_and_sweep_expires_them() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    let contact = "Contact: <sip:1001@192.0.2.1:5060;transport=tcp>\r\nExpires: 600\r\n";
    assert_eq!(
        send(&f, &mut client, "k", 2, contact, &local(), now)
            .await?
            .status,
        200
    );
    let reopened = Registrar::new(
        Db::open(&f.path).await?,
        RegistrarSettings::new(DOMAIN),
        &Lifecycle::new(),
    )
    .await?;
    let bound = reopened.contacts_for(AOR);
    assert_eq!(bound.len(), 1);
    assert_eq!(
        bound[0].contact.to_string(),
        "sip:1001@192.0.2.1:5060;transport=tcp"
    );
    assert_eq!(bound[0].flow, None, "flows do not survive a restart");
    assert_eq!(bound[0].cseq, 2);
    assert_eq!(reopened.sweep(now + Duration::from_secs(599)).await, 0);
    assert_eq!(reopened.sweep(now + Duration::from_secs(601)).await, 1);
    assert_eq!(reopened.binding_count(), 0);
    assert_eq!(registrations::count(reopened.registrar_db()).await?, 0);
    Ok(())
}

#[tokio::test]
async fn sweeper_task_sweeps_and_stops_on_shutdown() -> anyhow::Result<()> {
    let f = fixture().await?;
    // Registered an hour ago for 60 s: already expired in real time.
    let then = SystemTime::now() - Duration::from_secs(3600);
    let mut client = challenged(&f, "1001", "pw1001", then).await?;
    let contact = "Contact: <sip:1001@192.0.2.1>\r\nExpires: 60\r\n";
    assert_eq!(
        send(&f, &mut client, "sw", 2, contact, &local(), then)
            .await?
            .status,
        200
    );
    assert_eq!(f.registrar.binding_count(), 1);
    let registrar = Arc::new(f.registrar);
    let tracker = TaskTracker::new();
    let shutdown = CancellationToken::new();
    Arc::clone(&registrar).spawn_sweeper(Duration::from_secs(30), shutdown.clone(), &tracker);
    tracker.close();
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await?;
    assert_eq!(registrar.binding_count(), 0);
    assert_eq!(registrations::count(registrar.registrar_db()).await?, 0);
    Ok(())
}

#[tokio::test]
async fn require_path_and_address_literal_request_uri() -> anyhow::Result<()> {
    let f = fixture().await?;
    let now = SystemTime::now();
    let mut client = challenged(&f, "1001", "pw1001", now).await?;
    // Unknown option tag in Require: 420 listing it (RFC 3261 §10.3 step 2).
    let resp = send(
        &f,
        &mut client,
        "p",
        2,
        "Require: gruu, path\r\nContact: <sip:a@192.0.2.1>\r\n",
        &local(),
        now,
    )
    .await?;
    assert_eq!(resp.status, 420);
    assert_eq!(resp.headers.get(&HeaderName::Unsupported), Some("gruu"));
    // Path is supported: stored with the binding and echoed (RFC 3327 §5.3).
    let extra = "Require: path\r\nPath: <sip:edge1.example;lr>, <sip:edge2.example;lr>\r\nContact: <sip:a@192.0.2.1>\r\n";
    let resp = send(&f, &mut client, "p", 3, extra, &local(), now).await?;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers.get(&HeaderName::parse("Path")),
        Some("<sip:edge1.example;lr>, <sip:edge2.example;lr>")
    );
    let bound = f.registrar.contacts_for(AOR);
    assert_eq!(bound.first().map(|b| b.path.len()), Some(2));
    // A Request-URI naming our address instead of the domain is accepted; the AOR stays canonical.
    let mut req = register("1001", "p", 4, "Contact: <sip:b@192.0.2.2>\r\n")?;
    req.uri = crate::sip::message::Uri::parse("sip:127.0.0.1:15060")?;
    let auth = client.header("REGISTER", "sip:127.0.0.1:15060");
    req.headers.push(HeaderName::Authorization, auth);
    let resp = f.registrar.handle(&req, &local(), now).await;
    assert_eq!(resp.status, 200);
    assert_eq!(f.registrar.contacts_for(AOR).len(), 2);
    // Only REGISTER is handled here.
    req.method = crate::sip::message::Method::Options;
    let resp = f.registrar.handle(&req, &local(), now).await;
    assert_eq!(
        (resp.status, resp.headers.get(&HeaderName::Allow)),
        (405, Some("REGISTER"))
    );
    Ok(())
}

#[tokio::test]
async fn default_order_challenges_md5_first() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(&dir.path().join("t.db")).await?;
    let registrar = Registrar::new(db, RegistrarSettings::new(DOMAIN), &Lifecycle::new()).await?;
    let req = register("1001", "c-md5", 1, "Contact: <sip:1001@127.0.0.1:5070>\r\n")?;
    let resp = registrar.handle(&req, &local(), SystemTime::now()).await;
    let challenges: Vec<&str> = resp.headers.get_all(&HeaderName::WwwAuthenticate).collect();
    assert_eq!(challenges.len(), 2);
    assert!(challenges[0].contains("algorithm=MD5") && challenges[1].contains("algorithm=SHA-256"));
    Ok(())
}
