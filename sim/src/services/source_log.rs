//! The source log: partitioned, replayable by offset. Records arrive at
//! `records-per-second` per partition from time zero until each partition
//! holds its share; a fetch returns what has arrived.

use std::sync::{Arc, Mutex};

use halab_engine::protocol::{SourceLogRequest, SourceLogResponse};

use crate::reference::{EdgeTargets, SourceContent};

/// The source log's state (shared with the harness for metrics).
#[derive(Debug)]
pub struct SourceLog {
    pub content: SourceContent,
    pub records_per_second: u64,
    start: madsim::time::Instant,
    records_read: Mutex<u64>,
    /// Per partition, where the latest fetch ended (a restore moves it back).
    positions: Mutex<Vec<u64>>,
    /// Per partition, the furthest any fetch reached: the records read at
    /// least once.
    high_water: Mutex<Vec<u64>>,
}

impl SourceLog {
    /// Create inside the simulation: arrival time zero is now.
    pub fn new(content: SourceContent, records_per_second: u64) -> Arc<Self> {
        Arc::new(SourceLog {
            records_per_second,
            start: madsim::time::Instant::now(),
            records_read: Mutex::new(0),
            positions: Mutex::new(vec![0; content.partitions as usize]),
            high_water: Mutex::new(vec![0; content.partitions as usize]),
            content,
        })
    }

    /// Records of partition `p` that have arrived by now.
    pub fn available(&self, p: u32) -> u64 {
        let ms = self.start.elapsed().as_millis() as u64;
        (self.content.partition_rate(p) * ms / 1000).min(self.content.partition_len(p))
    }

    /// Records handed out so far (re-reads after a restore count again).
    pub fn records_read(&self) -> u64 {
        *self.records_read.lock().expect("invariant: lock not poisoned")
    }

    /// Records read again after a restore rewound a source: every read
    /// beyond the first of each record (the work a recovery rolled back
    /// at the sources).
    pub fn records_reread(&self) -> u64 {
        let once: u64 = self
            .high_water
            .lock()
            .expect("invariant: lock not poisoned")
            .iter()
            .sum();
        let read = self.records_read();
        assert!(read >= once, "invariant: {read} reads cover {once} records");
        read - once
    }

    /// Consumer lag: records that have arrived and that no source has read
    /// yet, over all partitions (a restore moves the read position back).
    pub fn lag(&self) -> u64 {
        let positions = self.positions.lock().expect("invariant: lock not poisoned");
        (0..self.content.partitions)
            .zip(positions.iter())
            .map(|(p, read)| self.available(p).saturating_sub(*read))
            .sum()
    }

    pub fn handle(&self, req: SourceLogRequest) -> Option<SourceLogResponse> {
        let SourceLogRequest::Fetch { partition, offset, max } = req;
        if partition >= self.content.partitions {
            return Some(SourceLogResponse::Error(format!("no partition {partition}")));
        }
        let end = self.available(partition).min(offset.saturating_add(u64::from(max)));
        let (keys, values): (Vec<u64>, Vec<u64>) = match self.content.nexmark {
            // A keys workload's values are all 1: left out.
            None if self.content.edge_targets == EdgeTargets::None => (
                (offset..end).map(|o| self.content.key_at(partition, o)).collect(),
                Vec::new(),
            ),
            None => (offset..end).map(|o| self.content.record_at(partition, o)).unzip(),
            Some(_) => (offset..end).map(|o| self.content.record_at(partition, o)).unzip(),
        };
        *self.records_read.lock().expect("invariant: lock not poisoned") += keys.len() as u64;
        self.positions.lock().expect("invariant: lock not poisoned")[partition as usize] = end.max(offset);
        let mut high_water = self.high_water.lock().expect("invariant: lock not poisoned");
        let hw = &mut high_water[partition as usize];
        // A source reads from its restored offset, never past what was read.
        assert!(
            offset <= *hw,
            "invariant: a fetch at {offset} skips past {hw} in partition {partition}"
        );
        *hw = (*hw).max(end);
        Some(SourceLogResponse::Records {
            partition,
            offset,
            keys,
            values,
            records_per_second: self.content.partition_rate(partition),
            end: end >= self.content.partition_len(partition),
        })
    }
}
