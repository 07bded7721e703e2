//! Checkpointing: barriers, task snapshots, completed checkpoints, the
//! coordinator and the barrier aligner.
//!
//! Ids start at 1 (`CheckpointIDCounter.INITIAL_CHECKPOINT_ID`) and only increase.

pub mod barrier;
pub mod coordinator;
pub mod failure_manager;
pub mod protocol;
pub mod recovery_line;
pub mod traffic;

use crate::resources::ResourceModel;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::graph::ExecutionVertexId;
use crate::join::JoinSnapshot;
use crate::reachability::ReachabilitySnapshot;
use crate::record::{ChannelRecord, Record};
use crate::sink::SinkState;
use crate::state::KeyedStateSnapshot;
use crate::window::WindowSnapshot;
use recovery_line::ChannelCut;

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
    /// A map or filter: nothing of its own (in-flight data only).
    Stateless,
    /// The records a keyed join keeps.
    Join(JoinSnapshot),
    /// The window results a max-per-window keeps.
    WindowMax(Vec<Record>),
    /// The reached vertices and waiting edges of an iteration head.
    Reachability(ReachabilitySnapshot),
}

/// The state one subtask writes for one checkpoint: its operator state and,
/// for unaligned checkpoints, the in-flight data (records that crossed the
/// checkpoint on the wire), which a restore replays first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStateSnapshot {
    pub operator: OperatorState,
    /// Input records that arrived before their channel's barrier but after
    /// the snapshot (unaligned).
    pub in_flight_input: Vec<ChannelRecord>,
    /// Output records not yet sent when the barrier overtook them (unaligned).
    pub in_flight_output: Vec<ChannelRecord>,
    /// A source of a bounded job that had read all its input.
    pub end_of_input: bool,
    /// Keyed entries changed since the task's previous snapshot, where the
    /// operator tracks them: RocksDB's synchronous phase flushes these.
    #[serde(default)]
    pub changed_entries: Option<u64>,
    /// Keyed entries changed since the last completed checkpoint, where the
    /// operator tracks them: an incremental checkpoint uploads only these.
    #[serde(default)]
    pub unconfirmed_entries: Option<u64>,
    /// An uncoordinated snapshot's place in its task's channels.
    #[serde(default)]
    pub cut: Option<ChannelCut>,
    /// An uncoordinated snapshot's message log: per output channel, the
    /// records sent from `cut.log_first` on.
    #[serde(default)]
    pub sent_log: Vec<Vec<Record>>,
}

impl TaskStateSnapshot {
    pub fn new(operator: OperatorState) -> Self {
        TaskStateSnapshot {
            operator,
            in_flight_input: Vec::new(),
            in_flight_output: Vec::new(),
            end_of_input: false,
            changed_entries: None,
            unconfirmed_entries: None,
            cut: None,
            sent_log: Vec::new(),
        }
    }

    /// Bytes an upload of this snapshot moves: all of it, or with an
    /// incremental checkpoint (RocksDB) only the changed entries' bytes
    /// besides the rest of the snapshot. Restores still download all of it.
    pub fn uploaded_bytes(&self, model: &ResourceModel, incremental: bool) -> u64 {
        match (incremental, self.unconfirmed_entries, &self.operator) {
            (true, Some(changed), OperatorState::Keyed(k)) => {
                let entries = k.entries.len() as u64;
                // So an incremental upload is never larger than the snapshot.
                assert!(changed <= entries, "invariant: {changed} changed entries of {entries}");
                model
                    .state_bytes(changed)
                    .saturating_add(self.in_flight_bytes(Some(model)))
            }
            _ => self.size_bytes(Some(model)),
        }
    }

    /// Size in bytes. Under the resource model keyed and window state
    /// count `state-bytes-per-key` per entry (virtual: never allocated) and
    /// records `record-bytes` × weight; without it, their serialised sizes
    /// (16, 24 and 28 bytes). Source offsets and sink transactions count as
    /// serialised either way.
    pub fn size_bytes(&self, model: Option<&ResourceModel>) -> u64 {
        self.operator_bytes(model).saturating_add(self.in_flight_bytes(model))
    }

    /// The operator state's part of [`size_bytes`](Self::size_bytes).
    pub fn operator_bytes(&self, model: Option<&ResourceModel>) -> u64 {
        let per_entry = |serialised: u64, entries: usize| match model {
            Some(m) => m.state_bytes(entries as u64),
            None => serialised * entries as u64,
        };
        match &self.operator {
            OperatorState::Source { offsets } => 12 * offsets.len() as u64,
            OperatorState::Keyed(k) => per_entry(16, k.entries.len()),
            OperatorState::Window(w) => per_entry(24, w.entries.len()),
            OperatorState::Sink(s) => 12 * (s.pending_commit.len() as u64 + 1),
            OperatorState::Stateless => 0,
            OperatorState::Join(j) => match model {
                Some(m) => m.records_bytes(j.entries.len() as u64),
                None => 40 * j.entries.len() as u64,
            },
            OperatorState::Reachability(r) => match model {
                Some(m) => m.records_bytes(r.len() as u64),
                None => SERIALISED_RECORD_BYTES * r.len() as u64,
            },
            OperatorState::WindowMax(records) => match model {
                Some(m) => m.records_bytes(records.len() as u64),
                None => SERIALISED_RECORD_BYTES * records.len() as u64,
            },
        }
    }

    /// Size of the persisted in-flight data (with an uncoordinated
    /// snapshot's message log).
    pub fn in_flight_bytes(&self, model: Option<&ResourceModel>) -> u64 {
        let logged: usize = self.sent_log.iter().map(Vec::len).sum();
        let records = (self.in_flight_input.len() + self.in_flight_output.len() + logged) as u64;
        match model {
            Some(m) => m.records_bytes(records),
            None => SERIALISED_RECORD_BYTES * records,
        }
    }
}

/// Serialised size of one record (key, value, partition, offset).
pub const SERIALISED_RECORD_BYTES: u64 = 28;

/// Where a subtask's snapshot lives in checkpoint storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateHandle {
    pub key: String,
    pub size_bytes: u64,
    /// Bytes this checkpoint uploaded for it (less than `size_bytes` when
    /// incremental).
    #[serde(default)]
    pub uploaded_bytes: u64,
    /// Of which persisted in-flight data (unaligned checkpoints).
    pub in_flight_bytes: u64,
    /// Records of persisted in-flight data (input and output): records
    /// that were between tasks at the cut.
    #[serde(default)]
    pub in_flight_records: u64,
    /// The snapshot is of a source that had read all its input.
    pub end_of_input: bool,
    /// An uncoordinated snapshot's channel counts (what the JobManager's
    /// recovery line is computed from).
    #[serde(default)]
    pub cut: Option<ChannelCut>,
}

impl StateHandle {
    pub fn key_for(id: CheckpointId, task: ExecutionVertexId) -> String {
        assert!(id >= INITIAL_CHECKPOINT_ID, "invariant: checkpoint id {id} below 1");
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
    /// A recovery line (uncoordinated checkpoints): per task, the records
    /// in flight into it at the line, replayed from the senders' logs.
    #[serde(default)]
    pub replay: BTreeMap<ExecutionVertexId, Vec<ReplaySlice>>,
}

/// Records in flight on one channel at a recovery line: records
/// `from..to` of output channel `out` of the sender, whose snapshot at the
/// line (`sender_key`) logged them, into input channel `input`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaySlice {
    pub sender_key: String,
    pub out: usize,
    pub input: usize,
    pub from: u64,
    pub to: u64,
}

impl CompletedCheckpoint {
    pub fn metadata_key(id: CheckpointId) -> String {
        assert!(id >= INITIAL_CHECKPOINT_ID, "invariant: checkpoint id {id} below 1");
        format!("chk-{id}/_metadata")
    }

    pub fn state_size(&self) -> u64 {
        // Uploads and in-flight data are parts of the state.
        let parts = |h: &StateHandle| h.uploaded_bytes.max(h.in_flight_bytes) <= h.size_bytes;
        assert!(
            self.states.values().all(parts),
            "invariant: checkpoint {}'s sizes",
            self.id
        );
        self.states.values().map(|h| h.size_bytes).sum()
    }

    /// Bytes uploaded for this checkpoint (Flink's checkpointed size).
    pub fn uploaded_size(&self) -> u64 {
        self.states.values().map(|h| h.uploaded_bytes).sum()
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
