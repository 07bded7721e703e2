//! Comparing partitioners on a rescale: place a key set on `from` owners and
//! on `to` owners with [`Partitioner::assign`] and measure what moved and
//! how even the loads are afterwards.
//!
//! The optimum moved fraction is `|to - from| / max(from, to)`: growing, the
//! new owners must receive their fair share `(to - from)/to` of the keys;
//! shrinking, the keys of the removed owners, `(from - to)/from`, must move.
//! So growing by one from `n` the optimum is `1/(n+1)`, shrinking by one it
//! is `1/n`. A partitioner makes "only necessary moves" when, growing, every
//! moved key lands on a new owner (`>= from`) and, shrinking, every moved key
//! came from a removed owner (`>= to`).
//!
//! Pure: no clock here; the CLI times lookups itself.

use super::hash::{splitmix64, GOLDEN_GAMMA};
use super::{PartitionError, Partitioner};

/// What a rescale from `from` to `to` owners does to a key set.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The partitioner's name.
    pub partitioner: &'static str,
    /// Its parameters (`key=value ...`).
    pub params: String,
    /// Number of keys placed.
    pub keys: usize,
    /// Owners before.
    pub from: u32,
    /// Owners after.
    pub to: u32,
    /// Keys whose owner changed.
    pub moved: usize,
    /// `moved / keys`.
    pub moved_fraction: f64,
    /// [`optimal_moved_fraction`]`(from, to)`.
    pub optimum: f64,
    /// Whether every move was a necessary one (see the module docs).
    pub only_necessary_moves: bool,
    /// Keys per owner after the move (`to` entries).
    pub loads: Vec<u64>,
    /// The largest load after the move.
    pub max_load: u64,
    /// `keys / to`.
    pub mean_load: f64,
    /// `max_load / mean_load`.
    pub max_over_mean: f64,
}

/// `|to - from| / max(from, to)`, the least fraction of keys any balanced
/// partitioner must move; 0 when `from == to`.
pub fn optimal_moved_fraction(from: u32, to: u32) -> f64 {
    let hi = from.max(to);
    if hi == 0 {
        return 0.0;
    }
    f64::from(from.abs_diff(to)) / f64::from(hi)
}

/// The keys `0..count`.
pub fn key_range(count: u64) -> Vec<u64> {
    (0..count).collect()
}

/// `count` distinct pseudo-random keys: the SplitMix64 sequence seeded with
/// `seed` (distinct because SplitMix64's output function is a bijection of
/// distinct states).
pub fn sampled_keys(count: usize, seed: u64) -> Vec<u64> {
    (0..count as u64)
        .map(|i| splitmix64(seed.wrapping_add(i.wrapping_mul(GOLDEN_GAMMA))))
        .collect()
}

/// Keys per owner for an assignment onto `owners` owners.
pub fn loads(assignment: &[u32], owners: u32) -> Vec<u64> {
    let mut loads = vec![0u64; owners as usize];
    for &o in assignment {
        loads[o as usize] += 1;
    }
    loads
}

/// `partitioner.assign(keys, owners)`, checked: a plug-in that places a
/// key outside `0..owners` is an error naming it.
fn in_range(partitioner: &dyn Partitioner, keys: &[u64], owners: u32) -> Result<Vec<u32>, PartitionError> {
    let assigned = partitioner.assign(keys, owners)?;
    assert_eq!(assigned.len(), keys.len(), "{} places every key", partitioner.name());
    match keys.iter().zip(&assigned).find(|(_, &o)| o >= owners) {
        Some((&key, &owner)) => Err(PartitionError::OwnerOutOfRange {
            partitioner: partitioner.name(),
            key,
            owner,
            parallelism: owners,
        }),
        None => Ok(assigned),
    }
}

/// Place `keys` on `from` and on `to` owners and compare.
pub fn compare(partitioner: &dyn Partitioner, keys: &[u64], from: u32, to: u32) -> Result<Comparison, PartitionError> {
    if keys.is_empty() {
        return Err(PartitionError::NoKeys);
    }
    let before = in_range(partitioner, keys, from)?;
    let after = in_range(partitioner, keys, to)?;
    assert_eq!(
        before.len(),
        after.len(),
        "invariant: both placements cover the key set"
    );
    let mut moved = 0;
    let mut only_necessary_moves = true;
    for (&b, &a) in before.iter().zip(&after) {
        if a != b {
            moved += 1;
            let necessary = if to > from { a >= from } else { b >= to };
            only_necessary_moves &= necessary && from != to;
        }
    }
    assert!(
        from != to || moved == 0,
        "{} moved {moved} keys without a rescale: owners must be a function of key and parallelism",
        partitioner.name()
    );
    let loads = loads(&after, to);
    assert_eq!(
        loads.iter().sum::<u64>(),
        keys.len() as u64,
        "invariant: the loads count every key once"
    );
    let max_load = loads.iter().copied().max().unwrap_or(0);
    let mean_load = keys.len() as f64 / f64::from(to);
    Ok(Comparison {
        partitioner: partitioner.name(),
        params: partitioner.params(),
        keys: keys.len(),
        from,
        to,
        moved,
        moved_fraction: moved as f64 / keys.len() as f64,
        optimum: optimal_moved_fraction(from, to),
        only_necessary_moves,
        loads,
        max_load,
        mean_load,
        max_over_mean: max_load as f64 / mean_load,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::{JumpPartitioner, KeyGroupPartitioner};

    #[test]
    fn optimum() {
        assert_eq!(optimal_moved_fraction(10, 11), 1.0 / 11.0);
        assert_eq!(optimal_moved_fraction(11, 10), 1.0 / 11.0);
        assert_eq!(optimal_moved_fraction(4, 3), 0.25);
        assert_eq!(optimal_moved_fraction(3, 6), 0.5);
        assert_eq!(optimal_moved_fraction(5, 5), 0.0);
        assert_eq!(optimal_moved_fraction(1, 2), 0.5);
    }

    #[test]
    fn samples_are_deterministic_and_distinct() {
        let a = sampled_keys(1000, 7);
        assert_eq!(a, sampled_keys(1000, 7));
        assert_ne!(a, sampled_keys(1000, 8));
        let set: std::collections::BTreeSet<_> = a.iter().collect();
        assert_eq!(set.len(), 1000);
        assert_eq!(key_range(3), vec![0, 1, 2]);
    }

    #[test]
    fn jump_growing_and_shrinking() {
        let keys = key_range(20_000);
        let grow = compare(&JumpPartitioner, &keys, 4, 5).expect("valid");
        assert!(grow.only_necessary_moves);
        assert!((grow.moved_fraction - 0.2).abs() < 0.02, "{grow:?}");
        assert_eq!(grow.loads.iter().sum::<u64>(), 20_000);
        assert_eq!(grow.loads.len(), 5);
        assert_eq!(grow.mean_load, 4000.0);
        let shrink = compare(&JumpPartitioner, &keys, 5, 4).expect("valid");
        assert!(shrink.only_necessary_moves);
        assert_eq!(shrink.moved, grow.moved);
        let same = compare(&JumpPartitioner, &keys, 5, 5).expect("valid");
        assert_eq!((same.moved, same.optimum), (0, 0.0));
    }

    #[test]
    fn key_groups_move_more_than_necessary() {
        let keys = key_range(20_000);
        let c = compare(&KeyGroupPartitioner::new(128), &keys, 2, 3).expect("valid");
        assert!(!c.only_necessary_moves);
        assert!(c.moved_fraction > c.optimum);
    }

    #[test]
    fn errors() {
        assert_eq!(compare(&JumpPartitioner, &[], 1, 2), Err(PartitionError::NoKeys));
        assert_eq!(
            compare(&JumpPartitioner, &[1], 0, 2),
            Err(PartitionError::ZeroParallelism)
        );
        assert!(compare(&KeyGroupPartitioner::new(128), &[1], 2, 129).is_err());
    }
}
