//! A small per-parallelism cache for partitioners whose lookup needs a table
//! built for the number of owners (the hash ring, Maglev's lookup table).
//!
//! [`Partitioner::owner`](super::Partitioner::owner) takes the parallelism
//! on every call, so a table-based partitioner must not rebuild its table per
//! key. The table is a pure function of the parallelism and the
//! partitioner's parameters, so caching it cannot change any answer; it only
//! makes repeated lookups cheap. The lock is held only to look up or insert an
//! `Arc`, never while building.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// At most this many parallelisms are kept; a full cache is cleared (a job
/// uses one or two parallelisms per edge, so eviction is rare).
const MAX_ENTRIES: usize = 16;

/// Tables keyed by parallelism.
pub(crate) struct TableCache<T> {
    tables: RwLock<BTreeMap<u32, Arc<T>>>,
}

impl<T> Default for TableCache<T> {
    fn default() -> Self {
        TableCache {
            tables: RwLock::new(BTreeMap::new()),
        }
    }
}

impl<T> TableCache<T> {
    /// The table for `parallelism`, built by `build` on first use.
    pub(crate) fn get_or_build(&self, parallelism: u32, build: impl FnOnce() -> T) -> Arc<T> {
        {
            // A poisoned lock only means another thread panicked while
            // holding it; the map is still a valid cache.
            let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = tables.get(&parallelism) {
                return Arc::clone(t);
            }
        }
        let table = Arc::new(build());
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if tables.len() >= MAX_ENTRIES {
            tables.clear();
        }
        let cached = Arc::clone(tables.entry(parallelism).or_insert(table));
        assert!(
            tables.len() <= MAX_ENTRIES,
            "invariant: at most {MAX_ENTRIES} cached tables, got {}",
            tables.len()
        );
        cached
    }

    /// How many tables are cached (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tables.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_once_per_parallelism_and_evicts_when_full() {
        let cache: TableCache<u32> = TableCache::default();
        let mut builds = 0;
        for _ in 0..3 {
            let t = cache.get_or_build(4, || {
                builds += 1;
                40
            });
            assert_eq!(*t, 40);
        }
        assert_eq!(builds, 1);
        for p in 0..MAX_ENTRIES as u32 + 1 {
            assert_eq!(*cache.get_or_build(100 + p, || p), p);
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }
}
