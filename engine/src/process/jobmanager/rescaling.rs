//! Reactive mode (`scheduler-mode: reactive`, as Flink's reactive mode with
//! the adaptive scheduler): keyed operators run at the parallelism the
//! available slots allow, up to the parallelism the job was submitted with.
//! When a TaskManager is lost and no spare slots exist the job continues at
//! lower parallelism; when capacity returns it scales back up.
//!
//! A rescale redeploys every task from the latest completed checkpoint (the
//! channels of every exchange change); each new keyed subtask reads all old
//! subtasks' state and keeps the keys the partitioner gives it, so state
//! follows its keys. Sources and sinks keep their parallelism. A rescale
//! that grows the job is not a failure: it neither consults the restart
//! strategy nor counts in `numRestarts`.

use super::*;
use crate::graph::JobVertexId;

impl JobMaster {
    fn is_keyed(&self, v: JobVertexId) -> bool {
        self.cfg.job.vertex(v).kind.is_keyed()
    }

    /// The parallelism of each vertex with `slots` slots, or `None` when the
    /// fixed-parallelism vertices (sources, sinks) do not fit.
    fn reactive_target(&self, slots: usize) -> Option<BTreeMap<JobVertexId, u32>> {
        let fixed = self
            .cfg
            .job
            .vertex_ids()
            .filter(|v| !self.is_keyed(*v))
            .map(|v| self.cfg.job.vertex(v).parallelism)
            .max()
            .unwrap_or(1);
        if (slots as u32) < fixed.max(1) {
            return None;
        }
        let target: BTreeMap<JobVertexId, u32> = self
            .cfg
            .job
            .vertex_ids()
            .map(|v| {
                let p = if self.is_keyed(v) {
                    self.desired_parallelism[&v].min(slots as u32)
                } else {
                    self.cfg.job.vertex(v).parallelism
                };
                (v, p)
            })
            .collect();
        let max = self.max_parallelism;
        let fits = |p: &u32| *p >= 1 && *p as i32 <= max && *p as usize <= slots;
        assert!(
            target.values().all(fits),
            "invariant: {target:?} beyond 1..={max}, {slots} slots"
        );
        Some(target)
    }

    /// Change the graph to `target`; when anything changed, every task is
    /// cancelled and the whole job is due for deployment now.
    async fn apply_parallelism(&mut self, target: BTreeMap<JobVertexId, u32>) {
        let changed: Vec<(JobVertexId, u32, u32)> = target
            .iter()
            .map(|(v, p)| (*v, self.cfg.job.vertex(*v).parallelism, *p))
            .filter(|(_, from, to)| from != to)
            .collect();
        if changed.is_empty() {
            return;
        }
        assert!(self.cfg.engine.reactive, "invariant: only reactive mode rescales");
        let keyed = changed.iter().all(|(v, _, _)| self.is_keyed(*v));
        assert!(keyed, "invariant: only keyed operators rescale: {changed:?}");
        let now = self.now_ms();
        let aborted = self
            .coordinator
            .as_mut()
            .map(|c| {
                c.stop_scheduler();
                c.abort_all_pending()
            })
            .unwrap_or_default();
        for id in aborted {
            self.awaiting_id.remove(&id);
            self.trace(TraceEvent::CheckpointAborted {
                id,
                reason: CheckpointFailureReason::CheckpointCoordinatorSuspend.name().to_string(),
            });
        }
        // Tasks a failure already cancelled are not cancelled again (sending
        // takes simulated time, and a due restart must not be delayed).
        let live: BTreeSet<ExecutionVertexId> = self
            .executions
            .iter()
            .filter(|(_, e)| matches!(e.state, ExecutionState::Deploying | ExecutionState::Running))
            .map(|(v, _)| *v)
            .collect();
        self.cancel(&live).await;
        self.executions.clear();
        for (v, from, to) in changed {
            self.trace(TraceEvent::Rescaled {
                vertex: self.cfg.job.vertex(v).name.clone(),
                id: v,
                from,
                to,
            });
            self.cfg.job.set_parallelism(v, to);
        }
        self.vertices = self.cfg.job.execution_vertices();
        let job = &self.cfg.job;
        let subtasks: u32 = job.vertex_ids().map(|v| job.vertex(v).parallelism).sum();
        assert_eq!(
            self.vertices.len(),
            subtasks as usize,
            "invariant: a subtask per parallelism"
        );
        self.failover = create_failover_strategy(&self.cfg.engine.failover_strategy, &self.cfg.job);
        let due = self.pending.iter().map(|(d, _)| *d).min().unwrap_or(now).min(now);
        self.pending = vec![(due, self.vertices.iter().copied().collect())];
    }

    /// Whether a deployment may go ahead with `slots` slots: all the job
    /// wants are there, or the count has been stable long enough (else the
    /// JobManager wakes when the timeout runs out).
    pub(super) fn reactive_slots_settled(&mut self, slots: usize, now: i64) -> bool {
        let wanted = self
            .cfg
            .job
            .vertex_ids()
            .map(|v| self.desired_parallelism[&v])
            .max()
            .unwrap_or(1) as usize;
        let until = self.slots_changed_ms + self.cfg.engine.resource_stabilization_timeout.as_millis() as i64;
        if slots >= wanted || now >= until {
            self.reactive_wait_until = None;
            return true;
        }
        self.reactive_wait_until = Some(until);
        false
    }

    /// Before a deployment: fit the keyed operators to the slots there are.
    pub(super) async fn fit_parallelism_to(&mut self, slots: usize) {
        if let Some(target) = self.reactive_target(slots) {
            self.apply_parallelism(target).await;
        }
    }

    /// A TaskManager registered while the job runs: scale up if the keyed
    /// operators are below their submitted parallelism and slots allow more.
    pub(super) async fn rescale_up_if_possible(&mut self) {
        if self.status != JobStatus::Running || !self.pending.is_empty() || self.finishing {
            return;
        }
        let Some(target) = self.reactive_target(self.slots().len()) else {
            return;
        };
        if target.iter().all(|(v, p)| self.cfg.job.vertex(*v).parallelism >= *p) {
            return;
        }
        self.set_status(JobStatus::Restarting);
        self.apply_parallelism(target).await;
        assert_eq!(self.pending.len(), 1, "invariant: a scale-up redeploys the job");
    }
}
