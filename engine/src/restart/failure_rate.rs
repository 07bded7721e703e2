//! Flink's `FailureRateRestartBackoffTimeStrategy`: keeps the last `max + 1`
//! failure times; with `max + 1` recorded, `can_restart(now)` is
//! `now - oldest > interval` (strict, evaluated at call time).

use std::collections::VecDeque;

use rand::RngCore;

use super::{invalid, RestartBackoffTimeStrategy, RestartError};

/// Flink `FailureRateRestartBackoffTimeStrategy`: fails the job when
/// `max + 1` failures fall within a closed window of `interval_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRateRestartBackoffTimeStrategy {
    max_failures_per_interval: i32,
    failures_interval_ms: i64,
    backoff_time_ms: i64,
    failure_timestamps: VecDeque<i64>,
}

impl FailureRateRestartBackoffTimeStrategy {
    /// Requires `max_failures_per_interval > 0`, `interval_ms > 0`,
    /// `backoff_ms >= 0`.
    pub fn new(max_failures_per_interval: i32, interval_ms: i64, backoff_ms: i64) -> Result<Self, RestartError> {
        if max_failures_per_interval <= 0 {
            return Err(invalid(
                "maxFailuresPerInterval",
                max_failures_per_interval,
                "Maximum number of restart attempts per time unit must be greater than 0.",
            ));
        }
        if interval_ms <= 0 {
            return Err(invalid(
                "failuresIntervalMS",
                interval_ms,
                "Failures interval must be greater than 0 ms.",
            ));
        }
        if backoff_ms < 0 {
            return Err(invalid(
                "backoffTimeMS",
                backoff_ms,
                "Backoff time must be at least 0 ms.",
            ));
        }
        Ok(FailureRateRestartBackoffTimeStrategy {
            max_failures_per_interval,
            failures_interval_ms: interval_ms,
            backoff_time_ms: backoff_ms,
            failure_timestamps: VecDeque::new(),
        })
    }

    fn is_queue_full(&self) -> bool {
        let max = self.max_failures_per_interval;
        assert!(max > 0, "invariant: max failures per interval {max}");
        // `max_failures_per_interval > 0`, so the cast is lossless.
        let len = self.failure_timestamps.len();
        assert!(len <= max as usize + 1, "invariant: {len} failures kept for max {max}");
        len > max as usize
    }
}

impl RestartBackoffTimeStrategy for FailureRateRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        if self.is_queue_full() {
            self.failure_timestamps.pop_front();
        }
        // Failures arrive in time order, so the window stays sorted.
        let last = self.failure_timestamps.back().copied().unwrap_or(now_ms);
        assert!(last <= now_ms, "invariant: failure at {now_ms} before {last}");
        self.failure_timestamps.push_back(now_ms);
        true
    }

    fn can_restart(&self, now_ms: i64) -> bool {
        let can = if self.is_queue_full() {
            match self.failure_timestamps.front() {
                Some(&earliest) => now_ms.wrapping_sub(earliest) > self.failures_interval_ms,
                None => true,
            }
        } else {
            true
        };
        // Counted over the whole (sorted) window: at most `max` failures
        // lie within the interval before now exactly when a restart may go.
        let (max, interval) = (self.max_failures_per_interval as usize, self.failures_interval_ms);
        let recent = self
            .failure_timestamps
            .iter()
            .filter(|&&t| now_ms.wrapping_sub(t) <= interval)
            .count();
        assert_eq!(can, recent <= max, "invariant: {recent} recent failures, max {max}");
        can
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        let backoff = self.backoff_time_ms;
        assert!(backoff >= 0, "invariant: negative back-off {backoff}");
        Ok(backoff)
    }

    /// Flink's string, including its doubled class-name prefix and single
    /// closing parenthesis.
    fn describe(&self) -> String {
        format!(
            "FailureRateRestartBackoffTimeStrategy(FailureRateRestartBackoffTimeStrategy(\
             failuresIntervalMS={},backoffTimeMS={},maxFailuresPerInterval={})",
            self.failures_interval_ms, self.backoff_time_ms, self.max_failures_per_interval
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::test_support::{ops, rng};
    use proptest::prelude::*;

    // =====================================================================
    // Ported from Flink's FailureRateRestartBackoffTimeStrategyTest
    // =====================================================================

    #[test]
    fn failure_rate_many_failures_within_rate() {
        let mut r = rng();
        let num_failures = 3;
        let interval_ms = 1;
        let mut clock = 0_i64;
        let mut s = FailureRateRestartBackoffTimeStrategy::new(1, interval_ms, 0).unwrap();
        for _ in 0..num_failures {
            assert!(s.notify_failure(clock, &mut r));
            assert!(s.can_restart(clock));
            clock += interval_ms + 1;
        }
        assert!(s.can_restart(clock));
    }

    #[test]
    fn failure_rate_failures_exceeding_rate() {
        let mut r = rng();
        let num_failures = 3;
        let mut s = FailureRateRestartBackoffTimeStrategy::new(num_failures, 10_000, 0).unwrap();
        for _ in 0..num_failures {
            s.notify_failure(0, &mut r);
            assert!(s.can_restart(0));
        }
        s.notify_failure(0, &mut r);
        assert!(!s.can_restart(0));
    }

    #[test]
    fn failure_rate_backoff_time() {
        let s = FailureRateRestartBackoffTimeStrategy::new(1, 1, 10_000).unwrap();
        assert_eq!(s.backoff_time_ms(0), Ok(10_000));
    }

    // =====================================================================
    // Worked examples of the semantics document
    // =====================================================================

    #[test]
    fn doc_failure_rate_example() {
        let mut r = rng();
        let mut s = FailureRateRestartBackoffTimeStrategy::new(3, 60_000, 0).unwrap();
        for t in [0, 10_000, 20_000] {
            s.notify_failure(t, &mut r);
            assert!(s.can_restart(t));
        }
        s.notify_failure(60_000, &mut r);
        assert!(!s.can_restart(60_000));
        assert!(s.can_restart(60_001));
    }

    // =====================================================================
    // Property tests against a small independent reference model
    // =====================================================================

    /// Reference for failure rate: the full failure history; the job fails
    /// when the (max+1)-th most recent failure is within `interval` of now.
    #[derive(Debug)]
    struct RateModel {
        max: usize,
        interval: i64,
        history: Vec<i64>,
    }

    impl RateModel {
        fn can_restart(&self, now: i64) -> bool {
            if self.history.len() <= self.max {
                return true;
            }
            let t = self.history[self.history.len() - self.max - 1];
            now - t > self.interval
        }
    }

    proptest! {
        #[test]
        fn failure_rate_matches_model(
            max in 1_i32..6,
            interval in 1_i64..300,
            backoff in 0_i64..1000,
            start in 0_i64..1_000_000,
            ops in ops(),
        ) {
            let mut r = rng();
            let mut s = FailureRateRestartBackoffTimeStrategy::new(max, interval, backoff).unwrap();
            let mut m = RateModel { max: max as usize, interval, history: Vec::new() };
            let mut now = start;
            for (dt, fail) in ops {
                now += dt;
                if fail {
                    prop_assert!(s.notify_failure(now, &mut r));
                    m.history.push(now);
                }
                prop_assert_eq!(s.can_restart(now), m.can_restart(now));
                // can_restart is evaluated at call time.
                prop_assert_eq!(s.can_restart(now + interval), m.can_restart(now + interval));
                prop_assert_eq!(s.backoff_time_ms(now), Ok(backoff));
            }
        }
    }
}
