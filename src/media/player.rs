//! Plays sounds and tones into a call leg as G.711 RTP ([`play`] → [`Player`]).
//!
//! A player task takes 160 samples (20 ms at 8 kHz) per tick of a `tokio::time::interval`,
//! encodes them with the leg's codec ([`PlayCodec`], G.711 tables) into one RTP packet built
//! in a stack buffer (no allocation per frame), and sends it through the leg's
//! [`MediaOutput`]. Timestamps follow wall time (RFC 3550 §5.1: the sampling instant): the
//! interval skips ticks it missed after a stall, and the player then skips the same number
//! of frames of audio and advances the timestamp by them, so a 5 s prompt ends 5 s after it
//! started and the far end's jitter buffer sees a clock that never drifts. Sequence numbers
//! stay consecutive (nothing was lost on the wire).
//!
//! The RTP state ([`RtpOut`]: SSRC, next sequence number and timestamp) outlives a play: the
//! call keeps one per leg and hands it to the next play, which continues the sequence and
//! moves the timestamp on by the pause in between, with the marker bit set on its first
//! packet (RFC 3551 §4.1: start of a talkspurt).
//!
//! ```text
//!   play() ──▶ playing ──source ran out──▶ finished (RtpOut kept in the Player)
//!                 │                             │
//!                 └──── stop() / shutdown ──────┴──▶ RtpOut returned by stop()
//! ```
//!
//! Depends on the sibling `g711`, `relay` (for [`MediaOutput`]), `sdp`, `sound` and `tone`
//! modules and on `runtime`.

use super::g711;
use super::relay::MediaOutput;
use super::sdp::PayloadType;
use super::sound::Sound;
use super::tone::{Tone, ToneGenerator};
use crate::runtime::Lifecycle;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Packetisation interval (RFC 3551 §4.5: 20 ms is the G.711 default).
pub const FRAME: Duration = Duration::from_millis(20);
/// Samples per frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// RTP fixed header without CSRCs (RFC 3550 §5.1).
const HEADER: usize = 12;

/// The codecs the switch can play (G.711; the sounds are 8 kHz linear PCM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlayCodec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl PlayCodec {
    /// The codec and payload type number for a negotiated payload type, `None` when it is not
    /// G.711 at 8 kHz (the switch does not transcode).
    pub fn from_payload(payload: &PayloadType) -> Option<(PlayCodec, u8)> {
        if payload.clock_rate != 0 && payload.clock_rate != 8000 {
            return None;
        }
        let codec = if payload.name.eq_ignore_ascii_case("PCMU") {
            PlayCodec::Pcmu
        } else if payload.name.eq_ignore_ascii_case("PCMA") {
            PlayCodec::Pcma
        } else {
            return None;
        };
        Some((codec, payload.pt))
    }

    /// The static RTP payload type (RFC 3551 §6).
    pub fn static_payload_type(self) -> u8 {
        match self {
            PlayCodec::Pcmu => 0,
            PlayCodec::Pcma => 8,
        }
    }

    /// Encodes one linear sample.
    #[inline]
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            PlayCodec::Pcmu => g711::ulaw_encode(sample),
            PlayCodec::Pcma => g711::alaw_encode(sample),
        }
    }

    /// Decodes one byte to a linear sample.
    #[inline]
    pub fn decode(self, code: u8) -> i16 {
        match self {
            PlayCodec::Pcmu => g711::ulaw_decode(code),
            PlayCodec::Pcma => g711::alaw_decode(code),
        }
    }
}

/// What a player plays.
#[derive(Clone, Debug)]
pub enum Source {
    /// These sounds one after the other, then the player finishes (`Playback(a&b)`).
    Sounds(Vec<Arc<Sound>>),
    /// This sound over and over (music on hold); never finishes.
    Loop(Arc<Sound>),
    /// A call-progress tone; never finishes.
    Tone(Tone),
}

/// The RTP state of the switch's own stream towards one phone (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpOut {
    /// Synchronisation source identifier.
    pub ssrc: u32,
    /// Sequence number of the next packet.
    pub seq: u16,
    /// Timestamp of the next packet.
    pub timestamp: u32,
    /// Wall time `timestamp` stands for, once a play ended (for the pause before the next).
    ended: Option<Instant>,
}

impl RtpOut {
    /// Random SSRC, sequence number and timestamp (RFC 3550 §5.1, §8).
    pub fn new() -> RtpOut {
        use ring::rand::{SecureRandom, SystemRandom};
        let mut bytes = [0u8; 10];
        if SystemRandom::new().fill(&mut bytes).is_err() {
            // No OS randomness: the clock still makes streams of different calls differ.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            bytes.copy_from_slice(&nanos.to_le_bytes()[..10]);
        }
        let ssrc = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let seq = u16::from_be_bytes([bytes[4], bytes[5]]);
        let timestamp = u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
        RtpOut::with(ssrc, seq, timestamp)
    }

    /// A stream with these values (tests, or continuing a stream known elsewhere).
    pub fn with(ssrc: u32, seq: u16, timestamp: u32) -> RtpOut {
        RtpOut {
            ssrc,
            seq,
            timestamp,
            ended: None,
        }
    }
}

impl Default for RtpOut {
    fn default() -> Self {
        RtpOut::new()
    }
}

/// A running play; dropping it stops the task (use [`Player::stop`] to keep the RTP state).
#[derive(Debug)]
pub struct Player {
    task: Option<JoinHandle<RtpOut>>,
    /// The RTP state once the task ended.
    done: Option<RtpOut>,
    cancel: CancellationToken,
}

impl Player {
    /// Resolves when the source ran out (never for [`Source::Loop`] and [`Source::Tone`],
    /// unless the server shuts down). Cancel-safe: use it in `select!`.
    pub async fn finished(&mut self) {
        if self.done.is_some() {
            return;
        }
        let Some(task) = self.task.as_mut() else {
            return;
        };
        // A task that panicked lost its state; a fresh stream is the best continuation.
        let rtp = task.await.unwrap_or_else(|_| RtpOut::new());
        self.task = None;
        self.done = Some(rtp);
    }

    /// Whether the source ran out (or the task ended otherwise).
    pub fn is_finished(&self) -> bool {
        self.done.is_some() || self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops playing now and returns the RTP state for the next play.
    pub async fn stop(mut self) -> RtpOut {
        self.cancel.cancel();
        if let Some(rtp) = self.done.take() {
            return rtp;
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|_| RtpOut::new()),
            None => RtpOut::new(),
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts playing `source` to `output` as `codec` with payload type `pt`, continuing `rtp`;
/// the task runs on `lifecycle`'s tracker and in the caller's tracing span.
pub fn play(
    output: MediaOutput,
    codec: PlayCodec,
    pt: u8,
    rtp: RtpOut,
    source: Source,
    lifecycle: &Lifecycle,
) -> Player {
    let cancel = lifecycle.shutdown.child_token();
    let task = run(output, codec, pt, rtp, Frames::new(source), cancel.clone())
        .instrument(tracing::Span::current());
    Player {
        task: Some(lifecycle.tracker.spawn(task)),
        done: None,
        cancel,
    }
}

/// Size of one packet of [`packetize`]: RTP header plus one 20 ms G.711 frame.
pub const PACKET_LEN: usize = HEADER + FRAME_SAMPLES;

/// Writes one RTP packet into `packet`: header from `rtp` (its current `seq`/`timestamp`),
/// `pt` and the `marker` bit, then `pcm` encoded as `codec`. No allocation.
pub fn packetize(
    codec: PlayCodec,
    pt: u8,
    marker: bool,
    rtp: &RtpOut,
    pcm: &[i16; FRAME_SAMPLES],
    packet: &mut [u8; PACKET_LEN],
) {
    packet[0] = 0x80; // RFC 3550 §5.1: V=2, no padding, extension or CSRC
    packet[1] = (u8::from(marker) << 7) | (pt & 0x7f);
    packet[2..4].copy_from_slice(&rtp.seq.to_be_bytes());
    packet[4..8].copy_from_slice(&rtp.timestamp.to_be_bytes());
    packet[8..12].copy_from_slice(&rtp.ssrc.to_be_bytes());
    for (out, &sample) in packet[HEADER..].iter_mut().zip(pcm) {
        *out = codec.encode(sample);
    }
}

/// Samples in `d` at 8 kHz (wrapping like RTP timestamps).
fn samples_in(d: Duration) -> u32 {
    (d.as_micros() * 8 / 1000) as u32
}

/// The pacing loop (see the module docs).
async fn run(
    output: MediaOutput,
    codec: PlayCodec,
    pt: u8,
    mut rtp: RtpOut,
    mut frames: Frames,
    cancel: CancellationToken,
) -> RtpOut {
    let start = Instant::now();
    if let Some(ended) = rtp.ended.take() {
        rtp.timestamp = rtp
            .timestamp
            .wrapping_add(samples_in(start.saturating_duration_since(ended)));
    }
    let mut interval = tokio::time::interval_at(start, FRAME);
    // Skip, not Burst: a burst of late packets would arrive faster than real time.
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut packet = [0u8; PACKET_LEN];
    let mut slot: u64 = 0; // the frame slot the next packet belongs to
    let mut marker = true;
    let frame_nanos = FRAME.as_nanos();
    loop {
        let tick = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            t = interval.tick() => t,
        };
        let due = (tick.saturating_duration_since(start).as_nanos() / frame_nanos) as u64;
        if due > slot {
            let missed = (due - slot) * FRAME_SAMPLES as u64;
            tracing::trace!(missed, "player fell behind; skipping audio");
            frames.skip(missed);
            rtp.timestamp = rtp.timestamp.wrapping_add(missed as u32);
            slot = due;
        }
        if !frames.fill(&mut pcm) {
            break;
        }
        packetize(codec, pt, marker, &rtp, &pcm, &mut packet);
        // No destination yet (the phone's address unknown) is not an error: keep time.
        output.send_rtp(&packet).await;
        marker = false;
        rtp.seq = rtp.seq.wrapping_add(1);
        rtp.timestamp = rtp.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        slot += 1;
    }
    rtp.ended = Some(start + FRAME * slot as u32);
    rtp
}

/// The sample stream of a [`Source`], frame by frame.
#[derive(Debug)]
enum Frames {
    Sounds {
        sounds: Vec<Arc<Sound>>,
        index: usize,
        pos: usize,
    },
    Loop {
        sound: Arc<Sound>,
        pos: usize,
    },
    Tone(ToneGenerator),
}

impl Frames {
    fn new(source: Source) -> Frames {
        match source {
            Source::Sounds(sounds) => Frames::Sounds {
                sounds,
                index: 0,
                pos: 0,
            },
            Source::Loop(sound) => Frames::Loop { sound, pos: 0 },
            Source::Tone(tone) => Frames::Tone(tone.generator()),
        }
    }

    /// Fills one frame (the last one of a sound list padded with silence); `false` when the
    /// source has no samples left.
    fn fill(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        match self {
            Frames::Sounds { sounds, index, pos } => {
                let mut filled = 0;
                while filled < out.len() && *index < sounds.len() {
                    let samples = &sounds[*index].samples[*pos..];
                    let n = samples.len().min(out.len() - filled);
                    out[filled..filled + n].copy_from_slice(&samples[..n]);
                    filled += n;
                    *pos += n;
                    if *pos >= sounds[*index].samples.len() {
                        *index += 1;
                        *pos = 0;
                    }
                }
                out[filled..].fill(0);
                filled > 0
            }
            Frames::Loop { sound, pos } => {
                let samples = &sound.samples;
                if samples.is_empty() {
                    out.fill(0);
                    return true;
                }
                for slot in out.iter_mut() {
                    *slot = samples[*pos];
                    *pos = (*pos + 1) % samples.len();
                }
                true
            }
            Frames::Tone(tone) => {
                tone.fill(out);
                true
            }
        }
    }

    /// Skips `n` samples.
    fn skip(&mut self, mut n: u64) {
        match self {
            Frames::Sounds { sounds, index, pos } => {
                while n > 0 && *index < sounds.len() {
                    let left = (sounds[*index].samples.len() - *pos) as u64;
                    if n < left {
                        *pos += n as usize;
                        return;
                    }
                    n -= left;
                    *index += 1;
                    *pos = 0;
                }
            }
            Frames::Loop { sound, pos } => {
                let len = sound.samples.len() as u64;
                if len > 0 {
                    *pos = ((*pos as u64 + n) % len) as usize;
                }
            }
            Frames::Tone(tone) => tone.advance(n),
        }
    }
}

#[cfg(test)]
#[path = "player_tests.rs"]
mod tests;
