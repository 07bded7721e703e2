//! What changed in a keyed operator's state, for RocksDB under the resource
//! model:
//! - since the previous snapshot: what the synchronous phase flushes (the
//!   memtable written since the last flush);
//! - since the last *completed* checkpoint (or the restore): what an
//!   incremental checkpoint uploads. Flink's RocksDB backend uploads every
//!   file the last completed checkpoint does not hold, so after an aborted
//!   checkpoint its changes go up again with the next one.

use std::collections::BTreeMap;

use crate::checkpoint::CheckpointId;

/// Keyed entries, `(key, value)` sorted by key.
pub type Entries = Vec<(u64, u64)>;

/// The two change counts of one snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Entries new or changed since the previous snapshot.
    pub since_previous_snapshot: u64,
    /// Entries new or changed since the last completed checkpoint.
    pub since_last_completed: u64,
}

/// The entries of the previous snapshot, of the last completed checkpoint,
/// and of the snapshots whose checkpoints are still pending.
#[derive(Clone, Debug, Default)]
pub struct ChangeTracker {
    previous: Entries,
    completed: Entries,
    pending: BTreeMap<CheckpointId, Entries>,
}

/// Entries of `now` that are new or differ from `before` (both sorted by key).
pub fn changed_entries(before: &[(u64, u64)], now: &[(u64, u64)]) -> u64 {
    let mut old = before.iter().peekable();
    let mut changed = 0;
    for (k, v) in now {
        while old.peek().is_some_and(|(ok, _)| ok < k) {
            old.next();
        }
        match old.peek() {
            Some((ok, ov)) if ok == k && ov == v => {}
            _ => changed += 1,
        }
    }
    changed
}

impl ChangeTracker {
    /// Tracking from the restored entries (empty for a fresh start).
    pub fn new(restored: Entries) -> Self {
        assert!(
            restored.windows(2).all(|w| w[0].0 < w[1].0),
            "invariant: restored entries sorted by key"
        );
        ChangeTracker {
            completed: restored.clone(),
            previous: restored,
            pending: BTreeMap::new(),
        }
    }

    /// The snapshot of checkpoint `id` holds `entries`.
    pub fn snapshot(&mut self, id: CheckpointId, entries: &[(u64, u64)]) -> Changes {
        // `changed_entries` merges sorted entries.
        assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0),
            "invariant: entries of snapshot {id} sorted by key"
        );
        let last = self.pending.keys().next_back();
        assert!(last.is_none_or(|l| *l < id), "invariant: snapshot {id} after {last:?}");
        let changes = Changes {
            since_previous_snapshot: changed_entries(&self.previous, entries),
            since_last_completed: changed_entries(&self.completed, entries),
        };
        assert!(
            changes.since_previous_snapshot <= entries.len() as u64
                && changes.since_last_completed <= entries.len() as u64,
            "invariant: a change is an entry"
        );
        self.previous = entries.to_vec();
        self.pending.insert(id, entries.to_vec());
        changes
    }

    /// Checkpoint `id` completed: its snapshot is what the store holds; any
    /// older pending one is subsumed.
    pub fn completed(&mut self, id: CheckpointId) {
        if let Some(entries) = self.pending.remove(&id) {
            self.completed = entries;
        }
        self.pending.retain(|k, _| *k > id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_entries_are_new_keys_and_new_counts() {
        assert_eq!(changed_entries(&[], &[(1, 1), (2, 1)]), 2);
        assert_eq!(changed_entries(&[(1, 1), (2, 1)], &[(1, 1), (2, 1)]), 0);
        assert_eq!(changed_entries(&[(1, 1), (2, 1)], &[(1, 2), (2, 1), (3, 1)]), 2);
        assert_eq!(changed_entries(&[(1, 1), (5, 1)], &[(2, 1), (5, 1), (9, 4)]), 2);
    }

    #[test]
    fn an_aborted_checkpoints_changes_go_up_with_the_next() {
        let mut t = ChangeTracker::new(vec![(1, 1)]);
        let c1 = t.snapshot(1, &[(1, 1), (2, 1)]);
        assert_eq!((c1.since_previous_snapshot, c1.since_last_completed), (1, 1));
        t.completed(1);
        // Checkpoint 2 changes key 3; it is aborted (never completed).
        let c2 = t.snapshot(2, &[(1, 1), (2, 1), (3, 1)]);
        assert_eq!((c2.since_previous_snapshot, c2.since_last_completed), (1, 1));
        // Checkpoint 3 changes key 1: it flushes one entry but uploads two.
        let c3 = t.snapshot(3, &[(1, 2), (2, 1), (3, 1)]);
        assert_eq!((c3.since_previous_snapshot, c3.since_last_completed), (1, 2));
        t.completed(3);
        assert!(t.pending.is_empty(), "3 subsumes 2");
        let c4 = t.snapshot(4, &[(1, 2), (2, 1), (3, 1)]);
        assert_eq!(c4, Changes::default(), "nothing changed since 3");
        // A late notification of an older checkpoint changes nothing.
        t.completed(2);
        assert_eq!(t.completed, vec![(1, 2), (2, 1), (3, 1)]);
        assert_eq!(t.pending.len(), 1);
    }
}
