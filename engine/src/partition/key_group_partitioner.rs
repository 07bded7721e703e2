//! Flink's key groups as a [`Partitioner`]: `murmur(hashCode(key)) %
//! maxParallelism` gives the key group, and operator `i` of `p` owns the
//! contiguous key-group range `[ceil(i·maxP/p), ceil((i+1)·maxP/p) - 1]`
//! (see [`key_groups`] for the exact ports).
//!
//! Keys are Java `long`s for hashing (`Long.hashCode`). Because ownership is
//! range partitioning of key groups, not a consistent-hash ring, growing from
//! `p` to `p + 1` moves about half of the key groups at small `p`; what the
//! scheme guarantees instead is that every key group has exactly one owner,
//! that each owner's key groups are one contiguous range, and that a key's
//! state moves only together with its whole key group.

use super::{key_groups, PartitionError, Partitioner};

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

    /// Like [`KeyGroupPartitioner::new`], with an error for a maximum
    /// parallelism outside `1..=32768`.
    pub fn try_new(max_parallelism: i32) -> Result<Self, PartitionError> {
        if (1..=key_groups::UPPER_BOUND_MAX_PARALLELISM).contains(&max_parallelism) {
            Ok(KeyGroupPartitioner { max_parallelism })
        } else {
            Err(key_groups::KeyGroupError::InvalidMaxParallelism(max_parallelism).into())
        }
    }

    /// The maximum parallelism (the number of key groups).
    pub fn max_parallelism(&self) -> i32 {
        self.max_parallelism
    }

    /// The key group of a key (keys are Java `long`s for hashing).
    pub fn key_group(&self, key: u64) -> i32 {
        let kg =
            key_groups::compute_key_group_for_key_hash(key_groups::long_hash_code(key as i64), self.max_parallelism)
                .expect("invariant: max parallelism is valid");
        assert!(
            kg < self.max_parallelism,
            "invariant: key {key} in key group {kg} of {}",
            self.max_parallelism
        );
        kg
    }
}

impl Partitioner for KeyGroupPartitioner {
    /// Asserts that the owner's key-group range (Flink's other formula)
    /// holds the key's key group: routing and state placement by range agree.
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        let kg = self.key_group(key);
        let owner = key_groups::compute_operator_index_for_key_group(self.max_parallelism, parallelism as i32, kg)
            .expect("invariant: parallelism <= max parallelism (validated)");
        let range =
            key_groups::compute_key_group_range_for_operator_index(self.max_parallelism, parallelism as i32, owner)
                .expect("invariant: the owner is an operator index of the parallelism");
        assert!(
            range.contains(kg),
            "invariant: key {key} in key group {kg} placed on operator {owner} of {parallelism}, which owns {range}"
        );
        owner as u32
    }

    fn name(&self) -> &'static str {
        "key-groups"
    }

    fn params(&self) -> String {
        format!("max-parallelism={}", self.max_parallelism)
    }

    fn check_parallelism(&self, parallelism: u32) -> Result<(), PartitionError> {
        if parallelism == 0 {
            return Err(PartitionError::ZeroParallelism);
        }
        if parallelism > self.max_parallelism as u32 {
            return Err(PartitionError::ParallelismTooLarge {
                partitioner: self.name(),
                parallelism,
                max: self.max_parallelism as u64,
            });
        }
        Ok(())
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

    #[test]
    fn bounds_are_errors() {
        assert!(KeyGroupPartitioner::try_new(0).is_err());
        assert!(KeyGroupPartitioner::try_new(32_769).is_err());
        let p = KeyGroupPartitioner::try_new(128).expect("valid");
        assert_eq!(p.check_parallelism(0), Err(PartitionError::ZeroParallelism));
        assert!(p.check_parallelism(128).is_ok());
        assert!(matches!(
            p.check_parallelism(129),
            Err(PartitionError::ParallelismTooLarge { max: 128, .. })
        ));
        assert!(p.assign(&[1, 2, 3], 129).is_err());
    }
}
