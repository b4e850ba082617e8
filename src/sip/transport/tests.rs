//! Transport tests on real sockets bound to loopback port 0. Every wait is an awaited event
//! with a timeout; nothing sleeps.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::sip::message::{Message, Response};

/// Upper bound for any single awaited event.
const WAIT: Duration = Duration::from_secs(5);

/// A running transport layer plus the receiving end of its inbound queue.
struct Harness {
    layer: TransportLayer,
    rx: mpsc::Receiver<Inbound>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Harness {
    async fn start(specs: &[(Transport, &str)], tls: Option<TlsSetup>) -> Harness {
        Self::start_with(specs, tls, TransportOptions::default()).await
    }

    async fn start_with(
        specs: &[(Transport, &str)],
        tls: Option<TlsSetup>,
        options: TransportOptions,
    ) -> Harness {
        let listeners: Vec<ListenerSpec> = specs
            .iter()
            .map(|(transport, addr)| ListenerSpec {
                transport: transport.clone(),
                addr: addr.parse().expect("listener address"),
            })
            .collect();
        let (tx, rx) = mpsc::channel(16);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let layer = TransportLayer::start_with_options(
            &listeners,
            tls,
            options,
            tx,
            shutdown.clone(),
            tracker.clone(),
        )
        .await
        .expect("transport starts");
        Harness {
            layer,
            rx,
            shutdown,
            tracker,
        }
    }

    fn addr(&self, transport: Transport) -> SocketAddr {
        self.layer.local_addr(transport).expect("listener bound")
    }

    async fn next(&mut self) -> Inbound {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("inbound within timeout")
            .expect("inbound channel open")
    }

    async fn next_message(&mut self) -> (Message, Source) {
        match self.next().await {
            Inbound::Message { msg, source } => (msg, source),
            Inbound::Malformed { error, bytes, .. } => {
                panic!(
                    "unexpected malformed ({error}): {:?}",
                    String::from_utf8_lossy(&bytes)
                )
            }
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A REGISTER with the given Via transport, sent-by and Call-ID.
fn register(transport: &str, sent_by: &str, call_id: &str) -> String {
    format!(
        "REGISTER sip:switchboard.test SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {sent_by};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@switchboard.test>;tag=t1\r\n\
         To: <sip:1001@switchboard.test>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:1001@{sent_by}>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// An OPTIONS with a body, to exercise Content-Length framing.
fn options_with_body(call_id: &str) -> String {
    let body = "hello=world\r\n";
    format!(
        "OPTIONS sip:switchboard.test SIP/2.0\r\n\
         Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@switchboard.test>;tag=t1\r\n\
         To: <sip:switchboard.test>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 2 OPTIONS\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn call_id(msg: &Message) -> String {
    msg.headers().call_id().expect("Call-ID").to_owned()
}

/// The 200 response to `msg` (a request).
fn ok_for(msg: &Message) -> Bytes {
    match msg {
        Message::Request(req) => Response::for_request(req, 200, None, Some("srv")).to_bytes(),
        Message::Response(_) => panic!("expected a request"),
    }
}

/// Reads from a stream until `needle` has arrived; returns everything read.
async fn read_until<S: AsyncReadExt + Unpin>(stream: &mut S, needle: &[u8]) -> Vec<u8> {
    read_until_all(stream, &[needle]).await
}

/// Reads from a stream until every needle has arrived; returns everything read.
async fn read_until_all<S: AsyncReadExt + Unpin>(stream: &mut S, needles: &[&[u8]]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let missing = |got: &[u8]| {
        needles
            .iter()
            .any(|n| !got.windows(n.len()).any(|w| w == *n))
    };
    tokio::time::timeout(WAIT, async {
        while missing(&got) {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "EOF before all of {needles:?}");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("data within timeout");
    got
}

/// Awaits EOF (or a reset) on a stream the server is expected to close.
async fn expect_closed<S: AsyncReadExt + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await
    .expect("connection closed within timeout");
}

#[tokio::test]
async fn udp_round_trip_with_rport() {
    let mut h = Harness::start(&[(Transport::Udp, "127.0.0.1:0")], None).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let client_addr = client.local_addr().expect("addr");
    // sent-by names a port the client is not using, as behind a NAT.
    let req = register("UDP", "127.0.0.1:5999", "udp-1");
    client
        .send_to(req.as_bytes(), h.addr(Transport::Udp))
        .await
        .expect("send");

    let (msg, source) = h.next_message().await;
    assert_eq!(source.transport, Transport::Udp);
    assert_eq!(source.remote, client_addr);
    let via = msg.headers().top_via().expect("via");
    assert_eq!(via.rport(), Some(Some(client_addr.port())));
    assert_eq!(via.received(), Some("127.0.0.1"));

    let target = response_target(&via, &source);
    assert_eq!(target.addr, client_addr, "RFC 3581: received + rport");
    h.layer
        .send(&target, ok_for(&msg))
        .await
        .expect("send response");
    let mut buf = vec![0u8; 65535];
    let (n, from) = tokio::time::timeout(WAIT, client.recv_from(&mut buf))
        .await
        .expect("response within timeout")
        .expect("recv");
    assert_eq!(
        from,
        h.addr(Transport::Udp),
        "response leaves from the listener socket"
    );
    assert!(
        buf[..n].starts_with(b"SIP/2.0 200 "),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
}

#[tokio::test]
async fn udp_garbage_is_malformed_and_keepalive_ignored() {
    let mut h = Harness::start(&[(Transport::Udp, "127.0.0.1:0")], None).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let server = h.addr(Transport::Udp);
    client
        .send_to(b"\r\n\r\n", server)
        .await
        .expect("keep-alive");
    client
        .send_to(b"NOT SIP AT ALL\r\n\r\n", server)
        .await
        .expect("garbage");
    client
        .send_to(
            register("UDP", "127.0.0.1:5999", "after").as_bytes(),
            server,
        )
        .await
        .expect("register");
    match h.next().await {
        Inbound::Malformed { bytes, source, .. } => {
            assert_eq!(&bytes[..], b"NOT SIP AT ALL\r\n\r\n");
            assert_eq!(source.remote, client.local_addr().expect("addr"));
        }
        other => panic!("expected malformed, got {other:?}"),
    }
    let (msg, _) = h.next_message().await;
    assert_eq!(call_id(&msg), "after", "keep-alive produced no item");
}

#[tokio::test]
async fn ipv6_udp_and_tcp_bind_on_loopback() {
    let mut h = Harness::start(
        &[(Transport::Udp, "[::1]:0"), (Transport::Tcp, "[::1]:0")],
        None,
    )
    .await;
    let udp = h.addr(Transport::Udp);
    assert!(udp.is_ipv6() && udp.port() != 0);
    let client = UdpSocket::bind("[::1]:0").await.expect("bind v6");
    client
        .send_to(register("UDP", "[::1]:5999", "v6").as_bytes(), udp)
        .await
        .expect("send");
    let (msg, source) = h.next_message().await;
    let via = msg.headers().top_via().expect("via");
    assert_eq!(via.received(), Some("::1"));
    let target = response_target(&via, &source);
    assert_eq!(target.addr, client.local_addr().expect("addr"));
    h.layer.send(&target, ok_for(&msg)).await.expect("send");
    let mut buf = vec![0u8; 2048];
    let (n, _) = tokio::time::timeout(WAIT, client.recv_from(&mut buf))
        .await
        .expect("response")
        .expect("recv");
    assert!(buf[..n].starts_with(b"SIP/2.0 200 "));

    let mut tcp = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect v6");
    tcp.write_all(register("TCP", "[::1]:5999", "v6tcp").as_bytes())
        .await
        .expect("write");
    let (msg, source) = h.next_message().await;
    assert_eq!(call_id(&msg), "v6tcp");
    assert_eq!(source.transport, Transport::Tcp);
}

#[tokio::test]
async fn tcp_partial_reads_and_pipelined_messages() {
    let mut h = Harness::start(&[(Transport::Tcp, "127.0.0.1:0")], None).await;
    let mut client = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    let a = register("TCP", "127.0.0.1:5099", "a");
    let b = options_with_body("b");
    let (b1, b2) = b.split_at(b.len() - 7); // split inside the body

    // Message a and the head of b in one segment: a must be delivered while b is partial.
    client
        .write_all(format!("{a}{b1}").as_bytes())
        .await
        .expect("write");
    let (msg, _) = h.next_message().await;
    assert_eq!(call_id(&msg), "a");
    client.write_all(b2.as_bytes()).await.expect("write rest");
    let (msg, source) = h.next_message().await;
    assert_eq!(call_id(&msg), "b");
    match &msg {
        Message::Request(req) => assert_eq!(&req.body[..], b"hello=world\r\n"),
        Message::Response(_) => panic!("expected a request"),
    }
    assert!(source.flow.is_some());

    // Two complete messages in one write.
    let c = register("TCP", "127.0.0.1:5099", "c");
    let d = options_with_body("d");
    client
        .write_all(format!("{c}{d}").as_bytes())
        .await
        .expect("write");
    assert_eq!(call_id(&h.next_message().await.0), "c");
    assert_eq!(call_id(&h.next_message().await.0), "d");
}

#[tokio::test]
async fn tcp_keepalive_ping_gets_pong() {
    let mut h = Harness::start(&[(Transport::Tcp, "127.0.0.1:0")], None).await;
    let mut client = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    client.write_all(b"\r\n\r\n").await.expect("ping");
    let got = read_until(&mut client, b"\r\n").await;
    assert_eq!(got, b"\r\n", "RFC 5626 §4.4.1 pong is a single CRLF");
    // The connection still carries messages after the ping.
    client
        .write_all(register("TCP", "127.0.0.1:5099", "after-ping").as_bytes())
        .await
        .expect("write");
    assert_eq!(call_id(&h.next_message().await.0), "after-ping");
}

#[tokio::test]
async fn oversize_message_closes_only_that_connection() {
    let options = TransportOptions {
        max_message: 1024,
        ..TransportOptions::default()
    };
    let mut h = Harness::start_with(&[(Transport::Tcp, "127.0.0.1:0")], None, options).await;
    let mut good = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    good.write_all(register("TCP", "127.0.0.1:5099", "first").as_bytes())
        .await
        .expect("write");
    assert_eq!(call_id(&h.next_message().await.0), "first");

    let mut bad = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    let head = "OPTIONS sip:x SIP/2.0\r\nContent-Length: 5000\r\n\r\n";
    let big = format!("{head}{}", "x".repeat(5000));
    // The server may close while we are still writing; a write error is fine.
    let _ = bad.write_all(big.as_bytes()).await;
    expect_closed(&mut bad).await;

    good.write_all(register("TCP", "127.0.0.1:5099", "second").as_bytes())
        .await
        .expect("write");
    assert_eq!(call_id(&h.next_message().await.0), "second");
}

#[tokio::test]
async fn tcp_unparseable_but_delimited_message_is_malformed() {
    let mut h = Harness::start(&[(Transport::Tcp, "127.0.0.1:0")], None).await;
    let mut client = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    let bad = "REGISTER sip:switchboard.test SIP/2.0\r\nVia SIP/2.0/TCP nowhere\r\nContent-Length: 0\r\n\r\n";
    client.write_all(bad.as_bytes()).await.expect("write");
    match h.next().await {
        Inbound::Malformed { bytes, source, .. } => {
            assert_eq!(&bytes[..], bad.as_bytes());
            assert_eq!(source.transport, Transport::Tcp);
        }
        other => panic!("expected malformed, got {other:?}"),
    }
    client
        .write_all(register("TCP", "127.0.0.1:5099", "next").as_bytes())
        .await
        .expect("write");
    assert_eq!(
        call_id(&h.next_message().await.0),
        "next",
        "connection stays open"
    );
}

#[tokio::test]
async fn response_reuses_inbound_tcp_flow() {
    let mut h = Harness::start(&[(Transport::Tcp, "127.0.0.1:0")], None).await;
    let mut client = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    // sent-by points at a port nobody listens on: only flow reuse can deliver.
    client
        .write_all(register("TCP", "127.0.0.1:9", "flow").as_bytes())
        .await
        .expect("write");
    let (msg, source) = h.next_message().await;
    let flow = source.flow.expect("TCP source has a flow");
    assert_eq!(
        h.layer.flow(flow).map(|f| f.remote),
        Some(client.local_addr().expect("addr"))
    );
    let via = msg.headers().top_via().expect("via");
    let target = response_target(&via, &source);
    assert_eq!(target.flow, Some(flow));
    h.layer
        .send(&target, ok_for(&msg))
        .await
        .expect("send on flow");
    read_until(&mut client, b"Content-Length: 0\r\n\r\n").await;

    // A later request to the contact address (no flow id) also reuses the connection.
    let later = Target {
        transport: Transport::Tcp,
        addr: source.remote,
        flow: None,
    };
    let req = register("TCP", "127.0.0.1:5060", "server-req");
    h.layer
        .send(&later, Bytes::from(req))
        .await
        .expect("send by address");
    read_until(&mut client, b"Call-ID: server-req\r\n").await;
    assert_eq!(h.layer.connection_count(), 1);
}

#[tokio::test]
async fn send_without_flow_opens_a_connection() {
    let mut h = Harness::start(&[(Transport::Tcp, "127.0.0.1:0")], None).await;
    let peer = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let peer_addr = peer.local_addr().expect("addr");
    let target = Target {
        transport: Transport::Tcp,
        addr: peer_addr,
        flow: None,
    };
    let req = register("TCP", "127.0.0.1:5060", "out-1");
    h.layer
        .send(&target, Bytes::from(req))
        .await
        .expect("connect + send");
    let (mut conn, _) = tokio::time::timeout(WAIT, peer.accept())
        .await
        .expect("accept within timeout")
        .expect("accept");
    read_until(&mut conn, b"Call-ID: out-1\r\n").await;

    // The peer answers on the same connection; it arrives with that flow.
    conn.write_all(register("TCP", "127.0.0.1:5070", "from-peer").as_bytes())
        .await
        .expect("write");
    let (msg, source) = h.next_message().await;
    assert_eq!(call_id(&msg), "from-peer");
    assert_eq!(source.remote, peer_addr);
    let flow = source.flow.expect("flow");

    // A second send reuses the connection (by flow and by address).
    h.layer
        .send(
            &Target {
                flow: Some(flow),
                ..target.clone()
            },
            Bytes::from(register("TCP", "127.0.0.1:5060", "out-2")),
        )
        .await
        .expect("send");
    h.layer
        .send(
            &target,
            Bytes::from(register("TCP", "127.0.0.1:5060", "out-3")),
        )
        .await
        .expect("send");
    read_until(&mut conn, b"Call-ID: out-3\r\n").await;
    assert_eq!(h.layer.connection_count(), 1);
}

#[tokio::test]
async fn tls_handshake_and_message_each_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = cert::load_or_generate(None, None, dir.path(), &[]).expect("cert");
    let mut server = Harness::start(&[(Transport::Tls, "127.0.0.1:0")], Some(setup.clone())).await;
    let mut client = Harness::start(&[(Transport::Tls, "127.0.0.1:0")], Some(setup)).await;

    // Outbound TLS from `client` (no flow yet: connect, verify the cert by IP SAN).
    let target = Target {
        transport: Transport::Tls,
        addr: server.addr(Transport::Tls),
        flow: None,
    };
    let req = register("TLS", "127.0.0.1:5061", "tls-1");
    client
        .layer
        .send(&target, Bytes::from(req))
        .await
        .expect("TLS connect + send");
    let (msg, source) = server.next_message().await;
    assert_eq!(source.transport, Transport::Tls);
    assert_eq!(call_id(&msg), "tls-1");

    // The response travels back over the same TLS flow.
    let via = msg.headers().top_via().expect("via");
    server
        .layer
        .send(&response_target(&via, &source), ok_for(&msg))
        .await
        .expect("send response");
    let (resp, back) = client.next_message().await;
    assert!(matches!(resp, Message::Response(ref r) if r.status == 200));
    assert_eq!(back.transport, Transport::Tls);
    assert_eq!(back.remote, server.addr(Transport::Tls));
}

#[tokio::test]
async fn tls_server_name_is_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = cert::load_or_generate(None, None, dir.path(), &[]).expect("cert");
    let mut server = Harness::start(&[(Transport::Tls, "127.0.0.1:0")], Some(setup.clone())).await;
    let client = Harness::start(&[], Some(setup)).await;
    let target = Target {
        transport: Transport::Tls,
        addr: server.addr(Transport::Tls),
        flow: None,
    };
    let err = client
        .layer
        .send_named(&target, Some("wrong.example"), Bytes::from_static(b"x"))
        .await
        .expect_err("name not in the certificate");
    assert!(matches!(err, TransportError::Handshake { .. }), "{err:?}");
    assert_eq!(client.layer.connection_count(), 0);
    let req = register("TLS", "127.0.0.1:5061", "sni");
    client
        .layer
        .send_named(&target, Some("localhost"), Bytes::from(req))
        .await
        .expect("SNI localhost");
    assert_eq!(call_id(&server.next_message().await.0), "sni");
}

#[tokio::test]
async fn concurrent_sends_share_one_new_connection() {
    let h = Harness::start(&[], None).await;
    let peer = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let target = Target {
        transport: Transport::Tcp,
        addr: peer.local_addr().expect("addr"),
        flow: None,
    };
    let (a, b) = tokio::join!(
        h.layer.send(
            &target,
            Bytes::from(register("TCP", "127.0.0.1:5060", "c-1"))
        ),
        h.layer.send(
            &target,
            Bytes::from(register("TCP", "127.0.0.1:5060", "c-2"))
        ),
    );
    a.expect("first send");
    b.expect("second send");
    assert_eq!(h.layer.connection_count(), 1);
    let (mut conn, _) = tokio::time::timeout(WAIT, peer.accept())
        .await
        .expect("accept within timeout")
        .expect("accept");
    read_until_all(&mut conn, &[b"Call-ID: c-1\r\n", b"Call-ID: c-2\r\n"]).await;
}

#[tokio::test]
async fn tls_with_plain_tokio_rustls_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = cert::load_or_generate(None, None, dir.path(), &[]).expect("cert");
    let mut h = Harness::start(&[(Transport::Tls, "127.0.0.1:0")], Some(setup.clone())).await;
    let connector = tokio_rustls::TlsConnector::from(setup.client);
    let tcp = TcpStream::connect(h.addr(Transport::Tls))
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(WAIT, connector.connect(name, tcp))
        .await
        .expect("handshake within timeout")
        .expect("handshake");
    tls.write_all(register("TLS", "127.0.0.1:5999", "tls-2").as_bytes())
        .await
        .expect("write");
    let (msg, source) = h.next_message().await;
    let via = msg.headers().top_via().expect("via");
    h.layer
        .send(&response_target(&via, &source), ok_for(&msg))
        .await
        .expect("send");
    let got = read_until(&mut tls, b"\r\n\r\n").await;
    assert!(got.starts_with(b"SIP/2.0 200 "));
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let options = TransportOptions {
        idle_timeout: Duration::from_millis(200),
        ..TransportOptions::default()
    };
    let h = Harness::start_with(&[(Transport::Tcp, "127.0.0.1:0")], None, options).await;
    let mut client = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    expect_closed(&mut client).await;
}

#[tokio::test]
async fn unknown_flow_to_closed_port_fails_cleanly() {
    let h = Harness::start(&[(Transport::Tcp, "127.0.0.1:0")], None).await;
    // Bind then drop a listener to get a port with nobody behind it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let target = Target {
        transport: Transport::Tcp,
        addr: port,
        flow: Some(FlowId(999)),
    };
    let err = h
        .layer
        .send(&target, Bytes::from_static(b"x"))
        .await
        .expect_err("refused");
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    let err = h
        .layer
        .send(
            &Target {
                transport: Transport::Tls,
                ..target
            },
            Bytes::from_static(b"x"),
        )
        .await
        .expect_err("no TLS");
    assert!(matches!(err, TransportError::TlsNotConfigured), "{err:?}");
}

#[tokio::test]
async fn tls_listener_without_setup_is_refused() {
    let (tx, _rx) = mpsc::channel(1);
    let spec = ListenerSpec {
        transport: Transport::Tls,
        addr: "127.0.0.1:0".parse().expect("addr"),
    };
    let err = TransportLayer::start(
        &[spec],
        None,
        tx,
        CancellationToken::new(),
        TaskTracker::new(),
    )
    .await
    .expect_err("no TLS setup");
    assert!(matches!(err, TransportError::TlsNotConfigured));
}

#[tokio::test]
async fn shutdown_stops_every_task() {
    let h = Harness::start(
        &[
            (Transport::Udp, "127.0.0.1:0"),
            (Transport::Tcp, "127.0.0.1:0"),
        ],
        None,
    )
    .await;
    let mut client = TcpStream::connect(h.addr(Transport::Tcp))
        .await
        .expect("connect");
    client.write_all(b"\r\n\r\n").await.expect("ping");
    read_until(&mut client, b"\r\n").await; // the connection's tasks are running
    h.shutdown.cancel();
    h.tracker.close();
    tokio::time::timeout(WAIT, h.tracker.wait())
        .await
        .expect("all transport tasks stop on shutdown");
    expect_closed(&mut client).await;
    let err = h
        .layer
        .send(
            &Target {
                transport: Transport::Udp,
                addr: client.local_addr().expect("addr"),
                flow: None,
            },
            Bytes::from_static(b"x"),
        )
        .await
        .expect_err("shut down");
    assert!(matches!(err, TransportError::ShuttingDown));
}
