//! The relay's shared per-leg state and the per-packet decisions made under its lock:
//! source check and latching, where to forward (by the legs' [`LegMode`]s), statistics, DTMF
//! decoding, and the recording tap.
//!
//! Everything here is synchronous and allocation-free per packet in Bridge/Echo/Local mode;
//! only a leg with a tap copies its audio payloads (one `Bytes` per packet). The socket tasks
//! in [`super::relay`] take the lock, call one of these methods, drop the lock, then send.
//!
//! Depends on the sibling `rtp`, `sdp` and `stats` modules only.

use super::relay::{LatchMode, Leg, LegMode, LegStats, MediaEvent, TapPacket};
use super::rtp::{RtpHeader, TelephoneEvent};
use super::sdp::{AudioStream, Direction, PayloadType};
use super::stats::{JitterEstimator, SeqTracker};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Clock rate assumed when a payload type is unknown (G.711, RFC 3551 §4.5.14).
const DEFAULT_CLOCK_RATE: u32 = 8000;

/// Comfort noise (RFC 3389): not audio a recording tap wants.
const CN_PAYLOAD: u8 = 13;

/// What the socket task does with a packet.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    /// Send it here (`None`: drop it)...
    pub(super) forward_to: Option<SocketAddr>,
    /// ...out of this leg's socket (the other leg's when bridging, its own when echoing).
    pub(super) via: Leg,
    /// An event to deliver (DTMF).
    pub(super) event: Option<MediaEvent>,
}

impl Verdict {
    /// Nothing to send, nothing to report.
    fn nothing(leg: Leg) -> Verdict {
        Verdict {
            forward_to: None,
            via: leg,
            event: None,
        }
    }
}

/// Addressing of one socket (RTP or RTCP) of a leg.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Addressing {
    /// Address from the leg's SDP.
    pub(super) sdp: Option<SocketAddr>,
    /// Source the packets actually come from (symmetric RTP latch).
    pub(super) latched: Option<SocketAddr>,
}

impl Addressing {
    /// Where to send packets for this leg's phone: the latched source, else the SDP address.
    pub(super) fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.sdp)
    }

    /// Source check and latching (see the module docs of `relay`).
    fn accept(&mut self, src: SocketAddr, mode: LatchMode) -> bool {
        match self.latched {
            Some(latched) => latched == src,
            None => {
                let allowed = match (mode, self.sdp) {
                    (LatchMode::AnySource, _) => true,
                    (LatchMode::SdpAddressOnly, Some(sdp)) => sdp.ip() == src.ip(),
                    (LatchMode::SdpAddressOnly, None) => false,
                };
                if allowed {
                    self.latched = Some(src);
                }
                allowed
            }
        }
    }

    /// A new SDP address; the latch is dropped only when the address really changed.
    pub(super) fn set_sdp(&mut self, addr: SocketAddr) {
        if self.sdp != Some(addr) {
            self.sdp = Some(addr);
            self.latched = None;
        }
    }
}

/// Everything the relay knows about one leg.
#[derive(Debug, Default)]
pub(super) struct LegState {
    pub(super) rtp: Addressing,
    pub(super) rtcp: Addressing,
    pub(super) direction: Direction,
    /// Payload types from the leg's SDP.
    pub(super) payloads: Vec<PayloadType>,
    /// RFC 4733 telephone-event payload type and its clock rate.
    pub(super) telephone_event: Option<(u8, u32)>,
    pub(super) packets_in: u64,
    pub(super) bytes_in: u64,
    pub(super) rtcp_in: u64,
    /// Packets dropped: from a foreign source, malformed, or with nowhere to go.
    pub(super) dropped: u64,
    pub(super) seq: SeqTracker,
    pub(super) jitter: JitterEstimator,
    pub(super) jitter_clock: u32,
    pub(super) ssrc: Option<u32>,
    pub(super) last_pt: Option<u8>,
    pub(super) first_rtp: Option<Instant>,
    pub(super) last_rtp: Option<Instant>,
    /// RTP timestamp of the last telephone event reported (dedups the end retransmissions).
    pub(super) last_dtmf_ts: Option<u32>,
    pub(super) dtmf_dropped: u64,
    /// Media timeout: start of the current silence window (arm or direction change).
    pub(super) timer_since: Option<Instant>,
    /// Media timeout already reported for the current window.
    pub(super) timeout_fired: bool,
    /// What happens to this phone's packets (and to packets for it).
    pub(super) mode: LegMode,
    /// Codec pinned by the owner ([`super::relay::RelaySession::set_codec`]).
    pub(super) pinned_codec: Option<PayloadType>,
    /// Receives copies of this phone's audio payloads (recording).
    pub(super) tap: Option<mpsc::Sender<TapPacket>>,
    /// Tap copies lost because the tap's queue was full.
    pub(super) tap_dropped: u64,
}

/// Both legs, behind the session's mutex.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) legs: [LegState; 2],
    /// Media timeout armed (at answer).
    pub(super) armed: bool,
    /// One-pair session: leg A only (leg B has no socket, no phone, no timeout).
    pub(super) single: bool,
}

/// Finds `pt` in the leg's SDP, else in the other leg's (the sender numbers payloads the way
/// the receiver's SDP did, RFC 3264 §5.1; usually both agree).
fn lookup<'a>(own: &'a [PayloadType], other: &'a [PayloadType], pt: u8) -> Option<&'a PayloadType> {
    own.iter()
        .find(|p| p.pt == pt)
        .or_else(|| other.iter().find(|p| p.pt == pt))
}

/// Payload names that are not the call's audio codec.
const NOT_A_CODEC: &[&str] = &["telephone-event", "CN", "red", "ulpfec", "rtx"];

/// The negotiated codec before any RTP: the first audio codec of this leg's SDP that the
/// other leg's SDP also has (same name and clock rate), or this leg's first one when the
/// other leg has none (echo).
fn negotiated<'a>(own: &'a [PayloadType], other: &'a [PayloadType]) -> Option<&'a PayloadType> {
    let audio = |p: &&PayloadType| {
        !p.name.is_empty() && !NOT_A_CODEC.iter().any(|n| n.eq_ignore_ascii_case(&p.name))
    };
    let mut candidates = own.iter().filter(audio);
    if other.is_empty() {
        return candidates.next();
    }
    candidates.find(|p| {
        other
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&p.name) && o.clock_rate == p.clock_rate)
    })
}

impl Shared {
    /// State for a two-leg relay (both legs Bridge), or for a one-pair echo session
    /// (`single`: leg A Echo). Tests use it; the relay calls [`Self::with_mode`].
    #[cfg(test)]
    pub(super) fn new(single: bool) -> Shared {
        Self::with_mode(
            single,
            if single {
                LegMode::Echo
            } else {
                LegMode::Bridge
            },
        )
    }

    /// Like [`Self::new`] with leg A starting in `mode_a`.
    pub(super) fn with_mode(single: bool, mode_a: LegMode) -> Shared {
        let mut shared = Shared {
            single,
            ..Shared::default()
        };
        shared.legs[Leg::A.index()].mode = mode_a;
        shared
    }

    /// The legs that have a phone (leg A alone in a one-pair session).
    fn active_legs(&self) -> usize {
        if self.single {
            1
        } else {
            2
        }
    }

    /// The negotiated audio codec of `leg` (see [`super::relay::RelaySession::codec`]).
    pub(super) fn codec(&self, leg: Leg) -> Option<PayloadType> {
        let state = &self.legs[leg.index()];
        let other = &self.legs[leg.other().index()];
        state
            .pinned_codec
            .as_ref()
            .or_else(|| {
                state
                    .last_pt
                    .and_then(|pt| lookup(&state.payloads, &other.payloads, pt))
            })
            .or_else(|| negotiated(&state.payloads, &other.payloads))
            .cloned()
    }

    /// Whose phone a packet from `leg`'s phone goes to by the legs' modes (that leg's socket
    /// sends it): Echo → back to the phone itself, except RTCP (a phone must not get its own
    /// reports back); Bridge → the other phone if that leg bridges too; otherwise nowhere.
    fn route(&self, leg: Leg, rtcp: bool) -> Option<Leg> {
        let own = self.legs[leg.index()].mode;
        let other = self.legs[leg.other().index()].mode;
        match (own, other) {
            (LegMode::Echo, _) if !rtcp => Some(leg),
            (LegMode::Bridge, LegMode::Bridge) => Some(leg.other()),
            _ => None,
        }
    }

    /// Applies a stream description from `leg`'s SDP.
    pub(super) fn set_stream(&mut self, leg: Leg, stream: &AudioStream, now: Instant) {
        let state = &mut self.legs[leg.index()];
        if let (Some(rtp), Some(rtcp)) = (stream.rtp_addr(), stream.rtcp_addr()) {
            state.rtp.set_sdp(rtp);
            state.rtcp.set_sdp(rtcp);
        }
        state.payloads.clone_from(&stream.payloads);
        state.telephone_event = stream
            .telephone_event
            .as_ref()
            .map(|t| (t.pt, t.clock_rate));
        if state.direction != stream.direction {
            state.direction = stream.direction;
            state.timer_since = Some(now);
            state.timeout_fired = false;
        }
    }

    /// An RTP packet arrived on `leg`'s socket from `src` at `now`.
    pub(super) fn on_rtp(
        &mut self,
        leg: Leg,
        src: SocketAddr,
        packet: &[u8],
        mode: LatchMode,
        now: Instant,
    ) -> Verdict {
        if !self.legs[leg.index()].rtp.accept(src, mode) {
            self.legs[leg.index()].dropped += 1;
            return Verdict::nothing(leg);
        }
        // RFC 5761 §4: with rtcp-mux, RTCP (second octet 192-223) shares the RTP port; it is
        // relayed like RTP but kept out of the RTP statistics (and never echoed).
        let muxed_rtcp = matches!(packet.get(1), Some(192..=223));
        // Echo: back to the (just latched) source; Bridge: to the other leg's phone.
        let to = self.route(leg, muxed_rtcp);
        let forward_to = to.and_then(|to| self.legs[to.index()].rtp.destination());
        let via = to.unwrap_or(leg);
        let [a, b] = &mut self.legs;
        let (state, other) = match leg {
            Leg::A => (a, &*b),
            Leg::B => (b, &*a),
        };
        if muxed_rtcp {
            state.rtcp_in += 1;
            return Verdict {
                forward_to,
                via,
                event: None,
            };
        }
        let Some(header) = RtpHeader::parse(packet) else {
            state.dropped += 1;
            return Verdict::nothing(leg);
        };
        state.packets_in += 1;
        super::relay::count_global_rtp_in();
        state.bytes_in += packet.len() as u64;
        let first = *state.first_rtp.get_or_insert(now);
        state.last_rtp = Some(now);
        if state.ssrc != Some(header.ssrc) {
            if state.ssrc.is_some() {
                state.seq.new_source();
            }
            state.ssrc = Some(header.ssrc);
            state.jitter.reset_transit();
        }
        state.seq.update(header.sequence);

        let payload = packet
            .get(header.payload_offset..header.payload_offset + header.payload_len)
            .unwrap_or(&[]);
        let event = match state.telephone_event {
            Some((pt, clock)) if pt == header.payload_type => {
                state.decode_dtmf(leg, &header, payload, clock)
            }
            _ => {
                let clock = lookup(&state.payloads, &other.payloads, header.payload_type)
                    .map(|p| p.clock_rate)
                    .filter(|&c| c != 0)
                    .unwrap_or(DEFAULT_CLOCK_RATE);
                if clock != state.jitter_clock {
                    state.jitter_clock = clock;
                    state.jitter.reset_transit();
                }
                // RFC 3550 §A.8; telephone events are left out (their timestamp stays fixed
                // for the whole event, RFC 4733 §2.5.1.2, which would read as jitter).
                state
                    .jitter
                    .update(now.duration_since(first), header.timestamp, clock);
                state.last_pt = Some(header.payload_type);
                if header.payload_type != CN_PAYLOAD {
                    state.feed_tap(&header, payload);
                }
                None
            }
        };
        if to.is_some() && forward_to.is_none() {
            state.dropped += 1;
        }
        Verdict {
            forward_to,
            via,
            event,
        }
    }

    /// An RTCP packet arrived on `leg`'s odd socket; RTCP is relayed, not parsed, and does not
    /// count as media for the timeout. It is never echoed (a phone must not get its own
    /// reports back), and goes nowhere unless both legs bridge.
    pub(super) fn on_rtcp(&mut self, leg: Leg, src: SocketAddr, mode: LatchMode) -> Verdict {
        let to = self.route(leg, true);
        let forward_to = to.and_then(|to| self.legs[to.index()].rtcp.destination());
        let via = to.unwrap_or(leg);
        let state = &mut self.legs[leg.index()];
        if !state.rtcp.accept(src, mode) {
            state.dropped += 1;
            return Verdict::nothing(leg);
        }
        state.rtcp_in += 1;
        Verdict {
            forward_to,
            via,
            event: None,
        }
    }

    /// Snapshot of one leg; `started` is the wall-clock time of `epoch`.
    pub(super) fn snapshot(&self, leg: Leg, epoch: Instant, started: SystemTime) -> LegStats {
        let state = &self.legs[leg.index()];
        let other = &self.legs[leg.other().index()];
        let wall = |t: Option<Instant>| t.map(|t| started + t.duration_since(epoch));
        // The codec of the last RTP packet; before any, the one both SDPs agree on.
        let codec = state
            .last_pt
            .and_then(|pt| lookup(&state.payloads, &other.payloads, pt))
            .or_else(|| negotiated(&state.payloads, &other.payloads))
            .map(|p| p.name.clone());
        LegStats {
            packets_in: state.packets_in,
            bytes_in: state.bytes_in,
            packets_out: 0,
            bytes_out: 0,
            rtcp_in: state.rtcp_in,
            rtcp_out: 0,
            dropped: state.dropped,
            expected: state.seq.expected(),
            lost: state.seq.lost(),
            jitter_ms: state.jitter.jitter_ms(state.jitter_clock),
            payload_type: state.last_pt,
            codec,
            first_packet: wall(state.first_rtp),
            last_packet: wall(state.last_rtp),
            latched: state.rtp.latched,
            direction: state.direction,
            dtmf_dropped: state.dtmf_dropped,
            mode: state.mode,
            tap_dropped: state.tap_dropped,
        }
    }

    /// Next media-timeout deadline over the legs that can still time out.
    pub(super) fn next_deadline(&self, timeout: Duration) -> Option<Instant> {
        if !self.armed {
            return None;
        }
        self.legs
            .iter()
            .take(self.active_legs())
            .filter_map(|l| l.deadline(timeout))
            .min()
    }

    /// Legs whose silence reached `timeout` at `now`; each is reported once per window.
    pub(super) fn expired(&mut self, timeout: Duration, now: Instant) -> [Option<Leg>; 2] {
        let mut out = [None, None];
        if !self.armed {
            return out;
        }
        let active = self.active_legs();
        for (i, leg) in [Leg::A, Leg::B].into_iter().enumerate().take(active) {
            let state = &mut self.legs[i];
            if state.deadline(timeout).is_some_and(|d| d <= now) {
                state.timeout_fired = true;
                out[i] = Some(leg);
            }
        }
        out
    }
}

impl LegState {
    /// Copies an audio payload to the tap, if any; a full queue loses the copy (counted), a
    /// closed one removes the tap.
    fn feed_tap(&mut self, header: &RtpHeader, payload: &[u8]) {
        let Some(tap) = &self.tap else {
            return;
        };
        let packet = TapPacket {
            payload_type: header.payload_type,
            seq: header.sequence,
            timestamp: header.timestamp,
            payload: bytes::Bytes::copy_from_slice(payload),
        };
        match tap.try_send(packet) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.tap_dropped += 1,
            Err(mpsc::error::TrySendError::Closed(_)) => self.tap = None,
        }
    }

    /// Decodes an RFC 4733 packet; reports the digit once, on the first packet with the
    /// E bit (§2.5.1.4: the end packet is sent three times with the same timestamp).
    fn decode_dtmf(
        &mut self,
        leg: Leg,
        header: &RtpHeader,
        payload: &[u8],
        clock: u32,
    ) -> Option<MediaEvent> {
        let event = TelephoneEvent::parse(payload)?;
        if !event.end || self.last_dtmf_ts == Some(header.timestamp) {
            return None;
        }
        self.last_dtmf_ts = Some(header.timestamp);
        let digit = event.digit()?;
        let clock = if clock == 0 {
            DEFAULT_CLOCK_RATE
        } else {
            clock
        };
        let duration_ms = (u64::from(event.duration) * 1000 / u64::from(clock)) as u32;
        Some(MediaEvent::Dtmf {
            leg,
            digit,
            duration_ms,
        })
    }

    /// When this leg times out: `timeout` after the later of the window start and the last
    /// RTP packet; never while its phone says it will not send (recvonly/inactive hold).
    fn deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.timeout_fired || !self.direction.sends() {
            return None;
        }
        let since = match (self.timer_since, self.last_rtp) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b)?,
        };
        Some(since + timeout)
    }
}

#[cfg(test)]
mod codec_tests {
    use super::{negotiated, PayloadType};

    fn pt(pt: u8, name: &str, clock_rate: u32) -> PayloadType {
        PayloadType {
            pt,
            name: name.into(),
            clock_rate,
        }
    }

    #[test]
    fn negotiated_codec_is_the_first_common_audio_codec() {
        let offer = [
            pt(8, "PCMA", 8000),
            pt(0, "PCMU", 8000),
            pt(101, "telephone-event", 8000),
        ];
        let answer = [pt(101, "telephone-event", 8000), pt(0, "PCMU", 8000)];
        assert_eq!(negotiated(&offer, &answer).map(|p| p.pt), Some(0));
        assert_eq!(negotiated(&answer, &offer).map(|p| p.pt), Some(0));
        assert_eq!(negotiated(&offer, &[]).map(|p| p.pt), Some(8));
        assert_eq!(negotiated(&[pt(101, "telephone-event", 8000)], &[]), None);
        assert_eq!(negotiated(&offer, &[pt(9, "G722", 8000)]), None);
    }
}
