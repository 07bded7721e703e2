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

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use madsim::net::Endpoint;
use madsim::rand::Rng;
use tokio::sync::mpsc;

use super::task::AbortOnDrop;
use crate::checkpoint::coordinator::{AckOutcome, CheckpointCoordinator, CoordinatorConfig, TriggerPoll};
use crate::checkpoint::failure_manager::{CheckpointFailureManager, CheckpointFailureReason};
use crate::checkpoint::{CheckpointBarrier, CheckpointId, CompletedCheckpoint, StoredBlob};
use crate::config::{EngineConfig, Sabotage};
use crate::failover::{create_failover_strategy, FailoverStrategy};
use crate::graph::{ExecutionVertexId, JobGraph, OperatorKind};
use crate::net::{self, ConnTx, RpcClient};
use crate::protocol::{
    ExecutionAttemptId, JmToTm, OutputChannelDescriptor, OutputDescriptor, RestoreSpec, ServiceAddrs, StorageRequest,
    StorageResponse, TaskDeploymentDescriptor, TmId, TmToJm,
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
}

enum JmEvent {
    TmConnected {
        tm: TmId,
        slots: u32,
        data_addr: SocketAddr,
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
    MetadataPersisted {
        checkpoint: CheckpointId,
        result: Result<(), String>,
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
    let ep = match Endpoint::bind(SocketAddr::new(cfg.ip, JOB_MANAGER_PORT)).await {
        Ok(ep) => Arc::new(ep),
        Err(e) => {
            cfg.tracer.record(
                &cfg.node,
                TraceEvent::Note {
                    text: format!("bind failed: {e}"),
                },
            );
            return;
        }
    };
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<JmEvent>();
    let _acceptor = AbortOnDrop(madsim::task::spawn(accept_task_managers(ep.clone(), ev_tx.clone())));
    let (meta_tx, meta_rx) = mpsc::unbounded_channel::<CompletedCheckpoint>();
    let storage = RpcClient::new(ep.clone(), cfg.services.checkpoint_storage, cfg.engine.rpc_timeout);
    let _writer = AbortOnDrop(madsim::task::spawn(write_metadata(storage, meta_rx, ev_tx.clone())));
    let mut jm = match JobMaster::new(cfg, meta_tx) {
        Ok(jm) => jm,
        Err(e) => return e,
    };
    loop {
        // Deadlines are whole milliseconds on the tracer's clock; waking at
        // exactly that instant makes `now_ms()` read the deadline itself.
        let wake = jm.cfg.tracer.instant_at(jm.next_wakeup_ms().max(0) as u64);
        tokio::select! {
            biased;
            ev = ev_rx.recv() => match ev {
                Some(ev) => jm.on_event(ev).await,
                None => return,
            },
            _ = madsim::time::sleep_until(wake) => jm.on_timer().await,
        }
    }
}

async fn accept_task_managers(ep: Arc<Endpoint>, events: mpsc::UnboundedSender<JmEvent>) {
    let mut next_conn = 0u64;
    while let Ok((tx, mut rx, _)) = net::accept(&ep).await {
        next_conn += 1;
        let conn = next_conn;
        let events = events.clone();
        madsim::task::spawn(async move {
            let Ok(TmToJm::Register { tm, slots, data_addr }) = rx.recv::<TmToJm>().await else {
                return;
            };
            if events
                .send(JmEvent::TmConnected {
                    tm,
                    slots,
                    data_addr,
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

async fn write_metadata(
    mut storage: RpcClient,
    mut rx: mpsc::UnboundedReceiver<CompletedCheckpoint>,
    events: mpsc::UnboundedSender<JmEvent>,
) {
    while let Some(c) = rx.recv().await {
        let checkpoint = c.id;
        let req = StorageRequest::Put {
            key: CompletedCheckpoint::metadata_key(c.id),
            blob: StoredBlob::Metadata(Arc::new(c)),
        };
        let result = match storage.call::<_, StorageResponse>(req).await {
            Ok(StorageResponse::Stored) => Ok(()),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        };
        if events.send(JmEvent::MetadataPersisted { checkpoint, result }).is_err() {
            return;
        }
    }
}

struct JobMaster {
    cfg: JobManagerConfig,
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
    to_deploy: BTreeSet<ExecutionVertexId>,
    deploy_at_ms: Option<i64>,
    waiting_for_slots: bool,
    num_restarts: u32,
    next_heartbeat_ms: i64,
    /// Largest alignment time reported per pending checkpoint.
    alignment: BTreeMap<CheckpointId, i64>,
    metadata: mpsc::UnboundedSender<CompletedCheckpoint>,
}

impl JobMaster {
    fn new(cfg: JobManagerConfig, metadata: mpsc::UnboundedSender<CompletedCheckpoint>) -> Result<Self, ()> {
        let fail = |cfg: &JobManagerConfig, text: String| {
            cfg.tracer.record(&cfg.node, TraceEvent::JobFailed { reason: text });
        };
        let max_parallelism = match cfg.engine.effective_max_parallelism(cfg.job.max_operator_parallelism()) {
            Ok(m) => m,
            Err(e) => {
                fail(&cfg, e.to_string());
                return Err(());
            }
        };
        let restart_strategy = match load_restart_strategy(&cfg.engine.raw, cfg.engine.checkpoint_interval.is_some()) {
            Ok(s) => s,
            Err(e) => {
                fail(&cfg, e.to_string());
                return Err(());
            }
        };
        let coordinator = cfg.engine.checkpoint_interval.map(|interval| {
            CheckpointCoordinator::new(CoordinatorConfig {
                interval_ms: interval.as_millis() as i64,
                timeout_ms: cfg.engine.checkpoint_timeout.as_millis() as i64,
                min_pause_ms: cfg.engine.checkpoint_min_pause.as_millis() as i64,
                max_concurrent: cfg.engine.max_concurrent_checkpoints as usize,
                num_retained: cfg.engine.num_retained,
            })
        });
        let failover = create_failover_strategy(cfg.engine.failover_strategy, &cfg.job);
        let vertices = cfg.job.execution_vertices();
        let now = cfg.tracer.now_ms() as i64;
        Ok(JobMaster {
            max_parallelism,
            tms: BTreeMap::new(),
            executions: BTreeMap::new(),
            status: JobStatus::Created,
            next_attempt: 1,
            coordinator,
            failure_manager: CheckpointFailureManager::new(cfg.engine.tolerable_failed_checkpoints),
            restart_strategy,
            restart_rng: rand::SeedableRng::seed_from_u64(cfg.restart_seed),
            failover,
            to_deploy: vertices.iter().copied().collect(),
            deploy_at_ms: Some(now),
            waiting_for_slots: false,
            num_restarts: 0,
            alignment: BTreeMap::new(),
            next_heartbeat_ms: now + cfg.engine.heartbeat_interval.as_millis() as i64,
            vertices,
            metadata,
            cfg,
        })
    }

    fn now_ms(&self) -> i64 {
        self.cfg.tracer.now_ms() as i64
    }

    fn trace(&self, event: TraceEvent) {
        self.cfg.tracer.record(&self.cfg.node, event);
    }

    fn next_wakeup_ms(&self) -> i64 {
        let mut t = self.next_heartbeat_ms;
        if let Some(d) = self.deploy_at_ms {
            if !self.waiting_for_slots {
                t = t.min(d);
            }
        }
        if self.status == JobStatus::Running {
            if let Some(d) = self.coordinator.as_ref().and_then(|c| c.next_deadline_ms()) {
                t = t.min(d);
            }
        }
        t
    }

    fn set_status(&mut self, to: JobStatus) {
        if self.status != to {
            self.trace(TraceEvent::JobStatusChanged { from: self.status, to });
            self.status = to;
        }
    }

    async fn send_to_tm(&self, tm: TmId, msg: JmToTm) {
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
                tx,
                conn,
            } => {
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
            JmEvent::MetadataPersisted { checkpoint, result } => self.on_metadata_persisted(checkpoint, result).await,
        }
    }

    fn is_current(&self, id: ExecutionAttemptId) -> bool {
        self.executions.get(&id.vertex).is_some_and(|e| e.attempt == id.attempt)
    }

    async fn on_tm_message(&mut self, msg: TmToJm) {
        match msg {
            TmToJm::Register { .. } | TmToJm::HeartbeatResponse { .. } => {}
            TmToJm::TaskRunning { id } => {
                if self.is_current(id) {
                    if let Some(e) = self.executions.get_mut(&id.vertex) {
                        if e.state == ExecutionState::Deploying {
                            e.state = ExecutionState::Running;
                        }
                    }
                    self.poll_checkpoints().await;
                }
            }
            TmToJm::TaskFailed { id, reason } => {
                let live = self.executions.get(&id.vertex).is_some_and(|e| {
                    e.attempt == id.attempt && matches!(e.state, ExecutionState::Deploying | ExecutionState::Running)
                });
                if live {
                    if let Some(e) = self.executions.get_mut(&id.vertex) {
                        e.state = ExecutionState::Failed;
                    }
                    self.handle_task_failure(id, reason).await;
                }
            }
            TmToJm::AcknowledgeCheckpoint {
                id,
                checkpoint,
                handle,
                alignment_ms,
            } => {
                if !self.is_current(id) {
                    return;
                }
                let a = self.alignment.entry(checkpoint).or_insert(0);
                *a = (*a).max(alignment_ms);
                let Some(coord) = self.coordinator.as_mut() else { return };
                if coord.acknowledge(checkpoint, id.vertex, handle) == AckOutcome::AllAcknowledged {
                    let p = &coord.pending()[&checkpoint];
                    let metadata = CompletedCheckpoint {
                        id: checkpoint,
                        trigger_ms: p.trigger_ms,
                        completion_ms: self.cfg.tracer.now_ms() as i64,
                        states: p.acknowledged.clone(),
                    };
                    let _ = self.metadata.send(metadata);
                }
            }
            TmToJm::DeclineCheckpoint { id, checkpoint, reason } => {
                if !self.is_current(id) {
                    return;
                }
                self.abort_checkpoint(checkpoint, CheckpointFailureReason::CheckpointDeclined, &reason, true)
                    .await;
            }
        }
    }

    /// Abort a pending checkpoint and let the failure manager count it.
    async fn abort_checkpoint(
        &mut self,
        checkpoint: CheckpointId,
        reason: CheckpointFailureReason,
        detail: &str,
        by_task: bool,
    ) {
        let Some(coord) = self.coordinator.as_mut() else { return };
        if coord.abort(checkpoint).is_none() {
            return;
        }
        self.trace(TraceEvent::CheckpointAborted {
            id: checkpoint,
            reason: format!("{}: {detail}", reason.name()),
        });
        let fail = self
            .failure_manager
            .handle_checkpoint_exception(reason, Some(checkpoint), false, false, by_task);
        if let Some(f) = fail {
            self.handle_global_failure(f.message()).await;
        } else {
            self.poll_checkpoints().await;
        }
    }

    async fn on_metadata_persisted(&mut self, checkpoint: CheckpointId, result: Result<(), String>) {
        if let Err(e) = result {
            self.abort_checkpoint(
                checkpoint,
                CheckpointFailureReason::FinalizeCheckpointFailure,
                &e,
                false,
            )
            .await;
            return;
        }
        let now = self.now_ms();
        let Some(coord) = self.coordinator.as_mut() else { return };
        let Some(done) = coord.complete(checkpoint, now) else {
            return; // aborted meanwhile (failover or subsumed)
        };
        self.failure_manager.handle_checkpoint_success(checkpoint);
        let alignment_ms = self.alignment.remove(&checkpoint).unwrap_or(0);
        self.alignment.retain(|k, _| *k > checkpoint);
        self.trace(TraceEvent::CheckpointCompleted {
            id: checkpoint,
            duration_ms: now - done.checkpoint.trigger_ms,
            size_bytes: done.checkpoint.state_size(),
            alignment_ms,
            persisted_bytes: done.checkpoint.persisted_in_flight(),
        });
        for s in done.subsumed_pending {
            self.trace(TraceEvent::CheckpointAborted {
                id: s,
                reason: CheckpointFailureReason::CheckpointSubsumed.name().to_string(),
            });
        }
        let targets: Vec<(TmId, ExecutionAttemptId)> = self
            .executions
            .iter()
            .filter(|(_, e)| e.state == ExecutionState::Running)
            .map(|(v, e)| {
                (
                    e.tm,
                    ExecutionAttemptId {
                        vertex: *v,
                        attempt: e.attempt,
                    },
                )
            })
            .collect();
        for (tm, id) in targets {
            self.send_to_tm(tm, JmToTm::NotifyCheckpointComplete { id, checkpoint })
                .await;
        }
        self.poll_checkpoints().await;
    }

    async fn on_timer(&mut self) {
        let now = self.now_ms();
        if now >= self.next_heartbeat_ms {
            self.next_heartbeat_ms += self.cfg.engine.heartbeat_interval.as_millis() as i64;
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
            for t in self.tms.values() {
                let _ = t.tx.send(JmToTm::HeartbeatRequest).await;
            }
        }
        if self.deploy_at_ms.is_some_and(|d| now >= d) && !self.waiting_for_slots {
            self.try_deploy().await;
        }
        if self.status == JobStatus::Running {
            let expired = self.coordinator.as_mut().map(|c| c.expire(now)).unwrap_or_default();
            for id in expired {
                // `expire` already removed it; count it like an abort.
                self.trace(TraceEvent::CheckpointAborted {
                    id,
                    reason: CheckpointFailureReason::CheckpointExpired.name().to_string(),
                });
                if let Some(f) = self.failure_manager.handle_checkpoint_exception(
                    CheckpointFailureReason::CheckpointExpired,
                    Some(id),
                    false,
                    false,
                    false,
                ) {
                    self.handle_global_failure(f.message()).await;
                    return;
                }
            }
            self.poll_checkpoints().await;
        }
    }

    fn all_running(&self) -> bool {
        self.status == JobStatus::Running
            && self.executions.len() == self.vertices.len()
            && self.executions.values().all(|e| e.state == ExecutionState::Running)
    }

    async fn poll_checkpoints(&mut self) {
        if self.status != JobStatus::Running {
            return;
        }
        let now = self.now_ms();
        let all_running = self.all_running();
        let Some(coord) = self.coordinator.as_mut() else { return };
        match coord.poll(now, all_running) {
            TriggerPoll::Idle => {}
            TriggerPoll::Failed(reason) => {
                self.trace(TraceEvent::CheckpointTriggerFailed {
                    reason: reason.name().to_string(),
                });
                if let Some(f) = self
                    .failure_manager
                    .handle_checkpoint_exception(reason, None, false, false, false)
                {
                    self.handle_global_failure(f.message()).await;
                }
            }
            TriggerPoll::Trigger { id, timestamp_ms } => {
                coord.register_pending(id, timestamp_ms, self.vertices.iter().copied());
                self.trace(TraceEvent::CheckpointTriggered { id });
                let barrier = CheckpointBarrier { id, timestamp_ms };
                let sources: Vec<(TmId, ExecutionAttemptId)> = self
                    .executions
                    .iter()
                    .filter(|(v, _)| matches!(self.cfg.job.vertex(v.vertex).kind, OperatorKind::Source { .. }))
                    .map(|(v, e)| {
                        (
                            e.tm,
                            ExecutionAttemptId {
                                vertex: *v,
                                attempt: e.attempt,
                            },
                        )
                    })
                    .collect();
                for (tm, id) in sources {
                    self.send_to_tm(tm, JmToTm::TriggerCheckpoint { id, barrier }).await;
                }
            }
        }
    }

    async fn task_manager_lost(&mut self, tm: TmId, reason: &str) {
        if self.tms.remove(&tm).is_none() {
            return;
        }
        self.trace(TraceEvent::TaskManagerLost {
            tm,
            reason: reason.to_string(),
        });
        let victim = self
            .executions
            .iter()
            .find(|(_, e)| e.tm == tm && matches!(e.state, ExecutionState::Deploying | ExecutionState::Running))
            .map(|(v, e)| ExecutionAttemptId {
                vertex: *v,
                attempt: e.attempt,
            });
        for e in self.executions.values_mut().filter(|e| e.tm == tm) {
            if matches!(e.state, ExecutionState::Deploying | ExecutionState::Running) {
                e.state = ExecutionState::Failed;
            }
        }
        if let Some(id) = victim {
            self.handle_task_failure(id, format!("TaskManager {tm} lost: {reason}"))
                .await;
        }
    }

    async fn handle_task_failure(&mut self, id: ExecutionAttemptId, reason: String) {
        if self.status != JobStatus::Running {
            return;
        }
        self.trace(TraceEvent::TaskFailed {
            task: id.vertex.to_string(),
            attempt: id.attempt,
            reason: reason.clone(),
        });
        let to_restart = self.failover.tasks_needing_restart(id.vertex);
        self.handle_failure(to_restart).await;
    }

    async fn handle_global_failure(&mut self, reason: String) {
        if self.status != JobStatus::Running {
            return;
        }
        self.trace(TraceEvent::GlobalFailure { reason });
        let all = self.vertices.iter().copied().collect();
        self.handle_failure(all).await;
    }

    /// Flink's `ExecutionFailureHandler` + `DefaultScheduler.restartTasksWithDelay`.
    async fn handle_failure(&mut self, to_restart: BTreeSet<ExecutionVertexId>) {
        let now = self.now_ms();
        let is_new_attempt = self.restart_strategy.notify_failure(now, &mut self.restart_rng);
        let aborted = self
            .coordinator
            .as_mut()
            .map(|c| c.abort_all_pending())
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
            self.to_deploy.extend(to_restart);
            self.deploy_at_ms = Some(now + delay);
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
            self.to_deploy.clear();
            self.deploy_at_ms = None;
            self.set_status(JobStatus::Failed);
            self.trace(TraceEvent::JobFailed {
                reason: format!("Recovery is suppressed by {}", self.restart_strategy.describe()),
            });
        }
    }

    async fn cancel(&mut self, set: &BTreeSet<ExecutionVertexId>) {
        let targets: Vec<(TmId, ExecutionAttemptId)> = set
            .iter()
            .filter_map(|v| {
                self.executions.get(v).map(|e| {
                    (
                        e.tm,
                        ExecutionAttemptId {
                            vertex: *v,
                            attempt: e.attempt,
                        },
                    )
                })
            })
            .collect();
        for (tm, id) in targets {
            self.send_to_tm(tm, JmToTm::CancelTask { id }).await;
            if let Some(e) = self.executions.get_mut(&id.vertex) {
                e.state = ExecutionState::Canceled;
            }
        }
    }

    /// Slots in deterministic order, spread over the TaskManagers (slot 0 of
    /// every TaskManager, then slot 1, ...), like Flink with
    /// `cluster.evenly-spread-out-slots`. With Flink's default slot sharing one
    /// slot holds one subtask of every vertex, so slot i runs subtask i.
    fn slots(&self) -> Vec<TmId> {
        let max = self.tms.values().map(|t| t.slots).max().unwrap_or(0);
        (0..max)
            .flat_map(|s| self.tms.iter().filter(move |(_, t)| s < t.slots).map(|(id, _)| *id))
            .collect()
    }

    async fn try_deploy(&mut self) {
        if self.status.is_terminal() || self.to_deploy.is_empty() || self.deploy_at_ms.is_none_or(|d| self.now_ms() < d)
        {
            return;
        }
        let slots = self.slots();
        // Slots used by subtasks that keep running (partial restarts).
        let needed = self.cfg.job.max_operator_parallelism() as usize;
        if slots.len() < needed {
            if !self.waiting_for_slots {
                self.trace(TraceEvent::WaitingForSlots {
                    needed: needed as u32,
                    available: slots.len() as u32,
                });
            }
            self.waiting_for_slots = true;
            return;
        }
        self.waiting_for_slots = false;
        let attempt = self.next_attempt;
        self.next_attempt += 1;
        let batch: Vec<ExecutionVertexId> = std::mem::take(&mut self.to_deploy).into_iter().collect();
        self.deploy_at_ms = None;
        for v in &batch {
            let tm = slots[v.subtask as usize];
            self.executions.insert(
                *v,
                Execution {
                    attempt,
                    tm,
                    state: ExecutionState::Deploying,
                },
            );
        }
        let latest = self.coordinator.as_ref().and_then(|c| c.latest_completed()).cloned();
        let mut tdds = Vec::new();
        for v in &batch {
            let vertex = self.cfg.job.vertex(v.vertex);
            let outputs = self
                .cfg
                .job
                .output_channels(*v)
                .into_iter()
                .map(|(ship, targets)| OutputDescriptor {
                    ship,
                    consumer_parallelism: targets.len() as u32,
                    channels: targets
                        .into_iter()
                        .map(|t| {
                            let e = self.executions[&t.consumer];
                            OutputChannelDescriptor {
                                target: t,
                                consumer_attempt: e.attempt,
                                address: self.tms.get(&e.tm).map(|i| i.data_addr).unwrap_or_else(|| {
                                    // The consumer's TaskManager is gone; the
                                    // connection attempt fails and the task with it.
                                    SocketAddr::new(self.cfg.ip, 1)
                                }),
                            }
                        })
                        .collect(),
                })
                .map(|mut o| {
                    if o.ship == crate::graph::ShipStrategy::Forward {
                        o.consumer_parallelism = self.cfg.job.vertex(o.channels[0].target.consumer.vertex).parallelism;
                    }
                    o
                })
                .collect();
            let restore = latest.as_ref().and_then(|c| {
                c.states.get(v).map(|h| RestoreSpec {
                    checkpoint_id: c.id,
                    handles: vec![h.clone()],
                })
            });
            let tdd = TaskDeploymentDescriptor {
                id: ExecutionAttemptId { vertex: *v, attempt },
                name: vertex.name.clone(),
                kind: vertex.kind.clone(),
                parallelism: vertex.parallelism,
                max_parallelism: self.max_parallelism,
                input_gates: self.cfg.job.input_gate_sizes(v.vertex),
                outputs,
                restore,
                services: self.cfg.services,
            };
            tdds.push((self.executions[v].tm, tdd));
        }
        self.trace(TraceEvent::TasksDeployed {
            attempt,
            tasks: batch.len() as u32,
            restored_from: latest.as_ref().map(|c| c.id),
        });
        self.set_status(JobStatus::Running);
        for (tm, tdd) in tdds {
            self.send_to_tm(tm, JmToTm::Deploy(Box::new(tdd))).await;
        }
        self.start_checkpoint_scheduler();
    }

    fn start_checkpoint_scheduler(&mut self) {
        let now = self.now_ms();
        if let Some(c) = self.coordinator.as_mut() {
            let cfg = *c.config();
            // Flink draws the initial delay uniformly in [minPause, baseInterval].
            let delay = madsim::rand::thread_rng().gen_range(cfg.min_pause_ms..=cfg.base_interval_ms());
            c.start_scheduler(now, delay);
        }
    }
}
