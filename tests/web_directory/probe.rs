//! The gateway health check through a real SIP endpoint on 127.0.0.1: a UDP peer that
//! answers OPTIONS is up (with its status and a round trip), a silent one is down, a
//! gateway not checked yet is unknown; the API shows the result.

use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use switchboard::sip::endpoint::{Endpoint, EndpointSettings, INBOUND_QUEUE};
use switchboard::sip::message::Transport;
use switchboard::sip::transaction::TimerConfig;
use switchboard::sip::transport::{ListenerSpec, TransportLayer, TransportOptions};
use switchboard::switch::gateways::{HealthStatus, Prober};

use super::*;

/// Answers every request received on `socket` with `status` (headers copied as RFC 3261
/// §8.2.6.2 says: Via, From, Call-ID, CSeq, To with a tag), until the socket is dropped.
fn answer_options(socket: UdpSocket, status: &'static str) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let mut reply = format!("SIP/2.0 {status}\r\n");
            for line in text.split("\r\n").skip(1) {
                let lower = line.to_ascii_lowercase();
                if ["via:", "from:", "call-id:", "cseq:"]
                    .iter()
                    .any(|h| lower.starts_with(h))
                {
                    reply.push_str(line);
                    reply.push_str("\r\n");
                } else if lower.starts_with("to:") {
                    reply.push_str(line);
                    reply.push_str(";tag=peer1\r\n");
                }
            }
            reply.push_str("Content-Length: 0\r\n\r\n");
            if socket.send_to(reply.as_bytes(), from).await.is_err() {
                break;
            }
        }
    });
}

fn udp_gateway(name: &str, addr: SocketAddr) -> serde_json::Value {
    json!({ "name": name, "address": addr.to_string(), "transport": "udp" })
}

#[tokio::test]
async fn options_checks_mark_gateways_up_or_down() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;

    let alive = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let alive_addr = alive.local_addr().expect("addr");
    answer_options(alive, "200 OK");
    let picky = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let picky_addr = picky.local_addr().expect("addr");
    answer_options(picky, "405 Method Not Allowed");
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    for (name, addr) in [
        ("alive", alive_addr),
        ("picky", picky_addr),
        ("silent", silent_addr),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v1/gateways",
                &admin,
                Some(udp_gateway(name, addr)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    // No TLS listener to send from: down, and the answer says why.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/gateways",
            &admin,
            Some(json!({ "name": "secure", "address": "127.0.0.1:5061", "transport": "tls" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A SIP endpoint on an ephemeral UDP port.
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
    let listeners = [ListenerSpec {
        transport: Transport::Udp,
        addr: "127.0.0.1:0".parse().expect("sa"),
    }];
    let transport = TransportLayer::start_with_options(
        &listeners,
        None,
        TransportOptions::default(),
        inbound_tx,
        app.lifecycle.shutdown.clone(),
        app.lifecycle.tracker.clone(),
    )
    .await
    .expect("transport");
    let settings = EndpointSettings {
        server: "switchboard-test".into(),
        acl: Acl::loopback(),
        timers: TimerConfig::default(),
    };
    let (sip, _incoming) = Endpoint::spawn(
        settings,
        transport,
        app.registrar.clone(),
        inbound_rx,
        &app.lifecycle,
    );

    let prober = Prober::new(app.gateways.clone(), sip)
        .with_timing(Duration::from_secs(3600), Duration::from_millis(700));
    tokio::time::timeout(Duration::from_secs(10), prober.probe_all())
        .await
        .expect("a round ends within its timeout");

    let alive = app.gateways.health("alive");
    assert_eq!(alive.status, HealthStatus::Up, "{alive:?}");
    assert_eq!(alive.last_status_code, Some(200));
    assert!(alive.rtt_ms.is_some_and(|ms| ms < 700), "{alive:?}");
    assert!(alive.last_checked_ms.is_some());
    let picky = app.gateways.health("picky");
    assert_eq!(
        picky.status,
        HealthStatus::Up,
        "any answer means reachable: {picky:?}"
    );
    assert_eq!(picky.last_status_code, Some(405));
    let silent_health = app.gateways.health("silent");
    assert_eq!(
        silent_health.status,
        HealthStatus::Down,
        "{silent_health:?}"
    );
    assert!(silent_health.last_error.is_some());
    assert!(silent_health.rtt_ms.is_none());
    let secure = app.gateways.health("secure");
    assert_eq!(secure.status, HealthStatus::Down, "{secure:?}");
    assert!(
        secure
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("TLS")
            || secure
                .last_error
                .as_deref()
                .unwrap_or_default()
                .contains("tls"),
        "{secure:?}"
    );
    // The configured gateway (127.0.0.1:5080, nobody there) was checked too.
    assert_ne!(app.gateways.health("carrier").status, HealthStatus::Unknown);

    let (_, body) = app
        .call(Method::GET, "/api/v1/gateways", &admin, None)
        .await;
    let state_of = |name: &str| {
        body["gateways"]
            .as_array()
            .and_then(|l| l.iter().find(|g| g["name"] == name))
            .map(|g| g["state"].clone())
            .unwrap_or_default()
    };
    assert_eq!(state_of("alive")["status"], "up", "{body}");
    assert!(state_of("alive")["rtt_ms"].is_u64());
    assert_eq!(state_of("silent")["status"], "down", "{body}");
    assert!(state_of("silent")["last_error"].is_string());

    // A gateway added after the round is unknown until the next one.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/gateways",
            &admin,
            Some(udp_gateway("late", "127.0.0.1:9".parse().expect("sa"))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["state"]["status"], "unknown");
    drop(silent);
    app.lifecycle.stop_and_wait().await;
}
