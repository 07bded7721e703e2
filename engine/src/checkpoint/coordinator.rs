//! The CheckpointCoordinator's rules, as a pure state machine.
//!
//! The JobManager calls in with the current time and carries out what comes
//! back. Rules follow Flink's `CheckpointCoordinator` and `CheckpointRequestDecider`
//! (see shared/flink-semantics.md §3.2–3.3):
//! - periodic triggering at a **fixed rate** after a seeded initial delay;
//! - a periodic request waits in the queue while `max-concurrent-checkpoints`
//!   are pending, and runs when one completes or aborts;
//! - a request that comes before `min-pause` has passed since the last
//!   completion fails with MINIMUM_TIME_BETWEEN_CHECKPOINTS and the trigger is
//!   rescheduled for exactly the remaining time;
//! - if a required task is not running the request fails with
//!   NOT_ALL_REQUIRED_TASKS_RUNNING before an id is allocated;
//! - ids come from a counter starting at 1 and are never reused;
//! - a pending checkpoint expires `timeout` after its trigger;
//! - completing N subsumes every pending checkpoint below N; the store keeps
//!   `num-retained` completed checkpoints, the new one added before old ones go.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::failure_manager::CheckpointFailureReason;
use super::{CheckpointId, CompletedCheckpoint, ReplaySlice, StateHandle, INITIAL_CHECKPOINT_ID};
use crate::graph::ExecutionVertexId;

/// Coordinator settings in milliseconds (from `execution.checkpointing.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub min_pause_ms: i64,
    pub max_concurrent: usize,
    pub num_retained: usize,
}

impl CoordinatorConfig {
    /// Flink's `baseInterval = max(interval, minPause)`.
    pub fn base_interval_ms(&self) -> i64 {
        self.interval_ms.max(self.min_pause_ms)
    }
}

/// A checkpoint that was triggered and is collecting acknowledgements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCheckpoint {
    pub id: CheckpointId,
    pub trigger_ms: i64,
    pub not_yet_acknowledged: BTreeSet<ExecutionVertexId>,
    pub acknowledged: BTreeMap<ExecutionVertexId, StateHandle>,
    /// Every task acknowledged and the JobManager is persisting the
    /// checkpoint (metadata, then its pointer in the completed checkpoint
    /// store). Past this point a failover, a shutdown or the timeout no
    /// longer aborts it: the pointer write may take effect, and a restore
    /// chosen meanwhile would disagree with the store (Flink finalises
    /// under the coordinator lock, which failover and expiry also take).
    /// Only the outcome of the finalisation completes or aborts it.
    pub finalizing: bool,
    /// A recovery line's in-flight records (uncoordinated checkpoints).
    pub replay: BTreeMap<ExecutionVertexId, Vec<ReplaySlice>>,
}

/// The outcome of asking the coordinator whether to trigger now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerPoll {
    /// Nothing to do.
    Idle,
    /// Start checkpoint `id`: send the trigger to the sources.
    Trigger { id: CheckpointId, timestamp_ms: i64 },
    /// A request failed before it got an id.
    Failed(CheckpointFailureReason),
}

/// Flink's `PendingCheckpoint.acknowledgeTask` results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    Success,
    /// Every task acknowledged: finalise (persist metadata) and then call
    /// [`CheckpointCoordinator::complete`].
    AllAcknowledged,
    Duplicate,
    /// Unknown, already aborted or already completed.
    Unknown,
}

/// What completing a checkpoint did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub checkpoint: CompletedCheckpoint,
    /// Pending checkpoints below it, aborted as CHECKPOINT_SUBSUMED.
    pub subsumed_pending: Vec<CheckpointId>,
    /// Completed checkpoints dropped from the store beyond `num-retained`.
    pub discarded: Vec<CheckpointId>,
}

#[derive(Clone, Debug)]
pub struct CheckpointCoordinator {
    config: CoordinatorConfig,
    next_id: CheckpointId,
    next_trigger_ms: Option<i64>,
    queued_periodic: bool,
    pending: BTreeMap<CheckpointId, PendingCheckpoint>,
    store: VecDeque<CompletedCheckpoint>,
    last_completion_ms: Option<i64>,
    /// The newest id registered as pending (0 before the first).
    last_registered: CheckpointId,
}

impl CheckpointCoordinator {
    pub fn new(config: CoordinatorConfig) -> Self {
        Self::with_next_id(config, INITIAL_CHECKPOINT_ID)
    }

    /// A coordinator continuing an id counter (ids are never reused).
    pub fn with_next_id(config: CoordinatorConfig, next_id: CheckpointId) -> Self {
        let c = config;
        let times = c.interval_ms > 0 && c.timeout_ms > 0 && c.min_pause_ms >= 0;
        assert!(times, "invariant: an interval, timeout or pause out of range: {c:?}");
        assert!(
            c.max_concurrent > 0 && c.num_retained > 0,
            "invariant: no checkpoint fits: {c:?}"
        );
        assert!(
            next_id >= INITIAL_CHECKPOINT_ID,
            "invariant: checkpoint id {next_id} below 1"
        );
        CheckpointCoordinator {
            config,
            next_id,
            next_trigger_ms: None,
            queued_periodic: false,
            pending: BTreeMap::new(),
            store: VecDeque::new(),
            last_completion_ms: None,
            last_registered: 0,
        }
    }

    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// Start periodic triggering. `initial_delay_ms` should be drawn from the
    /// seed uniformly in `[min_pause, base_interval]`, as Flink draws it.
    pub fn start_scheduler(&mut self, now_ms: i64, initial_delay_ms: i64) {
        assert!(initial_delay_ms >= 0, "invariant: initial delay {initial_delay_ms} ms");
        self.next_trigger_ms = Some(now_ms + initial_delay_ms);
    }

    pub fn stop_scheduler(&mut self) {
        self.next_trigger_ms = None;
        self.queued_periodic = false;
    }

    pub fn is_scheduler_running(&self) -> bool {
        self.next_trigger_ms.is_some()
    }

    /// When the JobManager should call [`poll`](Self::poll) or
    /// [`expire`](Self::expire) next.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        let expiry = self
            .pending
            .values()
            .filter(|p| !p.finalizing)
            .map(|p| p.trigger_ms + self.config.timeout_ms)
            .min();
        match (self.next_trigger_ms, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fire the periodic trigger if due and decide whether a queued request runs.
    pub fn poll(&mut self, now_ms: i64, all_tasks_running: bool) -> TriggerPoll {
        if let Some(t) = self.next_trigger_ms {
            if now_ms >= t {
                // Fixed rate: the next firing is one interval after the
                // scheduled one, not after now.
                self.next_trigger_ms = Some(t + self.config.base_interval_ms());
                self.queued_periodic = true;
            }
        }
        if !self.queued_periodic || self.pending.len() >= self.config.max_concurrent {
            return TriggerPoll::Idle;
        }
        self.queued_periodic = false;
        if let Some(last) = self.last_completion_ms {
            assert!(last <= now_ms, "invariant: completion at {last} after now {now_ms}");
            let remaining = last + self.config.min_pause_ms - now_ms;
            if remaining > 0 {
                self.next_trigger_ms = Some(now_ms + remaining);
                return TriggerPoll::Failed(CheckpointFailureReason::MinimumTimeBetweenCheckpoints);
            }
        }
        if !all_tasks_running {
            return TriggerPoll::Failed(CheckpointFailureReason::NotAllRequiredTasksRunning);
        }
        TriggerPoll::Trigger {
            id: self.allocate_id(),
            timestamp_ms: now_ms,
        }
    }

    fn allocate_id(&mut self) -> CheckpointId {
        let id = self.next_id;
        assert!(id >= INITIAL_CHECKPOINT_ID, "invariant: checkpoint ids start at 1");
        assert!(
            self.store.back().is_none_or(|c| c.id < id),
            "invariant: a new checkpoint's id is above every completed one"
        );
        self.next_id += 1;
        id
    }

    /// Register the pending checkpoint `id` waiting for `tasks`.
    pub fn register_pending(
        &mut self,
        id: CheckpointId,
        trigger_ms: i64,
        tasks: impl IntoIterator<Item = ExecutionVertexId>,
    ) {
        let p = PendingCheckpoint {
            id,
            trigger_ms,
            not_yet_acknowledged: tasks.into_iter().collect(),
            acknowledged: BTreeMap::new(),
            finalizing: false,
            replay: BTreeMap::new(),
        };
        assert!(
            !p.not_yet_acknowledged.is_empty(),
            "invariant: a checkpoint waits for some task"
        );
        assert!(
            id > self.last_registered && id < self.next_id,
            "invariant: checkpoint ids only increase and come from the counter (id {id} after {}, next {})",
            self.last_registered,
            self.next_id
        );
        self.last_registered = id;
        assert!(
            self.pending.len() < self.config.max_concurrent,
            "invariant: a trigger waits while max-concurrent checkpoints are pending"
        );
        let prev = self.pending.insert(id, p);
        assert!(prev.is_none(), "invariant: checkpoint ids are never reused");
    }

    /// Register a recovery line of uncoordinated checkpoints as a
    /// checkpoint with the next id: every task's snapshot at the line is
    /// already there (a task at its initial state has none), so it is
    /// finalizing at once. Returns its id.
    pub fn register_line(
        &mut self,
        trigger_ms: i64,
        states: BTreeMap<ExecutionVertexId, StateHandle>,
        replay: BTreeMap<ExecutionVertexId, Vec<ReplaySlice>>,
    ) -> CheckpointId {
        assert!(
            self.pending.is_empty(),
            "invariant: one recovery line is persisted at a time"
        );
        let id = self.allocate_id();
        self.last_registered = id;
        let p = PendingCheckpoint {
            id,
            trigger_ms,
            not_yet_acknowledged: BTreeSet::new(),
            acknowledged: states,
            finalizing: true,
            replay,
        };
        self.pending.insert(id, p);
        id
    }

    /// The id the next trigger would get.
    pub fn next_checkpoint_id(&self) -> CheckpointId {
        self.next_id
    }

    pub fn pending(&self) -> &BTreeMap<CheckpointId, PendingCheckpoint> {
        &self.pending
    }

    pub fn acknowledge(&mut self, id: CheckpointId, task: ExecutionVertexId, handle: StateHandle) -> AckOutcome {
        let Some(p) = self.pending.get_mut(&id) else {
            return AckOutcome::Unknown;
        };
        if p.acknowledged.contains_key(&task) {
            return AckOutcome::Duplicate;
        }
        if !p.not_yet_acknowledged.remove(&task) {
            return AckOutcome::Unknown;
        }
        assert!(
            !p.finalizing,
            "invariant: a finalizing checkpoint has every acknowledgement"
        );
        p.acknowledged.insert(task, handle);
        if p.not_yet_acknowledged.is_empty() {
            p.finalizing = true;
            AckOutcome::AllAcknowledged
        } else {
            AckOutcome::Success
        }
    }

    /// The checkpoint being finalised, if any (a restore must wait for it).
    pub fn finalizing(&self) -> Option<CheckpointId> {
        self.pending.values().find(|p| p.finalizing).map(|p| p.id)
    }

    /// Abort one pending checkpoint (declined, failed to finalise, ...).
    pub fn abort(&mut self, id: CheckpointId) -> Option<PendingCheckpoint> {
        let aborted = self.pending.remove(&id);
        assert!(
            aborted.is_none() || self.store.iter().all(|c| c.id != id),
            "invariant: a checkpoint is pending or completed, never both"
        );
        aborted
    }

    /// Abort every pending checkpoint whose timeout passed (CHECKPOINT_EXPIRED),
    /// except one being finalised.
    pub fn expire(&mut self, now_ms: i64) -> Vec<CheckpointId> {
        let timeout = self.config.timeout_ms;
        let expired: Vec<CheckpointId> = self
            .pending
            .values()
            .filter(|p| !p.finalizing && now_ms >= p.trigger_ms + timeout)
            .map(|p| p.id)
            .collect();
        for id in &expired {
            self.pending.remove(id);
        }
        assert!(
            self.pending
                .values()
                .all(|p| p.finalizing || now_ms < p.trigger_ms + timeout),
            "invariant: only unexpired or finalizing checkpoints stay pending"
        );
        expired
    }

    /// Abort all pending checkpoints but one being finalised (failover:
    /// JOB_FAILOVER_REGION; shutdown).
    pub fn abort_all_pending(&mut self) -> Vec<CheckpointId> {
        let ids: Vec<CheckpointId> = self.pending.values().filter(|p| !p.finalizing).map(|p| p.id).collect();
        self.pending.retain(|_, p| p.finalizing);
        self.queued_periodic = false;
        assert!(
            self.pending.len() <= self.config.max_concurrent,
            "invariant: at most max-concurrent checkpoints are pending"
        );
        ids
    }

    /// The fully acknowledged checkpoint `id` was persisted: add it to the
    /// store (before dropping old ones) and subsume older pending checkpoints.
    pub fn complete(&mut self, id: CheckpointId, now_ms: i64) -> Option<Completion> {
        let p = self.pending.remove(&id)?;
        assert!(
            p.not_yet_acknowledged.is_empty() && p.finalizing,
            "invariant: only fully acknowledged checkpoints complete"
        );
        assert!(
            now_ms >= p.trigger_ms,
            "invariant: a checkpoint completes after its trigger"
        );
        assert!(
            self.store.back().is_none_or(|latest| latest.id < id),
            "invariant: completed checkpoint ids increase"
        );
        let checkpoint = CompletedCheckpoint {
            id,
            trigger_ms: p.trigger_ms,
            completion_ms: now_ms,
            states: p.acknowledged,
            replay: p.replay,
        };
        self.store.push_back(checkpoint.clone());
        let mut discarded = Vec::new();
        while self.store.len() > self.config.num_retained {
            if let Some(old) = self.store.pop_front() {
                discarded.push(old.id);
            }
        }
        let newest = self.store.back().map(|c| c.id);
        assert_eq!(newest, Some(id), "invariant: checkpoint {id} is retained, newest");
        let subsumed_pending: Vec<CheckpointId> = self.pending.range(..id).map(|(k, _)| *k).collect();
        for s in &subsumed_pending {
            self.pending.remove(s);
        }
        self.last_completion_ms = Some(now_ms);
        assert!(
            self.store.len() <= self.config.num_retained && self.pending.keys().all(|k| *k > id),
            "invariant: the store keeps num-retained checkpoints and no older one is pending"
        );
        Some(Completion {
            checkpoint,
            subsumed_pending,
            discarded,
        })
    }

    /// Seed the store with the completed checkpoints a new leader recovered
    /// (oldest first), as Flink builds its coordinator from the recovered
    /// CompletedCheckpointStore.
    pub fn recover_completed(&mut self, checkpoints: Vec<CompletedCheckpoint>) {
        self.store = checkpoints.into();
        while self.store.len() > self.config.num_retained {
            self.store.pop_front();
        }
        if let Some(latest) = self.store.back() {
            self.next_id = self.next_id.max(latest.id + 1);
        }
        assert!(
            self.store
                .iter()
                .zip(self.store.iter().skip(1))
                .all(|(a, b)| a.id < b.id),
            "invariant: recovered checkpoints are oldest first, ids increasing"
        );
    }

    /// The checkpoint a restore uses: the one added last.
    pub fn latest_completed(&self) -> Option<&CompletedCheckpoint> {
        self.store.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CoordinatorConfig {
        CoordinatorConfig {
            interval_ms: 1000,
            timeout_ms: 5000,
            min_pause_ms: 0,
            max_concurrent: 1,
            num_retained: 1,
        }
    }

    fn t(s: u32) -> ExecutionVertexId {
        ExecutionVertexId { vertex: 0, subtask: s }
    }

    fn h(k: &str) -> StateHandle {
        StateHandle {
            key: k.into(),
            size_bytes: 1,
            uploaded_bytes: 1,
            in_flight_bytes: 0,
            end_of_input: false,
            in_flight_records: 0,
            cut: None,
        }
    }

    fn trigger(c: &mut CheckpointCoordinator, now: i64) -> CheckpointId {
        match c.poll(now, true) {
            TriggerPoll::Trigger { id, .. } => {
                c.register_pending(id, now, [t(0), t(1)]);
                id
            }
            other => panic!("expected a trigger at {now}, got {other:?}"),
        }
    }

    #[test]
    fn fixed_rate_ids_from_one() {
        let mut c = CheckpointCoordinator::new(cfg());
        c.start_scheduler(0, 300);
        assert_eq!(c.poll(299, true), TriggerPoll::Idle);
        assert_eq!(trigger(&mut c, 300), 1);
        assert_eq!(c.acknowledge(1, t(0), h("a")), AckOutcome::Success);
        assert_eq!(c.acknowledge(1, t(0), h("a")), AckOutcome::Duplicate);
        assert_eq!(c.acknowledge(1, t(1), h("b")), AckOutcome::AllAcknowledged);
        c.complete(1, 450).expect("completes");
        // fixed rate: next at 1300 even though completion was at 450
        assert_eq!(c.poll(1299, true), TriggerPoll::Idle);
        assert_eq!(trigger(&mut c, 1300), 2);
        assert_eq!(c.latest_completed().map(|c| c.id), Some(1));
    }

    #[test]
    fn max_concurrent_queues_the_request_until_completion() {
        let mut c = CheckpointCoordinator::new(cfg());
        c.start_scheduler(0, 0);
        assert_eq!(trigger(&mut c, 0), 1);
        assert_eq!(c.poll(1000, true), TriggerPoll::Idle, "one pending already");
        c.acknowledge(1, t(0), h("a"));
        c.acknowledge(1, t(1), h("b"));
        c.complete(1, 1200);
        assert_eq!(trigger(&mut c, 1200), 2, "queued request runs after completion");
    }

    #[test]
    fn min_pause_fails_request_and_reschedules_exactly() {
        let mut c = CheckpointCoordinator::new(CoordinatorConfig {
            min_pause_ms: 800,
            ..cfg()
        });
        c.start_scheduler(0, 0);
        trigger(&mut c, 0);
        c.acknowledge(1, t(0), h("a"));
        c.acknowledge(1, t(1), h("b"));
        c.complete(1, 900);
        assert_eq!(
            c.poll(1000, true),
            TriggerPoll::Failed(CheckpointFailureReason::MinimumTimeBetweenCheckpoints)
        );
        assert_eq!(c.next_deadline_ms(), Some(1700));
        assert_eq!(trigger(&mut c, 1700), 2);
    }

    #[test]
    fn not_all_running_fails_without_an_id() {
        let mut c = CheckpointCoordinator::new(cfg());
        c.start_scheduler(0, 0);
        assert_eq!(
            c.poll(0, false),
            TriggerPoll::Failed(CheckpointFailureReason::NotAllRequiredTasksRunning)
        );
        assert_eq!(c.next_checkpoint_id(), 1);
    }

    #[test]
    fn timeout_expires_pending() {
        let mut c = CheckpointCoordinator::new(cfg());
        c.start_scheduler(0, 0);
        trigger(&mut c, 0);
        assert!(c.expire(4999).is_empty());
        assert_eq!(c.expire(5000), vec![1]);
        assert_eq!(c.acknowledge(1, t(0), h("a")), AckOutcome::Unknown);
    }

    #[test]
    fn completion_subsumes_older_pending_and_retains_n() {
        let mut c = CheckpointCoordinator::new(CoordinatorConfig {
            max_concurrent: 3,
            num_retained: 2,
            ..cfg()
        });
        c.start_scheduler(0, 0);
        for now in [0, 1000, 2000] {
            trigger(&mut c, now);
        }
        for id in [2, 3] {
            c.acknowledge(id, t(0), h("a"));
            c.acknowledge(id, t(1), h("b"));
        }
        let done = c.complete(3, 2500).expect("completes");
        assert_eq!(done.subsumed_pending, vec![1, 2]);
        assert!(c.pending().is_empty());
        assert_eq!(c.complete(2, 2600), None, "subsumed checkpoint cannot complete");
        let mut c2 = c.clone();
        c2.start_scheduler(2600, 0);
        let id = trigger(&mut c2, 3000);
        assert_eq!(id, 4, "ids never reused");
    }

    #[test]
    fn abort_all_pending_on_failover() {
        let mut c = CheckpointCoordinator::new(cfg());
        c.start_scheduler(0, 0);
        trigger(&mut c, 0);
        assert_eq!(c.finalizing(), None);
        assert_eq!(c.abort_all_pending(), vec![1]);
        assert_eq!(c.next_checkpoint_id(), 2);
    }

    #[test]
    fn a_finalizing_checkpoint_survives_failover_and_expiry_until_its_outcome() {
        let mut c = CheckpointCoordinator::new(CoordinatorConfig {
            max_concurrent: 2,
            ..cfg()
        });
        c.start_scheduler(0, 0);
        trigger(&mut c, 0);
        trigger(&mut c, 1000);
        c.acknowledge(1, t(0), h("a"));
        assert_eq!(c.acknowledge(1, t(1), h("b")), AckOutcome::AllAcknowledged);
        assert_eq!(c.finalizing(), Some(1));
        c.stop_scheduler();
        assert_eq!(
            c.next_deadline_ms(),
            Some(6000),
            "checkpoint 1 (due at 5000) cannot expire; 2 can"
        );
        assert_eq!(c.expire(5000), Vec::<CheckpointId>::new(), "finalizing: not expired");
        assert_eq!(c.abort_all_pending(), vec![2], "the failover aborts only checkpoint 2");
        assert_eq!(c.pending().keys().copied().collect::<Vec<_>>(), vec![1]);
        assert_eq!(c.acknowledge(1, t(0), h("a")), AckOutcome::Duplicate);
        let done = c.complete(1, 5100).expect("its pointer landed: it completes");
        assert_eq!(done.checkpoint.id, 1);
        assert_eq!(c.finalizing(), None);
        assert_eq!(c.latest_completed().map(|c| c.id), Some(1));
    }

    #[test]
    fn a_new_leader_recovers_the_retained_checkpoints_and_continues_the_ids() {
        let done = |id| CompletedCheckpoint {
            id,
            trigger_ms: 0,
            completion_ms: 0,
            states: BTreeMap::new(),
            replay: BTreeMap::new(),
        };
        let mut c = CheckpointCoordinator::with_next_id(
            CoordinatorConfig {
                num_retained: 2,
                ..cfg()
            },
            5,
        );
        c.recover_completed(vec![done(3), done(6), done(7)]);
        assert_eq!(c.latest_completed().map(|c| c.id), Some(7), "the newest is restored");
        assert_eq!(
            c.store.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![6, 7],
            "num-retained"
        );
        assert_eq!(c.next_checkpoint_id(), 8, "past the newest recovered checkpoint");
        let mut ahead = CheckpointCoordinator::with_next_id(cfg(), 10);
        ahead.recover_completed(vec![done(7)]);
        assert_eq!(ahead.next_checkpoint_id(), 10, "the persisted counter is ahead: kept");
        let mut empty = CheckpointCoordinator::with_next_id(cfg(), 4);
        empty.recover_completed(Vec::new());
        assert_eq!((empty.latest_completed(), empty.next_checkpoint_id()), (None, 4));
    }

    #[test]
    fn a_checkpoint_that_failed_to_finalize_is_aborted_by_its_outcome() {
        let mut c = CheckpointCoordinator::new(cfg());
        c.start_scheduler(0, 0);
        trigger(&mut c, 0);
        c.acknowledge(1, t(0), h("a"));
        c.acknowledge(1, t(1), h("b"));
        assert!(c.abort(1).is_some());
        assert_eq!(c.finalizing(), None);
        assert_eq!(c.complete(1, 900), None);
        assert_eq!(c.latest_completed(), None);
    }
}
