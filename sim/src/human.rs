//! Humane durations, sizes and rates in scenario files and records:
//! `"500ms"`, `"10s"`, `"64KB"`, `"200MB/s"`.

use std::fmt;
use std::time::Duration;

use halab_engine::duration::{format_duration, parse_bounded_duration};
use halab_engine::resources::units::{Bandwidth, ByteSize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as text with its unit (`"1s"`, `"250ms"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn from_millis(ms: u64) -> Self {
        HumanDuration(Duration::from_millis(ms))
    }

    pub fn as_millis(&self) -> u64 {
        self.0.as_millis() as u64
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\" or \"10s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                if v.trim().parse::<f64>().is_ok() {
                    return Err(E::custom(without_unit(v.trim())));
                }
                parse_bounded_duration(v).map(HumanDuration).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                Err(E::custom(without_unit(&v.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                Err(E::custom(without_unit(&v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                Err(E::custom(without_unit(&v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// The refusal of a duration written without a unit: halab's own keys
/// take none by default, so a forgotten unit cannot turn seconds into
/// milliseconds (Flink's keys in `[config]` keep Flink's rule).
fn without_unit(v: &str) -> String {
    format!("the duration `{v}` has no unit: write \"{v}ms\", \"{v}s\" or \"{v}min\"")
}

/// A byte size as written: `"64KB"`, `"10GB"`; a bare integer is bytes
/// (for keys whose name says bytes, such as `record-bytes = 100`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanBytes(pub u64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ByteSize(self.0).fmt(f)
    }
}

impl Serialize for HumanBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HumanBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"64KB\" or \"10GB\", or a number of bytes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanBytes, E> {
                ByteSize::parse(v).map(|b| HumanBytes(b.0)).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanBytes, E> {
                Ok(HumanBytes(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanBytes, E> {
                u64::try_from(v)
                    .map(HumanBytes)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A transfer rate as written: `"200MB/s"`, `"10Gbit/s"` (a unit is required).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct HumanRate(pub Bandwidth);

impl fmt::Display for HumanRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for HumanRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HumanRate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate with its unit, such as \"200MB/s\" or \"10Gbit/s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanRate, E> {
                Bandwidth::parse(v).map(HumanRate).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}
