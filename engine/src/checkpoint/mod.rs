//! Checkpointing: barriers, task snapshots, completed checkpoints, the
//! coordinator and the barrier aligner.
//!
//! Ids start at 1 (`CheckpointIDCounter.INITIAL_CHECKPOINT_ID`) and only increase.

pub mod barrier;
pub mod coordinator;
pub mod failure_manager;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::graph::ExecutionVertexId;
use crate::sink::SinkState;
use crate::state::KeyedStateSnapshot;

pub type CheckpointId = u64;

/// Flink's `CheckpointIDCounter.INITIAL_CHECKPOINT_ID`.
pub const INITIAL_CHECKPOINT_ID: CheckpointId = 1;

/// A barrier travelling with the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBarrier {
    pub id: CheckpointId,
    pub timestamp_ms: i64,
}

/// The state one subtask writes for one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStateSnapshot {
    /// Next offset to read, per source-log partition.
    Source {
        offsets: BTreeMap<u32, u64>,
    },
    Keyed(KeyedStateSnapshot),
    Sink(SinkState),
}

impl TaskStateSnapshot {
    /// Approximate size in bytes, as it would be serialised.
    pub fn size_bytes(&self) -> u64 {
        match self {
            TaskStateSnapshot::Source { offsets } => 12 * offsets.len() as u64,
            TaskStateSnapshot::Keyed(k) => 16 * k.entries.len() as u64,
            TaskStateSnapshot::Sink(s) => 12 * (s.pending_commit.len() as u64 + 1),
        }
    }
}

/// Where a subtask's snapshot lives in checkpoint storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateHandle {
    pub key: String,
    pub size_bytes: u64,
}

impl StateHandle {
    pub fn key_for(id: CheckpointId, task: ExecutionVertexId) -> String {
        format!("chk-{id}/{}-{}", task.vertex, task.subtask)
    }
}

/// A checkpoint every task acknowledged, recorded durably.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedCheckpoint {
    pub id: CheckpointId,
    pub trigger_ms: i64,
    pub completion_ms: i64,
    pub states: BTreeMap<ExecutionVertexId, StateHandle>,
}

impl CompletedCheckpoint {
    pub fn metadata_key(id: CheckpointId) -> String {
        format!("chk-{id}/_metadata")
    }

    pub fn state_size(&self) -> u64 {
        self.states.values().map(|h| h.size_bytes).sum()
    }
}

/// A blob in checkpoint storage: a task snapshot or checkpoint metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredBlob {
    Task(Arc<TaskStateSnapshot>),
    Metadata(Arc<CompletedCheckpoint>),
}
