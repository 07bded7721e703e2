//! The source task: reads its source-log partitions by offset and emits records.
//!
//! Subtask i of parallelism p reads the partitions of its range whose index
//! within the range is i modulo p, round robin.
//! On a checkpoint trigger (between two fetches, so the offsets match exactly
//! the records already emitted) it broadcasts the barrier and snapshots its
//! offsets. On restore it continues from the restored offsets, so records read
//! after the checkpoint are read again (and their effects rolled back).
//!
//! Records carry their event time (arrival in the source log). After a fetch
//! the source emits a watermark, at most one every 200 ms as Flink's
//! periodic watermarks: the earliest event time any of its partitions can
//! still produce (a finished partition produces none).
//!
//! A source that has caught up (no partition had a full batch waiting in a
//! round) waits `halab.source.poll-interval` before the next round, so that
//! records travel in batches rather than a few at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use tokio::sync::mpsc::error::TryRecvError;

use super::io::{OutputGate, BUFFER_TIMEOUT_MS};
use super::load::{Activity, LoadMeter};
use super::local_checkpoints::LocalCheckpoints;
use super::{sleep_until_ms, AbortOnDrop, Snapshots, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::barrier::AlignmentType;
use crate::checkpoint::{CheckpointBarrier, OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::net::RpcClient;
use crate::protocol::{SourceLogRequest, SourceLogResponse, TaskCheckpointMetrics};
use crate::record::{Origin, Record, WINDOW_PARTITION};
use crate::resources::cpu::CpuDebt;
use crate::resources::CostedOperator;

/// Least time between two watermarks of a source (ms): Flink's default
/// `pipeline.auto-watermark-interval`.
const WATERMARK_INTERVAL_MS: u64 = 200;

pub async fn run(env: TaskEnv, first_partition: u32, partitions: u32) -> Result<(), TaskError> {
    let (subtask, parallelism) = (env.tdd.id.vertex.subtask, env.tdd.parallelism);
    let mut reader = Reader::new(first_partition, partitions, subtask, parallelism);
    let restored = env.restored_state().await?;
    let (_, replay_out) = env.in_flight_to_replay(&restored);
    if env.sabotage != Sabotage::SourceIgnoresRestoredOffsets {
        reader.restore(&restored);
    }
    // Output channels first, as Flink sets up partitions before restoring:
    // consumers can connect while the state downloads.
    let mut out = env.connect_outputs().await?;
    let (local, logged) = env.restore_uncoordinated(&restored, &mut out).await?;
    assert!(logged.is_empty(), "invariant: nothing is in flight into a source");
    env.download_restored_state(env.restored_bytes(&restored)).await;
    let (snapshots, writer) = env.spawn_snapshot_writer();
    let log = RpcClient::new(
        env.endpoint.clone(),
        env.tdd.services.source_log,
        env.config.rpc_timeout,
    );
    env.report_running();
    // Output that an unaligned barrier overtook goes out first.
    for r in replay_out {
        out.replay(r).await?;
    }
    out.flush().await?;
    let load = LoadMeter::new(env.load.clone(), env.tdd.id.vertex, &env.node, env.tracer.clone());
    let mut task = SourceTask {
        load,
        log,
        _writer: writer,
        snapshots,
        replayed: out.records_out,
        out,
        cpu: CpuDebt::default(),
        nic: CpuDebt::default(),
        reader,
        watermark: 0,
        last_watermark_at: None,
        flush_at: None,
        local,
        env,
    };
    task.run().await
}

/// The own partitions of a source subtask and where it is in each: the
/// next offset, the rate and end the source log reported, the round robin
/// over them, and the records fetched since the start.
#[derive(Default)]
struct Reader {
    /// Own partition → next offset to read.
    offsets: BTreeMap<u32, u64>,
    /// The own partitions, in round robin order.
    parts: Vec<u32>,
    /// Records per second of each partition fetched so far (fixed).
    rates: BTreeMap<u32, u64>,
    /// Partitions that reported their end.
    finished: BTreeSet<u32>,
    /// The next partition to read, as an index into `parts`.
    next: usize,
    /// The last fetch ended a round over every partition.
    round_done: bool,
    /// A partition had a full batch waiting in this round.
    backlog: bool,
    /// Records fetched since the start, and the sum of the offsets then:
    /// the offsets moved by exactly the records fetched.
    fetched: u64,
    start: u64,
}

/// One fetch's answer: `keys` from `offset` on in `partition`, with
/// their `values` (empty: every value is 1).
struct Fetched {
    partition: u32,
    offset: u64,
    keys: Vec<u64>,
    values: Vec<u64>,
    rate: u64,
}

impl Reader {
    /// Subtask `subtask` of `parallelism` reads the partitions of the range
    /// whose index is `subtask` modulo `parallelism`, from offset 0.
    fn new(first_partition: u32, partitions: u32, subtask: u32, parallelism: u32) -> Self {
        let offsets: BTreeMap<u32, u64> = (0..partitions)
            .filter(|q| q % parallelism == subtask)
            .map(|q| (first_partition + q, 0))
            .collect();
        let parts: Vec<u32> = offsets.keys().copied().collect();
        // Window results' origins use a partition number no source has.
        let end = u64::from(first_partition) + u64::from(partitions);
        assert!(end <= u64::from(WINDOW_PARTITION), "invariant: partitions up to {end}");
        assert!(
            !parts.is_empty(),
            "invariant: source subtask {subtask} of {parallelism} has none of {partitions} partitions"
        );
        Reader {
            offsets,
            parts,
            ..Reader::default()
        }
    }

    /// Continue the own partitions from their restored offsets.
    fn restore(&mut self, restored: &[Arc<TaskStateSnapshot>]) {
        let mut restored_partitions = BTreeSet::new();
        for s in restored {
            if let OperatorState::Source { offsets } = &s.operator {
                for (q, o) in offsets {
                    if let Some(cur) = self.offsets.get_mut(q) {
                        *cur = *o;
                        // A partition was read by one old subtask.
                        let once = restored_partitions.insert(*q);
                        assert!(once, "invariant: partition {q} restored from two snapshots");
                    }
                }
            }
        }
        self.start = self.offsets.values().sum();
    }

    /// Every own partition reported its end.
    fn all_read(&self) -> bool {
        self.finished.len() == self.parts.len()
    }

    /// Fetch up to `max` records of the next partition in round robin.
    async fn fetch(&mut self, log: &mut RpcClient, max: u32) -> Result<Fetched, TaskError> {
        let q = self.parts[self.next];
        self.next = (self.next + 1) % self.parts.len();
        self.round_done = self.next == 0;
        let offset = self.offsets[&q];
        let resp: SourceLogResponse = log
            .call(SourceLogRequest::Fetch {
                partition: q,
                offset,
                max,
            })
            .await
            .map_err(|e| TaskError::Service(e.to_string()))?;
        let (keys, values, rate, end) = match resp {
            SourceLogResponse::Records {
                partition,
                offset: o,
                keys,
                values,
                records_per_second,
                end,
            } if partition == q && o == offset => (keys, values, records_per_second.max(1), end),
            other => return Err(TaskError::Service(format!("unexpected source-log answer {other:?}"))),
        };
        assert!(
            keys.len() as u64 <= u64::from(max),
            "invariant: a fetch returns at most what was asked"
        );
        assert!(
            values.is_empty() || values.len() == keys.len(),
            "invariant: a value per key, or none"
        );
        assert!(
            !self.finished.contains(&q) || keys.is_empty(),
            "invariant: a finished partition has nothing more"
        );
        if end {
            self.finished.insert(q);
        }
        let known = self.rates.insert(q, rate);
        // Event times and watermarks assume a fixed rate per partition.
        assert!(
            known.is_none_or(|r| r == rate),
            "invariant: partition {q} rate {rate} was {known:?}"
        );
        self.backlog |= keys.len() as u64 >= u64::from(max);
        Ok(Fetched {
            partition: q,
            offset,
            keys,
            values,
            rate,
        })
    }

    /// The `n` records fetched from `offset` in `partition` were emitted.
    fn advance(&mut self, partition: u32, offset: u64, n: u64) {
        self.fetched += n;
        let read = self.offsets.get_mut(&partition).expect("invariant: own partition");
        assert_eq!(*read, offset, "invariant: only this loop advances a partition's offset");
        *read += n;
    }

    /// The offsets moved from the start by exactly the records fetched
    /// (and emitted): a snapshot of them covers the records emitted.
    fn assert_offsets_fetched(&self) {
        let moved = self.offsets.values().sum::<u64>() - self.start;
        assert_eq!(moved, self.fetched, "invariant: offsets moved by the records fetched");
    }

    /// The earliest event time still to come from any own partition
    /// (`u64::MAX` once all finished).
    fn watermark(&self) -> u64 {
        let wm = self
            .offsets
            .iter()
            .map(|(p, o)| {
                match (self.finished.contains(p), self.rates.get(p)) {
                    (true, _) => u64::MAX,
                    (false, Some(rate)) => o * 1000 / rate,
                    // Not fetched yet: its event times are unknown.
                    (false, None) => 0,
                }
            })
            .min()
            .unwrap_or(u64::MAX);
        assert_eq!(
            wm == u64::MAX,
            self.all_read(),
            "invariant: the final watermark once every partition finished"
        );
        wm
    }
}

/// A running source subtask. Fields drop in declaration order (the
/// source-log client first, the environment last).
/// What woke a source waiting for output credit.
enum OutputWake {
    Control(Option<TaskControl>),
    BarrierTimer,
    Credit(Result<(), TaskError>),
}

struct SourceTask {
    /// Where this attempt's time goes.
    load: LoadMeter,
    log: RpcClient,
    /// The asynchronous snapshot writer, aborted when the task ends.
    _writer: AbortOnDrop,
    snapshots: Snapshots,
    /// Records emitted before the first fetch: replayed in-flight output.
    replayed: u64,
    out: OutputGate,
    /// Debts of CPU and network work not yet slept off.
    cpu: CpuDebt,
    nic: CpuDebt,
    reader: Reader,
    /// The last watermark sent, and when.
    watermark: u64,
    last_watermark_at: Option<u64>,
    /// When partly filled output buffers must go out.
    flush_at: Option<u64>,
    /// The own snapshot timer (uncoordinated checkpoints).
    local: Option<LocalCheckpoints>,
    env: TaskEnv,
}

impl SourceTask {
    /// Fetch round robin and emit until the task is cancelled or fails.
    async fn run(&mut self) -> Result<(), TaskError> {
        loop {
            // Fetch only while the output takes more; checkpoints go on.
            if self.await_output().await?.is_break() {
                return Ok(());
            }
            if self.reader.round_done {
                // A round over every partition ended. If none had a full
                // batch waiting, the source has caught up: wait one poll
                // interval (waking for control messages) so that the next
                // round fetches what arrived meanwhile in one batch, instead
                // of polling back to back for a few records at a time (every
                // message costs simulated and wall time). A source behind
                // fetches on at once.
                if !self.reader.backlog && self.wait_poll_interval().await?.is_break() {
                    return Ok(());
                }
                self.reader.backlog = false;
            }
            self.flush_if_due().await?;
            self.local_checkpoint_if_due();
            // Control first: a trigger is taken between fetches.
            if self.take_control().await?.is_break() {
                return Ok(());
            }
            let max = self.env.config.batch_size as u32;
            // Waiting for the source log is waiting for input.
            self.load.spent(Activity::Busy);
            let fetched = self.reader.fetch(&mut self.log, max).await?;
            self.load.spent(Activity::Idle);
            self.load.took_in(fetched.keys.len() as u64);
            if !fetched.keys.is_empty() {
                self.emit(fetched).await?;
            }
            // Also after an empty fetch: a source restored at the end of
            // its partitions learns it there, and its final watermark must
            // still go out (an uncoordinated restore can take a window
            // from before it fired with the source from after).
            self.send_watermark().await?;
        }
    }

    /// Wait until the output takes more (nothing waits for credit),
    /// handling control messages (a checkpoint trigger overtakes the queued
    /// output if unaligned), credits and the output barrier timeout; break
    /// when the TaskManager dropped the task.
    async fn await_output(&mut self) -> Result<ControlFlow<()>, TaskError> {
        let clock = self.env.tracer.clone();
        loop {
            self.complete_outputs();
            if self.out.is_available() {
                return Ok(ControlFlow::Continue(()));
            }
            let deadline = self.out.barrier_deadline_ms();
            self.load.spent(Activity::Busy);
            let wake = tokio::select! {
                biased;
                c = self.env.control.recv() => OutputWake::Control(c),
                _ = sleep_until_ms(&clock, deadline.unwrap_or(0)), if deadline.is_some() => OutputWake::BarrierTimer,
                credit = self.out.recv_credit() => OutputWake::Credit(credit),
            };
            self.load.spent(Activity::BackPressured);
            match wake {
                OutputWake::Control(Some(c)) => self.on_control(c).await?,
                OutputWake::Control(None) => return Ok(ControlFlow::Break(())),
                OutputWake::BarrierTimer => self.out.on_timer(clock.now_ms() as i64).await?,
                OutputWake::Credit(credit) => {
                    credit?;
                    self.out.pump().await?;
                }
            }
        }
    }

    /// Snapshots whose barrier left every output queue are complete.
    fn complete_outputs(&mut self) {
        while let Some((id, records)) = self.out.take_completed() {
            self.snapshots.output_complete(id, records);
        }
    }

    /// Wait one poll interval, handling a control message that comes
    /// meanwhile; break when the TaskManager dropped the task.
    async fn wait_poll_interval(&mut self) -> Result<ControlFlow<()>, TaskError> {
        self.load.spent(Activity::Busy);
        let control = tokio::select! {
            biased;
            c = self.env.control.recv() => Some(c),
            _ = madsim::time::sleep(self.env.config.source_poll_interval) => None,
        };
        self.load.spent(Activity::Idle);
        match control {
            Some(Some(c)) => self.on_control(c).await?,
            Some(None) => return Ok(ControlFlow::Break(())),
            None => {}
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Partly filled output buffers go out after the buffer timeout (full
    /// ones at once, all of them ahead of barriers and watermarks).
    async fn flush_if_due(&mut self) -> Result<(), TaskError> {
        if !self.out.has_buffered() {
            self.flush_at = None;
            return Ok(());
        }
        let now = self.env.tracer.now_ms();
        match self.flush_at {
            None => self.flush_at = Some(now + BUFFER_TIMEOUT_MS),
            Some(t) if now >= t => {
                self.out.flush().await?;
                self.flush_at = None;
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Handle the control messages that arrived; break when the
    /// TaskManager dropped the task.
    async fn take_control(&mut self) -> Result<ControlFlow<()>, TaskError> {
        loop {
            match self.env.control.try_recv() {
                Ok(c) => self.on_control(c).await?,
                Err(TryRecvError::Empty) => return Ok(ControlFlow::Continue(())),
                Err(TryRecvError::Disconnected) => return Ok(ControlFlow::Break(())),
            }
        }
    }

    /// Emit fetched records, with event times from their offsets.
    async fn emit(&mut self, fetched: Fetched) -> Result<(), TaskError> {
        let (partition, offset, rate) = (fetched.partition, fetched.offset, fetched.rate);
        let n = fetched.keys.len() as u64;
        let values = fetched.values;
        self.out
            .emit_all(
                fetched
                    .keys
                    .into_iter()
                    .zip(offset..)
                    .enumerate()
                    .map(|(i, (key, o))| Record {
                        key,
                        value: values.get(i).copied().unwrap_or(1),
                        origin: Origin { partition, offset: o },
                        timestamp_ms: o * 1000 / rate,
                    }),
            )
            .await?;
        self.reader.advance(partition, offset, n);
        let emitted = self.replayed + self.reader.fetched;
        assert_eq!(
            self.out.records_out, emitted,
            "invariant: every fetched record emitted once"
        );
        let resources = &self.env.resources;
        resources
            .process_records(&mut self.cpu, CostedOperator::Source, n)
            .await;
        resources.send_records(&mut self.nic, n).await;
        Ok(())
    }

    /// Periodic, as Flink's auto-watermark interval: a watermark goes out
    /// when it advanced and the previous one is WATERMARK_INTERVAL_MS old
    /// (a broadcast is a message per channel); the final one (all
    /// partitions finished) goes out at once.
    async fn send_watermark(&mut self) -> Result<(), TaskError> {
        let wm = self.reader.watermark();
        // Offsets only grow at a fixed rate per partition: no record
        // earlier than a watermark sent can follow it.
        let sent = self.watermark;
        assert!(wm >= sent, "invariant: watermark fell from {sent} to {wm}");
        let now = self.env.tracer.now_ms();
        let due = wm == u64::MAX || self.last_watermark_at.is_none_or(|t| now >= t + WATERMARK_INTERVAL_MS);
        if wm > self.watermark && due {
            self.watermark = wm;
            self.last_watermark_at = Some(now);
            self.out.broadcast_watermark(wm).await?;
        }
        Ok(())
    }

    /// Handle one control message: a trigger snapshots the offsets and
    /// forwards the barrier; `Finish` ends the task.
    async fn on_control(&mut self, c: TaskControl) -> Result<(), TaskError> {
        match c {
            TaskControl::TriggerCheckpoint(barrier) => self.checkpoint(barrier).await?,
            TaskControl::NotifyCheckpointComplete(_, member) => {
                if let (Some(m), Some(log)) = (member, self.out.message_log_mut()) {
                    log.truncate(&m.floors);
                }
            }
            TaskControl::Finish => self.env.finish().await,
        }
        Ok(())
    }

    /// Uncoordinated checkpoints: snapshot the offsets, the sent counts and
    /// the message log when the own timer is due (between fetches).
    fn local_checkpoint_if_due(&mut self) {
        let now = self.env.tracer.now_ms();
        let Some(local) = self.local.as_mut().filter(|l| now >= l.due_ms()) else {
            return;
        };
        self.reader.assert_offsets_fetched();
        let id = local.take(now);
        let mut snap = TaskStateSnapshot::new(OperatorState::Source {
            offsets: self.reader.offsets.clone(),
        });
        snap.end_of_input = self.reader.all_read();
        let log = self.out.message_log().expect("invariant: an uncoordinated source logs");
        snap.cut = Some(local.cut(id, log));
        snap.sent_log = log.records();
        let metrics = TaskCheckpointMetrics::default();
        self.snapshots.taken(id, snap, AlignmentType::Aligned, metrics);
        if self.env.config.protocol.is_communication_induced() {
            let index = self.local.as_ref().map_or(0, |l| l.index);
            self.out.raise_index(index);
        }
    }

    /// Snapshot the offsets and forward the barrier.
    async fn checkpoint(&mut self, barrier: CheckpointBarrier) -> Result<(), TaskError> {
        // Taken between fetches: the offsets match the records emitted.
        self.reader.assert_offsets_fetched();
        let emitted = self.replayed + self.reader.fetched;
        assert_eq!(self.out.records_out, emitted, "invariant: a snapshot between fetches");
        let mut snap = TaskStateSnapshot::new(OperatorState::Source {
            offsets: self.reader.offsets.clone(),
        });
        // Every own partition reported its end and everything fetched was
        // emitted: this snapshot covers all input.
        snap.end_of_input = self.reader.all_read();
        // Alternating checkpoints start aligned: the barrier queues behind
        // the output and is converted if still queued after the timeout.
        let config = self.env.config.barrier_config();
        let forwarded = self
            .out
            .forward_barrier(barrier, config.source_alignment(), config.barrier_timeout_ms())
            .await?;
        // An older barrier it converted completes first.
        self.complete_outputs();
        snap.in_flight_output = forwarded.in_flight;
        // A source has no input, so no in-flight input to wait for: its
        // snapshot is complete once its barrier left the output queues.
        let metrics = TaskCheckpointMetrics::default();
        if forwarded.output_pending {
            self.snapshots.taken_awaiting_output(barrier.id, snap, metrics);
        } else {
            self.snapshots.taken(barrier.id, snap, AlignmentType::Aligned, metrics);
        }
        Ok(())
    }
}
