//! Flink 1.19+ `ExponentialDelayRestartBackoffTimeStrategy`, with merging of
//! failures that arrive while a restart is scheduled (`now <= next`), reset
//! measured from the scheduled restart time, an attempts cap, and Flink's
//! jitter/clamp including the documented quirk (see the type's docs), plus
//! Flink 1.20's defaults.

use rand::{Rng, RngCore};

use super::{invalid, java_double, RestartBackoffTimeStrategy, RestartError};

/// Flink 1.20 default initial back-off (1 s).
pub const DEFAULT_EXPONENTIAL_INITIAL_BACKOFF_MS: i64 = 1_000;
/// Flink 1.20 default maximum back-off (1 min).
pub const DEFAULT_EXPONENTIAL_MAX_BACKOFF_MS: i64 = 60_000;
/// Flink 1.20 default multiplier.
pub const DEFAULT_EXPONENTIAL_BACKOFF_MULTIPLIER: f64 = 1.5;
/// Flink 1.20 default reset threshold (1 h).
pub const DEFAULT_EXPONENTIAL_RESET_BACKOFF_THRESHOLD_MS: i64 = 3_600_000;
/// Flink 1.20 default jitter factor.
pub const DEFAULT_EXPONENTIAL_JITTER_FACTOR: f64 = 0.1;
/// Flink 1.20 default attempts before reset (`Integer.MAX_VALUE`).
pub const DEFAULT_EXPONENTIAL_ATTEMPTS_BEFORE_RESET: i32 = i32::MAX;

/// Flink's "no failure yet" sentinel for `nextRestartTimestamp`.
const NO_NEXT_RESTART_TIMESTAMP: i64 = i32::MIN as i64;

/// Flink 1.19+ `ExponentialDelayRestartBackoffTimeStrategy`.
///
/// State: `current_restart_attempt` (0) and `next_restart_timestamp`
/// (`Integer.MIN_VALUE` as "no failure yet").
///
/// * `notify_failure(now)`: if `now <= next` the failure is merged (returns
///   false, no state change). Otherwise, if `now - next >= reset_threshold`
///   the attempt counter resets to 0 (quiet time is measured from the
///   *scheduled restart*); then `next = now + actual_backoff(attempt)`,
///   `attempt += 1`, returns true.
/// * `actual_backoff(a) = max(initial, min(base + jitter, max))` with
///   `base = (long)(initial * pow(multiplier, a))` (saturating cast),
///   `jitter` uniform in `[-offset, offset]` inclusive,
///   `offset = (long)(base * jitter_factor)`, and a wrapping `long` addition.
/// * `can_restart`: `attempt <= attempts_before_reset_backoff`.
/// * `backoff_time_ms(now)`: `max(0, next - now)`, shrinking as time passes;
///   [`RestartError::NoFailureYet`] before the first failure.
///
/// **Quirk (kept on purpose):** once `initial * multiplier^a` exceeds
/// `Long.MAX_VALUE` the base saturates, a positive jitter wraps the sum to a
/// negative number and the clamp returns `initial`; the back-off is then
/// `initial` or `max` at random.
///
/// **Known divergence:** with `jitter_factor == 1.0` and a saturated base,
/// Flink's `ThreadLocalRandom.nextLong(-offset, offset + 1)` overflows its
/// bound and throws; here the jitter is drawn from `[-MAX, MAX]` instead.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialDelayRestartBackoffTimeStrategy {
    initial_backoff_ms: i64,
    max_backoff_ms: i64,
    backoff_multiplier: f64,
    reset_backoff_threshold_ms: i64,
    jitter_factor: f64,
    attempts_before_reset_backoff: i32,
    current_restart_attempt: i32,
    next_restart_timestamp: i64,
}

impl ExponentialDelayRestartBackoffTimeStrategy {
    /// Validates like Flink: `initial >= 1`, `max >= 1`, `initial <= max`,
    /// `multiplier > 1`, `reset_threshold >= 1`, `0 <= jitter <= 1`,
    /// `attempts >= 1`.
    pub fn new(
        initial_backoff_ms: i64,
        max_backoff_ms: i64,
        backoff_multiplier: f64,
        reset_backoff_threshold_ms: i64,
        jitter_factor: f64,
        attempts_before_reset_backoff: i32,
    ) -> Result<Self, RestartError> {
        if initial_backoff_ms < 1 {
            return Err(invalid(
                "initialBackoffMS",
                initial_backoff_ms,
                "Initial backoff must be at least 1.",
            ));
        }
        if max_backoff_ms < 1 {
            return Err(invalid(
                "maxBackoffMS",
                max_backoff_ms,
                "Maximum backoff must be at least 1.",
            ));
        }
        if initial_backoff_ms > max_backoff_ms {
            return Err(RestartError::InvalidArgument {
                param: "initialBackoffMS",
                value: initial_backoff_ms.to_string(),
                message: "Initial backoff cannot be higher than maximum backoff.",
                related: Some("maxBackoffMS"),
            });
        }
        // NaN fails the check, as in Java.
        if backoff_multiplier.is_nan() || backoff_multiplier <= 1.0 {
            return Err(invalid(
                "backoffMultiplier",
                java_double(backoff_multiplier),
                "Backoff multiplier must be greater than 1.",
            ));
        }
        if reset_backoff_threshold_ms < 1 {
            return Err(invalid(
                "resetBackoffThresholdMS",
                reset_backoff_threshold_ms,
                "Threshold duration for exponential backoff reset must be at least 1.",
            ));
        }
        if !(0.0..=1.0).contains(&jitter_factor) {
            return Err(invalid(
                "jitterFactor",
                java_double(jitter_factor),
                "Jitter factor must be >= 0 and <= 1.",
            ));
        }
        if attempts_before_reset_backoff < 1 {
            return Err(invalid(
                "attemptsBeforeResetBackoff",
                attempts_before_reset_backoff,
                "The attemptsBeforeResetBackoff must be at least 1.",
            ));
        }
        Ok(ExponentialDelayRestartBackoffTimeStrategy {
            initial_backoff_ms,
            max_backoff_ms,
            backoff_multiplier,
            reset_backoff_threshold_ms,
            jitter_factor,
            attempts_before_reset_backoff,
            current_restart_attempt: 0,
            next_restart_timestamp: NO_NEXT_RESTART_TIMESTAMP,
        })
    }

    /// The strategy with Flink 1.20's defaults (1 s, 1 min, x1.5, 1 h, 0.1,
    /// unlimited attempts).
    pub fn with_defaults() -> Self {
        ExponentialDelayRestartBackoffTimeStrategy {
            initial_backoff_ms: DEFAULT_EXPONENTIAL_INITIAL_BACKOFF_MS,
            max_backoff_ms: DEFAULT_EXPONENTIAL_MAX_BACKOFF_MS,
            backoff_multiplier: DEFAULT_EXPONENTIAL_BACKOFF_MULTIPLIER,
            reset_backoff_threshold_ms: DEFAULT_EXPONENTIAL_RESET_BACKOFF_THRESHOLD_MS,
            jitter_factor: DEFAULT_EXPONENTIAL_JITTER_FACTOR,
            attempts_before_reset_backoff: DEFAULT_EXPONENTIAL_ATTEMPTS_BEFORE_RESET,
            current_restart_attempt: 0,
            next_restart_timestamp: NO_NEXT_RESTART_TIMESTAMP,
        }
    }

    /// Unmerged attempts since the last reset.
    pub fn current_restart_attempt(&self) -> i32 {
        self.current_restart_attempt
    }

    /// Scheduled restart time of the current attempt, `None` before the first
    /// failure.
    pub fn next_restart_timestamp(&self) -> Option<i64> {
        (self.next_restart_timestamp != NO_NEXT_RESTART_TIMESTAMP).then_some(self.next_restart_timestamp)
    }

    fn calculate_actual_backoff_ms(&self, rng: &mut dyn RngCore) -> i64 {
        let attempt = self.current_restart_attempt;
        assert!(attempt >= 0, "invariant: negative attempt {attempt}");
        // Java: (long) (initialBackoffMS * Math.pow(multiplier, attempt)).
        // Rust's `as` cast saturates and maps NaN to 0, like Java's.
        let base = (self.initial_backoff_ms as f64 * self.backoff_multiplier.powf(f64::from(attempt))) as i64;
        assert!(base >= 0, "invariant: negative base back-off {base}");
        let jitter = if self.jitter_factor == 0.0 {
            0
        } else {
            let offset = (base as f64 * self.jitter_factor) as i64;
            // The constructor keeps the factor within [0, 1].
            assert!((0..=base).contains(&offset), "invariant: jitter {offset} beyond {base}");
            rng.gen_range(-offset..=offset)
        };
        let (initial, max) = (self.initial_backoff_ms, self.max_backoff_ms);
        // The clamp below yields `initial` whenever `initial > max`.
        assert!(initial <= max, "invariant: initial back-off {initial} above {max}");
        initial.max(base.wrapping_add(jitter).min(max))
    }
}

impl RestartBackoffTimeStrategy for ExponentialDelayRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, now_ms: i64, rng: &mut dyn RngCore) -> bool {
        if now_ms <= self.next_restart_timestamp {
            // Merged into the scheduled attempt, or (Flink's quirk) a clock
            // at or below the "no failure yet" sentinel.
            let scheduled =
                self.next_restart_timestamp == NO_NEXT_RESTART_TIMESTAMP || self.current_restart_attempt >= 1;
            assert!(scheduled, "invariant: failure at {now_ms} merged into no attempt");
            return false;
        }
        if now_ms.wrapping_sub(self.next_restart_timestamp) >= self.reset_backoff_threshold_ms {
            self.current_restart_attempt = 0;
        }
        let backoff = self.calculate_actual_backoff_ms(rng);
        let range = self.initial_backoff_ms..=self.max_backoff_ms;
        assert!(range.contains(&backoff), "invariant: back-off {backoff} past {range:?}");
        self.next_restart_timestamp = now_ms.wrapping_add(backoff);
        self.current_restart_attempt = self.current_restart_attempt.wrapping_add(1);
        assert!(self.current_restart_attempt > 0, "invariant: attempt counter overflow");
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        let cap = self.attempts_before_reset_backoff;
        assert!(cap >= 1, "invariant: attempts before reset {cap}");
        self.current_restart_attempt <= cap
    }

    fn backoff_time_ms(&self, now_ms: i64) -> Result<i64, RestartError> {
        if self.next_restart_timestamp == NO_NEXT_RESTART_TIMESTAMP {
            return Err(RestartError::NoFailureYet);
        }
        // A scheduled restart is an attempt: the first failure counted one.
        let attempt = self.current_restart_attempt;
        assert!(attempt >= 1, "invariant: restart scheduled at attempt {attempt}");
        let backoff = 0.max(self.next_restart_timestamp.wrapping_sub(now_ms));
        // Scheduled at most `max` after a failure no later than now.
        assert!(backoff <= self.max_backoff_ms, "invariant: back-off {backoff} past max");
        Ok(backoff)
    }

    fn describe(&self) -> String {
        format!(
            "ExponentialDelayRestartBackoffTimeStrategy(initialBackoffMS={}, maxBackoffMS={}, \
             backoffMultiplier={}, resetBackoffThresholdMS={}, jitterFactor={}, \
             attemptsBeforeResetBackoff={}, currentRestartAttempt={}, nextRestartTimestamp={})",
            self.initial_backoff_ms,
            self.max_backoff_ms,
            java_double(self.backoff_multiplier),
            self.reset_backoff_threshold_ms,
            java_double(self.jitter_factor),
            self.attempts_before_reset_backoff,
            self.current_restart_attempt,
            self.next_restart_timestamp
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::test_support::{ops, rng};
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    fn exp(
        initial: i64,
        max: i64,
        multiplier: f64,
        reset: i64,
        jitter: f64,
        attempts: i32,
    ) -> ExponentialDelayRestartBackoffTimeStrategy {
        ExponentialDelayRestartBackoffTimeStrategy::new(initial, max, multiplier, reset, jitter, attempts).unwrap()
    }

    // =====================================================================
    // Ported from Flink's ExponentialDelayRestartBackoffTimeStrategyTest
    // (1.19+ version, with merging)
    // =====================================================================

    #[test]
    fn exponential_max_attempts() {
        let mut r = rng();
        let max_attempts = 13;
        let max_backoff_ms = 3;
        let mut clock = 0_i64;
        let mut s = exp(1, max_backoff_ms, 1.2, 10, 0.25, max_attempts);
        for _ in 0..=max_attempts {
            assert!(s.can_restart(clock));
            assert!(s.notify_failure(clock, &mut r));
            clock += max_backoff_ms + 1;
        }
        assert!(!s.can_restart(clock));
    }

    #[test]
    fn exponential_not_call_notify_failure() {
        let s = exp(42, 45, 2.0, 8, 0.0, 10);
        let err = s.backoff_time_ms(0).unwrap_err();
        assert_eq!(err, RestartError::NoFailureYet);
        assert_eq!(err.to_string(), "Please call notifyFailure first.");
    }

    #[test]
    fn exponential_initial_backoff() {
        let mut r = rng();
        let mut s = exp(42, 45, 2.0, 8, 0.0, i32::MAX);
        s.notify_failure(0, &mut r);
        assert_eq!(s.backoff_time_ms(0), Ok(42));
    }

    #[test]
    fn exponential_max_backoff() {
        let mut r = rng();
        let max_backoff_ms = 6;
        let mut s = exp(1, max_backoff_ms, 2.0, 8, 0.25, i32::MAX);
        for _ in 0..10 {
            s.notify_failure(0, &mut r);
            assert!(s.backoff_time_ms(0).unwrap() <= max_backoff_ms);
        }
    }

    #[test]
    fn exponential_reset_backoff() {
        let mut r = rng();
        let initial = 1;
        let reset = 8;
        let mut clock = 0_i64;
        let mut s = exp(initial, 5, 2.0, reset, 0.25, i32::MAX);

        assert!(s.notify_failure(clock, &mut r));

        clock += reset + s.backoff_time_ms(clock).unwrap() - 1;
        assert!(s.notify_failure(clock, &mut r));
        assert_eq!(s.backoff_time_ms(clock), Ok(2), "Backoff should be increased");

        clock += reset + s.backoff_time_ms(clock).unwrap();
        assert!(s.notify_failure(clock, &mut r));
        assert_eq!(s.backoff_time_ms(clock), Ok(initial), "Backoff should be reset");
    }

    #[test]
    fn exponential_backoff_multiplier() {
        let mut r = rng();
        let max_backoff_ms = 300;
        let mut clock = 0_i64;
        let mut s = exp(4, max_backoff_ms, 2.3, i64::from(i32::MAX), 0.0, 10);

        assert!(s.notify_failure(clock, &mut r));
        assert_eq!(s.backoff_time_ms(clock), Ok(4)); // 4
        clock += max_backoff_ms + 1;

        assert!(s.notify_failure(clock, &mut r));
        assert_eq!(s.backoff_time_ms(clock), Ok(9)); // 4 * 2.3
        clock += max_backoff_ms + 1;

        assert!(s.notify_failure(clock, &mut r));
        assert_eq!(s.backoff_time_ms(clock), Ok(21)); // 4 * 2.3 * 2.3
    }

    /// Flink's `assertCorrectRandomRangeWithFailureCount`: 1000 fresh
    /// strategies, each fed `failure_count` failures `advance` ms apart on a
    /// shared clock; the set of resulting back-offs must equal `expected`.
    fn assert_correct_random_range_with_failure_count(
        factory: impl Fn() -> ExponentialDelayRestartBackoffTimeStrategy,
        clock: &mut i64,
        r: &mut StdRng,
        advance: i64,
        failure_count: usize,
        expected: &[i64],
    ) {
        let mut generated = BTreeSet::new();
        for _ in 0..1000 {
            let mut s = factory();
            for _ in 0..failure_count {
                *clock += advance;
                assert!(s.notify_failure(*clock, r));
            }
            generated.insert(s.backoff_time_ms(*clock).unwrap());
        }
        let expected: BTreeSet<i64> = expected.iter().copied().collect();
        assert_eq!(generated, expected);
    }

    #[test]
    fn exponential_jitter() {
        let mut r = rng();
        let mut clock = 0_i64;
        let max_backoff_ms = 7;
        let factory = || exp(2, max_backoff_ms, 2.0, i64::from(i32::MAX), 0.25, i32::MAX);
        let adv = max_backoff_ms + 1;
        assert_correct_random_range_with_failure_count(factory, &mut clock, &mut r, adv, 2, &[3, 4, 5]);
        assert_correct_random_range_with_failure_count(factory, &mut clock, &mut r, adv, 3, &[6, 7]);
        assert_correct_random_range_with_failure_count(factory, &mut clock, &mut r, adv, 4, &[7]);
    }

    #[test]
    fn exponential_jitter_no_higher_than_max() {
        let mut r = rng();
        let mut clock = 0_i64;
        let max_backoff_ms = 7;
        let factory = || exp(1, max_backoff_ms, 2.0, i64::from(i32::MAX), 1.0, i32::MAX);
        let adv = max_backoff_ms + 1;
        assert_correct_random_range_with_failure_count(factory, &mut clock, &mut r, adv, 1, &[1, 2]);
        assert_correct_random_range_with_failure_count(factory, &mut clock, &mut r, adv, 2, &[1, 2, 3, 4]);
        assert_correct_random_range_with_failure_count(factory, &mut clock, &mut r, adv, 3, &[1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn exponential_multiple_settings() {
        let mut r = rng();
        let mut clock = 0_i64;
        let initial = 1;
        let max_backoff_ms = 9;
        let reset = 80;
        let mut s = exp(initial, max_backoff_ms, 2.0, reset, 0.25, i32::MAX);

        // ensure initial data
        assert!(s.notify_failure(clock, &mut r));
        assert!(s.can_restart(clock));
        assert_eq!(s.backoff_time_ms(clock), Ok(initial));

        // ensure backoff time is initial after the first failure
        clock += reset + 1;
        assert!(s.notify_failure(clock, &mut r));
        assert!(s.can_restart(clock));
        assert_eq!(s.backoff_time_ms(clock), Ok(initial));

        // ensure backoff increases until threshold is reached
        clock += 4;
        assert!(s.notify_failure(clock, &mut r));
        assert!(s.can_restart(clock));
        assert_eq!(s.backoff_time_ms(clock), Ok(2));

        // ensure backoff is reset after threshold is reached
        clock += reset + 9 + 1;
        assert!(s.notify_failure(clock, &mut r));
        assert!(s.can_restart(clock));
        assert_eq!(s.backoff_time_ms(clock), Ok(1));
        clock += max_backoff_ms + 1;

        // ensure backoff still increases
        assert!(s.notify_failure(clock, &mut r));
        assert!(s.can_restart(clock));
        assert_eq!(s.backoff_time_ms(clock), Ok(2));
    }

    /// Flink's `checkMultipleExceptionsAreMerged`.
    fn check_multiple_exceptions_are_merged(
        clock: &mut i64,
        r: &mut StdRng,
        expected_backoff_ms: i64,
        s: &mut ExponentialDelayRestartBackoffTimeStrategy,
    ) {
        let mut expected_new_attempt = true;
        for advance_ms in 0..expected_backoff_ms {
            for _ in 0..10 {
                assert_eq!(s.notify_failure(*clock, r), expected_new_attempt);
                // Only the first one is a new attempt.
                expected_new_attempt = false;
                assert!(s.can_restart(*clock));
                assert_eq!(s.backoff_time_ms(*clock), Ok(expected_backoff_ms - advance_ms));
            }
            *clock += 1;
        }
    }

    #[test]
    fn exponential_merge_multiple_exceptions_into_one_attempt() {
        let mut r = rng();
        let mut clock = 0_i64;
        let initial = 2;
        let multiplier = 2.0;
        let max_backoff_ms = 6;
        let mut s = exp(initial, max_backoff_ms, multiplier, 80, 0.0, 3);

        // All exceptions merged into one attempt if the time is the same.
        let mut current = initial;
        check_multiple_exceptions_are_merged(&mut clock, &mut r, current, &mut s);

        // After advancing time it's a new round.
        clock += 1;
        current = (current as f64 * multiplier) as i64;
        check_multiple_exceptions_are_merged(&mut clock, &mut r, current, &mut s);

        clock += 1;
        current = max_backoff_ms;
        check_multiple_exceptions_are_merged(&mut clock, &mut r, current, &mut s);

        // New round, and it reaches the max attempts.
        clock += 1;
        assert!(s.notify_failure(clock, &mut r));
        assert!(!s.can_restart(clock));
    }

    #[test]
    fn exponential_merging_exceptions_works_with_resetting() {
        let mut r = rng();
        let mut clock = 0_i64;
        let initial = 2;
        let multiplier = 2.0;
        let max_backoff_ms = 6;
        let reset = 80;
        let mut s = exp(initial, max_backoff_ms, multiplier, reset, 0.0, 3);

        for _ in 0..10 {
            let mut current = initial;
            check_multiple_exceptions_are_merged(&mut clock, &mut r, current, &mut s);

            clock += 1;
            current = (current as f64 * multiplier) as i64;
            check_multiple_exceptions_are_merged(&mut clock, &mut r, current, &mut s);

            clock += 1;
            current = max_backoff_ms;
            check_multiple_exceptions_are_merged(&mut clock, &mut r, current, &mut s);

            // After the reset threshold the strategy is reset.
            clock += reset;
        }
    }

    // =====================================================================
    // Worked examples of the semantics document
    // =====================================================================

    #[test]
    fn doc_exponential_default_sequence() {
        let mut r = rng();
        let mut s = exp(1_000, 60_000, 1.5, 3_600_000, 0.0, i32::MAX);
        let expected = [
            1000, 1500, 2250, 3375, 5062, 7593, 11390, 17085, 25628, 38443, 57665, 60000, 60000, 60000,
        ];
        let mut now = 0_i64;
        for want in expected {
            assert!(s.notify_failure(now, &mut r));
            assert_eq!(s.backoff_time_ms(now), Ok(want));
            // Backoff shrinks as the clock advances.
            assert_eq!(s.backoff_time_ms(now + 400), Ok(want - 400));
            assert_eq!(s.backoff_time_ms(now + want + 5), Ok(0));
            now += want + 1; // the next failure arrives after the restart
        }
    }

    #[test]
    fn doc_exponential_merge_boundary_and_reset_from_scheduled_time() {
        let mut r = rng();
        let mut s = exp(1_000, 60_000, 1.5, 10_000, 0.0, i32::MAX);
        assert!(s.notify_failure(0, &mut r)); // next = 1000
        assert!(!s.notify_failure(1_000, &mut r)); // now == next: merged
        assert_eq!(s.current_restart_attempt(), 1);
        assert!(s.notify_failure(1_001, &mut r)); // 1500, next = 2501
        assert_eq!(s.next_restart_timestamp(), Some(2_501));
        // 12_500 - 2_501 = 9_999 < 10_000: no reset, although the previous
        // *failure* was 11_499 ms ago.
        assert!(s.notify_failure(12_500, &mut r));
        assert_eq!(s.backoff_time_ms(12_500), Ok(2_250));
        // 24_751 - 14_750 = 10_001 >= 10_000: reset.
        assert!(s.notify_failure(24_751, &mut r));
        assert_eq!(s.backoff_time_ms(24_751), Ok(1_000));
    }

    #[test]
    fn exponential_saturation_quirk() {
        let mut r = rng();
        let mut s = exp(1_000, 60_000, 1.5, 3_600_000, 0.1, i32::MAX);
        let mut now = 0_i64;
        let mut late = BTreeSet::new();
        for a in 0..400 {
            assert!(s.notify_failure(now, &mut r));
            let b = s.backoff_time_ms(now).unwrap();
            if (11..=90).contains(&a) {
                assert_eq!(b, 60_000, "attempt {a}");
            } else if a >= 91 {
                assert!(b == 1_000 || b == 60_000, "attempt {a}: {b}");
                late.insert(b);
            }
            now += b + 1;
        }
        assert_eq!(late, BTreeSet::from([1_000, 60_000]));

        // Without jitter the saturated base simply clamps to max.
        let mut s = exp(1_000, 60_000, 1.5, 3_600_000, 0.0, i32::MAX);
        let mut now = 0_i64;
        for a in 0..200 {
            s.notify_failure(now, &mut r);
            let b = s.backoff_time_ms(now).unwrap();
            if a >= 11 {
                assert_eq!(b, 60_000);
            }
            now += b + 1;
        }
    }

    #[test]
    fn exponential_full_jitter_with_saturated_base_does_not_panic() {
        // Flink throws here (nextLong bound overflow); we draw from [-MAX, MAX].
        let mut r = rng();
        let mut s = exp(1_000, 60_000, 1.5, 3_600_000, 1.0, i32::MAX);
        let mut now = 0_i64;
        for _ in 0..200 {
            assert!(s.notify_failure(now, &mut r));
            let b = s.backoff_time_ms(now).unwrap();
            assert!((1_000..=60_000).contains(&b));
            now += b + 1;
        }
    }

    #[test]
    fn exponential_first_failure_before_sentinel_is_merged() {
        // Faithful to Flink: the sentinel is Integer.MIN_VALUE, so a clock at
        // or below it looks like "restart already scheduled".
        let mut r = rng();
        let mut s = exp(1, 2, 2.0, 1, 0.0, 1);
        assert!(!s.notify_failure(i64::from(i32::MIN), &mut r));
        assert!(s.notify_failure(-1, &mut r));
        assert_eq!(s.backoff_time_ms(-1), Ok(1));
    }

    // =====================================================================
    // Property tests against a small independent reference model
    // =====================================================================

    /// Reference for exponential delay, written from the semantics text with
    /// an `Option` instead of the sentinel and i128 for the Java addition.
    #[derive(Debug)]
    struct ExpModel {
        initial: i64,
        max: i64,
        multiplier: f64,
        reset: i64,
        jitter: f64,
        attempts: i64,
        attempt: i64,
        next: Option<i64>,
    }

    impl ExpModel {
        fn notify(&mut self, now: i64, r: &mut StdRng) -> bool {
            match self.next {
                Some(next) if now <= next => return false,
                Some(next) if now - next >= self.reset => self.attempt = 0,
                Some(_) => {}
                None => self.attempt = 0,
            }
            let raw = self.initial as f64 * self.multiplier.powf(self.attempt as f64);
            let base: i64 = if raw >= 9_223_372_036_854_775_807.0 {
                i64::MAX
            } else {
                raw.trunc() as i64
            };
            let jitter: i128 = if self.jitter == 0.0 {
                0
            } else {
                let offset = (base as f64 * self.jitter) as i64;
                i128::from(r.gen_range(-offset..=offset))
            };
            // Java long addition: wrap to 64 bits.
            let sum = (i128::from(base) + jitter) as i64;
            let backoff = sum.min(self.max).max(self.initial);
            self.next = Some(now + backoff);
            self.attempt += 1;
            true
        }

        fn backoff(&self, now: i64) -> Result<i64, RestartError> {
            self.next.map(|n| (n - now).max(0)).ok_or(RestartError::NoFailureYet)
        }
    }

    proptest! {
        #[test]
        fn exponential_matches_model(
            initial in 1_i64..50,
            extra in 0_i64..500,
            multiplier in 1.01_f64..3.0,
            reset in 1_i64..200,
            jitter in prop_oneof![Just(0.0_f64), 0.0_f64..=1.0, Just(1.0_f64)],
            attempts in 1_i32..20,
            seed in any::<u64>(),
            start in 0_i64..1_000_000,
            ops in ops(),
        ) {
            let max = initial + extra;
            let mut s = ExponentialDelayRestartBackoffTimeStrategy::new(
                initial, max, multiplier, reset, jitter, attempts,
            ).unwrap();
            let mut m = ExpModel {
                initial, max, multiplier, reset, jitter,
                attempts: i64::from(attempts), attempt: 0, next: None,
            };
            let mut r_impl = StdRng::seed_from_u64(seed);
            let mut r_model = StdRng::seed_from_u64(seed);
            let mut now = start;
            prop_assert_eq!(s.backoff_time_ms(now), Err(RestartError::NoFailureYet));
            for (dt, fail) in ops {
                now += dt;
                if fail {
                    prop_assert_eq!(s.notify_failure(now, &mut r_impl), m.notify(now, &mut r_model));
                }
                prop_assert_eq!(s.can_restart(now), m.attempt <= m.attempts);
                prop_assert_eq!(s.backoff_time_ms(now), m.backoff(now));
                if let Ok(b) = s.backoff_time_ms(now) {
                    prop_assert!(b <= max);
                }
            }
        }

        #[test]
        fn exponential_long_runs_match_model(
            multiplier in 1.01_f64..4.0,
            jitter in 0.0_f64..=1.0,
            seed in any::<u64>(),
        ) {
            // Many attempts without reset: reaches the saturated region.
            let (initial, max, reset) = (1_000, 60_000, 3_600_000);
            let mut s = ExponentialDelayRestartBackoffTimeStrategy::new(
                initial, max, multiplier, reset, jitter, i32::MAX,
            ).unwrap();
            let mut m = ExpModel {
                initial, max, multiplier, reset, jitter,
                attempts: i64::from(i32::MAX), attempt: 0, next: None,
            };
            let mut r_impl = StdRng::seed_from_u64(seed);
            let mut r_model = StdRng::seed_from_u64(seed);
            let mut now = 0_i64;
            for _ in 0..200 {
                prop_assert!(s.notify_failure(now, &mut r_impl));
                prop_assert!(m.notify(now, &mut r_model));
                let b = s.backoff_time_ms(now).unwrap();
                prop_assert_eq!(Ok(b), m.backoff(now));
                prop_assert!((initial..=max).contains(&b));
                now += b + 1;
            }
        }
    }
}
