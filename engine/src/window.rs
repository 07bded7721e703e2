//! Event-time windows, tumbling and sliding: per key and window, the number
//! of records.
//!
//! Windows of `size` start at the multiples of `slide` (`slide = size`:
//! tumbling). A record with event time `t` belongs to every window
//! `[start, start + size)` that holds `t`: the one starting at
//! `t - t % slide` and those starting a slide, two slides, ... earlier.
//! Windows that would start before time 0 are not formed (Flink forms them,
//! with negative starts: there a record before `size - slide` is counted in
//! more windows). A window `[start, start + size)` fires once the operator's
//! watermark (the minimum over its input channels, see [`WatermarkTracker`])
//! reaches `start + size`: no earlier record can follow. Fired windows leave
//! the state, so a restore never fires them twice; windows still open are in
//! the snapshot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::partition::Partitioner;

/// Open windows of one subtask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowCounts {
    size_ms: u64,
    slide_ms: u64,
    /// (window start, key) → count.
    counts: BTreeMap<(u64, u64), u64>,
}

/// A snapshot of open windows: `(start, key, count)`, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSnapshot {
    pub entries: Vec<(u64, u64, u64)>,
}

/// A fired window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowResult {
    pub key: u64,
    pub start_ms: u64,
    pub count: u64,
}

impl WindowCounts {
    /// Tumbling windows of `size_ms`.
    pub fn tumbling(size_ms: u64) -> Self {
        Self::sliding(size_ms, size_ms)
    }

    /// Windows of `size_ms` every `slide_ms`.
    pub fn sliding(size_ms: u64, slide_ms: u64) -> Self {
        assert!(
            size_ms > 0 && slide_ms > 0 && slide_ms <= size_ms,
            "invariant: window size {size_ms} and slide {slide_ms} validated"
        );
        WindowCounts {
            size_ms,
            slide_ms,
            counts: BTreeMap::new(),
        }
    }

    /// The starts of the windows that hold `timestamp_ms`, latest first.
    pub fn window_starts(&self, timestamp_ms: u64) -> impl Iterator<Item = u64> + '_ {
        window_starts(self.size_ms, self.slide_ms, timestamp_ms)
    }

    pub fn add(&mut self, key: u64, timestamp_ms: u64) {
        for start in window_starts(self.size_ms, self.slide_ms, timestamp_ms) {
            *self.counts.entry((start, key)).or_insert(0) += 1;
        }
    }

    /// Fire (and forget) every window that ends at or before `watermark`, in
    /// (start, key) order.
    pub fn fire(&mut self, watermark: u64) -> Vec<WindowResult> {
        // Windows with start + size <= watermark, i.e. start <= watermark - size.
        let Some(last_start) = watermark.checked_sub(self.size_ms) else {
            return Vec::new();
        };
        let rest = self.counts.split_off(&(last_start + 1, 0));
        let fired = std::mem::replace(&mut self.counts, rest);
        // Fired windows end at or before the watermark; open ones after it.
        assert!(
            fired
                .last_key_value()
                .is_none_or(|((start, _), _)| start + self.size_ms <= watermark)
                && self
                    .counts
                    .first_key_value()
                    .is_none_or(|((start, _), _)| start.saturating_add(self.size_ms) > watermark),
            "invariant: windows of size {} split at watermark {watermark}",
            self.size_ms
        );
        fired
            .into_iter()
            .map(|((start_ms, key), count)| WindowResult { key, start_ms, count })
            .collect()
    }

    /// The end of the earliest open window: when the next one can fire.
    pub fn next_end_ms(&self) -> Option<u64> {
        self.counts
            .first_key_value()
            .map(|((start, _), _)| start + self.size_ms)
    }

    pub fn open_windows(&self) -> usize {
        self.counts.len()
    }

    pub fn snapshot(&self) -> WindowSnapshot {
        WindowSnapshot {
            entries: self.counts.iter().map(|((s, k), c)| (*s, *k, *c)).collect(),
        }
    }

    /// Restore `empty`'s windows from snapshots, keeping only keys that
    /// `subtask` owns.
    pub fn restore<'a>(
        empty: WindowCounts,
        snapshots: impl IntoIterator<Item = &'a WindowSnapshot>,
        partitioner: &dyn Partitioner,
        subtask: u32,
        parallelism: u32,
    ) -> Self {
        assert!(empty.counts.is_empty(), "invariant: restored into empty windows");
        let mut w = empty;
        let slide_ms = w.slide_ms;
        for s in snapshots {
            for &(start, key, count) in &s.entries {
                assert!(
                    start.is_multiple_of(slide_ms) && count > 0,
                    "invariant: snapshot window ({start}, key {key}, count {count}) on slide {slide_ms}"
                );
                if partitioner.owner(key, parallelism) == subtask {
                    let prev = w.counts.insert((start, key), count);
                    assert!(prev.is_none(), "invariant: a window is in exactly one snapshot");
                }
            }
        }
        w
    }
}

/// The starts of the windows of `size_ms` every `slide_ms` that hold
/// `timestamp_ms`, latest first (none before time 0).
pub fn window_starts(size_ms: u64, slide_ms: u64, timestamp_ms: u64) -> impl Iterator<Item = u64> {
    let last = timestamp_ms - timestamp_ms % slide_ms;
    let starts = std::iter::successors(Some(last), move |s| s.checked_sub(slide_ms))
        .take_while(move |s| s + size_ms > timestamp_ms);
    starts.inspect(move |s| {
        assert!(
            s.is_multiple_of(slide_ms) && *s <= timestamp_ms && timestamp_ms - s < size_ms,
            "invariant: time {timestamp_ms} falls in the window [{s}, +{size_ms}) on slide {slide_ms}"
        )
    })
}

/// The operator watermark: the minimum of its input channels' watermarks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatermarkTracker {
    channels: Vec<u64>,
    current: u64,
}

impl WatermarkTracker {
    pub fn new(num_channels: usize) -> Self {
        // With no channel the minimum would never advance.
        assert!(
            num_channels >= 1,
            "invariant: an operator watermark needs an input channel"
        );
        WatermarkTracker {
            channels: vec![0; num_channels],
            current: 0,
        }
    }

    /// A channel's watermark advanced; returns the operator watermark if it
    /// advanced too.
    pub fn update(&mut self, channel: usize, watermark: u64) -> Option<u64> {
        let w = &mut self.channels[channel];
        *w = (*w).max(watermark);
        let min = self.channels.iter().copied().min().unwrap_or(0);
        // Channel watermarks only advance, so their minimum does too.
        assert!(
            min >= self.current,
            "invariant: operator watermark {} would go back to {min}",
            self.current
        );
        (min > self.current).then(|| {
            self.current = min;
            min
        })
    }

    pub fn current(&self) -> u64 {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::KeyGroupPartitioner;

    #[test]
    fn windows_fire_once_when_the_watermark_passes_their_end() {
        let mut w = WindowCounts::tumbling(1000);
        for (k, t) in [(1, 0), (1, 999), (2, 500), (1, 1000), (1, 2500)] {
            w.add(k, t);
        }
        assert!(w.fire(999).is_empty(), "window [0,1000) still open at 999");
        let fired = w.fire(1000);
        assert_eq!(
            fired,
            vec![
                WindowResult {
                    key: 1,
                    start_ms: 0,
                    count: 2
                },
                WindowResult {
                    key: 2,
                    start_ms: 0,
                    count: 1
                }
            ]
        );
        assert!(w.fire(1000).is_empty(), "fired windows are gone");
        assert_eq!(w.fire(u64::MAX).len(), 2);
        assert_eq!(w.open_windows(), 0);
    }

    #[test]
    fn a_sliding_record_counts_in_every_window_that_holds_it() {
        let starts = |t| window_starts(1000, 250, t).collect::<Vec<_>>();
        assert_eq!(starts(1100), vec![1000, 750, 500, 250]);
        assert_eq!(starts(999), vec![750, 500, 250, 0]);
        assert_eq!(starts(1000), vec![1000, 750, 500, 250], "[0, 1000) ends before 1000");
        assert_eq!(starts(300), vec![250, 0], "none before time 0");
        assert_eq!(
            window_starts(500, 500, 1499).collect::<Vec<_>>(),
            vec![1000],
            "tumbling: one"
        );
        let mut w = WindowCounts::sliding(1000, 500);
        for t in [100, 600, 1200] {
            w.add(7, t);
        }
        // [0,1000): 100, 600; [500,1500): 600, 1200; [1000,2000): 1200.
        let fired: Vec<(u64, u64)> = w.fire(u64::MAX).iter().map(|r| (r.start_ms, r.count)).collect();
        assert_eq!(fired, vec![(0, 2), (500, 2), (1000, 1)]);
    }

    #[test]
    fn snapshot_restore_keeps_open_windows_by_owner() {
        let p = KeyGroupPartitioner::new(128);
        let mut w = WindowCounts::tumbling(100);
        for k in 0..50 {
            w.add(k, k * 7);
        }
        let snap = w.snapshot();
        let parts: Vec<_> = (0..3)
            .map(|i| WindowCounts::restore(WindowCounts::tumbling(100), [&snap], &p, i, 3))
            .collect();
        assert_eq!(parts.iter().map(|x| x.open_windows()).sum::<usize>(), w.open_windows());
    }

    #[test]
    fn operator_watermark_is_the_minimum_over_channels() {
        let mut t = WatermarkTracker::new(2);
        assert_eq!(t.update(0, 500), None);
        assert_eq!(t.update(1, 300), Some(300));
        assert_eq!(t.update(1, 200), None, "watermarks never go back");
        assert_eq!(t.update(1, 800), Some(500));
        assert_eq!(t.current(), 500);
    }
}
