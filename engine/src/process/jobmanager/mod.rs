//! The JobManager process: TaskManager registry and heartbeats, scheduling
//! into slots, the checkpoint coordinator, and failure handling through the
//! restart strategy and the failover strategy.
//!
//! Everything happens on one event loop (like Flink's JobMaster main thread):
//! TaskManager connections feed events into a queue; timers (heartbeats,
//! checkpoint triggers and expiry, scheduled restarts) wake the loop at the
//! next deadline. Failure handling follows Flink's `ExecutionFailureHandler`:
//! `notifyFailure`, then `canRestart`; a new attempt counts in `numRestarts`;
//! the restart waits `getBackoffTime` and then redeploys the tasks chosen by the
//! failover strategy from the latest completed checkpoint. When `canRestart` is
//! false the job fails with "Recovery is suppressed by ...".
//!
//! With `high-availability.type: kubernetes` several JobManagers run; each
//! campaigns for leadership and only the leader runs a `JobMaster`, in the
//! leader's epoch (`leadership.rs`). A leader stops acting as soon as its own
//! clock says its lease may be gone, and every service and TaskManager
//! rejects requests of an older epoch.
//!
//! This file holds the `JobMaster`'s state, its event loop, timers and job
//! status. The rest of `JobMaster` is split by what it holds:
//! - `startup.rs`: what a leadership starts (its tasks, the `JobMaster`);
//! - `events.rs`: the event queue, TaskManager connections and the handling
//!   of their messages and of the leadership's own reports;
//! - `checkpoints.rs`: triggering, acknowledging and finalising checkpoints;
//! - `failures.rs`: failure handling (restart and failover strategies);
//! - `scheduling.rs`: slots, deploying restarts and what holds them back;
//! - `rescaling.rs`: reactive mode's parallelism;
//! - `leadership.rs`: campaigning, recovery, the lease and leader-only
//!   writes (with HA).

mod cancellation;
mod checkpoints;
mod events;
mod failures;
mod leadership;
mod rescaling;
mod scheduling;
mod startup;
mod uncoordinated;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use madsim::net::Endpoint;
use madsim::rand::Rng;
use tokio::sync::mpsc;

use super::task::AbortOnDrop;
use crate::checkpoint::coordinator::{AckOutcome, CheckpointCoordinator, CoordinatorConfig, TriggerPoll};
use crate::checkpoint::failure_manager::{CheckpointFailureManager, CheckpointFailureReason, ReportedBy, SnapshotKind};
use crate::checkpoint::{CheckpointBarrier, CheckpointId, CompletedCheckpoint, StateHandle, StoredBlob};
use crate::config::{EngineConfig, Sabotage};
use crate::failover::{create_failover_strategy, FailoverStrategy};
use crate::graph::{ExecutionVertexId, JobGraph, OperatorKind};
use crate::net::{self, ConnTx, RpcClient};
use crate::protocol::{
    ExecutionAttemptId, JmToTm, OutputChannelDescriptor, OutputDescriptor, RestoreSpec, ServiceAddrs, StorageRequest,
    StorageResponse, TaskCheckpointMetrics, TaskDeploymentDescriptor, TmId, TmToJm,
};
use crate::restart::{load_restart_strategy, RestartBackoffTimeStrategy};
use crate::status::{ExecutionState, JobStatus};
use crate::trace::{TraceEvent, Tracer};
use events::{accept_task_managers, JmEvent, LeaderTaskEvent};
use startup::{lead, HaSender, MetadataSender};

/// Port of the JobManager's endpoint (Flink's default RPC port).
pub const JOB_MANAGER_PORT: u16 = 6123;

/// Static configuration of the JobManager.
#[derive(Clone)]
pub struct JobManagerConfig {
    pub ip: std::net::IpAddr,
    pub job: JobGraph,
    pub engine: Arc<EngineConfig>,
    pub services: ServiceAddrs,
    pub tracer: Tracer,
    pub node: String,
    /// Seed of the restart strategy's jitter, so a checker can replay the
    /// policy's decisions exactly (derived from the run's seed).
    pub restart_seed: u64,
    pub sabotage: Sabotage,
    /// Set to true when a user cancels the job (the CLI's `cancel`).
    pub cancel: tokio::sync::watch::Receiver<bool>,
    /// This JobManager's index among the JobManagers (its candidate id).
    pub index: u32,
    /// The coordination service, with HA.
    pub coordination: Option<SocketAddr>,
    /// Every subtask's measured load, as Flink's metric query service
    /// reports task metrics to the JobManager: what `LOAD` placement reads.
    pub load: crate::process::task::load::LoadRegistry,
}

impl JobManagerConfig {
    /// Whether this JobManager keeps acting after its lease is gone
    /// (test-only broken variants).
    fn ignores_lease(&self) -> bool {
        self.sabotage.leader_ignores_lease()
    }
}

struct TmInfo {
    slots: u32,
    data_addr: SocketAddr,
    tx: ConnTx,
    conn: u64,
    last_heard_ms: i64,
}

#[derive(Clone, Copy, Debug)]
struct Execution {
    attempt: u32,
    tm: TmId,
    state: ExecutionState,
}

/// Run the JobManager forever (the node's init task).
pub async fn run_job_manager(cfg: JobManagerConfig) {
    let Some(ep) = crate::process::bind_endpoint(cfg.ip, JOB_MANAGER_PORT, &cfg.tracer, &cfg.node).await else {
        return;
    };
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<JmEvent>();
    let _acceptor = AbortOnDrop(madsim::task::spawn(accept_task_managers(ep.clone(), ev_tx.clone())));
    if cfg.coordination.is_none() {
        lead(&cfg, &ep, &ev_tx, &mut ev_rx, leadership::Leadership::without_ha()).await;
        return;
    }
    let mut last_epoch = 0;
    while let Some(l) = leadership::campaign(&cfg, &ep, &mut ev_rx).await {
        assert!(
            l.epoch > last_epoch,
            "invariant: a JobManager leads in ever higher epochs ({last_epoch} then {})",
            l.epoch
        );
        last_epoch = l.epoch;
        lead(&cfg, &ep, &ev_tx, &mut ev_rx, l).await;
    }
}

struct JobMaster {
    cfg: JobManagerConfig,
    /// The leader epoch this JobMaster acts in (0 without HA).
    epoch: u64,
    max_parallelism: i32,
    vertices: Vec<ExecutionVertexId>,
    tms: BTreeMap<TmId, TmInfo>,
    executions: BTreeMap<ExecutionVertexId, Execution>,
    status: JobStatus,
    next_attempt: u32,
    coordinator: Option<CheckpointCoordinator>,
    failure_manager: CheckpointFailureManager,
    restart_strategy: Box<dyn RestartBackoffTimeStrategy>,
    restart_rng: rand::rngs::StdRng,
    failover: Box<dyn FailoverStrategy>,
    /// Subtasks waiting to be (re)deployed, and from when.
    /// Restart batches waiting to be deployed, with their due times.
    pending: Vec<(i64, BTreeSet<ExecutionVertexId>)>,
    /// Whether due restart batches deploy when due or wait, and for what.
    deployment: scheduling::DeploymentPhase,
    /// Cancel calls of CANCELING attempts, waiting for their answer.
    cancel_calls: BTreeMap<ExecutionVertexId, cancellation::CancelCall>,
    num_restarts: u32,
    next_heartbeat_ms: i64,
    /// Largest alignment and synchronous-phase times reported per pending
    /// checkpoint.
    task_metrics: BTreeMap<CheckpointId, TaskCheckpointMetrics>,
    metadata: MetadataSender,
    /// Leader-only writes to the coordination service (with HA).
    ha: Option<HaSender>,
    /// The lease as this JobManager's own clock sees it (with HA).
    lease: Option<crate::ha::LeaderLease>,
    /// Barriers of triggered checkpoints whose id is not yet persisted.
    awaiting_id: BTreeMap<CheckpointId, CheckpointBarrier>,
    /// Checkpoints whose metadata checkpoint storage has stored, not yet
    /// completed: a checkpoint completes (and tasks hear of it) only from
    /// here.
    metadata_stored: BTreeSet<CheckpointId>,
    /// Set when the leadership ended; the event loop then stops.
    revoked: Option<String>,
    /// Reactive mode: when the slot count last changed, and until when a
    /// deployment short of the wanted parallelism waits for more slots.
    slots_changed_ms: i64,
    reactive_wait_until: Option<i64>,
    /// The parallelism each vertex was submitted with: the most reactive
    /// mode scales a keyed operator to.
    desired_parallelism: BTreeMap<crate::graph::JobVertexId, u32>,
    /// A final checkpoint covered all input (bounded job): tasks are
    /// finishing and no further checkpoint is triggered.
    finishing: bool,
    /// The first checkpoint id this leadership hands out: a lower id is of
    /// an earlier leadership.
    first_checkpoint_id: CheckpointId,
    /// Every task's snapshots (uncoordinated checkpoints only).
    local_checkpoints: Option<uncoordinated::LocalCheckpoints>,
}

impl JobMaster {
    /// The leader's event loop: user cancellation, events and timers, each
    /// acted on only while this JobManager may still lead.
    async fn run(&mut self, ev_rx: &mut mpsc::UnboundedReceiver<JmEvent>) {
        let mut cancel = self.cfg.cancel.clone();
        if *cancel.borrow_and_update() {
            self.cancel_job().await;
        }
        // Closed once nobody can cancel any more (the run's driver is done).
        let mut cancel_open = true;
        while self.revoked.is_none() {
            // Deadlines are whole milliseconds on the tracer's clock; waking at
            // exactly that instant makes `now_ms()` read the deadline itself.
            let wake = self.cfg.tracer.instant_at(self.next_wakeup_ms().max(0) as u64);
            tokio::select! {
                biased;
                changed = cancel.changed(), if cancel_open => match changed {
                    Ok(()) => {
                        if *cancel.borrow_and_update() && self.still_leader() {
                            self.cancel_job().await;
                        }
                    }
                    Err(_) => cancel_open = false,
                },
                ev = ev_rx.recv() => match ev {
                    Some(ev) => {
                        // A deadline already past (events kept the loop busy
                        // beyond it) goes first, as in Flink's main-thread
                        // mailbox, where a scheduled action that fell due is
                        // queued ahead of the messages that come after it.
                        if self.next_wakeup_ms() < self.now_ms() && self.still_leader() {
                            self.on_timer().await;
                        }
                        if self.still_leader() {
                            self.on_event(ev).await;
                        }
                    }
                    None => return,
                },
                _ = madsim::time::sleep_until(wake) => {
                    if self.still_leader() {
                        self.on_timer().await;
                    }
                }
            }
        }
    }

    fn now_ms(&self) -> i64 {
        self.cfg.tracer.now_ms() as i64
    }

    fn trace(&self, event: TraceEvent) {
        self.cfg.tracer.record(&self.cfg.node, event);
    }

    /// Whether this JobManager may still act; ends the leadership when its
    /// own clock says the lease may be gone.
    fn still_leader(&mut self) -> bool {
        if self.revoked.is_some() {
            return false;
        }
        let epoch = self.epoch;
        assert!(
            self.lease.is_none_or(|l| l.epoch == epoch),
            "invariant: a lease of epoch {epoch}"
        );
        let now = self.now_ms();
        match self.lease {
            Some(l) if !l.valid_at(now) && !self.cfg.ignores_lease() => {
                self.revoke("the lease's renew deadline passed on this JobManager's clock".into());
                false
            }
            _ => true,
        }
    }

    /// Stop acting as leader: the job is SUSPENDED here (Flink's state for a
    /// JobMaster that lost leadership); dropping the JobMaster closes the
    /// TaskManager connections, and the TaskManagers cancel its tasks.
    fn revoke(&mut self, reason: String) {
        if self.revoked.is_some() {
            return;
        }
        assert!(self.lease.is_some(), "invariant: only a leadership with HA ends");
        self.trace(TraceEvent::LeadershipRevoked {
            epoch: self.epoch,
            reason: reason.clone(),
        });
        if !self.status.is_terminal() {
            self.set_status(JobStatus::Suspended);
        }
        self.revoked = Some(reason);
    }

    fn next_wakeup_ms(&self) -> i64 {
        let mut t = self.next_heartbeat_ms;
        if let Some(l) = self.lease.filter(|_| !self.cfg.ignores_lease()) {
            t = t.min(l.acts_until_ms());
        }
        if let Some(w) = self.reactive_wait_until {
            t = t.min(w);
        }
        if self.deployment == scheduling::DeploymentPhase::WhenDue {
            // A batch whose cancellation runs is woken by its end instead.
            let deployable = self.pending.iter().filter(|(_, b)| !self.is_cancelling(b));
            if let Some(d) = deployable.map(|(due, _)| *due).min() {
                t = t.min(d);
            }
        }
        if let Some(d) = self.next_cancel_deadline_ms() {
            t = t.min(d);
        }
        // While finishing no checkpoint is polled, so none of its deadlines
        // may wake the loop.
        if self.status == JobStatus::Running && !self.finishing {
            if let Some(d) = self.coordinator.as_ref().and_then(|c| c.next_deadline_ms()) {
                t = t.min(d);
            }
        }
        t
    }

    fn set_status(&mut self, to: JobStatus) {
        assert!(
            !self.status.is_terminal() || self.status == to,
            "invariant: a terminal job status is final ({:?} -> {to:?})",
            self.status
        );
        let from = self.status;
        assert!(
            from == to || may_become(from, to),
            "invariant: no job status {from:?} -> {to:?}"
        );
        if self.status != to {
            self.trace(TraceEvent::JobStatusChanged { from: self.status, to });
            self.status = to;
        }
    }

    async fn send_to_tm(&self, tm: TmId, msg: JmToTm) {
        assert!(self.revoked.is_none(), "invariant: sends nothing to {tm} once revoked");
        if let Some(info) = self.tms.get(&tm) {
            if matches!(
                msg,
                JmToTm::TriggerCheckpoint { .. } | JmToTm::NotifyCheckpointComplete { .. }
            ) {
                self.cfg.tracer.traffic().message();
            }
            // A broken connection is noticed by its reader task.
            let _ = info.tx.send(msg).await;
        }
    }

    /// The job reached a globally terminal state: with HA, record it in the
    /// job result store so no later leader runs it again.
    fn store_job_result(&self, status: JobStatus) {
        let job = self.status;
        assert!(
            status.is_terminal() && status == job,
            "invariant: result {status:?} in {job:?}"
        );
        if let Some(ha) = &self.ha {
            let _ = ha.send(leadership::HaWrite::JobResult(status));
        }
    }

    /// A user cancelled the job (Flink's `cancel`): every task is cancelled,
    /// pending restarts are dropped, and the job ends CANCELED.
    async fn cancel_job(&mut self) {
        if self.status.is_terminal() {
            return;
        }
        self.set_status(JobStatus::Canceling);
        self.pending.clear();
        if let Some(c) = self.coordinator.as_mut() {
            c.stop_scheduler();
            for id in c.abort_all_pending() {
                self.trace(TraceEvent::CheckpointAborted {
                    id,
                    reason: CheckpointFailureReason::CheckpointCoordinatorShutdown
                        .name()
                        .to_string(),
                });
            }
        }
        let all: BTreeSet<_> = self.vertices.iter().copied().collect();
        self.cancel(&all).await;
        self.complete_cancel_job_if_done();
    }

    async fn on_timer(&mut self) {
        let now = self.now_ms();
        let mut heartbeat = false;
        if now >= self.next_heartbeat_ms {
            let interval = self.cfg.engine.heartbeat_interval.as_millis() as i64;
            assert!(interval > 0, "invariant: heartbeats move on ({interval} ms)");
            self.next_heartbeat_ms += interval;
            let timeout = self.cfg.engine.heartbeat_timeout.as_millis() as i64;
            let expired: Vec<TmId> = self
                .tms
                .iter()
                .filter(|(_, t)| now - t.last_heard_ms > timeout)
                .map(|(id, _)| *id)
                .collect();
            for tm in expired {
                self.task_manager_lost(tm, "heartbeat timeout").await;
            }
            heartbeat = true;
        }
        if self.reactive_wait_until.is_some_and(|w| now >= w) {
            self.reactive_wait_until = None;
            self.slots_may_have_changed();
        }
        self.on_cancel_timeouts(now).await;
        let when_due = self.deployment == scheduling::DeploymentPhase::WhenDue;
        if when_due && self.pending.iter().any(|(d, _)| now >= *d) {
            self.try_deploy().await;
        }
        // Requests go out after a due deployment: sending takes simulated
        // time, and the restart must happen exactly when it is due.
        if heartbeat {
            for t in self.tms.values() {
                let _ = t.tx.send(JmToTm::HeartbeatRequest).await;
            }
        }
        if self.status == JobStatus::Running {
            let expired = self.coordinator.as_mut().map(|c| c.expire(now)).unwrap_or_default();
            for id in expired {
                // `expire` already removed it; count it like an abort.
                assert!(!self.is_pending(id), "invariant: expired checkpoint {id} pending");
                self.trace(TraceEvent::CheckpointAborted {
                    id,
                    reason: CheckpointFailureReason::CheckpointExpired.name().to_string(),
                });
                if let Some(f) = self.failure_manager.handle_checkpoint_exception(
                    CheckpointFailureReason::CheckpointExpired,
                    Some(id),
                    SnapshotKind::Checkpoint,
                    ReportedBy::JobManager,
                ) {
                    self.handle_global_failure(f.message()).await;
                    return;
                }
            }
            self.poll_checkpoints().await;
        }
    }
}

/// Whether a job may go from `from` to `to` (a change: `from != to`), as this
/// JobMaster moves it: Flink's `JobStatus` transitions, with SUSPENDED for a
/// leadership that ended and no CREATED after a restart.
fn may_become(from: JobStatus, to: JobStatus) -> bool {
    use JobStatus::*;
    match to {
        Created => false,
        Running => matches!(from, Created | Restarting),
        Restarting | Failing | Finished => matches!(from, Running | Restarting),
        Failed => from == Failing,
        Canceling => matches!(from, Created | Running | Restarting),
        Canceled => from == Canceling,
        Suspended => !from.is_terminal(),
    }
}
