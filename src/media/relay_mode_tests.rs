//! Relay tests of per-leg modes (Bridge/Echo/Local), the media output, the recording tap and
//! the codec query, with real UDP sockets on 127.0.0.1.
//!
//! "Nothing was forwarded" is proven without sleeping: the probe is an RFC 4733 end packet,
//! whose decoded event shows it was handled, and the next packet the far phone receives
//! must be a later one (each socket is served in order).

use super::ports::PortPool;
use super::relay::{Leg, LegMode, MediaEvent, RelayConfig, RelaySession, TapPacket};
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

fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt & 0x7f];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x1234u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An RFC 4733 end packet for `event` (digit 0-9 = event number).
fn dtmf_end(event: u8, seq: u16, ts: u32) -> Vec<u8> {
    rtp(101, seq, ts, &[event, 0x8a, 0x03, 0x20])
}

async fn phone() -> UdpSocket {
    UdpSocket::bind((LOOPBACK, 0)).await.unwrap()
}

fn sdp(phone: &UdpSocket, payloads: &str) -> super::sdp::AudioStream {
    let port = phone.local_addr().unwrap().port();
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {payloads}\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    parse_audio(body.as_bytes()).unwrap().unwrap()
}

async fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 1500];
    let (n, from) = timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("packet did not arrive")
        .unwrap();
    (buf[..n].to_vec(), from)
}

async fn event(events: &mut mpsc::Receiver<MediaEvent>) -> MediaEvent {
    timeout(WAIT, events.recv()).await.unwrap().unwrap()
}

fn digit(leg: Leg, digit: char) -> MediaEvent {
    MediaEvent::Dtmf {
        leg,
        digit,
        duration_ms: 100,
    }
}

struct Rig {
    _pool: PortPool,
    session: RelaySession,
    a: UdpSocket,
    b: UdpSocket,
    events: mpsc::Receiver<MediaEvent>,
}

async fn rig(first_port: u16, b_payloads: &str) -> Rig {
    let pool = PortPool::new(LOOPBACK, first_port, first_port + 9).unwrap();
    let (tx, events) = mpsc::channel(8);
    let session = RelaySession::start(
        pool.allocate().unwrap(),
        pool.allocate().unwrap(),
        RelayConfig::default(),
        tx,
        &Lifecycle::new(),
    );
    let (a, b) = (phone().await, phone().await);
    session.set_stream(Leg::A, &sdp(&a, "0 8 101"));
    session.set_stream(Leg::B, &sdp(&b, b_payloads));
    Rig {
        _pool: pool,
        session,
        a,
        b,
        events,
    }
}

#[tokio::test]
async fn local_leg_is_received_but_nothing_crosses_either_way() {
    let mut r = rig(43500, "0 8 101").await;
    let (to_a, to_b) = (r.session.local_rtp(Leg::A), r.session.local_rtp(Leg::B));
    r.session.set_mode(Leg::A, LegMode::Local);
    assert_eq!(r.session.mode(Leg::A), LegMode::Local);
    r.a.send_to(&dtmf_end(1, 1, 160), to_a).await.unwrap();
    assert_eq!(
        event(&mut r.events).await,
        digit(Leg::A, '1'),
        "DTMF still decoded"
    );
    r.b.send_to(&dtmf_end(2, 1, 160), to_b).await.unwrap();
    assert_eq!(event(&mut r.events).await, digit(Leg::B, '2'));
    r.session.set_mode(Leg::A, LegMode::Bridge);
    let from_a = rtp(0, 2, 320, b"after");
    r.a.send_to(&from_a, to_a).await.unwrap();
    assert_eq!(
        recv(&r.b).await.0,
        from_a,
        "the Local-mode packet never reached B"
    );
    let from_b = rtp(0, 2, 320, b"back");
    r.b.send_to(&from_b, to_b).await.unwrap();
    assert_eq!(
        recv(&r.a).await.0,
        from_b,
        "B's packet for A was dropped while Local"
    );
    let stats = r.session.close().await;
    assert_eq!(
        (stats.a.packets_in, stats.a.dropped),
        (2, 0),
        "not counted as drops"
    );
    assert_eq!((stats.b.packets_out, stats.a.packets_out), (1, 1));
    assert_eq!(stats.a.latched, Some(r.a.local_addr().unwrap()));
    assert_eq!(stats.a.mode, LegMode::Bridge);
}

#[tokio::test]
async fn echo_on_a_two_pair_session_sends_a_leg_back_to_itself() {
    let mut r = rig(43510, "0 8 101").await;
    let (to_a, to_b) = (r.session.local_rtp(Leg::A), r.session.local_rtp(Leg::B));
    r.session.set_mode(Leg::A, LegMode::Echo);
    r.b.send_to(&dtmf_end(3, 1, 160), to_b).await.unwrap();
    assert_eq!(event(&mut r.events).await, digit(Leg::B, '3'));
    let pkt = rtp(8, 1, 0, b"hello me");
    r.a.send_to(&pkt, to_a).await.unwrap();
    let (got, from) = recv(&r.a).await;
    assert_eq!(got, pkt, "A hears itself, not B's DTMF");
    assert_eq!(from, to_a, "from the port A sends to");
    r.session.set_mode(Leg::A, LegMode::Bridge);
    let pkt = rtp(8, 2, 160, b"to b");
    r.a.send_to(&pkt, to_a).await.unwrap();
    assert_eq!(recv(&r.b).await.0, pkt, "nothing of the echo reached B");
    let stats = r.session.close().await;
    assert_eq!((stats.a.packets_out, stats.b.packets_out), (1, 1));
}

#[test]
fn rtcp_is_never_echoed_and_only_crosses_between_bridged_legs() {
    let mut shared = Shared::new(false);
    let (pa, pb): (SocketAddr, SocketAddr) = (
        "127.0.0.1:4001".parse().unwrap(),
        "127.0.0.1:5001".parse().unwrap(),
    );
    shared.legs[0].rtcp.set_sdp(pa);
    shared.legs[1].rtcp.set_sdp(pb);
    let mode = Default::default();
    assert_eq!(shared.on_rtcp(Leg::A, pa, mode).forward_to, Some(pb));
    shared.legs[0].mode = LegMode::Echo;
    assert_eq!(shared.on_rtcp(Leg::A, pa, mode).forward_to, None);
    assert_eq!(shared.on_rtcp(Leg::B, pb, mode).forward_to, None);
    let muxed = [0x80, 200, 0, 6, 0, 0, 0, 1];
    let now = Instant::now();
    assert_eq!(
        shared.on_rtp(Leg::A, pa, &muxed, mode, now).forward_to,
        None
    );
    shared.legs[0].mode = LegMode::Local;
    let verdict = shared.on_rtp(Leg::A, pa, &rtp(0, 1, 0, b"x"), mode, now);
    assert_eq!(verdict.forward_to, None);
    assert_eq!(shared.legs[0].dropped, 0);
}

#[tokio::test]
async fn output_goes_to_the_latched_source_else_the_sdp_address() {
    let mut r = rig(43520, "0 8 101").await;
    let to_a = r.session.local_rtp(Leg::A);
    // A's SDP names a decoy; the phone really sends from `nat`.
    let decoy = phone().await;
    let decoy_addr = decoy.local_addr().unwrap();
    r.session.set_remote(Leg::A, decoy_addr, decoy_addr);
    r.session.set_mode(Leg::A, LegMode::Local);
    let out = r.session.output(Leg::A);
    assert!(out.is_open());
    let prompt = rtp(0, 9, 0, &[0xff; 160]);
    assert!(
        out.send_rtp(&prompt).await,
        "before latching: the SDP address"
    );
    assert_eq!(recv(&decoy).await, (prompt.clone(), to_a));
    let nat = phone().await;
    nat.send_to(&dtmf_end(4, 1, 0), to_a).await.unwrap();
    assert_eq!(
        event(&mut r.events).await,
        digit(Leg::A, '4'),
        "latched now"
    );
    assert!(out.clone().send_rtp(&prompt).await);
    assert_eq!(
        recv(&nat).await,
        (prompt.clone(), to_a),
        "to the latched source"
    );
    // Leg B: nothing latched, its SDP address it is.
    assert!(r.session.output(Leg::B).send_rtp(&prompt).await);
    assert_eq!(recv(&r.b).await.0, prompt);
    let stats = r.session.close().await;
    assert_eq!((stats.a.packets_out, stats.a.bytes_out), (2, 2 * 172));
    assert_eq!(stats.b.packets_out, 1);
    assert!(!out.is_open());
    assert!(
        !out.send_rtp(&prompt).await,
        "closed session: nowhere to send"
    );
}

#[tokio::test]
async fn tap_gets_audio_payloads_only_and_counts_overflow() {
    let mut r = rig(43530, "0 8 101").await;
    let to_a = r.session.local_rtp(Leg::A);
    let (tx, mut tap) = mpsc::channel::<TapPacket>(2);
    r.session.set_tap(Leg::A, Some(tx));
    let packets = [
        rtp(0, 5, 800, b"one"),
        dtmf_end(7, 6, 960),
        rtp(13, 7, 960, b"\x40"), // comfort noise
        rtp(8, 8, 1120, b"two"),
        rtp(0, 9, 1280, b"three"), // the tap queue (2) is full: lost, counted
    ];
    for pkt in &packets {
        r.a.send_to(pkt, to_a).await.unwrap();
        assert_eq!(&recv(&r.b).await.0, pkt, "bridging goes on while tapped");
    }
    assert_eq!(event(&mut r.events).await, digit(Leg::A, '7'));
    let first = tap.recv().await.unwrap();
    assert_eq!(
        (
            first.payload_type,
            first.seq,
            first.timestamp,
            &first.payload[..]
        ),
        (0, 5, 800, &b"one"[..])
    );
    let second = tap.recv().await.unwrap();
    assert_eq!((second.payload_type, &second.payload[..]), (8, &b"two"[..]));
    assert!(tap.try_recv().is_err());
    assert_eq!(r.session.stats().a.tap_dropped, 1);
    r.session.set_tap(Leg::A, None);
    r.a.send_to(&rtp(0, 10, 1440, b"four"), to_a).await.unwrap();
    recv(&r.b).await;
    assert!(
        tap.recv().await.is_none(),
        "tap removed: its sender is gone"
    );
}

#[tokio::test]
async fn codec_is_pinned_else_last_received_else_negotiated() {
    let r = rig(43540, "8 101").await;
    let name = |leg| r.session.codec(leg).map(|p| (p.pt, p.name));
    assert_eq!(
        name(Leg::A),
        Some((8, "PCMA".into())),
        "first of A's that B has"
    );
    assert_eq!(name(Leg::B), Some((8, "PCMA".into())));
    r.a.send_to(&rtp(0, 2, 0, b"x"), r.session.local_rtp(Leg::A))
        .await
        .unwrap();
    recv(&r.b).await;
    assert_eq!(
        name(Leg::A),
        Some((0, "PCMU".into())),
        "what the phone sends"
    );
    let pinned = super::sdp::PayloadType {
        pt: 8,
        name: "PCMA".into(),
        clock_rate: 8000,
    };
    r.session.set_codec(Leg::A, Some(pinned.clone()));
    assert_eq!(r.session.codec(Leg::A), Some(pinned));
    r.session.set_codec(Leg::A, None);
    assert_eq!(name(Leg::A), Some((0, "PCMU".into())));
}

#[tokio::test]
async fn a_local_one_pair_session_plays_then_echoes() {
    let pool = PortPool::new(LOOPBACK, 43550, 43559).unwrap();
    let (tx, mut events) = mpsc::channel(8);
    let session = RelaySession::start_local(
        pool.allocate().unwrap(),
        RelayConfig::default(),
        tx,
        &Lifecycle::new(),
    );
    let a = phone().await;
    session.set_stream(Leg::A, &sdp(&a, "9 8 101"));
    assert_eq!(
        session.codec(Leg::A).map(|p| p.pt),
        Some(9),
        "first audio codec"
    );
    assert_eq!(session.mode(Leg::A), LegMode::Local);
    let ours = session.local_rtp(Leg::A);
    a.send_to(&dtmf_end(9, 1, 0), ours).await.unwrap();
    assert_eq!(event(&mut events).await, digit(Leg::A, '9'));
    let prompt = rtp(8, 1, 0, &[0xd5; 160]);
    assert!(session.output(Leg::A).send_rtp(&prompt).await);
    assert_eq!(
        recv(&a).await.0,
        prompt,
        "the DTMF was not echoed, the prompt arrived"
    );
    assert!(!session.output(Leg::B).send_rtp(&prompt).await, "no leg B");
    session.set_mode(Leg::A, LegMode::Echo);
    let voice = rtp(8, 2, 160, b"voice");
    a.send_to(&voice, ours).await.unwrap();
    assert_eq!(recv(&a).await.0, voice);
    let stats = session.close().await;
    assert_eq!(
        (stats.a.packets_in, stats.a.packets_out, stats.a.dropped),
        (2, 2, 0)
    );
    assert_eq!(pool.in_use(), 0);
}
