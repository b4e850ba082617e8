//! The CDR pipeline's health: counters, the "database cannot be written" condition and the
//! close-to-durable latency histogram, shared by the engine and writer tasks and read by
//! status views (`switchboard cdr status`, later the web UI).
//!
//! Depends on std only.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Counters and condition of the pipeline, shared with status views.
#[derive(Debug, Default)]
pub struct CdrHealth {
    pub(crate) backlog: AtomicUsize,
    pub(crate) backlog_peak: AtomicUsize,
    pub(crate) events: AtomicU64,
    pub(crate) ops_written: AtomicU64,
    pub(crate) records_written: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) failed_batches: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) latency: Mutex<LatencyHistogram>,
    pub(crate) condition: Mutex<Option<Degraded>>,
}

/// Why writing is stalled, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// The last error text.
    pub error: String,
    /// When the condition started.
    pub since: SystemTime,
}

/// A copy of [`CdrHealth`] for display.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSnapshot {
    /// Operations waiting for the database.
    pub backlog: usize,
    /// Largest backlog seen.
    pub backlog_peak: usize,
    /// Events consumed from the bus.
    pub events: u64,
    /// Store operations committed.
    pub ops_written: u64,
    /// Final records committed.
    pub records_written: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Transactions that failed (and were retried).
    pub failed_batches: u64,
    /// Operations written to the dead-letter file.
    pub dead_lettered: u64,
    /// Close-to-durable latency of final records: p50, p99, max (milliseconds).
    pub latency_ms: (f64, f64, f64),
    /// Set while the database cannot be written.
    pub degraded: Option<Degraded>,
}

impl CdrHealth {
    /// A copy of the counters.
    pub fn snapshot(&self) -> HealthSnapshot {
        let latency = lock(&self.latency);
        HealthSnapshot {
            backlog: self.backlog.load(Ordering::Relaxed),
            backlog_peak: self.backlog_peak.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            ops_written: self.ops_written.load(Ordering::Relaxed),
            records_written: self.records_written.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            latency_ms: (
                latency.quantile(0.5),
                latency.quantile(0.99),
                latency.max_ms(),
            ),
            degraded: lock(&self.condition).clone(),
        }
    }
}

/// Latencies in log-spaced buckets (1 µs × 2^(i/4)): cheap to record, ~19 % resolution.
#[derive(Debug)]
pub(crate) struct LatencyHistogram {
    buckets: [u64; 128],
    count: u64,
    max_us: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: [0; 128],
            count: 0,
            max_us: 0,
        }
    }
}

impl LatencyHistogram {
    /// Counts one latency.
    pub(crate) fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let index = ((us as f64).log2() * 4.0) as usize;
        if let Some(b) = self.buckets.get_mut(index.min(127)) {
            *b += 1;
        }
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The upper edge of the bucket holding quantile `q`, in milliseconds.
    fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank.max(1) {
                let edge_us = 2f64.powf((i as f64 + 1.0) / 4.0);
                return (edge_us / 1000.0).min(self.max_ms());
            }
        }
        self.max_ms()
    }

    fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

/// Locks `m`, ignoring poisoning (the data are counters).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::LatencyHistogram;
    use std::time::Duration;

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = LatencyHistogram::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.quantile(0.5);
        let p99 = h.quantile(0.99);
        assert!((50.0..=62.0).contains(&p50), "p50 {p50}");
        assert!((99.0..=100.0).contains(&p99), "p99 {p99}");
        assert_eq!(h.max_ms(), 100.0);
        assert_eq!(LatencyHistogram::default().quantile(0.99), 0.0);
    }
}
