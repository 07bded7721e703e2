//! Cancelling executions as Flink does (`Execution.cancel`,
//! `sendCancelRpcCall`, `completeCancelling`): a live attempt becomes
//! CANCELING and the JobManager sends a cancel call to its TaskManager; the
//! attempt is CANCELED only once the TaskManager reports the task stopped,
//! the task fails or finishes meanwhile, the TaskManager is declared lost,
//! or the third call goes unanswered for `pekko.ask.timeout` (each call
//! not accepted in time is sent again). A restart deploys a batch only once
//! the cancellation of all its subtasks has finished, and a user cancel
//! ends CANCELED only then (`DefaultScheduler.restartTasksWithDelay`).

use super::*;
use crate::trace::CancellationEnd;

/// Cancel calls per attempt before the JobManager gives up on the
/// TaskManager accepting one (Flink's `NUM_CANCEL_CALL_TRIES`).
pub(super) const CANCEL_CALL_TRIES: u32 = 3;

/// A cancel call waiting for the TaskManager's answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct CancelCall {
    id: ExecutionAttemptId,
    tm: TmId,
    /// Calls sent so far (1..=CANCEL_CALL_TRIES).
    tries: u32,
    /// When the latest call times out.
    deadline_ms: i64,
}

impl JobMaster {
    /// Cancel the executions of `set`: live ones become CANCELING and get a
    /// cancel call; the others (failed, finished) have stopped and are
    /// CANCELED at once (so a failure of one not yet handled, such as the
    /// next task of a lost TaskManager, is not handled again), and are
    /// still told to stop, which releases a finished task parked on its
    /// TaskManager. One already CANCELING keeps its call.
    pub(super) async fn cancel(&mut self, set: &BTreeSet<ExecutionVertexId>) {
        let known = set.iter().all(|v| self.vertices.contains(v));
        assert!(known, "invariant: cancelling subtasks not of the job: {set:?}");
        let targets: Vec<(TmId, ExecutionAttemptId, ExecutionState)> = set
            .iter()
            .filter_map(|v| self.executions.get(v).map(|e| (e.tm, self.attempt_id(*v, e), e.state)))
            .collect();
        let now = self.now_ms();
        for (tm, id, state) in targets {
            if matches!(state, ExecutionState::Deploying | ExecutionState::Running) {
                if let Some(e) = self.executions.get_mut(&id.vertex) {
                    e.state = ExecutionState::Canceling;
                }
                let call = CancelCall {
                    id,
                    tm,
                    tries: 1,
                    deadline_ms: now + self.ask_timeout_ms(),
                };
                let previous = self.cancel_calls.insert(id.vertex, call);
                assert!(previous.is_none(), "invariant: one cancel call at a time for {id}");
                self.trace_cancel_call(&call);
            } else if state != ExecutionState::Canceling {
                if let Some(e) = self.executions.get_mut(&id.vertex) {
                    e.state = ExecutionState::Canceled;
                }
            }
            self.send_to_tm(tm, JmToTm::CancelTask { id }).await;
        }
    }

    fn ask_timeout_ms(&self) -> i64 {
        let ms = self.cfg.engine.ask_timeout.as_millis() as i64;
        assert!(ms > 0, "invariant: pekko.ask.timeout {ms} ms is positive");
        ms
    }

    fn trace_cancel_call(&self, call: &CancelCall) {
        self.trace(TraceEvent::TaskCanceling {
            task: call.id.vertex,
            attempt: call.id.attempt,
            try_number: call.tries,
        });
    }

    /// Whether the cancellation of any subtask of `batch` is still running,
    /// which holds its restart back. A batch of the whole job (a global
    /// restart, a rescale) waits for every cancellation, also of subtasks a
    /// rescale removed.
    pub(super) fn is_cancelling(&self, batch: &BTreeSet<ExecutionVertexId>) -> bool {
        if self.cfg.sabotage == Sabotage::RestartBeforeCancellation {
            return false;
        }
        if batch.len() == self.vertices.len() {
            return !self.cancel_calls.is_empty();
        }
        batch.iter().any(|v| self.cancel_calls.contains_key(v))
    }

    /// A batch is deployed: no cancellation of its subtasks runs (only the
    /// test-only broken variant deploys over one, which then goes
    /// unanswered).
    pub(super) fn forget_cancel_calls(&mut self, batch: &[ExecutionVertexId]) {
        for v in batch {
            if self.cancel_calls.remove(v).is_some() {
                let sabotage = self.cfg.sabotage;
                assert_eq!(
                    sabotage,
                    Sabotage::RestartBeforeCancellation,
                    "invariant: {v} deployed while its cancellation runs"
                );
            }
        }
    }

    /// The earliest time a cancel call times out.
    pub(super) fn next_cancel_deadline_ms(&self) -> Option<i64> {
        self.cancel_calls.values().map(|c| c.deadline_ms).min()
    }

    /// The attempt `id` is CANCELED (if it was cancelling): its cancellation
    /// finished `how`. Returns whether it was.
    pub(super) fn cancellation_finished(&mut self, id: ExecutionAttemptId, how: CancellationEnd) -> bool {
        if self.cancel_calls.get(&id.vertex).is_none_or(|c| c.id != id) {
            return false;
        }
        self.cancel_calls.remove(&id.vertex);
        // A rescale drops the executions it cancelled; otherwise the
        // attempt is the current one, CANCELING.
        if let Some(e) = self.executions.get_mut(&id.vertex).filter(|e| e.attempt == id.attempt) {
            assert_eq!(e.state, ExecutionState::Canceling, "invariant: {id} cancelling");
            e.state = ExecutionState::Canceled;
        }
        self.trace(TraceEvent::TaskCanceled {
            task: id.vertex,
            attempt: id.attempt,
            how,
        });
        true
    }

    /// A cancellation finished: a due restart may go now, and a user
    /// cancel may end.
    pub(super) async fn after_cancellation(&mut self) {
        if self.status == JobStatus::Canceling {
            self.complete_cancel_job_if_done();
        } else {
            self.try_deploy().await;
        }
    }

    /// Every cancel call that timed out is sent again, or, after the last
    /// try, the attempt is failed, which completes its cancellation.
    pub(super) async fn on_cancel_timeouts(&mut self, now: i64) {
        let expired: Vec<CancelCall> = self
            .cancel_calls
            .values()
            .filter(|c| now >= c.deadline_ms)
            .copied()
            .collect();
        let mut finished = false;
        for mut call in expired {
            if call.tries < CANCEL_CALL_TRIES {
                call.tries += 1;
                call.deadline_ms = now + self.ask_timeout_ms();
                self.cancel_calls.insert(call.id.vertex, call);
                self.trace_cancel_call(&call);
                self.send_to_tm(call.tm, JmToTm::CancelTask { id: call.id }).await;
            } else {
                let done = self.cancellation_finished(call.id, CancellationEnd::CancelCallsTimedOut);
                assert!(done, "invariant: a timed-out call's attempt was cancelling");
                finished = true;
            }
        }
        if finished {
            self.after_cancellation().await;
        }
    }

    /// A user cancel ends CANCELED once no cancellation is running.
    pub(super) fn complete_cancel_job_if_done(&mut self) {
        assert_eq!(self.status, JobStatus::Canceling, "invariant: a user cancel is running");
        if self.cancel_calls.is_empty() {
            let live = self.executions.values().any(|e| {
                matches!(
                    e.state,
                    ExecutionState::Deploying | ExecutionState::Running | ExecutionState::Canceling
                )
            });
            assert!(!live, "invariant: no attempt runs once every cancellation finished");
            self.set_status(JobStatus::Canceled);
            self.store_job_result(JobStatus::Canceled);
        }
    }
}
