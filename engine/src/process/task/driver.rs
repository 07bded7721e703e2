//! The event loop every task with inputs shares: control messages from the
//! TaskManager, alignment timers, the output buffer timeout, and input events
//! (records, watermarks, barriers) turned into calls on an [`Operator`].
//! Snapshots go through [`Snapshots`](super::Snapshots): aligned ones at once, unaligned ones
//! with their in-flight data. A restore first replays persisted in-flight
//! data.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;

use super::changes::Changes;
use super::input::{CheckpointedInput, InputEvent};
use super::io::{InputGate, OutputGate, BUFFER_TIMEOUT_MS};
use super::load::{Activity, LoadMeter};
use super::local_checkpoints::LocalCheckpoints;
use super::{sleep_until_ms, AbortOnDrop, Restored, Snapshots, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::barrier::{AlignmentType, BackEdges, BarrierConfig};
use crate::checkpoint::{CheckpointBarrier, CheckpointId, OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::protocol::TaskCheckpointMetrics;
use crate::protocol::WatermarkOutput;
use crate::record::{ChannelRecord, Record};
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

    /// [`Operator::process`] for a batch of input gate `input` (the
    /// position of its producer among the operator's inputs); operators
    /// that treat their inputs alike need not say.
    fn process_input(
        &mut self,
        _input: usize,
        batch: Vec<Record>,
        out: &mut OutputGate,
    ) -> impl Future<Output = Result<(), TaskError>> + Send {
        self.process(batch, out)
    }

    /// Output the operator sent on its own during the last `process` that
    /// the batch's credit must wait for (the sink's write to its store):
    /// the task takes checkpoint events meanwhile, as Flink's mailbox does
    /// while a sink's writes are out. `None` when there is none.
    fn take_output_in_flight(&mut self) -> Option<OutputInFlight> {
        None
    }

    /// The operator's watermark (the minimum over its channels) advanced.
    fn on_watermark(
        &mut self,
        _watermark: u64,
        _out: &mut OutputGate,
    ) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }

    /// When the operator's next processing-time timer is due (simulated ms
    /// since the run began), if it has one.
    fn next_timer_ms(&self) -> Option<u64> {
        None
    }

    /// Processing time reached `now_ms`: fire what is due.
    fn on_processing_time(
        &mut self,
        _now_ms: u64,
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

/// The answer to output an operator sent on its own (see
/// [`Operator::take_output_in_flight`]).
pub type OutputInFlight = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;

/// Restored input in-flight data as runs of records of one input gate, in
/// the order they were captured.
fn by_input(gate: &InputGate, records: Vec<ChannelRecord>) -> Vec<(usize, Vec<Record>)> {
    let mut runs: Vec<(usize, Vec<Record>)> = Vec::new();
    for r in records {
        let input = gate.gate_of(r.channel as usize);
        match runs.last_mut() {
            Some((last, batch)) if *last == input => batch.push(r.record),
            _ => runs.push((input, vec![r.record])),
        }
    }
    runs
}

/// Run `op` until the task is cancelled or fails; `ready` holds its
/// connected output and the restored in-flight data.
pub async fn run_operator<O: Operator>(
    mut env: TaskEnv,
    (mut op, cost): (O, CostedOperator),
    ready: Restored,
) -> Result<(), TaskError> {
    let Restored {
        mut out,
        replay_in,
        replay_out,
        mut local,
    } = ready;
    let mut cpu = CpuDebt::default();
    let nic = CpuDebt::default();
    let gate = env.connect_inputs().await?;
    if let Some(l) = local.as_mut() {
        l.replayed(&replay_in);
    }
    let replay_in = by_input(&gate, replay_in);
    let watermarks = WatermarkTracker::new(gate.num_channels());
    let barriers = env.config.barrier_config();
    let feedback = env.tdd.kind.is_iteration_head().then(|| {
        let back_edges = match env.sabotage {
            Sabotage::ForgetBackEdges => BackEdges::Forget,
            _ => BackEdges::Log,
        };
        (gate.num_gates() - 1, back_edges)
    });
    let no_alignment = env.sabotage == Sabotage::NoBarrierAlignment;
    let input = CheckpointedInput::new(gate, barriers, no_alignment, feedback);
    let (snapshots, writer) = env.spawn_snapshot_writer();
    env.report_running();

    // Persisted in-flight data first: output as it was, input reprocessed.
    for r in replay_out {
        out.replay(r).await?;
    }
    let n: u64 = replay_in.iter().map(|(_, batch)| batch.len() as u64).sum();
    let runs = replay_in.len();
    for (i, (input, batch)) in replay_in.into_iter().enumerate() {
        op.process_input(input, batch, &mut out).await?;
        if i + 1 == runs {
            env.resources.process_records(&mut cpu, cost, n).await;
        }
        if let Some(sent) = op.take_output_in_flight() {
            sent.await?;
        }
    }
    out.flush().await?;
    let load = LoadMeter::new(env.load.clone(), env.tdd.id.vertex, &env.node, env.tracer.clone());
    let mut task = OperatorTask {
        load,
        _writer: writer,
        snapshots,
        input,
        watermarks,
        nic,
        cpu,
        barriers,
        busy: None,
        out,
        op,
        cost,
        local,
        env,
    };
    task.run().await
}

/// The CPU and network time of a processed batch, and the answer to the
/// output the operator sent on its own, paid while the task still handles
/// checkpoint events (Flink checks its mailbox between records); the
/// batch's credit goes back when it is paid.
struct Busy {
    channel: usize,
    records: usize,
    work: Pin<Box<dyn Future<Output = Paid> + Send>>,
}

/// The debts after a batch, and how its own output fared.
type Paid = (CpuDebt, CpuDebt, Result<(), TaskError>);

/// Wait for the batch being paid for, if any (pending otherwise).
async fn paid(busy: &mut Option<Busy>) -> Paid {
    match busy.as_mut() {
        Some(b) => (&mut b.work).await,
        None => std::future::pending().await,
    }
}

/// What woke the event loop of a task with inputs.
enum Wake {
    Control(Option<TaskControl>),
    AlignmentTimer,
    OutputTimer,
    Credit(Result<(), TaskError>),
    FlushDue,
    ProcessingTimer,
    LocalCheckpoint,
    Paid(Paid),
    Input(Result<InputEvent, TaskError>),
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
    /// The batch whose CPU and network time is being paid.
    busy: Option<Busy>,
    out: OutputGate,
    op: O,
    cost: CostedOperator,
    /// Where this attempt's time goes.
    load: LoadMeter,
    /// The own snapshot timer (uncoordinated checkpoints).
    local: Option<LocalCheckpoints>,
    env: TaskEnv,
}

impl<O: Operator> OperatorTask<O> {
    /// The event loop: control messages first, then the alignment timers
    /// (input and output), credits for queued output, the output buffer
    /// timeout, and input: all of it while the output is available,
    /// otherwise only checkpoint (priority) events.
    async fn run(&mut self) -> Result<(), TaskError> {
        let clock = self.env.tracer.clone();
        let tracer = self.env.tracer.clone();
        let now = move || tracer.now_ms() as i64;
        // When buffered output must go out (see `BUFFER_TIMEOUT_MS`).
        let mut flush_at: Option<i64> = None;
        loop {
            self.complete_outputs();
            let deadline = self.input.deadline_ms();
            let out_deadline = self.out.barrier_deadline_ms();
            let timer = self.op.next_timer_ms();
            let local_due = self.local_checkpoint_due();
            // New input only when the output takes more and the last
            // batch is paid for; checkpoint events always.
            let take_input = self.out.is_available() && self.busy.is_none();
            let available = self.out.is_available();
            if !self.out.has_buffered() {
                flush_at = None;
            } else if flush_at.is_none() {
                flush_at = Some(now() + BUFFER_TIMEOUT_MS as i64);
            }
            // What the task waits as: for credit, paying for a batch, or
            // for input. Handling what woke it is busy time.
            let waiting = if !available {
                Activity::BackPressured
            } else if self.busy.is_some() {
                Activity::Busy
            } else {
                Activity::Idle
            };
            self.load.spent(Activity::Busy);
            let wake = tokio::select! {
                biased;
                c = self.env.control.recv() => Wake::Control(c),
                _ = sleep_until_ms(&clock, deadline.unwrap_or(0)), if deadline.is_some() => Wake::AlignmentTimer,
                _ = sleep_until_ms(&clock, out_deadline.unwrap_or(0)), if out_deadline.is_some() => Wake::OutputTimer,
                credit = self.out.recv_credit(), if !available => Wake::Credit(credit),
                _ = sleep_until_ms(&clock, flush_at.unwrap_or(0)), if flush_at.is_some() => Wake::FlushDue,
                _ = sleep_until_ms(&clock, timer.unwrap_or(0) as i64), if timer.is_some() => Wake::ProcessingTimer,
                _ = sleep_until_ms(&clock, local_due.unwrap_or(0) as i64), if local_due.is_some() => Wake::LocalCheckpoint,
                debts = paid(&mut self.busy), if self.busy.is_some() => Wake::Paid(debts),
                ev = self.input.next_when(&now, take_input) => Wake::Input(ev),
            };
            self.load.spent(waiting);
            match wake {
                Wake::Control(c) => {
                    if self.on_control(c).await?.is_break() {
                        return Ok(());
                    }
                }
                Wake::AlignmentTimer => self.input.on_timer(now()),
                Wake::OutputTimer => self.out.on_timer(now()).await?,
                Wake::Credit(credit) => {
                    credit?;
                    self.out.pump().await?;
                }
                Wake::FlushDue => {
                    self.out.flush().await?;
                    flush_at = None;
                }
                Wake::ProcessingTimer => self.op.on_processing_time(now() as u64, &mut self.out).await?,
                Wake::LocalCheckpoint => self.local_checkpoint().await?,
                Wake::Paid(debts) => self.processed(debts).await?,
                Wake::Input(ev) => self.on_input(ev?).await?,
            }
        }
    }

    /// A control message from the TaskManager; break when it dropped the task.
    async fn on_control(&mut self, c: Option<TaskControl>) -> Result<ControlFlow<()>, TaskError> {
        match c {
            Some(TaskControl::NotifyCheckpointComplete(checkpoint, None)) => {
                self.op.checkpoint_complete(checkpoint).await?;
            }
            Some(TaskControl::NotifyCheckpointComplete(_, Some(member))) => {
                // A recovery line: the own snapshot there completed.
                if let Some(local) = member.local_id {
                    self.op.checkpoint_complete(local).await?;
                }
                let log = self.out.message_log_mut();
                log.expect("invariant: an uncoordinated task logs")
                    .truncate(&member.floors);
            }
            Some(TaskControl::Finish) => self.env.finish().await,
            Some(TaskControl::TriggerCheckpoint(_)) => {
                return Err(TaskError::Network("trigger sent to a non-source task".into()));
            }
            None => return Ok(ControlFlow::Break(())),
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Snapshots whose barrier left every output queue are complete.
    fn complete_outputs(&mut self) {
        while let Some((id, records)) = self.out.take_completed() {
            self.snapshots.output_complete(id, records);
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
                    // Behind whatever the operator emitted for it.
                    if self.env.tdd.watermarks == WatermarkOutput::Forward {
                        self.out.broadcast_watermark(wm).await?;
                    }
                }
            }
            InputEvent::Snapshot {
                barrier,
                alignment,
                alignment_ms,
            } => {
                let configured = self.barriers.unaligned;
                assert!(
                    alignment != AlignmentType::Unaligned || configured,
                    "invariant: unaligned {barrier:?} not configured"
                );
                let (mut snap, sync_ms) = self.snapshot(barrier).await?;
                let timeout = self.barriers.barrier_timeout_ms();
                let forwarded = self.out.forward_barrier(barrier, alignment, timeout).await?;
                // An older barrier it converted completes first.
                self.complete_outputs();
                snap.in_flight_output = forwarded.in_flight;
                let overtook = snap.in_flight_output.len();
                assert!(
                    alignment == AlignmentType::Unaligned || overtook == 0,
                    "invariant: aligned {barrier:?} overtook {overtook}"
                );
                assert!(
                    alignment != AlignmentType::AlignedWithBackEdgeLog || !forwarded.output_pending,
                    "invariant: an iteration head's barrier waits for no timeout (alternating checkpoints are refused)"
                );
                let metrics = TaskCheckpointMetrics { alignment_ms, sync_ms };
                if forwarded.output_pending {
                    self.snapshots.taken_awaiting_output(barrier.id, snap, metrics);
                } else {
                    self.snapshots.taken(barrier.id, snap, alignment, metrics);
                }
            }
            InputEvent::InFlightComplete { id, records } => {
                let head = self.env.tdd.kind.is_iteration_head();
                assert!(
                    self.barriers.unaligned || head,
                    "invariant: in-flight data of aligned {id}"
                );
                self.snapshots.in_flight_complete(id, records);
            }
            InputEvent::Abort { id, reason } => {
                self.snapshots.aborted(id);
                self.env.decline(id, reason);
            }
            // The event loop re-reads the alignment deadline.
            InputEvent::AlignmentStarted => {}
            InputEvent::CheckpointIndex { index } => self.on_checkpoint_index(index).await?,
        }
        Ok(())
    }

    /// Process a record batch. Its CPU and network time, and the answer to
    /// the output the operator sent on its own, are then awaited in the
    /// event loop (`busy`), beside checkpoint events; the credit goes back
    /// when they are ([`Self::processed`]).
    async fn on_records(&mut self, channel: usize, batch: Vec<Record>) -> Result<(), TaskError> {
        let n = batch.len();
        self.load.took_in(n as u64);
        if let Some(l) = self.local.as_mut() {
            l.received[channel] += n as u64;
        }
        let input = self.input.gate_of(channel);
        self.op.process_input(input, batch, &mut self.out).await?;
        let sent = self.op.take_output_in_flight();
        // The work costs CPU time before the credits go back, so a busy
        // task backpressures its producers.
        let resources = self.env.resources.clone();
        let (mut cpu, mut nic) = (self.cpu, self.nic);
        let cost = self.cost;
        let work = Box::pin(async move {
            resources.process_records(&mut cpu, cost, n as u64).await;
            if cost != CostedOperator::Sink {
                resources.send_records(&mut nic, n as u64).await;
            }
            let answered = match sent {
                Some(sent) => sent.await,
                None => Ok(()),
            };
            (cpu, nic, answered)
        });
        assert!(self.busy.is_none(), "invariant: one batch at a time");
        self.busy = Some(Busy {
            channel,
            records: n,
            work,
        });
        Ok(())
    }

    /// The batch in `busy` was paid for: keep the debts, return its credit
    /// (or fail, if its own output was refused).
    async fn processed(&mut self, (cpu, nic, answered): Paid) -> Result<(), TaskError> {
        let done = self.busy.take().expect("invariant: a batch was being paid for");
        (self.cpu, self.nic) = (cpu, nic);
        answered?;
        self.input.processed(done.channel, done.records).await
    }

    /// When the own snapshot is due (uncoordinated checkpoints): between
    /// batches only, as a sink's write still out could yet fail and the
    /// snapshot would pre-commit without its records.
    fn local_checkpoint_due(&self) -> Option<u64> {
        self.local
            .as_ref()
            .filter(|_| self.busy.is_none())
            .map(LocalCheckpoints::due_ms)
    }

    /// Communication-induced checkpoints: a sender's index arrived ahead of
    /// its records; a higher one than the own forces a snapshot at it
    /// before they are processed.
    async fn on_checkpoint_index(&mut self, index: u64) -> Result<(), TaskError> {
        assert!(
            self.env.config.protocol.is_communication_induced(),
            "invariant: indexes only under CIC"
        );
        let local = self.local.as_mut().expect("invariant: CIC tasks snapshot on their own");
        if index <= local.index || self.env.sabotage == Sabotage::NoForcedSnapshots {
            return Ok(());
        }
        let id = local.take_forced(index);
        self.env.tracer.traffic().forced_snapshot();
        self.snapshot_locally(id).await
    }

    /// Uncoordinated checkpoints: the own snapshot is due. Taken between
    /// batches (never while one is being paid for or its sink write is
    /// out), with the channel counts and the message log.
    async fn local_checkpoint(&mut self) -> Result<(), TaskError> {
        let now = self.env.tracer.now_ms();
        let id = self.local.as_mut().expect("invariant: a timer of its own").take(now);
        self.snapshot_locally(id).await
    }

    /// Take own snapshot `id` now, with the channel counts and the message
    /// log; under CIC what the task sends from now on carries its index.
    async fn snapshot_locally(&mut self, id: CheckpointId) -> Result<(), TaskError> {
        let now = self.env.tracer.now_ms();
        let barrier = CheckpointBarrier {
            id,
            timestamp_ms: now as i64,
        };
        let (mut snap, sync_ms) = self.snapshot(barrier).await?;
        let log = self.out.message_log().expect("invariant: an uncoordinated task logs");
        let local = self.local.as_ref().expect("invariant: a timer of its own");
        snap.cut = Some(local.cut(id, log));
        snap.sent_log = log.records();
        let metrics = TaskCheckpointMetrics {
            alignment_ms: 0,
            sync_ms,
        };
        let index = local.index;
        self.snapshots.taken(id, snap, AlignmentType::Aligned, metrics);
        if self.env.config.protocol.is_communication_induced() {
            self.out.raise_index(index);
        }
        Ok(())
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
