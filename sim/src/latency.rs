//! End-to-end latency: from a record's arrival in the source log (its
//! timestamp) to the commit of the transaction that holds it, for every
//! committed record. A count per millisecond of latency, so quantiles are
//! exact to the millisecond at a counter increment per record, plus the
//! mean and maximum of the records committed since the harness last asked
//! (one 100 ms bucket of the run's series).

use serde::{Deserialize, Serialize};

/// p50, p99 and max over a run, in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub records: u64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

#[derive(Clone, Debug, Default)]
pub struct LatencyHistogram {
    /// Records committed with each latency (index: ms).
    per_ms: Vec<u64>,
    total: u64,
    window_sum_ms: u64,
    window_count: u64,
    window_max_ms: u64,
}

impl LatencyHistogram {
    /// A record committed `latency_ms` after it arrived.
    pub fn record(&mut self, latency_ms: u64) {
        let i = latency_ms as usize;
        if i >= self.per_ms.len() {
            self.per_ms.resize(i + 1, 0);
        }
        self.per_ms[i] += 1;
        self.total += 1;
        self.window_sum_ms += latency_ms;
        self.window_count += 1;
        self.window_max_ms = self.window_max_ms.max(latency_ms);
    }

    /// Mean and max (ms) of the records committed since the last call.
    pub fn take_window(&mut self) -> (u64, u64) {
        let mean = self.window_sum_ms.checked_div(self.window_count).unwrap_or(0);
        let max = self.window_max_ms;
        (self.window_sum_ms, self.window_count, self.window_max_ms) = (0, 0, 0);
        (mean, max)
    }

    /// The smallest latency at or below which a fraction `q` of the records lie.
    fn quantile(&self, q: f64) -> u64 {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (ms, n) in self.per_ms.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return ms as u64;
            }
        }
        0
    }

    pub fn summary(&self) -> LatencySummary {
        if self.total == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            records: self.total,
            p50_ms: self.quantile(0.5),
            p99_ms: self.quantile(0.99),
            max_ms: self.per_ms.len() as u64 - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_exact_to_the_millisecond() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.summary(), LatencySummary::default());
        for ms in 1..=100 {
            h.record(ms);
        }
        let s = h.summary();
        assert_eq!((s.records, s.p50_ms, s.p99_ms, s.max_ms), (100, 50, 99, 100));
        assert_eq!(h.take_window(), (50, 100), "mean of 1..=100 rounds down to 50");
        assert_eq!(h.take_window(), (0, 0), "a window starts empty");
        h.record(7);
        assert_eq!(h.take_window(), (7, 7));
        assert_eq!(h.summary().records, 101);
    }
}
