//! Tolerable checkpoint failures: a pure port of Flink 1.20's `CheckpointFailureManager`
//! (`flink-runtime/src/main/java/org/apache/flink/runtime/checkpoint/CheckpointFailureManager.java`)
//! and of the `CheckpointFailureReason` enum it switches on.
//!
//! Rules (see `shared/flink-semantics.md` §3.4):
//!
//! * A savepoint failure reported on the JobManager is ignored (manual action; a failover would
//!   not help).
//! * A *synchronous* savepoint (stop-with-savepoint) failing in a task always fails the job,
//!   whatever the reason, so that cancellation never waits forever.
//! * Otherwise a failure is counted only if its checkpoint id is unknown (Flink's `-1`, here
//!   `None`) or newer than the last successful checkpoint, the tolerable number is not
//!   unlimited (`i32::MAX`), and the reason is one of exactly five:
//!   `IO_EXCEPTION`, `CHECKPOINT_ASYNC_EXCEPTION`, `CHECKPOINT_DECLINED`, `CHECKPOINT_EXPIRED`,
//!   `FINALIZE_CHECKPOINT_FAILURE`.
//! * A known id is counted at most once until the counter is next cleared; unknown ids are never
//!   de-duplicated.
//! * When the counter exceeds the tolerable number, the counter and the set of counted ids are
//!   cleared and the job fails ("Exceeded checkpoint tolerable failure threshold.").
//! * A successful checkpoint clears the counter only if it is newer than the last success.
//!
//! The Java callback (`FailJobCallback`) is replaced by a returned [`FailJob`] value; there is
//! no clock, no logging and no statistics tracking here.

use std::collections::BTreeSet;
use std::fmt;

/// Flink's `UNLIMITED_TOLERABLE_FAILURE_NUMBER`: with this tolerable number nothing is counted.
pub const UNLIMITED_TOLERABLE_FAILURE_NUMBER: i32 = i32::MAX;

/// Flink's `EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE`.
pub const EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE: &str = "Exceeded checkpoint tolerable failure threshold.";

/// Why a checkpoint failed: every constant of Flink 1.20's `CheckpointFailureReason`, in Flink's
/// declaration order (so the derived `Ord` matches Java's `ordinal()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckpointFailureReason {
    /// `PERIODIC_SCHEDULER_SHUTDOWN` (pre-flight).
    PeriodicSchedulerShutdown,
    /// `TOO_MANY_CHECKPOINT_REQUESTS` (pre-flight).
    TooManyCheckpointRequests,
    /// `MINIMUM_TIME_BETWEEN_CHECKPOINTS` (pre-flight).
    MinimumTimeBetweenCheckpoints,
    /// `NOT_ALL_REQUIRED_TASKS_RUNNING` (pre-flight).
    NotAllRequiredTasksRunning,
    /// `IO_EXCEPTION` (pre-flight, counted).
    IoException,
    /// `BLOCKING_OUTPUT_EXIST` (pre-flight): checkpointing is disabled while tasks with blocking
    /// outputs run (FLIP-327 era, FLINK-34519).
    BlockingOutputExist,
    /// `CHECKPOINT_ASYNC_EXCEPTION` (counted).
    CheckpointAsyncException,
    /// `CHANNEL_STATE_SHARED_STREAM_EXCEPTION`.
    ChannelStateSharedStreamException,
    /// `CHECKPOINT_EXPIRED` (counted).
    CheckpointExpired,
    /// `CHECKPOINT_SUBSUMED`.
    CheckpointSubsumed,
    /// `CHECKPOINT_DECLINED` (counted).
    CheckpointDeclined,
    /// `CHECKPOINT_DECLINED_TASK_NOT_READY`.
    CheckpointDeclinedTaskNotReady,
    /// `CHECKPOINT_DECLINED_TASK_CLOSING`.
    CheckpointDeclinedTaskClosing,
    /// `CHECKPOINT_DECLINED_SUBSUMED`.
    CheckpointDeclinedSubsumed,
    /// `CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER`.
    CheckpointDeclinedOnCancellationBarrier,
    /// `CHECKPOINT_DECLINED_INPUT_END_OF_STREAM`.
    CheckpointDeclinedInputEndOfStream,
    /// `CHECKPOINT_COORDINATOR_SHUTDOWN`.
    CheckpointCoordinatorShutdown,
    /// `CHECKPOINT_COORDINATOR_SUSPEND`.
    CheckpointCoordinatorSuspend,
    /// `JOB_FAILOVER_REGION`.
    JobFailoverRegion,
    /// `TASK_FAILURE`.
    TaskFailure,
    /// `TASK_CHECKPOINT_FAILURE`.
    TaskCheckpointFailure,
    /// `UNKNOWN_TASK_CHECKPOINT_NOTIFICATION_FAILURE`.
    UnknownTaskCheckpointNotificationFailure,
    /// `FINALIZE_CHECKPOINT_FAILURE` (counted since the 1.1x line; verified on 1.20.0).
    FinalizeCheckpointFailure,
    /// `TRIGGER_CHECKPOINT_FAILURE`.
    TriggerCheckpointFailure,
}

impl CheckpointFailureReason {
    /// Every reason, in declaration order (Java's `values()`).
    pub const ALL: [CheckpointFailureReason; 24] = [
        Self::PeriodicSchedulerShutdown,
        Self::TooManyCheckpointRequests,
        Self::MinimumTimeBetweenCheckpoints,
        Self::NotAllRequiredTasksRunning,
        Self::IoException,
        Self::BlockingOutputExist,
        Self::CheckpointAsyncException,
        Self::ChannelStateSharedStreamException,
        Self::CheckpointExpired,
        Self::CheckpointSubsumed,
        Self::CheckpointDeclined,
        Self::CheckpointDeclinedTaskNotReady,
        Self::CheckpointDeclinedTaskClosing,
        Self::CheckpointDeclinedSubsumed,
        Self::CheckpointDeclinedOnCancellationBarrier,
        Self::CheckpointDeclinedInputEndOfStream,
        Self::CheckpointCoordinatorShutdown,
        Self::CheckpointCoordinatorSuspend,
        Self::JobFailoverRegion,
        Self::TaskFailure,
        Self::TaskCheckpointFailure,
        Self::UnknownTaskCheckpointNotificationFailure,
        Self::FinalizeCheckpointFailure,
        Self::TriggerCheckpointFailure,
    ];

    /// Flink's human-readable message for this reason (`CheckpointFailureReason#message`).
    pub fn message(&self) -> &'static str {
        match self {
            Self::PeriodicSchedulerShutdown => "Periodic checkpoint scheduler is shut down.",
            Self::TooManyCheckpointRequests => "The maximum number of queued checkpoint requests exceeded",
            Self::MinimumTimeBetweenCheckpoints => {
                "The minimum time between checkpoints is still pending. \
                 Checkpoint will be triggered after the minimum time."
            }
            Self::NotAllRequiredTasksRunning => "Not all required tasks are currently running.",
            Self::IoException => "An Exception occurred while triggering the checkpoint. IO-problem detected.",
            Self::BlockingOutputExist => "Blocking output edge exists in running tasks.",
            Self::CheckpointAsyncException => "Asynchronous task checkpoint failed.",
            Self::ChannelStateSharedStreamException => {
                "The checkpoint was aborted due to exception of other subtasks sharing the \
                 ChannelState file."
            }
            Self::CheckpointExpired => "Checkpoint expired before completing.",
            Self::CheckpointSubsumed => "Checkpoint has been subsumed.",
            Self::CheckpointDeclined => "Checkpoint was declined.",
            Self::CheckpointDeclinedTaskNotReady => "Checkpoint was declined (tasks not ready)",
            Self::CheckpointDeclinedTaskClosing => "Checkpoint was declined (task is closing)",
            Self::CheckpointDeclinedSubsumed => {
                "Checkpoint was canceled because a barrier from newer checkpoint was received."
            }
            Self::CheckpointDeclinedOnCancellationBarrier => "Task received cancellation from one of its inputs",
            Self::CheckpointDeclinedInputEndOfStream => "Checkpoint was declined because one input stream is finished",
            Self::CheckpointCoordinatorShutdown => "CheckpointCoordinator shutdown.",
            Self::CheckpointCoordinatorSuspend => "Checkpoint Coordinator is suspending.",
            Self::JobFailoverRegion => "FailoverRegion is restarting.",
            Self::TaskFailure => "Task has failed.",
            Self::TaskCheckpointFailure => "Task local checkpoint failure.",
            Self::UnknownTaskCheckpointNotificationFailure => "Unknown task for the checkpoint to notify.",
            Self::FinalizeCheckpointFailure => "Failure to finalize checkpoint.",
            Self::TriggerCheckpointFailure => "Trigger checkpoint failure.",
        }
    }

    /// True if the failure happens before the checkpoint is passed to the job's tasks
    /// (`CheckpointFailureReason#isPreFlight`). Pre-flight failures are always handled as
    /// JobManager-level failures.
    pub fn is_pre_flight(&self) -> bool {
        matches!(
            self,
            Self::PeriodicSchedulerShutdown
                | Self::TooManyCheckpointRequests
                | Self::MinimumTimeBetweenCheckpoints
                | Self::NotAllRequiredTasksRunning
                | Self::IoException
                | Self::BlockingOutputExist
        )
    }

    /// True for the five reasons that count against the tolerable-failure threshold (the
    /// counting branch of `CheckpointFailureManager#checkFailureCounter` in 1.20).
    pub fn is_counted_against_failure_threshold(&self) -> bool {
        matches!(
            self,
            Self::IoException
                | Self::CheckpointAsyncException
                | Self::CheckpointDeclined
                | Self::CheckpointExpired
                | Self::FinalizeCheckpointFailure
        )
    }

    /// Flink's constant name, e.g. `"CHECKPOINT_EXPIRED"` (Java's `name()`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::PeriodicSchedulerShutdown => "PERIODIC_SCHEDULER_SHUTDOWN",
            Self::TooManyCheckpointRequests => "TOO_MANY_CHECKPOINT_REQUESTS",
            Self::MinimumTimeBetweenCheckpoints => "MINIMUM_TIME_BETWEEN_CHECKPOINTS",
            Self::NotAllRequiredTasksRunning => "NOT_ALL_REQUIRED_TASKS_RUNNING",
            Self::IoException => "IO_EXCEPTION",
            Self::BlockingOutputExist => "BLOCKING_OUTPUT_EXIST",
            Self::CheckpointAsyncException => "CHECKPOINT_ASYNC_EXCEPTION",
            Self::ChannelStateSharedStreamException => "CHANNEL_STATE_SHARED_STREAM_EXCEPTION",
            Self::CheckpointExpired => "CHECKPOINT_EXPIRED",
            Self::CheckpointSubsumed => "CHECKPOINT_SUBSUMED",
            Self::CheckpointDeclined => "CHECKPOINT_DECLINED",
            Self::CheckpointDeclinedTaskNotReady => "CHECKPOINT_DECLINED_TASK_NOT_READY",
            Self::CheckpointDeclinedTaskClosing => "CHECKPOINT_DECLINED_TASK_CLOSING",
            Self::CheckpointDeclinedSubsumed => "CHECKPOINT_DECLINED_SUBSUMED",
            Self::CheckpointDeclinedOnCancellationBarrier => "CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER",
            Self::CheckpointDeclinedInputEndOfStream => "CHECKPOINT_DECLINED_INPUT_END_OF_STREAM",
            Self::CheckpointCoordinatorShutdown => "CHECKPOINT_COORDINATOR_SHUTDOWN",
            Self::CheckpointCoordinatorSuspend => "CHECKPOINT_COORDINATOR_SUSPEND",
            Self::JobFailoverRegion => "JOB_FAILOVER_REGION",
            Self::TaskFailure => "TASK_FAILURE",
            Self::TaskCheckpointFailure => "TASK_CHECKPOINT_FAILURE",
            Self::UnknownTaskCheckpointNotificationFailure => "UNKNOWN_TASK_CHECKPOINT_NOTIFICATION_FAILURE",
            Self::FinalizeCheckpointFailure => "FINALIZE_CHECKPOINT_FAILURE",
            Self::TriggerCheckpointFailure => "TRIGGER_CHECKPOINT_FAILURE",
        }
    }
}

impl fmt::Display for CheckpointFailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// The tolerable failure number was negative (Flink throws `IllegalArgumentException`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "The tolerable checkpoint failure number is illegal, it must be greater than or equal to 0 \
     (got {0})."
)]
pub struct InvalidTolerableFailureNumber(pub i32);

/// Why the failure manager asks for the job to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailJobCause {
    /// The consecutive-failure counter exceeded the tolerable number.
    TolerableFailureThresholdExceeded,
    /// A synchronous savepoint (stop-with-savepoint) failed in a task.
    SynchronousSavepointFailed,
}

/// A request to fail the whole job; goes through the restart strategy like any other failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FailJob {
    /// The reason of the checkpoint failure that triggered this.
    pub reason: CheckpointFailureReason,
    /// Why the job must fail.
    pub cause: FailJobCause,
    /// True for Flink's `failJobDueToTaskFailure` (threshold exceeded by a task-level failure:
    /// the scheduler fails the job through the failing task attempt so it fails only once);
    /// false for `failJob` (JobManager-level failure, or synchronous savepoint failure).
    pub due_to_task_failure: bool,
}

impl FailJob {
    /// The message of the exception Flink 1.20 fails the job with.
    ///
    /// For [`FailJobCause::TolerableFailureThresholdExceeded`] it starts with
    /// [`EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE`]; for a synchronous savepoint it is the
    /// checkpoint exception's own message (the reason's message).
    pub fn message(&self) -> String {
        let savepoint = self.cause == FailJobCause::SynchronousSavepointFailed;
        // A failed synchronous savepoint fails the job through `failJob`.
        assert!(!savepoint || !self.due_to_task_failure, "invariant: {self:?}");
        match self.cause {
            FailJobCause::TolerableFailureThresholdExceeded => format!(
                "{} The latest checkpoint failed due to {}, view the Checkpoint History tab or \
                 the Job Manager log to find out why continuous checkpoints failed.",
                EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE,
                self.reason.message()
            ),
            FailJobCause::SynchronousSavepointFailed => self.reason.message().to_owned(),
        }
    }
}

/// What failed: a checkpoint, or a savepoint (Flink's `isSavepoint` and,
/// for a savepoint that stops the job, `isSynchronous`). The engine takes
/// checkpoints only; savepoints are kept for the port's fidelity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotKind {
    Checkpoint,
    Savepoint,
    SynchronousSavepoint,
}

/// Who reported a checkpoint failure (Flink: whether an
/// `executionAttemptID` came with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportedBy {
    Task,
    JobManager,
}

/// Counts consecutive checkpoint failures and decides when the job must fail.
///
/// Checkpoint ids are `Option<u64>`: `None` is Flink's `UNKNOWN_CHECKPOINT_ID` (`-1`), used when
/// the failure happened before an id was allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointFailureManager {
    tolerable_cp_failure_number: i32,
    continuous_failure_counter: i32,
    counted_checkpoint_ids: BTreeSet<u64>,
    /// `None` is Flink's initial `Long.MIN_VALUE`: every id is newer.
    last_succeeded_checkpoint_id: Option<u64>,
}

impl CheckpointFailureManager {
    /// Creates a manager tolerating `tolerable_checkpoint_failure_number` consecutive failures
    /// ([`UNLIMITED_TOLERABLE_FAILURE_NUMBER`] = never count anything).
    ///
    /// # Panics
    ///
    /// If the number is negative, as Flink's constructor throws. Use [`Self::try_new`] to get an
    /// error instead.
    pub fn new(tolerable_checkpoint_failure_number: i32) -> Self {
        match Self::try_new(tolerable_checkpoint_failure_number) {
            Ok(manager) => manager,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Self::new`], but returns an error for a negative number.
    pub fn try_new(tolerable_checkpoint_failure_number: i32) -> Result<Self, InvalidTolerableFailureNumber> {
        if tolerable_checkpoint_failure_number < 0 {
            return Err(InvalidTolerableFailureNumber(tolerable_checkpoint_failure_number));
        }
        Ok(Self {
            tolerable_cp_failure_number: tolerable_checkpoint_failure_number,
            continuous_failure_counter: 0,
            counted_checkpoint_ids: BTreeSet::new(),
            last_succeeded_checkpoint_id: None,
        })
    }

    /// Flink's `handleCheckpointException` dispatch: a failure is handled at job level if its
    /// reason is pre-flight or no task reported it (`executionAttemptID == null`), at task level
    /// otherwise.
    pub fn handle_checkpoint_exception(
        &mut self,
        reason: CheckpointFailureReason,
        checkpoint_id: Option<u64>,
        kind: SnapshotKind,
        by: ReportedBy,
    ) -> Option<FailJob> {
        if reason.is_pre_flight() || by == ReportedBy::JobManager {
            self.handle_job_level_checkpoint_exception(reason, checkpoint_id, kind)
        } else {
            self.handle_task_level_checkpoint_exception(reason, checkpoint_id, kind)
        }
    }

    /// A checkpoint failed on the JobManager (trigger, expiry, finalisation, ...).
    ///
    /// Savepoint failures are ignored; checkpoint failures go against the counter. Returns
    /// `Some(FailJob)` (with `due_to_task_failure == false`) when the job must fail.
    pub fn handle_job_level_checkpoint_exception(
        &mut self,
        reason: CheckpointFailureReason,
        checkpoint_id: Option<u64>,
        kind: SnapshotKind,
    ) -> Option<FailJob> {
        if kind != SnapshotKind::Checkpoint {
            return None;
        }
        self.check_failure_against_counter(reason, checkpoint_id, ReportedBy::JobManager)
    }

    /// A checkpoint failed in a task (decline, async failure, ...).
    ///
    /// A synchronous savepoint always fails the job (whatever the reason); everything else,
    /// including non-synchronous savepoints, goes against the counter and, if the threshold is
    /// exceeded, fails the job "due to task failure". Flink always knows the id here (the
    /// pending checkpoint exists); `None` is treated as an unknown id.
    pub fn handle_task_level_checkpoint_exception(
        &mut self,
        reason: CheckpointFailureReason,
        checkpoint_id: Option<u64>,
        kind: SnapshotKind,
    ) -> Option<FailJob> {
        if kind == SnapshotKind::SynchronousSavepoint {
            return Some(FailJob {
                reason,
                cause: FailJobCause::SynchronousSavepointFailed,
                due_to_task_failure: false,
            });
        }
        self.check_failure_against_counter(reason, checkpoint_id, ReportedBy::Task)
    }

    /// A checkpoint completed: clears the counter if it is newer than the last success.
    pub fn handle_checkpoint_success(&mut self, checkpoint_id: u64) {
        if self.is_newer_than_last_success(checkpoint_id) {
            self.last_succeeded_checkpoint_id = Some(checkpoint_id);
            self.clear_count();
        }
        let last = self.last_succeeded_checkpoint_id;
        assert!(
            last >= Some(checkpoint_id),
            "invariant: last success {last:?} < {checkpoint_id}"
        );
    }

    /// The current number of consecutive counted failures.
    pub fn continuous_failure_count(&self) -> i32 {
        self.continuous_failure_counter
    }

    /// The configured tolerable number of consecutive failures.
    pub fn tolerable_checkpoint_failure_number(&self) -> i32 {
        self.tolerable_cp_failure_number
    }

    /// The id of the newest successful checkpoint seen, if any.
    pub fn last_succeeded_checkpoint_id(&self) -> Option<u64> {
        self.last_succeeded_checkpoint_id
    }

    /// Flink's public `checkFailureCounter`: counts the failure (without any threshold check or
    /// id-versus-last-success filter).
    pub fn check_failure_counter(&mut self, reason: CheckpointFailureReason, checkpoint_id: Option<u64>) {
        if self.tolerable_cp_failure_number == UNLIMITED_TOLERABLE_FAILURE_NUMBER {
            return;
        }
        if !reason.is_counted_against_failure_threshold() {
            return;
        }
        // One checkpoint is counted only once; unknown ids are never de-duplicated.
        let first_time = match checkpoint_id {
            None => true,
            Some(id) => self.counted_checkpoint_ids.insert(id),
        };
        if first_time {
            // Cannot overflow: the counter is cleared as soon as it exceeds the tolerable
            // number, which is below i32::MAX whenever anything is counted.
            let counter = self.continuous_failure_counter;
            assert!((0..i32::MAX).contains(&counter), "invariant: failure counter {counter}");
            self.continuous_failure_counter = self.continuous_failure_counter.saturating_add(1);
        }
        // Each counted checkpoint counts once; unknown ids count without one.
        let (ids, counter) = (self.counted_checkpoint_ids.len(), self.continuous_failure_counter);
        assert!(
            ids <= counter as usize,
            "invariant: {ids} checkpoints counted, counter {counter}"
        );
    }

    fn check_failure_against_counter(
        &mut self,
        reason: CheckpointFailureReason,
        checkpoint_id: Option<u64>,
        by: ReportedBy,
    ) -> Option<FailJob> {
        let tolerable = self.tolerable_cp_failure_number;
        assert!(tolerable >= 0, "invariant: tolerable failure number {tolerable}");
        let due_to_task_failure = by == ReportedBy::Task;
        let relevant = match checkpoint_id {
            None => true,
            Some(id) => self.is_newer_than_last_success(id),
        };
        if !relevant {
            return None;
        }
        self.check_failure_counter(reason, checkpoint_id);
        if self.continuous_failure_counter > self.tolerable_cp_failure_number {
            self.clear_count();
            return Some(FailJob {
                reason,
                cause: FailJobCause::TolerableFailureThresholdExceeded,
                due_to_task_failure,
            });
        }
        None
    }

    fn is_newer_than_last_success(&self, checkpoint_id: u64) -> bool {
        self.last_succeeded_checkpoint_id
            .is_none_or(|last| checkpoint_id > last)
    }

    fn clear_count(&mut self) {
        self.continuous_failure_counter = 0;
        self.counted_checkpoint_ids.clear();
    }
}

#[cfg(test)]
mod tests;
