//! The event loop every task with inputs shares: control messages from the
//! TaskManager, alignment timers, the output buffer timeout, and input events
//! (records, watermarks, barriers) turned into calls on an [`Operator`].
//! Snapshots go through [`Snapshots`](super::Snapshots): aligned ones at once, unaligned ones
//! with their in-flight data. A restore first replays persisted in-flight
//! data.

use std::future::Future;

use super::changes::Changes;
use super::input::{CheckpointedInput, InputEvent};
use super::io::{OutputGate, BUFFER_TIMEOUT_MS};
use super::{sleep_until_ms, AbortOnDrop, Snapshots, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::barrier::{AlignmentType, BarrierConfig};
use crate::checkpoint::{CheckpointBarrier, CheckpointId, OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::protocol::TaskCheckpointMetrics;
use crate::record::Record;
use crate::resources::cpu::CpuDebt;
use crate::resources::{CostedOperator, StateBackendKind};
use crate::window::WatermarkTracker;

/// What an operator does with its input; the driver does the rest.
pub trait Operator: Send {
    /// Process a batch of records (also persisted in-flight records on restore).
    /// Output need not be flushed: the driver sends partly filled buffers
    /// after the buffer timeout, and barriers and watermarks flush first.
    fn process(
        &mut self,
        batch: Vec<Record>,
        out: &mut OutputGate,
    ) -> impl Future<Output = Result<(), TaskError>> + Send;

    /// The operator's watermark (the minimum over its channels) advanced.
    fn on_watermark(
        &mut self,
        _watermark: u64,
        _out: &mut OutputGate,
    ) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    /// The synchronous part of the snapshot for `checkpoint`.
    fn snapshot(&mut self, checkpoint: CheckpointId) -> impl Future<Output = Result<OperatorState, TaskError>> + Send;

    /// What the last snapshot changed, for operators that track it
    /// (RocksDB's synchronous phase flushes the changes since the previous
    /// snapshot; an incremental checkpoint uploads those since the last
    /// completed one).
    fn changes_in_last_snapshot(&self) -> Option<Changes> {
        None
    }

    /// Checkpoint `checkpoint` completed (best effort: it covers lower ids).
    fn checkpoint_complete(&mut self, _checkpoint: CheckpointId) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }
}

/// Run `op` until the task is cancelled or fails. `out` is already connected;
/// `replay_in` / `replay_out` are the restored in-flight data.
pub async fn run_operator<O: Operator>(
    mut env: TaskEnv,
    (mut op, cost): (O, CostedOperator),
    mut out: OutputGate,
    replay_in: Vec<Record>,
    replay_out: Vec<Record>,
) -> Result<(), TaskError> {
    let mut cpu = CpuDebt::default();
    let nic = CpuDebt::default();
    let gate = env.connect_inputs().await?;
    let watermarks = WatermarkTracker::new(gate.num_channels());
    let barriers = env.config.barrier_config();
    let input = CheckpointedInput::new(gate, barriers, env.sabotage == Sabotage::NoBarrierAlignment);
    let (snapshots, writer) = env.spawn_snapshot_writer();
    env.report_running();

    // Persisted in-flight data first: output as it was, input reprocessed.
    for r in replay_out {
        out.emit(r).await?;
    }
    if !replay_in.is_empty() {
        let n = replay_in.len() as u64;
        op.process(replay_in, &mut out).await?;
        env.resources.process_records(&mut cpu, cost, n).await;
    }
    out.flush().await?;
    let mut task = OperatorTask {
        _writer: writer,
        snapshots,
        input,
        watermarks,
        nic,
        cpu,
        barriers,
        out,
        op,
        cost,
        env,
    };
    task.run().await
}

/// A running task with inputs: its operator, its gates and the snapshots
/// on their way to storage. Fields drop in declaration order (the writer
/// first, the environment last).
struct OperatorTask<O> {
    /// The asynchronous snapshot writer, aborted when the task ends.
    _writer: AbortOnDrop,
    snapshots: Snapshots,
    input: CheckpointedInput,
    watermarks: WatermarkTracker,
    /// Debts of network and CPU work not yet slept off.
    nic: CpuDebt,
    cpu: CpuDebt,
    barriers: BarrierConfig,
    out: OutputGate,
    op: O,
    cost: CostedOperator,
    env: TaskEnv,
}

impl<O: Operator> OperatorTask<O> {
    /// The event loop: control messages first, then the alignment timer,
    /// the output buffer timeout, and input.
    async fn run(&mut self) -> Result<(), TaskError> {
        let clock = self.env.tracer.clone();
        let tracer = self.env.tracer.clone();
        let now = move || tracer.now_ms() as i64;
        // When buffered output must go out (see `BUFFER_TIMEOUT_MS`).
        let mut flush_at: Option<i64> = None;
        loop {
            let deadline = self.input.deadline_ms();
            if !self.out.has_buffered() {
                flush_at = None;
            } else if flush_at.is_none() {
                flush_at = Some(now() + BUFFER_TIMEOUT_MS as i64);
            }
            tokio::select! {
                biased;
                c = self.env.control.recv() => match c {
                    Some(TaskControl::NotifyCheckpointComplete(checkpoint)) => {
                        self.op.checkpoint_complete(checkpoint).await?;
                    }
                    Some(TaskControl::Finish) => self.env.finish().await,
                    Some(TaskControl::TriggerCheckpoint(_)) => {
                        return Err(TaskError::Network("trigger sent to a non-source task".into()));
                    }
                    None => return Ok(()),
                },
                _ = sleep_until_ms(&clock, deadline.unwrap_or(0)), if deadline.is_some() => self.input.on_timer(now()),
                _ = sleep_until_ms(&clock, flush_at.unwrap_or(0)), if flush_at.is_some() => {
                    self.out.flush().await?;
                    flush_at = None;
                }
                ev = self.input.next(&now) => self.on_input(ev?).await?,
            }
        }
    }

    /// One input event: records and watermarks to the operator; a
    /// snapshot, its in-flight data or an abort to [`Snapshots`].
    async fn on_input(&mut self, event: InputEvent) -> Result<(), TaskError> {
        match event {
            InputEvent::Records { channel, batch } => self.on_records(channel, batch).await?,
            InputEvent::Watermark { channel, watermark } => {
                if let Some(wm) = self.watermarks.update(channel, watermark) {
                    self.op.on_watermark(wm, &mut self.out).await?;
                }
            }
            InputEvent::Snapshot {
                barrier,
                alignment,
                alignment_ms,
            } => {
                let configured = self.barriers.unaligned;
                assert!(
                    alignment == AlignmentType::Aligned || configured,
                    "invariant: unaligned {barrier:?} not configured"
                );
                let (mut snap, sync_ms) = self.snapshot(barrier).await?;
                snap.in_flight_output = self.out.forward_barrier(barrier, alignment).await?;
                let overtook = snap.in_flight_output.len();
                assert!(
                    alignment == AlignmentType::Unaligned || overtook == 0,
                    "invariant: aligned {barrier:?} overtook {overtook}"
                );
                let metrics = TaskCheckpointMetrics { alignment_ms, sync_ms };
                self.snapshots.taken(barrier.id, snap, alignment, metrics);
            }
            InputEvent::InFlightComplete { id, records } => {
                assert!(self.barriers.unaligned, "invariant: in-flight data of aligned {id}");
                self.snapshots.in_flight_complete(id, records);
            }
            InputEvent::Abort { id, reason } => {
                self.snapshots.aborted(id);
                self.env.decline(id, reason);
            }
        }
        Ok(())
    }

    /// Process a record batch, then return its credit.
    async fn on_records(&mut self, channel: usize, batch: Vec<Record>) -> Result<(), TaskError> {
        let n = batch.len();
        self.op.process(batch, &mut self.out).await?;
        // The work costs CPU time before the credits go back, so a busy
        // task backpressures its producers.
        let resources = &self.env.resources;
        resources.process_records(&mut self.cpu, self.cost, n as u64).await;
        if self.cost != CostedOperator::Sink {
            resources.send_records(&mut self.nic, n as u64).await;
        }
        self.input.processed(channel, n).await
    }

    /// The synchronous part of the snapshot for `barrier`: the operator's
    /// state, and how long the synchronous phase took (ms).
    async fn snapshot(&mut self, barrier: CheckpointBarrier) -> Result<(TaskStateSnapshot, i64), TaskError> {
        let mut snap = TaskStateSnapshot::new(self.op.snapshot(barrier.id).await?);
        let changes = self.op.changes_in_last_snapshot();
        snap.changed_entries = changes.map(|c| c.since_previous_snapshot);
        snap.unconfirmed_entries = changes.map(|c| c.since_last_completed);
        // The synchronous phase: RocksDB flushes its memtable (what changed
        // since the last flush) to local disk while the task waits; the
        // heap backend copies on write and pays nothing here.
        let sync_start = self.env.tracer.now_ms() as i64;
        let resources = &self.env.resources;
        if let (StateBackendKind::RocksDb, Some(m)) = (self.env.config.state_backend, resources.model()) {
            let flushed = snap
                .changed_entries
                .map_or_else(|| snap.operator_bytes(Some(m)), |c| m.state_bytes(c));
            resources.write_local(flushed).await;
        }
        let sync_ms = self.env.tracer.now_ms() as i64 - sync_start;
        Ok((snap, sync_ms))
    }
}
