//! Restart back-off strategies with Flink 1.19+/1.20 semantics, two non-Flink
//! strategies (Kubernetes `CrashLoopBackOff`, Erlang/OTP supervisor
//! intensity), and a loader from Flink configuration keys.
//!
//! Time is always an argument (`now_ms`, milliseconds on any monotonic
//! scale) and randomness is handed in as a [`rand::RngCore`], so every
//! strategy is deterministic under test. All `long` arithmetic that Flink does
//! is done here with Java semantics (wrapping addition and subtraction,
//! saturating `double -> long` casts).
//!
//! # How the engine uses a strategy (Flink's `ExecutionFailureHandler`)
//! For every task or global failure: `is_new = notify_failure(now)`; then if
//! `can_restart(now)`, count a restart when `is_new` and restart after
//! `backoff_time_ms(now)`; otherwise fail the job with
//! `"Recovery is suppressed by " + describe()`.
//!
//! # Flink strategies
//! * [`NoRestartBackoffTimeStrategy`]: never restarts; `notify_failure` returns
//!   `true` (as in 1.20.0), back-off 0.
//! * [`FixedDelayRestartBackoffTimeStrategy`]: `attempts = N` allows N
//!   restarts; failure N+1 fails the job. Time has no effect.
//! * [`FailureRateRestartBackoffTimeStrategy`]: keeps the last `max + 1`
//!   failure times; with `max + 1` recorded, `can_restart(now)` is
//!   `now - oldest > interval` (strict, evaluated at call time).
//! * [`ExponentialDelayRestartBackoffTimeStrategy`]: the 1.19+ algorithm with
//!   merging of failures that arrive while a restart is scheduled
//!   (`now <= next`), reset measured from the scheduled restart time, an
//!   attempts cap, and Flink's jitter/clamp including the documented quirk
//!   (see the type's docs).
//!
//! # halab strategies
//! * [`CrashLoopBackOff`]: Kubernetes-style exponential back-off that never
//!   gives up.
//! * [`SupervisorIntensity`]: Erlang/OTP restart intensity; gives up after more
//!   than `intensity` restarts within `period`.
//!
//! # Configuration ([`load_restart_strategy`])
//! `restart-strategy.type` (or the deprecated alias `restart-strategy`, used
//! only when `restart-strategy.type` is absent) selects the strategy,
//! case-insensitively:
//!
//! | value | strategy | keys (default) |
//! |---|---|---|
//! | `none`, `off`, `disable` | no restart | |
//! | `fixed-delay`, `fixeddelay` | fixed delay | `restart-strategy.fixed-delay.attempts` (1), `restart-strategy.fixed-delay.delay` (1 s) |
//! | `failure-rate`, `failurerate` | failure rate | `restart-strategy.failure-rate.max-failures-per-interval` (1), `restart-strategy.failure-rate.failure-rate-interval` (1 min), `restart-strategy.failure-rate.delay` (1 s) |
//! | `exponential-delay`, `exponentialdelay` | exponential delay | `restart-strategy.exponential-delay.initial-backoff` (1 s), `.max-backoff` (1 min), `.backoff-multiplier` (1.5), `.reset-backoff-threshold` (1 h), `.jitter-factor` (0.1), `.attempts-before-reset-backoff` (2147483647) |
//! | `crash-loop-backoff`, `crashloopbackoff` (halab) | [`CrashLoopBackOff`] | `restart-strategy.crash-loop-backoff.preset` (`classic`; or `v1.33`), then overrides `.initial-backoff`, `.multiplier`, `.max-backoff`, `.reset-after` (defaults from the preset) |
//! | `supervisor` (halab) | [`SupervisorIntensity`] | `restart-strategy.supervisor.intensity` (1), `.period` (5 s), `.delay` (0 ms) |
//!
//! When no type is set: exponential delay with all defaults if checkpointing
//! is enabled, otherwise no restart. Durations use
//! [`crate::duration::parse_duration`] (a bare number is milliseconds) and
//! are truncated to whole milliseconds like Java's `Duration.toMillis`.
//! Keys of other strategies are ignored. Any bad value gives a
//! [`RestartConfigError`] naming the key and the value.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use rand::{Rng, RngCore};

use crate::duration::{format_duration, parse_duration};

/// A restart back-off strategy (Flink's `RestartBackoffTimeStrategy`).
pub trait RestartBackoffTimeStrategy: Send + std::fmt::Debug {
    /// Flink `notifyFailure`: true when this failure starts a new restart attempt,
    /// false when it is merged into an attempt already scheduled.
    fn notify_failure(&mut self, now_ms: i64, rng: &mut dyn rand::RngCore) -> bool;
    /// Flink `canRestart`.
    fn can_restart(&self, now_ms: i64) -> bool;
    /// Flink `getBackoffTime`; Err(RestartError::NoFailureYet) where Flink throws.
    fn backoff_time_ms(&self, now_ms: i64) -> Result<i64, RestartError>;
    /// Flink's toString, used in `"Recovery is suppressed by <this>"`.
    fn describe(&self) -> String;
}

/// Errors of the strategies themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartError {
    /// `backoff_time_ms` was called before any failure (Flink throws
    /// `IllegalStateException` with this message).
    #[error("Please call notifyFailure first.")]
    NoFailureYet,
    /// A constructor argument is invalid (Flink throws
    /// `IllegalArgumentException` with `message`).
    #[error("{message} (got {param} = {value})")]
    InvalidArgument {
        /// Name of the offending parameter (Flink's field name).
        param: &'static str,
        /// The offending value, as text.
        value: String,
        /// Flink's precondition message.
        message: &'static str,
        /// Another parameter the check compared against, if any.
        related: Option<&'static str>,
    },
}

fn invalid(param: &'static str, value: impl fmt::Display, message: &'static str) -> RestartError {
    RestartError::InvalidArgument {
        param,
        value: value.to_string(),
        message,
        related: None,
    }
}

/// Java `Double.toString` for the values used in descriptions (JDK 19+
/// shortest-representation digits): plain notation for `1e-3 <= |v| < 1e7`
/// (always with a fractional part, `2.0`), otherwise `d.dddE±n`.
fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        // Debug prints the shortest round-trip digits and keeps ".0".
        return format!("{v:?}");
    }
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => format!("{mantissa}E{exp}"),
        Some((mantissa, exp)) => format!("{mantissa}.0E{exp}"),
        None => s,
    }
}

// ---------------------------------------------------------------------------
// NoRestart
// ---------------------------------------------------------------------------

/// Flink `NoRestartBackoffTimeStrategy`: never restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRestartBackoffTimeStrategy;

impl RestartBackoffTimeStrategy for NoRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, _now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        false
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        Ok(0)
    }

    fn describe(&self) -> String {
        "NoRestartBackoffTimeStrategy".to_owned()
    }
}

// ---------------------------------------------------------------------------
// FixedDelay
// ---------------------------------------------------------------------------

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
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        self.current_restart_attempt <= self.max_number_restart_attempts
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        Ok(self.backoff_time_ms)
    }

    fn describe(&self) -> String {
        format!(
            "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts={}, backoffTimeMS={})",
            self.max_number_restart_attempts, self.backoff_time_ms
        )
    }
}

// ---------------------------------------------------------------------------
// FailureRate
// ---------------------------------------------------------------------------

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
        // `max_failures_per_interval > 0`, so the cast is lossless.
        self.failure_timestamps.len() > self.max_failures_per_interval as usize
    }
}

impl RestartBackoffTimeStrategy for FailureRateRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, now_ms: i64, _rng: &mut dyn RngCore) -> bool {
        if self.is_queue_full() {
            self.failure_timestamps.pop_front();
        }
        self.failure_timestamps.push_back(now_ms);
        true
    }

    fn can_restart(&self, now_ms: i64) -> bool {
        if self.is_queue_full() {
            match self.failure_timestamps.front() {
                Some(&earliest) => now_ms.wrapping_sub(earliest) > self.failures_interval_ms,
                None => true,
            }
        } else {
            true
        }
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        Ok(self.backoff_time_ms)
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

// ---------------------------------------------------------------------------
// ExponentialDelay
// ---------------------------------------------------------------------------

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
        // Java: (long) (initialBackoffMS * Math.pow(multiplier, attempt)).
        // Rust's `as` cast saturates and maps NaN to 0, like Java's.
        let base = (self.initial_backoff_ms as f64
            * self.backoff_multiplier.powf(f64::from(self.current_restart_attempt))) as i64;
        let jitter = if self.jitter_factor == 0.0 {
            0
        } else {
            let offset = (base as f64 * self.jitter_factor) as i64;
            rng.gen_range(-offset..=offset)
        };
        self.initial_backoff_ms
            .max(base.wrapping_add(jitter).min(self.max_backoff_ms))
    }
}

impl RestartBackoffTimeStrategy for ExponentialDelayRestartBackoffTimeStrategy {
    fn notify_failure(&mut self, now_ms: i64, rng: &mut dyn RngCore) -> bool {
        if now_ms <= self.next_restart_timestamp {
            return false;
        }
        if now_ms.wrapping_sub(self.next_restart_timestamp) >= self.reset_backoff_threshold_ms {
            self.current_restart_attempt = 0;
        }
        self.next_restart_timestamp = now_ms.wrapping_add(self.calculate_actual_backoff_ms(rng));
        self.current_restart_attempt = self.current_restart_attempt.wrapping_add(1);
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        self.current_restart_attempt <= self.attempts_before_reset_backoff
    }

    fn backoff_time_ms(&self, now_ms: i64) -> Result<i64, RestartError> {
        if self.next_restart_timestamp == NO_NEXT_RESTART_TIMESTAMP {
            return Err(RestartError::NoFailureYet);
        }
        Ok(0.max(self.next_restart_timestamp.wrapping_sub(now_ms)))
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

// ---------------------------------------------------------------------------
// CrashLoopBackOff (Kubernetes)
// ---------------------------------------------------------------------------

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
    initial_backoff_ms: i64,
    factor: f64,
    max_backoff_ms: i64,
    reset_after_ms: i64,
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
        self.current_backoff_ms = match self.next_restart_timestamp {
            Some(next) if now_ms <= next => return false,
            Some(next) if now_ms.saturating_sub(next) < self.reset_after_ms => {
                let grown = (self.current_backoff_ms as f64 * self.factor) as i64;
                grown.min(self.max_backoff_ms)
            }
            _ => self.initial_backoff_ms,
        };
        self.next_restart_timestamp = Some(now_ms.saturating_add(self.current_backoff_ms));
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        true
    }

    fn backoff_time_ms(&self, now_ms: i64) -> Result<i64, RestartError> {
        self.next_restart_timestamp
            .map(|next| 0.max(next.saturating_sub(now_ms)))
            .ok_or(RestartError::NoFailureYet)
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

// ---------------------------------------------------------------------------
// SupervisorIntensity (Erlang/OTP)
// ---------------------------------------------------------------------------

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
        self.restarts.push_back(now_ms);
        if self.restarts.len() as u64 > u64::from(self.intensity) {
            self.gave_up = true;
        }
        true
    }

    fn can_restart(&self, _now_ms: i64) -> bool {
        !self.gave_up
    }

    fn backoff_time_ms(&self, _now_ms: i64) -> Result<i64, RestartError> {
        Ok(self.delay_ms)
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

// ---------------------------------------------------------------------------
// Loader
// ---------------------------------------------------------------------------

/// `restart-strategy.type`.
pub const KEY_TYPE: &str = "restart-strategy.type";
/// Deprecated alias of [`KEY_TYPE`].
pub const KEY_TYPE_DEPRECATED: &str = "restart-strategy";
/// Fixed delay: attempts (default 1).
pub const KEY_FIXED_DELAY_ATTEMPTS: &str = "restart-strategy.fixed-delay.attempts";
/// Fixed delay: delay (default 1 s).
pub const KEY_FIXED_DELAY_DELAY: &str = "restart-strategy.fixed-delay.delay";
/// Failure rate: max failures per interval (default 1).
pub const KEY_FAILURE_RATE_MAX_FAILURES: &str = "restart-strategy.failure-rate.max-failures-per-interval";
/// Failure rate: interval (default 1 min).
pub const KEY_FAILURE_RATE_INTERVAL: &str = "restart-strategy.failure-rate.failure-rate-interval";
/// Failure rate: delay (default 1 s).
pub const KEY_FAILURE_RATE_DELAY: &str = "restart-strategy.failure-rate.delay";
/// Exponential delay: initial back-off (default 1 s).
pub const KEY_EXPONENTIAL_INITIAL_BACKOFF: &str = "restart-strategy.exponential-delay.initial-backoff";
/// Exponential delay: maximum back-off (default 1 min).
pub const KEY_EXPONENTIAL_MAX_BACKOFF: &str = "restart-strategy.exponential-delay.max-backoff";
/// Exponential delay: multiplier (default 1.5).
pub const KEY_EXPONENTIAL_MULTIPLIER: &str = "restart-strategy.exponential-delay.backoff-multiplier";
/// Exponential delay: reset threshold (default 1 h).
pub const KEY_EXPONENTIAL_RESET_THRESHOLD: &str = "restart-strategy.exponential-delay.reset-backoff-threshold";
/// Exponential delay: jitter factor (default 0.1).
pub const KEY_EXPONENTIAL_JITTER: &str = "restart-strategy.exponential-delay.jitter-factor";
/// Exponential delay: attempts before reset (default `Integer.MAX_VALUE`).
pub const KEY_EXPONENTIAL_ATTEMPTS: &str = "restart-strategy.exponential-delay.attempts-before-reset-backoff";
/// halab crash-loop back-off: preset, `classic` (default) or `v1.33`.
pub const KEY_CRASH_LOOP_PRESET: &str = "restart-strategy.crash-loop-backoff.preset";
/// halab crash-loop back-off: initial back-off (default from the preset).
pub const KEY_CRASH_LOOP_INITIAL_BACKOFF: &str = "restart-strategy.crash-loop-backoff.initial-backoff";
/// halab crash-loop back-off: multiplier (default from the preset).
pub const KEY_CRASH_LOOP_MULTIPLIER: &str = "restart-strategy.crash-loop-backoff.multiplier";
/// halab crash-loop back-off: maximum back-off (default from the preset).
pub const KEY_CRASH_LOOP_MAX_BACKOFF: &str = "restart-strategy.crash-loop-backoff.max-backoff";
/// halab crash-loop back-off: healthy time before reset (default from the preset).
pub const KEY_CRASH_LOOP_RESET_AFTER: &str = "restart-strategy.crash-loop-backoff.reset-after";
/// halab supervisor: intensity (default 1).
pub const KEY_SUPERVISOR_INTENSITY: &str = "restart-strategy.supervisor.intensity";
/// halab supervisor: period (default 5 s).
pub const KEY_SUPERVISOR_PERIOD: &str = "restart-strategy.supervisor.period";
/// halab supervisor: restart delay (default 0 ms).
pub const KEY_SUPERVISOR_DELAY: &str = "restart-strategy.supervisor.delay";

/// A configuration error; every variant names the key and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartConfigError {
    /// The strategy name is not recognised.
    #[error(
        "unknown restart strategy {value:?} in '{key}' (expected one of none/off/disable, \
         fixed-delay/fixeddelay, failure-rate/failurerate, exponential-delay/exponentialdelay, \
         crash-loop-backoff, supervisor)"
    )]
    UnknownStrategy {
        /// The key that held the name.
        key: String,
        /// The name given.
        value: String,
    },
    /// A value cannot be parsed or violates a precondition.
    #[error("invalid value {value:?} for '{key}': {reason}")]
    InvalidValue {
        /// The offending key.
        key: String,
        /// The offending value (`"... (default)"` when the key was unset).
        value: String,
        /// Why it is rejected.
        reason: String,
    },
}

/// One resolved configuration value with where it came from, for errors.
struct Setting<T> {
    key: &'static str,
    value: T,
    shown: String,
}

fn invalid_value(key: &str, raw: &str, reason: impl Into<String>) -> RestartConfigError {
    RestartConfigError::InvalidValue {
        key: key.to_owned(),
        value: raw.to_owned(),
        reason: reason.into(),
    }
}

fn get_setting<T>(
    conf: &BTreeMap<String, String>,
    key: &'static str,
    default: T,
    show_default: impl FnOnce(&T) -> String,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Setting<T>, RestartConfigError> {
    match conf.get(key) {
        Some(raw) => {
            let value = parse(raw.trim()).map_err(|reason| invalid_value(key, raw, reason))?;
            Ok(Setting {
                key,
                value,
                shown: raw.clone(),
            })
        }
        None => {
            let shown = format!("{} (default)", show_default(&default));
            Ok(Setting {
                key,
                value: default,
                shown,
            })
        }
    }
}

fn get_i32(
    conf: &BTreeMap<String, String>,
    key: &'static str,
    default: i32,
) -> Result<Setting<i32>, RestartConfigError> {
    get_setting(conf, key, default, i32::to_string, |s| {
        s.parse::<i32>().map_err(|e| format!("not a 32-bit integer ({e})"))
    })
}

fn get_u32(
    conf: &BTreeMap<String, String>,
    key: &'static str,
    default: u32,
) -> Result<Setting<u32>, RestartConfigError> {
    get_setting(conf, key, default, u32::to_string, |s| {
        s.parse::<u32>()
            .map_err(|e| format!("not a non-negative 32-bit integer ({e})"))
    })
}

fn get_f64(
    conf: &BTreeMap<String, String>,
    key: &'static str,
    default: f64,
) -> Result<Setting<f64>, RestartConfigError> {
    get_setting(
        conf,
        key,
        default,
        |v| java_double(*v),
        |s| s.parse::<f64>().map_err(|e| format!("not a number ({e})")),
    )
}

fn get_duration_ms(
    conf: &BTreeMap<String, String>,
    key: &'static str,
    default_ms: i64,
) -> Result<Setting<i64>, RestartConfigError> {
    get_setting(
        conf,
        key,
        default_ms,
        |ms| format_duration(Duration::from_millis(ms.unsigned_abs())),
        |s| {
            let d = parse_duration(s).map_err(|e| e.to_string())?;
            i64::try_from(d.as_millis()).map_err(|_| "duration does not fit in a Java long of milliseconds".to_owned())
        },
    )
}

/// Maps a constructor error to the key that holds the offending parameter.
fn attribute(err: RestartError, params: &[(&'static str, &'static str, &str)]) -> RestartConfigError {
    match err {
        RestartError::InvalidArgument {
            param,
            value,
            message,
            related,
        } => {
            let find = |p: &str| params.iter().find(|(name, _, _)| *name == p);
            let mut reason = message.to_owned();
            if let Some((_, key, shown)) = related.and_then(find) {
                reason.push_str(&format!(" ('{key}' is {shown:?})"));
            }
            match find(param) {
                Some((_, key, shown)) => invalid_value(key, shown, reason),
                None => invalid_value(param, &value, reason),
            }
        }
        RestartError::NoFailureYet => invalid_value(KEY_TYPE, "", err.to_string()),
    }
}

fn boxed<T: RestartBackoffTimeStrategy + 'static>(
    result: Result<T, RestartError>,
    params: &[(&'static str, &'static str, &str)],
) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
    match result {
        Ok(strategy) => Ok(Box::new(strategy)),
        Err(err) => Err(attribute(err, params)),
    }
}

fn load_exponential(
    conf: &BTreeMap<String, String>,
) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
    let initial = get_duration_ms(
        conf,
        KEY_EXPONENTIAL_INITIAL_BACKOFF,
        DEFAULT_EXPONENTIAL_INITIAL_BACKOFF_MS,
    )?;
    let max = get_duration_ms(conf, KEY_EXPONENTIAL_MAX_BACKOFF, DEFAULT_EXPONENTIAL_MAX_BACKOFF_MS)?;
    let multiplier = get_f64(conf, KEY_EXPONENTIAL_MULTIPLIER, DEFAULT_EXPONENTIAL_BACKOFF_MULTIPLIER)?;
    let reset = get_duration_ms(
        conf,
        KEY_EXPONENTIAL_RESET_THRESHOLD,
        DEFAULT_EXPONENTIAL_RESET_BACKOFF_THRESHOLD_MS,
    )?;
    let jitter = get_f64(conf, KEY_EXPONENTIAL_JITTER, DEFAULT_EXPONENTIAL_JITTER_FACTOR)?;
    let attempts = get_i32(
        conf,
        KEY_EXPONENTIAL_ATTEMPTS,
        DEFAULT_EXPONENTIAL_ATTEMPTS_BEFORE_RESET,
    )?;
    boxed(
        ExponentialDelayRestartBackoffTimeStrategy::new(
            initial.value,
            max.value,
            multiplier.value,
            reset.value,
            jitter.value,
            attempts.value,
        ),
        &[
            ("initialBackoffMS", initial.key, &initial.shown),
            ("maxBackoffMS", max.key, &max.shown),
            ("backoffMultiplier", multiplier.key, &multiplier.shown),
            ("resetBackoffThresholdMS", reset.key, &reset.shown),
            ("jitterFactor", jitter.key, &jitter.shown),
            ("attemptsBeforeResetBackoff", attempts.key, &attempts.shown),
        ],
    )
}

fn load_crash_loop(conf: &BTreeMap<String, String>) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
    let preset = get_setting(
        conf,
        KEY_CRASH_LOOP_PRESET,
        CrashLoopBackOff::classic(),
        |_| "classic".to_owned(),
        |s| match s.to_lowercase().as_str() {
            "classic" => Ok(CrashLoopBackOff::classic()),
            "v1.33" => Ok(CrashLoopBackOff::v1_33()),
            _ => Err("expected 'classic' or 'v1.33'".to_owned()),
        },
    )?
    .value;
    let initial = get_duration_ms(conf, KEY_CRASH_LOOP_INITIAL_BACKOFF, preset.initial_backoff_ms)?;
    let factor = get_f64(conf, KEY_CRASH_LOOP_MULTIPLIER, preset.factor)?;
    let max = get_duration_ms(conf, KEY_CRASH_LOOP_MAX_BACKOFF, preset.max_backoff_ms)?;
    let reset = get_duration_ms(conf, KEY_CRASH_LOOP_RESET_AFTER, preset.reset_after_ms)?;
    boxed(
        CrashLoopBackOff::new(initial.value, factor.value, max.value, reset.value),
        &[
            ("initialBackoffMS", initial.key, &initial.shown),
            ("multiplier", factor.key, &factor.shown),
            ("maxBackoffMS", max.key, &max.shown),
            ("resetAfterMS", reset.key, &reset.shown),
        ],
    )
}

/// Builds the restart strategy from Flink configuration keys (see the module
/// docs for keys, accepted names and defaults).
pub fn load_restart_strategy(
    conf: &BTreeMap<String, String>,
    checkpointing_enabled: bool,
) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
    let selected = conf
        .get(KEY_TYPE)
        .map(|v| (KEY_TYPE, v))
        .or_else(|| conf.get(KEY_TYPE_DEPRECATED).map(|v| (KEY_TYPE_DEPRECATED, v)));
    let Some((type_key, raw_name)) = selected else {
        return Ok(if checkpointing_enabled {
            Box::new(ExponentialDelayRestartBackoffTimeStrategy::with_defaults())
        } else {
            Box::new(NoRestartBackoffTimeStrategy)
        });
    };
    match raw_name.trim().to_lowercase().as_str() {
        "none" | "off" | "disable" => Ok(Box::new(NoRestartBackoffTimeStrategy)),
        "fixed-delay" | "fixeddelay" => {
            let attempts = get_i32(conf, KEY_FIXED_DELAY_ATTEMPTS, 1)?;
            let delay = get_duration_ms(conf, KEY_FIXED_DELAY_DELAY, 1_000)?;
            boxed(
                FixedDelayRestartBackoffTimeStrategy::new(attempts.value, delay.value),
                &[
                    ("maxNumberRestartAttempts", attempts.key, &attempts.shown),
                    ("backoffTimeMS", delay.key, &delay.shown),
                ],
            )
        }
        "failure-rate" | "failurerate" => {
            let max = get_i32(conf, KEY_FAILURE_RATE_MAX_FAILURES, 1)?;
            let interval = get_duration_ms(conf, KEY_FAILURE_RATE_INTERVAL, 60_000)?;
            let delay = get_duration_ms(conf, KEY_FAILURE_RATE_DELAY, 1_000)?;
            boxed(
                FailureRateRestartBackoffTimeStrategy::new(max.value, interval.value, delay.value),
                &[
                    ("maxFailuresPerInterval", max.key, &max.shown),
                    ("failuresIntervalMS", interval.key, &interval.shown),
                    ("backoffTimeMS", delay.key, &delay.shown),
                ],
            )
        }
        "exponential-delay" | "exponentialdelay" => load_exponential(conf),
        "crash-loop-backoff" | "crashloopbackoff" => load_crash_loop(conf),
        "supervisor" => {
            let intensity = get_u32(conf, KEY_SUPERVISOR_INTENSITY, 1)?;
            let period = get_duration_ms(conf, KEY_SUPERVISOR_PERIOD, 5_000)?;
            let delay = get_duration_ms(conf, KEY_SUPERVISOR_DELAY, 0)?;
            boxed(
                SupervisorIntensity::new(intensity.value, period.value, delay.value),
                &[
                    ("periodMS", period.key, &period.shown),
                    ("delayMS", delay.key, &delay.shown),
                ],
            )
        }
        _ => Err(RestartConfigError::UnknownStrategy {
            key: type_key.to_owned(),
            value: raw_name.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(0x5eed)
    }

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

    #[test]
    fn no_restart_strategy() {
        let mut r = rng();
        let mut s = NoRestartBackoffTimeStrategy;
        assert!(s.notify_failure(0, &mut r));
        assert!(!s.can_restart(0));
        assert_eq!(s.backoff_time_ms(0), Ok(0));
        assert_eq!(s.describe(), "NoRestartBackoffTimeStrategy");
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

    #[test]
    fn constructors_validate_like_flink() {
        use RestartError::InvalidArgument;
        let param_of = |e: RestartError| match e {
            InvalidArgument { param, .. } => param,
            RestartError::NoFailureYet => "",
        };
        assert_eq!(
            param_of(FixedDelayRestartBackoffTimeStrategy::new(-1, 0).unwrap_err()),
            "maxNumberRestartAttempts"
        );
        assert_eq!(
            param_of(FixedDelayRestartBackoffTimeStrategy::new(0, -1).unwrap_err()),
            "backoffTimeMS"
        );
        assert!(FixedDelayRestartBackoffTimeStrategy::new(0, 0).is_ok());
        assert_eq!(
            param_of(FailureRateRestartBackoffTimeStrategy::new(0, 1, 0).unwrap_err()),
            "maxFailuresPerInterval"
        );
        assert_eq!(
            param_of(FailureRateRestartBackoffTimeStrategy::new(1, 0, 0).unwrap_err()),
            "failuresIntervalMS"
        );
        assert_eq!(
            param_of(FailureRateRestartBackoffTimeStrategy::new(1, 1, -1).unwrap_err()),
            "backoffTimeMS"
        );
        let e = |i, m, mu, r, j, a| {
            param_of(ExponentialDelayRestartBackoffTimeStrategy::new(i, m, mu, r, j, a).unwrap_err())
        };
        assert_eq!(e(0, 5, 2.0, 1, 0.0, 1), "initialBackoffMS");
        assert_eq!(e(1, 0, 2.0, 1, 0.0, 1), "maxBackoffMS");
        assert_eq!(e(6, 5, 2.0, 1, 0.0, 1), "initialBackoffMS");
        assert_eq!(e(1, 5, 1.0, 1, 0.0, 1), "backoffMultiplier");
        assert_eq!(e(1, 5, f64::NAN, 1, 0.0, 1), "backoffMultiplier");
        assert_eq!(e(1, 5, 2.0, 0, 0.0, 1), "resetBackoffThresholdMS");
        assert_eq!(e(1, 5, 2.0, 1, -0.1, 1), "jitterFactor");
        assert_eq!(e(1, 5, 2.0, 1, 1.1, 1), "jitterFactor");
        assert_eq!(e(1, 5, 2.0, 1, f64::NAN, 1), "jitterFactor");
        assert_eq!(e(1, 5, 2.0, 1, 0.0, 0), "attemptsBeforeResetBackoff");
        assert!(ExponentialDelayRestartBackoffTimeStrategy::new(5, 5, 1.000_001, 1, 1.0, 1).is_ok());
        let msg = ExponentialDelayRestartBackoffTimeStrategy::new(1, 5, 0.5, 1, 0.0, 1)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "Backoff multiplier must be greater than 1. (got backoffMultiplier = 0.5)"
        );
    }

    #[test]
    fn describe_matches_flink_to_string() {
        assert_eq!(
            FixedDelayRestartBackoffTimeStrategy::new(3, 1000).unwrap().describe(),
            "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=1000)"
        );
        assert_eq!(
            FailureRateRestartBackoffTimeStrategy::new(1, 60_000, 1000)
                .unwrap()
                .describe(),
            "FailureRateRestartBackoffTimeStrategy(FailureRateRestartBackoffTimeStrategy(\
             failuresIntervalMS=60000,backoffTimeMS=1000,maxFailuresPerInterval=1)"
        );
        let mut s = ExponentialDelayRestartBackoffTimeStrategy::with_defaults();
        assert_eq!(
            s.describe(),
            "ExponentialDelayRestartBackoffTimeStrategy(initialBackoffMS=1000, \
             maxBackoffMS=60000, backoffMultiplier=1.5, resetBackoffThresholdMS=3600000, \
             jitterFactor=0.1, attemptsBeforeResetBackoff=2147483647, \
             currentRestartAttempt=0, nextRestartTimestamp=-2147483648)"
        );
        s.notify_failure(5, &mut rng());
        assert!(s.describe().contains("currentRestartAttempt=1, nextRestartTimestamp="));
    }

    #[test]
    fn java_double_formatting() {
        assert_eq!(java_double(1.5), "1.5");
        assert_eq!(java_double(2.0), "2.0");
        assert_eq!(java_double(0.1), "0.1");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12_345_678.9), "1.23456789E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::INFINITY), "Infinity");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
    }

    // =====================================================================
    // halab strategies
    // =====================================================================

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

    // =====================================================================
    // Loader
    // =====================================================================

    fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
        load_restart_strategy(&conf(pairs), false)
    }

    fn invalid_key(err: RestartConfigError) -> (String, String) {
        match err {
            RestartConfigError::InvalidValue { key, value, .. } => (key, value),
            RestartConfigError::UnknownStrategy { key, value } => (key, value),
        }
    }

    #[test]
    fn loader_defaults() {
        let none = load_restart_strategy(&BTreeMap::new(), false).unwrap();
        assert_eq!(none.describe(), "NoRestartBackoffTimeStrategy");
        let with_cp = load_restart_strategy(&BTreeMap::new(), true).unwrap();
        assert_eq!(
            with_cp.describe(),
            ExponentialDelayRestartBackoffTimeStrategy::with_defaults().describe()
        );
        // Keys of other strategies do not select anything.
        let s = load_restart_strategy(&conf(&[(KEY_FIXED_DELAY_ATTEMPTS, "5")]), false).unwrap();
        assert_eq!(s.describe(), "NoRestartBackoffTimeStrategy");
    }

    #[test]
    fn loader_accepts_every_spelling_case_insensitively() {
        let cases = [
            ("none", "NoRestart"),
            ("off", "NoRestart"),
            ("disable", "NoRestart"),
            ("NONE", "NoRestart"),
            ("fixed-delay", "FixedDelay"),
            ("fixeddelay", "FixedDelay"),
            ("Fixed-Delay", "FixedDelay"),
            ("failure-rate", "FailureRate"),
            ("failurerate", "FailureRate"),
            ("FailureRate", "FailureRate"),
            ("exponential-delay", "ExponentialDelay"),
            ("exponentialdelay", "ExponentialDelay"),
            ("EXPONENTIAL-DELAY", "ExponentialDelay"),
            ("crash-loop-backoff", "CrashLoopBackOff"),
            ("CrashLoopBackOff", "CrashLoopBackOff"),
            ("supervisor", "SupervisorIntensity"),
            (" Supervisor ", "SupervisorIntensity"),
        ];
        for (name, prefix) in cases {
            for key in [KEY_TYPE, KEY_TYPE_DEPRECATED] {
                let s = load(&[(key, name)]).unwrap();
                assert!(s.describe().starts_with(prefix), "{key}={name}: {}", s.describe());
            }
        }
    }

    #[test]
    fn loader_type_key_wins_over_deprecated_alias() {
        let s = load(&[(KEY_TYPE, "none"), (KEY_TYPE_DEPRECATED, "fixed-delay")]).unwrap();
        assert_eq!(s.describe(), "NoRestartBackoffTimeStrategy");
        // Even with checkpointing, an explicit "none" wins over the default.
        let s = load_restart_strategy(&conf(&[(KEY_TYPE_DEPRECATED, "off")]), true).unwrap();
        assert!(!s.can_restart(0));
    }

    #[test]
    fn loader_flink_defaults_per_strategy() {
        assert_eq!(
            load(&[(KEY_TYPE, "fixed-delay")]).unwrap().describe(),
            "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=1, backoffTimeMS=1000)"
        );
        assert_eq!(
            load(&[(KEY_TYPE, "failure-rate")]).unwrap().describe(),
            "FailureRateRestartBackoffTimeStrategy(FailureRateRestartBackoffTimeStrategy(\
             failuresIntervalMS=60000,backoffTimeMS=1000,maxFailuresPerInterval=1)"
        );
        assert_eq!(
            load(&[(KEY_TYPE, "exponential-delay")]).unwrap().describe(),
            ExponentialDelayRestartBackoffTimeStrategy::with_defaults().describe()
        );
        assert_eq!(
            load(&[(KEY_TYPE, "supervisor")]).unwrap().describe(),
            SupervisorIntensity::otp_default().describe()
        );
        assert_eq!(
            load(&[(KEY_TYPE, "crash-loop-backoff")]).unwrap().describe(),
            CrashLoopBackOff::classic().describe()
        );
    }

    #[test]
    fn loader_reads_every_key() {
        let s = load(&[
            (KEY_TYPE, "fixed-delay"),
            (KEY_FIXED_DELAY_ATTEMPTS, " 3 "),
            (KEY_FIXED_DELAY_DELAY, "10 s"),
        ])
        .unwrap();
        assert_eq!(
            s.describe(),
            "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=10000)"
        );
        let s = load(&[
            (KEY_TYPE, "failure-rate"),
            (KEY_FAILURE_RATE_MAX_FAILURES, "4"),
            (KEY_FAILURE_RATE_INTERVAL, "5 min"),
            (KEY_FAILURE_RATE_DELAY, "250"),
        ])
        .unwrap();
        assert_eq!(
            s.describe(),
            "FailureRateRestartBackoffTimeStrategy(FailureRateRestartBackoffTimeStrategy(\
             failuresIntervalMS=300000,backoffTimeMS=250,maxFailuresPerInterval=4)"
        );
        let s = load(&[
            (KEY_TYPE, "exponential-delay"),
            (KEY_EXPONENTIAL_INITIAL_BACKOFF, "2 s"),
            (KEY_EXPONENTIAL_MAX_BACKOFF, "5 min"),
            (KEY_EXPONENTIAL_MULTIPLIER, "2"),
            (KEY_EXPONENTIAL_RESET_THRESHOLD, "1 d"),
            (KEY_EXPONENTIAL_JITTER, "0"),
            (KEY_EXPONENTIAL_ATTEMPTS, "7"),
        ])
        .unwrap();
        assert_eq!(
            s.describe(),
            "ExponentialDelayRestartBackoffTimeStrategy(initialBackoffMS=2000, \
             maxBackoffMS=300000, backoffMultiplier=2.0, resetBackoffThresholdMS=86400000, \
             jitterFactor=0.0, attemptsBeforeResetBackoff=7, currentRestartAttempt=0, \
             nextRestartTimestamp=-2147483648)"
        );
        let s = load(&[
            (KEY_TYPE, "crash-loop-backoff"),
            (KEY_CRASH_LOOP_PRESET, "V1.33"),
            (KEY_CRASH_LOOP_MAX_BACKOFF, "30s"),
        ])
        .unwrap();
        assert_eq!(
            s.describe(),
            "CrashLoopBackOff(initialBackoffMS=1000, multiplier=2.0, maxBackoffMS=30000, \
             resetAfterMS=600000, currentBackoffMS=1000, nextRestartTimestamp=none)"
        );
        let s = load(&[
            (KEY_TYPE, "crash-loop-backoff"),
            (KEY_CRASH_LOOP_INITIAL_BACKOFF, "5s"),
            (KEY_CRASH_LOOP_MULTIPLIER, "3"),
            (KEY_CRASH_LOOP_MAX_BACKOFF, "1 min"),
            (KEY_CRASH_LOOP_RESET_AFTER, "2 min"),
        ])
        .unwrap();
        assert_eq!(
            s.describe(),
            "CrashLoopBackOff(initialBackoffMS=5000, multiplier=3.0, maxBackoffMS=60000, \
             resetAfterMS=120000, currentBackoffMS=5000, nextRestartTimestamp=none)"
        );
        let s = load(&[
            (KEY_TYPE, "supervisor"),
            (KEY_SUPERVISOR_INTENSITY, "10"),
            (KEY_SUPERVISOR_PERIOD, "1 min"),
            (KEY_SUPERVISOR_DELAY, "100 ms"),
        ])
        .unwrap();
        assert_eq!(
            s.describe(),
            "SupervisorIntensity(intensity=10, periodMS=60000, delayMS=100, restartsInPeriod=0)"
        );
        assert_eq!(s.backoff_time_ms(0), Ok(100));
    }

    #[test]
    fn loaded_strategy_behaves() {
        let mut r = rng();
        let mut s = load(&[(KEY_TYPE, "fixed-delay"), (KEY_FIXED_DELAY_ATTEMPTS, "2")]).unwrap();
        for _ in 0..2 {
            assert!(s.notify_failure(0, &mut r));
            assert!(s.can_restart(0));
        }
        s.notify_failure(0, &mut r);
        assert!(!s.can_restart(0));
        assert!(format!("Recovery is suppressed by {}", s.describe())
            .ends_with("(maxNumberRestartAttempts=2, backoffTimeMS=1000)"));
    }

    /// Configuration pairs, expected key, expected value.
    type ErrorCase<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

    #[test]
    fn loader_errors_name_key_and_value() {
        let cases: &[ErrorCase] = &[
            (&[(KEY_TYPE, "bogus")], KEY_TYPE, "bogus"),
            (&[(KEY_TYPE_DEPRECATED, "")], KEY_TYPE_DEPRECATED, ""),
            (
                &[(KEY_TYPE, "fixed-delay"), (KEY_FIXED_DELAY_ATTEMPTS, "-1")],
                KEY_FIXED_DELAY_ATTEMPTS,
                "-1",
            ),
            (
                &[(KEY_TYPE, "fixed-delay"), (KEY_FIXED_DELAY_ATTEMPTS, "three")],
                KEY_FIXED_DELAY_ATTEMPTS,
                "three",
            ),
            (
                &[(KEY_TYPE, "fixed-delay"), (KEY_FIXED_DELAY_ATTEMPTS, "3000000000")],
                KEY_FIXED_DELAY_ATTEMPTS,
                "3000000000",
            ),
            (
                &[(KEY_TYPE, "fixed-delay"), (KEY_FIXED_DELAY_DELAY, "10 fortnights")],
                KEY_FIXED_DELAY_DELAY,
                "10 fortnights",
            ),
            (
                &[(KEY_TYPE, "failure-rate"), (KEY_FAILURE_RATE_MAX_FAILURES, "0")],
                KEY_FAILURE_RATE_MAX_FAILURES,
                "0",
            ),
            (
                &[(KEY_TYPE, "failure-rate"), (KEY_FAILURE_RATE_INTERVAL, "0 s")],
                KEY_FAILURE_RATE_INTERVAL,
                "0 s",
            ),
            (
                &[(KEY_TYPE, "failure-rate"), (KEY_FAILURE_RATE_DELAY, "-5")],
                KEY_FAILURE_RATE_DELAY,
                "-5",
            ),
            (
                &[(KEY_TYPE, "exponential-delay"), (KEY_EXPONENTIAL_MULTIPLIER, "1.0")],
                KEY_EXPONENTIAL_MULTIPLIER,
                "1.0",
            ),
            (
                &[(KEY_TYPE, "exponential-delay"), (KEY_EXPONENTIAL_MULTIPLIER, "x")],
                KEY_EXPONENTIAL_MULTIPLIER,
                "x",
            ),
            (
                &[(KEY_TYPE, "exponential-delay"), (KEY_EXPONENTIAL_JITTER, "1.5")],
                KEY_EXPONENTIAL_JITTER,
                "1.5",
            ),
            (
                &[
                    (KEY_TYPE, "exponential-delay"),
                    (KEY_EXPONENTIAL_INITIAL_BACKOFF, "2 min"),
                ],
                KEY_EXPONENTIAL_INITIAL_BACKOFF,
                "2 min",
            ),
            (
                &[
                    (KEY_TYPE, "exponential-delay"),
                    (KEY_EXPONENTIAL_INITIAL_BACKOFF, "500us"),
                ],
                KEY_EXPONENTIAL_INITIAL_BACKOFF,
                "500us",
            ),
            (
                &[(KEY_TYPE, "exponential-delay"), (KEY_EXPONENTIAL_RESET_THRESHOLD, "0")],
                KEY_EXPONENTIAL_RESET_THRESHOLD,
                "0",
            ),
            (
                &[(KEY_TYPE, "exponential-delay"), (KEY_EXPONENTIAL_ATTEMPTS, "0")],
                KEY_EXPONENTIAL_ATTEMPTS,
                "0",
            ),
            (
                &[(KEY_TYPE, "crash-loop-backoff"), (KEY_CRASH_LOOP_PRESET, "v2")],
                KEY_CRASH_LOOP_PRESET,
                "v2",
            ),
            (
                &[(KEY_TYPE, "crash-loop-backoff"), (KEY_CRASH_LOOP_MULTIPLIER, "0.5")],
                KEY_CRASH_LOOP_MULTIPLIER,
                "0.5",
            ),
            (
                &[(KEY_TYPE, "crash-loop-backoff"), (KEY_CRASH_LOOP_MAX_BACKOFF, "1s")],
                KEY_CRASH_LOOP_MAX_BACKOFF,
                "1s",
            ),
            (
                &[(KEY_TYPE, "supervisor"), (KEY_SUPERVISOR_INTENSITY, "-1")],
                KEY_SUPERVISOR_INTENSITY,
                "-1",
            ),
            (
                &[(KEY_TYPE, "supervisor"), (KEY_SUPERVISOR_PERIOD, "0ms")],
                KEY_SUPERVISOR_PERIOD,
                "0ms",
            ),
        ];
        for (pairs, key, value) in cases {
            let err = load(pairs).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(key), "{text}");
            assert!(text.contains(&format!("{value:?}")), "{text}");
            assert_eq!(invalid_key(err), ((*key).to_owned(), (*value).to_owned()));
        }
    }

    #[test]
    fn loader_cross_field_error_mentions_the_other_key() {
        let err = load(&[
            (KEY_TYPE, "exponential-delay"),
            (KEY_EXPONENTIAL_INITIAL_BACKOFF, "2 min"),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(KEY_EXPONENTIAL_MAX_BACKOFF), "{text}");
        assert!(text.contains("1min (default)"), "{text}");
        // A default value in error: initial (default 1 s) above a small max.
        let err = load(&[(KEY_TYPE, "exponential-delay"), (KEY_EXPONENTIAL_MAX_BACKOFF, "500 ms")]).unwrap_err();
        assert_eq!(
            invalid_key(err),
            (KEY_EXPONENTIAL_INITIAL_BACKOFF.to_owned(), "1s (default)".to_owned())
        );
    }

    // =====================================================================
    // Property tests against small independent reference models
    // =====================================================================

    /// Reference for fixed delay: a plain failure counter.
    #[derive(Debug)]
    struct FixedModel {
        max: i64,
        failures: i64,
    }

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

    fn ops() -> impl Strategy<Value = Vec<(i64, bool)>> {
        prop::collection::vec((0_i64..120, any::<bool>()), 1..80)
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
