//! Durations as run records write them (`"6966ms"`, `"2s"`, `"1min"`, or a
//! bare number of milliseconds), read into whole milliseconds.
//!
//! The simulator writes fault times with Flink's duration syntax
//! (`TimeUtils.parseDuration`): digits, optional whitespace, an optional
//! case-insensitive unit label. This is a small copy of that grammar so that
//! the reports crate needs no other halab crate.

/// A duration text that is not in Flink's syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Nanoseconds per unit, for every label Flink accepts.
fn unit_nanos(label: &str) -> Option<u128> {
    Some(match label {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "\u{b5}s" | "\u{3bc}s" | "us" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        "d" | "day" | "days" => 86_400_000_000_000,
        _ => return None,
    })
}

/// Parse a duration into whole milliseconds (sub-millisecond parts are
/// dropped, as the records' times are in milliseconds).
pub fn parse_duration_ms(input: &str) -> Result<u64, DurationError> {
    let err = |reason| DurationError {
        input: input.to_string(),
        reason,
    };
    let text = input.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    if digits_end == 0 {
        return Err(err("does not start with a number"));
    }
    let number: u128 = text[..digits_end].parse().map_err(|_| err("number too large"))?;
    let label = text[digits_end..].trim_start().to_lowercase();
    let nanos = unit_nanos(&label).ok_or_else(|| err("unknown unit"))?;
    let ms = number
        .checked_mul(nanos)
        .map(|n| n / 1_000_000)
        .ok_or_else(|| err("value too large"))?;
    u64::try_from(ms).map_err(|_| err("value too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_simulator_writes() {
        assert_eq!(parse_duration_ms("6966ms"), Ok(6966));
        assert_eq!(parse_duration_ms("2s"), Ok(2000));
        assert_eq!(parse_duration_ms("1min"), Ok(60_000));
        assert_eq!(parse_duration_ms("0ms"), Ok(0));
        assert_eq!(parse_duration_ms("250"), Ok(250));
        assert_eq!(parse_duration_ms(" 3 S "), Ok(3000));
        assert_eq!(parse_duration_ms("1500us"), Ok(1));
        assert!(parse_duration_ms("ms").is_err());
        assert!(parse_duration_ms("5 parsecs").is_err());
        assert!(parse_duration_ms("99999999999999999999999d").is_err());
    }
}
