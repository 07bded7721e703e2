//! Erlang/OTP supervisor restart intensity (a halab strategy, not Flink's):
//! gives up after more than `intensity` restarts within `period`.

use std::collections::VecDeque;

use rand::RngCore;

use super::{invalid, RestartBackoffTimeStrategy, RestartError};

/// Erlang/OTP supervisor restart intensity (not a Flink strategy).
///
/// Window counting follows OTP's `supervisor:add_restart/1`: on each failure
/// the restart time `now` is added to the list of earlier restarts, and
/// earlier restarts `t` are kept only while `t >= now - period` (so the window
/// `[now - period, now]` is closed at both ends). If the list then holds more
/// than `intensity` restarts, the supervisor gives up: `can_restart` is false
/// from then on (the decision is taken at the failure, as OTP terminates the
/// supervisor right there). OTP counts in whole seconds; here everything is
/// in milliseconds.
///
/// Every failure is a new restart (`notify_failure` always returns true);
/// the back-off is the constant `delay` (0 in OTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorIntensity {
    intensity: u32,
    period_ms: i64,
    delay_ms: i64,
    restarts: VecDeque<i64>,
    gave_up: bool,
}

impl SupervisorIntensity {
    /// Requires `period_ms >= 1` and `delay_ms >= 0`. `intensity = 0` gives
    /// up on the first failure.
    pub fn new(intensity: u32, period_ms: i64, delay_ms: i64) -> Result<Self, RestartError> {
        if period_ms < 1 {
            return Err(invalid(
                "periodMS",
                period_ms,
                "Intensity period must be at least 1 ms.",
            ));
        }
        if delay_ms < 0 {
            return Err(invalid("delayMS", delay_ms, "Restart delay must be at least 0 ms."));
        }
        Ok(SupervisorIntensity {
            intensity,
            period_ms,
            delay_ms,
            restarts: VecDeque::new(),
            gave_up: false,
        })
    }

    /// OTP's defaults: intensity 1, period 5 s, no delay.
    pub fn otp_default() -> Self {
        SupervisorIntensity {
            intensity: 1,
            period_ms: 5_000,
            delay_ms: 0,
            restarts: VecDeque::new(),
            gave_up: false,
        }
    }

    /// Restarts inside the window as of the latest failure.
    pub fn restarts_in_period(&self) -> usize {
        self.restarts.len()
    }
}

impl RestartBackoffTimeStrategy for SupervisorIntensity {
    fn notify_failure(&mut self, now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        let threshold = now_ms.saturating_sub(self.period_ms);
        while self.restarts.front().is_some_and(|&t| t < threshold) {
            self.restarts.pop_front();
        }
        // Failures arrive in time order, so the kept restarts stay sorted.
        let last = self.restarts.back().copied().unwrap_or(now_ms);
        assert!(last <= now_ms, "invariant: failure at {now_ms} before {last}");
        self.restarts.push_back(now_ms);
        if let Some(&oldest) = self.restarts.front() {
            let period = self.period_ms;
            assert!(now_ms - oldest <= period, "invariant: {oldest} kept at {now_ms}");
        }
        if self.restarts.len() as u64 > u64::from(self.intensity) {
            self.gave_up = true;
        }
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        let (kept, intensity) = (self.restarts.len(), self.intensity);
        // It gives up only at a failure, which it keeps.
        assert!(!self.gave_up || kept > 0, "invariant: gave up with no restart kept");
        let within = kept as u64 <= u64::from(intensity);
        assert!(self.gave_up || within, "invariant: {kept} restarts over {intensity}");
        !self.gave_up
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        let delay = self.delay_ms;
        assert!(delay >= 0, "invariant: negative restart delay {delay}");
        Ok(delay)
    }

    fn describe(&self) -> String {
        format!(
            "SupervisorIntensity(intensity={}, periodMS={}, delayMS={}, restartsInPeriod={})",
            self.intensity,
            self.period_ms,
            self.delay_ms,
            self.restarts.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::test_support::rng;

    #[test]
    fn supervisor_window_is_closed() {
        let mut r = rng();
        // OTP default: intensity 1, period 5 s.
        let mut s = SupervisorIntensity::otp_default();
        assert!(s.can_restart(0));
        assert!(s.notify_failure(0, &mut r));
        assert!(s.can_restart(0));
        assert_eq!(s.backoff_time_ms(0), Ok(0));
        assert!(s.notify_failure(5_001, &mut r)); // 0 is outside [1, 5001]
        assert!(s.can_restart(5_001));
        assert_eq!(s.restarts_in_period(), 1);
        assert!(s.notify_failure(10_001, &mut r)); // 5001 is inside [5001, 10001]
        assert!(!s.can_restart(10_001));
        assert!(!s.can_restart(1_000_000), "giving up is final");
        assert_eq!(
            s.describe(),
            "SupervisorIntensity(intensity=1, periodMS=5000, delayMS=0, restartsInPeriod=2)"
        );
    }

    #[test]
    fn supervisor_intensity_counts() {
        let mut r = rng();
        let mut s = SupervisorIntensity::new(3, 1_000, 250).unwrap();
        for t in [0, 100, 200] {
            s.notify_failure(t, &mut r);
            assert!(s.can_restart(t));
            assert_eq!(s.backoff_time_ms(t), Ok(250));
        }
        s.notify_failure(1_000, &mut r); // 4 restarts in [0, 1000]
        assert!(!s.can_restart(1_000));

        let mut zero = SupervisorIntensity::new(0, 1_000, 0).unwrap();
        zero.notify_failure(0, &mut r);
        assert!(!zero.can_restart(0));

        assert!(SupervisorIntensity::new(1, 0, 0).is_err());
        assert!(SupervisorIntensity::new(1, 1, -1).is_err());
    }

    proptest::proptest! {
        /// Against a reference model of OTP's restart intensity: keep the
        /// restart times within the closed window `[now - period, now]`; more
        /// than `intensity` of them and the supervisor gives up for good.
        #[test]
        fn supervisor_matches_the_reference_model(
            intensity in 0u32..6,
            period in 1i64..20_000,
            delay in 0i64..2_000,
            gaps in proptest::collection::vec(0i64..10_000, 1..40),
        ) {
            let mut s = SupervisorIntensity::new(intensity, period, delay).expect("valid");
            let mut restarts: Vec<i64> = Vec::new();
            let mut gave_up = false;
            let mut r = rng();
            let mut t = 0i64;
            for g in gaps {
                t += g;
                restarts.push(t);
                restarts.retain(|x| *x >= t - period);
                gave_up |= restarts.len() > intensity as usize;
                proptest::prop_assert!(s.notify_failure(t, &mut r), "every failure is a new restart");
                proptest::prop_assert_eq!(s.can_restart(t), !gave_up, "at {}", t);
                proptest::prop_assert_eq!(s.backoff_time_ms(t), Ok(delay));
            }
        }
    }
}
