//! The pure functions of the stateless operators: a map's function and a
//! filter's predicate, written in scenario files as short expressions.
//!
//! | operator | expression        | meaning                                   |
//! |----------|-------------------|-------------------------------------------|
//! | map      | `value * N`       | multiply the value                        |
//! | map      | `value * N / D`   | scale the value (NexMark q1's conversion), rounding down |
//! | map      | `value + N`       | add to the value                          |
//! | map      | `key % N`         | re-key: the key modulo `N` (`N` ≥ 1)      |
//! | filter   | `key % N == R`    | keep records whose key modulo `N` is `R`  |
//! | filter   | `value % N == R`  | keep records whose value modulo `N` is `R`|
//! | filter   | `value >= N`      | keep records whose value is at least `N`  |
//! | filter   | `value < N`       | keep records whose value is below `N`     |
//! | filter   | `value == N`      | keep records whose value is `N`           |
//!
//! Arithmetic saturates, so every function is total. The simulator's
//! reference interpreter applies the same functions, so the engine and the
//! reference cannot disagree on what a function means.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::record::Record;

/// A map operator's function: one record in, one record out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapFunction {
    /// `value * N`.
    ScaleValue(u64),
    /// `value * N / D` (`D` ≥ 1), rounded down, computed without overflow.
    ScaleValueBy { numerator: u64, denominator: u64 },
    /// `value + N`.
    AddToValue(u64),
    /// `key % N`: the record gets a new key (a later key-by regroups it).
    KeyModulo(u64),
}

/// A filter operator's predicate: which records go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilterPredicate {
    /// `key % N == R`.
    KeyModulo { modulus: u64, remainder: u64 },
    /// `value % N == R`.
    ValueModulo { modulus: u64, remainder: u64 },
    /// `value >= N`.
    ValueAtLeast(u64),
    /// `value < N`.
    ValueBelow(u64),
    /// `value == N`.
    ValueEquals(u64),
}

impl FilterPredicate {
    /// Whether the predicate reads the record's value. After a running
    /// count a value depends on the order the count saw its key's records,
    /// so which records pass such a filter depends on that order too.
    pub fn reads_value(&self) -> bool {
        !matches!(self, FilterPredicate::KeyModulo { .. })
    }
}

impl MapFunction {
    pub fn apply(&self, r: Record) -> Record {
        match *self {
            MapFunction::ScaleValue(n) => Record {
                value: r.value.saturating_mul(n),
                ..r
            },
            MapFunction::AddToValue(n) => Record {
                value: r.value.saturating_add(n),
                ..r
            },
            MapFunction::ScaleValueBy { numerator, denominator } => {
                assert!(denominator > 0, "invariant: `/ 0` is refused when parsed");
                let v = u128::from(r.value) * u128::from(numerator) / u128::from(denominator);
                Record {
                    value: u64::try_from(v).unwrap_or(u64::MAX),
                    ..r
                }
            }
            MapFunction::KeyModulo(n) => {
                assert!(n > 0, "invariant: `key % 0` is refused when parsed");
                Record { key: r.key % n, ..r }
            }
        }
    }
}

impl FilterPredicate {
    pub fn test(&self, r: &Record) -> bool {
        match *self {
            FilterPredicate::KeyModulo { modulus, remainder } => {
                assert!(modulus > 0, "invariant: `% 0` is refused when parsed");
                r.key % modulus == remainder
            }
            FilterPredicate::ValueModulo { modulus, remainder } => {
                assert!(modulus > 0, "invariant: `% 0` is refused when parsed");
                r.value % modulus == remainder
            }
            FilterPredicate::ValueAtLeast(n) => r.value >= n,
            FilterPredicate::ValueBelow(n) => r.value < n,
            FilterPredicate::ValueEquals(n) => r.value == n,
        }
    }
}

impl fmt::Display for MapFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapFunction::ScaleValue(n) => write!(f, "value * {n}"),
            MapFunction::AddToValue(n) => write!(f, "value + {n}"),
            MapFunction::ScaleValueBy { numerator, denominator } => write!(f, "value * {numerator} / {denominator}"),
            MapFunction::KeyModulo(n) => write!(f, "key % {n}"),
        }
    }
}

impl fmt::Display for FilterPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterPredicate::KeyModulo { modulus, remainder } => write!(f, "key % {modulus} == {remainder}"),
            FilterPredicate::ValueModulo { modulus, remainder } => write!(f, "value % {modulus} == {remainder}"),
            FilterPredicate::ValueAtLeast(n) => write!(f, "value >= {n}"),
            FilterPredicate::ValueBelow(n) => write!(f, "value < {n}"),
            FilterPredicate::ValueEquals(n) => write!(f, "value == {n}"),
        }
    }
}

/// The words of an expression, split on white space and around operators.
fn tokens(s: &str) -> Vec<String> {
    let spaced = s.replace("==", " == ").replace(">=", " >= ").replace('<', " < ");
    let spaced: String = spaced
        .chars()
        .flat_map(|c| match c {
            '*' | '+' | '%' | '/' => vec![' ', c, ' '],
            c => vec![c],
        })
        .collect();
    spaced.split_whitespace().map(str::to_string).collect()
}

fn number(word: &str, expr: &str) -> Result<u64, String> {
    word.parse()
        .map_err(|_| format!("`{word}` in `{expr}` is not a whole number"))
}

fn positive(word: &str, expr: &str) -> Result<u64, String> {
    match number(word, expr)? {
        0 => Err(format!("`{expr}` divides by zero")),
        n => Ok(n),
    }
}

impl FromStr for MapFunction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = tokens(s);
        let words: Vec<&str> = t.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["value", "*", n] => Ok(MapFunction::ScaleValue(number(n, s)?)),
            ["value", "*", n, "/", d] => Ok(MapFunction::ScaleValueBy {
                numerator: number(n, s)?,
                denominator: positive(d, s)?,
            }),
            ["value", "+", n] => Ok(MapFunction::AddToValue(number(n, s)?)),
            ["key", "%", n] => Ok(MapFunction::KeyModulo(positive(n, s)?)),
            _ => Err(format!(
                "`{s}` is not a map function (expected `value * N`, `value * N / D`, `value + N` or `key % N`)"
            )),
        }
    }
}

impl FromStr for FilterPredicate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = tokens(s);
        let words: Vec<&str> = t.iter().map(String::as_str).collect();
        let modulo = |m: &str, r: &str| -> Result<(u64, u64), String> {
            let (modulus, remainder) = (positive(m, s)?, number(r, s)?);
            if remainder >= modulus {
                return Err(format!("`{s}` is never true: the remainder is below {modulus}"));
            }
            Ok((modulus, remainder))
        };
        match words.as_slice() {
            ["key", "%", m, "==", r] => {
                let (modulus, remainder) = modulo(m, r)?;
                Ok(FilterPredicate::KeyModulo { modulus, remainder })
            }
            ["value", "%", m, "==", r] => {
                let (modulus, remainder) = modulo(m, r)?;
                Ok(FilterPredicate::ValueModulo { modulus, remainder })
            }
            ["value", ">=", n] => Ok(FilterPredicate::ValueAtLeast(number(n, s)?)),
            ["value", "<", n] => Ok(FilterPredicate::ValueBelow(number(n, s)?)),
            ["value", "==", n] => Ok(FilterPredicate::ValueEquals(number(n, s)?)),
            _ => Err(format!(
                "`{s}` is not a filter predicate (expected `key % N == R`, `value % N == R`, `value >= N`, `value < N` or `value == N`)"
            )),
        }
    }
}

macro_rules! serde_as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(MapFunction);
serde_as_text!(FilterPredicate);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Origin;

    fn rec(key: u64, value: u64) -> Record {
        Record {
            key,
            value,
            origin: Origin {
                partition: 1,
                offset: 2,
            },
            timestamp_ms: 3,
        }
    }

    #[test]
    fn expressions_round_trip_through_their_text() {
        for text in ["value * 3", "value * 908 / 1000", "value + 0", "key % 7"] {
            let f: MapFunction = text.parse().expect(text);
            assert_eq!(f.to_string(), text);
        }
        for text in [
            "key % 3 == 0",
            "value % 2 == 1",
            "value >= 10",
            "value < 4",
            "value == 10",
        ] {
            let p: FilterPredicate = text.parse().expect(text);
            assert_eq!(p.to_string(), text);
        }
        assert_eq!("value*3".parse::<MapFunction>(), Ok(MapFunction::ScaleValue(3)));
        assert_eq!(
            "key%4==1".parse::<FilterPredicate>(),
            Ok(FilterPredicate::KeyModulo {
                modulus: 4,
                remainder: 1
            })
        );
    }

    #[test]
    fn functions_apply_as_written() {
        let r = rec(10, 4);
        assert_eq!(MapFunction::ScaleValue(3).apply(r), rec(10, 12));
        assert_eq!(MapFunction::AddToValue(3).apply(r), rec(10, 7));
        assert_eq!(MapFunction::KeyModulo(3).apply(r), rec(1, 4));
        assert_eq!(MapFunction::ScaleValue(u64::MAX).apply(r).value, u64::MAX);
        let q1: MapFunction = "value * 908 / 1000".parse().expect("q1");
        assert_eq!(q1.apply(rec(1, 12_345)).value, 11_209, "12,345 * 0.908 = 11,209.26");
        assert_eq!(
            q1.apply(rec(1, u64::MAX)).value,
            u64::MAX / 1000 * 908 + 908 * (u64::MAX % 1000) / 1000
        );
        let p = |s: &str| s.parse::<FilterPredicate>().expect(s);
        assert!(p("value < 5").test(&r) && !p("value < 4").test(&r));
        assert!(p("value == 4").test(&r) && !p("value == 5").test(&r));
        assert!(p("key % 3 == 1").test(&r) && !p("key % 3 == 0").test(&r));
        assert!(p("value % 4 == 0").test(&r) && !p("value % 3 == 0").test(&r));
        assert!(p("value >= 4").test(&r) && !p("value >= 5").test(&r));
        assert!(!p("key % 5 == 0").reads_value() && p("value >= 1").reads_value());
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let e = "key % 0".parse::<MapFunction>().unwrap_err();
        assert!(e.contains("divides by zero"), "{e}");
        let e = "value / 2".parse::<MapFunction>().unwrap_err();
        assert!(e.contains("not a map function"), "{e}");
        let e = "value * 908 / 0".parse::<MapFunction>().unwrap_err();
        assert!(e.contains("divides by zero"), "{e}");
        let e = "key % 3 == 3".parse::<FilterPredicate>().unwrap_err();
        assert!(e.contains("never true"), "{e}");
        let e = "value >= x".parse::<FilterPredicate>().unwrap_err();
        assert!(e.contains("`x`"), "{e}");
    }
}
