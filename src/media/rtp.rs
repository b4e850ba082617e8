//! Allocation-free views of the RTP fixed header and of RFC 4733 telephone-event payloads.
//!
//! Why not `rtc_rtp::header::Header::unmarshal`: it builds a `Vec` for the CSRC list and one
//! for the header extensions (and copies each extension into `Bytes`), so it allocates
//! whenever CC > 0 or X = 1. The relay must not allocate per packet, and it only needs the
//! 12-byte fixed header (RFC 3550 §5.1) plus the payload offset, so it reads those fields
//! directly. The bit layout constants are `rtc-rtp`'s, so both agree by construction.
//! (`rtc-rtp`'s `Marshal`/`Unmarshal` traits live in `rtc-shared`, which is not a direct
//! dependency, so tests build packets by hand too.)
//!
//! Depends on nothing else in the crate.

use rtc_rtp::header::{
    CC_MASK, CSRC_LENGTH, CSRC_OFFSET, EXTENSION_MASK, EXTENSION_SHIFT, PADDING_MASK,
    PADDING_SHIFT, PT_MASK, VERSION_MASK, VERSION_SHIFT,
};

/// The fields of the RTP fixed header the relay uses (RFC 3550 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp, in the payload's clock.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
    /// Offset of the payload in the packet (after CSRCs and the extension block).
    pub payload_offset: usize,
    /// Length of the payload (without padding).
    pub payload_len: usize,
}

impl RtpHeader {
    /// Reads the header of `packet`; `None` when it is not a well-formed RTP version 2
    /// packet (too short, wrong version, lengths pointing past the end).
    pub fn parse(packet: &[u8]) -> Option<RtpHeader> {
        let fixed: &[u8; 12] = packet.get(..12)?.try_into().ok()?;
        let b0 = fixed[0];
        // RFC 3550 §5.1: V must be 2.
        if (b0 >> VERSION_SHIFT) & VERSION_MASK != 2 {
            return None;
        }
        let cc = usize::from(b0 & CC_MASK);
        let mut offset = CSRC_OFFSET + cc * CSRC_LENGTH;
        if (b0 >> EXTENSION_SHIFT) & EXTENSION_MASK == 1 {
            // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words.
            let ext = packet.get(offset..offset + 4)?;
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            offset += 4 + words * 4;
        }
        let mut end = packet.len();
        if (b0 >> PADDING_SHIFT) & PADDING_MASK == 1 {
            // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
            let pad = usize::from(*packet.last()?);
            end = end.checked_sub(pad)?;
        }
        if offset > end {
            return None;
        }
        Some(RtpHeader {
            payload_type: fixed[1] & PT_MASK,
            marker: fixed[1] & 0x80 != 0,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            payload_offset: offset,
            payload_len: end - offset,
        })
    }
}

/// One RFC 4733 §2.3 telephone-event payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–9, 10 = `*`, 11 = `#`, 12–15 = A–D, 16 = flash).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Volume in -dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the 4-byte payload; `None` if shorter.
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        let bytes: &[u8; 4] = payload.get(..4)?.try_into().ok()?;
        Some(TelephoneEvent {
            event: bytes[0],
            end: bytes[1] & 0x80 != 0,
            volume: bytes[1] & 0x3f,
            duration: u16::from_be_bytes([bytes[2], bytes[3]]),
        })
    }

    /// The DTMF character of the event (RFC 4733 §3.2 table), `None` for non-DTMF events.
    pub fn digit(&self) -> Option<char> {
        const DIGITS: &[u8; 17] = b"0123456789*#ABCD!";
        DIGITS.get(usize::from(self.event)).map(|&b| char::from(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_header_with_csrc() {
        // V=2, CC=2, M=1, PT=8, seq 0xfffe, ts 0xdeadbeef, ssrc 0x12345678, 2 CSRCs, "abcd"
        let mut bytes = vec![
            0x82, 0x88, 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78,
        ];
        bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        bytes.extend_from_slice(b"abcd");
        let h = RtpHeader::parse(&bytes).unwrap();
        assert_eq!(
            (h.payload_type, h.marker, h.sequence, h.timestamp, h.ssrc),
            (8, true, 0xfffe, 0xdead_beef, 0x1234_5678)
        );
        assert_eq!(h.payload_offset, 20);
        assert_eq!(
            &bytes[h.payload_offset..h.payload_offset + h.payload_len],
            b"abcd"
        );
    }

    #[test]
    fn rejects_short_wrong_version_and_bad_lengths() {
        assert_eq!(RtpHeader::parse(&[0x80; 11]), None);
        let mut v1 = [0u8; 12];
        v1[0] = 0x40;
        assert_eq!(RtpHeader::parse(&v1), None);
        let mut cc = [0u8; 12];
        cc[0] = 0x80 | 3; // 3 CSRCs announced, none present
        assert_eq!(RtpHeader::parse(&cc), None);
        let mut ext = [0u8; 16];
        ext[0] = 0x90;
        ext[15] = 9; // extension of 9 words announced
        assert_eq!(RtpHeader::parse(&ext), None);
        let mut pad = [0u8; 13];
        pad[0] = 0xa0;
        pad[12] = 200;
        assert_eq!(RtpHeader::parse(&pad), None);
    }

    #[test]
    fn extension_and_padding_are_skipped() {
        let mut p = vec![0x90 | 0x20, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]); // one word
        p.extend_from_slice(b"xy");
        p.extend_from_slice(&[0, 2]); // two padding octets
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.payload_offset, 20);
        assert_eq!(h.payload_len, 2);
    }

    #[test]
    fn telephone_event_fields_and_digits() {
        let e = TelephoneEvent::parse(&[11, 0x8a, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.digit(), Some('#'));
        assert_eq!(
            TelephoneEvent::parse(&[10, 0, 0, 0]).unwrap().digit(),
            Some('*')
        );
        assert_eq!(
            TelephoneEvent::parse(&[15, 0, 0, 0]).unwrap().digit(),
            Some('D')
        );
        assert_eq!(TelephoneEvent::parse(&[40, 0, 0, 0]).unwrap().digit(), None);
        assert_eq!(TelephoneEvent::parse(&[1, 0, 0]), None);
    }
}
