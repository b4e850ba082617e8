//! Transaction timer values (RFC 3261 §17 and the timer table of Appendix A).
//!
//! Pure data: T1, T2 and T4 come from configuration; every named timer is derived
//! from them here so that the four state machines never hard-code a duration.
//! Depends on nothing but `std`.

use std::time::Duration;

/// The base timer values every transaction timer is derived from (RFC 3261 Appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; initial retransmit interval of A, E and G (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Delay after which an INVITE server transaction sends `100 Trying` itself when the
/// TU has not sent a provisional response (RFC 3261 §17.2.1).
pub const AUTO_TRYING_DELAY: Duration = Duration::from_millis(200);

/// Lower bound of Timer D on unreliable transports (RFC 3261 §17.1.1.2: "at least 32 seconds").
const TIMER_D_MIN: Duration = Duration::from_secs(32);

impl TimerConfig {
    /// 64*T1: the common transaction timeout (timers B, F, H and J on UDP).
    pub fn timeout_64t1(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer A initial value: T1, doubled on every INVITE retransmission (RFC 3261 §17.1.1.2).
    pub fn timer_a(&self) -> Duration {
        self.t1
    }

    /// Timer B: INVITE transaction timeout, 64*T1 (RFC 3261 §17.1.1.2).
    pub fn timer_b(&self) -> Duration {
        self.timeout_64t1()
    }

    /// Timer D: wait time for response retransmits, ≥ 32 s on unreliable transports,
    /// zero on reliable ones (RFC 3261 §17.1.1.2). We use max(32 s, 64*T1).
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            TIMER_D_MIN.max(self.timeout_64t1())
        }
    }

    /// Timer E initial value: T1, doubled up to T2 (RFC 3261 §17.1.2.2).
    pub fn timer_e(&self) -> Duration {
        self.t1
    }

    /// Timer F: non-INVITE transaction timeout, 64*T1 (RFC 3261 §17.1.2.2).
    pub fn timer_f(&self) -> Duration {
        self.timeout_64t1()
    }

    /// Timer G initial value: T1, doubled up to T2 (RFC 3261 §17.2.1).
    pub fn timer_g(&self) -> Duration {
        self.t1
    }

    /// Timer H: wait time for ACK receipt, 64*T1 on every transport (RFC 3261 §17.2.1).
    pub fn timer_h(&self) -> Duration {
        self.timeout_64t1()
    }

    /// Timer I: wait time for ACK retransmits, T4 unreliable, zero reliable (RFC 3261 §17.2.1).
    pub fn timer_i(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J: wait time for non-INVITE request retransmits, 64*T1 unreliable, zero
    /// reliable (RFC 3261 §17.2.2).
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.timeout_64t1()
        }
    }

    /// Timer K: wait time for response retransmits, T4 unreliable, zero reliable
    /// (RFC 3261 §17.1.2.2).
    pub fn timer_k(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Next retransmit interval for timers E and G: double, capped at T2
    /// (RFC 3261 §17.1.2.2, §17.2.1). Never zero, so a zero T1 cannot spin.
    pub fn next_capped(&self, interval: Duration) -> Duration {
        interval
            .saturating_mul(2)
            .min(self.t2)
            .max(Duration::from_millis(1))
    }
}
