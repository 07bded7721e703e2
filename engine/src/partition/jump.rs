//! Jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory,
//! Consistent Hash Algorithm", 2014).
//!
//! [`jump_consistent_hash`] is the paper's reference function, bit for bit:
//! a 64-bit linear congruential step per jump and the same `f64` division.
//! The partitioner first scrambles the key with [`splitmix64`], because the
//! reference function expects a uniformly distributed 64-bit key and halab's
//! keys are small integers.
//!
//! Bounds:
//! * Movement: growing from `n` to `n + 1` buckets moves a key only to the
//!   new bucket `n`, with probability `1/(n+1)`; this is the optimum.
//!   Buckets can only be added or removed at the end (owner `n - 1`).
//! * Balance: each key lands in each bucket with probability `1/n`, so loads
//!   are multinomial, like rendezvous hashing.
//! * Cost: `O(ln n)` expected steps, no memory.

use super::hash::splitmix64;
use super::{PartitionError, Partitioner};

/// The reference `JumpConsistentHash(key, num_buckets)`; returns a bucket in
/// `0..num_buckets`, or `-1` when `num_buckets <= 0` (as the C++ does).
pub fn jump_consistent_hash(mut key: u64, num_buckets: i32) -> i32 {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < i64::from(num_buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1_i64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    assert!(
        (0..i64::from(num_buckets)).contains(&b) || (num_buckets <= 0 && b == -1),
        "invariant: jump placed a key in bucket {b} of {num_buckets}"
    );
    b as i32
}

/// Jump consistent hash over owners `0..n`, on `splitmix64(key)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JumpPartitioner;

impl Partitioner for JumpPartitioner {
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        let bucket = jump_consistent_hash(splitmix64(key), parallelism as i32);
        assert!(bucket >= 0, "invariant: parallelism validated to be in 1..=i32::MAX");
        assert!(
            (bucket as u32) < parallelism,
            "invariant: key {key} on owner {bucket} of {parallelism}"
        );
        bucket as u32
    }

    fn name(&self) -> &'static str {
        "jump"
    }

    fn check_parallelism(&self, parallelism: u32) -> Result<(), PartitionError> {
        if parallelism == 0 {
            Err(PartitionError::ZeroParallelism)
        } else if parallelism > i32::MAX as u32 {
            Err(PartitionError::ParallelismTooLarge {
                partitioner: self.name(),
                parallelism,
                max: i32::MAX as u64,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // Values of the paper's reference function, as published in
        // ClickHouse's `jumpConsistentHash` tests and recomputed with an
        // independent implementation of the C++ code.
        assert_eq!(jump_consistent_hash(1, 1), 0);
        assert_eq!(jump_consistent_hash(42, 57), 43);
        assert_eq!(jump_consistent_hash(256, 1024), 520);
        assert_eq!(jump_consistent_hash(3_735_883_980, 1), 0);
        assert_eq!(jump_consistent_hash(3_735_883_980, 666), 361);
        assert_eq!(jump_consistent_hash(16_045_690_984_833_335_023, 255), 237);
        assert_eq!(jump_consistent_hash(0, 60), 0);
        assert_eq!(jump_consistent_hash(1, 60), 55);
        assert_eq!(jump_consistent_hash(2, 60), 46);
    }

    #[test]
    fn non_positive_buckets() {
        assert_eq!(jump_consistent_hash(7, 0), -1);
        assert_eq!(jump_consistent_hash(7, -5), -1);
        assert_eq!(
            JumpPartitioner.check_parallelism(0),
            Err(PartitionError::ZeroParallelism)
        );
        assert!(JumpPartitioner.check_parallelism(u32::MAX).is_err());
    }

    #[test]
    fn keys_only_jump_forward() {
        // As buckets are added one by one a key's bucket never decreases, and
        // changes only to the newest bucket.
        for key in 0..300u64 {
            let mut prev = 0;
            for n in 1..64 {
                let b = jump_consistent_hash(key, n);
                assert!(b == prev || b == n - 1, "key {key}: {prev} -> {b} at {n}");
                prev = b;
            }
        }
    }
}
