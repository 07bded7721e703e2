//! Kubernetes-style `CrashLoopBackOff` (a halab strategy, not Flink's):
//! exponential back-off per restart, reset after a healthy period, never gives
//! up. Presets for the classic kubelet defaults and Kubernetes v1.33.

use rand::RngCore;

use super::{invalid, java_double, RestartBackoffTimeStrategy, RestartError};

/// Kubernetes-style `CrashLoopBackOff` (not a Flink strategy).
///
/// * The first restart waits `initial`; each further restart waits the
///   previous back-off times `factor`, capped at `max`.
/// * The back-off goes back to `initial` when the job has run healthy for
///   `reset_after`, i.e. when the time from the previously scheduled restart
///   to this failure is `>= reset_after`.
/// * Never gives up: `can_restart` is always true.
/// * Like Flink's exponential delay, a failure arriving while a restart is
///   already scheduled (`now <= next`) is merged into it (returns false, no
///   state change): the back-off grows per restart, not per failure.
/// * `backoff_time_ms(now) = max(0, next - now)`;
///   [`RestartError::NoFailureYet`] before the first failure.
#[derive(Debug, Clone, PartialEq)]
pub struct CrashLoopBackOff {
    // `pub(super)`: the loader reads a preset's values as the defaults.
    pub(super) initial_backoff_ms: i64,
    pub(super) factor: f64,
    pub(super) max_backoff_ms: i64,
    pub(super) reset_after_ms: i64,
    current_backoff_ms: i64,
    next_restart_timestamp: Option<i64>,
}

impl CrashLoopBackOff {
    /// Requires `0 <= initial <= max`, finite `factor >= 1`,
    /// `reset_after >= 1`.
    pub fn new(
        initial_backoff_ms: i64,
        factor: f64,
        max_backoff_ms: i64,
        reset_after_ms: i64,
    ) -> Result<Self, RestartError> {
        if initial_backoff_ms < 0 {
            return Err(invalid(
                "initialBackoffMS",
                initial_backoff_ms,
                "Initial backoff must be at least 0 ms.",
            ));
        }
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(invalid(
                "multiplier",
                java_double(factor),
                "Backoff multiplier must be a finite number of at least 1.",
            ));
        }
        if max_backoff_ms < initial_backoff_ms {
            return Err(RestartError::InvalidArgument {
                param: "maxBackoffMS",
                value: max_backoff_ms.to_string(),
                message: "Maximum backoff cannot be lower than initial backoff.",
                related: Some("initialBackoffMS"),
            });
        }
        if reset_after_ms < 1 {
            return Err(invalid(
                "resetAfterMS",
                reset_after_ms,
                "Reset threshold must be at least 1 ms.",
            ));
        }
        Ok(CrashLoopBackOff {
            initial_backoff_ms,
            factor,
            max_backoff_ms,
            reset_after_ms,
            current_backoff_ms: initial_backoff_ms,
            next_restart_timestamp: None,
        })
    }

    fn preset(initial_backoff_ms: i64, max_backoff_ms: i64) -> Self {
        CrashLoopBackOff {
            initial_backoff_ms,
            factor: 2.0,
            max_backoff_ms,
            reset_after_ms: 600_000,
            current_backoff_ms: initial_backoff_ms,
            next_restart_timestamp: None,
        }
    }

    /// The long-standing kubelet defaults: 10 s initial, x2, capped at 5 min,
    /// reset after 10 min of healthy running.
    pub fn classic() -> Self {
        CrashLoopBackOff::preset(10_000, 300_000)
    }

    /// Kubernetes v1.33 with the alpha feature gate
    /// `ReduceDefaultCrashLoopBackOffDecay` (KEP-4603) enabled: 1 s initial,
    /// x2, capped at 60 s. Assumption: the 10 min reset is unchanged by that
    /// gate (the KEP only lowers the initial and maximum delays).
    pub fn v1_33() -> Self {
        CrashLoopBackOff::preset(1_000, 60_000)
    }

    /// The back-off chosen for the current (latest) restart.
    pub fn current_backoff_ms(&self) -> i64 {
        self.current_backoff_ms
    }
}

impl RestartBackoffTimeStrategy for CrashLoopBackOff {
    fn notify_failure(&mut self, now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        let previous = self.current_backoff_ms;
        self.current_backoff_ms = match self.next_restart_timestamp {
            Some(next) if now_ms <= next => return false,
            Some(next) if now_ms.saturating_sub(next) < self.reset_after_ms => {
                let grown = (self.current_backoff_ms as f64 * self.factor) as i64;
                let grown = grown.min(self.max_backoff_ms);
                // `factor >= 1`: the back-off never shrinks until a reset.
                assert!(grown >= previous, "invariant: back-off {previous} shrank to {grown}");
                grown
            }
            _ => self.initial_backoff_ms,
        };
        let (range, backoff) = (self.initial_backoff_ms..=self.max_backoff_ms, self.current_backoff_ms);
        assert!(range.contains(&backoff), "invariant: back-off {backoff} past {range:?}");
        self.next_restart_timestamp = Some(now_ms.saturating_add(backoff));
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        true
    }

    fn backoff_time_ms(&self, now_ms: i64) -> Result<i64, RestartError> {
        let backoff = self
            .next_restart_timestamp
            .map(|next| 0.max(next.saturating_sub(now_ms)))
            .ok_or(RestartError::NoFailureYet)?;
        // The restart was scheduled `current` after a failure no later than now.
        let current = self.current_backoff_ms;
        assert!(backoff <= current, "invariant: back-off {backoff} above {current}");
        Ok(backoff)
    }

    fn describe(&self) -> String {
        format!(
            "CrashLoopBackOff(initialBackoffMS={}, multiplier={}, maxBackoffMS={}, \
             resetAfterMS={}, currentBackoffMS={}, nextRestartTimestamp={})",
            self.initial_backoff_ms,
            java_double(self.factor),
            self.max_backoff_ms,
            self.reset_after_ms,
            self.current_backoff_ms,
            self.next_restart_timestamp
                .map_or_else(|| "none".to_owned(), |t| t.to_string())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::test_support::rng;

    #[test]
    fn crash_loop_classic_sequence_and_reset() {
        let mut r = rng();
        let mut s = CrashLoopBackOff::classic();
        assert_eq!(s.backoff_time_ms(0), Err(RestartError::NoFailureYet));
        let mut now = 0_i64;
        for want in [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000] {
            assert!(s.notify_failure(now, &mut r));
            assert!(s.can_restart(now));
            assert_eq!(s.backoff_time_ms(now), Ok(want));
            // A failure while the restart is pending is merged.
            assert!(!s.notify_failure(now + want, &mut r));
            assert_eq!(s.backoff_time_ms(now + want), Ok(0));
            // Ran healthy for just under 10 min after the restart.
            now += want + 599_999;
        }
        // Healthy for exactly 10 min after the scheduled restart: reset.
        now += 1;
        let next = now - 600_000;
        assert_eq!(s.backoff_time_ms(next), Ok(0));
        assert!(s.notify_failure(now, &mut r));
        assert_eq!(s.backoff_time_ms(now), Ok(10_000));
        assert!(s.describe().starts_with("CrashLoopBackOff(initialBackoffMS=10000"));
    }

    #[test]
    fn crash_loop_v1_33_sequence() {
        let mut r = rng();
        let mut s = CrashLoopBackOff::v1_33();
        let mut now = 0_i64;
        for want in [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000] {
            assert!(s.notify_failure(now, &mut r));
            assert_eq!(s.backoff_time_ms(now), Ok(want));
            assert_eq!(s.current_backoff_ms(), want);
            now += want + 1;
        }
        assert!(s.can_restart(i64::MAX));
    }

    #[test]
    fn crash_loop_validation() {
        assert!(CrashLoopBackOff::new(-1, 2.0, 10, 1).is_err());
        assert!(CrashLoopBackOff::new(1, 0.5, 10, 1).is_err());
        assert!(CrashLoopBackOff::new(1, f64::INFINITY, 10, 1).is_err());
        assert!(CrashLoopBackOff::new(11, 2.0, 10, 1).is_err());
        assert!(CrashLoopBackOff::new(1, 2.0, 10, 0).is_err());
        assert!(CrashLoopBackOff::new(0, 1.0, 0, 1).is_ok());
    }

    /// Reference model of Kubernetes' CrashLoopBackOff: the k-th restart
    /// since the last reset waits `min(initial * factor^k, max)`; a failure at
    /// or before the scheduled restart joins it; a failure `reset-after` past
    /// the scheduled restart starts again from `initial`.
    struct Model {
        initial: i64,
        factor: i64,
        max: i64,
        reset: i64,
        k: u32,
        next: Option<i64>,
    }

    impl Model {
        fn failure(&mut self, t: i64) -> bool {
            match self.next {
                Some(n) if t <= n => return false,
                Some(n) if t - n < self.reset => self.k += 1,
                _ => self.k = 0,
            }
            let backoff = (0..self.k).fold(self.initial, |b, _| (b * self.factor).min(self.max));
            self.next = Some(t + backoff);
            true
        }
    }

    proptest::proptest! {
        #[test]
        fn crash_loop_matches_the_reference_model(
            initial in 1i64..5_000,
            factor in 2i64..4,
            cap in 1i64..40,
            reset in 1i64..100_000,
            gaps in proptest::collection::vec(0i64..60_000, 1..40),
        ) {
            let max = initial * cap;
            let mut s = CrashLoopBackOff::new(initial, factor as f64, max, reset).expect("valid");
            let mut m = Model { initial, factor, max, reset, k: 0, next: None };
            let mut r = rng();
            let mut t = 0i64;
            for g in gaps {
                t += g;
                proptest::prop_assert_eq!(s.notify_failure(t, &mut r), m.failure(t), "at {}", t);
                proptest::prop_assert!(s.can_restart(t), "CrashLoopBackOff never gives up");
                let want = m.next.map(|n| (n - t).max(0)).expect("a failure happened");
                proptest::prop_assert_eq!(s.backoff_time_ms(t), Ok(want), "at {}", t);
            }
        }
    }
}
