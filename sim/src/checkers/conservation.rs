//! Exactly-once for processing-time windows, by conservation.
//!
//! Which window counts a record depends on when its task takes it, so no
//! reference fixes the windows. What every exactly-once run must still
//! commit: per key, window counts that sum to the records that reached the
//! processing-time windows (none counted twice, none left out), and each
//! (key, window) once. Checked:
//!
//! - **lost**: per key, the records the committed counts fall short by;
//! - **duplicated**: per key, the records they exceed it by, plus every
//!   (key, window) committed again;
//! - **unexpected**: a count for a key no record of which reached a window.
//!
//! Not checked: which window a record was counted in, nor the windows'
//! order (both depend on processing time, which a restart changes).

use std::collections::{BTreeMap, BTreeSet};

use halab_engine::record::Record;

use super::exactly_once::Examples;

/// The conservation check, fed the committed processing-time window
/// results one at a time.
#[derive(Debug, Default)]
pub struct ConservationCheck {
    /// Per key: records that reached a processing-time window.
    expected: BTreeMap<u64, u64>,
    /// Per key: the committed window counts, summed.
    committed: BTreeMap<u64, u64>,
    /// (key, window start) committed so far.
    windows: BTreeSet<(u64, u64)>,
    windows_again: u64,
    unexpected: u64,
    /// Σ over keys of min(committed, expected).
    distinct: u64,
    total: u64,
}

/// What [`ConservationCheck::finish`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    pub lost: u64,
    pub duplicated: u64,
    pub unexpected: u64,
}

impl ConservationCheck {
    /// A check against `expected`: per key, the records that reach the
    /// processing-time windows ([`crate::graph_reference::GraphReference::processing_time`]).
    pub fn new(expected: BTreeMap<u64, u64>) -> ConservationCheck {
        let total = expected.values().sum();
        ConservationCheck {
            expected,
            total,
            ..ConservationCheck::default()
        }
    }

    /// Records counted so far, up to each key's expected ones.
    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    /// Records the committed counts must add up to.
    pub fn expected(&self) -> u64 {
        self.total
    }

    /// Account for a committed result of the window starting at `start_ms`.
    pub(crate) fn observe(&mut self, rec: &Record, start_ms: u64, examples: &mut Examples) {
        let Some(&expected) = self.expected.get(&rec.key) else {
            self.unexpected += 1;
            examples.add("unexpected", || {
                format!("processing-time window {start_ms}ms of key {}: no record of the key reached a processing-time window", rec.key)
            });
            return;
        };
        if !self.windows.insert((rec.key, start_ms)) {
            self.windows_again += 1;
            examples.add("duplicated", || {
                format!("processing-time window {start_ms}ms of key {} committed again", rec.key)
            });
        }
        let committed = self.committed.entry(rec.key).or_insert(0);
        let before = (*committed).min(expected);
        *committed = committed.saturating_add(rec.value);
        self.distinct += (*committed).min(expected) - before;
        assert!(
            self.distinct <= self.total,
            "invariant: at most the expected records are counted"
        );
    }

    /// Per key, the committed counts against the records expected.
    pub(crate) fn finish(&self, examples: &mut Examples) -> Conservation {
        let mut found = Conservation {
            unexpected: self.unexpected,
            duplicated: self.windows_again,
            ..Conservation::default()
        };
        for (&key, &expected) in &self.expected {
            let committed = self.committed.get(&key).copied().unwrap_or(0);
            let (short, over) = (expected.saturating_sub(committed), committed.saturating_sub(expected));
            found.lost += short;
            found.duplicated += over;
            if short + over > 0 {
                examples.add(if short > 0 { "lost" } else { "duplicated" }, || {
                    format!("key {key}: processing-time window counts sum to {committed}, {expected} records reached the windows")
                });
            }
        }
        assert_eq!(
            self.distinct + found.lost,
            self.total,
            "invariant: an expected record is counted or lost"
        );
        found
    }
}

#[cfg(test)]
mod tests {
    use halab_engine::record::Origin;

    use super::*;

    fn result(key: u64, start: u64, count: u64) -> Record {
        Record {
            key,
            value: count,
            origin: Origin::processing_window(start),
            timestamp_ms: start + 99,
        }
    }

    fn run(results: &[Record]) -> (ConservationCheck, Conservation) {
        let mut c = ConservationCheck::new([(1, 10), (2, 5)].into());
        let mut ex = Examples::default();
        for r in results {
            let start = r.origin.processing_window_start().expect("a processing-time result");
            c.observe(r, start, &mut ex);
        }
        let found = c.finish(&mut ex);
        (c, found)
    }

    #[test]
    fn counts_that_add_up_in_any_windows_pass() {
        let (c, found) = run(&[result(1, 0, 4), result(2, 0, 5), result(1, 100, 6)]);
        assert_eq!(found, Conservation::default());
        assert_eq!((c.distinct(), c.expected()), (15, 15));
    }

    #[test]
    fn short_sums_are_lost_and_long_ones_duplicated() {
        let (c, found) = run(&[result(1, 0, 4), result(2, 0, 7)]);
        assert_eq!((found.lost, found.duplicated, found.unexpected), (6, 2, 0));
        assert_eq!(c.distinct(), 9);
    }

    #[test]
    fn a_window_committed_twice_and_a_foreign_key_are_caught() {
        let (_, found) = run(&[result(1, 0, 10), result(1, 0, 0), result(2, 0, 5), result(3, 0, 1)]);
        assert_eq!((found.lost, found.duplicated, found.unexpected), (0, 1, 1));
    }
}
