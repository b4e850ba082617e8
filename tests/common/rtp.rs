//! RTP endpoints of the test itself, to check that the PBX's relay carries media both ways.
//!
//! The SIPp agents advertise a test socket's port in their SDP (`AgentSpec::with_rtp_port`);
//! the relay's addresses come from the SDP the PBX sent them (their `invite`/`answered`
//! events). [`RtpPeer::send_stream`] sends G.711 A-law packets (RFC 3550 header, PT 8,
//! 160-byte payload every 20 ms); [`RtpPeer::echo`] sends every packet back to where it came
//! from and counts; [`RtpPeer::collect`] counts what arrives. Each received packet is checked
//! to be RTP version 2 with the sent payload type and size.

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// RTP payload type sent: PCMA (RFC 3551 §6), offered first by the scenarios.
pub const PAYLOAD_TYPE: u8 = 8;
/// 20 ms of G.711 at 8 kHz.
pub const PAYLOAD_LEN: usize = 160;
/// RTP header without CSRCs or extension (RFC 3550 §5.1).
const HEADER_LEN: usize = 12;
/// Packet interval (ptime 20).
const PACKET_INTERVAL: Duration = Duration::from_millis(20);

/// What one RTP socket received.
#[derive(Debug, Default, Clone)]
pub struct RtpStats {
    /// Valid RTP packets (version 2, payload type and size as sent).
    pub packets: usize,
    /// Datagrams that were not such packets.
    pub invalid: usize,
    /// Sequence numbers seen.
    pub sequences: BTreeSet<u16>,
    /// Addresses the packets came from.
    pub sources: BTreeSet<SocketAddr>,
}

impl RtpStats {
    fn record(&mut self, packet: &[u8], from: SocketAddr) {
        match parse(packet) {
            Some(seq) => {
                self.packets += 1;
                self.sequences.insert(seq);
                self.sources.insert(from);
            }
            None => self.invalid += 1,
        }
    }
}

/// Sequence number of a packet as this module sends them, or `None`.
fn parse(packet: &[u8]) -> Option<u16> {
    let first = *packet.first()?;
    let second = *packet.get(1)?;
    let version_ok = first >> 6 == 2;
    let pt_ok = second & 0x7f == PAYLOAD_TYPE;
    let len_ok = packet.len() == HEADER_LEN + PAYLOAD_LEN;
    let seq = u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]);
    (version_ok && pt_ok && len_ok).then_some(seq)
}

/// One RTP packet: version 2, PT 8, `seq`, timestamp `seq * 160`, `ssrc`, A-law silence.
fn packet(seq: u16, ssrc: u32) -> [u8; HEADER_LEN + PAYLOAD_LEN] {
    let mut p = [0xd5u8; HEADER_LEN + PAYLOAD_LEN];
    p[0] = 0x80;
    p[1] = PAYLOAD_TYPE;
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    let ts = u32::from(seq).wrapping_mul(PAYLOAD_LEN as u32);
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p
}

/// A UDP socket on 127.0.0.1 playing an RTP endpoint.
#[derive(Debug)]
pub struct RtpPeer {
    socket: UdpSocket,
}

impl RtpPeer {
    /// Binds an even port on 127.0.0.1 (RTP convention, RFC 3550 §11).
    pub fn bind() -> RtpPeer {
        for _ in 0..50 {
            let socket =
                UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind RTP socket: {e}"));
            if socket
                .local_addr()
                .unwrap_or_else(|e| panic!("local_addr: {e}"))
                .port()
                % 2
                == 0
            {
                return RtpPeer { socket };
            }
        }
        panic!("no even UDP port on 127.0.0.1");
    }

    /// The port to advertise in SDP.
    pub fn port(&self) -> u16 {
        self.socket
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"))
            .port()
    }

    /// Sends `count` packets (sequence 0..count) to `to`, one every 20 ms (real time: the relay
    /// sees a normal stream).
    pub fn send_stream(&self, to: SocketAddr, count: u16, ssrc: u32) {
        let start = Instant::now();
        for seq in 0..count {
            let due = start + PACKET_INTERVAL * u32::from(seq);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait); // pacing of the stream, not a wait for a condition
            }
            self.socket
                .send_to(&packet(seq, ssrc), to)
                .unwrap_or_else(|e| panic!("send RTP to {to}: {e}"));
        }
    }

    /// Counts packets until `count` valid ones arrived or `within` passed.
    pub fn collect(&self, count: usize, within: Duration) -> RtpStats {
        let mut stats = RtpStats::default();
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 2048];
        while stats.packets < count {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => stats.record(&buf[..n], from),
                Err(_) => break,
            }
        }
        stats
    }

    /// In a thread: sends every datagram back to its source (symmetric RTP) and counts, until
    /// `count` valid packets were echoed or `within` passed; returns the socket's statistics.
    pub fn echo(self, count: usize, within: Duration) -> JoinHandle<RtpStats> {
        std::thread::spawn(move || {
            let mut stats = RtpStats::default();
            let deadline = Instant::now() + within;
            let mut buf = [0u8; 2048];
            while stats.packets < count {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    break;
                };
                self.socket
                    .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                    .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
                match self.socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        stats.record(&buf[..n], from);
                        let _ = self.socket.send_to(&buf[..n], from);
                    }
                    Err(_) => break,
                }
            }
            stats
        })
    }
}
