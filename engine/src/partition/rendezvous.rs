//! Rendezvous hashing, or highest random weight (Thaler and Ravishankar,
//! 1996).
//!
//! A key belongs to the owner `o` with the largest weight `hash2(key, o)`;
//! ties (equal 64-bit weights) go to the smaller owner. A lookup costs one
//! hash per owner, `O(n)`, and needs no table.
//!
//! Bounds:
//! * Movement: an owner's weight for a key does not depend on the other
//!   owners, so growing from `n` to `n + 1` moves exactly the keys whose
//!   weight for the new owner beats all the old ones, each with probability
//!   `1/(n+1)`, and only onto the new owner. Shrinking moves only the keys of
//!   the removed owners.
//! * Balance: every key picks each owner with probability `1/n`
//!   independently, so loads are multinomial: the maximum exceeds the mean
//!   by a few standard deviations `sqrt(K/n)` only.

use super::hash::hash2;
use super::Partitioner;

/// Highest-random-weight hashing over owners `0..n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RendezvousPartitioner;

impl RendezvousPartitioner {
    /// The weight of `owner` for `key`.
    #[inline]
    pub fn weight(key: u64, owner: u32) -> u64 {
        hash2(key, u64::from(owner))
    }
}

impl Partitioner for RendezvousPartitioner {
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        let mut best = 0;
        let mut best_weight = Self::weight(key, 0);
        for o in 1..parallelism {
            let w = Self::weight(key, o);
            // Strictly greater: ties keep the smaller owner.
            if w > best_weight {
                best = o;
                best_weight = w;
            }
        }
        assert!(
            best < parallelism,
            "invariant: key {key} on owner {best} of {parallelism} (validated >= 1)"
        );
        best
    }

    fn name(&self) -> &'static str {
        "rendezvous"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_has_the_highest_weight() {
        let r = RendezvousPartitioner;
        for key in 0..500 {
            let o = r.owner(key, 7);
            let w = RendezvousPartitioner::weight(key, o);
            assert!((0..7).all(|x| RendezvousPartitioner::weight(key, x) <= w));
        }
        assert!((0..100).all(|k| r.owner(k, 1) == 0));
    }
}
