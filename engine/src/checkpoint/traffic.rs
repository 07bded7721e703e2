//! What checkpointing costs besides time: the control messages a protocol
//! sends and the bytes its snapshots write to checkpoint storage, counted
//! over a whole run (CheckMate's message overhead).
//!
//! Messages are counted where they are sent: the JobManager's
//! `TriggerCheckpoint` and `NotifyCheckpointComplete`, the tasks'
//! acknowledgements and declines, and on data channels the barriers and
//! (communication-induced checkpoints) the piggybacked indexes. Bytes are
//! the uploads of task snapshots (state, in-flight data and message logs),
//! acknowledged or not. Forced snapshots are those a received index made a
//! task take. The counters sit beside the trace, not in it: counting
//! changes no trace hash.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The run's checkpoint traffic counters. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct CheckpointTraffic(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    messages: AtomicU64,
    bytes: AtomicU64,
    forced_snapshots: AtomicU64,
}

/// The counters' values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficTotals {
    pub messages: u64,
    pub bytes: u64,
    pub forced_snapshots: u64,
}

impl CheckpointTraffic {
    /// One control message of the checkpoint protocol was sent.
    pub fn message(&self) {
        self.0.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot upload moved `bytes` to checkpoint storage.
    pub fn uploaded(&self, bytes: u64) {
        self.0.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A task took a snapshot a received index forced.
    pub fn forced_snapshot(&self) {
        self.0.forced_snapshots.fetch_add(1, Ordering::Relaxed);
    }

    pub fn totals(&self) -> TrafficTotals {
        TrafficTotals {
            messages: self.0.messages.load(Ordering::Relaxed),
            bytes: self.0.bytes.load(Ordering::Relaxed),
            forced_snapshots: self.0.forced_snapshots.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_counters() {
        let a = CheckpointTraffic::default();
        let b = a.clone();
        a.message();
        b.message();
        b.uploaded(40);
        a.uploaded(2);
        a.forced_snapshot();
        assert_eq!(
            b.totals(),
            TrafficTotals {
                messages: 2,
                bytes: 42,
                forced_snapshots: 1
            }
        );
    }
}
