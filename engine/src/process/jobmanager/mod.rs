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
//! This file holds the event loop and the registry; `checkpoints.rs`,
//! `failures.rs`, `scheduling.rs` and `leadership.rs` add the rest of
//! `JobMaster`.

mod checkpoints;
mod failures;
mod leadership;
mod rescaling;
mod scheduling;

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
}

impl JobManagerConfig {
    /// Whether this JobManager keeps acting after its lease is gone
    /// (test-only broken variants).
    fn ignores_lease(&self) -> bool {
        self.sabotage.leader_ignores_lease()
    }
}

enum JmEvent {
    TmConnected {
        tm: TmId,
        slots: u32,
        data_addr: SocketAddr,
        /// The leader epoch the TaskManager registers with.
        epoch: u64,
        tx: ConnTx,
        conn: u64,
    },
    FromTm {
        tm: TmId,
        conn: u64,
        msg: TmToJm,
    },
    TmDisconnected {
        tm: TmId,
        conn: u64,
        error: String,
    },
    /// From a task of the leadership in `epoch` (its `LeaderTasks`).
    FromLeaderTask {
        epoch: u64,
        event: LeaderTaskEvent,
    },
}

/// What a leadership's own tasks report. The event queue outlives a
/// leadership, so each report carries its leadership's epoch: one left in the
/// queue when a leadership ended must not reach the next (a stale "metadata
/// persisted" would complete a checkpoint the new coordinator never
/// triggered; a stale "fenced" would end the new leadership).
enum LeaderTaskEvent {
    MetadataPersisted {
        checkpoint: CheckpointId,
        result: Result<(), String>,
    },
    LeaseRenewed {
        sent_ms: i64,
    },
    LeaseLost {
        reason: String,
    },
    HaWritten {
        write: leadership::HaWrite,
        result: Result<(), leadership::HaWriteError>,
    },
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

/// Run the job as leader until the leadership ends (never without HA).
async fn lead(
    cfg: &JobManagerConfig,
    ep: &Arc<Endpoint>,
    ev_tx: &mpsc::UnboundedSender<JmEvent>,
    ev_rx: &mut mpsc::UnboundedReceiver<JmEvent>,
    l: leadership::Leadership,
) {
    let with_ha = cfg.coordination.is_some();
    assert_eq!(l.epoch > 0, with_ha, "invariant: epoch 0 is the leadership without HA");
    let lease_epoch = l.lease.map(|lease| lease.epoch);
    assert_eq!(
        lease_epoch,
        with_ha.then_some(l.epoch),
        "invariant: a lease with HA, of the epoch"
    );
    assert_eq!(
        l.recovered.is_some(),
        with_ha,
        "invariant: a leader with HA recovered the job"
    );
    let (meta_tx, ha, _tasks) = LeaderTasks::spawn(cfg, ep, ev_tx, &l);
    let Ok(mut jm) = JobMaster::new(cfg.clone(), meta_tx, ha, l) else {
        // A configuration the engine cannot run: the job failed (traced).
        std::future::pending::<()>().await;
        return;
    };
    jm.run(ev_rx).await;
}

/// Where completed checkpoints go to have their metadata stored.
type MetadataSender = mpsc::UnboundedSender<CompletedCheckpoint>;

/// Where leader-only writes to the coordination service go (with HA).
type HaSender = mpsc::UnboundedSender<leadership::HaWrite>;

/// The tasks a leadership runs beside its `JobMaster`: the metadata writer
/// and, with HA, the writer of leader-only keys and the lease keeper. They
/// end with the leadership.
struct LeaderTasks {
    /// With HA: the leader-only writer and the lease keeper.
    _background: Vec<AbortOnDrop>,
    _metadata_writer: AbortOnDrop,
}

impl LeaderTasks {
    /// Start the tasks; returns where completed checkpoints' metadata and
    /// (with HA) leader-only writes go.
    fn spawn(
        cfg: &JobManagerConfig,
        ep: &Arc<Endpoint>,
        ev_tx: &mpsc::UnboundedSender<JmEvent>,
        l: &leadership::Leadership,
    ) -> (MetadataSender, Option<HaSender>, LeaderTasks) {
        let (meta_tx, meta_rx) = mpsc::unbounded_channel::<CompletedCheckpoint>();
        let storage = RpcClient::new(ep.clone(), cfg.services.checkpoint_storage, cfg.engine.rpc_timeout);
        let metadata_writer = AbortOnDrop(madsim::task::spawn(checkpoints::write_metadata(
            storage,
            l.epoch,
            meta_rx,
            ev_tx.clone(),
        )));
        let mut background = Vec::new();
        let mut ha = None;
        if let (Some(addr), Some(r)) = (cfg.coordination, l.recovered.as_ref()) {
            let (ha_tx, ha_rx) = mpsc::unbounded_channel();
            let state = leadership::HaWriterState {
                epoch: l.epoch,
                next_checkpoint_id: r.next_checkpoint_id,
                counter_version: r.counter_version,
                pointers: r.pointers.clone(),
                pointers_version: r.pointers_version,
                num_retained: cfg.engine.num_retained,
            };
            let coord = RpcClient::new(ep.clone(), addr, cfg.engine.rpc_timeout);
            background.push(AbortOnDrop(madsim::task::spawn(leadership::write_ha(
                coord,
                state,
                ha_rx,
                ev_tx.clone(),
            ))));
            background.push(AbortOnDrop(madsim::task::spawn(leadership::keep_lease(
                cfg.clone(),
                ep.clone(),
                l.epoch,
                ev_tx.clone(),
            ))));
            ha = Some(ha_tx);
        }
        let tasks = LeaderTasks {
            _background: background,
            _metadata_writer: metadata_writer,
        };
        (meta_tx, ha, tasks)
    }
}

async fn accept_task_managers(ep: Arc<Endpoint>, events: mpsc::UnboundedSender<JmEvent>) {
    let mut next_conn = 0u64;
    while let Ok((tx, mut rx, _)) = net::accept(&ep).await {
        next_conn += 1;
        let conn = next_conn;
        let events = events.clone();
        madsim::task::spawn(async move {
            let Ok(TmToJm::Register {
                tm,
                slots,
                data_addr,
                epoch,
            }) = rx.recv::<TmToJm>().await
            else {
                return;
            };
            if events
                .send(JmEvent::TmConnected {
                    tm,
                    slots,
                    data_addr,
                    epoch,
                    tx,
                    conn,
                })
                .is_err()
            {
                return;
            }
            loop {
                match rx.recv::<TmToJm>().await {
                    Ok(msg) => {
                        if events.send(JmEvent::FromTm { tm, conn, msg }).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = events.send(JmEvent::TmDisconnected {
                            tm,
                            conn,
                            error: e.to_string(),
                        });
                        return;
                    }
                }
            }
        });
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
    waiting_for_slots: bool,
    /// Due restarts wait for this checkpoint's finalisation to settle.
    waiting_for_checkpoint: Option<CheckpointId>,
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
}

impl JobMaster {
    fn new(
        mut cfg: JobManagerConfig,
        metadata: MetadataSender,
        ha: Option<HaSender>,
        l: leadership::Leadership,
    ) -> Result<Self, ()> {
        adopt_recovered_job(&mut cfg, &l);
        let (max_parallelism, restart_strategy) = match job_policies(&cfg) {
            Ok(policies) => policies,
            Err(reason) => {
                cfg.tracer.record(&cfg.node, TraceEvent::JobFailed { reason });
                return Err(());
            }
        };
        let coordinator = checkpoint_coordinator(&cfg, &l);
        trace_leadership_granted(&cfg, &l, coordinator.as_ref());
        let failover = create_failover_strategy(&cfg.engine.failover_strategy, &cfg.job);
        let vertices = cfg.job.execution_vertices();
        assert!(!vertices.is_empty(), "invariant: a job has a subtask");
        let desired_parallelism = submitted_parallelism(&cfg.job, max_parallelism);
        let now = cfg.tracer.now_ms() as i64;
        let result = l.recovered.as_ref().and_then(|r| r.result);
        let (status, pending) = initial_schedule(&cfg, result, &vertices, now);
        Ok(JobMaster {
            epoch: l.epoch,
            ha,
            lease: l.lease,
            awaiting_id: BTreeMap::new(),
            metadata_stored: BTreeSet::new(),
            revoked: None,
            slots_changed_ms: now,
            reactive_wait_until: None,
            desired_parallelism,
            finishing: false,
            first_checkpoint_id: coordinator
                .as_ref()
                .map_or(crate::checkpoint::INITIAL_CHECKPOINT_ID, |c| c.next_checkpoint_id()),
            max_parallelism,
            tms: BTreeMap::new(),
            executions: BTreeMap::new(),
            status,
            next_attempt: 1,
            coordinator,
            failure_manager: CheckpointFailureManager::new(cfg.engine.tolerable_failed_checkpoints),
            restart_strategy,
            restart_rng: rand::SeedableRng::seed_from_u64(cfg.restart_seed),
            failover,
            pending,
            waiting_for_slots: false,
            waiting_for_checkpoint: None,
            num_restarts: 0,
            task_metrics: BTreeMap::new(),
            next_heartbeat_ms: now + cfg.engine.heartbeat_interval.as_millis() as i64,
            vertices,
            metadata,
            cfg,
        })
    }

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
        if !self.waiting_for_slots && self.waiting_for_checkpoint.is_none() {
            if let Some(d) = self.pending.iter().map(|(due, _)| *due).min() {
                t = t.min(d);
            }
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
            // A broken connection is noticed by its reader task.
            let _ = info.tx.send(msg).await;
        }
    }

    async fn on_event(&mut self, ev: JmEvent) {
        match ev {
            JmEvent::TmConnected {
                tm,
                slots,
                data_addr,
                epoch,
                tx,
                conn,
            } => {
                if epoch != self.epoch {
                    return; // registered for another leadership: dropped
                }
                if self.tms.contains_key(&tm) {
                    self.task_manager_lost(tm, "re-registered").await;
                }
                let now = self.now_ms();
                let _ = tx.send(JmToTm::Registered).await;
                self.tms.insert(
                    tm,
                    TmInfo {
                        slots,
                        data_addr,
                        tx,
                        conn,
                        last_heard_ms: now,
                    },
                );
                self.trace(TraceEvent::TaskManagerRegistered { tm, slots });
                self.waiting_for_slots = false;
                self.slots_changed_ms = now;
                if self.cfg.engine.reactive {
                    self.rescale_up_if_possible().await;
                }
                self.try_deploy().await;
            }
            JmEvent::TmDisconnected { tm, conn, error } => {
                if self.cfg.engine.detect_connection_loss && self.tms.get(&tm).is_some_and(|t| t.conn == conn) {
                    self.task_manager_lost(tm, &format!("connection lost: {error}")).await;
                }
            }
            JmEvent::FromTm { tm, conn, msg } => {
                let now = self.now_ms();
                match self.tms.get_mut(&tm) {
                    Some(info) if info.conn == conn => info.last_heard_ms = now,
                    _ => return,
                }
                self.on_tm_message(msg).await;
            }
            JmEvent::FromLeaderTask { epoch, event } => {
                if epoch == self.epoch {
                    self.on_leader_task_event(event).await;
                } else {
                    assert!(
                        epoch < self.epoch,
                        "invariant: a report of a later leadership ({epoch})"
                    );
                    let text = format!("dropped a report of the leadership in epoch {epoch}");
                    self.trace(TraceEvent::Note { text });
                }
            }
        }
    }

    /// A report of this leadership's own tasks.
    async fn on_leader_task_event(&mut self, event: LeaderTaskEvent) {
        match event {
            LeaderTaskEvent::MetadataPersisted { checkpoint, result } => {
                self.on_metadata_persisted(checkpoint, result).await;
                self.deploy_after_finalization().await;
            }
            LeaderTaskEvent::LeaseRenewed { sent_ms } => {
                if let Some(l) = self.lease.as_mut() {
                    l.renewed(sent_ms);
                }
            }
            LeaderTaskEvent::LeaseLost { reason } => {
                if !self.cfg.ignores_lease() {
                    self.revoke(reason);
                }
            }
            LeaderTaskEvent::HaWritten { write, result } => {
                self.on_ha_written(write, result).await;
                self.deploy_after_finalization().await;
            }
        }
    }

    fn is_current(&self, id: ExecutionAttemptId) -> bool {
        id.epoch == self.epoch && self.executions.get(&id.vertex).is_some_and(|e| e.attempt == id.attempt)
    }

    fn attempt_id(&self, vertex: ExecutionVertexId, e: &Execution) -> ExecutionAttemptId {
        assert!(
            e.attempt >= 1 && e.attempt < self.next_attempt,
            "invariant: an execution's attempt was handed out"
        );
        ExecutionAttemptId {
            vertex,
            epoch: self.epoch,
            attempt: e.attempt,
        }
    }

    async fn on_tm_message(&mut self, msg: TmToJm) {
        match msg {
            TmToJm::Register { .. } | TmToJm::HeartbeatResponse { .. } => {}
            TmToJm::TaskRunning { id } => self.on_task_running(id).await,
            TmToJm::TaskFailed { id, reason } => self.on_task_failed(id, reason).await,
            TmToJm::AcknowledgeCheckpoint {
                id,
                checkpoint,
                handle,
                metrics,
            } => self.on_acknowledge(id, checkpoint, handle, metrics),
            TmToJm::DeclineCheckpoint { id, checkpoint, reason } => {
                if !self.is_current(id) {
                    return;
                }
                self.abort_checkpoint(
                    checkpoint,
                    CheckpointFailureReason::CheckpointDeclined,
                    &reason,
                    ReportedBy::Task,
                )
                .await;
            }
            TmToJm::TaskFinished { id } => self.on_task_finished(id).await,
        }
    }

    /// A deployed attempt runs (Flink's DEPLOYING to RUNNING): a checkpoint
    /// may now be due.
    async fn on_task_running(&mut self, id: ExecutionAttemptId) {
        if self.is_current(id) {
            if let Some(e) = self.executions.get_mut(&id.vertex) {
                if e.state == ExecutionState::Deploying {
                    e.state = ExecutionState::Running;
                }
            }
            self.poll_checkpoints().await;
        }
    }

    /// An attempt failed; handled if it is the current, live one (a stale
    /// or already cancelled attempt's failure is ignored).
    async fn on_task_failed(&mut self, id: ExecutionAttemptId, reason: String) {
        let live = self.executions.get(&id.vertex).is_some_and(|e| {
            id.epoch == self.epoch
                && e.attempt == id.attempt
                && matches!(e.state, ExecutionState::Deploying | ExecutionState::Running)
        });
        if live {
            if let Some(e) = self.executions.get_mut(&id.vertex) {
                e.state = ExecutionState::Failed;
            }
            self.handle_task_failure(id, reason).await;
        }
    }

    /// A current attempt acknowledged a checkpoint; once every subtask has,
    /// its metadata goes to checkpoint storage.
    fn on_acknowledge(
        &mut self,
        id: ExecutionAttemptId,
        checkpoint: CheckpointId,
        handle: StateHandle,
        metrics: TaskCheckpointMetrics,
    ) {
        if !self.is_current(id) {
            return;
        }
        let m = self.task_metrics.entry(checkpoint).or_default();
        *m = m.max(metrics);
        let Some(coord) = self.coordinator.as_mut() else { return };
        let outcome = coord.acknowledge(checkpoint, id.vertex, handle);
        assert_ne!(outcome, AckOutcome::Duplicate, "invariant: {id} acks {checkpoint} once");
        if outcome == AckOutcome::AllAcknowledged {
            let p = &coord.pending()[&checkpoint];
            let (acks, all) = (p.acknowledged.len(), self.vertices.len());
            assert_eq!(acks, all, "invariant: checkpoint {checkpoint}: every subtask");
            let metadata = CompletedCheckpoint {
                id: checkpoint,
                trigger_ms: p.trigger_ms,
                completion_ms: self.cfg.tracer.now_ms() as i64,
                states: p.acknowledged.clone(),
            };
            let _ = self.metadata.send(metadata);
        }
    }

    /// A current attempt finished (after the final checkpoint); when every
    /// subtask has, the job is FINISHED.
    async fn on_task_finished(&mut self, id: ExecutionAttemptId) {
        if !self.is_current(id) {
            return;
        }
        if let Some(e) = self.executions.get_mut(&id.vertex) {
            e.state = ExecutionState::Finished;
        }
        let all = self.executions.len() == self.vertices.len()
            && self.executions.values().all(|e| e.state == ExecutionState::Finished);
        if all && !self.status.is_terminal() {
            self.set_status(JobStatus::Finished);
            self.store_job_result(JobStatus::Finished);
            // Release the parked tasks; a terminal job ignores what
            // their ending does to each other.
            let all: BTreeSet<_> = self.vertices.iter().copied().collect();
            self.cancel(&all).await;
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
        self.set_status(JobStatus::Canceled);
        self.store_job_result(JobStatus::Canceled);
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
            self.waiting_for_slots = false;
        }
        if self.pending.iter().any(|(d, _)| now >= *d)
            && !self.waiting_for_slots
            && self.waiting_for_checkpoint.is_none()
        {
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

/// A new leader runs the job graph it recovered, whose checkpoints the
/// writer of leader-only keys (their pointers) and the coordinator (their
/// metadata) both continue from.
fn adopt_recovered_job(cfg: &mut JobManagerConfig, l: &leadership::Leadership) {
    if let Some(r) = &l.recovered {
        let next = r.next_checkpoint_id;
        assert!(
            next >= crate::checkpoint::INITIAL_CHECKPOINT_ID,
            "invariant: counter {next}"
        );
        let ids = r.completed.iter().map(|c| c.id);
        assert!(
            ids.eq(r.pointers.iter().copied()),
            "invariant: the pointers' checkpoints"
        );
        cfg.job = r.graph.clone();
    }
}

/// With HA, the leadership starts: its epoch and the checkpoint it restores.
fn trace_leadership_granted(cfg: &JobManagerConfig, l: &leadership::Leadership, c: Option<&CheckpointCoordinator>) {
    if l.lease.is_some() {
        let restored_from = c.and_then(|c| c.latest_completed()).map(|c| c.id);
        let granted = TraceEvent::LeadershipGranted {
            epoch: l.epoch,
            restored_from,
        };
        cfg.tracer.record(&cfg.node, granted);
    }
}

/// The job's max parallelism (its number of key groups) and its restart
/// strategy, or why the engine cannot run it.
fn job_policies(cfg: &JobManagerConfig) -> Result<(i32, Box<dyn RestartBackoffTimeStrategy>), String> {
    let max = cfg
        .engine
        .effective_max_parallelism(cfg.job.max_operator_parallelism())
        .map_err(|e| e.to_string())?;
    let bound = crate::partition::key_groups::UPPER_BOUND_MAX_PARALLELISM;
    assert!(
        (1..=bound).contains(&max),
        "invariant: max parallelism {max} beyond {bound}"
    );
    let restart =
        load_restart_strategy(&cfg.engine.raw, cfg.engine.checkpoint_interval.is_some()).map_err(|e| e.to_string())?;
    Ok((max, restart))
}

/// The checkpoint coordinator (with checkpointing), continuing the id
/// counter and the completed checkpoints a new leader recovered.
fn checkpoint_coordinator(cfg: &JobManagerConfig, l: &leadership::Leadership) -> Option<CheckpointCoordinator> {
    let next_id = l
        .recovered
        .as_ref()
        .map_or(crate::checkpoint::INITIAL_CHECKPOINT_ID, |r| r.next_checkpoint_id);
    cfg.engine.checkpoint_interval.map(|interval| {
        let mut c = CheckpointCoordinator::with_next_id(
            CoordinatorConfig {
                interval_ms: interval.as_millis() as i64,
                timeout_ms: cfg.engine.checkpoint_timeout.as_millis() as i64,
                min_pause_ms: cfg.engine.checkpoint_min_pause.as_millis() as i64,
                max_concurrent: cfg.engine.max_concurrent_checkpoints as usize,
                num_retained: cfg.engine.num_retained,
            },
            next_id,
        );
        if let Some(r) = &l.recovered {
            c.recover_completed(r.completed.clone());
        }
        c
    })
}

/// The parallelism each vertex was submitted with (each within the max).
fn submitted_parallelism(job: &JobGraph, max: i32) -> BTreeMap<crate::graph::JobVertexId, u32> {
    let submitted: BTreeMap<_, _> = job.vertex_ids().map(|v| (v, job.vertex(v).parallelism)).collect();
    let fits = |p: &u32| *p >= 1 && *p as i32 <= max;
    assert!(submitted.values().all(fits), "invariant: parallelism within 1..={max}");
    submitted
}

/// A new JobMaster's status and restart batches: the whole job due now, or
/// nothing when the job result store says the job is done (it is not run
/// again).
fn initial_schedule(
    cfg: &JobManagerConfig,
    result: Option<JobStatus>,
    vertices: &[ExecutionVertexId],
    now: i64,
) -> (JobStatus, Vec<(i64, BTreeSet<ExecutionVertexId>)>) {
    match result {
        Some(s) => {
            assert!(s.is_terminal(), "invariant: the job's result {s:?} is terminal");
            cfg.tracer.record(
                &cfg.node,
                TraceEvent::Note {
                    text: format!("the job result store says {s:?}: the job is not run again"),
                },
            );
            (s, Vec::new())
        }
        None => (JobStatus::Created, vec![(now, vertices.iter().copied().collect())]),
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
