//! Calls per second over the last [`WINDOW`]: a small ring of `(time, calls started so
//! far)` samples, one per second (fed by the live task from
//! `CallRegistry::counts().calls_total`); the rate is the difference between the newest
//! and the oldest sample over the time between them.
//!
//! Depends on std and tokio's clock.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The span the rate is averaged over.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Samples kept: one per second over [`WINDOW`], plus the one that opens it.
const SAMPLES: usize = 11;

/// See the module docs.
#[derive(Debug, Default)]
pub struct CallRate {
    /// std Mutex: a push or a two-element read, never across an await.
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

impl CallRate {
    /// No sample yet (rate 0).
    pub fn new() -> CallRate {
        CallRate::default()
    }

    /// Records that `total` calls had started by `at`.
    pub fn sample(&self, at: Instant, total: u64) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        if samples.len() == SAMPLES {
            samples.pop_front();
        }
        samples.push_back((at, total));
    }

    /// Calls started per second between the oldest and the newest sample (0 with fewer
    /// than two samples).
    pub fn per_second(&self) -> f64 {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        match (samples.front(), samples.back()) {
            (Some(&(t0, n0)), Some(&(t1, n1))) if t1 > t0 => {
                n1.saturating_sub(n0) as f64 / t1.duration_since(t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_spans_the_last_ten_seconds() {
        let rate = CallRate::new();
        let t0 = Instant::now();
        assert_eq!(rate.per_second(), 0.0);
        rate.sample(t0, 100);
        assert_eq!(rate.per_second(), 0.0, "one sample: no rate");
        // 5 calls/s for 20 s, then 0 for the last 4 s: only the last 10 s count.
        for s in 1..=20u64 {
            rate.sample(t0 + Duration::from_secs(s), 100 + 5 * s);
        }
        assert!((rate.per_second() - 5.0).abs() < 1e-9);
        for s in 21..=24u64 {
            rate.sample(t0 + Duration::from_secs(s), 200);
        }
        // Window 14..24 s: 200 - 170 = 30 calls in 10 s.
        assert!(
            (rate.per_second() - 3.0).abs() < 1e-9,
            "{}",
            rate.per_second()
        );
    }
}
