//! The input side of a task with checkpoints: an [`InputGate`] driven by the
//! [`BarrierHandler`], turning arriving messages into [`InputEvent`]s for the
//! operator and collecting unaligned checkpoints' in-flight data.
//!
//! Unaligned barriers overtake records queued in the input channels; those
//! records, and every record arriving later on a channel whose barrier has not
//! come yet, are the checkpoint's in-flight data (processed normally, and also
//! kept to be persisted with the snapshot).

use std::collections::{BTreeMap, VecDeque};

use super::io::InputGate;
use super::TaskError;
use crate::checkpoint::barrier::{
    AlignmentType, BackEdges, BarrierAction, BarrierConfig, BarrierHandler, CheckpointingMode,
};
use crate::checkpoint::failure_manager::CheckpointFailureReason;
use crate::checkpoint::{CheckpointBarrier, CheckpointId};
use crate::protocol::DataMsg;
use crate::record::{ChannelRecord, Record};

/// What the operator must do next.
#[derive(Debug)]
pub enum InputEvent {
    /// Process these records, then call [`CheckpointedInput::processed`].
    Records { channel: usize, batch: Vec<Record> },
    /// Snapshot the operator state now and forward the barrier (unaligned:
    /// ahead of buffered output). `alignment_ms` is Flink's
    /// `checkpointAlignmentTime` of this task.
    Snapshot {
        barrier: CheckpointBarrier,
        alignment: AlignmentType,
        alignment_ms: i64,
    },
    /// A watermark arrived on `channel`.
    Watermark { channel: usize, watermark: u64 },
    /// A sender's checkpoint index arrived ahead of its records
    /// (communication-induced checkpoints).
    CheckpointIndex { index: u64 },
    /// The in-flight data of unaligned checkpoint `id` is complete.
    InFlightComplete {
        id: CheckpointId,
        records: Vec<ChannelRecord>,
    },
    /// Decline checkpoint `id`.
    Abort {
        id: CheckpointId,
        reason: CheckpointFailureReason,
    },
    /// An alignment that may time out started, or a barrier arrived behind
    /// records (alternating): the caller must re-read
    /// [`CheckpointedInput::deadline_ms`].
    AlignmentStarted,
}

pub struct CheckpointedInput {
    gate: InputGate,
    handler: BarrierHandler,
    queued: VecDeque<InputEvent>,
    in_flight: BTreeMap<CheckpointId, Vec<ChannelRecord>>,
    /// The last checkpoint snapshotted: snapshots (and the barriers the
    /// operator forwards with them) go in checkpoint order.
    last_snapshot: Option<CheckpointId>,
}

impl CheckpointedInput {
    /// `feedback`: an iteration head's feedback gate and what it does with
    /// the records in its loop at a checkpoint.
    pub fn new(
        gate: InputGate,
        mut config: BarrierConfig,
        no_alignment: bool,
        feedback: Option<(usize, BackEdges)>,
    ) -> Self {
        if no_alignment && config.mode == CheckpointingMode::ExactlyOnce && !config.unaligned {
            // Test-only broken variant: exactly-once without blocking channels.
            config.mode = CheckpointingMode::AtLeastOnce;
        }
        let mut handler = BarrierHandler::new(gate.num_channels(), config);
        if let Some((feedback_gate, back_edges)) = feedback {
            let channels = (0..gate.num_channels()).filter(|c| gate.gate_of(*c) == feedback_gate);
            handler = handler.with_feedback(channels, back_edges);
        }
        CheckpointedInput {
            handler,
            gate,
            queued: VecDeque::new(),
            in_flight: BTreeMap::new(),
            last_snapshot: None,
        }
    }

    /// When the task should call [`Self::on_timer`] (alternating checkpoints).
    /// The alignment timeout of the current checkpoint, or of a barrier
    /// that waits behind records (alternating checkpoints).
    pub fn deadline_ms(&self) -> Option<i64> {
        let queued = self
            .gate
            .queued_barriers()
            .filter_map(|b| self.handler.queued_barrier_deadline_ms(b.timestamp_ms));
        queued.chain(self.handler.alignment_deadline_ms()).min()
    }

    pub fn on_timer(&mut self, now_ms: i64) {
        let actions = self.handler.on_timer(now_ms);
        self.enqueue(actions, now_ms);
    }

    fn enqueue(&mut self, actions: Vec<BarrierAction>, now_ms: i64) {
        for a in actions {
            let ev = match a {
                BarrierAction::Snapshot { barrier, alignment } => {
                    let last = self.last_snapshot.replace(barrier.id);
                    assert!(
                        last.is_none_or(|l| l < barrier.id),
                        "invariant: {barrier:?} after {last:?}"
                    );
                    if BarrierConfig::collects_in_flight(alignment) {
                        self.in_flight.entry(barrier.id).or_default();
                    }
                    let alignment_ms = self.handler.alignment_started_ms().map(|t| now_ms - t).unwrap_or(0);
                    assert!(alignment_ms >= 0, "invariant: alignment took {alignment_ms} ms");
                    InputEvent::Snapshot {
                        barrier,
                        alignment,
                        alignment_ms,
                    }
                }
                BarrierAction::InFlightComplete { id } => {
                    let records = self.in_flight.remove(&id);
                    let snapshotted = records.is_some() && self.last_snapshot == Some(id);
                    assert!(snapshotted, "invariant: in-flight data of {id} before its snapshot");
                    InputEvent::InFlightComplete {
                        id,
                        records: records.unwrap_or_default(),
                    }
                }
                BarrierAction::Abort { id, reason } => {
                    self.in_flight.remove(&id);
                    InputEvent::Abort { id, reason }
                }
            };
            self.queued.push_back(ev);
        }
        // One checkpoint at a time is pending: a newer one aborts it.
        let pending = &self.in_flight;
        assert!(pending.len() <= 1, "invariant: in-flight data of {:?}", pending.keys());
    }

    fn capture(&mut self, channel: usize, batch: &[Record]) {
        if let Some(id) = self.handler.is_capturing(channel) {
            let captured = self
                .in_flight
                .get_mut(&id)
                .map(|v| v.extend(ChannelRecord::tag(channel, batch)));
            assert!(
                captured.is_some(),
                "invariant: channel {channel} captured before snapshot {id}"
            );
        }
    }

    /// The next event. Cancel-safe: state changes happen before any await
    /// returns to the caller.
    pub async fn next(&mut self, now_ms: impl Fn() -> i64) -> Result<InputEvent, TaskError> {
        loop {
            if let Some(ev) = self.queued.pop_front() {
                return Ok(ev);
            }
            if self.take_priority_barrier(&now_ms)? {
                continue;
            }
            let handler = &self.handler;
            let (c, msg) = self.gate.next(|c| handler.is_blocked(c)).await?;
            assert!(!self.handler.is_blocked(c), "invariant: blocked channel {c} delivered");
            match msg {
                DataMsg::Records(batch) => {
                    self.capture(c, &batch);
                    return Ok(InputEvent::Records { channel: c, batch });
                }
                DataMsg::Barrier(b) => {
                    let before = self.handler.alignment_deadline_ms();
                    let actions = self.handler.on_barrier(c, b, now_ms());
                    self.enqueue(actions, now_ms());
                    let deadline = self.handler.alignment_deadline_ms();
                    if deadline.is_some() && deadline != before && self.queued.is_empty() {
                        return Ok(InputEvent::AlignmentStarted);
                    }
                }
                DataMsg::Watermark(w) => {
                    return Ok(InputEvent::Watermark {
                        channel: c,
                        watermark: w,
                    })
                }
                DataMsg::CheckpointIndex(index) => return Ok(InputEvent::CheckpointIndex { index }),
            }
        }
    }

    /// [`Self::next`] while the task takes input, else
    /// [`Self::next_priority`].
    pub async fn next_when(&mut self, now_ms: impl Fn() -> i64, take_input: bool) -> Result<InputEvent, TaskError> {
        if take_input {
            self.next(now_ms).await
        } else {
            self.next_priority(now_ms).await
        }
    }

    /// The next checkpoint event while the task takes no input (its output
    /// waits for credit): Flink's priority events. Unaligned barriers that
    /// arrive are handled at once, overtaking the records queued before
    /// them; records and aligned barriers wait. Pending while the handler
    /// lets no barrier overtake. Cancel-safe.
    pub async fn next_priority(&mut self, now_ms: impl Fn() -> i64) -> Result<InputEvent, TaskError> {
        loop {
            if let Some(ev) = self.queued.pop_front() {
                return Ok(ev);
            }
            if !self.handler.may_ever_overtake() {
                return std::future::pending().await;
            }
            // A barrier that arrives behind records may time out: the
            // caller re-reads the deadline.
            if !self.take_priority_barrier(&now_ms)? && self.gate.wait_arrival().await? {
                return Ok(InputEvent::AlignmentStarted);
            }
        }
    }

    /// Handle a barrier that has arrived behind records if it may overtake
    /// them (unaligned, or alternating and timed out); true if one was.
    fn take_priority_barrier(&mut self, now_ms: &impl Fn() -> i64) -> Result<bool, TaskError> {
        if !self.handler.may_ever_overtake() {
            return Ok(false);
        }
        self.gate.poll_ready()?;
        let (handler, now) = (&self.handler, now_ms());
        let Some((c, barrier, overtaken)) = self.gate.take_queued_barrier(|b| handler.may_overtake(b, now)) else {
            return Ok(false);
        };
        let was_capturing = self.handler.is_capturing(c);
        let actions = self.handler.on_barrier(c, barrier, now_ms());
        let starts = actions.iter().any(|a| {
            matches!(
                a,
                BarrierAction::Snapshot {
                    alignment: AlignmentType::Unaligned,
                    ..
                }
            )
        });
        // The overtaken records belong to the checkpoint if it starts now
        // or was capturing this channel.
        let target = if starts { Some(barrier.id) } else { was_capturing };
        self.enqueue(actions, now_ms());
        if let Some(id) = target {
            let kept = self.keep_overtaken(id, ChannelRecord::tag(c, &overtaken).collect());
            // Only a checkpoint this barrier subsumed loses them.
            assert!(
                kept || id < barrier.id,
                "invariant: records overtaken by barrier {} lost from checkpoint {id}",
                barrier.id
            );
        }
        Ok(true)
    }

    /// Add records a barrier overtook to the in-flight data of checkpoint
    /// `id`, still collecting or complete and queued; false if it is
    /// neither (aborted).
    fn keep_overtaken(&mut self, id: CheckpointId, overtaken: Vec<ChannelRecord>) -> bool {
        if let Some(v) = self.in_flight.get_mut(&id) {
            v.extend(overtaken);
            return true;
        }
        let complete = self
            .queued
            .iter_mut()
            .find(|e| matches!(e, InputEvent::InFlightComplete { id: i, .. } if *i == id));
        if let Some(InputEvent::InFlightComplete { records, .. }) = complete {
            records.extend(overtaken);
            return true;
        }
        false
    }

    /// The input gate `channel` belongs to.
    pub fn gate_of(&self, channel: usize) -> usize {
        self.gate.gate_of(channel)
    }

    /// A record batch from `channel` was processed: return its credit.
    pub async fn processed(&mut self, channel: usize, records: usize) -> Result<(), TaskError> {
        self.gate.processed(channel, records).await
    }
}
