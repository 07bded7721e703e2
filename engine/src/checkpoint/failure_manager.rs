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
        is_savepoint: bool,
        is_synchronous_savepoint: bool,
        reported_by_task: bool,
    ) -> Option<FailJob> {
        if reason.is_pre_flight() || !reported_by_task {
            self.handle_job_level_checkpoint_exception(reason, checkpoint_id, is_savepoint, is_synchronous_savepoint)
        } else {
            self.handle_task_level_checkpoint_exception(reason, checkpoint_id, is_savepoint, is_synchronous_savepoint)
        }
    }

    /// A checkpoint failed on the JobManager (trigger, expiry, finalisation, ...).
    ///
    /// Savepoint failures are ignored; checkpoint failures go against the counter. Returns
    /// `Some(FailJob)` (with `due_to_task_failure == false`) when the job must fail.
    /// `is_synchronous_savepoint` is accepted for symmetry and does not matter here.
    pub fn handle_job_level_checkpoint_exception(
        &mut self,
        reason: CheckpointFailureReason,
        checkpoint_id: Option<u64>,
        is_savepoint: bool,
        is_synchronous_savepoint: bool,
    ) -> Option<FailJob> {
        let _ = is_synchronous_savepoint;
        if is_savepoint {
            return None;
        }
        self.check_failure_against_counter(reason, checkpoint_id, false)
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
        is_savepoint: bool,
        is_synchronous_savepoint: bool,
    ) -> Option<FailJob> {
        if is_savepoint && is_synchronous_savepoint {
            return Some(FailJob {
                reason,
                cause: FailJobCause::SynchronousSavepointFailed,
                due_to_task_failure: false,
            });
        }
        self.check_failure_against_counter(reason, checkpoint_id, true)
    }

    /// A checkpoint completed: clears the counter if it is newer than the last success.
    pub fn handle_checkpoint_success(&mut self, checkpoint_id: u64) {
        if self.is_newer_than_last_success(checkpoint_id) {
            self.last_succeeded_checkpoint_id = Some(checkpoint_id);
            self.clear_count();
        }
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
            self.continuous_failure_counter = self.continuous_failure_counter.saturating_add(1);
        }
    }

    fn check_failure_against_counter(
        &mut self,
        reason: CheckpointFailureReason,
        checkpoint_id: Option<u64>,
        due_to_task_failure: bool,
    ) -> Option<FailJob> {
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
mod tests {
    use super::CheckpointFailureReason as R;
    use super::*;

    /// Counts fail-job requests like Flink's `TestFailJobCallback`.
    struct Harness {
        manager: CheckpointFailureManager,
        invoke_counter: usize,
        fails: Vec<FailJob>,
    }

    impl Harness {
        fn new(tolerable: i32) -> Self {
            Self {
                manager: CheckpointFailureManager::new(tolerable),
                invoke_counter: 0,
                fails: Vec::new(),
            }
        }

        fn record(&mut self, f: Option<FailJob>) {
            if let Some(f) = f {
                self.invoke_counter += 1;
                self.fails.push(f);
            }
        }

        /// `handleJobLevelCheckpointException(forCheckpoint(NEVER_RETAIN_AFTER_TERMINATION), ..)`.
        fn job_level(&mut self, reason: R, id: Option<u64>) {
            let f = self
                .manager
                .handle_job_level_checkpoint_exception(reason, id, false, false);
            self.record(f);
        }

        fn task_level(&mut self, reason: R, id: Option<u64>, savepoint: bool, sync: bool) {
            let f = self
                .manager
                .handle_task_level_checkpoint_exception(reason, id, savepoint, sync);
            self.record(f);
        }
    }

    // ---- Ports of CheckpointFailureManagerTest (Flink 1.20) -----------------------------

    #[test]
    fn test_ignores_past_checkpoints() {
        let mut h = Harness::new(2);
        h.job_level(R::CheckpointExpired, Some(1));
        h.job_level(R::CheckpointExpired, Some(2));
        h.manager.handle_checkpoint_success(2);
        h.job_level(R::CheckpointExpired, Some(1));
        h.job_level(R::CheckpointExpired, Some(3));
        h.job_level(R::CheckpointExpired, Some(4));
        assert_eq!(h.invoke_counter, 0);
    }

    #[test]
    fn test_continuous_failure() {
        let mut h = Harness::new(2);
        h.job_level(R::CheckpointDeclined, Some(1));
        h.job_level(R::CheckpointDeclined, Some(2));
        // ignore this
        h.job_level(R::JobFailoverRegion, Some(3));
        h.job_level(R::CheckpointDeclined, Some(4));
        assert_eq!(h.invoke_counter, 1);
    }

    #[test]
    fn test_break_continuous_failure() {
        let mut h = Harness::new(2);
        h.job_level(R::IoException, Some(1));
        h.job_level(R::CheckpointDeclined, Some(2));
        // ignore this
        h.job_level(R::JobFailoverRegion, Some(3));
        // reset
        h.manager.handle_checkpoint_success(4);
        h.job_level(R::CheckpointExpired, Some(5));
        assert_eq!(h.invoke_counter, 0);
    }

    /// Flink passes id `-2` (a known id that is never de-duplicated in practice because the
    /// set is cleared at every failure). Both an unknown id and a fixed known id give 5:
    /// IO_EXCEPTION, CHECKPOINT_DECLINED, FINALIZE_CHECKPOINT_FAILURE, CHECKPOINT_EXPIRED and
    /// CHECKPOINT_ASYNC_EXCEPTION.
    #[test]
    fn test_total_count_value() {
        for id in [None, Some(2)] {
            let mut h = Harness::new(0);
            for reason in R::ALL {
                h.job_level(reason, id);
            }
            assert_eq!(h.invoke_counter, 5, "id {id:?}");
            let reasons: Vec<R> = h.fails.iter().map(|f| f.reason).collect();
            assert_eq!(
                reasons,
                vec![
                    R::IoException,
                    R::CheckpointAsyncException,
                    R::CheckpointExpired,
                    R::CheckpointDeclined,
                    R::FinalizeCheckpointFailure,
                ]
            );
        }
    }

    #[test]
    fn test_ignore_one_checkpoint_repeatedly_count_multi_times() {
        let mut h = Harness::new(2);
        h.job_level(R::CheckpointDeclined, Some(1));
        h.job_level(R::CheckpointDeclined, Some(2));
        // ignore this
        h.job_level(R::JobFailoverRegion, Some(3));
        // ignore repeatedly report from one checkpoint
        h.job_level(R::CheckpointDeclined, Some(2));
        assert_eq!(h.invoke_counter, 0);
    }

    // ---- Further cases from the doc (§3.4) and Flink's Javadoc -----------------------------

    #[test]
    fn exactly_five_reasons_are_counted() {
        let counted: Vec<R> = R::ALL
            .into_iter()
            .filter(R::is_counted_against_failure_threshold)
            .collect();
        assert_eq!(
            counted,
            vec![
                R::IoException,
                R::CheckpointAsyncException,
                R::CheckpointExpired,
                R::CheckpointDeclined,
                R::FinalizeCheckpointFailure,
            ]
        );
        for reason in R::ALL {
            let mut m = CheckpointFailureManager::new(0);
            let f = m.handle_job_level_checkpoint_exception(reason, Some(1), false, false);
            assert_eq!(f.is_some(), reason.is_counted_against_failure_threshold());
        }
    }

    #[test]
    fn pre_flight_flags() {
        let pre: Vec<R> = R::ALL.into_iter().filter(R::is_pre_flight).collect();
        assert_eq!(
            pre,
            vec![
                R::PeriodicSchedulerShutdown,
                R::TooManyCheckpointRequests,
                R::MinimumTimeBetweenCheckpoints,
                R::NotAllRequiredTasksRunning,
                R::IoException,
                R::BlockingOutputExist,
            ]
        );
    }

    #[test]
    fn all_is_in_declaration_order_and_complete() {
        let mut sorted = R::ALL;
        sorted.sort();
        assert_eq!(sorted, R::ALL);
        let names: BTreeSet<&str> = R::ALL.iter().map(R::name).collect();
        assert_eq!(names.len(), R::ALL.len());
        let messages: BTreeSet<&str> = R::ALL.iter().map(R::message).collect();
        assert_eq!(messages.len(), R::ALL.len());
        assert_eq!(
            R::CheckpointExpired.to_string(),
            "Checkpoint expired before completing."
        );
    }

    #[test]
    fn default_tolerance_zero_fails_on_first_counted_failure() {
        let mut h = Harness::new(0);
        h.job_level(R::CheckpointSubsumed, Some(1));
        assert_eq!(h.invoke_counter, 0);
        h.job_level(R::CheckpointExpired, Some(2));
        assert_eq!(h.invoke_counter, 1);
        assert_eq!(h.manager.continuous_failure_count(), 0, "cleared on failing");
    }

    #[test]
    fn threshold_is_strictly_greater_and_clears() {
        let mut h = Harness::new(2);
        h.job_level(R::CheckpointExpired, Some(1));
        h.job_level(R::CheckpointExpired, Some(2));
        assert_eq!(h.manager.continuous_failure_count(), 2);
        assert_eq!(h.invoke_counter, 0);
        h.job_level(R::CheckpointExpired, Some(3));
        assert_eq!(h.invoke_counter, 1);
        assert_eq!(h.manager.continuous_failure_count(), 0);
        // After clearing, id 3 may be counted again (the id set was cleared too).
        h.job_level(R::CheckpointExpired, Some(3));
        assert_eq!(h.manager.continuous_failure_count(), 1);
    }

    #[test]
    fn unknown_ids_are_never_deduplicated() {
        let mut h = Harness::new(2);
        h.job_level(R::IoException, None);
        h.job_level(R::IoException, None);
        assert_eq!(h.manager.continuous_failure_count(), 2);
        h.job_level(R::IoException, None);
        assert_eq!(h.invoke_counter, 1);
    }

    #[test]
    fn unknown_ids_count_even_after_a_success() {
        let mut h = Harness::new(1);
        h.manager.handle_checkpoint_success(10);
        h.job_level(R::IoException, None);
        h.job_level(R::IoException, None);
        assert_eq!(h.invoke_counter, 1);
    }

    #[test]
    fn success_clears_only_if_newer() {
        let mut h = Harness::new(5);
        h.manager.handle_checkpoint_success(5);
        h.job_level(R::CheckpointExpired, Some(6));
        h.job_level(R::CheckpointExpired, Some(7));
        assert_eq!(h.manager.continuous_failure_count(), 2);
        h.manager.handle_checkpoint_success(4); // older: ignored
        h.manager.handle_checkpoint_success(5); // equal: ignored
        assert_eq!(h.manager.continuous_failure_count(), 2);
        assert_eq!(h.manager.last_succeeded_checkpoint_id(), Some(5));
        h.manager.handle_checkpoint_success(6); // newer: clears
        assert_eq!(h.manager.continuous_failure_count(), 0);
        assert_eq!(h.manager.last_succeeded_checkpoint_id(), Some(6));
        // Failures of ids <= 6 are now ignored.
        h.job_level(R::CheckpointExpired, Some(6));
        assert_eq!(h.manager.continuous_failure_count(), 0);
    }

    #[test]
    fn checkpoint_id_zero_counts_before_any_success() {
        let mut h = Harness::new(0);
        h.job_level(R::CheckpointExpired, Some(0));
        assert_eq!(h.invoke_counter, 1);
    }

    #[test]
    fn unlimited_never_counts() {
        let mut h = Harness::new(UNLIMITED_TOLERABLE_FAILURE_NUMBER);
        for id in 0..1000 {
            h.job_level(R::CheckpointDeclined, Some(id));
            h.task_level(R::CheckpointAsyncException, None, false, false);
        }
        assert_eq!(h.invoke_counter, 0);
        assert_eq!(h.manager.continuous_failure_count(), 0);
    }

    #[test]
    fn savepoint_failure_on_job_manager_is_ignored() {
        let mut h = Harness::new(0);
        for sync in [false, true] {
            let f = h
                .manager
                .handle_job_level_checkpoint_exception(R::CheckpointExpired, Some(1), true, sync);
            assert_eq!(f, None);
        }
        assert_eq!(h.manager.continuous_failure_count(), 0);
    }

    #[test]
    fn synchronous_savepoint_failing_in_task_always_fails_job() {
        // Even with unlimited tolerance and an otherwise ignored reason.
        let mut m = CheckpointFailureManager::new(UNLIMITED_TOLERABLE_FAILURE_NUMBER);
        let f = m.handle_task_level_checkpoint_exception(R::TaskFailure, Some(3), true, true);
        let expected = FailJob {
            reason: R::TaskFailure,
            cause: FailJobCause::SynchronousSavepointFailed,
            due_to_task_failure: false,
        };
        assert_eq!(f, Some(expected));
        assert_eq!(expected.message(), "Task has failed.");
        // Also for an id older than the last success.
        m.handle_checkpoint_success(10);
        let f = m.handle_task_level_checkpoint_exception(R::CheckpointDeclined, Some(3), true, true);
        assert!(f.is_some());
    }

    #[test]
    fn non_synchronous_savepoint_failing_in_task_is_counted() {
        let mut h = Harness::new(0);
        h.task_level(R::CheckpointDeclined, Some(1), true, false);
        assert_eq!(h.invoke_counter, 1);
        assert_eq!(
            h.fails[0],
            FailJob {
                reason: R::CheckpointDeclined,
                cause: FailJobCause::TolerableFailureThresholdExceeded,
                due_to_task_failure: true,
            }
        );
    }

    #[test]
    fn job_and_task_level_share_the_counter_and_id_set() {
        let mut h = Harness::new(1);
        h.task_level(R::CheckpointDeclined, Some(1), false, false);
        h.job_level(R::CheckpointExpired, Some(1)); // same id: not counted again
        assert_eq!(h.manager.continuous_failure_count(), 1);
        h.job_level(R::CheckpointExpired, Some(2));
        assert_eq!(h.invoke_counter, 1);
        assert!(!h.fails[0].due_to_task_failure);
    }

    #[test]
    fn dispatch_by_pre_flight_and_reporter() {
        let mut m = CheckpointFailureManager::new(0);
        // Pre-flight reason reported "by a task" is still job level: a savepoint is ignored.
        assert_eq!(
            m.handle_checkpoint_exception(R::IoException, Some(1), true, true, true),
            None
        );
        // Not pre-flight, reported by a task: task level; a sync savepoint fails the job.
        let f = m.handle_checkpoint_exception(R::CheckpointDeclined, Some(1), true, true, true);
        assert_eq!(f.map(|f| f.cause), Some(FailJobCause::SynchronousSavepointFailed));
        // No reporting task: job level; a savepoint is ignored.
        assert_eq!(
            m.handle_checkpoint_exception(R::CheckpointDeclined, Some(1), true, true, false),
            None
        );
        // Checkpoint failure reported by a task: counted, fails "due to task failure".
        let f = m.handle_checkpoint_exception(R::CheckpointDeclined, Some(2), false, false, true);
        assert_eq!(f.map(|f| f.due_to_task_failure), Some(true));
        // Checkpoint failure on the JM: fails via failJob.
        let f = m.handle_checkpoint_exception(R::CheckpointExpired, Some(3), false, false, false);
        assert_eq!(f.map(|f| f.due_to_task_failure), Some(false));
    }

    #[test]
    fn threshold_message() {
        let f = FailJob {
            reason: R::CheckpointExpired,
            cause: FailJobCause::TolerableFailureThresholdExceeded,
            due_to_task_failure: false,
        };
        let msg = f.message();
        assert!(msg.starts_with(EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE));
        assert!(msg.contains("Checkpoint expired before completing."));
    }

    #[test]
    fn negative_tolerance_is_rejected() {
        assert_eq!(
            CheckpointFailureManager::try_new(-1),
            Err(InvalidTolerableFailureNumber(-1))
        );
        assert!(CheckpointFailureManager::try_new(0).is_ok());
        assert!(std::panic::catch_unwind(|| CheckpointFailureManager::new(-5)).is_err());
    }
}
