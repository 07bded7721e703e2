//! Consistent hashing with bounded loads (Mirrokni, Thorup and
//! Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018).
//!
//! Keys and owners sit on the same ring as [`ring`](super::ring) (with
//! virtual nodes). Placing `K` keys on `n` owners, every owner has the
//! capacity `C = ceil((1 + ε)·K/n)`; keys are placed in the order given, each
//! on the first point at or after it whose owner still has room (linear
//! probing along the ring). The result depends on the whole key set and its
//! order, so this partitioner is defined by [`Partitioner::assign`]; to
//! compare two parallelisms, place the same key sequence twice.
//!
//! [`Partitioner::owner`] cannot see the other keys: it answers with the
//! key's first choice on the ring, which is its owner whenever that owner was
//! not full (with a large ε, always). Anything that needs the load bound per
//! key (routing and state placement together) must use an assignment table
//! built by `assign`.
//!
//! Bounds:
//! * Balance: no owner gets more than `C` keys, so `max/mean <= C/(K/n) <
//!   1 + ε + n/K`. The capacity is computed in `f64` and rounded up after
//!   removing a few ulps of rounding error, so that for example `1.1·110/11`
//!   gives 11 and not 12; it is never below `ceil(K/n)`.
//! * Movement: the paper shows that adding or removing an owner moves, in
//!   expectation, at most `O(1/ε²)` times the optimum number of keys for
//!   `ε <= 1`. Keys can move between old owners (an overflow cascades).
//! * Cost: the expected probe length is `O(1/ε²)` points for `ε <= 1`.

use std::fmt;
use std::sync::Arc;

use super::cache::TableCache;
use super::ring::{check_ring, check_vnodes, HashRing};
use super::{PartitionError, Partitioner};

/// Default ε (the capacity factor is `1 + ε = 1.25`, as Vimeo and HAProxy
/// use in practice).
pub const DEFAULT_EPSILON: f64 = 0.25;

/// The capacity of every owner when `keys` keys are placed on `owners`
/// owners: `ceil((1 + ε)·keys/owners)`, and at least `ceil(keys/owners)`.
pub fn capacity(keys: usize, owners: u32, epsilon: f64) -> u64 {
    let owners = u64::from(owners.max(1));
    let keys = keys as u64;
    let exact = (1.0 + epsilon) * keys as f64 / owners as f64;
    // Remove a few ulps so that a product that is an integer in exact
    // arithmetic is not rounded up to the next integer.
    let bounded = (exact * (1.0 - 4.0 * f64::EPSILON)).ceil();
    let bounded = if bounded.is_finite() && bounded < u64::MAX as f64 {
        bounded as u64
    } else {
        u64::MAX
    };
    let capacity = bounded.max(keys.div_ceil(owners));
    assert!(
        capacity.saturating_mul(owners) >= keys,
        "invariant: capacity {capacity} on {owners} owners holds {keys} keys"
    );
    capacity
}

/// Validates ε.
fn check_epsilon(epsilon: f64) -> Result<(), PartitionError> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(PartitionError::BadEpsilon(epsilon))
    }
}

/// Consistent hashing with bounded loads on a ring with `vnodes` virtual
/// nodes per owner.
pub struct BoundedLoadsPartitioner {
    vnodes: u32,
    epsilon: f64,
    rings: TableCache<HashRing>,
}

impl BoundedLoadsPartitioner {
    /// `vnodes` in `1..=MAX_VNODES`; `epsilon` finite and `> 0`.
    pub fn new(vnodes: u32, epsilon: f64) -> Result<Self, PartitionError> {
        check_vnodes(vnodes)?;
        check_epsilon(epsilon)?;
        Ok(BoundedLoadsPartitioner {
            vnodes,
            epsilon,
            rings: TableCache::default(),
        })
    }

    /// Virtual nodes per owner.
    pub fn vnodes(&self) -> u32 {
        self.vnodes
    }

    /// The balance parameter ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    fn ring(&self, parallelism: u32) -> Arc<HashRing> {
        super::ring::cached_ring(&self.rings, parallelism, self.vnodes)
    }
}

impl fmt::Debug for BoundedLoadsPartitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedLoadsPartitioner")
            .field("vnodes", &self.vnodes)
            .field("epsilon", &self.epsilon)
            .finish()
    }
}

impl Partitioner for BoundedLoadsPartitioner {
    /// The key's first choice on the ring (see the module docs).
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        let owner = self.ring(parallelism).owner(key);
        assert!(
            owner < parallelism,
            "invariant: key {key} on owner {owner} of {parallelism}"
        );
        owner
    }

    fn name(&self) -> &'static str {
        "bounded-loads"
    }

    fn params(&self) -> String {
        format!("vnodes={} epsilon={}", self.vnodes, self.epsilon)
    }

    fn check_parallelism(&self, parallelism: u32) -> Result<(), PartitionError> {
        check_ring(self.name(), parallelism, self.vnodes)
    }

    fn assign(&self, keys: &[u64], parallelism: u32) -> Result<Vec<u32>, PartitionError> {
        self.check_parallelism(parallelism)?;
        let ring = self.ring(parallelism);
        let cap = capacity(keys.len(), parallelism, self.epsilon);
        assert!(
            cap.saturating_mul(u64::from(parallelism)) >= keys.len() as u64,
            "invariant: capacity {cap} on {parallelism} owners holds {} keys",
            keys.len()
        );
        let mut loads = vec![0u64; parallelism as usize];
        let points = ring.len();
        let mut owners = Vec::with_capacity(keys.len());
        for &key in keys {
            let start = ring.successor(HashRing::key_position(key));
            // Every owner has points on the ring and `cap * n >= K`, so some
            // owner still has room while a key is unplaced: one lap suffices.
            let owner = (0..points)
                .map(|step| ring.point_owner((start + step) % points))
                .find(|&o| loads[o as usize] < cap)
                .expect("invariant: total capacity covers every key");
            loads[owner as usize] += 1;
            owners.push(owner);
        }
        assert!(
            loads.iter().all(|&l| l <= cap) && loads.iter().sum::<u64>() == keys.len() as u64,
            "invariant: {} keys placed once each within capacity {cap}: {loads:?}",
            keys.len()
        );
        Ok(owners)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::RingPartitioner;

    #[test]
    fn capacity_examples() {
        assert_eq!(capacity(100, 10, 0.25), 13); // 12.5 -> 13
        assert_eq!(capacity(110, 11, 0.1), 11); // exactly 11, not 12
        assert_eq!(capacity(1_000_000, 11, 0.25), 113_637); // 113636.36 -> 113637
        assert_eq!(capacity(7, 3, 1e-9), 3); // never below ceil(K/n)
        assert_eq!(capacity(0, 4, 0.5), 0);
        assert_eq!(capacity(10, 1, 0.5), 15);
    }

    #[test]
    fn loads_never_exceed_capacity() {
        let p = BoundedLoadsPartitioner::new(16, 0.05).expect("valid");
        let keys: Vec<u64> = (0..5000).collect();
        for n in [1, 2, 3, 7, 20] {
            let a = p.assign(&keys, n).expect("valid");
            let mut loads = vec![0u64; n as usize];
            for &o in &a {
                loads[o as usize] += 1;
            }
            let cap = capacity(keys.len(), n, 0.05);
            assert!(loads.iter().all(|&l| l <= cap), "n={n}: {loads:?} cap {cap}");
        }
    }

    #[test]
    fn huge_epsilon_is_the_plain_ring() {
        let keys: Vec<u64> = (0..3000).collect();
        let bounded = BoundedLoadsPartitioner::new(40, 1e6).expect("valid");
        let ring = RingPartitioner::new(40).expect("valid");
        for n in [1, 5, 13] {
            let a = bounded.assign(&keys, n).expect("valid");
            assert_eq!(a, ring.assign(&keys, n).expect("valid"));
            assert!(keys.iter().zip(&a).all(|(&k, &o)| bounded.owner(k, n) == o));
        }
    }

    #[test]
    fn bad_parameters() {
        for eps in [0.0, -0.5, f64::NAN, f64::INFINITY] {
            assert!(BoundedLoadsPartitioner::new(10, eps).is_err(), "{eps}");
        }
        assert!(BoundedLoadsPartitioner::new(0, 0.25).is_err());
        let p = BoundedLoadsPartitioner::new(10, 0.25).expect("valid");
        assert_eq!(p.assign(&[1], 0), Err(PartitionError::ZeroParallelism));
        assert_eq!(p.assign(&[], 3), Ok(vec![]));
    }
}
