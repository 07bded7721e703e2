//! Messages between the JobManager, TaskManagers, tasks and the external
//! services. They travel over madsim's reliable, ordered connections as typed
//! values (no serialisation); see [`crate::net`].

use std::net::SocketAddr;

use crate::checkpoint::{CheckpointBarrier, CheckpointId, StateHandle, StoredBlob};
use crate::graph::{ChannelTarget, ExecutionVertexId, OperatorKind, ShipStrategy};
use crate::record::{Record, RecordBatch};
use crate::sink::TxnId;

/// A TaskManager's id (its index in the cluster).
pub type TmId = u32;

/// One execution attempt of a subtask. Every restart of a subtask gets a
/// higher attempt number; messages of older attempts are ignored or rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutionAttemptId {
    pub vertex: ExecutionVertexId,
    /// The leader epoch of the JobManager that deployed it (0 without HA).
    /// A new leader numbers its attempts from 1 again, as Flink's new
    /// JobMaster builds a fresh execution graph; the epoch keeps them apart.
    pub epoch: u64,
    pub attempt: u32,
}

impl ExecutionAttemptId {
    /// The token this attempt's requests to the services carry.
    pub fn fencing_token(&self) -> FencingToken {
        FencingToken {
            epoch: self.epoch,
            attempt: self.attempt,
        }
    }
}

impl std::fmt::Display for ExecutionAttemptId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch == 0 {
            write!(f, "{}#{}", self.vertex, self.attempt)
        } else {
            write!(f, "{}#{}.{}", self.vertex, self.epoch, self.attempt)
        }
    }
}

impl std::str::FromStr for ExecutionAttemptId {
    type Err = String;

    /// The [`Display`](std::fmt::Display) form: `v3[1]#2` (epoch 0) or
    /// `v3[1]#4.2` (epoch 4, attempt 2).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not an execution attempt (v<vertex>[<subtask>]#[<epoch>.]<attempt>)");
        let (vertex, rest) = s.split_once('#').ok_or_else(bad)?;
        let (epoch, attempt) = match rest.split_once('.') {
            Some((e, a)) => (e.parse().map_err(|_| bad())?, a),
            None => (0, rest),
        };
        let id = ExecutionAttemptId {
            vertex: vertex.parse()?,
            epoch,
            attempt: attempt.parse().map_err(|_| bad())?,
        };
        // `4.0` would print as `#4.0` but `0.2` as `#2`: only the canonical
        // form reads back.
        if id.to_string() != s {
            return Err(bad());
        }
        Ok(id)
    }
}

/// The fencing token of a request: the leader epoch, then the attempt.
/// Services keep the newest token per writer and reject older ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FencingToken {
    pub epoch: u64,
    pub attempt: u32,
}

impl std::fmt::Display for FencingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "epoch {} attempt {}", self.epoch, self.attempt)
    }
}

/// Addresses of the external services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceAddrs {
    pub source_log: SocketAddr,
    pub sink_store: SocketAddr,
    pub checkpoint_storage: SocketAddr,
}

/// One output channel of a deployed task: where it goes and which attempt
/// of the consumer it must reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputChannelDescriptor {
    pub target: ChannelTarget,
    pub consumer_attempt: u32,
    pub address: SocketAddr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDescriptor {
    pub ship: ShipStrategy,
    pub consumer_parallelism: u32,
    pub channels: Vec<OutputChannelDescriptor>,
}

/// The state a task restores from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreSpec {
    pub checkpoint_id: CheckpointId,
    /// A recovery line's records in flight into this task, to replay
    /// before new input (uncoordinated checkpoints).
    pub replay: Vec<crate::checkpoint::ReplaySlice>,
    /// Usually one handle (same parallelism); several when state is
    /// redistributed.
    pub handles: Vec<StateHandle>,
    /// The subtask index each handle was written by (its keys' old owner).
    pub subtasks: Vec<u32>,
}

/// What a task hears of a completed recovery line (uncoordinated
/// checkpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineMember {
    /// Its own snapshot in the line (`None`: its initial state): a sink
    /// commits the transactions up to it.
    pub local_id: Option<CheckpointId>,
    /// Per output channel, what the receiver had processed at the line:
    /// the log below it is never replayed again.
    pub floors: Vec<u64>,
}

/// Everything a TaskManager needs to run one subtask attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDeploymentDescriptor {
    pub id: ExecutionAttemptId,
    pub name: String,
    pub kind: OperatorKind,
    pub parallelism: u32,
    pub max_parallelism: i32,
    /// Number of channels of each input gate.
    pub input_gates: Vec<u32>,
    pub outputs: Vec<OutputDescriptor>,
    /// Whether the task sends its watermarks downstream.
    pub watermarks: WatermarkOutput,
    pub restore: Option<RestoreSpec>,
    pub services: ServiceAddrs,
}

/// Whether a task sends watermarks downstream
/// ([`JobGraph::forwards_watermarks`](crate::graph::JobGraph::forwards_watermarks)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatermarkOutput {
    Forward,
    /// Nothing downstream reads them.
    Withhold,
}

/// TaskManager → JobManager.
#[derive(Clone, Debug)]
pub enum TmToJm {
    Register {
        tm: TmId,
        slots: u32,
        data_addr: SocketAddr,
        /// The epoch of the leader the TaskManager registers with.
        epoch: u64,
    },
    HeartbeatResponse {
        tm: TmId,
    },
    TaskRunning {
        id: ExecutionAttemptId,
    },
    TaskFailed {
        id: ExecutionAttemptId,
        reason: String,
    },
    AcknowledgeCheckpoint {
        id: ExecutionAttemptId,
        checkpoint: CheckpointId,
        handle: StateHandle,
        metrics: TaskCheckpointMetrics,
    },
    DeclineCheckpoint {
        id: ExecutionAttemptId,
        checkpoint: CheckpointId,
        reason: String,
    },
    /// The task ended after the final checkpoint of a bounded job.
    TaskFinished {
        id: ExecutionAttemptId,
    },
    /// A cancel call was carried out: the task has stopped (Flink's
    /// `updateTaskExecutionState(CANCELED)`). Also the answer to a cancel
    /// call for an attempt this TaskManager no longer runs.
    TaskCanceled {
        id: ExecutionAttemptId,
    },
}

/// JobManager → TaskManager.
#[derive(Clone, Debug)]
pub enum JmToTm {
    Registered,
    HeartbeatRequest,
    Deploy(Box<TaskDeploymentDescriptor>),
    CancelTask {
        id: ExecutionAttemptId,
    },
    TriggerCheckpoint {
        id: ExecutionAttemptId,
        barrier: CheckpointBarrier,
    },
    NotifyCheckpointComplete {
        id: ExecutionAttemptId,
        checkpoint: CheckpointId,
        /// Uncoordinated checkpoints: the task's place in the line.
        member: Option<LineMember>,
    },
    /// End the task: all input is committed (bounded jobs).
    FinishTask {
        id: ExecutionAttemptId,
    },
}

/// First message on a data connection: which input channel it feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelHello {
    pub consumer: ExecutionAttemptId,
    pub gate: u32,
    pub channel: u32,
}

/// Producer → consumer on a data connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataMsg {
    Records(RecordBatch),
    Barrier(CheckpointBarrier),
    /// No record with an earlier event time will follow on this channel.
    Watermark(u64),
    /// The sender's checkpoint index, piggybacked ahead of the records
    /// after it rose (communication-induced checkpoints).
    CheckpointIndex(u64),
}

/// Consumer → producer: permission to send `n` more record batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credit(pub u32);

/// Requests to the source log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceLogRequest {
    /// Up to `max` records of `partition` from `offset` on, as far as they
    /// have arrived.
    Fetch { partition: u32, offset: u64, max: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceLogResponse {
    /// `keys[i]` is the key of the record at `offset + i` and `values[i]`
    /// its value (`values` is empty when every value is 1); record `o`
    /// arrived at event time `o * 1000 / records_per_second` ms. `end` is set
    /// once the partition holds all its records and this fetch reached them.
    Records {
        partition: u32,
        offset: u64,
        keys: Vec<u64>,
        values: Vec<u64>,
        records_per_second: u64,
        end: bool,
    },
    Error(String),
}

/// Requests to the transactional sink store. `by` is the fencing token of
/// the sink subtask attempt sending it: the store rejects anything older than
/// the newest token it has seen for that subtask (fencing), as Kafka fences a
/// zombie producer by the epoch of its transactional id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkRequest {
    /// Register a new attempt of a sink subtask; fences older attempts. Answered.
    Fence {
        vertex: u32,
        subtask: u32,
        by: FencingToken,
    },
    /// Append records to a transaction; the first write of a newer attempt
    /// to a transaction id begins a new transaction under that id (the older
    /// attempt's open one is aborted). Answered (a slow store slows the sink).
    Write {
        txn: TxnId,
        by: FencingToken,
        records: Vec<Record>,
    },
    /// Flush: append `last` (the records still buffered) and pre-commit,
    /// in one request, as a KafkaSink's pre-commit is one producer flush
    /// of what it still holds. After Ok, commit must succeed. Answered.
    PreCommit {
        txn: TxnId,
        by: FencingToken,
        last: Vec<Record>,
    },
    /// Make the transaction visible; idempotent. Answered.
    Commit { txn: TxnId, by: FencingToken },
    /// Discard the transaction. Answered.
    Abort { txn: TxnId, by: FencingToken },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkResponse {
    Ok,
    Rejected(String),
}

/// Requests to checkpoint storage.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageRequest {
    /// Store a blob; `epoch` is the writer's leader epoch (fenced).
    Put {
        key: String,
        blob: StoredBlob,
        epoch: u64,
    },
    Get {
        key: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum StorageResponse {
    Stored,
    Found(Option<StoredBlob>),
    Failed(String),
}

/// What a task measured while it took its part of a checkpoint (Flink's
/// `CheckpointMetrics`, sent with the acknowledgement).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCheckpointMetrics {
    /// `checkpointAlignmentTime`: from the first barrier to the snapshot (ms).
    pub alignment_ms: i64,
    /// `syncDuration`: how long the snapshot's synchronous phase held the
    /// task (ms); RocksDB's flush under the resource model, else 0.
    pub sync_ms: i64,
}

impl TaskCheckpointMetrics {
    /// The largest of each figure, over two tasks (the checkpoint's summary).
    pub fn max(self, other: TaskCheckpointMetrics) -> TaskCheckpointMetrics {
        TaskCheckpointMetrics {
            alignment_ms: self.alignment_ms.max(other.alignment_ms),
            sync_ms: self.sync_ms.max(other.sync_ms),
        }
    }
}
