//! The source contents and the fault-free reference output.
//!
//! Source content is a pure function of `(seed, partition, offset)`, so the
//! source-log service and the checker agree without sharing state. The
//! reference is a plain sequential fold: every source record yields exactly one
//! output, and a key with `n` records yields the counts `1..=n` exactly once
//! each, whatever the interleaving of partitions.

use std::collections::BTreeMap;

use halab_engine::record::{Origin, Record};

use crate::keys::KeyDistribution;
use crate::nexmark::NexmarkLog;

/// SplitMix64: a small, well-mixed, stable hash.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Which pipeline reads partition `p` when partitions split at `split`.
pub fn pipeline_of(p: u32, split: Option<u32>) -> u32 {
    u32::from(split.is_some_and(|s| p >= s))
}

/// The source contents of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceContent {
    pub seed: u64,
    pub partitions: u32,
    pub records_per_partition: u64,
    pub keys: u64,
    /// How records spread over the keys.
    pub distribution: KeyDistribution,
    /// Arrival rate per partition: record `o` arrives at `o * 1000 / rate` ms.
    pub records_per_second: u64,
    /// `Some` for the NexMark workload: the partitions are its three
    /// topics, with their own lengths, rates and fields.
    pub nexmark: Option<NexmarkLog>,
    /// An `edges` workload's records are edges of a graph: the key is
    /// the source vertex, the value the target ([`EdgeTargets::Uniform`]).
    pub edge_targets: EdgeTargets,
}

/// Where the value of a keys record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeTargets {
    /// Value 1: records are keys.
    None,
    /// A target vertex drawn uniformly from the keys: records are edges.
    Uniform,
}

impl SourceContent {
    /// The source content of `sc` run with `seed`.
    pub fn of(sc: &crate::scenario::Scenario, seed: u64) -> SourceContent {
        let nexmark = sc.job.nexmark_log(sc.duration.as_millis());
        SourceContent {
            seed,
            partitions: sc.job.source_partitions * if nexmark.is_some() { 3 } else { 1 },
            records_per_partition: sc.records_per_partition(),
            keys: sc.job.keys,
            distribution: sc.job.key_distribution(),
            records_per_second: sc.job.records_per_second,
            nexmark,
            edge_targets: match sc.job.workload {
                crate::scenario::Workload::Edges => EdgeTargets::Uniform,
                crate::scenario::Workload::Keys | crate::scenario::Workload::Nexmark => EdgeTargets::None,
            },
        }
    }

    /// The value of the keys record at `(partition, offset)`: 1, or the
    /// target vertex of an edge.
    pub fn value_at(&self, partition: u32, offset: u64) -> u64 {
        match self.edge_targets {
            EdgeTargets::None => 1,
            EdgeTargets::Uniform => {
                let h = splitmix64(!self.seed ^ splitmix64((u64::from(partition) << 40) ^ offset));
                h % self.keys.max(1)
            }
        }
    }

    /// The key of the record at `(partition, offset)`.
    pub fn key_at(&self, partition: u32, offset: u64) -> u64 {
        let h = splitmix64(self.seed ^ splitmix64((u64::from(partition) << 40) ^ offset));
        self.distribution.key(self.keys, h)
    }

    /// Event time of the record at `offset` of a keys workload's partition
    /// (its arrival in the source log).
    pub fn timestamp_ms(&self, offset: u64) -> u64 {
        assert!(self.nexmark.is_none(), "invariant: NexMark topics have their own rates");
        offset * 1000 / self.records_per_second.max(1)
    }

    /// Records partition `p` holds.
    pub fn partition_len(&self, p: u32) -> u64 {
        match &self.nexmark {
            None => self.records_per_partition,
            Some(n) => n.records(n.locate(p).0),
        }
    }

    /// Arrival rate of partition `p` (records/s).
    pub fn partition_rate(&self, p: u32) -> u64 {
        match &self.nexmark {
            None => self.records_per_second,
            Some(n) => n.rate(n.locate(p).0),
        }
    }

    /// Event time of record `o` of partition `p`.
    pub fn timestamp_at(&self, p: u32, o: u64) -> u64 {
        o * 1000 / self.partition_rate(p).max(1)
    }

    /// `(key, value)` of record `o` of partition `p`: a key with value 1,
    /// or a NexMark event as its topic's source projects it.
    pub fn record_at(&self, p: u32, o: u64) -> (u64, u64) {
        match &self.nexmark {
            None => (self.key_at(p, o), self.value_at(p, o)),
            Some(n) => n.record(self.seed, p, o),
        }
    }

    /// The record at `origin`, as its source emits it.
    pub fn source_record(&self, origin: Origin) -> Record {
        let (key, value) = self.record_at(origin.partition, origin.offset);
        Record {
            key,
            value,
            origin,
            timestamp_ms: self.timestamp_at(origin.partition, origin.offset),
        }
    }

    pub fn contains(&self, o: Origin) -> bool {
        o.partition < self.partitions && o.offset < self.partition_len(o.partition)
    }

    pub fn total(&self) -> u64 {
        (0..self.partitions).map(|p| self.partition_len(p)).sum()
    }

    /// The output of a fault-free sequential run that reads the partitions one
    /// after another: one `(key, count)` record per source record.
    pub fn reference_output(&self) -> Vec<Record> {
        let mut counts = vec![0u64; self.keys as usize];
        let mut out = Vec::with_capacity(self.total() as usize);
        for p in 0..self.partitions {
            for o in 0..self.records_per_partition {
                let key = self.key_at(p, o);
                let n = &mut counts[key as usize];
                *n += 1;
                out.push(Record {
                    key,
                    value: *n,
                    origin: Origin {
                        partition: p,
                        offset: o,
                    },
                    timestamp_ms: self.timestamp_ms(o),
                });
            }
        }
        out
    }

    /// The reference of the `window` topology: per (key, window start), the
    /// number of records whose event time falls in the window.
    pub fn reference_windows(&self, size_ms: u64) -> BTreeMap<(u64, u64), u64> {
        let mut w = BTreeMap::new();
        for p in 0..self.partitions {
            for o in 0..self.records_per_partition {
                let t = self.timestamp_ms(o);
                *w.entry((self.key_at(p, o), t - t % size_ms)).or_insert(0) += 1;
            }
        }
        w
    }

    /// The reference fold for jobs whose partitions `< split` and `>= split`
    /// are counted by independent pipelines: records per (pipeline, key).
    /// Without a split, one pipeline counts everything.
    pub fn reference_counts_by_pipeline(&self, split: Option<u32>) -> BTreeMap<(u32, u64), u64> {
        let counts = self.reference_counts(split);
        (0..=u32::from(split.is_some()))
            .flat_map(|pipeline| (0..self.keys).map(move |key| (pipeline, key)))
            .filter_map(|(pipeline, key)| {
                let n = counts[self.slot(pipeline, key)];
                (n > 0).then_some(((pipeline, key), n))
            })
            .collect()
    }

    /// [`Self::reference_counts_by_pipeline`] as a flat table indexed by
    /// [`Self::slot`]: one entry per key, or two with a split.
    pub fn reference_counts(&self, split: Option<u32>) -> Vec<u64> {
        let pipelines = if split.is_some() { 2 } else { 1 };
        let mut counts = vec![0u64; pipelines * self.keys as usize];
        for p in 0..self.partitions {
            let base = self.slot(pipeline_of(p, split), 0);
            for o in 0..self.records_per_partition {
                counts[base + self.key_at(p, o) as usize] += 1;
            }
        }
        counts
    }

    /// The index of `(pipeline, key)` in [`Self::reference_counts`].
    pub fn slot(&self, pipeline: u32, key: u64) -> usize {
        pipeline as usize * self.keys as usize + key as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_deterministic_and_spread_over_keys() {
        let c = SourceContent {
            seed: 3,
            partitions: 2,
            records_per_partition: 1000,
            keys: 10,
            distribution: crate::keys::KeyDistribution::Uniform,
            records_per_second: 100,
            nexmark: None,
            edge_targets: EdgeTargets::None,
        };
        assert_eq!(c.key_at(1, 5), c.key_at(1, 5));
        let counts = c.reference_counts_by_pipeline(None);
        assert_eq!(counts.len(), 10);
        assert_eq!(counts.values().sum::<u64>(), 2000);
        let other = SourceContent { seed: 4, ..c };
        assert!((0..100).any(|o| other.key_at(0, o) != c.key_at(0, o)));
    }
}
