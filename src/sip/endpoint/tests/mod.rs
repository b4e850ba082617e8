//! End-to-end tests of the transaction-user API: two endpoints (each with its own
//! transports on 127.0.0.1:0) talking to each other over real sockets, with short
//! timers (T1 = 20 ms) so that retransmissions and timeouts happen within a second or two.

mod calls;
mod edges;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::sync::mpsc;

use crate::config::Acl;
use crate::db::Db;
use crate::runtime::Lifecycle;
use crate::sip::message::{new_call_id, new_tag, HeaderName, Method, NameAddr, Request, Response};
use crate::sip::message::{Transport, Uri};
use crate::sip::registrar::{Registrar, RegistrarSettings};
use crate::sip::transaction::TimerConfig;
use crate::sip::transport::{ListenerSpec, Target, TransportLayer};

use super::{
    new_uac_request, ClientEvent, ClientTransaction, Endpoint, EndpointSettings, IncomingRequest,
    SipHandle, UacRequest, INCOMING_QUEUE,
};

/// T1 = 20 ms, T2 = 160 ms, T4 = 100 ms: 64·T1 = 1.28 s.
pub(super) fn fast() -> TimerConfig {
    TimerConfig {
        t1: Duration::from_millis(20),
        t2: Duration::from_millis(160),
        t4: Duration::from_millis(100),
    }
}

/// Upper bound for any single wait in these tests (never reached when they pass).
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

/// One endpoint with UDP and TCP listeners.
pub(super) struct Node {
    pub sip: SipHandle,
    pub incoming: mpsc::Receiver<IncomingRequest>,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub lifecycle: Lifecycle,
    _dir: tempfile::TempDir,
}

impl Node {
    pub async fn start(timers: TimerConfig) -> Result<Node> {
        Self::start_with(timers, INCOMING_QUEUE).await
    }

    pub async fn start_with(timers: TimerConfig, incoming_capacity: usize) -> Result<Node> {
        let dir = tempfile::tempdir()?;
        let lifecycle = Lifecycle::new();
        let db = Db::open(&dir.path().join("t.db")).await?;
        let registrar = Arc::new(
            Registrar::new(db, RegistrarSettings::new("switchboard.test"), &lifecycle).await?,
        );
        let (inbound_tx, inbound_rx) = mpsc::channel(64);
        let any: SocketAddr = "127.0.0.1:0".parse()?;
        let specs = [
            ListenerSpec {
                transport: Transport::Udp,
                addr: any,
            },
            ListenerSpec {
                transport: Transport::Tcp,
                addr: any,
            },
        ];
        let transport = TransportLayer::start(
            &specs,
            None,
            inbound_tx,
            lifecycle.shutdown.clone(),
            lifecycle.tracker.clone(),
        )
        .await?;
        let udp = transport.local_addr(Transport::Udp).context("udp")?;
        let tcp = transport.local_addr(Transport::Tcp).context("tcp")?;
        let settings = EndpointSettings {
            server: "switchboard-test".into(),
            acl: Acl::loopback(),
            timers,
        };
        let (sip, incoming) = Endpoint::spawn_with(
            settings,
            transport,
            registrar,
            inbound_rx,
            &lifecycle,
            incoming_capacity,
        );
        Ok(Node {
            sip,
            incoming,
            udp,
            tcp,
            lifecycle,
            _dir: dir,
        })
    }

    /// Where to reach this node over `transport`.
    pub fn target(&self, transport: Transport) -> Target {
        let addr = match transport {
            Transport::Tcp => self.tcp,
            _ => self.udp,
        };
        Target {
            transport,
            addr,
            flow: None,
        }
    }

    /// The next INVITE delivered to this node's call core.
    pub async fn next_incoming(&mut self) -> Result<IncomingRequest> {
        tokio::time::timeout(PATIENCE, self.incoming.recv())
            .await?
            .ok_or_else(|| anyhow!("incoming queue closed"))
    }

    pub async fn stop(self) {
        self.lifecycle.stop_and_wait().await;
    }
}

/// A request from `from` to user `user` at `to` over `transport`.
pub(super) fn request(
    method: Method,
    from: &Node,
    to: &Node,
    transport: Transport,
    user: &str,
) -> Result<Request> {
    let dest = to.target(transport.clone());
    let uri = Uri::parse(&format!("sip:{user}@{}", dest.addr))?;
    let contact = from
        .sip
        .local_contact(&transport, dest.addr, Some("caller"))
        .context("contact")?;
    Ok(new_uac_request(UacRequest {
        method,
        uri,
        from: NameAddr::parse("<sip:caller@switchboard.test>")?,
        to: NameAddr::parse(&format!("<sip:{user}@switchboard.test>"))?,
        call_id: new_call_id(),
        cseq: 1,
        contact: Some(contact),
    }))
}

/// The answer of a UAS: `status` with our `tag` and, for 1xx/2xx, our Contact.
pub(super) fn answer(node: &Node, req: &Request, status: u16, tag: &str) -> Result<Response> {
    let mut resp = Response::for_request(req, status, None, Some(tag));
    if status < 300 {
        let contact = node
            .sip
            .local_contact(&Transport::Udp, node.udp, Some("callee"))
            .context("contact")?;
        resp.headers.push(HeaderName::Contact, contact.to_string());
    }
    Ok(resp)
}

/// The next event of `txn`, failing after [`PATIENCE`].
pub(super) async fn next_event(txn: &mut ClientTransaction) -> Result<Option<ClientEvent>> {
    Ok(tokio::time::timeout(PATIENCE, txn.next()).await?)
}

/// The next response on `txn` (a timeout or transport error is a failure).
pub(super) async fn next_response(txn: &mut ClientTransaction) -> Result<Response> {
    match next_event(txn).await? {
        Some(ClientEvent::Response(r)) => Ok(*r),
        other => bail!("expected a response, got {other:?}"),
    }
}

/// A fresh tag (the UAS's To tag).
pub(super) fn tag() -> String {
    new_tag()
}
