//! Barrier handling on the task side, as a pure state machine.
//!
//! [`BarrierHandler`] follows Flink's `SingleCheckpointBarrierHandler` for
//! EXACTLY_ONCE (aligned, unaligned and alternating) and
//! `CheckpointBarrierTracker` for AT_LEAST_ONCE:
//! - **aligned**: a channel that delivered the barrier of the current
//!   checkpoint is blocked (its records wait) until every open channel has
//!   delivered it; then the task snapshots and all channels are unblocked;
//! - **unaligned**: the task snapshots at the *first* barrier; records that
//!   arrive afterwards on channels whose barrier has not come yet are
//!   in-flight data of the checkpoint ([`BarrierHandler::is_capturing`]); when
//!   every barrier has arrived the in-flight data is complete;
//! - **alternating** (unaligned with an aligned-checkpoint timeout): starts
//!   aligned and switches to unaligned once `now − barrier.timestamp >
//!   timeout`;
//! - **at-least-once**: never blocks; snapshots once a checkpoint's barrier
//!   has arrived on every open channel (records after a barrier may already be
//!   in the state, so they are replayed on recovery: duplicates).
//!
//! A newer barrier while a checkpoint is pending aborts the pending one
//! (CHECKPOINT_DECLINED_SUBSUMED); an older or finished one is ignored. A
//! cancellation marker aborts (CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER).
//! End of a partition closes a channel; with `checkpoints-after-tasks-finish`
//! (Flink's default) a closed channel counts as aligned.
//!
//! **Feedback channels** (an iteration head's own output coming back, see
//! [`BarrierHandler::with_feedback`]) follow asynchronous barrier snapshots
//! for cyclic graphs (Carbone et al., 2015, §3.3): an aligned checkpoint
//! snapshots once every *other* channel delivered its barrier (a head's own
//! barrier can come round only after it snapshotted), then logs what the
//! feedback channels still deliver until their barriers arrive
//! ([`AlignmentType::AlignedWithBackEdgeLog`]): the records in the loop at
//! the cut. A feedback channel that delivers its barrier early is blocked
//! as any other. Unaligned checkpoints need nothing more: they capture
//! every channel whose barrier has not come yet.

use std::collections::{BTreeMap, BTreeSet};

use super::failure_manager::CheckpointFailureReason;
use super::{CheckpointBarrier, CheckpointId};

/// `execution.checkpointing.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CheckpointingMode {
    ExactlyOnce,
    AtLeastOnce,
}

/// Whether a checkpoint's snapshot is aligned: the two of Flink's
/// `CheckpointOptions.AlignmentType` values halab uses (no FORCED_ALIGNED; an
/// AT_LEAST_ONCE snapshot counts as aligned: complete at once, no in-flight
/// data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlignmentType {
    /// The barrier waited behind every record before it: the snapshot is
    /// complete at once.
    Aligned,
    /// The barrier overtook records: they are the snapshot's in-flight data,
    /// complete once every input channel delivered the barrier.
    Unaligned,
    /// An iteration head's aligned snapshot: taken when every channel but
    /// the feedback edge's delivered the barrier; the barrier goes out
    /// aligned, and the records the feedback channels deliver before their
    /// barriers are the snapshot's in-flight data (the back-edge log).
    AlignedWithBackEdgeLog,
}

/// How a task handles barriers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierConfig {
    pub mode: CheckpointingMode,
    /// `execution.checkpointing.unaligned.enabled`.
    pub unaligned: bool,
    /// `execution.checkpointing.aligned-checkpoint-timeout` in ms; 0 = none.
    /// Only with `unaligned`: start aligned, switch after the timeout.
    pub aligned_timeout_ms: i64,
}

impl BarrierConfig {
    pub const ALIGNED: BarrierConfig = BarrierConfig {
        mode: CheckpointingMode::ExactlyOnce,
        unaligned: false,
        aligned_timeout_ms: 0,
    };

    /// How a source forwards barriers (Flink's `CheckpointOptions` of the
    /// trigger): unaligned only for unaligned checkpoints without an
    /// aligned-checkpoint timeout. Alternating checkpoints start aligned
    /// (`alignedWithTimeout`); see [`BarrierConfig::barrier_timeout_ms`].
    pub fn source_alignment(&self) -> AlignmentType {
        match Handling::of(*self) {
            Handling::Unaligned => AlignmentType::Unaligned,
            Handling::Aligned | Handling::Alternating { .. } | Handling::AtLeastOnce => AlignmentType::Aligned,
        }
    }

    /// Whether snapshots of `alignment` wait for in-flight data: unaligned
    /// ones and the back-edge log of an iteration head.
    pub fn collects_in_flight(alignment: AlignmentType) -> bool {
        match alignment {
            AlignmentType::Unaligned | AlignmentType::AlignedWithBackEdgeLog => true,
            AlignmentType::Aligned => false,
        }
    }

    /// The aligned-checkpoint timeout of an aligned barrier that may still
    /// become unaligned (alternating checkpoints): an output channel that
    /// still holds it once [`is_timed_out`] converts it. None otherwise.
    pub fn barrier_timeout_ms(&self) -> Option<i64> {
        match Handling::of(*self) {
            Handling::Alternating { timeout_ms } => Some(timeout_ms),
            Handling::Aligned | Handling::Unaligned | Handling::AtLeastOnce => None,
        }
    }
}

/// Flink's `isTimedOut`: a checkpoint started (triggered) at `timestamp_ms`
/// has exceeded its aligned-checkpoint timeout at `now_ms`.
pub fn is_timed_out(timestamp_ms: i64, timeout_ms: i64, now_ms: i64) -> bool {
    timeout_ms < now_ms - timestamp_ms
}

/// What the task must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarrierAction {
    /// Snapshot the operator state for `id` now and forward the barrier.
    /// [`AlignmentType::Unaligned`]: in-flight data follows until
    /// [`BarrierAction::InFlightComplete`]; aligned: the snapshot is complete
    /// at once.
    Snapshot {
        barrier: CheckpointBarrier,
        alignment: AlignmentType,
    },
    /// Every barrier of unaligned checkpoint `id` arrived: its in-flight data
    /// is complete; write the snapshot and acknowledge.
    InFlightComplete { id: CheckpointId },
    /// Decline checkpoint `id`.
    Abort {
        id: CheckpointId,
        reason: CheckpointFailureReason,
    },
}

/// How the handler treats barriers, named from the configuration's mode,
/// unaligned flag and aligned-checkpoint timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handling {
    /// EXACTLY_ONCE, aligned: block channels until every barrier arrived.
    Aligned,
    /// EXACTLY_ONCE, unaligned: snapshot at the first barrier.
    Unaligned,
    /// EXACTLY_ONCE, unaligned with an aligned-checkpoint timeout: aligned
    /// until `now − barrier.timestamp > timeout_ms`, then unaligned.
    Alternating { timeout_ms: i64 },
    /// AT_LEAST_ONCE (`CheckpointBarrierTracker`): never blocks.
    AtLeastOnce,
}

impl Handling {
    fn of(config: BarrierConfig) -> Self {
        match (config.mode, config.unaligned, config.aligned_timeout_ms) {
            (CheckpointingMode::AtLeastOnce, _, _) => Handling::AtLeastOnce,
            (CheckpointingMode::ExactlyOnce, true, 0) => Handling::Unaligned,
            (CheckpointingMode::ExactlyOnce, true, t) if t > 0 => Handling::Alternating { timeout_ms: t },
            // A negative timeout never elapses: the checkpoint stays aligned.
            (CheckpointingMode::ExactlyOnce, _, _) => Handling::Aligned,
        }
    }

    /// Whether this handling may capture in-flight data.
    fn is_unaligned(self) -> bool {
        matches!(self, Handling::Unaligned | Handling::Alternating { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No checkpoint in progress.
    Idle,
    /// Aligned: collecting barriers, channels that delivered are blocked.
    Aligning,
    /// Unaligned: snapshot taken, capturing channels without their barrier
    /// (for an aligned checkpoint, only feedback channels: the back-edge
    /// log).
    Capturing,
}

/// What an iteration head does with the records in its loop at a
/// checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackEdges {
    /// Log them with the snapshot (asynchronous barrier snapshots).
    Log,
    /// Test-only broken variant: snapshot at the other channels' barriers
    /// and forget the records in the loop (a cut that is not consistent).
    Forget,
}

/// Barrier handling for a task with `num_channels` input channels.
#[derive(Clone, Debug)]
pub struct BarrierHandler {
    handling: Handling,
    num_channels: usize,
    closed: BTreeSet<usize>,
    /// The feedback edge's channels (iteration heads only).
    feedback: BTreeSet<usize>,
    back_edges: BackEdges,
    current: Option<CheckpointBarrier>,
    phase: Phase,
    /// Channels that delivered the current barrier.
    arrived: BTreeSet<usize>,
    /// At-least-once: barriers seen per pending checkpoint.
    tracker: BTreeMap<CheckpointId, BTreeSet<usize>>,
    last_triggered: Option<CheckpointId>,
    /// When the current alignment started (the first barrier), for metrics.
    alignment_start_ms: Option<i64>,
}

impl BarrierHandler {
    pub fn new(num_channels: usize, config: BarrierConfig) -> Self {
        assert!(
            num_channels > 0,
            "invariant: a task with inputs has at least one channel"
        );
        BarrierHandler {
            handling: Handling::of(config),
            num_channels,
            closed: BTreeSet::new(),
            feedback: BTreeSet::new(),
            back_edges: BackEdges::Log,
            current: None,
            phase: Phase::Idle,
            arrived: BTreeSet::new(),
            tracker: BTreeMap::new(),
            last_triggered: None,
            alignment_start_ms: None,
        }
    }

    /// An iteration head: `channels` are its feedback edge's.
    pub fn with_feedback(mut self, channels: impl IntoIterator<Item = usize>, back_edges: BackEdges) -> Self {
        self.feedback = channels.into_iter().collect();
        self.back_edges = back_edges;
        assert!(
            self.feedback.iter().all(|c| *c < self.num_channels) && self.feedback.len() < self.num_channels,
            "invariant: feedback channels {:?} of {} leave an input",
            self.feedback,
            self.num_channels
        );
        self
    }

    /// Aligned checkpoints block the channels that delivered their barrier.
    pub fn is_blocked(&self, channel: usize) -> bool {
        assert!(channel < self.num_channels, "invariant: channel {channel} out of range");
        self.phase == Phase::Aligning && self.arrived.contains(&channel)
    }

    /// Unaligned checkpoints capture records of channels whose barrier has
    /// not arrived yet: the checkpoint they belong to.
    pub fn is_capturing(&self, channel: usize) -> Option<CheckpointId> {
        assert!(channel < self.num_channels, "invariant: channel {channel} out of range");
        (self.phase == Phase::Capturing && !self.arrived.contains(&channel) && !self.closed.contains(&channel))
            .then(|| self.current.map(|b| b.id))
            .flatten()
    }

    /// Whether a barrier may overtake records queued before it: in unaligned
    /// checkpoints, and in alternating ones once they switched to unaligned.
    pub fn overtaking_allowed(&self) -> bool {
        match self.handling {
            Handling::Unaligned => true,
            Handling::Alternating { .. } => self.phase == Phase::Capturing,
            Handling::Aligned | Handling::AtLeastOnce => false,
        }
    }

    /// Whether `barrier`, queued behind records in an input channel, may
    /// overtake them at `now_ms`: whenever [`Self::overtaking_allowed`], and
    /// in alternating checkpoints also a barrier of the current or a newer
    /// checkpoint once it timed out (Flink's receiver converts an announced
    /// barrier to a priority event after the timeout).
    pub fn may_overtake(&self, barrier: &CheckpointBarrier, now_ms: i64) -> bool {
        if self.overtaking_allowed() {
            return true;
        }
        let Handling::Alternating { timeout_ms } = self.handling else {
            return false;
        };
        let relevant = match self.current {
            None => true,
            Some(c) => barrier.id > c.id || (barrier.id == c.id && self.is_pending()),
        };
        relevant && is_timed_out(barrier.timestamp_ms, timeout_ms, now_ms)
    }

    /// When a barrier triggered at `timestamp_ms` and queued behind records
    /// may overtake them ([`Self::may_overtake`]); None unless alternating.
    pub fn queued_barrier_deadline_ms(&self, timestamp_ms: i64) -> Option<i64> {
        match self.handling {
            Handling::Alternating { timeout_ms } => Some(timestamp_ms + timeout_ms + 1),
            Handling::Aligned | Handling::Unaligned | Handling::AtLeastOnce => None,
        }
    }

    /// Whether barriers may ever overtake records (unaligned or alternating).
    pub fn may_ever_overtake(&self) -> bool {
        self.handling.is_unaligned()
    }

    /// A checkpoint is pending while barriers are still being collected.
    pub fn is_pending(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// When an aligned checkpoint that may time out should be re-examined.
    pub fn alignment_deadline_ms(&self) -> Option<i64> {
        match (self.handling, self.phase, self.current) {
            (Handling::Alternating { timeout_ms }, Phase::Aligning, Some(b)) => Some(b.timestamp_ms + timeout_ms + 1),
            _ => None,
        }
    }

    /// When the first barrier of the current (or just finished) checkpoint
    /// arrived.
    pub fn alignment_started_ms(&self) -> Option<i64> {
        self.alignment_start_ms
    }

    /// The handler's state invariants, asserted after every change.
    fn assert_invariants(&self) {
        assert!(
            self.phase == Phase::Idle || self.current.is_some(),
            "invariant: a pending checkpoint has a barrier"
        );
        assert!(
            self.phase != Phase::Idle || self.arrived.is_empty(),
            "invariant: no barrier is counted between checkpoints"
        );
        assert!(
            self.phase != Phase::Capturing || self.handling.is_unaligned() || !self.feedback.is_empty(),
            "invariant: only unaligned checkpoints and iteration heads capture in-flight data"
        );
        assert!(
            self.arrived.iter().chain(&self.closed).all(|c| *c < self.num_channels),
            "invariant: channel indices in range"
        );
        assert!(
            self.handling == Handling::AtLeastOnce || self.tracker.is_empty(),
            "invariant: only at-least-once tracks several checkpoints"
        );
        assert!(
            self.tracker
                .keys()
                .all(|id| self.last_triggered.is_none_or(|l| *id > l)),
            "invariant: the tracker holds only checkpoints not yet triggered"
        );
    }

    fn open_channels(&self) -> usize {
        self.num_channels - self.closed.len()
    }

    fn all_arrived(&self) -> bool {
        (0..self.num_channels).all(|c| self.is_aligned(c))
    }

    fn is_aligned(&self, channel: usize) -> bool {
        self.arrived.contains(&channel) || self.closed.contains(&channel)
    }

    /// Every channel but the feedback edge's delivered the barrier (or
    /// ended): an iteration head may snapshot.
    fn forward_channels_arrived(&self) -> bool {
        (0..self.num_channels).all(|c| self.feedback.contains(&c) || self.is_aligned(c))
    }

    /// A barrier arrived on `channel` at `now_ms`.
    pub fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier, now_ms: i64) -> Vec<BarrierAction> {
        assert!(channel < self.num_channels, "invariant: channel index in range");
        assert!(
            !self.closed.contains(&channel),
            "invariant: barrier on ended channel {channel}"
        );
        // The alignment time and the alternating timeout count from it.
        assert!(
            barrier.timestamp_ms <= now_ms,
            "invariant: barrier {} triggered at {} arrived at {now_ms}",
            barrier.id,
            barrier.timestamp_ms
        );
        if self.handling == Handling::AtLeastOnce {
            return self.track(channel, barrier);
        }
        let id = barrier.id;
        let mut actions = Vec::new();
        match self.current {
            Some(cur) if id < cur.id || (id == cur.id && !self.is_pending()) => return actions,
            Some(cur) if id > cur.id => {
                if self.is_pending() {
                    actions.push(BarrierAction::Abort {
                        id: cur.id,
                        reason: CheckpointFailureReason::CheckpointDeclinedSubsumed,
                    });
                }
                self.start(barrier, now_ms);
            }
            None => self.start(barrier, now_ms),
            Some(_) => {}
        }
        let first = self.arrived.is_empty();
        let once = self.arrived.insert(channel);
        assert!(once, "invariant: channel {channel} delivered barrier {id} twice");
        if self.phase == Phase::Aligning && first && self.handling == Handling::Unaligned {
            // Unaligned: snapshot at the first barrier.
            self.phase = Phase::Capturing;
            actions.push(BarrierAction::Snapshot {
                barrier,
                alignment: AlignmentType::Unaligned,
            });
        } else if self.phase == Phase::Aligning && self.timed_out(now_ms) {
            // Alternating: this barrier is late; switch to unaligned.
            self.phase = Phase::Capturing;
            actions.push(BarrierAction::Snapshot {
                barrier: self.current.expect("invariant: pending checkpoint"),
                alignment: AlignmentType::Unaligned,
            });
        }
        actions.extend(self.maybe_finish());
        self.assert_invariants();
        actions
    }

    fn timed_out(&self, now_ms: i64) -> bool {
        match (self.handling, self.current) {
            (Handling::Alternating { timeout_ms }, Some(b)) => is_timed_out(b.timestamp_ms, timeout_ms, now_ms),
            _ => false,
        }
    }

    /// Time passes: an alternating checkpoint switches to unaligned once its
    /// alignment timed out.
    pub fn on_timer(&mut self, now_ms: i64) -> Vec<BarrierAction> {
        if self.phase == Phase::Aligning && self.timed_out(now_ms) {
            self.phase = Phase::Capturing;
            let mut actions = vec![BarrierAction::Snapshot {
                barrier: self.current.expect("invariant: pending checkpoint"),
                alignment: AlignmentType::Unaligned,
            }];
            actions.extend(self.maybe_finish());
            self.assert_invariants();
            return actions;
        }
        Vec::new()
    }

    fn start(&mut self, barrier: CheckpointBarrier, now_ms: i64) {
        assert!(
            self.current.is_none_or(|c| c.id < barrier.id),
            "invariant: a task starts checkpoints in id order"
        );
        self.current = Some(barrier);
        self.arrived.clear();
        self.phase = Phase::Aligning;
        self.alignment_start_ms = Some(now_ms);
    }

    fn finish(&mut self) {
        // The alignment start stays readable for the snapshot's metrics.
        self.phase = Phase::Idle;
        self.arrived.clear();
    }

    fn maybe_finish(&mut self) -> Vec<BarrierAction> {
        if !self.all_arrived() {
            return self.maybe_log_back_edges();
        }
        let barrier = self.current.expect("invariant: pending checkpoint");
        assert!(
            self.open_channels() == 0 || !self.arrived.is_empty(),
            "invariant: a checkpoint completes on barriers, or on closed channels only"
        );
        let action = match self.phase {
            Phase::Aligning => BarrierAction::Snapshot {
                barrier,
                alignment: AlignmentType::Aligned,
            },
            Phase::Capturing => BarrierAction::InFlightComplete { id: barrier.id },
            Phase::Idle => return Vec::new(),
        };
        self.finish();
        vec![action]
    }

    /// An iteration head's aligned checkpoint whose other channels all
    /// delivered the barrier: snapshot, and log the feedback channels
    /// until their barriers come round (or, broken, forget them).
    fn maybe_log_back_edges(&mut self) -> Vec<BarrierAction> {
        if self.feedback.is_empty() || self.phase != Phase::Aligning || !self.forward_channels_arrived() {
            return Vec::new();
        }
        let barrier = self.current.expect("invariant: pending checkpoint");
        match self.back_edges {
            BackEdges::Log => {
                self.phase = Phase::Capturing;
                vec![BarrierAction::Snapshot {
                    barrier,
                    alignment: AlignmentType::AlignedWithBackEdgeLog,
                }]
            }
            BackEdges::Forget => {
                self.finish();
                vec![BarrierAction::Snapshot {
                    barrier,
                    alignment: AlignmentType::Aligned,
                }]
            }
        }
    }

    /// A CancelCheckpointMarker for `id` arrived.
    pub fn on_cancellation(&mut self, id: CheckpointId) -> Vec<BarrierAction> {
        if self.handling == Handling::AtLeastOnce {
            self.tracker.retain(|k, _| *k > id);
            return Vec::new();
        }
        let cur = self.current.map(|b| b.id);
        let newer = cur.is_none_or(|c| id > c);
        if newer || (Some(id) == cur && self.is_pending()) {
            let was_pending = self.is_pending() && Some(id) == cur;
            let aborted = if newer && self.is_pending() { cur } else { None };
            self.current = Some(CheckpointBarrier { id, timestamp_ms: 0 });
            self.finish();
            self.assert_invariants();
            let reason = CheckpointFailureReason::CheckpointDeclinedOnCancellationBarrier;
            return match (was_pending, aborted) {
                (true, _) => vec![BarrierAction::Abort { id, reason }],
                (false, Some(old)) => vec![BarrierAction::Abort { id: old, reason }],
                _ => Vec::new(),
            };
        }
        Vec::new()
    }

    /// The channel reached the end of its partition: it is closed and counts
    /// as aligned from now on.
    pub fn on_end_of_partition(&mut self, channel: usize) -> Vec<BarrierAction> {
        assert!(channel < self.num_channels, "invariant: channel index in range");
        let once = self.closed.insert(channel);
        assert!(once, "invariant: channel {channel} ended twice");
        if self.handling == Handling::AtLeastOnce {
            let ids: Vec<CheckpointId> = self.tracker.keys().copied().collect();
            return ids.into_iter().flat_map(|id| self.tracker_check(id)).collect();
        }
        if self.open_channels() == 0 && !self.is_pending() {
            return Vec::new();
        }
        let actions = self.maybe_finish();
        self.assert_invariants();
        actions
    }

    fn track(&mut self, channel: usize, barrier: CheckpointBarrier) -> Vec<BarrierAction> {
        if self.last_triggered.is_some_and(|l| barrier.id <= l) {
            return Vec::new();
        }
        let once = self.tracker.entry(barrier.id).or_default().insert(channel);
        assert!(once, "invariant: channel {channel} delivered barrier {barrier:?} twice");
        if self.current.is_none_or(|c| c.id < barrier.id) {
            self.current = Some(barrier);
        }
        self.tracker_check(barrier.id)
    }

    fn tracker_check(&mut self, id: CheckpointId) -> Vec<BarrierAction> {
        let done = self.tracker.get(&id).is_some_and(|seen| {
            (0..self.num_channels).all(|c| seen.contains(&c) || self.closed.contains(&c) || self.feedback.contains(&c))
        });
        if !done {
            return Vec::new();
        }
        // Older checkpoints still collecting are abandoned, as in Flink.
        let mut actions: Vec<BarrierAction> = self
            .tracker
            .range(..id)
            .map(|(old, _)| BarrierAction::Abort {
                id: *old,
                reason: CheckpointFailureReason::CheckpointDeclinedSubsumed,
            })
            .collect();
        self.tracker.retain(|k, _| *k > id);
        assert!(
            self.last_triggered.is_none_or(|l| l < id),
            "invariant: checkpoint {id} triggered after {:?}",
            self.last_triggered
        );
        self.last_triggered = Some(id);
        actions.push(BarrierAction::Snapshot {
            barrier: CheckpointBarrier {
                id,
                timestamp_ms: self.current.map(|b| b.timestamp_ms).unwrap_or(0),
            },
            alignment: AlignmentType::Aligned,
        });
        actions
    }
}

#[cfg(test)]
mod tests;
