//! Byte sizes and transfer rates as scenario files write them: `"64KB"`,
//! `"1GiB"`, `"200MB/s"`, `"10Gbit/s"`. Decimal prefixes are powers of
//! 1000 (as storage vendors and NICs quote them), binary prefixes (`KiB`)
//! powers of 1024; a rate in bits counts 8 bits a byte. A bare number is
//! refused: a size or a rate without its unit is a mistake waiting to
//! happen.

use std::fmt;

/// Why a size or rate could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(String);

/// A number of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// A transfer rate in bytes per second (never zero).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Bandwidth(f64);

/// Split `"1.5 GB"` into `(1.5, "GB")`.
fn number_and_unit(text: &str) -> Result<(f64, &str), UnitError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: String = num.chars().filter(|c| *c != '_').collect();
    let value: f64 = num
        .parse()
        .map_err(|_| UnitError(format!("{text:?} does not start with a number")))?;
    if !value.is_finite() || value < 0.0 {
        return Err(UnitError(format!("{text:?} must not be negative")));
    }
    Ok((value, unit.trim()))
}

/// Bytes per unit of a size, `None` for an unknown unit.
fn size_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" | "byte" | "bytes" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0f64.powi(4),
        _ => return None,
    })
}

/// Bytes per unit of a rate's numerator (bits count 1/8).
fn rate_unit(unit: &str) -> Option<f64> {
    let bits = match unit {
        "bit" | "bits" => 1.0,
        "Kbit" | "kbit" => 1e3,
        "Mbit" => 1e6,
        "Gbit" => 1e9,
        "Tbit" => 1e12,
        _ => return size_unit(unit),
    };
    Some(bits / 8.0)
}

impl ByteSize {
    pub fn parse(text: &str) -> Result<ByteSize, UnitError> {
        let (value, unit) = number_and_unit(text)?;
        if unit.is_empty() {
            return Err(UnitError(format!(
                "{text:?} has no unit: write bytes as \"64B\", \"64KB\", \"1GiB\", ..."
            )));
        }
        let per = size_unit(unit).ok_or_else(|| {
            UnitError(format!(
                "{text:?}: unknown size unit {unit:?} (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        })?;
        let bytes = (value * per).round();
        // The cast below would turn a negative or NaN size into 0 bytes.
        assert!(bytes >= 0.0, "invariant: {text:?} gives {bytes} bytes");
        if bytes > u64::MAX as f64 / 2.0 {
            return Err(UnitError(format!("{text:?} is too large")));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (unit, per) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)] {
            let per = per as u64;
            if b >= per && b.is_multiple_of(per) {
                return write!(f, "{}{unit}", b / per);
            }
        }
        write!(f, "{b}B")
    }
}

impl Bandwidth {
    /// A rate of `bytes_per_sec` (must be positive and finite).
    pub fn bytes_per_sec(bytes_per_sec: f64) -> Bandwidth {
        assert!(
            bytes_per_sec.is_finite() && bytes_per_sec > 0.0,
            "invariant: a bandwidth is positive"
        );
        Bandwidth(bytes_per_sec)
    }

    pub fn as_bytes_per_sec(self) -> f64 {
        self.0
    }

    pub fn parse(text: &str) -> Result<Bandwidth, UnitError> {
        let Some((amount, per)) = text.trim().rsplit_once('/') else {
            return Err(UnitError(format!(
                "{text:?} is not a rate: write it as \"200MB/s\" or \"10Gbit/s\""
            )));
        };
        if per.trim() != "s" {
            return Err(UnitError(format!("{text:?}: rates are per second (\"/s\")")));
        }
        let (value, unit) = number_and_unit(amount)?;
        let bytes_per_unit = rate_unit(unit).ok_or_else(|| {
            UnitError(format!(
                "{text:?}: unknown unit {unit:?} (B, KB, MB, GB, KiB, MiB, GiB, bit, Kbit, Mbit, Gbit)"
            ))
        })?;
        let rate = value * bytes_per_unit;
        if rate <= 0.0 || !rate.is_finite() {
            return Err(UnitError(format!("{text:?} must be a positive rate")));
        }
        Ok(Bandwidth(rate))
    }

    /// Nanoseconds to move `bytes` at this rate, rounded up.
    pub fn transfer_ns(self, bytes: u64) -> u64 {
        // `bytes_per_sec` and `parse` admit positive, finite rates only.
        let rate = self.0;
        assert!(rate.is_finite() && rate > 0.0, "invariant: bandwidth {rate} B/s");
        let ns = (bytes as f64) * 1e9 / self.0;
        let ns = if ns >= u64::MAX as f64 {
            u64::MAX
        } else {
            ns.ceil() as u64
        };
        // Rounded up: moving bytes always takes time.
        assert!(bytes == 0 || ns > 0, "invariant: {bytes} B in 0 ns at {rate} B/s");
        ns
    }
}

impl fmt::Display for Bandwidth {
    /// Whole GB first (`1GB/s`), then whole Gbit (`10Gbit/s`), then MB/s
    /// or KB/s, decimal if need be (`12.5MB/s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1e9 && (self.0 / 1e9).fract() == 0.0 {
            return write!(f, "{}GB/s", self.0 / 1e9);
        }
        let gbit = self.0 * 8.0 / 1e9;
        if gbit >= 1.0 && gbit.fract() == 0.0 {
            return write!(f, "{gbit}Gbit/s");
        }
        for (unit, per) in [("MB", 1e6), ("KB", 1e3)] {
            if self.0 >= per {
                return write!(f, "{}{unit}/s", self.0 / per);
            }
        }
        write!(f, "{}B/s", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_decimal_and_binary_units() {
        assert_eq!(ByteSize::parse("64B"), Ok(ByteSize(64)));
        assert_eq!(ByteSize::parse("64KB"), Ok(ByteSize(64_000)));
        assert_eq!(ByteSize::parse("1.5 MB"), Ok(ByteSize(1_500_000)));
        assert_eq!(ByteSize::parse("10GB"), Ok(ByteSize(10_000_000_000)));
        assert_eq!(ByteSize::parse("1KiB"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("1GiB"), Ok(ByteSize(1 << 30)));
        assert_eq!(ByteSize(64_000).to_string(), "64KB");
        assert_eq!(ByteSize(1500).to_string(), "1500B");
    }

    #[test]
    fn bad_sizes_say_why() {
        for (text, why) in [
            ("64", "no unit"),
            ("-1KB", "negative"),
            ("12 parsecs", "unknown size unit"),
            ("KB", "number"),
            ("99999999999TB", "too large"),
        ] {
            let e = ByteSize::parse(text).expect_err(text).to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn rates_read_bytes_and_bits() {
        assert_eq!(Bandwidth::parse("200MB/s").map(Bandwidth::as_bytes_per_sec), Ok(200e6));
        assert_eq!(
            Bandwidth::parse("10Gbit/s").map(Bandwidth::as_bytes_per_sec),
            Ok(1.25e9)
        );
        assert_eq!(Bandwidth::parse("1GB/s").map(Bandwidth::as_bytes_per_sec), Ok(1e9));
        assert_eq!(
            Bandwidth::parse("100Mbit/s").map(|b| b.to_string()),
            Ok("12.5MB/s".into())
        );
        assert_eq!(
            Bandwidth::parse("10Gbit/s").map(|b| b.to_string()),
            Ok("10Gbit/s".into())
        );
        assert_eq!(Bandwidth::parse("8Gbit/s").map(|b| b.to_string()), Ok("1GB/s".into()));
        assert_eq!(Bandwidth::parse("200MB/s").map(|b| b.to_string()), Ok("200MB/s".into()));
        for (text, why) in [
            ("200MB", "not a rate"),
            ("200/s", "unknown unit"),
            ("0MB/s", "positive"),
            ("-5MB/s", "negative"),
            ("5MB/min", "per second"),
        ] {
            let e = Bandwidth::parse(text).expect_err(text).to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn transfer_time_is_bytes_over_rate() {
        let bw = Bandwidth::bytes_per_sec(200e6);
        assert_eq!(bw.transfer_ns(200_000_000), 1_000_000_000);
        assert_eq!(bw.transfer_ns(1), 5, "rounded up");
        assert_eq!(bw.transfer_ns(0), 0);
    }
}
