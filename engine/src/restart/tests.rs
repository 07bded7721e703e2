//! Tests of the restart-strategy loader and of what all strategies share
//! (argument checks, Flink's `toString`).

use super::test_support::rng;
use super::*;

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
    let e =
        |i, m, mu, r, j, a| param_of(ExponentialDelayRestartBackoffTimeStrategy::new(i, m, mu, r, j, a).unwrap_err());
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
        FixedDelayRestartBackoffTimeStrategy::new(3, 1000)
            .expect("valid in this test")
            .describe(),
        "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=1000)"
    );
    assert_eq!(
        FailureRateRestartBackoffTimeStrategy::new(1, 60_000, 1000)
            .expect("valid in this test")
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
    let none = load_restart_strategy(&BTreeMap::new(), false).expect("valid in this test");
    assert_eq!(none.describe(), "NoRestartBackoffTimeStrategy");
    let with_cp = load_restart_strategy(&BTreeMap::new(), true).expect("valid in this test");
    assert_eq!(
        with_cp.describe(),
        ExponentialDelayRestartBackoffTimeStrategy::with_defaults().describe()
    );
    // Keys of other strategies do not select anything.
    let s = load_restart_strategy(&conf(&[(KEY_FIXED_DELAY_ATTEMPTS, "5")]), false).expect("valid in this test");
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
            let s = load(&[(key, name)]).expect("valid in this test");
            assert!(s.describe().starts_with(prefix), "{key}={name}: {}", s.describe());
        }
    }
}

#[test]
fn loader_type_key_wins_over_deprecated_alias() {
    let s = load(&[(KEY_TYPE, "none"), (KEY_TYPE_DEPRECATED, "fixed-delay")]).expect("valid in this test");
    assert_eq!(s.describe(), "NoRestartBackoffTimeStrategy");
    // Even with checkpointing, an explicit "none" wins over the default.
    let s = load_restart_strategy(&conf(&[(KEY_TYPE_DEPRECATED, "off")]), true).expect("valid in this test");
    assert!(!s.can_restart(0));
}

#[test]
fn loader_flink_defaults_per_strategy() {
    assert_eq!(
        load(&[(KEY_TYPE, "fixed-delay")])
            .expect("valid in this test")
            .describe(),
        "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=1, backoffTimeMS=1000)"
    );
    assert_eq!(
        load(&[(KEY_TYPE, "failure-rate")])
            .expect("valid in this test")
            .describe(),
        "FailureRateRestartBackoffTimeStrategy(FailureRateRestartBackoffTimeStrategy(\
         failuresIntervalMS=60000,backoffTimeMS=1000,maxFailuresPerInterval=1)"
    );
    assert_eq!(
        load(&[(KEY_TYPE, "exponential-delay")])
            .expect("valid in this test")
            .describe(),
        ExponentialDelayRestartBackoffTimeStrategy::with_defaults().describe()
    );
    assert_eq!(
        load(&[(KEY_TYPE, "supervisor")])
            .expect("valid in this test")
            .describe(),
        SupervisorIntensity::otp_default().describe()
    );
    assert_eq!(
        load(&[(KEY_TYPE, "crash-loop-backoff")])
            .expect("valid in this test")
            .describe(),
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
    .expect("valid in this test");
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
    .expect("valid in this test");
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
    .expect("valid in this test");
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
    .expect("valid in this test");
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
    .expect("valid in this test");
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
    .expect("valid in this test");
    assert_eq!(
        s.describe(),
        "SupervisorIntensity(intensity=10, periodMS=60000, delayMS=100, restartsInPeriod=0)"
    );
    assert_eq!(s.backoff_time_ms(0), Ok(100));
}

#[test]
fn loaded_strategy_behaves() {
    let mut r = rng();
    let mut s = load(&[(KEY_TYPE, "fixed-delay"), (KEY_FIXED_DELAY_ATTEMPTS, "2")]).expect("valid in this test");
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
