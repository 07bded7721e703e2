//! Failure handling: lost TaskManagers, task and global failures through the
//! restart strategy (Flink's `ExecutionFailureHandler`) and the failover
//! strategy, cancelling what must restart.

use super::*;
use crate::trace::CancellationEnd;

impl JobMaster {
    pub(super) async fn task_manager_lost(&mut self, tm: TmId, reason: &str) {
        if self.tms.remove(&tm).is_none() {
            return;
        }
        self.slots_changed_ms = self.now_ms();
        self.trace(TraceEvent::TaskManagerLost {
            tm,
            reason: reason.to_string(),
        });
        // Every live execution on it failed. Each is handled as a task
        // failure, as in Flink, unless a failover for an earlier one already
        // cancelled it (same region).
        let victims: Vec<ExecutionAttemptId> = self
            .executions
            .iter()
            .filter(|(_, e)| e.tm == tm && matches!(e.state, ExecutionState::Deploying | ExecutionState::Running))
            .map(|(v, e)| self.attempt_id(*v, e))
            .collect();
        for id in &victims {
            if let Some(e) = self.executions.get_mut(&id.vertex) {
                e.state = ExecutionState::Failed;
            }
        }
        // Cancellations of attempts on it end: its slots are released.
        let cancelling: Vec<ExecutionAttemptId> = self
            .executions
            .iter()
            .filter(|(_, e)| e.tm == tm && e.state == ExecutionState::Canceling)
            .map(|(v, e)| self.attempt_id(*v, e))
            .collect();
        for id in &cancelling {
            let done = self.cancellation_finished(*id, CancellationEnd::TaskManagerLost);
            assert!(done, "invariant: {id} was cancelling");
        }
        for id in victims {
            if self
                .executions
                .get(&id.vertex)
                .is_some_and(|e| e.state == ExecutionState::Failed)
            {
                self.handle_task_failure(id, format!("TaskManager {tm} lost: {reason}"))
                    .await;
            }
        }
        if !cancelling.is_empty() {
            self.after_cancellation().await;
        }
        let live = |e: &Execution| matches!(e.state, ExecutionState::Deploying | ExecutionState::Running);
        let left = self.executions.values().any(|e| e.tm == tm && live(e));
        assert!(!left, "invariant: a subtask runs on lost TaskManager {tm}");
    }

    /// A live task failed. Handled in any non-terminal status: while one
    /// region restarts, another can fail too.
    pub(super) async fn handle_task_failure(&mut self, id: ExecutionAttemptId, reason: String) {
        // While a user cancel runs, a failure changes nothing: the job
        // ends CANCELED.
        if self.status.is_terminal() || matches!(self.status, JobStatus::Created | JobStatus::Canceling) {
            return;
        }
        assert_eq!(id.epoch, self.epoch, "invariant: failed {id} of another leadership");
        self.trace(TraceEvent::TaskFailed {
            task: id.vertex,
            attempt: id.attempt,
            reason: reason.clone(),
        });
        let to_restart = self.failover.tasks_needing_restart(id.vertex);
        assert!(to_restart.contains(&id.vertex), "invariant: failed {id} not restarted");
        self.handle_failure(to_restart).await;
    }

    pub(super) async fn handle_global_failure(&mut self, reason: String) {
        if self.status != JobStatus::Running {
            return;
        }
        self.trace(TraceEvent::GlobalFailure { reason });
        let all = self.vertices.iter().copied().collect();
        self.handle_failure(all).await;
    }

    /// Flink's `ExecutionFailureHandler` + `DefaultScheduler.restartTasksWithDelay`.
    pub(super) async fn handle_failure(&mut self, to_restart: BTreeSet<ExecutionVertexId>) {
        let known = !to_restart.is_empty() && to_restart.iter().all(|v| self.vertices.contains(v));
        assert!(known, "invariant: restarts subtasks not of the job: {to_restart:?}");
        let now = self.now_ms();
        // A failure while finishing: the restored tasks finish again after
        // the next checkpoint that covers all input.
        self.finishing = false;
        let is_new_attempt = self.restart_strategy.notify_failure(now, &mut self.restart_rng);
        self.abort_checkpoints_for_failover();
        let can_restart = self.restart_strategy.can_restart(now) || self.cfg.sabotage == Sabotage::RestartNeverGivesUp;
        if can_restart {
            if is_new_attempt {
                self.num_restarts += 1;
            }
            let mut delay = self.restart_strategy.backoff_time_ms(now).unwrap_or(0).max(0);
            if self.cfg.sabotage == Sabotage::RestartIgnoresBackoff {
                delay = 0;
            }
            self.set_status(JobStatus::Restarting);
            self.cancel(&to_restart).await;
            self.enqueue_restart(now + delay, to_restart);
            self.trace(TraceEvent::RestartScheduled {
                delay_ms: delay,
                num_restarts: self.num_restarts,
            });
            if delay == 0 {
                // No backoff: redeploy now, not at the next timer tick.
                self.try_deploy().await;
            }
        } else {
            self.set_status(JobStatus::Failing);
            let all: BTreeSet<_> = self.vertices.iter().copied().collect();
            self.cancel(&all).await;
            self.pending.clear();
            self.set_status(JobStatus::Failed);
            self.store_job_result(JobStatus::Failed);
            self.trace(TraceEvent::JobFailed {
                reason: format!("Recovery is suppressed by {}", self.restart_strategy.describe()),
            });
        }
    }

    /// A failover aborts the pending checkpoints (but one being finalised)
    /// and stops the periodic trigger until the job runs again.
    fn abort_checkpoints_for_failover(&mut self) {
        let sabotaged = self.cfg.sabotage == Sabotage::FailoverAbortsFinalizingCheckpoint;
        let aborted = self
            .coordinator
            .as_mut()
            .map(|c| {
                let mut ids = c.abort_all_pending();
                if let Some(id) = c.finalizing().filter(|_| sabotaged) {
                    c.abort(id);
                    ids.push(id);
                }
                ids
            })
            .unwrap_or_default();
        for id in aborted {
            self.trace(TraceEvent::CheckpointAborted {
                id,
                reason: CheckpointFailureReason::JobFailoverRegion.name().to_string(),
            });
        }
        if let Some(c) = self.coordinator.as_mut() {
            c.stop_scheduler();
        }
    }

    /// Queue `batch` for deployment at `due`. Its subtasks leave any earlier
    /// batch: they restart again, with this one.
    fn enqueue_restart(&mut self, due: i64, batch: BTreeSet<ExecutionVertexId>) {
        for (_, earlier) in &mut self.pending {
            earlier.retain(|v| !batch.contains(v));
        }
        self.pending.retain(|(_, b)| !b.is_empty());
        self.pending.push((due, batch));
        self.pending.sort_by_key(|(due, _)| *due);
        assert!(scheduling::disjoint(&self.pending), "invariant: batches overlap");
    }
}
