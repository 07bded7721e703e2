//! The keyed join's state: per key, the records seen on each of its two
//! inputs (an incremental inner equi-join on the key, as Flink SQL's
//! regular join of two append-only streams).
//!
//! A record joins every record of the other input with its key seen so
//! far, and is kept for those still to come: each pair of a left and a
//! right record of one key is emitted exactly once, by whichever of the
//! two arrives second, whatever the interleaving. A result has the key,
//! the sum of the two values, the left record's origin and the later of
//! the two event times.
//!
//! A window join (Flink's tumbling window join) pairs only records whose
//! event times fall in the same tumbling window of `window_ms`, and drops
//! a window's records once the watermark passes its end ([`JoinState::prune`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::partition::Partitioner;
use crate::record::Record;

/// Which input of the join: the first-listed (left) or the second (right).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    /// The side of input gate `gate` (0 or 1).
    pub fn of_gate(gate: usize) -> Side {
        match gate {
            0 => Side::Left,
            1 => Side::Right,
            g => panic!("invariant: a join has two input gates, not gate {g}"),
        }
    }
}

/// The result of joining `left` with `right` (same key).
pub fn joined(left: &Record, right: &Record) -> Record {
    assert_eq!(left.key, right.key, "invariant: a join pairs records of one key");
    Record {
        key: left.key,
        value: left.value.saturating_add(right.value),
        origin: left.origin,
        timestamp_ms: left.timestamp_ms.max(right.timestamp_ms),
    }
}

/// The records kept by one join subtask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JoinState {
    /// key → (left records, right records), each in arrival order.
    sides: BTreeMap<u64, (Vec<Record>, Vec<Record>)>,
    kept: usize,
    /// A window join's window size.
    window_ms: Option<u64>,
}

/// Whether `a` and `b` pair: always, or, in a window join, when their
/// event times fall in the same window.
fn pair(window_ms: Option<u64>, a: &Record, b: &Record) -> bool {
    window_ms.is_none_or(|w| {
        assert!(w > 0, "invariant: a join window has a positive size");
        a.timestamp_ms / w == b.timestamp_ms / w
    })
}

/// A join snapshot: every kept record with its side, by key then side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinSnapshot {
    pub entries: Vec<(Side, Record)>,
}

impl JoinState {
    /// An empty join, a window join when `window_ms` is given.
    pub fn new(window_ms: Option<u64>) -> JoinState {
        JoinState {
            window_ms,
            ..JoinState::default()
        }
    }

    /// Keep `rec` from `side`; the results of joining it with what the
    /// other side holds.
    pub fn add(&mut self, side: Side, rec: Record) -> Vec<Record> {
        let w = self.window_ms;
        let (left, right) = self.sides.entry(rec.key).or_default();
        let out: Vec<Record> = match side {
            Side::Left => right
                .iter()
                .filter(|r| pair(w, &rec, r))
                .map(|r| joined(&rec, r))
                .collect(),
            Side::Right => left
                .iter()
                .filter(|l| pair(w, l, &rec))
                .map(|l| joined(l, &rec))
                .collect(),
        };
        match side {
            Side::Left => left.push(rec),
            Side::Right => right.push(rec),
        }
        self.kept += 1;
        out
    }

    /// A window join drops the records of the windows that ended by
    /// `watermark` (no record of them can come any more: none is behind
    /// the watermark); a plain join keeps everything. The records dropped.
    pub fn prune(&mut self, watermark: u64) -> usize {
        let Some(w) = self.window_ms else {
            return 0;
        };
        let open = |r: &Record| (r.timestamp_ms / w + 1).saturating_mul(w) > watermark;
        let before = self.kept;
        for (left, right) in self.sides.values_mut() {
            left.retain(open);
            right.retain(open);
        }
        self.sides.retain(|_, (l, r)| !(l.is_empty() && r.is_empty()));
        self.kept = self.sides.values().map(|(l, r)| l.len() + r.len()).sum();
        before - self.kept
    }

    /// Records kept (both sides).
    pub fn len(&self) -> usize {
        self.kept
    }

    pub fn is_empty(&self) -> bool {
        self.kept == 0
    }

    pub fn snapshot(&self) -> JoinSnapshot {
        let mut entries = Vec::with_capacity(self.kept);
        for (left, right) in self.sides.values() {
            entries.extend(left.iter().map(|r| (Side::Left, *r)));
            entries.extend(right.iter().map(|r| (Side::Right, *r)));
        }
        assert_eq!(
            entries.len(),
            self.kept,
            "invariant: a snapshot holds every kept record"
        );
        JoinSnapshot { entries }
    }

    /// Restore from snapshots, keeping the keys `subtask` owns.
    pub fn restore<'a>(
        window_ms: Option<u64>,
        snapshots: impl IntoIterator<Item = &'a JoinSnapshot>,
        partitioner: &dyn Partitioner,
        subtask: u32,
        parallelism: u32,
    ) -> JoinState {
        assert!(subtask < parallelism, "invariant: subtask {subtask} of {parallelism}");
        let mut state = JoinState::new(window_ms);
        for s in snapshots {
            for (side, rec) in &s.entries {
                if partitioner.owner(rec.key, parallelism) != subtask {
                    continue;
                }
                let (left, right) = state.sides.entry(rec.key).or_default();
                match side {
                    Side::Left => left.push(*rec),
                    Side::Right => right.push(*rec),
                }
                state.kept += 1;
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::KeyGroupPartitioner;
    use crate::record::Origin;

    fn rec(key: u64, value: u64, offset: u64) -> Record {
        Record {
            key,
            value,
            origin: Origin { partition: 0, offset },
            timestamp_ms: offset * 10,
        }
    }

    #[test]
    fn each_pair_is_joined_once_by_the_later_record() {
        let mut s = JoinState::default();
        assert!(s.add(Side::Left, rec(1, 10, 0)).is_empty());
        assert_eq!(
            s.add(Side::Right, rec(1, 1, 1)),
            vec![joined(&rec(1, 10, 0), &rec(1, 1, 1))]
        );
        assert!(s.add(Side::Right, rec(2, 1, 2)).is_empty(), "another key joins nothing");
        let out = s.add(Side::Left, rec(1, 20, 3));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].value, out[0].origin.offset, out[0].timestamp_ms), (21, 3, 30));
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn the_pairs_do_not_depend_on_the_interleaving() {
        let lefts: Vec<Record> = (0..6).map(|i| rec(i % 2, i, i)).collect();
        let rights: Vec<Record> = (6..10).map(|i| rec(i % 2, i, i)).collect();
        let pairs = |order: &[(Side, Record)]| {
            let mut s = JoinState::default();
            let mut out: Vec<(u64, u64, u64)> = order
                .iter()
                .flat_map(|(side, r)| s.add(*side, *r))
                .map(|r| (r.key, r.value, r.origin.offset))
                .collect();
            out.sort_unstable();
            out
        };
        let lefts_first: Vec<(Side, Record)> = lefts
            .iter()
            .map(|r| (Side::Left, *r))
            .chain(rights.iter().map(|r| (Side::Right, *r)))
            .collect();
        let mut rights_first = lefts_first.clone();
        rights_first.reverse();
        assert_eq!(pairs(&lefts_first), pairs(&rights_first));
        assert_eq!(pairs(&lefts_first).len(), 3 * 2 + 3 * 2, "per key 3 lefts x 2 rights");
    }

    #[test]
    fn a_window_join_pairs_records_of_the_same_window_only() {
        // Event times are offset * 10: offsets 0..9 in window 0 of 100 ms.
        let mut s = JoinState::new(Some(100));
        assert!(s.add(Side::Left, rec(1, 10, 5)).is_empty());
        assert!(s.add(Side::Right, rec(1, 1, 12)).is_empty(), "120 ms: the next window");
        assert_eq!(s.add(Side::Right, rec(1, 2, 9)).len(), 1, "90 ms: the same window");
        assert_eq!(
            s.add(Side::Left, rec(1, 20, 10)).len(),
            1,
            "100 ms pairs with 120 ms only"
        );
        let snap = s.snapshot();
        let p = KeyGroupPartitioner::new(128);
        let mut back = JoinState::restore(Some(100), [&snap], &p, 0, 1);
        assert_eq!(back, s, "a restore keeps the window");
        assert_eq!(
            back.add(Side::Right, rec(1, 3, 19)).len(),
            1,
            "190 ms: with 100 ms only"
        );
    }

    #[test]
    fn a_window_join_forgets_ended_windows_and_a_plain_join_nothing() {
        let mut s = JoinState::new(Some(100));
        for o in [1, 5, 12, 15] {
            s.add(Side::Left, rec(1, 1, o));
        }
        assert_eq!(s.prune(99), 0, "window [0, 100) is still open at 99");
        assert_eq!(s.prune(100), 2, "it ended at 100");
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.add(Side::Right, rec(1, 2, 19)).len(),
            2,
            "window [100, 200) still joins"
        );
        assert_eq!(s.prune(u64::MAX), 3, "the end of input ends every window");
        assert!(s.is_empty() && s.snapshot().entries.is_empty());
        let mut plain = JoinState::new(None);
        plain.add(Side::Left, rec(1, 1, 1));
        assert_eq!(plain.prune(u64::MAX), 0);
    }

    #[test]
    fn snapshot_restore_keeps_each_record_with_its_owner() {
        let p = KeyGroupPartitioner::new(128);
        let mut s = JoinState::default();
        for i in 0..40 {
            let side = if i % 3 == 0 { Side::Right } else { Side::Left };
            s.add(side, rec(i % 7, i, i));
        }
        let snap = s.snapshot();
        assert_eq!(
            JoinState::restore(None, [&snap], &p, 0, 1),
            s,
            "same parallelism: the same state"
        );
        let parts: Vec<JoinState> = (0..3).map(|i| JoinState::restore(None, [&snap], &p, i, 3)).collect();
        assert_eq!(parts.iter().map(JoinState::len).sum::<usize>(), 40);
    }
}
