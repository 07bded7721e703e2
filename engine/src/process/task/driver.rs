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
use super::{sleep_until_ms, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState, TaskStateSnapshot};
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
    let resources = env.resources.clone();
    let mut cpu = CpuDebt::default();
    let mut nic = CpuDebt::default();
    let gate = env.connect_inputs().await?;
    let mut watermarks = WatermarkTracker::new(gate.num_channels());
    let barriers = env.config.barrier_config();
    let mut input = CheckpointedInput::new(gate, barriers, env.sabotage == Sabotage::NoBarrierAlignment);
    let (mut snapshots, _writer) = env.spawn_snapshot_writer();
    env.report_running();

    // Persisted in-flight data first: output as it was, input reprocessed.
    for r in replay_out {
        out.emit(r).await?;
    }
    if !replay_in.is_empty() {
        let n = replay_in.len() as u64;
        op.process(replay_in, &mut out).await?;
        resources.process_records(&mut cpu, cost, n).await;
    }
    out.flush().await?;

    let clock = env.tracer.clone();
    let tracer = env.tracer.clone();
    let now = move || tracer.now_ms() as i64;
    // When buffered output must go out (see `BUFFER_TIMEOUT_MS`).
    let mut flush_at: Option<i64> = None;
    loop {
        let deadline = input.deadline_ms();
        if !out.has_buffered() {
            flush_at = None;
        } else if flush_at.is_none() {
            flush_at = Some(now() + BUFFER_TIMEOUT_MS as i64);
        }
        tokio::select! {
            biased;
            c = env.control.recv() => match c {
                Some(TaskControl::NotifyCheckpointComplete(checkpoint)) => op.checkpoint_complete(checkpoint).await?,
                Some(TaskControl::Finish) => env.finish().await,
                Some(TaskControl::TriggerCheckpoint(_)) => {
                    return Err(TaskError::Network("trigger sent to a non-source task".into()));
                }
                None => return Ok(()),
            },
            _ = sleep_until_ms(&clock, deadline.unwrap_or(0)), if deadline.is_some() => input.on_timer(now()),
            _ = sleep_until_ms(&clock, flush_at.unwrap_or(0)), if flush_at.is_some() => {
                out.flush().await?;
                flush_at = None;
            }
            ev = input.next(&now) => match ev? {
                InputEvent::Records { channel, batch } => {
                    let n = batch.len();
                    op.process(batch, &mut out).await?;
                    // The work costs CPU time before the credits go back,
                    // so a busy task backpressures its producers.
                    resources.process_records(&mut cpu, cost, n as u64).await;
                    if cost != CostedOperator::Sink {
                        resources.send_records(&mut nic, n as u64).await;
                    }
                    input.processed(channel, n).await?;
                }
                InputEvent::Watermark { channel, watermark } => {
                    if let Some(wm) = watermarks.update(channel, watermark) {
                        op.on_watermark(wm, &mut out).await?;
                    }
                }
                InputEvent::Snapshot { barrier, unaligned, alignment_ms } => {
                    assert!(
                        !unaligned || barriers.unaligned,
                        "invariant: unaligned snapshot of {barrier:?} not configured"
                    );
                    let mut snap = TaskStateSnapshot::new(op.snapshot(barrier.id).await?);
                    let changes = op.changes_in_last_snapshot();
                    snap.changed_entries = changes.map(|c| c.since_previous_snapshot);
                    snap.unconfirmed_entries = changes.map(|c| c.since_last_completed);
                    // The synchronous phase: RocksDB flushes its memtable
                    // (what changed since the last flush) to local disk while
                    // the task waits; the heap backend copies on write and
                    // pays nothing here.
                    let sync_start = now();
                    if let (StateBackendKind::RocksDb, Some(m)) = (env.config.state_backend, resources.model()) {
                        let flushed = snap
                            .changed_entries
                            .map_or_else(|| snap.operator_bytes(Some(m)), |c| m.state_bytes(c));
                        resources.write_local(flushed).await;
                    }
                    let sync_ms = now() - sync_start;
                    snap.in_flight_output = out.forward_barrier(barrier, unaligned).await?;
                    let overtook = snap.in_flight_output.len();
                    assert!(unaligned || overtook == 0, "invariant: aligned {barrier:?} overtook {overtook}");
                    let metrics = TaskCheckpointMetrics { alignment_ms, sync_ms };
                    snapshots.taken(barrier.id, snap, unaligned, metrics);
                }
                InputEvent::InFlightComplete { id, records } => {
                    assert!(barriers.unaligned, "invariant: in-flight data of aligned {id}");
                    snapshots.in_flight_complete(id, records);
                }
                InputEvent::Abort { id, reason } => {
                    snapshots.aborted(id);
                    env.decline(id, reason);
                }
            }
        }
    }
}
