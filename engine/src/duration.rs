//! Duration strings in the format of Flink's `TimeUtils.parseDuration`.
//!
//! The accepted form is `<digits><optional whitespace><optional unit>`,
//! surrounded by optional whitespace. The number is a non-negative integer
//! (no sign, no fraction, no exponent). The unit label is case-insensitive:
//!
//! | unit | labels |
//! |---|---|
//! | nanoseconds | `ns`, `nano`, `nanos`, `nanosecond`, `nanoseconds` |
//! | microseconds | `µs` (micro sign or Greek mu), `us`, `micro`, `micros`, `microsecond`, `microseconds` |
//! | milliseconds | `ms`, `milli`, `millis`, `millisecond`, `milliseconds` |
//! | seconds | `s`, `sec`, `secs`, `second`, `seconds` |
//! | minutes | `m`, `min`, `mins`, `minute`, `minutes` |
//! | hours | `h`, `hour`, `hours` |
//! | days | `d`, `day`, `days` |
//!
//! A bare number means milliseconds, as in Flink. Values that do not fit in a
//! [`Duration`] (or whose number does not fit in a Java `long`) are rejected
//! instead of wrapping around.
//!
//! [`format_duration`] renders a duration compactly with the largest unit that
//! represents it exactly (`"500ms"`, `"10s"`, `"1min"`, `"1h"`, `"2d"`), so
//! that `parse_duration(&format_duration(d)) == Ok(d)` for every duration
//! whose count in that unit fits a Java `long` (every duration
//! `parse_duration` returns; not, say, `Duration::MAX`).

use std::time::Duration;

/// Error returned by [`parse_duration`]. Every variant names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The input is empty or whitespace only.
    #[error("invalid duration {input:?}: empty or whitespace-only string")]
    Empty {
        /// The offending input.
        input: String,
    },
    /// The input does not start with a decimal number.
    #[error("invalid duration {input:?}: does not start with a number")]
    NoNumber {
        /// The offending input.
        input: String,
    },
    /// The unit label is not one of the recognised labels.
    #[error(
        "invalid duration {input:?}: unit label {unit:?} is not one of \
         ns, µs/us, ms, s, m/min, h, d (or their long forms)"
    )]
    UnknownUnit {
        /// The offending input.
        input: String,
        /// The unrecognised unit label (lower-cased).
        unit: String,
    },
    /// The number or the resulting duration is too large.
    #[error("invalid duration {input:?}: value is too large")]
    Overflow {
        /// The offending input.
        input: String,
    },
}

/// Time units known to the parser, smallest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Nanos,
    Micros,
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Unit {
    fn from_label(label: &str) -> Option<Unit> {
        let unit = match label {
            "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => Unit::Nanos,
            // U+00B5 MICRO SIGN, and U+03BC GREEK SMALL LETTER MU (what the micro
            // sign becomes after an upper-case/lower-case round trip).
            "\u{b5}s" | "\u{3bc}s" | "us" | "micro" | "micros" | "microsecond" | "microseconds" => Unit::Micros,
            "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => Unit::Millis,
            "s" | "sec" | "secs" | "second" | "seconds" => Unit::Seconds,
            "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minutes,
            "h" | "hour" | "hours" => Unit::Hours,
            "d" | "day" | "days" => Unit::Days,
            _ => return None,
        };
        Some(unit)
    }

    /// Length of one unit in nanoseconds.
    fn nanos(self) -> u128 {
        match self {
            Unit::Nanos => 1,
            Unit::Micros => 1_000,
            Unit::Millis => 1_000_000,
            Unit::Seconds => 1_000_000_000,
            Unit::Minutes => 60 * 1_000_000_000,
            Unit::Hours => 3_600 * 1_000_000_000,
            Unit::Days => 86_400 * 1_000_000_000,
        }
    }

    /// The short label used by [`format_duration`].
    fn short_label(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::Micros => "us",
            Unit::Millis => "ms",
            Unit::Seconds => "s",
            Unit::Minutes => "min",
            Unit::Hours => "h",
            Unit::Days => "d",
        }
    }
}

/// The longest duration halab accepts anywhere (a scenario, a configuration
/// key, the `policy` tool): 365 days. The simulator counts time in 64-bit
/// milliseconds and nanoseconds; with every input below this bound no sum or
/// product of times in a run can wrap. Flink itself accepts any Java `long`.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// [`parse_duration`], refusing values above [`MAX_DURATION`].
pub fn parse_bounded_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s).map_err(|e| e.to_string())?;
    check_bounded(d).map_err(|m| format!("invalid duration {s:?}: {m}"))
}

/// `d` if it is at most [`MAX_DURATION`], else why not.
pub fn check_bounded(d: Duration) -> Result<Duration, String> {
    if d > MAX_DURATION {
        return Err(format!(
            "above the limit of {} that halab accepts for any duration",
            format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

/// Parses a duration like Flink's `TimeUtils.parseDuration`.
///
/// Examples: `"500"` (500 ms), `"10 s"`, `"1min"`, `"2 hours"`, `"3d"`.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty { input: s.to_owned() });
    }
    let digits_end = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, rest) = trimmed.split_at(digits_end);
    if number.is_empty() {
        return Err(DurationError::NoNumber { input: s.to_owned() });
    }
    let overflow = || DurationError::Overflow { input: s.to_owned() };
    // Flink parses the number into a Java long; larger numbers are rejected.
    let value: i64 = number.parse().map_err(|_| overflow())?;
    let label = rest.trim().to_lowercase();
    let unit = if label.is_empty() {
        Unit::Millis
    } else {
        Unit::from_label(&label).ok_or_else(|| DurationError::UnknownUnit {
            input: s.to_owned(),
            unit: label.clone(),
        })?
    };
    // `value` is non-negative because the number has no sign.
    assert!(value >= 0, "invariant: unsigned digits {number:?} parsed as {value}");
    let total_nanos = u128::from(value.unsigned_abs()) * unit.nanos();
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| overflow())?;
    let sub_nanos = u32::try_from(total_nanos % 1_000_000_000).map_err(|_| overflow())?;
    let duration = Duration::new(secs, sub_nanos);
    assert_eq!(duration.as_nanos(), total_nanos, "invariant: {s:?} lost nanos");
    Ok(duration)
}

/// Formats a duration compactly with the largest unit that represents it
/// exactly: `"500ms"`, `"10s"`, `"1min"`, `"1h"`, `"2d"`.
///
/// Whole-millisecond values that are not an exact number of seconds stay in
/// milliseconds (`"1500ms"`); values with a sub-millisecond part use `us` or
/// `ns`. Zero is `"0ms"`. The output is accepted by [`parse_duration`].
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0ms".to_owned();
    }
    const UNITS: [Unit; 7] = [
        Unit::Days,
        Unit::Hours,
        Unit::Minutes,
        Unit::Seconds,
        Unit::Millis,
        Unit::Micros,
        Unit::Nanos,
    ];
    for unit in UNITS {
        if nanos.is_multiple_of(unit.nanos()) {
            // The output reads back: its label names the same unit.
            let label = unit.short_label();
            assert_eq!(Unit::from_label(label), Some(unit), "invariant: label {label}");
            return format!("{}{label}", nanos / unit.nanos());
        }
    }
    // Unreachable in practice: every value is a whole number of nanoseconds.
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn bounded_durations_stop_at_365_days() {
        assert_eq!(parse_bounded_duration("365d"), Ok(MAX_DURATION));
        let err = parse_bounded_duration("366d").expect_err("above the bound");
        assert!(err.contains("\"366d\"") && err.contains("limit of 365d"), "{err}");
        let huge = parse_bounded_duration("2305843009213693953s").expect_err("huge");
        assert!(huge.contains("limit of 365d"), "{huge}");
        assert!(parse_bounded_duration("9223372036854775808")
            .expect_err("long")
            .contains("too large"));
    }

    #[test]
    fn bare_number_is_milliseconds() {
        assert_eq!(parse_duration("0").unwrap(), ms(0));
        assert_eq!(parse_duration("500").unwrap(), ms(500));
        assert_eq!(parse_duration("  1234  ").unwrap(), ms(1234));
    }

    #[test]
    fn every_unit_label() {
        let cases: &[(&[&str], Duration)] = &[
            (
                &["ns", "nano", "nanos", "nanosecond", "nanoseconds"],
                Duration::from_nanos(7),
            ),
            (
                &["µs", "us", "micro", "micros", "microsecond", "microseconds"],
                Duration::from_micros(7),
            ),
            (&["ms", "milli", "millis", "millisecond", "milliseconds"], ms(7)),
            (&["s", "sec", "secs", "second", "seconds"], Duration::from_secs(7)),
            (&["m", "min", "mins", "minute", "minutes"], Duration::from_secs(7 * 60)),
            (&["h", "hour", "hours"], Duration::from_secs(7 * 3600)),
            (&["d", "day", "days"], Duration::from_secs(7 * 86_400)),
        ];
        for (labels, expected) in cases {
            for label in *labels {
                for sep in ["", " ", "   ", "\t"] {
                    let text = format!("7{sep}{label}");
                    assert_eq!(parse_duration(&text).unwrap(), *expected, "{text}");
                    let upper = format!(" 7{sep}{} ", label.to_uppercase());
                    assert_eq!(parse_duration(&upper).unwrap(), *expected, "{upper}");
                }
            }
        }
    }

    #[test]
    fn flink_style_examples() {
        assert_eq!(parse_duration("1 min").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("1 h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("10 s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("1 d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("100 ms").unwrap(), ms(100));
        assert_eq!(parse_duration("0 s").unwrap(), ms(0));
        assert_eq!(
            parse_duration("9223372036854775807").unwrap(),
            ms(9_223_372_036_854_775_807)
        );
    }

    #[test]
    fn rejects_bad_input_with_message_naming_it() {
        let err = parse_duration("").unwrap_err();
        assert!(matches!(err, DurationError::Empty { .. }));
        assert!(matches!(
            parse_duration("   ").unwrap_err(),
            DurationError::Empty { .. }
        ));
        for bad in ["s", "-1s", "+1s", ".5s", "abc", "ms 10"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(matches!(err, DurationError::NoNumber { .. }), "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        for bad in ["1.5s", "10 fortnights", "5 sekunden", "1e3", "1 s s", "10msec"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(matches!(err, DurationError::UnknownUnit { .. }), "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        for bad in ["9223372036854775808", "99999999999999999999999 ms"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(matches!(err, DurationError::Overflow { .. }), "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        // Fits in a long but not in a Duration.
        let err = parse_duration("9223372036854775807 d").unwrap_err();
        assert!(matches!(err, DurationError::Overflow { .. }));
    }

    #[test]
    fn format_uses_largest_exact_unit() {
        assert_eq!(format_duration(ms(0)), "0ms");
        assert_eq!(format_duration(ms(500)), "500ms");
        assert_eq!(format_duration(ms(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1min");
        assert_eq!(format_duration(Duration::from_secs(300)), "5min");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_duration(Duration::from_secs(86_400 + 3600)), "25h");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
        assert_eq!(format_duration(Duration::from_nanos(1)), "1ns");
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(1_000_001),
            Duration::from_micros(999),
            ms(1),
            ms(1001),
            Duration::from_secs(59),
            Duration::from_secs(61),
            Duration::from_secs(7200),
            Duration::from_secs(86_400 * 365),
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{d:?}");
        }
    }
}
