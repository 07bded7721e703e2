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
use crate::record::Record;
use crate::sink::SinkState;
use crate::state::KeyedStateSnapshot;
use crate::window::WindowSnapshot;

pub type CheckpointId = u64;

/// Flink's `CheckpointIDCounter.INITIAL_CHECKPOINT_ID`.
pub const INITIAL_CHECKPOINT_ID: CheckpointId = 1;

/// A barrier travelling with the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBarrier {
    pub id: CheckpointId,
    pub timestamp_ms: i64,
}

/// An operator's own state in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperatorState {
    /// Next offset to read, per source-log partition.
    Source {
        offsets: BTreeMap<u32, u64>,
    },
    Keyed(KeyedStateSnapshot),
    Window(WindowSnapshot),
    Sink(SinkState),
}

/// The state one subtask writes for one checkpoint: its operator state and,
/// for unaligned checkpoints, the in-flight data (records that crossed the
/// checkpoint on the wire), which a restore replays first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStateSnapshot {
    pub operator: OperatorState,
    /// Input records that arrived before their channel's barrier but after
    /// the snapshot (unaligned).
    pub in_flight_input: Vec<Record>,
    /// Output records not yet sent when the barrier overtook them (unaligned).
    pub in_flight_output: Vec<Record>,
    /// A source of a bounded job that had read all its input.
    pub end_of_input: bool,
}

impl TaskStateSnapshot {
    pub fn new(operator: OperatorState) -> Self {
        TaskStateSnapshot {
            operator,
            in_flight_input: Vec::new(),
            in_flight_output: Vec::new(),
            end_of_input: false,
        }
    }

    /// Approximate size in bytes, as it would be serialised.
    pub fn size_bytes(&self) -> u64 {
        let op = match &self.operator {
            OperatorState::Source { offsets } => 12 * offsets.len() as u64,
            OperatorState::Keyed(k) => 16 * k.entries.len() as u64,
            OperatorState::Window(w) => 24 * w.entries.len() as u64,
            OperatorState::Sink(s) => 12 * (s.pending_commit.len() as u64 + 1),
        };
        op + self.in_flight_bytes()
    }

    /// Size of the persisted in-flight data.
    pub fn in_flight_bytes(&self) -> u64 {
        RECORD_BYTES * (self.in_flight_input.len() + self.in_flight_output.len()) as u64
    }
}

/// Serialised size of one record (key, value, partition, offset).
pub const RECORD_BYTES: u64 = 28;

/// Where a subtask's snapshot lives in checkpoint storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateHandle {
    pub key: String,
    pub size_bytes: u64,
    /// Of which persisted in-flight data (unaligned checkpoints).
    pub in_flight_bytes: u64,
    /// The snapshot is of a source that had read all its input.
    pub end_of_input: bool,
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

    /// Flink's `lastCheckpointPersistedData`: in-flight data persisted.
    pub fn persisted_in_flight(&self) -> u64 {
        self.states.values().map(|h| h.in_flight_bytes).sum()
    }
}

/// A blob in checkpoint storage: a task snapshot or checkpoint metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredBlob {
    Task(Arc<TaskStateSnapshot>),
    Metadata(Arc<CompletedCheckpoint>),
}
