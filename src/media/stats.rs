//! Per-stream reception statistics: loss from sequence numbers (RFC 3550 §A.1) and
//! interarrival jitter (RFC 3550 §6.4.1, §A.8). Pure and clock-free: arrival times are passed
//! in, so the maths is tested with explicit times.
//!
//! Depends on nothing else in the crate.

use std::time::Duration;

/// RFC 3550 §A.1: a jump of more than this many packets ahead is a restart candidate.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 §A.1: packets up to this far behind count as misordered/duplicates.
const MAX_MISORDER: u16 = 100;
/// 2^16: one sequence-number cycle.
const SEQ_MOD: u64 = 1 << 16;

/// Sequence-number bookkeeping of one SSRC (RFC 3550 §A.1, without the probation phase:
/// the relay counts from the first packet it sees).
#[derive(Clone, Debug, Default)]
pub struct SeqTracker {
    started: bool,
    base_seq: u64,
    max_seq: u16,
    /// Shifted count of sequence-number cycles (multiples of 2^16).
    cycles: u64,
    /// Sequence number after a big jump; a following packet with it confirms a restart.
    bad_seq: Option<u16>,
    /// Packets accepted since the last (re)start.
    received_current: u64,
    /// Expected packets of the streams before a restart.
    prior_expected: u64,
    /// Received packets of the streams before a restart.
    prior_received: u64,
}

impl SeqTracker {
    /// Accounts one packet; returns `false` when it was discarded as a wild jump (a second
    /// packet continuing the jump restarts the count, RFC 3550 §A.1).
    pub fn update(&mut self, seq: u16) -> bool {
        if !self.started {
            self.restart(seq);
            self.received_current = 1;
            return true;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER + 1 {
            // A very large jump.
            if self.bad_seq == Some(seq) {
                // Two sequential packets: the source restarted; keep what was received.
                // Keep the totals of the stream before the restart.
                self.prior_expected += self.expected_current();
                self.prior_received += self.received_current;
                self.restart(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                return false;
            }
        }
        // Else: duplicate or misordered packet, counted as received.
        self.received_current += 1;
        true
    }

    /// A new SSRC took over the stream: keep the totals so far and count the new source
    /// from its first packet.
    pub fn new_source(&mut self) {
        self.prior_expected += self.expected_current();
        self.prior_received += self.received_current;
        self.received_current = 0;
        self.started = false;
    }

    fn restart(&mut self, seq: u16) {
        self.started = true;
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.bad_seq = None;
        self.received_current = 0;
    }

    /// Packets accepted so far.
    pub fn received(&self) -> u64 {
        self.prior_received + self.received_current
    }

    /// Highest extended sequence number seen.
    pub fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// Packets expected from the sequence numbers (RFC 3550 §A.3).
    pub fn expected(&self) -> u64 {
        self.prior_expected + self.expected_current()
    }

    fn expected_current(&self) -> u64 {
        if !self.started {
            return 0;
        }
        (self.extended_max() + 1).saturating_sub(self.base_seq)
    }

    /// Cumulative packets lost (RFC 3550 §A.3); negative when duplicates outnumber losses.
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received() as i64
    }
}

/// Interarrival jitter estimator (RFC 3550 §6.4.1, implementation of §A.8).
#[derive(Clone, Debug, Default)]
pub struct JitterEstimator {
    /// Previous relative transit time, in timestamp units.
    last_transit: Option<i64>,
    /// Jitter in timestamp units, scaled by 16 as in §A.8 (integer arithmetic).
    jitter_x16: u64,
}

impl JitterEstimator {
    /// Feeds one packet: its arrival time (on any monotonic base, the same for every call),
    /// its RTP timestamp and the payload clock rate (8000 for G.711).
    pub fn update(&mut self, arrival: Duration, rtp_timestamp: u32, clock_rate: u32) {
        if clock_rate == 0 {
            return;
        }
        // Arrival in timestamp units, wrapped to 32 bits like the RTP timestamp (§A.8).
        let arrival_units = (arrival.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32;
        let transit = i64::from(arrival_units.wrapping_sub(rtp_timestamp) as i32);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs();
            // J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16, kept scaled by 16 (§A.8).
            self.jitter_x16 = (self.jitter_x16 + d).saturating_sub((self.jitter_x16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Forgets the previous transit (new SSRC or new clock).
    pub fn reset_transit(&mut self) {
        self.last_transit = None;
    }

    /// Current jitter in timestamp units (the value RTCP reports carry).
    pub fn jitter_units(&self) -> u64 {
        self.jitter_x16 >> 4
    }

    /// Current jitter in milliseconds for the given clock rate.
    pub fn jitter_ms(&self, clock_rate: u32) -> f64 {
        if clock_rate == 0 {
            return 0.0;
        }
        self.jitter_x16 as f64 / 16.0 * 1000.0 / f64::from(clock_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(seqs: impl IntoIterator<Item = u16>) -> SeqTracker {
        let mut t = SeqTracker::default();
        for s in seqs {
            t.update(s);
        }
        t
    }

    #[test]
    fn no_loss_in_order() {
        let t = feed(1..=100);
        assert_eq!((t.expected(), t.received(), t.lost()), (100, 100, 0));
    }

    #[test]
    fn gap_counts_as_loss() {
        let t = feed((1..=10).chain(14..=20));
        assert_eq!((t.expected(), t.received(), t.lost()), (20, 17, 3));
    }

    #[test]
    fn wrap_around_is_not_loss() {
        let t = feed((65530..=65535).chain(0..=9));
        assert_eq!(t.extended_max(), 65536 + 9);
        assert_eq!((t.expected(), t.lost()), (16, 0));
        let t = feed((65530..=65535).chain(2..=9));
        assert_eq!(t.lost(), 2);
    }

    #[test]
    fn misordered_and_duplicate_packets() {
        let t = feed([1, 2, 4, 3, 5, 5]);
        assert_eq!((t.expected(), t.received(), t.lost()), (5, 6, -1));
    }

    #[test]
    fn wild_jump_needs_two_sequential_packets() {
        let mut t = feed(1..=10);
        assert!(!t.update(30000));
        assert_eq!(t.received(), 10);
        assert!(t.update(30001));
        assert!(t.update(30002));
        assert_eq!(t.received(), 12);
        assert_eq!(t.lost(), 0, "a restart is not loss");
    }

    #[test]
    fn jitter_zero_for_perfect_timing() {
        let mut j = JitterEstimator::default();
        for i in 0..50u32 {
            j.update(Duration::from_millis(u64::from(i) * 20), i * 160, 8000);
        }
        assert_eq!(j.jitter_units(), 0);
    }

    #[test]
    fn jitter_follows_rfc3550_recursion() {
        // Packets every 20 ms of media (160 units); arrivals alternate 20 ms late/early.
        let arrivals_ms = [0u64, 30, 40, 70, 80];
        let mut j = JitterEstimator::default();
        let mut reference = 0.0f64;
        let mut last_transit: Option<f64> = None;
        for (i, &a) in arrivals_ms.iter().enumerate() {
            let ts = i as u32 * 160;
            j.update(Duration::from_millis(a), ts, 8000);
            let transit = a as f64 * 8.0 - f64::from(ts);
            if let Some(last) = last_transit {
                reference += ((transit - last).abs() - reference) / 16.0;
            }
            last_transit = Some(transit);
        }
        // |D| = 80 units each step: J = 80 * (1 - (15/16)^4) ≈ 18.2 units.
        assert!((reference - 18.19).abs() < 0.05, "{reference}");
        assert_eq!(j.jitter_units(), reference as u64);
        assert!((j.jitter_ms(8000) - reference / 8.0).abs() < 0.1);
    }

    #[test]
    fn jitter_survives_timestamp_wrap() {
        let mut j = JitterEstimator::default();
        let start = u32::MAX - 320;
        for i in 0..5u32 {
            j.update(
                Duration::from_millis(u64::from(i) * 20),
                start.wrapping_add(i * 160),
                8000,
            );
        }
        assert_eq!(j.jitter_units(), 0);
    }
}
