//! The state of the max-per-window operator: per window, the results with
//! the highest value (NexMark q5's "hot items": per sliding window, the
//! auctions with the most bids; ties all go out, as q5's join on
//! `num >= maxn` keeps them).
//!
//! Its input is an event-time window's results: each carries its window as
//! origin ([`crate::record::Origin::window`]) and the window's last
//! millisecond as event time, so a window's results are complete once the
//! watermark passes that time.

use std::collections::BTreeMap;

use crate::record::{Origin, Record};

/// Per window (last millisecond, origin): the highest value so far and
/// the results that have it, by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowMax {
    windows: BTreeMap<(u64, Origin), (u64, BTreeMap<u64, Record>)>,
}

impl WindowMax {
    /// Take one window result.
    pub fn add(&mut self, rec: Record) {
        let (max, best) = self
            .windows
            .entry((rec.timestamp_ms, rec.origin))
            .or_insert((rec.value, BTreeMap::new()));
        if rec.value > *max {
            *max = rec.value;
            best.clear();
        }
        if rec.value == *max {
            let before = best.insert(rec.key, rec);
            assert!(
                before.is_none(),
                "invariant: one result per key and window, got {rec:?} twice"
            );
        }
    }

    /// The windows complete at `watermark` (their last millisecond before
    /// it), removed: each window's best results by key, windows in time
    /// order.
    pub fn fire(&mut self, watermark: u64) -> Vec<Record> {
        let later = self.windows.split_off(&(
            watermark,
            Origin {
                partition: 0,
                offset: 0,
            },
        ));
        let done = std::mem::replace(&mut self.windows, later);
        done.into_values()
            .flat_map(|(max, best)| {
                assert!(
                    best.values().all(|r| r.value == max),
                    "invariant: only the best are kept"
                );
                best.into_values()
            })
            .collect()
    }

    /// Every kept result (what a snapshot holds).
    pub fn snapshot(&self) -> Vec<Record> {
        self.windows
            .values()
            .flat_map(|(_, best)| best.values().copied())
            .collect()
    }

    /// The state a snapshot of it holds.
    pub fn restore(records: &[Record]) -> WindowMax {
        let mut state = WindowMax::default();
        for r in records {
            state.add(*r);
        }
        state
    }

    /// Windows still open.
    pub fn open_windows(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(start: u64, key: u64, count: u64) -> Record {
        Record {
            key,
            value: count,
            origin: Origin::window(start),
            timestamp_ms: start + 999,
        }
    }

    #[test]
    fn each_window_keeps_its_best_results_and_fires_once_complete() {
        let mut m = WindowMax::default();
        for r in [
            result(0, 1, 3),
            result(0, 2, 5),
            result(0, 3, 5),
            result(0, 4, 1),
            result(500, 1, 7),
        ] {
            m.add(r);
        }
        assert!(m.fire(999).is_empty(), "window [0, 1000) is complete after 999 only");
        assert_eq!(m.fire(1000), vec![result(0, 2, 5), result(0, 3, 5)], "ties all go out");
        assert_eq!(m.open_windows(), 1);
        let back = WindowMax::restore(&m.snapshot());
        assert_eq!(back, m, "a snapshot restores the same state");
        assert_eq!(m.fire(u64::MAX), vec![result(500, 1, 7)]);
        assert_eq!(m.open_windows(), 0);
    }

    #[test]
    fn the_best_do_not_depend_on_the_order_results_arrive_in() {
        let rs: Vec<Record> = (0..20).map(|k| result(0, k, k % 7)).collect();
        let fired = |order: &[Record]| {
            let mut m = WindowMax::default();
            order.iter().for_each(|r| m.add(*r));
            m.fire(u64::MAX)
        };
        let mut reversed = rs.clone();
        reversed.reverse();
        assert_eq!(fired(&rs), fired(&reversed));
        assert_eq!(fired(&rs).iter().map(|r| r.key).collect::<Vec<_>>(), vec![6, 13]);
    }
}
