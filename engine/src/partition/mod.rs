//! Partitioners: which subtask owns a key.
//!
//! The same function routes records on a `Hash` edge and places keyed state, so
//! a record always reaches the subtask that holds its key's state.
//! [`KeyGroupPartitioner`] is Flink's scheme (key → key group → contiguous
//! key-group range per subtask), built on the exact ports in [`key_groups`].

pub mod key_groups;

use std::fmt;

/// Maps keys to owning subtasks.
pub trait Partitioner: Send + Sync + fmt::Debug {
    /// The subtask in `0..parallelism` that owns `key`.
    fn owner(&self, key: u64, parallelism: u32) -> u32;
    /// A short name for reports and the trace.
    fn name(&self) -> &'static str;
}

/// Flink's key groups: `murmur(hashCode(key)) % maxParallelism`, then the
/// key group's operator index `kg * p / maxP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyGroupPartitioner {
    max_parallelism: i32,
}

impl KeyGroupPartitioner {
    /// `max_parallelism` must be within 1..=32768 (validated by the config).
    pub fn new(max_parallelism: i32) -> Self {
        assert!(
            (1..=key_groups::UPPER_BOUND_MAX_PARALLELISM).contains(&max_parallelism),
            "invariant: max parallelism validated by EngineConfig"
        );
        KeyGroupPartitioner { max_parallelism }
    }

    /// The key group of a key (keys are Java `long`s for hashing).
    pub fn key_group(&self, key: u64) -> i32 {
        key_groups::compute_key_group_for_key_hash(key_groups::long_hash_code(key as i64), self.max_parallelism)
            .expect("invariant: max parallelism is valid")
    }
}

impl Partitioner for KeyGroupPartitioner {
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        let kg = self.key_group(key);
        key_groups::compute_operator_index_for_key_group(self.max_parallelism, parallelism as i32, kg)
            .expect("invariant: parallelism <= max parallelism (validated)") as u32
    }

    fn name(&self) -> &'static str {
        "key-groups"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_in_range_and_match_key_group_ranges() {
        let p = KeyGroupPartitioner::new(128);
        for key in 0..5000u64 {
            let o = p.owner(key, 5);
            assert!(o < 5);
            let range = key_groups::compute_key_group_range_for_operator_index(128, 5, o as i32).expect("valid");
            assert!(range.contains(p.key_group(key)));
        }
    }
}
