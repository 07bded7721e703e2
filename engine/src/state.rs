//! Keyed state: the running count per key, and its snapshot.
//!
//! A snapshot lists `(key, count)` pairs sorted by key. Restoring filters the
//! entries by ownership, so the same snapshot format serves a restore at the
//! same parallelism and a rescale in which state follows its keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::partition::Partitioner;

/// The keyed running-count state of one subtask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyedCountState {
    counts: BTreeMap<u64, u64>,
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
        KeyedStateSnapshot {
            entries: self.counts.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }

    /// Restore from snapshots, keeping only keys that `subtask` owns.
    pub fn restore<'a>(
        snapshots: impl IntoIterator<Item = &'a KeyedStateSnapshot>,
        partitioner: &dyn Partitioner,
        subtask: u32,
        parallelism: u32,
    ) -> KeyedCountState {
        let mut counts = BTreeMap::new();
        for s in snapshots {
            for &(k, v) in &s.entries {
                if partitioner.owner(k, parallelism) == subtask {
                    let prev = counts.insert(k, v);
                    assert!(prev.is_none(), "invariant: a key is in exactly one snapshot");
                }
            }
        }
        KeyedCountState { counts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::KeyGroupPartitioner;

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
}
