//! Flink's `FixedDelayRestartBackoffTimeStrategy`: `attempts = N` allows N
//! restarts, each after a constant delay; failure N+1 fails the job. Time has
//! no effect.

use rand::RngCore;

use super::{invalid, RestartBackoffTimeStrategy, RestartError};

/// Flink `FixedDelayRestartBackoffTimeStrategy`: `max_attempts` restarts, each
/// after `backoff_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedDelayRestartBackoffTimeStrategy {
    max_number_restart_attempts: i32,
    backoff_time_ms: i64,
    current_restart_attempt: i32,
}

impl FixedDelayRestartBackoffTimeStrategy {
    /// Requires `max_attempts >= 0` and `backoff_ms >= 0`.
    pub fn new(max_attempts: i32, backoff_ms: i64) -> Result<Self, RestartError> {
        if max_attempts < 0 {
            return Err(invalid(
                "maxNumberRestartAttempts",
                max_attempts,
                "Maximum number of restart attempts must be at least 0.",
            ));
        }
        if backoff_ms < 0 {
            return Err(invalid(
                "backoffTimeMS",
                backoff_ms,
                "Backoff time between restart attempts must be at least 0 ms.",
            ));
        }
        Ok(FixedDelayRestartBackoffTimeStrategy {
            max_number_restart_attempts: max_attempts,
            backoff_time_ms: backoff_ms,
            current_restart_attempt: 0,
        })
    }

    /// Number of failures notified so far.
    pub fn current_restart_attempt(&self) -> i32 {
        self.current_restart_attempt
    }
}

impl RestartBackoffTimeStrategy for FixedDelayRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, _now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        self.current_restart_attempt = self.current_restart_attempt.wrapping_add(1);
        assert!(self.current_restart_attempt > 0, "invariant: attempt counter overflow");
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        let (attempt, max) = (self.current_restart_attempt, self.max_number_restart_attempts);
        assert!(attempt >= 0 && max >= 0, "invariant: attempt {attempt}, max {max}");
        attempt <= max
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        let backoff = self.backoff_time_ms;
        assert!(backoff >= 0, "invariant: negative back-off {backoff}");
        Ok(backoff)
    }

    fn describe(&self) -> String {
        format!(
            "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts={}, backoffTimeMS={})",
            self.max_number_restart_attempts, self.backoff_time_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::test_support::{ops, rng};
    use proptest::prelude::*;

    // =====================================================================
    // Ported from Flink's FixedDelayRestartBackoffTimeStrategyTest
    // =====================================================================

    #[test]
    fn fixed_delay_number_of_restarts() {
        let mut r = rng();
        let number_of_restarts = 3;
        let mut s = FixedDelayRestartBackoffTimeStrategy::new(number_of_restarts, 0).unwrap();
        for _ in 0..number_of_restarts {
            assert!(s.notify_failure(0, &mut r));
            // Two calls: can_restart must not maintain the counter.
            assert!(s.can_restart(0));
            assert!(s.can_restart(0));
        }
        assert!(s.notify_failure(0, &mut r));
        assert!(!s.can_restart(0));
    }

    #[test]
    fn fixed_delay_backoff_time() {
        let s = FixedDelayRestartBackoffTimeStrategy::new(1, 10_000).unwrap();
        assert_eq!(s.backoff_time_ms(0), Ok(10_000));
    }

    // =====================================================================
    // Worked examples of the semantics document
    // =====================================================================

    #[test]
    fn doc_fixed_delay_attempts() {
        let mut r = rng();
        let mut zero = FixedDelayRestartBackoffTimeStrategy::new(0, 5).unwrap();
        assert!(zero.can_restart(0));
        zero.notify_failure(0, &mut r);
        assert!(!zero.can_restart(0));
        let mut two = FixedDelayRestartBackoffTimeStrategy::new(2, 5).unwrap();
        for _ in 0..2 {
            two.notify_failure(0, &mut r);
            assert!(two.can_restart(1_000_000));
        }
        two.notify_failure(0, &mut r);
        assert!(!two.can_restart(0));
        assert_eq!(two.current_restart_attempt(), 3);
    }

    // =====================================================================
    // Property tests against a small independent reference model
    // =====================================================================

    /// Reference for fixed delay: a plain failure counter.
    #[derive(Debug)]
    struct FixedModel {
        max: i64,
        failures: i64,
    }

    proptest! {
        #[test]
        fn fixed_delay_matches_model(max in 0_i32..10, backoff in 0_i64..10_000, ops in ops()) {
            let mut r = rng();
            let mut s = FixedDelayRestartBackoffTimeStrategy::new(max, backoff).unwrap();
            let mut m = FixedModel { max: i64::from(max), failures: 0 };
            let mut now = 0_i64;
            for (dt, fail) in ops {
                now += dt;
                if fail {
                    prop_assert!(s.notify_failure(now, &mut r));
                    m.failures += 1;
                }
                prop_assert_eq!(s.can_restart(now), m.failures <= m.max);
                prop_assert_eq!(s.backoff_time_ms(now), Ok(backoff));
            }
        }
    }
}
