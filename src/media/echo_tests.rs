//! Echo-mode relay tests ([`RelaySession::start_echo`]) with real UDP sockets on 127.0.0.1:
//! one fake phone that must hear its own RTP back.

use super::ports::PortPool;
use super::relay::{Leg, MediaEvent, RelayConfig, RelaySession};
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

/// An RTP packet (V=2, no CSRC/extension) with a 160-byte payload.
fn rtp(pt: u8, seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, pt & 0x7f];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[seq as u8; 160]);
    p
}

struct Echo {
    pool: PortPool,
    session: RelaySession,
    events: mpsc::Receiver<MediaEvent>,
    phone: UdpSocket,
    phone_rtcp: UdpSocket,
}

async fn echo(first_port: u16, config: RelayConfig) -> Echo {
    let pool = PortPool::new(LOOPBACK, first_port, first_port + 99).unwrap();
    let lifecycle = Lifecycle::new();
    let (tx, events) = mpsc::channel(8);
    let session = RelaySession::start_echo(pool.allocate().unwrap(), config, tx, &lifecycle);
    let phone = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let phone_rtcp = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=rtcp:{}\r\n",
        phone.local_addr().unwrap().port(),
        phone_rtcp.local_addr().unwrap().port()
    );
    session.set_stream(Leg::A, &parse_audio(sdp.as_bytes()).unwrap().unwrap());
    Echo {
        pool,
        session,
        events,
        phone,
        phone_rtcp,
    }
}

#[tokio::test]
async fn echoes_rtp_to_its_source_from_the_same_port_with_stats() {
    let e = echo(43200, RelayConfig::default()).await;
    assert_eq!(e.pool.in_use(), 1, "an echo session takes one pair");
    let ours = e.session.local_rtp(Leg::A);
    assert_eq!(e.session.local_rtp(Leg::B), ours, "one pair for both names");
    let mut buf = [0u8; 1500];
    for seq in 0..10u16 {
        let pkt = rtp(8, seq, 0xec40);
        e.phone.send_to(&pkt, ours).await.unwrap();
        let (n, from) = timeout(WAIT, e.phone.recv_from(&mut buf))
            .await
            .expect("echo did not come back")
            .unwrap();
        assert_eq!(&buf[..n], &pkt[..], "payload echoed unchanged");
        assert_eq!(from, ours, "echoed from the port the phone sends to");
    }
    // RTCP is counted, never echoed: the phone's next datagram is the RTP echo below.
    e.phone_rtcp
        .send_to(&[0x80, 200, 0, 6], e.session.local_rtcp(Leg::A))
        .await
        .unwrap();
    let pkt = rtp(8, 10, 0xec40);
    e.phone.send_to(&pkt, ours).await.unwrap();
    let (n, _) = timeout(WAIT, e.phone.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &pkt[..]);
    assert!(
        timeout(Duration::from_millis(200), e.phone_rtcp.recv_from(&mut buf))
            .await
            .is_err(),
        "RTCP must not be echoed"
    );
    let stats = e.session.close().await;
    assert_eq!((stats.a.packets_in, stats.a.packets_out), (11, 11));
    assert_eq!(stats.a.bytes_out, 11 * 172);
    assert_eq!((stats.a.rtcp_in, stats.a.rtcp_out), (1, 0));
    assert_eq!(stats.a.codec.as_deref(), Some("PCMA"));
    assert_eq!(stats.a.latched, Some(e.phone.local_addr().unwrap()));
    assert_eq!((stats.a.lost, stats.a.expected), (0, 11));
    assert_eq!(stats.b, Default::default(), "no second leg");
    assert_eq!(e.pool.in_use(), 0, "close() released the pair");
}

#[tokio::test]
async fn echo_latches_to_the_real_source_not_the_sdp_address() {
    let e = echo(43300, RelayConfig::default()).await;
    // Behind NAT: the packets come from another port than the SDP says.
    let nat = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let pkt = rtp(8, 1, 7);
    nat.send_to(&pkt, e.session.local_rtp(Leg::A))
        .await
        .unwrap();
    let mut buf = [0u8; 1500];
    let (n, _) = timeout(WAIT, nat.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &pkt[..]);
    // A stranger is dropped once the leg is latched.
    e.phone
        .send_to(&rtp(8, 2, 9), e.session.local_rtp(Leg::A))
        .await
        .unwrap();
    nat.send_to(&rtp(8, 3, 7), e.session.local_rtp(Leg::A))
        .await
        .unwrap();
    let (_, _) = timeout(WAIT, nat.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let stats = e.session.close().await;
    assert_eq!(stats.a.latched, Some(nat.local_addr().unwrap()));
    assert_eq!((stats.a.packets_in, stats.a.dropped), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn echo_media_timeout_reports_leg_a_only() {
    let config = RelayConfig {
        media_timeout: Some(Duration::from_secs(5)),
        ..RelayConfig::default()
    };
    let mut e = echo(43400, config).await;
    let t0 = Instant::now();
    e.session.arm_timeout();
    let event = timeout(Duration::from_secs(60), e.events.recv())
        .await
        .unwrap();
    assert_eq!(event, Some(MediaEvent::Timeout { leg: Leg::A }));
    assert!(t0.elapsed() >= Duration::from_secs(5));
    assert!(
        timeout(Duration::from_secs(60), e.events.recv())
            .await
            .is_err(),
        "the absent leg B never times out"
    );
}

#[test]
fn echo_state_sends_rtp_back_and_keeps_muxed_rtcp() {
    let mut shared = Shared::new(true);
    let phone: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let now = Instant::now();
    let mode = Default::default();
    let verdict = shared.on_rtp(Leg::A, phone, &rtp(0, 1, 1), mode, now);
    assert_eq!(verdict.forward_to, Some(phone));
    let muxed = [0x80, 200, 0, 6, 0, 0, 0, 1];
    let verdict = shared.on_rtp(Leg::A, phone, &muxed, mode, now);
    assert_eq!(verdict.forward_to, None, "muxed RTCP is not echoed");
    assert_eq!(shared.on_rtcp(Leg::A, phone, mode).forward_to, None);
    assert_eq!(shared.legs[0].packets_in, 1);
    assert_eq!(shared.legs[0].rtcp_in, 2);
}
