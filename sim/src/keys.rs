//! How a source's records spread over the keys: the `[job] key-distribution`
//! key, as written in a scenario (`"uniform"`, `"zipf(1.1)"`,
//! `"hot(0.8, 10)"`).
//!
//! - `uniform`: every key equally likely (the default).
//! - `zipf(s)`: key `k` (0-based) has probability proportional to
//!   `1 / (k + 1)^s`, drawn by rejection-inversion (`rand_distr::Zipf`).
//! - `hot(ratio, n)`: a share `ratio` of the records goes to the `n` hot
//!   keys `0..n`, the rest to the other keys, each group uniformly: the
//!   `hot_item_ratio` knob of CheckMate's NexMark generator.
//!
//! A key is a pure function of a 64-bit hash of `(seed, partition, offset)`,
//! so the source log and the reference draw the same key without sharing
//! state. `uniform` keeps the hash modulo the key count, as before the
//! distributions existed, so uniform runs keep their traces.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use rand_distr::Distribution;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::reference::splitmix64;

/// How records spread over the keys (validated against the key count by
/// [`KeyDistribution::check`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum KeyDistribution {
    #[default]
    Uniform,
    /// Zipf's law with exponent `s` (> 0).
    Zipf { s: f64 },
    /// A share `ratio` (0..=1) of the records on the keys `0..keys`.
    Hot { ratio: f64, keys: u64 },
}

/// Parameters are finite (checked on parsing), so equality is total.
impl Eq for KeyDistribution {}

/// A random number source whose whole state is one hash: what a key draw
/// needs to be a pure function of the record's position.
struct HashRng(u64);

impl RngCore for HashRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix64(self.0)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core_fill(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        rand_core_fill(self, dest);
        Ok(())
    }
}

fn rand_core_fill(rng: &mut HashRng, dest: &mut [u8]) {
    for chunk in dest.chunks_mut(8) {
        let bytes = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// A uniform draw in [0, 1) from a hash (53 bits).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl KeyDistribution {
    /// Whether this distribution can spread records over `keys` keys; the
    /// message names what is wrong.
    pub fn check(&self, keys: u64) -> Result<(), String> {
        match *self {
            KeyDistribution::Uniform | KeyDistribution::Zipf { .. } => Ok(()),
            KeyDistribution::Hot { keys: hot, .. } if hot >= keys => Err(format!(
                "{self} names {hot} hot keys, but the job has {keys} keys: hot keys must be fewer than all keys"
            )),
            KeyDistribution::Hot { .. } => Ok(()),
        }
    }

    /// The key, in `0..keys`, of the record whose position hashes to `h`.
    pub fn key(&self, keys: u64, h: u64) -> u64 {
        debug_assert!(
            self.check(keys).is_ok(),
            "invariant: {self} checked against {keys} keys"
        );
        let key = match *self {
            KeyDistribution::Uniform => h % keys,
            KeyDistribution::Zipf { s } => {
                let zipf = rand_distr::Zipf::new(keys, s).expect("invariant: s > 0 and keys >= 1, checked on parsing");
                // A rank in 1..=keys (as a float): rank 1 is key 0.
                zipf.sample(&mut HashRng(h)) as u64 - 1
            }
            KeyDistribution::Hot { ratio, keys: hot } => {
                let spread = splitmix64(h);
                if unit(h) < ratio {
                    spread % hot
                } else {
                    hot + spread % (keys - hot)
                }
            }
        };
        assert!(key < keys, "invariant: {self} drew key {key} of {keys}");
        key
    }

    /// The share of the records that falls on key `k` of `keys`: the exact
    /// probability the draw follows (for tests and the report's expectation).
    pub fn share(&self, keys: u64, k: u64) -> f64 {
        match *self {
            KeyDistribution::Uniform => 1.0 / keys as f64,
            KeyDistribution::Zipf { s } => {
                let norm: f64 = (1..=keys).map(|r| (r as f64).powf(-s)).sum();
                ((k + 1) as f64).powf(-s) / norm
            }
            KeyDistribution::Hot { ratio, keys: hot } if k < hot => ratio / hot as f64,
            KeyDistribution::Hot { ratio, keys: hot } => (1.0 - ratio) / (keys - hot) as f64,
        }
    }
}

impl fmt::Display for KeyDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDistribution::Uniform => f.write_str("uniform"),
            KeyDistribution::Zipf { s } => write!(f, "zipf({s})"),
            KeyDistribution::Hot { ratio, keys } => write!(f, "hot({ratio}, {keys})"),
        }
    }
}

/// The arguments of `name(a, b)`, trimmed; `None` if `s` is not that form.
fn call<'a>(s: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let args = s
        .strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    Some(args.split(',').map(str::trim).collect())
}

fn number(what: &str, text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{what} `{text}` is not a number")),
    }
}

impl FromStr for KeyDistribution {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        const FORMS: &str = "\"uniform\", \"zipf(s)\" with s > 0, or \"hot(ratio, keys)\" with 0 <= ratio <= 1";
        let s = text.trim();
        if s == "uniform" {
            return Ok(KeyDistribution::Uniform);
        }
        if let Some(args) = call(s, "zipf") {
            let [exponent] = args[..] else {
                return Err(format!("`{text}`: zipf takes one argument, the exponent"));
            };
            let s = number("the zipf exponent", exponent)?;
            if s <= 0.0 {
                return Err(format!("`{text}`: the zipf exponent must be above 0"));
            }
            return Ok(KeyDistribution::Zipf { s });
        }
        if let Some(args) = call(s, "hot") {
            let [ratio, keys] = args[..] else {
                return Err(format!(
                    "`{text}`: hot takes two arguments, the ratio and the number of hot keys"
                ));
            };
            let ratio = number("the hot ratio", ratio)?;
            if !(0.0..=1.0).contains(&ratio) {
                return Err(format!("`{text}`: the hot ratio must be between 0 and 1"));
            }
            let keys = match keys.parse::<u64>() {
                Ok(k) if k >= 1 => k,
                _ => {
                    return Err(format!(
                        "`{text}`: the number of hot keys must be a whole number of at least 1"
                    ))
                }
            };
            return Ok(KeyDistribution::Hot { ratio, keys });
        }
        Err(format!("unknown key distribution `{text}`: expected {FORMS}"))
    }
}

impl Serialize for KeyDistribution {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyDistribution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(d: KeyDistribution, keys: u64, draws: u64) -> Vec<f64> {
        let mut n = vec![0u64; keys as usize];
        for i in 0..draws {
            n[d.key(keys, splitmix64(i)) as usize] += 1;
        }
        n.into_iter().map(|c| c as f64 / draws as f64).collect()
    }

    /// Every distribution draws what its `share` says, within sampling error.
    #[test]
    fn draws_follow_the_stated_shares() {
        let keys = 50;
        for d in ["uniform", "zipf(1.2)", "zipf(0.6)", "hot(0.8, 10)", "hot(0, 3)"] {
            let d: KeyDistribution = d.parse().expect("valid");
            let got = shares(d, keys, 200_000);
            for (k, g) in got.iter().enumerate() {
                let want = d.share(keys, k as u64);
                // Five standard deviations of a binomial share.
                let tolerance = 5.0 * (want * (1.0 - want) / 200_000.0).sqrt() + 1e-9;
                assert!((g - want).abs() <= tolerance, "{d}: key {k} drew {g}, expected {want}");
            }
            let total: f64 = (0..keys).map(|k| d.share(keys, k)).sum();
            assert!((total - 1.0).abs() < 1e-9, "{d}: shares sum to {total}");
        }
    }

    #[test]
    fn hot_keys_take_the_ratio() {
        let d: KeyDistribution = "hot(0.8, 10)".parse().expect("valid");
        let got = shares(d, 300, 100_000);
        let hot: f64 = got[..10].iter().sum();
        assert!((hot - 0.8).abs() < 0.01, "hot keys drew {hot}");
    }

    #[test]
    fn uniform_keeps_the_hash_modulo_the_keys() {
        assert_eq!(KeyDistribution::Uniform.key(7, 100), 100 % 7);
    }

    #[test]
    fn forms_round_trip_and_mistakes_are_named() {
        for text in ["uniform", "zipf(1.1)", "hot(0.8, 10)"] {
            let d: KeyDistribution = text.parse().expect("valid");
            assert_eq!(d.to_string(), text);
        }
        for (bad, says) in [
            ("zipf(0)", "above 0"),
            ("zipf(x)", "not a number"),
            ("zipf(1, 2)", "one argument"),
            ("hot(1.5, 3)", "between 0 and 1"),
            ("hot(0.5, 0)", "at least 1"),
            ("hot(0.5)", "two arguments"),
            ("normal", "unknown key distribution"),
            ("zipf(inf)", "not a number"),
        ] {
            let err = bad.parse::<KeyDistribution>().expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
        let hot: KeyDistribution = "hot(0.5, 10)".parse().expect("valid");
        assert!(hot
            .check(10)
            .expect_err("as many hot keys as keys")
            .contains("fewer than all keys"));
        assert!(hot.check(11).is_ok());
    }
}
