//! SDP (RFC 4566) inspection and rewriting for the relay.
//!
//! [`parse_audio`] reads an offer or answer with `rtc-sdp` and reports the first audio stream:
//! where to send RTP and RTCP, the payload types and their codecs, the RFC 4733
//! telephone-event payload type, the direction and ptime. [`rewrite`] and
//! [`rewrite_with_origin`] point a body at our relay port pair: they replace every `c=`
//! address, the first `m=audio` port and its `a=rtcp`, and (with an [`SdpOrigin`]) the `o=`
//! line; every other line is copied byte for byte, line endings included, so the codec
//! offer/answer passes through untouched. Other media streams (video, a second audio) cannot
//! be relayed, so their port is set to 0 (disabled, RFC 3264 §5.1/§6), unless already 0.
//!
//! [`answer_audio`] / [`offer_audio`] (child module `answer`) write our own SDP for calls the
//! switch answers itself.
//!
//! Depends on nothing else in the crate.

use bytes::{BufMut, Bytes, BytesMut};
use rtc_sdp::SessionDescription;
use std::fmt::Write as _;
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

/// Why an SDP body could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SdpError {
    /// The body is not valid UTF-8 text.
    #[error("SDP is not UTF-8")]
    NotUtf8,
    /// `rtc-sdp` rejected the body (line order, field syntax).
    #[error("malformed SDP")]
    Syntax(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The audio stream has no `c=` line at media or session level (RFC 4566 §5.7).
    #[error("audio stream without connection address")]
    NoConnection,
    /// A `c=` address or `a=rtcp` value is not an IP address we can send to.
    #[error("unusable address {value:?} in SDP")]
    BadAddress {
        /// The offending text.
        value: String,
    },
    /// A port does not fit 0..=65535.
    #[error("bad port {value} in SDP")]
    BadPort {
        /// The offending value.
        value: i64,
    },
}

/// Media direction attribute (RFC 3264 §5.1, §8.4), seen from the party that wrote the SDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    /// Sends and receives (the default when no attribute is present).
    #[default]
    SendRecv,
    /// Only sends (typical of the party putting the call on hold).
    SendOnly,
    /// Only receives.
    RecvOnly,
    /// Neither sends nor receives.
    Inactive,
}

impl Direction {
    /// Parses an attribute key (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn from_attribute(key: &str) -> Option<Direction> {
        match key {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute text.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Whether the writer of the SDP will send media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the writer of the SDP wants to receive media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// One payload type of an audio stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadType {
    /// The RTP payload type number.
    pub pt: u8,
    /// Encoding name as written (`PCMU`, `telephone-event`, ...); static types without
    /// `a=rtpmap` get their RFC 3551 name.
    pub name: String,
    /// RTP clock rate in Hz (0 when unknown).
    pub clock_rate: u32,
}

/// The first audio stream of an SDP body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioStream {
    /// Connection address (media-level `c=`, else session-level).
    pub address: IpAddr,
    /// RTP port (0: stream rejected/disabled).
    pub port: u16,
    /// RTCP address (`a=rtcp` address, else [`Self::address`]).
    pub rtcp_address: IpAddr,
    /// RTCP port (`a=rtcp`, RFC 3605, else port + 1).
    pub rtcp_port: u16,
    /// Payload types in `m=` order.
    pub payloads: Vec<PayloadType>,
    /// The RFC 4733 telephone-event payload type, if offered.
    pub telephone_event: Option<PayloadType>,
    /// Direction (media level overrides session level, RFC 3264 §5.1).
    pub direction: Direction,
    /// `a=ptime` in milliseconds.
    pub ptime: Option<u32>,
}

impl AudioStream {
    /// Where RTP goes, `None` when the stream is disabled (port 0).
    pub fn rtp_addr(&self) -> Option<SocketAddr> {
        (self.port != 0).then(|| SocketAddr::new(self.address, self.port))
    }

    /// Where RTCP goes, `None` when the stream is disabled.
    pub fn rtcp_addr(&self) -> Option<SocketAddr> {
        (self.port != 0).then(|| SocketAddr::new(self.rtcp_address, self.rtcp_port))
    }

    /// On hold: sendonly/inactive, or the RFC 2543 style `c=0.0.0.0` (RFC 3264 §8.4).
    pub fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
            || self.address.is_unspecified()
    }

    /// The payload type entry for `pt`.
    pub fn payload(&self, pt: u8) -> Option<&PayloadType> {
        self.payloads.iter().find(|p| p.pt == pt)
    }
}

/// RFC 3551 §6 static audio payload types commonly seen without `a=rtpmap`.
fn static_payload(pt: u8) -> Option<(&'static str, u32)> {
    Some(match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000), // RFC 3551 §4.5.2: clock 8000 despite 16 kHz sampling
        13 => ("CN", 8000),
        18 => ("G729", 8000),
        _ => return None,
    })
}

fn parse_ip(value: &str) -> Result<IpAddr, SdpError> {
    // RFC 4566 §5.7: multicast may carry "/ttl"; we only take the address part.
    let addr = value.split('/').next().unwrap_or(value);
    addr.parse().map_err(|_| SdpError::BadAddress {
        value: value.to_owned(),
    })
}

fn to_port(value: i64) -> Result<u16, SdpError> {
    u16::try_from(value).map_err(|_| SdpError::BadPort { value })
}

/// Parses `body` and returns its first audio stream, `None` when it has no `m=audio`.
pub fn parse_audio(body: &[u8]) -> Result<Option<AudioStream>, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    let session = SessionDescription::unmarshal(&mut Cursor::new(text.as_bytes()))
        .map_err(|e| SdpError::Syntax(Box::new(e)))?;
    let Some(media) = session
        .media_descriptions
        .iter()
        .find(|m| m.media_name.media.eq_ignore_ascii_case("audio"))
    else {
        return Ok(None);
    };
    let connection = media
        .connection_information
        .as_ref()
        .or(session.connection_information.as_ref())
        .and_then(|c| c.address.as_ref())
        .ok_or(SdpError::NoConnection)?;
    let address = parse_ip(&connection.address)?;
    let port = to_port(media.media_name.port.value as i64)?;

    let codecs = media.codecs();
    let mut payloads = Vec::with_capacity(media.media_name.formats.len());
    for format in &media.media_name.formats {
        let Ok(pt) = format.parse::<u8>() else {
            continue;
        };
        let (name, clock_rate) = match codecs.get(&pt) {
            Some(c) if !c.name.is_empty() => (c.name.clone(), c.clock_rate),
            _ => match static_payload(pt) {
                Some((name, rate)) => (name.to_owned(), rate),
                None => (String::new(), 0),
            },
        };
        payloads.push(PayloadType {
            pt,
            name,
            clock_rate,
        });
    }
    let telephone_event = payloads
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case("telephone-event"))
        .cloned();

    let mut direction = session
        .attributes
        .iter()
        .find_map(|a| Direction::from_attribute(&a.key))
        .unwrap_or_default();
    if let Some(d) = media
        .attributes
        .iter()
        .find_map(|a| Direction::from_attribute(&a.key))
    {
        direction = d;
    }
    let ptime = media
        .attribute("ptime")
        .flatten()
        .and_then(|v| v.trim().parse().ok());

    let (rtcp_address, rtcp_port) = match media.attribute("rtcp").flatten() {
        Some(value) => parse_rtcp_attribute(value, address)?,
        None => (address, port.wrapping_add(1)),
    };
    Ok(Some(AudioStream {
        address,
        port,
        rtcp_address,
        rtcp_port,
        payloads,
        telephone_event,
        direction,
        ptime,
    }))
}

/// RFC 3605 §2.1: `a=rtcp:port [nettype addrtype connection-address]`.
fn parse_rtcp_attribute(value: &str, default: IpAddr) -> Result<(IpAddr, u16), SdpError> {
    let mut fields = value.split_ascii_whitespace();
    let port_text = fields.next().unwrap_or("");
    let port: i64 = port_text.parse().map_err(|_| SdpError::BadAddress {
        value: value.to_owned(),
    })?;
    let port = to_port(port)?;
    let address = match fields.nth(2) {
        Some(addr) => parse_ip(addr)?,
        None => default,
    };
    Ok((address, port))
}

/// Our `o=` line state for one SDP session (one per leg we send SDP on): a stable session
/// id and a version that increases by one each time the body we send changes
/// (RFC 3264 §8; an unchanged re-sent body keeps its version, RFC 3264 §8 last paragraph).
#[derive(Clone, Debug)]
pub struct SdpOrigin {
    username: String,
    session_id: u64,
    version: u64,
    /// The last body produced (without its `o=` line), to tell "changed" from "re-sent".
    last_body: Option<Vec<u8>>,
}

impl SdpOrigin {
    /// An origin with the given session id; the first version is the same number
    /// (RFC 4566 §5.2 suggests NTP timestamps for both).
    pub fn new(session_id: u64) -> Self {
        Self {
            username: "switchboard".to_owned(),
            session_id,
            version: session_id,
            last_body: None,
        }
    }

    /// An origin whose session id comes from the wall clock (seconds since 1900, NTP style).
    pub fn from_clock() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::new(unix + 2_208_988_800)
    }

    /// The session id.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The version of the last produced body.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The version for `body` (without `o=`): bumped when it differs from the last one.
    fn version_for(&mut self, body: &[u8]) -> u64 {
        match &self.last_body {
            Some(last) if last.as_slice() == body => {}
            Some(_) => self.version += 1,
            None => {}
        }
        if self.last_body.as_deref() != Some(body) {
            self.last_body = Some(body.to_vec());
        }
        self.version
    }
}

fn addr_fields(ip: IpAddr) -> (&'static str, String) {
    match ip {
        IpAddr::V4(v4) => ("IP4", v4.to_string()),
        IpAddr::V6(v6) => ("IP6", v6.to_string()),
    }
}

/// Rewrites `sdp` to send media to `local_ip:local_rtp_port` (RTCP on the next port), keeping
/// the `o=` line and every untouched line byte-exact.
pub fn rewrite(sdp: &[u8], local_ip: IpAddr, local_rtp_port: u16) -> Result<Bytes, SdpError> {
    Ok(rewrite_lines(sdp, local_ip, local_rtp_port)?.freeze())
}

/// Like [`rewrite`], and also replaces the `o=` line with ours from `origin`, bumping its
/// version when the resulting body differs from the previous one sent (RFC 3264 §8).
pub fn rewrite_with_origin(
    sdp: &[u8],
    local_ip: IpAddr,
    local_rtp_port: u16,
    origin: &mut SdpOrigin,
) -> Result<Bytes, SdpError> {
    let body = rewrite_lines(sdp, local_ip, local_rtp_port)?;
    let Some((start, end)) = find_origin_line(&body) else {
        return Ok(body.freeze());
    };
    let mut without = Vec::with_capacity(body.len());
    without.extend_from_slice(&body[..start]);
    without.extend_from_slice(&body[end..]);
    let version = origin.version_for(&without);
    let (addr_type, addr) = addr_fields(local_ip);
    let mut line = String::with_capacity(64);
    // RFC 4566 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
    let _ = write!(
        line,
        "o={} {} {} IN {} {}",
        origin.username, origin.session_id, version, addr_type, addr
    );
    let mut out = BytesMut::with_capacity(body.len() + 32);
    out.put_slice(&body[..start]);
    out.put_slice(line.as_bytes());
    out.put_slice(&body[end..]);
    Ok(out.freeze())
}

/// Byte range of the `o=` line's content (without its line ending).
fn find_origin_line(body: &[u8]) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let (content, _) = split_eol(line);
        if content.starts_with(b"o=") {
            return Some((offset, offset + content.len()));
        }
        offset += line.len();
    }
    None
}

/// Splits a line into its content and its ending (`\r\n`, `\n` or nothing).
fn split_eol(line: &[u8]) -> (&[u8], &[u8]) {
    let cut = if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") {
        1
    } else {
        0
    };
    line.split_at(line.len() - cut)
}

/// Where the rewriter is in the body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Session,
    /// The audio stream we relay.
    Relayed,
    /// Any other stream (disabled or left alone).
    Other,
}

fn rewrite_lines(sdp: &[u8], local_ip: IpAddr, port: u16) -> Result<BytesMut, SdpError> {
    let (addr_type, addr) = addr_fields(local_ip);
    let mut out = BytesMut::with_capacity(sdp.len() + 32);
    let mut section = Section::Session;
    let mut relayed_seen = false;
    for line in sdp.split_inclusive(|&b| b == b'\n') {
        let (content, eol) = split_eol(line);
        if content.starts_with(b"m=") {
            let text = std::str::from_utf8(content).map_err(|_| SdpError::NotUtf8)?;
            let mut fields = text[2..].splitn(3, ' ');
            let media = fields.next().unwrap_or("");
            let old_port = fields.next().unwrap_or("");
            let rest = fields.next().unwrap_or("");
            let disabled = old_port.split('/').next() == Some("0");
            let new_port = if disabled {
                section = Section::Other;
                None
            } else if media.eq_ignore_ascii_case("audio") && !relayed_seen {
                relayed_seen = true;
                section = Section::Relayed;
                Some(port)
            } else {
                section = Section::Other;
                Some(0) // RFC 3264 §6: a stream we cannot relay is refused with port 0
            };
            match new_port {
                None => out.put_slice(content),
                Some(p) => {
                    let _ = write!(ByteWriter(&mut out), "m={media} {p} {rest}");
                }
            }
        } else if content.starts_with(b"c=") && !content.ends_with(b" 0.0.0.0") {
            // RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>. A c=0.0.0.0
            // (RFC 2543 hold, RFC 3264 §8.4) is kept so the hold still reads as one.
            let _ = write!(ByteWriter(&mut out), "c=IN {addr_type} {addr}");
        } else if content.starts_with(b"a=rtcp:") && section == Section::Relayed {
            // RFC 3605 §2.1: keep the address form if the original had one.
            let has_address = content.split(|&b| b == b' ').count() > 1;
            let rtcp = port.wrapping_add(1);
            if has_address {
                let _ = write!(ByteWriter(&mut out), "a=rtcp:{rtcp} IN {addr_type} {addr}");
            } else {
                let _ = write!(ByteWriter(&mut out), "a=rtcp:{rtcp}");
            }
        } else {
            out.put_slice(content);
        }
        out.put_slice(eol);
    }
    Ok(out)
}

/// `fmt::Write` into a `BytesMut`.
struct ByteWriter<'a>(&'a mut BytesMut);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.put_slice(s.as_bytes());
        Ok(())
    }
}

#[path = "sdp_answer.rs"]
mod answer;
pub use answer::{
    answer_audio, answer_audio_preferring, answer_direction, offer_audio, offer_codec, AnswerError,
    AudioAnswer, LATE_OFFER_PAYLOADS,
};

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
