//! RTP statistics kept on a channel: a plain copy of what the media layer measured for
//! the leg, so snapshots (and the `Hangup` event the CDR reads) carry them without the
//! switch's consumers depending on `media`.
//!
//! Depends on `crate::media` (its `LegStats`, converted with `From`).

use std::time::SystemTime;

use crate::media::relay::LegStats;

/// RTP statistics of one direction of a leg.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MediaDirectionStats {
    /// RTP packets.
    pub packets: u64,
    /// RTP bytes (UDP payload).
    pub bytes: u64,
    /// Cumulative packets lost from sequence numbers (RFC 3550 §A.3; receive side only,
    /// negative with duplicates, 0 for the send side).
    pub lost: i64,
    /// Interarrival jitter in milliseconds (RFC 3550 §6.4.1; receive side only).
    pub jitter_ms: f64,
}

/// RTP statistics of a leg: what the switch received from the far end (`rx`) and sent to
/// it (`tx`).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ChannelMediaStats {
    /// From the far end to the switch.
    pub rx: MediaDirectionStats,
    /// From the switch to the far end.
    pub tx: MediaDirectionStats,
    /// RTCP packets received from the far end.
    pub rtcp_rx: u64,
    /// RTCP packets sent to the far end.
    pub rtcp_tx: u64,
    /// Packets refused (foreign source, not RTP, no destination yet).
    pub dropped: u64,
    /// Wall-clock time of the first RTP packet received.
    pub first_packet: Option<SystemTime>,
    /// Wall-clock time of the last RTP packet received.
    pub last_packet: Option<SystemTime>,
}

impl From<&LegStats> for ChannelMediaStats {
    fn from(s: &LegStats) -> Self {
        ChannelMediaStats {
            rx: MediaDirectionStats {
                packets: s.packets_in,
                bytes: s.bytes_in,
                lost: s.lost,
                jitter_ms: s.jitter_ms,
            },
            tx: MediaDirectionStats {
                packets: s.packets_out,
                bytes: s.bytes_out,
                lost: 0,
                jitter_ms: 0.0,
            },
            rtcp_rx: s.rtcp_in,
            rtcp_tx: s.rtcp_out,
            dropped: s.dropped,
            first_packet: s.first_packet,
            last_packet: s.last_packet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_media_layer_counters() {
        let leg = LegStats {
            packets_in: 50,
            bytes_in: 8_600,
            packets_out: 49,
            bytes_out: 8_428,
            rtcp_in: 2,
            rtcp_out: 1,
            dropped: 3,
            lost: 1,
            jitter_ms: 2.5,
            ..LegStats::default()
        };
        let s = ChannelMediaStats::from(&leg);
        assert_eq!((s.rx.packets, s.rx.bytes, s.rx.lost), (50, 8_600, 1));
        assert_eq!((s.tx.packets, s.tx.bytes), (49, 8_428));
        assert_eq!((s.rtcp_rx, s.rtcp_tx, s.dropped), (2, 1, 3));
        assert_eq!(s.rx.jitter_ms, 2.5);
    }
}
