//! The WebSocket feeds over a real loopback socket served by `web::serve`, with a
//! tokio-tungstenite client: login and Origin checks at the upgrade, snapshot then deltas,
//! pings answered, close 1001 at shutdown; the CDR feed from a real CDR pipeline.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use crate::cdr::pipeline::CdrPipeline;
use crate::cdr::testkit::Sim;
use crate::config::CdrSettings;
use crate::runtime::Admission;
use crate::switch::bus::EventBus;
use crate::switch::cause::{HangupCause, HangupSide};
use crate::web::live::testutil::{web, web_with, Setup, TestWeb};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// Serves `t`'s router on an ephemeral loopback port.
async fn serve(t: &TestWeb) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    tokio::spawn(crate::web::serve(t.state.clone(), listener, stop.clone()));
    (addr, stop)
}

/// Opens `path` with the optional bearer token and Origin.
async fn connect(
    addr: SocketAddr,
    path: &str,
    bearer: Option<&str>,
    origin: Option<&str>,
) -> Result<Client, tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("request");
    if let Some(token) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
        req.headers_mut().insert("authorization", value);
    }
    if let Some(origin) = origin {
        let value = HeaderValue::from_str(origin).expect("header");
        req.headers_mut().insert("origin", value);
    }
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("handshake in time")
        .map(|(ws, _)| ws)
}

fn refused_with(result: Result<Client, tungstenite::Error>) -> StatusCode {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status(),
        Err(other) => panic!("not an HTTP refusal: {other}"),
        Ok(_) => panic!("upgrade accepted"),
    }
}

/// The next text message as JSON (pongs and pings skipped).
async fn next_json(ws: &mut Client) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("stream open")
            .expect("frame");
        match msg {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_live_call_socket_sends_a_snapshot_then_deltas() {
    let t = web().await;
    let (addr, stop) = serve(&t).await;
    let path = "/api/v1/calls/live";
    let status = refused_with(connect(addr, path, None, None).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let evil = Some("http://evil.example");
    let status = refused_with(connect(addr, path, Some(&t.viewer), evil).await);
    assert_eq!(status, StatusCode::FORBIDDEN);

    let origin = format!("http://{addr}");
    let mut ws = connect(addr, path, Some(&t.viewer), Some(&origin))
        .await
        .expect("same origin accepted");
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["calls"], serde_json::json!([]));
    let seq0 = snapshot["seq"].as_u64().expect("seq");

    let mut sim = Sim::new();
    let a = sim.create_inbound("1000", "1001");
    sim.start_app(a, "Dial", "SIP/1001");
    let b = sim.dial(a, "1001", "1001", false);
    sim.ring_legs(a, &[b]);
    t.publish(&mut sim).await;
    // One or two deltas (the first change goes at once), ending with the ringing call.
    let mut call = Value::Null;
    let mut seq = seq0;
    while call["state"] != "ringing" {
        let delta = next_json(&mut ws).await;
        assert_eq!(delta["type"], "delta");
        assert_eq!(delta["seq"].as_u64(), Some(seq + 1), "seq + 1 each");
        seq += 1;
        call = delta["upsert"][0].clone();
        assert_eq!(call["id"], sim.uuid(a));
    }
    assert_eq!(call["legs"][0]["id"], sim.uuid(b));

    // A ping is answered.
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .expect("ping");
    let pong = loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        if let Message::Pong(data) = msg {
            break data;
        }
    };
    assert_eq!(&pong[..], b"are you there");

    // Shutdown: the server says "going away".
    t.lifecycle.shutdown.cancel();
    let close = loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        if let Message::Close(frame) = msg {
            break frame;
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1001));
    tokio::time::timeout(WAIT, t.lifecycle.stop_and_wait())
        .await
        .expect("the live task and its clients end");
    stop.cancel();
}

#[tokio::test]
async fn the_cdr_socket_sends_each_committed_record() {
    let cdr_dir = tempfile::tempdir().expect("tempdir");
    let bus = EventBus::new();
    let pipeline = CdrPipeline::start(
        &CdrSettings::default(),
        cdr_dir.path(),
        &bus,
        Admission::new(),
    )
    .await
    .expect("CDR pipeline");
    let t = web_with(Setup {
        bus: Some(bus.clone()),
        cdr: Some(pipeline.handle()),
        ..Setup::default()
    })
    .await;
    let (addr, stop) = serve(&t).await;
    let mut ws = connect(addr, "/api/v1/cdr/live", Some(&t.viewer), None)
        .await
        .expect("upgrade");

    let mut sim = Sim::new();
    let a = sim.create_inbound("1000", "1001");
    sim.start_app(a, "Dial", "SIP/1001");
    let b = sim.dial(a, "1001", "1001", false);
    sim.ring_legs(a, &[b]);
    sim.connect(a, b);
    sim.advance_ms(5_000);
    let normal = HangupCause::normal(HangupSide::Caller);
    sim.end_call(a, &[b], normal, normal);
    t.publish(&mut sim).await;
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let record = next_json(&mut ws).await;
        kinds.push(record["kind"].as_str().unwrap_or("?").to_owned());
        if record["kind"] == "leg" {
            assert_eq!(record["final"], true);
            assert!(record["record"].is_object(), "{record}");
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["bridge", "leg", "leg"]);
    stop.cancel();
    t.lifecycle.stop_and_wait().await;
    pipeline.finish().await;
}

#[tokio::test]
async fn without_cdrs_the_cdr_socket_is_unavailable() {
    let t = web().await;
    let (addr, stop) = serve(&t).await;
    let status = refused_with(connect(addr, "/api/v1/cdr/live", Some(&t.admin), None).await);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    stop.cancel();
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_not_buffered_for() {
    use crate::web::live::socket::SEND_TIMEOUT;
    use crate::web::live::tracker::{Batch, Rendered};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let t = web().await;
    let (addr, stop) = serve(&t).await;
    // A raw client: handshake, read the snapshot frame, then never read again.
    let mut raw = TcpStream::connect(addr).await.expect("connect");
    let hello = format!(
        "GET /api/v1/calls/live HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {}\r\n\r\n",
        t.viewer
    );
    raw.write_all(hello.as_bytes()).await.expect("handshake");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // 101 headers, then the snapshot frame `{"type":"snapshot",...}` (the serve task runs).
    while !String::from_utf8_lossy(&seen).contains("\"type\":\"snapshot\"") {
        let n = tokio::time::timeout(WAIT, raw.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(seen.starts_with(b"HTTP/1.1 101"));

    // Virtual time from here: the send timeout elapses as soon as nothing else can run.
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    let feed = t.state.inner.live.feed();
    let pad = "x".repeat(256 * 1024);
    for n in 0..48 {
        feed.publish(Batch {
            upsert: vec![Rendered {
                id: format!("call-{n}"),
                order: (n, 0),
                gateways: Vec::new(),
                json: format!("{{\"id\":\"call-{n}\",\"pad\":\"{pad}\"}}"),
            }],
            remove: Vec::new(),
        });
    }
    let clients = t.state.inner.live.clients().clone();
    clients.close();
    tokio::time::timeout(Duration::from_secs(60), clients.wait())
        .await
        .expect("the stuck client was dropped");
    assert!(
        started.elapsed() >= SEND_TIMEOUT,
        "dropped by the send timeout, after {:?}",
        started.elapsed()
    );
    drop(raw);
    stop.cancel();
}

#[tokio::test]
async fn a_feed_ends_when_its_login_does() {
    use crate::web::live::socket::PING_INTERVAL;

    let t = web().await;
    let (addr, stop) = serve(&t).await;
    let mut ws = connect(addr, "/api/v1/calls/live", Some(&t.viewer), None)
        .await
        .expect("viewer accepted");
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");
    // Revoke the viewer's token (the second one created by the test setup).
    let tokens = t.state.store().tokens().await.expect("tokens");
    let viewer = tokens.iter().max_by_key(|k| k.id).expect("a token");
    assert!(t
        .state
        .store()
        .delete_token(viewer.id)
        .await
        .expect("delete"));
    // At the next ping the feed checks the login again and closes with 1008.
    let started = std::time::Instant::now();
    let close = loop {
        let msg = tokio::time::timeout(PING_INTERVAL + WAIT, ws.next())
            .await
            .expect("closed within a ping interval")
            .expect("open")
            .expect("frame");
        if let Message::Close(frame) = msg {
            break frame;
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1008));
    assert!(started.elapsed() <= PING_INTERVAL + WAIT);
    stop.cancel();
}
