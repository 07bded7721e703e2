//! Keyed state: the running count per key, and its snapshot.
//!
//! A snapshot lists `(key, count)` pairs sorted by key. Restoring filters the
//! entries by ownership, so the same snapshot format serves a restore at the
//! same parallelism and a rescale in which state follows its keys.
//!
//! The counts live in a hash map with a fixed hash function (every record
//! touches it; an ordered map cost several times more per record). Its
//! iteration order never leaves this file: snapshots sort by key.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::partition::Partitioner;

/// A fixed multiplicative hash for `u64` keys (no per-process random
/// state): deterministic, and cheap for the hot path.
#[derive(Clone, Copy, Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        // Folded 64x64->128 multiply: both halves of the product mixed, so
        // the low bits (the bucket) depend on every bit of the key.
        let m = u128::from(self.0 ^ x) * 0x9e37_79b9_7f4a_7c15_u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Counts = HashMap<u64, u64, BuildHasherDefault<KeyHasher>>;

/// The keyed running-count state of one subtask.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyedCountState {
    counts: Counts,
}

impl std::fmt::Debug for KeyedCountState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.snapshot().entries).finish()
    }
}

/// A keyed-state snapshot: entries sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedStateSnapshot {
    pub entries: Vec<(u64, u64)>,
}

impl KeyedCountState {
    /// Count one more record for `key`; returns the new count.
    pub fn increment(&mut self, key: u64) -> u64 {
        let c = self.counts.entry(key).or_insert(0);
        *c += 1;
        *c
    }

    pub fn get(&self, key: u64) -> u64 {
        self.counts.get(&key).copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn snapshot(&self) -> KeyedStateSnapshot {
        let mut entries: Vec<(u64, u64)> = self.counts.iter().map(|(k, v)| (*k, *v)).collect();
        entries.sort_unstable();
        assert!(
            entries.iter().all(|(_, count)| *count > 0),
            "invariant: state holds only keys that were counted"
        );
        // Restores rely on it (and check it again).
        assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0),
            "invariant: a snapshot holds each key once, sorted"
        );
        KeyedStateSnapshot { entries }
    }

    /// Restore from the snapshots of the old subtasks (`(old index,
    /// snapshot)`), keeping the keys `subtask` owns at `parallelism`, and
    /// account for what moved. [`MovedKeys::Drop`] is the test-only broken
    /// variant that loses the state of keys whose owner changed.
    pub fn restore_counted<'a>(
        snapshots: impl IntoIterator<Item = (u32, &'a KeyedStateSnapshot)>,
        partitioner: &dyn Partitioner,
        subtask: u32,
        parallelism: u32,
        moved_keys: MovedKeys,
    ) -> (KeyedCountState, RestoreStats) {
        assert!(subtask < parallelism, "invariant: subtask {subtask} of {parallelism}");
        let mut counts = Counts::default();
        let mut stats = RestoreStats::default();
        for (old, s) in snapshots {
            assert!(
                s.entries.windows(2).all(|w| w[0].0 < w[1].0),
                "invariant: a snapshot holds each key once, sorted"
            );
            for &(k, v) in &s.entries {
                assert!(v > 0, "invariant: key {k} restored with count 0");
                stats.total_keys += 1;
                stats.total_fingerprint ^= key_fingerprint(k, v);
                if partitioner.owner(k, parallelism) != subtask {
                    continue;
                }
                let moved = old != subtask;
                if moved && moved_keys == MovedKeys::Drop {
                    continue;
                }
                stats.keys += 1;
                stats.moved_keys += u64::from(moved);
                stats.fingerprint ^= key_fingerprint(k, v);
                let prev = counts.insert(k, v);
                assert!(prev.is_none(), "invariant: a key is in exactly one snapshot");
            }
        }
        assert!(
            stats.moved_keys <= stats.keys && stats.keys <= stats.total_keys && counts.len() as u64 == stats.keys,
            "invariant: the kept keys are counted once, and the moved among them"
        );
        (KeyedCountState { counts }, stats)
    }

    /// Restore from snapshots, keeping only keys that `subtask` owns.
    pub fn restore<'a>(
        snapshots: impl IntoIterator<Item = &'a KeyedStateSnapshot>,
        partitioner: &dyn Partitioner,
        subtask: u32,
        parallelism: u32,
    ) -> KeyedCountState {
        assert!(subtask < parallelism, "invariant: subtask {subtask} of {parallelism}");
        let mut counts = Counts::default();
        for s in snapshots {
            assert!(
                s.entries.windows(2).all(|w| w[0].0 < w[1].0),
                "invariant: a snapshot holds each key once, sorted"
            );
            for &(k, v) in &s.entries {
                assert!(v > 0, "invariant: key {k} restored with count 0");
                if partitioner.owner(k, parallelism) == subtask {
                    let prev = counts.insert(k, v);
                    assert!(prev.is_none(), "invariant: a key is in exactly one snapshot");
                }
            }
        }
        KeyedCountState { counts }
    }
}

/// What a restore does with the keys whose owner changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovedKeys {
    /// Keep them: state follows its keys.
    Keep,
    /// Lose them (`Sabotage::RescaleDropsMovedState`).
    Drop,
}

/// What one subtask's restore kept, against everything it was offered.
/// The kept parts of all subtasks of one restore must add up to the whole:
/// every key and its count exactly once (checked by the sim's checker).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Keys kept, and of those the ones whose old owner was another subtask.
    pub keys: u64,
    pub moved_keys: u64,
    /// Keys in all the snapshots offered.
    pub total_keys: u64,
    /// XOR of [`key_fingerprint`] over the kept and over all entries.
    pub fingerprint: u64,
    pub total_fingerprint: u64,
}

/// A 64-bit fingerprint of one `(key, count)` entry (SplitMix64 mix).
pub fn key_fingerprint(key: u64, count: u64) -> u64 {
    let mut z = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ count.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::KeyGroupPartitioner;

    #[test]
    fn counts_of_sparse_keys_and_sorted_snapshots() {
        let mut s = KeyedCountState::default();
        // Keys sharing their low bits must not collide into one bucket chain.
        let keys: Vec<u64> = (0..3000u64).rev().map(|i| i << 20).collect();
        for (i, &k) in keys.iter().enumerate() {
            for _ in 0..=(i % 3) {
                s.increment(k);
            }
        }
        assert_eq!(s.len(), 3000);
        let snap = s.snapshot();
        assert!(snap.entries.windows(2).all(|w| w[0].0 < w[1].0), "sorted by key");
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(s.get(k), (i % 3) as u64 + 1);
        }
        assert_eq!(s.get(7), 0);
    }

    #[test]
    fn snapshot_restore_round_trip_and_rescale() {
        let p = KeyGroupPartitioner::new(128);
        let mut parts: Vec<KeyedCountState> = (0..2).map(|_| KeyedCountState::default()).collect();
        for key in 0..200u64 {
            for _ in 0..(key % 3 + 1) {
                parts[p.owner(key, 2) as usize].increment(key);
            }
        }
        let snaps: Vec<_> = parts.iter().map(|s| s.snapshot()).collect();
        // Same parallelism: identical state.
        for (i, s) in parts.iter().enumerate() {
            assert_eq!(&KeyedCountState::restore(&snaps, &p, i as u32, 2), s);
        }
        // Rescale 2 -> 3: every key lands exactly once with its count.
        let re: Vec<_> = (0..3).map(|i| KeyedCountState::restore(&snaps, &p, i, 3)).collect();
        assert_eq!(re.iter().map(|s| s.len()).sum::<usize>(), 200);
        for key in 0..200u64 {
            assert_eq!(re[p.owner(key, 3) as usize].get(key), key % 3 + 1);
        }
    }

    #[test]
    fn restore_stats_add_up_to_the_whole_unless_moved_state_is_dropped() {
        let p = KeyGroupPartitioner::new(128);
        let mut parts: Vec<KeyedCountState> = (0..2).map(|_| KeyedCountState::default()).collect();
        for key in 0..100u64 {
            parts[p.owner(key, 2) as usize].increment(key);
        }
        let snaps: Vec<_> = parts.iter().map(|s| s.snapshot()).collect();
        let offered = || snaps.iter().enumerate().map(|(i, s)| (i as u32, s));
        let stats: Vec<RestoreStats> = (0..3)
            .map(|i| KeyedCountState::restore_counted(offered(), &p, i, 3, MovedKeys::Keep).1)
            .collect();
        assert_eq!(stats.iter().map(|s| s.keys).sum::<u64>(), 100);
        assert_eq!(stats[0].total_keys, 100);
        let xor = stats.iter().fold(0, |a, s| a ^ s.fingerprint);
        assert_eq!(xor, stats[0].total_fingerprint);
        let moved: u64 = stats.iter().map(|s| s.moved_keys).sum();
        assert!(moved > 0 && moved < 100, "2 -> 3 moves some keys: {moved}");
        let dropped: u64 = (0..3)
            .map(|i| {
                KeyedCountState::restore_counted(offered(), &p, i, 3, MovedKeys::Drop)
                    .1
                    .keys
            })
            .sum();
        assert_eq!(dropped, 100 - moved, "the broken variant loses exactly the moved keys");
    }
}
