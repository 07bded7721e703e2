//! A running subtask attempt: set-up (restore state, connect channels) and the
//! operator loops in [`source`], [`count`] and [`sink`].
//!
//! A task talks to its TaskManager only through channels: control messages come
//! in ([`TaskControl`]), events go out ([`TaskEvent`]). Snapshots are written to
//! checkpoint storage by a separate writer task (Flink's asynchronous snapshot
//! part), which acknowledges or declines the checkpoint when done.

pub mod changes;
pub mod count;
pub mod driver;
pub mod input;
pub mod io;
pub mod join;
pub mod load;
pub mod local_checkpoints;
pub mod processing_window;
pub mod reachability;
pub mod sink;
pub mod source;
pub mod stateless;
pub mod window;
pub mod window_max;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use madsim::net::Endpoint;
use tokio::sync::mpsc;

use crate::checkpoint::barrier::AlignmentType;
use crate::checkpoint::failure_manager::CheckpointFailureReason;
use crate::checkpoint::{CheckpointBarrier, CheckpointId, OperatorState, StateHandle, StoredBlob, TaskStateSnapshot};
use crate::config::{EngineConfig, Sabotage};
use crate::graph::OperatorKind;
use crate::net::{self, ConnRx, ConnTx, RpcClient};
use crate::partition::registry::build_partitioner;
use crate::partition::{Partitioner, PartitionerParams};
use crate::process::resources::TaskManagerResources;
use crate::protocol::{
    ChannelHello, ExecutionAttemptId, StorageRequest, StorageResponse, TaskCheckpointMetrics, TaskDeploymentDescriptor,
};
use crate::record::ChannelRecord;
use crate::resources::{ResourceModel, StateBackendKind};
use crate::trace::Tracer;

use io::{ConnectedEdge, InputGate, OutputGate};

/// Why a task failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("network: {0}")]
    Network(String),
    #[error("restore: {0}")]
    Restore(String),
    #[error("external service: {0}")]
    Service(String),
}

/// TaskManager → task.
#[derive(Debug, Clone)]
pub enum TaskControl {
    TriggerCheckpoint(CheckpointBarrier),
    /// With the task's place in the line (uncoordinated checkpoints).
    NotifyCheckpointComplete(CheckpointId, Option<crate::protocol::LineMember>),
    /// All input is committed by a final checkpoint: end the task.
    Finish,
}

/// Task → TaskManager (forwarded to the JobManager).
#[derive(Debug, Clone)]
pub enum TaskEvent {
    Running(ExecutionAttemptId),
    Failed(ExecutionAttemptId, String),
    /// Acknowledged with the state handle and this task's alignment time (ms).
    Acknowledge(ExecutionAttemptId, CheckpointId, StateHandle, TaskCheckpointMetrics),
    Decline(ExecutionAttemptId, CheckpointId, String),
    /// The task ended after a final checkpoint (bounded jobs).
    Finished(ExecutionAttemptId),
    /// The TaskManager stopped the task on a cancel call.
    Canceled(ExecutionAttemptId),
}

/// An inbound data connection, routed to its consumer by the TaskManager.
#[derive(Debug)]
pub struct InboundChannel {
    pub gate: u32,
    pub channel: u32,
    pub tx: ConnTx,
    pub rx: ConnRx,
}

/// Everything a task needs from its TaskManager.
pub struct TaskEnv {
    pub tdd: TaskDeploymentDescriptor,
    pub endpoint: Arc<Endpoint>,
    pub control: mpsc::UnboundedReceiver<TaskControl>,
    pub inbound: mpsc::UnboundedReceiver<InboundChannel>,
    pub events: mpsc::UnboundedSender<TaskEvent>,
    pub config: Arc<EngineConfig>,
    pub sabotage: Sabotage,
    pub tracer: Tracer,
    pub node: String,
    /// The TaskManager's cores and transfer links, shared with its other tasks.
    pub resources: Arc<TaskManagerResources>,
    /// Where the run keeps every subtask's load.
    pub load: load::LoadRegistry,
}

/// Snapshots on their way to checkpoint storage: an aligned snapshot goes to
/// the writer at once; an unaligned one waits until its in-flight data is
/// complete.
pub struct Snapshots {
    writer: mpsc::UnboundedSender<(CheckpointId, TaskStateSnapshot, TaskCheckpointMetrics)>,
    waiting: BTreeMap<CheckpointId, (TaskStateSnapshot, TaskCheckpointMetrics)>,
    /// The last checkpoint taken: each is taken once, in order, so each is
    /// acknowledged or declined once.
    last_taken: Option<CheckpointId>,
}

impl Snapshots {
    /// The operator snapshot of checkpoint `id` was taken.
    pub fn taken(
        &mut self,
        id: CheckpointId,
        snapshot: TaskStateSnapshot,
        alignment: AlignmentType,
        metrics: TaskCheckpointMetrics,
    ) {
        assert!(metrics.alignment_ms >= 0 && metrics.sync_ms >= 0, "{metrics:?}");
        let last = self.last_taken.replace(id);
        assert!(last.is_none_or(|l| l < id), "invariant: snapshot {id} after {last:?}");
        // A newer checkpoint aborts an unaligned one still collecting.
        let waiting = &self.waiting;
        assert!(
            waiting.is_empty(),
            "invariant: snapshot {id} while {:?} wait for in-flight data",
            waiting.keys()
        );
        match alignment {
            AlignmentType::Unaligned | AlignmentType::AlignedWithBackEdgeLog => {
                self.waiting.insert(id, (snapshot, metrics));
            }
            AlignmentType::Aligned => {
                let _ = self.writer.send((id, snapshot, metrics));
            }
        }
    }

    /// The in-flight input of unaligned checkpoint `id` is complete: write it.
    pub fn in_flight_complete(&mut self, id: CheckpointId, records: Vec<ChannelRecord>) {
        let waiting = self.waiting.remove(&id);
        assert!(
            waiting.is_some(),
            "invariant: in-flight data of {id} before its snapshot"
        );
        if let Some((mut snapshot, metrics)) = waiting {
            let earlier = snapshot.in_flight_input.len();
            assert!(earlier == 0, "invariant: {id} had {earlier} in-flight records");
            snapshot.in_flight_input = records;
            let _ = self.writer.send((id, snapshot, metrics));
        }
    }

    /// The snapshot of checkpoint `id` was taken aligned, but its barrier
    /// may still time out in an output queue (alternating checkpoints): it
    /// waits for [`Snapshots::output_complete`].
    pub fn taken_awaiting_output(
        &mut self,
        id: CheckpointId,
        snapshot: TaskStateSnapshot,
        metrics: TaskCheckpointMetrics,
    ) {
        // Recorded as unaligned: written once its output side is known.
        self.taken(id, snapshot, AlignmentType::Unaligned, metrics);
    }

    /// The barrier of checkpoint `id` left every output queue; `records`
    /// are those it overtook where it timed out (its output in-flight
    /// data): write the snapshot.
    pub fn output_complete(&mut self, id: CheckpointId, records: Vec<ChannelRecord>) {
        let waiting = self.waiting.remove(&id);
        assert!(
            waiting.is_some(),
            "invariant: output of {id} complete before its snapshot"
        );
        if let Some((mut snapshot, metrics)) = waiting {
            snapshot.in_flight_output.extend(records);
            let _ = self.writer.send((id, snapshot, metrics));
        }
    }

    pub fn aborted(&mut self, id: CheckpointId) {
        // Declined only before it is written: never acknowledged as well.
        let written = self.last_taken.is_some_and(|l| l >= id) && !self.waiting.contains_key(&id);
        assert!(
            !written,
            "invariant: checkpoint {id} aborted after its snapshot was written"
        );
        self.waiting.remove(&id);
    }
}

/// Aborts the wrapped task when dropped, so helpers die with their task.
pub struct AbortOnDrop(pub madsim::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A task ready to run: its connected output and the in-flight data to
/// replay ([`TaskEnv::restore_and_connect`]).
pub struct Restored {
    pub out: OutputGate,
    pub replay_in: Vec<ChannelRecord>,
    pub replay_out: Vec<ChannelRecord>,
    /// The task's own snapshot timer (uncoordinated checkpoints).
    pub local: Option<local_checkpoints::LocalCheckpoints>,
}

/// Run a task to its end; failures are reported as [`TaskEvent::Failed`].
pub async fn run(env: TaskEnv) {
    let id = env.tdd.id;
    let events = env.events.clone();
    let detect_connection_loss = env.config.detect_connection_loss;
    let result = match env.tdd.kind.clone() {
        OperatorKind::Source {
            first_partition,
            partitions,
        } => source::run(env, first_partition, partitions).await,
        OperatorKind::KeyedCount => count::run(env).await,
        OperatorKind::TumblingWindowCount { size_ms } => window::run(env, size_ms, size_ms).await,
        OperatorKind::SlidingWindowCount { size_ms, slide_ms } => window::run(env, size_ms, slide_ms).await,
        OperatorKind::ProcessingTimeWindowCount { size_ms } => processing_window::run(env, size_ms).await,
        OperatorKind::KeyedJoin { window_ms } => join::run(env, window_ms).await,
        OperatorKind::WindowMax => window_max::run(env).await,
        OperatorKind::TwoPhaseCommitSink => sink::run(env).await,
        OperatorKind::Map { function } => stateless::run(env, stateless::Function::Map(function)).await,
        OperatorKind::Filter { predicate } => stateless::run(env, stateless::Function::Filter(predicate)).await,
        OperatorKind::Reachability { root } => reachability::run(env, root).await,
    };
    match result {
        // With connection-loss detection off, a broken connection is not a
        // failure: the task stalls until the JobManager, which learns of the
        // lost TaskManager by heartbeat timeout only, cancels it.
        Err(TaskError::Network(_)) if !detect_connection_loss => std::future::pending::<()>().await,
        Err(e) => {
            let _ = events.send(TaskEvent::Failed(id, e.to_string()));
        }
        Ok(()) => {}
    }
}

impl TaskEnv {
    /// The job's partitioner (`halab.partitioner`); key groups use the
    /// job's max parallelism.
    pub fn partitioner(&self) -> Arc<dyn Partitioner> {
        let params = PartitionerParams {
            max_parallelism: self.tdd.max_parallelism,
            ..self.config.partitioner_params
        };
        let built = build_partitioner(&self.config.partitioner, &params, &self.config.raw).expect(
            "invariant: the partitioner was built once by EngineConfig and the job's max parallelism by the JobManager",
        );
        Arc::from(built)
    }

    pub fn storage_client(&self) -> RpcClient {
        RpcClient::new(
            self.endpoint.clone(),
            self.tdd.services.checkpoint_storage,
            self.config.rpc_timeout,
        )
    }

    /// Fetch the task snapshots to restore from, if any.
    pub async fn restored_state(&self) -> Result<Vec<Arc<TaskStateSnapshot>>, TaskError> {
        let Some(spec) = &self.tdd.restore else {
            return Ok(Vec::new());
        };
        let mut client = self.storage_client();
        let mut out = Vec::new();
        for h in &spec.handles {
            let resp: StorageResponse = client
                .call(StorageRequest::Get { key: h.key.clone() })
                .await
                .map_err(|e| TaskError::Restore(e.to_string()))?;
            match resp {
                StorageResponse::Found(Some(StoredBlob::Task(s))) => {
                    // The handles name this vertex's snapshots.
                    assert!(
                        self.holds_own_state(&s),
                        "invariant: {} restored into {:?}",
                        h.key,
                        self.tdd.kind
                    );
                    out.push(s);
                }
                other => return Err(TaskError::Restore(format!("state {} unavailable: {other:?}", h.key))),
            }
        }
        Ok(out)
    }

    /// Whether `snapshot` holds state of this task's kind of operator.
    fn holds_own_state(&self, snapshot: &TaskStateSnapshot) -> bool {
        matches!(
            (&self.tdd.kind, &snapshot.operator),
            (OperatorKind::Source { .. }, OperatorState::Source { .. })
                | (OperatorKind::KeyedCount, OperatorState::Keyed(_))
                | (
                    OperatorKind::TumblingWindowCount { .. }
                        | OperatorKind::SlidingWindowCount { .. }
                        | OperatorKind::ProcessingTimeWindowCount { .. },
                    OperatorState::Window(_)
                )
                | (OperatorKind::TwoPhaseCommitSink, OperatorState::Sink(_))
                | (OperatorKind::KeyedJoin { .. }, OperatorState::Join(_))
                | (OperatorKind::WindowMax, OperatorState::WindowMax(_))
                | (OperatorKind::Reachability { .. }, OperatorState::Reachability(_))
                | (
                    OperatorKind::Map { .. } | OperatorKind::Filter { .. },
                    OperatorState::Stateless
                )
        )
    }

    /// Bytes of the restored snapshots, as a task that keeps all of them
    /// downloads them.
    pub fn restored_bytes(&self, restored: &[Arc<TaskStateSnapshot>]) -> u64 {
        restored.iter().map(|s| s.size_bytes(self.resources.model())).sum()
    }

    /// What every operator task does before it runs: take the in-flight
    /// data of `restored` to replay, connect the outputs (first, as Flink
    /// sets up partitions before restoring, so consumers do not time out
    /// while the state downloads), then download the restored state
    /// (`state_bytes` under the resource model) and the in-flight data.
    pub async fn restore_and_connect(
        &self,
        restored: &[Arc<TaskStateSnapshot>],
        state_bytes: impl FnOnce(&ResourceModel) -> u64,
    ) -> Result<Restored, TaskError> {
        let (mut replay_in, replay_out) = self.in_flight_to_replay(restored);
        let mut out = self.connect_outputs().await?;
        let (local, logged) = self.restore_uncoordinated(restored, &mut out).await?;
        replay_in.extend(logged);
        let bytes = self.resources.model().map_or(0, |m| {
            state_bytes(m).saturating_add(m.records_bytes((replay_in.len() + replay_out.len()) as u64))
        });
        self.download_restored_state(bytes).await;
        Ok(Restored {
            out,
            replay_in,
            replay_out,
            local,
        })
    }

    /// The restore phase: download `bytes` of restored state before the
    /// task runs (nothing without a restore), and trace its end. With
    /// task-local recovery, a task restoring its own snapshot on a
    /// TaskManager process that holds a local copy of it reads that copy
    /// from the local disk instead (not after a rescale, as in Flink).
    pub async fn download_restored_state(&self, bytes: u64) {
        let Some(spec) = &self.tdd.restore else { return };
        let local = self.config.recover_from_local
            && spec.handles.len() == 1
            && spec.handles.iter().all(|h| self.resources.has_local_copy(&h.key));
        let download_ms = if local {
            self.resources.read_local(bytes).await
        } else {
            self.resources.download(bytes).await
        };
        self.tracer.record(
            &self.node,
            crate::trace::TraceEvent::StateRestored {
                task: self.tdd.id,
                bytes,
                download_ms,
                local,
            },
        );
    }

    /// Connect every output channel to its consumer's TaskManager.
    pub async fn connect_outputs(&self) -> Result<OutputGate, TaskError> {
        let mut edges = Vec::new();
        for out in &self.tdd.outputs {
            let mut channels = Vec::new();
            for ch in &out.channels {
                let (tx, rx) = connect_with_retry(&self.endpoint, ch.address, self.config.rpc_timeout).await?;
                tx.send(ChannelHello {
                    consumer: ExecutionAttemptId {
                        vertex: ch.target.consumer,
                        epoch: self.tdd.id.epoch,
                        attempt: ch.consumer_attempt,
                    },
                    gate: ch.target.gate,
                    channel: ch.target.channel,
                })
                .await
                .map_err(|e| TaskError::Network(format!("channel hello: {e}")))?;
                channels.push((tx, rx));
            }
            edges.push(ConnectedEdge {
                ship: out.ship,
                parallelism: out.consumer_parallelism,
                channels,
            });
        }
        Ok(OutputGate::new(edges, self.partitioner(), self.config.batch_size)
            .with_traffic(self.tracer.traffic().clone()))
    }

    /// Wait until every input channel has connected.
    pub async fn connect_inputs(&mut self) -> Result<InputGate, TaskError> {
        let gates = self.tdd.input_gates.clone();
        let offsets: Vec<usize> = gates
            .iter()
            .scan(0usize, |acc, n| {
                let o = *acc;
                *acc += *n as usize;
                Some(o)
            })
            .collect();
        let total: usize = gates.iter().map(|n| *n as usize).sum();
        let mut slots: Vec<Option<(usize, ConnTx, ConnRx)>> = (0..total).map(|_| None).collect();
        let mut connected = 0;
        let deadline = self.config.rpc_timeout;
        while connected < total {
            let ch = madsim::time::timeout(deadline, self.inbound.recv())
                .await
                .map_err(|_| TaskError::Network("upstream channels did not connect in time".into()))?
                .ok_or_else(|| TaskError::Network("TaskManager closed the inbound queue".into()))?;
            let g = ch.gate as usize;
            if g >= gates.len() || ch.channel >= gates[g] {
                return Err(TaskError::Network(format!("bad channel {}:{}", ch.gate, ch.channel)));
            }
            let idx = offsets[g] + ch.channel as usize;
            if slots[idx].is_none() {
                connected += 1;
            }
            slots[idx] = Some((g, ch.tx, ch.rx));
        }
        let channels = slots
            .into_iter()
            .map(|s| s.expect("invariant: all channels connected"))
            .collect();
        // An iteration head's last gate is its feedback edge.
        let feedback = self.tdd.kind.is_iteration_head().then(|| gates.len() - 1);
        InputGate::new(channels, self.config.credits, feedback).await
    }

    /// In-flight data of the restored snapshots, to replay before new input:
    /// `(input, output)` records. Empty under the test-only variant that
    /// skips it.
    pub fn in_flight_to_replay(&self, restored: &[Arc<TaskStateSnapshot>]) -> (Vec<ChannelRecord>, Vec<ChannelRecord>) {
        if self.sabotage == Sabotage::RestoreSkipsInFlightData {
            return (Vec::new(), Vec::new());
        }
        // In-flight data goes back to its channels: only a restore at the
        // same parallelism (one snapshot) has the layout it was written at
        // (rescaling needs aligned checkpoints).
        assert!(
            restored.len() <= 1
                || restored
                    .iter()
                    .all(|s| s.in_flight_output.is_empty() && s.in_flight_input.is_empty()),
            "invariant: output in-flight data restored from {} snapshots",
            restored.len()
        );
        let input = restored
            .iter()
            .flat_map(|s| s.in_flight_input.iter().copied())
            .collect();
        let output = restored
            .iter()
            .flat_map(|s| s.in_flight_output.iter().copied())
            .collect();
        (input, output)
    }

    /// Decline a checkpoint (Flink's `declineCheckpoint`).
    pub fn decline(&self, checkpoint: CheckpointId, reason: CheckpointFailureReason) {
        let _ = self
            .events
            .send(TaskEvent::Decline(self.tdd.id, checkpoint, reason.name().to_string()));
    }

    /// Start the asynchronous snapshot writer: it writes `(checkpoint,
    /// snapshot, alignment ms)` to checkpoint storage and acknowledges, or
    /// declines when the write fails.
    pub fn spawn_snapshot_writer(&self) -> (Snapshots, AbortOnDrop) {
        let (tx, mut rx) = mpsc::unbounded_channel::<(CheckpointId, TaskStateSnapshot, TaskCheckpointMetrics)>();
        let mut writer = SnapshotWriter {
            client: self.storage_client(),
            id: self.tdd.id,
            resources: self.resources.clone(),
            incremental: self.config.incremental && self.config.state_backend == StateBackendKind::RocksDb,
            local_backup: self.config.local_backup,
            last_written: None,
            traffic: self.tracer.traffic().clone(),
        };
        let events = self.events.clone();
        let handle = madsim::task::spawn(async move {
            while let Some((checkpoint, snapshot, metrics)) = rx.recv().await {
                let ev = writer.write(checkpoint, snapshot, metrics).await;
                if events.send(ev).is_err() {
                    break;
                }
            }
        });
        (
            Snapshots {
                writer: tx,
                waiting: BTreeMap::new(),
                last_taken: None,
            },
            AbortOnDrop(handle),
        )
    }

    pub fn report_running(&self) {
        let _ = self.events.send(TaskEvent::Running(self.tdd.id));
    }

    /// The final checkpoint committed everything: report FINISHED and stay
    /// parked, connections open, until the TaskManager drops the task, so
    /// no peer sees a closed channel before the whole job has finished.
    pub async fn finish(&self) -> ! {
        let _ = self.events.send(TaskEvent::Finished(self.tdd.id));
        std::future::pending().await
    }
}

/// The asynchronous part of a task's snapshots: uploads them to checkpoint
/// storage and says whether each is acknowledged or declined.
struct SnapshotWriter {
    client: RpcClient,
    id: ExecutionAttemptId,
    resources: Arc<TaskManagerResources>,
    /// Incremental checkpoints (RocksDB only) and local backup copies.
    incremental: bool,
    local_backup: bool,
    /// The last checkpoint written: each is acknowledged or declined once,
    /// in order.
    last_written: Option<CheckpointId>,
    traffic: crate::checkpoint::traffic::CheckpointTraffic,
}

impl SnapshotWriter {
    /// Write the snapshot of `checkpoint`: the event that acknowledges or
    /// declines it.
    async fn write(
        &mut self,
        checkpoint: CheckpointId,
        snapshot: TaskStateSnapshot,
        metrics: TaskCheckpointMetrics,
    ) -> TaskEvent {
        let last = self.last_written.replace(checkpoint);
        assert!(
            last.is_none_or(|l| l < checkpoint),
            "invariant: {checkpoint} after {last:?}"
        );
        let (id, resources) = (self.id, &self.resources);
        let key = StateHandle::key_for(checkpoint, id.vertex);
        let size_bytes = snapshot.size_bytes(resources.model());
        let in_flight_bytes = snapshot.in_flight_bytes(resources.model());
        let uploaded_bytes = resources
            .model()
            .map_or(size_bytes, |m| snapshot.uploaded_bytes(m, self.incremental));
        // An incremental upload leaves out entries, never adds any.
        assert!(
            uploaded_bytes <= size_bytes,
            "invariant: checkpoint {checkpoint} uploads {uploaded_bytes} of {size_bytes} bytes"
        );
        // The asynchronous phase: the bytes go up at the TaskManager's
        // checkpoint-storage bandwidth, beside processing, before the
        // metadata write acknowledges them; with local backup a secondary
        // copy goes to the local disk at the same time.
        if self.local_backup {
            futures::join!(
                resources.upload(uploaded_bytes),
                resources.write_local_copy(key.clone(), size_bytes)
            );
        } else {
            resources.upload(uploaded_bytes).await;
        }
        self.traffic.uploaded(uploaded_bytes);
        let end_of_input = snapshot.end_of_input;
        let cut = snapshot.cut.clone();
        let in_flight_records = (snapshot.in_flight_input.len() + snapshot.in_flight_output.len()) as u64;
        let req = StorageRequest::Put {
            key: key.clone(),
            blob: StoredBlob::Task(Arc::new(snapshot)),
            epoch: id.epoch,
        };
        let handle = StateHandle {
            key,
            size_bytes,
            uploaded_bytes,
            in_flight_bytes,
            in_flight_records,
            end_of_input,
            cut,
        };
        match self.client.call::<_, StorageResponse>(req).await {
            Ok(StorageResponse::Stored) => TaskEvent::Acknowledge(id, checkpoint, handle, metrics),
            Ok(other) => TaskEvent::Decline(id, checkpoint, format!("storage refused: {other:?}")),
            Err(e) => TaskEvent::Decline(id, checkpoint, e.to_string()),
        }
    }
}

/// Sleep until the simulated time `ms`, as the run's tracer counts it.
pub async fn sleep_until_ms(clock: &Tracer, ms: i64) {
    madsim::time::sleep_until(clock.instant_at(ms.max(0) as u64)).await;
}

/// Connect, retrying while the peer is unreachable, up to `limit`.
pub async fn connect_with_retry(
    ep: &Endpoint,
    addr: SocketAddr,
    limit: Duration,
) -> Result<(ConnTx, ConnRx), TaskError> {
    let start = madsim::time::Instant::now();
    let mut backoff = Duration::from_millis(10);
    loop {
        match net::connect(ep, addr).await {
            Ok(c) => return Ok(c),
            Err(e) if start.elapsed() >= limit => {
                return Err(TaskError::Network(format!("cannot connect to {addr}: {e}")));
            }
            Err(_) => {
                madsim::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
        }
    }
}
