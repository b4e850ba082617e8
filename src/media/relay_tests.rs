//! Relay tests with real UDP sockets on 127.0.0.1 (fake phones on both sides).

use super::ports::PortPool;
use super::relay::{LatchMode, Leg, MediaEvent, RelayConfig, RelaySession};
use super::relay_state::Shared;
use super::sdp::parse_audio;
use crate::runtime::Lifecycle;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);

/// Builds an RTP packet (V=2, no CSRC/extension).
fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt & 0x7f];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// RFC 4733 payload.
fn dtmf(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [event, if end { 0x8a } else { 0x0a }, d[0], d[1]]
}

/// A phone: one RTP and one RTCP socket.
struct Phone {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

impl Phone {
    async fn new() -> Phone {
        Phone {
            rtp: UdpSocket::bind((LOOPBACK, 0)).await.unwrap(),
            rtcp: UdpSocket::bind((LOOPBACK, 0)).await.unwrap(),
        }
    }

    fn sdp(&self, extra: &str) -> Vec<u8> {
        let port = self.rtp.local_addr().unwrap().port();
        let rtcp = self.rtcp.local_addr().unwrap().port();
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=rtcp:{rtcp}\r\n{extra}"
        )
        .into_bytes()
    }

    async fn recv(&self) -> (Vec<u8>, SocketAddr) {
        let mut buf = [0u8; 1500];
        let (n, from) = timeout(WAIT, self.rtp.recv_from(&mut buf))
            .await
            .expect("RTP did not arrive")
            .unwrap();
        (buf[..n].to_vec(), from)
    }
}

struct Rig {
    pool: PortPool,
    lifecycle: Lifecycle,
    session: RelaySession,
    a: Phone,
    b: Phone,
    events: mpsc::Receiver<MediaEvent>,
}

async fn rig(first_port: u16, config: RelayConfig, queue: usize) -> Rig {
    let pool = PortPool::new(LOOPBACK, first_port, first_port + 99).unwrap();
    let lifecycle = Lifecycle::new();
    let (tx, events) = mpsc::channel(queue);
    let session = RelaySession::start(
        pool.allocate().unwrap(),
        pool.allocate().unwrap(),
        config,
        tx,
        &lifecycle,
    );
    let (a, b) = (Phone::new().await, Phone::new().await);
    session.set_stream(Leg::A, &parse_audio(&a.sdp("")).unwrap().unwrap());
    session.set_stream(Leg::B, &parse_audio(&b.sdp("")).unwrap().unwrap());
    Rig {
        pool,
        lifecycle,
        session,
        a,
        b,
        events,
    }
}

#[tokio::test]
async fn relays_rtp_both_ways_and_releases_ports_on_close() {
    let r = rig(42000, RelayConfig::default(), 8).await;
    assert_eq!(r.pool.in_use(), 2);
    let to_a = r.session.local_rtp(Leg::A);
    let to_b = r.session.local_rtp(Leg::B);
    for seq in 0..10u16 {
        let pkt = rtp(0, seq, u32::from(seq) * 160, 0xa, &[seq as u8; 160]);
        r.a.rtp.send_to(&pkt, to_a).await.unwrap();
        let (got, from) = r.b.recv().await;
        assert_eq!(got, pkt, "payload relayed unchanged");
        assert_eq!(from, to_b, "B sees the relay's B-side port");
    }
    for seq in 0..5u16 {
        let pkt = rtp(8, seq, u32::from(seq) * 160, 0xb, &[1; 160]);
        r.b.rtp.send_to(&pkt, to_b).await.unwrap();
        assert_eq!(r.a.recv().await.0, pkt);
    }
    let stats = r.session.close().await;
    assert_eq!((stats.a.packets_in, stats.b.packets_out), (10, 10));
    assert_eq!((stats.b.packets_in, stats.a.packets_out), (5, 5));
    assert_eq!(stats.a.bytes_in, 10 * 172);
    assert_eq!(stats.b.bytes_out, 10 * 172);
    assert_eq!(stats.a.codec.as_deref(), Some("PCMU"));
    assert_eq!(stats.b.codec.as_deref(), Some("PCMA"));
    assert_eq!((stats.a.lost, stats.a.expected), (0, 10));
    assert!(stats.a.first_packet.is_some() && stats.a.last_packet >= stats.a.first_packet);
    assert_eq!(stats.a.latched, Some(r.a.rtp.local_addr().unwrap()));
    assert_eq!(r.pool.in_use(), 0, "close() released both pairs");
}

#[tokio::test]
async fn latches_to_the_real_source_behind_nat_and_drops_strangers() {
    let r = rig(42100, RelayConfig::default(), 8).await;
    // A's SDP advertises a private address; the packets really come from `nat`.
    let sdp_decoy = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let decoy = sdp_decoy.local_addr().unwrap();
    r.session.set_remote(Leg::A, decoy, decoy);
    let nat = &r.a.rtp;
    let (to_a, to_b) = (r.session.local_rtp(Leg::A), r.session.local_rtp(Leg::B));
    nat.send_to(&rtp(0, 1, 0, 7, b"first"), to_a).await.unwrap();
    assert_eq!(r.b.recv().await.0, rtp(0, 1, 0, 7, b"first"));
    r.b.rtp
        .send_to(&rtp(0, 1, 0, 9, b"back"), to_b)
        .await
        .unwrap();
    assert_eq!(
        r.a.recv().await.0,
        rtp(0, 1, 0, 9, b"back"),
        "sent to the latched source"
    );
    let mut buf = [0u8; 64];
    assert!(
        sdp_decoy.try_recv_from(&mut buf).is_err(),
        "nothing to the SDP address"
    );
    // A stranger is dropped; the queue is FIFO, so once the next real packet is out, the
    // stranger's was handled.
    let stranger = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    stranger
        .send_to(&rtp(0, 99, 0, 66, b"spoof"), to_a)
        .await
        .unwrap();
    nat.send_to(&rtp(0, 2, 160, 7, b"second"), to_a)
        .await
        .unwrap();
    assert_eq!(r.b.recv().await.0, rtp(0, 2, 160, 7, b"second"));
    let stats = r.session.stats();
    assert_eq!((stats.a.packets_in, stats.a.dropped), (2, 1));
    assert_eq!(stats.a.latched, Some(nat.local_addr().unwrap()));
}

#[tokio::test]
async fn sdp_address_only_mode_rejects_other_ips_before_latching() {
    let config = RelayConfig {
        latch: LatchMode::SdpAddressOnly,
        ..RelayConfig::default()
    };
    let r = rig(42200, config, 8).await;
    let to_a = r.session.local_rtp(Leg::A);
    let other_ip = UdpSocket::bind(("127.0.0.2", 0)).await.unwrap();
    other_ip
        .send_to(&rtp(0, 1, 0, 1, b"x"), to_a)
        .await
        .unwrap();
    // Same IP as the SDP, other port (NAT port remap): accepted and latched.
    let remapped = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    remapped
        .send_to(&rtp(0, 2, 0, 1, b"y"), to_a)
        .await
        .unwrap();
    assert_eq!(r.b.recv().await.0, rtp(0, 2, 0, 1, b"y"));
    let stats = r.session.stats();
    assert_eq!((stats.a.packets_in, stats.a.dropped), (1, 1));
    assert_eq!(stats.a.latched, Some(remapped.local_addr().unwrap()));
}

#[tokio::test]
async fn relays_rtcp_on_the_odd_ports() {
    let r = rig(42300, RelayConfig::default(), 8).await;
    let report = [0x81u8, 200, 0, 6, 0, 0, 0, 1]; // SR header start; not parsed by the relay
    r.a.rtcp
        .send_to(&report, r.session.local_rtcp(Leg::A))
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = timeout(WAIT, r.b.rtcp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &report);
    assert_eq!(from, r.session.local_rtcp(Leg::B));
    let stats = r.session.close().await;
    assert_eq!((stats.a.rtcp_in, stats.b.rtcp_out), (1, 1));
    assert_eq!(stats.a.packets_in, 0, "RTCP is not RTP");
}

#[tokio::test]
async fn counts_loss_from_a_sequence_gap() {
    let r = rig(42400, RelayConfig::default(), 8).await;
    let to_a = r.session.local_rtp(Leg::A);
    for seq in (1..=10u16).chain(14..=20) {
        r.a.rtp
            .send_to(&rtp(0, seq, u32::from(seq) * 160, 3, &[0; 160]), to_a)
            .await
            .unwrap();
        r.b.recv().await;
    }
    let stats = r.session.stats();
    assert_eq!(
        (stats.a.expected, stats.a.packets_in, stats.a.lost),
        (20, 17, 3)
    );
    assert!(stats.a.jitter_ms >= 0.0);
}

#[test]
fn jitter_through_the_relay_state_with_explicit_arrival_times() {
    let mut shared = Shared::default();
    let src: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let t0 = Instant::now();
    // 20 ms packets arriving 0, 30, 40, 70, 80 ms: |D| = 10 ms = 80 units each step.
    for (i, ms) in [0u64, 30, 40, 70, 80].into_iter().enumerate() {
        let pkt = rtp(0, i as u16, i as u32 * 160, 5, &[0; 160]);
        let now = t0 + Duration::from_millis(ms);
        shared.on_rtp(Leg::A, src, &pkt, LatchMode::AnySource, now);
    }
    let stats = shared.snapshot(Leg::A, t0, std::time::SystemTime::UNIX_EPOCH);
    // RFC 3550 §A.8 integer recursion: 80, 155, 225, 291 (x16) -> 18 units = 2.27 ms.
    assert!(
        (stats.jitter_ms - 291.0 / 16.0 / 8.0).abs() < 1e-9,
        "{}",
        stats.jitter_ms
    );
    assert_eq!(stats.dropped, 5, "no destination for leg B yet");
}

#[tokio::test]
async fn dtmf_events_are_decoded_once_and_still_relayed() {
    let mut r = rig(42500, RelayConfig::default(), 8).await;
    let to_a = r.session.local_rtp(Leg::A);
    let mut seq = 0u16;
    let mut packets = Vec::new();
    for (event, ts) in [(5u8, 8000u32), (11, 16000)] {
        for d in [160u16, 320, 480] {
            packets.push(rtp(101, seq, ts, 1, &dtmf(event, false, d)));
            seq += 1;
        }
        for _ in 0..3 {
            // RFC 4733 §2.5.1.4: the end packet is sent three times.
            packets.push(rtp(101, seq, ts, 1, &dtmf(event, true, 800)));
            seq += 1;
        }
    }
    for pkt in &packets {
        r.a.rtp.send_to(pkt, to_a).await.unwrap();
        assert_eq!(&r.b.recv().await.0, pkt, "DTMF is relayed too");
    }
    let first = timeout(WAIT, r.events.recv()).await.unwrap();
    let second = timeout(WAIT, r.events.recv()).await.unwrap();
    assert_eq!(
        (first, second),
        (
            Some(MediaEvent::Dtmf {
                leg: Leg::A,
                digit: '5',
                duration_ms: 100
            }),
            Some(MediaEvent::Dtmf {
                leg: Leg::A,
                digit: '#',
                duration_ms: 100
            }),
        )
    );
    assert!(r.events.try_recv().is_err(), "exactly once per event");
    let stats = r.session.stats();
    // Only DTMF arrived: the codec is the audio codec both SDPs agree on, never
    // telephone-event.
    assert_eq!(
        stats.a.codec.as_deref(),
        Some("PCMU"),
        "telephone-event is not an audio codec"
    );
    assert_eq!(stats.a.lost, 0);
}

#[tokio::test]
async fn a_full_event_queue_drops_and_counts_without_blocking() {
    let r = rig(42600, RelayConfig::default(), 1).await;
    let to_a = r.session.local_rtp(Leg::A);
    for (i, ts) in [100u32, 200, 300].into_iter().enumerate() {
        let pkt = rtp(101, i as u16, ts, 1, &dtmf(1, true, 400));
        r.a.rtp.send_to(&pkt, to_a).await.unwrap();
        r.b.recv().await;
    }
    assert_eq!(r.session.stats().a.dtmf_dropped, 2);
}

#[tokio::test(start_paused = true)]
async fn media_timeout_fires_per_silent_leg_and_skips_inactive_legs() {
    let config = RelayConfig {
        media_timeout: Some(Duration::from_secs(5)),
        ..RelayConfig::default()
    };
    let mut r = rig(42700, config, 8).await;
    // B put the call on hold with a=inactive: B's phone will not send, so no timeout for B.
    r.session.set_stream(
        Leg::B,
        &parse_audio(&r.b.sdp("a=inactive\r\n")).unwrap().unwrap(),
    );
    let t0 = Instant::now();
    r.session.arm_timeout();
    let event = timeout(Duration::from_secs(60), r.events.recv())
        .await
        .unwrap();
    assert_eq!(event, Some(MediaEvent::Timeout { leg: Leg::A }));
    assert!(t0.elapsed() >= Duration::from_secs(5));
    assert!(
        timeout(Duration::from_secs(60), r.events.recv())
            .await
            .is_err(),
        "reported once, and never for the inactive leg"
    );
}

#[tokio::test(start_paused = true)]
async fn media_timeout_needs_arming() {
    let config = RelayConfig {
        media_timeout: Some(Duration::from_secs(1)),
        ..RelayConfig::default()
    };
    let mut r = rig(42800, config, 8).await;
    assert!(timeout(Duration::from_secs(30), r.events.recv())
        .await
        .is_err());
}

#[tokio::test]
async fn rtp_keeps_a_leg_alive_while_the_other_times_out() {
    let config = RelayConfig {
        media_timeout: Some(Duration::from_millis(300)),
        ..RelayConfig::default()
    };
    let mut r = rig(42900, config, 8).await;
    r.session.arm_timeout();
    let to_a = r.session.local_rtp(Leg::A);
    let mut tick = tokio::time::interval(Duration::from_millis(40));
    let mut seq = 0u16;
    let event = timeout(WAIT, async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    seq += 1;
                    r.a.rtp.send_to(&rtp(0, seq, 0, 1, &[0; 160]), to_a).await.unwrap();
                }
                e = r.events.recv() => break e,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(event, Some(MediaEvent::Timeout { leg: Leg::B }));
}

#[tokio::test]
async fn dropping_the_session_or_shutdown_releases_the_ports() {
    let r = rig(43000, RelayConfig::default(), 8).await;
    assert_eq!(r.pool.in_use(), 2);
    drop(r.session);
    r.lifecycle.tracker.close();
    r.lifecycle.tracker.wait().await;
    assert_eq!(r.pool.in_use(), 0);

    let r = rig(43100, RelayConfig::default(), 8).await;
    r.lifecycle.stop_and_wait().await;
    let stats = r.session.close().await;
    assert_eq!(stats.a.packets_in, 0);
    assert_eq!(r.pool.in_use(), 0);
}

#[test]
fn muxed_rtcp_on_the_rtp_port_is_relayed_but_not_counted_as_rtp() {
    let mut shared = Shared::default();
    let phone_b: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    shared.legs[Leg::B.index()].rtp.set_sdp(phone_b);
    let src: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let receiver_report = [0x81u8, 201, 0, 1, 0, 0, 0, 9];
    let now = Instant::now();
    let verdict = shared.on_rtp(Leg::A, src, &receiver_report, LatchMode::AnySource, now);
    assert_eq!(verdict.forward_to, Some(phone_b));
    let stats = shared.snapshot(Leg::A, now, std::time::SystemTime::UNIX_EPOCH);
    assert_eq!((stats.packets_in, stats.rtcp_in, stats.expected), (0, 1, 0));
}

#[tokio::test]
async fn process_wide_packet_counters_include_every_relayed_packet() {
    // Other tests relay packets concurrently: the totals grow by at least ours.
    let (in0, out0) = super::relay::rtp_packet_totals();
    let r = rig(43800, RelayConfig::default(), 8).await;
    let (to_a, to_b) = (r.session.local_rtp(Leg::A), r.session.local_rtp(Leg::B));
    for seq in 0..7u16 {
        let pkt = rtp(0, seq, u32::from(seq) * 160, 0xc, &[0; 160]);
        r.a.rtp.send_to(&pkt, to_a).await.unwrap();
        r.b.recv().await;
    }
    let pkt = rtp(0, 0, 0, 0xd, &[0; 160]);
    r.b.rtp.send_to(&pkt, to_b).await.unwrap();
    r.a.recv().await;
    let stats = r.session.close().await;
    assert_eq!((stats.a.packets_in + stats.b.packets_in), 8);
    let (in1, out1) = super::relay::rtp_packet_totals();
    assert!(in1 - in0 >= 8, "in {in0} -> {in1}");
    assert!(out1 - out0 >= 8, "out {out0} -> {out1}");
    r.lifecycle.stop_and_wait().await;
}
