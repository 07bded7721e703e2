//! Consistent hashing on a ring with virtual nodes (Karger et al., 1997).
//!
//! Owner `o` is placed at `vnodes` points `hash2(o, v)` (`v` in
//! `0..vnodes`) of the 64-bit ring; a key at `splitmix64(key)` belongs to the
//! owner of the first point at or after it, wrapping around. Ties between
//! equal points go to the smaller owner.
//!
//! Bounds:
//! * Movement: an owner's points do not depend on how many owners there are,
//!   so growing from `n` to `n + 1` owners only moves keys onto the new
//!   owner's points, about `1/(n+1)` of them; shrinking moves only the keys of
//!   the removed owners.
//! * Balance: each owner's share of the ring is a sum of `vnodes` arc lengths,
//!   with a relative standard deviation of about `1/sqrt(vnodes)`; with the
//!   default 160 virtual nodes (as in ketama) the most loaded of ten owners
//!   carries typically 10–20% more than the mean.

use std::fmt;

use super::cache::TableCache;
use super::hash::{hash2, splitmix64};
use super::{PartitionError, Partitioner};

/// Default virtual nodes per owner (ketama's 160).
pub const DEFAULT_VNODES: u32 = 160;

/// Upper bound for the virtual nodes per owner.
pub const MAX_VNODES: u32 = 1 << 16;

/// Upper bound for the points of one ring (`owners * vnodes`), to bound memory.
pub const MAX_POINTS: u64 = 1 << 24;

/// The ring for one number of owners: points sorted by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashRing {
    /// Point positions, ascending.
    positions: Vec<u64>,
    /// The owner of each point (same index as `positions`).
    owners: Vec<u32>,
    /// Number of owners on the ring.
    owner_count: u32,
}

impl HashRing {
    /// The ring of owners `0..owners`, each with `vnodes` points. Both must be
    /// at least 1 (checked by the partitioners before building).
    pub fn new(owners: u32, vnodes: u32) -> HashRing {
        assert!(owners >= 1 && vnodes >= 1, "invariant: owners and vnodes validated");
        let mut points: Vec<(u64, u32)> = (0..owners)
            .flat_map(|o| (0..vnodes).map(move |v| (hash2(u64::from(o), u64::from(v)), o)))
            .collect();
        points.sort_unstable();
        let (positions, owners_of): (Vec<u64>, Vec<u32>) = points.into_iter().unzip();
        let mut per_owner = vec![0u32; owners as usize];
        for &o in &owners_of {
            per_owner[o as usize] += 1;
        }
        assert!(
            per_owner.iter().all(|&n| n == vnodes),
            "invariant: each of {owners} owners has its {vnodes} points on the ring"
        );
        assert!(
            positions.len() as u64 <= MAX_POINTS,
            "invariant: {owners} owners with {vnodes} points each exceed {MAX_POINTS} points (check_ring)"
        );
        HashRing {
            positions,
            owners: owners_of,
            owner_count: owners,
        }
    }

    /// Where a key sits on the ring.
    #[inline]
    pub fn key_position(key: u64) -> u64 {
        splitmix64(key)
    }

    /// Index of the first point at or after `position`, wrapping to 0.
    #[inline]
    pub fn successor(&self, position: u64) -> usize {
        let i = self.positions.partition_point(|&p| p < position);
        let successor = if i == self.positions.len() { 0 } else { i };
        assert!(
            successor < self.positions.len(),
            "invariant: successor {successor} of a ring with {} points",
            self.positions.len()
        );
        successor
    }

    /// The owner of point `index`.
    #[inline]
    pub fn point_owner(&self, index: usize) -> u32 {
        let owner = self.owners[index];
        assert!(
            owner < self.owner_count,
            "invariant: point {index} owned by {owner} of {}",
            self.owner_count
        );
        owner
    }

    /// Number of points (`owners * vnodes`).
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether the ring has no points (never, for a ring built by `new`).
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Number of owners on the ring.
    pub fn owner_count(&self) -> u32 {
        self.owner_count
    }

    /// The owner of `key`.
    #[inline]
    pub fn owner(&self, key: u64) -> u32 {
        self.point_owner(self.successor(Self::key_position(key)))
    }
}

/// Checks shared by the ring and bounded loads.
pub(crate) fn check_ring(partitioner: &'static str, parallelism: u32, vnodes: u32) -> Result<(), PartitionError> {
    if parallelism == 0 {
        return Err(PartitionError::ZeroParallelism);
    }
    let max = MAX_POINTS / u64::from(vnodes.max(1));
    if u64::from(parallelism) > max {
        return Err(PartitionError::ParallelismTooLarge {
            partitioner,
            parallelism,
            max,
        });
    }
    Ok(())
}

/// Validates a number of virtual nodes per owner.
pub(crate) fn check_vnodes(vnodes: u32) -> Result<(), PartitionError> {
    if (1..=MAX_VNODES).contains(&vnodes) {
        Ok(())
    } else {
        Err(PartitionError::BadVnodes {
            vnodes,
            max: MAX_VNODES,
        })
    }
}

/// A consistent-hash ring with `vnodes` virtual nodes per owner; the ring for
/// each parallelism is built once and cached.
pub struct RingPartitioner {
    vnodes: u32,
    rings: TableCache<HashRing>,
}

impl RingPartitioner {
    /// A ring partitioner with `vnodes` virtual nodes per owner
    /// (`1..=MAX_VNODES`).
    pub fn new(vnodes: u32) -> Result<Self, PartitionError> {
        check_vnodes(vnodes)?;
        Ok(RingPartitioner {
            vnodes,
            rings: TableCache::default(),
        })
    }

    /// Virtual nodes per owner.
    pub fn vnodes(&self) -> u32 {
        self.vnodes
    }

    /// The (cached) ring for `parallelism` owners.
    pub fn ring(&self, parallelism: u32) -> std::sync::Arc<HashRing> {
        cached_ring(&self.rings, parallelism, self.vnodes)
    }
}

/// The ring for `parallelism` owners from `rings`, built on first use.
pub(crate) fn cached_ring(rings: &TableCache<HashRing>, parallelism: u32, vnodes: u32) -> std::sync::Arc<HashRing> {
    let ring = rings.get_or_build(parallelism, || HashRing::new(parallelism, vnodes));
    assert_eq!(
        ring.owner_count(),
        parallelism,
        "invariant: the cached ring is the one for this parallelism"
    );
    ring
}

impl fmt::Debug for RingPartitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingPartitioner").field("vnodes", &self.vnodes).finish()
    }
}

impl Partitioner for RingPartitioner {
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        self.ring(parallelism).owner(key)
    }

    fn name(&self) -> &'static str {
        "ring"
    }

    fn params(&self) -> String {
        format!("vnodes={}", self.vnodes)
    }

    fn check_parallelism(&self, parallelism: u32) -> Result<(), PartitionError> {
        check_ring(self.name(), parallelism, self.vnodes)
    }

    fn assign(&self, keys: &[u64], parallelism: u32) -> Result<Vec<u32>, PartitionError> {
        self.check_parallelism(parallelism)?;
        let ring = self.ring(parallelism);
        Ok(keys.iter().map(|&k| ring.owner(k)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_layout() {
        let ring = HashRing::new(3, 4);
        assert_eq!(ring.len(), 12);
        assert!(ring.positions.windows(2).all(|w| w[0] <= w[1]));
        for o in 0..3 {
            assert_eq!(ring.owners.iter().filter(|&&x| x == o).count(), 4);
        }
        // Past the last point wraps to the first.
        assert_eq!(
            ring.successor(u64::MAX),
            if ring.positions[11] == u64::MAX { 11 } else { 0 }
        );
        assert_eq!(ring.successor(0), 0);
        let p5 = ring.positions[5];
        assert_eq!(ring.successor(p5), 5);
        assert_eq!(ring.successor(p5 + 1), 6);
    }

    #[test]
    fn single_owner_owns_everything() {
        let r = RingPartitioner::new(7).expect("valid");
        assert!((0..1000).all(|k| r.owner(k, 1) == 0));
    }

    #[test]
    fn owner_and_assign_agree_and_cache_is_used() {
        let r = RingPartitioner::new(32).expect("valid");
        let keys: Vec<u64> = (0..2000).collect();
        let a = r.assign(&keys, 9).expect("valid");
        assert!(keys.iter().zip(&a).all(|(&k, &o)| r.owner(k, 9) == o));
        assert_eq!(r.rings.len(), 1);
    }

    #[test]
    fn bad_parameters() {
        assert!(RingPartitioner::new(0).is_err());
        assert!(RingPartitioner::new(MAX_VNODES + 1).is_err());
        let r = RingPartitioner::new(MAX_VNODES).expect("valid");
        assert_eq!(r.check_parallelism(0), Err(PartitionError::ZeroParallelism));
        assert!(r.check_parallelism(256).is_ok());
        assert!(r.check_parallelism(257).is_err());
    }
}
