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
//! # Layout
//! This module holds the trait, the error types, the configuration keys and
//! the loader; each strategy lives in its own private submodule and is
//! re-exported here, so every item is used as `crate::restart::X`:
//! `no_restart`, `fixed_delay`, `failure_rate`, `exponential_delay` (also the
//! `DEFAULT_EXPONENTIAL_*` constants), `crash_loop_backoff` and `supervisor`.
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

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::duration::{format_duration, parse_bounded_duration};

mod crash_loop_backoff;
mod exponential_delay;
mod failure_rate;
mod fixed_delay;
mod no_restart;
pub mod registry;
mod supervisor;
#[cfg(test)]
mod test_support;

pub use crash_loop_backoff::CrashLoopBackOff;
pub use exponential_delay::{
    ExponentialDelayRestartBackoffTimeStrategy, DEFAULT_EXPONENTIAL_ATTEMPTS_BEFORE_RESET,
    DEFAULT_EXPONENTIAL_BACKOFF_MULTIPLIER, DEFAULT_EXPONENTIAL_INITIAL_BACKOFF_MS, DEFAULT_EXPONENTIAL_JITTER_FACTOR,
    DEFAULT_EXPONENTIAL_MAX_BACKOFF_MS, DEFAULT_EXPONENTIAL_RESET_BACKOFF_THRESHOLD_MS,
};
pub use failure_rate::FailureRateRestartBackoffTimeStrategy;
pub use fixed_delay::FixedDelayRestartBackoffTimeStrategy;
pub use no_restart::NoRestartBackoffTimeStrategy;
pub use supervisor::SupervisorIntensity;

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
    let text = java_double_digits(v);
    // Shortest round-trip digits: the text reads back as the same value.
    let back = text.parse::<f64>();
    assert!(v.is_nan() || back == Ok(v), "invariant: {text} reads back as {back:?}");
    text
}

fn java_double_digits(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        // Debug prints the shortest round-trip digits and keeps ".0".
        let plain = format!("{v:?}");
        let fraction = plain.contains('.') && !plain.contains('e');
        assert!(fraction, "invariant: {plain} is not plain notation with a fraction");
        return plain;
    }
    let s = format!("{v:e}");
    // Java's form has one digit before the point: `d.dddE±n`.
    let lead = s.trim_start_matches('-').find(['.', 'e']);
    assert_eq!(lead, Some(1), "invariant: {s} has not one leading digit");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => format!("{mantissa}E{exp}"),
        Some((mantissa, exp)) => format!("{mantissa}.0E{exp}"),
        None => s,
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
    // The configuration check refuses any other key: a key read must be known.
    let known = crate::config::KNOWN_KEYS.contains(&key);
    assert!(known, "invariant: the loader reads unknown key {key}");
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
        |ms| {
            // `unsigned_abs` would show a negative default as positive.
            assert!(*ms >= 0, "invariant: default of {key} is {ms} ms");
            format_duration(Duration::from_millis(ms.unsigned_abs()))
        },
        |s| {
            let d = parse_bounded_duration(s)?;
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
            // Every constructor parameter that can be invalid is read from a key.
            assert!(find(param).is_some(), "invariant: parameter {param} has no key");
            let related_found = related.is_none_or(|r| find(r).is_some());
            assert!(related_found, "invariant: parameter {related:?} has no key");
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
    match registry::restart_strategy_factory(raw_name) {
        Some(factory) => factory(conf),
        None => Err(RestartConfigError::UnknownStrategy {
            key: type_key.to_owned(),
            value: raw_name.clone(),
        }),
    }
}

fn load_none(_conf: &BTreeMap<String, String>) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
    Ok(Box::new(NoRestartBackoffTimeStrategy))
}

fn load_fixed_delay(
    conf: &BTreeMap<String, String>,
) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
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

fn load_failure_rate(
    conf: &BTreeMap<String, String>,
) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
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

fn load_supervisor(conf: &BTreeMap<String, String>) -> Result<Box<dyn RestartBackoffTimeStrategy>, RestartConfigError> {
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

#[cfg(test)]
mod tests;
