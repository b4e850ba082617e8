//! SDP bodies the switch writes itself (RFC 3264), for calls it answers with no second party
//! (the echo test, prompts): [`answer_audio`] answers a phone's offer on one relay pair,
//! [`answer_audio_preferring`] does the same preferring codecs the switch can play (G.711),
//! [`offer_audio`] is the offer for an INVITE that came without SDP (RFC 3261 §13.2.1 late
//! offer), and [`offer_codec`] offers exactly one codec (dialing the callee of a call the
//! switch already answered: both phones must use the same codec, there is no transcoding).
//!
//! The answer keeps one audio stream: the first offered codec the relay can carry (every audio
//! codec: the relay forwards payloads unchanged; comfort noise, RFC 4733 events, redundancy/FEC
//! formats and payload types without a name are skipped; [`answer_audio_preferring`] first
//! looks for the preferred names) plus the offer's `telephone-event`
//! (RFC 4733), the offer's `a=fmtp`, channel count and `ptime`, and the answering direction
//! of RFC 3264 §6.1. Every other `m=` line is refused with port 0 in its place (§6).
//!
//! A child module of `sdp` (for [`SdpOrigin`]'s versioning); depends on `rtc-sdp` only.

use super::{parse_audio, AudioStream, Direction, PayloadType, SdpError, SdpOrigin};
use bytes::Bytes;
use rtc_sdp::SessionDescription;
use std::fmt::Write as _;
use std::io::Cursor;
use std::net::SocketAddr;

/// Payload types offered by [`offer_audio`]: PCMA, PCMU, telephone-event.
pub const LATE_OFFER_PAYLOADS: [u8; 3] = [8, 0, 101];

/// Why an offer cannot be answered (the call gets 488, RFC 3261 §21.4.26).
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The body is not usable SDP.
    #[error(transparent)]
    Sdp(#[from] SdpError),
    /// No `m=audio` stream, or only a disabled one (port 0).
    #[error("no active audio stream in the offer")]
    NoAudio,
    /// The audio stream is not plain RTP (`RTP/SAVP`, DTLS...): we cannot take part in it.
    #[error("unsupported audio transport {proto:?}")]
    Transport {
        /// The offered transport (`m=` proto field).
        proto: String,
    },
    /// No offered payload type is an audio codec.
    #[error("no usable audio codec offered")]
    NoCodec,
}

/// Our answer and what was agreed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioAnswer {
    /// The answer's body.
    pub body: Bytes,
    /// The phone's offered audio stream (for the relay: address, payloads, direction).
    pub offer: AudioStream,
    /// The codec chosen.
    pub codec: PayloadType,
    /// The telephone-event payload type kept, if offered.
    pub telephone_event: Option<u8>,
    /// Our direction in the answer.
    pub direction: Direction,
}

/// The answering direction for an offered one (RFC 3264 §6.1).
pub fn answer_direction(offered: Direction) -> Direction {
    match offered {
        Direction::SendRecv => Direction::SendRecv,
        Direction::SendOnly => Direction::RecvOnly,
        Direction::RecvOnly => Direction::SendOnly,
        Direction::Inactive => Direction::Inactive,
    }
}

/// Whether `name` is an audio codec whose packets the relay can carry (see the module docs).
fn is_codec(name: &str) -> bool {
    const NOT_CODECS: [&str; 5] = ["telephone-event", "CN", "red", "ulpfec", "rtx"];
    !name.is_empty() && !NOT_CODECS.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Answers `offer` with media on `local` (our relay pair's RTP address), `o=` from `origin`.
pub fn answer_audio(
    offer: &[u8],
    local: SocketAddr,
    origin: &mut SdpOrigin,
) -> Result<AudioAnswer, AnswerError> {
    answer_audio_preferring(offer, local, origin, &[])
}

/// Like [`answer_audio`], but picks the first offered codec whose name is in `prefer`
/// (case-insensitive, e.g. `["PCMU", "PCMA"]` for calls the switch plays prompts to), else
/// the first codec the relay can carry. The offer's order decides among preferred names
/// (RFC 3264 §6.1: the offerer's preference).
pub fn answer_audio_preferring(
    offer: &[u8],
    local: SocketAddr,
    origin: &mut SdpOrigin,
    prefer: &[&str],
) -> Result<AudioAnswer, AnswerError> {
    let stream = parse_audio(offer)?.ok_or(AnswerError::NoAudio)?;
    if stream.port == 0 {
        return Err(AnswerError::NoAudio);
    }
    // parse_audio succeeded, so the text parses; a failure here is still reported, not unwrapped.
    let session = SessionDescription::unmarshal(&mut Cursor::new(offer))
        .map_err(|e| SdpError::Syntax(Box::new(e)))?;
    let audio_index = session
        .media_descriptions
        .iter()
        .position(|m| m.media_name.media.eq_ignore_ascii_case("audio"))
        .ok_or(AnswerError::NoAudio)?;
    let media = &session.media_descriptions[audio_index];
    let proto = media.media_name.protos.join("/");
    if !(proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")) {
        return Err(AnswerError::Transport { proto });
    }
    let preferred = |p: &&PayloadType| prefer.iter().any(|n| n.eq_ignore_ascii_case(&p.name));
    let codec = stream
        .payloads
        .iter()
        .find(preferred)
        .or_else(|| stream.payloads.iter().find(|p| is_codec(&p.name)))
        .cloned()
        .ok_or(AnswerError::NoCodec)?;
    // RFC 4733 §7.1.1: the event clock should match the codec's; take that one if offered.
    let events: Vec<&PayloadType> = stream
        .payloads
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case("telephone-event"))
        .collect();
    let event = events
        .iter()
        .find(|p| p.clock_rate == codec.clock_rate)
        .or(events.first())
        .map(|p| (*p).clone());
    let details = media.codecs();
    let direction = answer_direction(stream.direction);
    let (addr_type, addr) = super::addr_fields(local.ip());

    let mut rest = String::with_capacity(256);
    let _ = write!(
        rest,
        "s=switchboard\r\nc=IN {addr_type} {addr}\r\nt=0 0\r\n"
    );
    for (i, m) in session.media_descriptions.iter().enumerate() {
        let name = &m.media_name;
        if i != audio_index {
            // RFC 3264 §6: a refused stream keeps its line with port 0 and one format.
            let format = name.formats.first().map(String::as_str).unwrap_or("0");
            let _ = write!(
                rest,
                "m={} 0 {} {format}\r\n",
                name.media,
                name.protos.join("/")
            );
            continue;
        }
        let _ = write!(rest, "m=audio {} {proto} {}", local.port(), codec.pt);
        if let Some(e) = &event {
            let _ = write!(rest, " {}", e.pt);
        }
        rest.push_str("\r\n");
        for p in std::iter::once(&codec).chain(event.as_ref()) {
            let extra = details.get(&p.pt);
            let channels = extra
                .map(|c| c.encoding_parameters.as_str())
                .filter(|c| !c.is_empty());
            let _ = write!(rest, "a=rtpmap:{} {}/{}", p.pt, p.name, p.clock_rate);
            if let Some(ch) = channels {
                let _ = write!(rest, "/{ch}");
            }
            rest.push_str("\r\n");
            if let Some(fmtp) = extra.map(|c| c.fmtp.as_str()).filter(|f| !f.is_empty()) {
                let _ = write!(rest, "a=fmtp:{} {fmtp}\r\n", p.pt);
            }
        }
        if let Some(ptime) = stream.ptime {
            let _ = write!(rest, "a=ptime:{ptime}\r\n");
        }
        let _ = write!(rest, "a={}\r\n", direction.as_str());
    }
    let body = with_origin(rest, local, origin);
    Ok(AudioAnswer {
        body,
        offer: stream,
        codec,
        telephone_event: event.map(|e| e.pt),
        direction,
    })
}

/// Our offer on `local` for an INVITE without SDP: PCMA, PCMU, telephone-event, ptime 20.
pub fn offer_audio(local: SocketAddr, origin: &mut SdpOrigin) -> Bytes {
    let (addr_type, addr) = super::addr_fields(local.ip());
    let [pcma, pcmu, event] = LATE_OFFER_PAYLOADS;
    let rest = format!(
        "s=switchboard\r\nc=IN {addr_type} {addr}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {pcma} {pcmu} {event}\r\n\
         a=rtpmap:{pcma} PCMA/8000\r\na=rtpmap:{pcmu} PCMU/8000\r\n\
         a=rtpmap:{event} telephone-event/8000\r\na=fmtp:{event} 0-16\r\n\
         a=ptime:20\r\na=sendrecv\r\n",
        local.port()
    );
    with_origin(rest, local, origin)
}

/// Our offer on `local` with exactly `codec` (same payload type number, name and clock rate)
/// plus, when given, `telephone-event` on payload type `telephone_event` at the codec's
/// clock rate (RFC 4733 §7.1.1), ptime 20, sendrecv. Codec parameters (`a=fmtp`) are not
/// known here and not written; Opus gets its mandatory `/2` channel count (RFC 7587 §7).
pub fn offer_codec(
    local: SocketAddr,
    origin: &mut SdpOrigin,
    codec: &PayloadType,
    telephone_event: Option<u8>,
) -> Bytes {
    let (addr_type, addr) = super::addr_fields(local.ip());
    let clock = if codec.clock_rate == 0 {
        8000
    } else {
        codec.clock_rate
    };
    let mut rest = String::with_capacity(256);
    let _ = write!(
        rest,
        "s=switchboard\r\nc=IN {addr_type} {addr}\r\nt=0 0\r\nm=audio {} RTP/AVP {}",
        local.port(),
        codec.pt
    );
    // A telephone-event number equal to the codec's would be an invalid offer: left out.
    let event = telephone_event.filter(|&e| e != codec.pt);
    if let Some(e) = event {
        let _ = write!(rest, " {e}");
    }
    let _ = write!(rest, "\r\na=rtpmap:{} {}/{clock}", codec.pt, codec.name);
    if codec.name.eq_ignore_ascii_case("opus") {
        rest.push_str("/2");
    }
    rest.push_str("\r\n");
    if let Some(e) = event {
        let _ = write!(
            rest,
            "a=rtpmap:{e} telephone-event/{clock}\r\na=fmtp:{e} 0-16\r\n"
        );
    }
    rest.push_str("a=ptime:20\r\na=sendrecv\r\n");
    with_origin(rest, local, origin)
}

/// `v=0`, our `o=` line (version bumped when `rest` changed, RFC 3264 §8), then `rest`.
fn with_origin(rest: String, local: SocketAddr, origin: &mut SdpOrigin) -> Bytes {
    let version = origin.version_for(rest.as_bytes());
    let (addr_type, addr) = super::addr_fields(local.ip());
    let mut body = String::with_capacity(rest.len() + 64);
    let _ = write!(
        body,
        "v=0\r\no={} {} {version} IN {addr_type} {addr}\r\n{rest}",
        origin.username, origin.session_id
    );
    Bytes::from(body)
}

#[cfg(test)]
#[path = "sdp_answer_tests.rs"]
mod tests;
