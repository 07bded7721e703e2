//! Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
//! Network Load Balancer", NSDI 2016), section 3.4.
//!
//! Each owner `o` gets a permutation of the `M` slots of a lookup table
//! (`M` prime): `offset = hash(o) mod M`, `skip = hash'(o) mod (M - 1) + 1`,
//! the `j`-th preference is `(offset + j·skip) mod M`, a full cycle because
//! `M` is prime. Owners take turns claiming their next preferred free slot
//! until the table is full. A key belongs to the owner of slot
//! `reduce(splitmix64(key), M)`.
//!
//! Bounds:
//! * Balance: the round-robin fill gives every owner `floor(M/n)` or
//!   `ceil(M/n)` slots, so the table is balanced to within one slot; the keys
//!   add only multinomial noise.
//! * Movement: the paper trades a little disruption for that balance. Adding
//!   an owner hands it about `M/(n+1)` slots, and because the fill order
//!   changes, a small number of other slots also change hands between old
//!   owners. The moved fraction is therefore a bit above the optimum
//!   `1/(n+1)`, and keys can move between old owners.
//! * Cost: `O(1)` lookup; building the table is `O(M log M)` expected.
//!
//! The table size must be a prime with `M >= n`; the paper uses `M = 65537`
//! and recommends `M > 100·n` for even balance.

use std::fmt;
use std::sync::Arc;

use super::cache::TableCache;
use super::hash::{hash2, reduce, splitmix64};
use super::{PartitionError, Partitioner};

/// Default table size (the paper's 65537).
pub const DEFAULT_TABLE_SIZE: u64 = 65_537;

/// Upper bound for the table size, to bound memory (`2^24` slots of 4 bytes).
pub const MAX_TABLE_SIZE: u64 = 1 << 24;

/// Salts of the two per-owner hashes (offset and skip).
const OFFSET_SALT: u64 = 0x6d61_676c_6576_6f66; // "maglevof"
const SKIP_SALT: u64 = 0x6d61_676c_6576_736b; // "maglevsk"

/// Marks an unclaimed slot while the table is being filled.
const EMPTY: u32 = u32::MAX;

/// Whether `n` is prime (trial division; `n` is at most `MAX_TABLE_SIZE`).
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// The Maglev lookup table for one number of owners.
#[derive(Clone, PartialEq, Eq)]
pub struct MaglevTable {
    slots: Vec<u32>,
    /// Number of owners the table was filled for.
    owners: u32,
}

impl MaglevTable {
    /// The table of owners `0..owners` with `size` slots. `size` must be a
    /// prime and `1 <= owners <= size` (checked by the partitioner).
    pub fn new(owners: u32, size: u64) -> MaglevTable {
        assert!(
            is_prime(size) && owners >= 1 && u64::from(owners) <= size,
            "invariant: Maglev table size and owners validated"
        );
        let m = size as usize;
        // Each owner's current preferred slot and its skip.
        let mut cursor: Vec<(usize, usize)> = (0..owners)
            .map(|o| {
                let offset = reduce(hash2(u64::from(o), OFFSET_SALT), size) as usize;
                let skip = reduce(hash2(u64::from(o), SKIP_SALT), size - 1) as usize + 1;
                (offset, skip)
            })
            .collect();
        let mut slots = vec![EMPTY; m];
        let mut filled = 0;
        'fill: loop {
            for (owner, (pos, skip)) in cursor.iter_mut().enumerate() {
                // A full cycle visits every slot, and at least one is free.
                while slots[*pos] != EMPTY {
                    *pos = (*pos + *skip) % m;
                }
                slots[*pos] = owner as u32;
                *pos = (*pos + *skip) % m;
                filled += 1;
                if filled == m {
                    break 'fill;
                }
            }
        }
        let table = MaglevTable { slots, owners };
        table.assert_full_and_balanced();
        table
    }

    /// The table's postconditions: all `M` slots claimed by owners in
    /// `0..n`, and (the round-robin fill) each owner holding `floor(M/n)` or
    /// `ceil(M/n)` slots.
    fn assert_full_and_balanced(&self) {
        let (m, n) = (self.slots.len() as u64, u64::from(self.owners));
        let mut counts = vec![0u64; self.owners as usize];
        for &o in &self.slots {
            assert!(
                o < self.owners,
                "invariant: a Maglev slot holds owner {o} of {n} (unclaimed?)"
            );
            counts[o as usize] += 1;
        }
        let (lo, hi) = (m / n, m.div_ceil(n));
        assert!(
            counts.iter().all(|&c| c == lo || c == hi),
            "invariant: Maglev slots per owner are {lo} or {hi} for {n} owners and {m} slots: {counts:?}"
        );
    }

    /// The owner of `key`.
    #[inline]
    pub fn owner(&self, key: u64) -> u32 {
        let owner = self.slots[reduce(splitmix64(key), self.slots.len() as u64) as usize];
        assert!(
            owner < self.owners,
            "invariant: key {key} on owner {owner} of {}",
            self.owners
        );
        owner
    }

    /// Number of owners the table was filled for.
    pub fn owners(&self) -> u32 {
        self.owners
    }

    /// The owner of each slot.
    pub fn slots(&self) -> &[u32] {
        &self.slots
    }
}

impl fmt::Debug for MaglevTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaglevTable").field("size", &self.slots.len()).finish()
    }
}

/// Maglev hashing with a prime table size; the table for each parallelism is
/// built once and cached.
pub struct MaglevPartitioner {
    table_size: u64,
    tables: TableCache<MaglevTable>,
}

impl MaglevPartitioner {
    /// A Maglev partitioner with a lookup table of `table_size` slots (a prime
    /// in `3..=MAX_TABLE_SIZE`).
    pub fn new(table_size: u64) -> Result<Self, PartitionError> {
        if !(3..=MAX_TABLE_SIZE).contains(&table_size) || !is_prime(table_size) {
            return Err(PartitionError::BadTableSize {
                size: table_size,
                max: MAX_TABLE_SIZE,
            });
        }
        Ok(MaglevPartitioner {
            table_size,
            tables: TableCache::default(),
        })
    }

    /// The table size `M`.
    pub fn table_size(&self) -> u64 {
        self.table_size
    }

    /// The (cached) table for `parallelism` owners.
    pub fn table(&self, parallelism: u32) -> Arc<MaglevTable> {
        let table = self
            .tables
            .get_or_build(parallelism, || MaglevTable::new(parallelism, self.table_size));
        assert!(
            table.owners() == parallelism && table.slots().len() as u64 == self.table_size,
            "invariant: the cached Maglev table is the one for {parallelism} owners and {} slots",
            self.table_size
        );
        table
    }
}

impl fmt::Debug for MaglevPartitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaglevPartitioner")
            .field("table_size", &self.table_size)
            .finish()
    }
}

impl Partitioner for MaglevPartitioner {
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        self.table(parallelism).owner(key)
    }

    fn name(&self) -> &'static str {
        "maglev"
    }

    fn params(&self) -> String {
        format!("table-size={}", self.table_size)
    }

    fn check_parallelism(&self, parallelism: u32) -> Result<(), PartitionError> {
        if parallelism == 0 {
            Err(PartitionError::ZeroParallelism)
        } else if u64::from(parallelism) > self.table_size {
            Err(PartitionError::ParallelismTooLarge {
                partitioner: self.name(),
                parallelism,
                max: self.table_size,
            })
        } else {
            Ok(())
        }
    }

    fn assign(&self, keys: &[u64], parallelism: u32) -> Result<Vec<u32>, PartitionError> {
        self.check_parallelism(parallelism)?;
        let table = self.table(parallelism);
        Ok(keys.iter().map(|&k| table.owner(k)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes() {
        let small: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(small, vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(is_prime(65_537));
        assert!(!is_prime(65_535));
        assert!(is_prime(16_777_213)); // the largest prime below 2^24
        assert!(!is_prime(16_777_215));
    }

    #[test]
    fn table_is_full_and_balanced_to_one_slot() {
        for (n, m) in [(1, 3), (3, 3), (5, 13), (7, 251), (10, 65_537), (100, 65_537)] {
            let t = MaglevTable::new(n, m);
            assert_eq!(t.slots().len() as u64, m);
            let mut counts = vec![0u64; n as usize];
            for &o in t.slots() {
                assert!(o < n);
                counts[o as usize] += 1;
            }
            let (lo, hi) = (m / u64::from(n), m.div_ceil(u64::from(n)));
            assert!(counts.iter().all(|&c| c == lo || c == hi), "n={n} m={m}: {counts:?}");
        }
    }

    #[test]
    fn bad_parameters() {
        for size in [0, 1, 2, 4, 65_535, 16_777_259] {
            assert!(MaglevPartitioner::new(size).is_err(), "{size}");
        }
        let p = MaglevPartitioner::new(13).expect("valid");
        assert!(p.check_parallelism(13).is_ok());
        assert!(p.check_parallelism(14).is_err());
        assert_eq!(p.check_parallelism(0), Err(PartitionError::ZeroParallelism));
    }
}
