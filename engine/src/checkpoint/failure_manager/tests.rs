//! Tests of the CheckpointFailureManager port, including every case of
//! Flink's `CheckpointFailureManagerTest`.

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
            .handle_job_level_checkpoint_exception(reason, id, SnapshotKind::Checkpoint);
        self.record(f);
    }

    fn task_level(&mut self, reason: R, id: Option<u64>, savepoint: bool, sync: bool) {
        let f = self
            .manager
            .handle_task_level_checkpoint_exception(reason, id, kind(savepoint, sync));
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
        let f = m.handle_job_level_checkpoint_exception(reason, Some(1), SnapshotKind::Checkpoint);
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
            .handle_job_level_checkpoint_exception(R::CheckpointExpired, Some(1), kind(true, sync));
        assert_eq!(f, None);
    }
    assert_eq!(h.manager.continuous_failure_count(), 0);
}

#[test]
fn synchronous_savepoint_failing_in_task_always_fails_job() {
    // Even with unlimited tolerance and an otherwise ignored reason.
    let mut m = CheckpointFailureManager::new(UNLIMITED_TOLERABLE_FAILURE_NUMBER);
    let f = m.handle_task_level_checkpoint_exception(R::TaskFailure, Some(3), SnapshotKind::SynchronousSavepoint);
    let expected = FailJob {
        reason: R::TaskFailure,
        cause: FailJobCause::SynchronousSavepointFailed,
        due_to_task_failure: false,
    };
    assert_eq!(f, Some(expected));
    assert_eq!(expected.message(), "Task has failed.");
    // Also for an id older than the last success.
    m.handle_checkpoint_success(10);
    let f =
        m.handle_task_level_checkpoint_exception(R::CheckpointDeclined, Some(3), SnapshotKind::SynchronousSavepoint);
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
        m.handle_checkpoint_exception(R::IoException, Some(1), kind(true, true), by(true)),
        None
    );
    // Not pre-flight, reported by a task: task level; a sync savepoint fails the job.
    let f = m.handle_checkpoint_exception(R::CheckpointDeclined, Some(1), kind(true, true), by(true));
    assert_eq!(f.map(|f| f.cause), Some(FailJobCause::SynchronousSavepointFailed));
    // No reporting task: job level; a savepoint is ignored.
    assert_eq!(
        m.handle_checkpoint_exception(R::CheckpointDeclined, Some(1), kind(true, true), by(false)),
        None
    );
    // Checkpoint failure reported by a task: counted, fails "due to task failure".
    let f = m.handle_checkpoint_exception(R::CheckpointDeclined, Some(2), kind(false, false), by(true));
    assert_eq!(f.map(|f| f.due_to_task_failure), Some(true));
    // Checkpoint failure on the JM: fails via failJob.
    let f = m.handle_checkpoint_exception(R::CheckpointExpired, Some(3), kind(false, false), by(false));
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

/// Flink's two flags as a [`SnapshotKind`].
fn kind(savepoint: bool, synchronous: bool) -> SnapshotKind {
    match (savepoint, synchronous) {
        (false, _) => SnapshotKind::Checkpoint,
        (true, false) => SnapshotKind::Savepoint,
        (true, true) => SnapshotKind::SynchronousSavepoint,
    }
}

/// Flink's "an execution attempt id came with it" as [`ReportedBy`].
fn by(task: bool) -> ReportedBy {
    if task {
        ReportedBy::Task
    } else {
        ReportedBy::JobManager
    }
}
