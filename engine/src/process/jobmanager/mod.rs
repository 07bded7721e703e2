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
//! This file holds the event loop and the registry; `checkpoints.rs`,
//! `failures.rs` and `scheduling.rs` add the rest of `JobMaster`.

mod checkpoints;
mod failures;
mod scheduling;

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
    let Some(ep) = crate::process::bind_endpoint(cfg.ip, JOB_MANAGER_PORT, &cfg.tracer, &cfg.node).await else {
        return;
    };
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<JmEvent>();
    let _acceptor = AbortOnDrop(madsim::task::spawn(accept_task_managers(ep.clone(), ev_tx.clone())));
    let (meta_tx, meta_rx) = mpsc::unbounded_channel::<CompletedCheckpoint>();
    let storage = RpcClient::new(ep.clone(), cfg.services.checkpoint_storage, cfg.engine.rpc_timeout);
    let _writer = AbortOnDrop(madsim::task::spawn(checkpoints::write_metadata(
        storage,
        meta_rx,
        ev_tx.clone(),
    )));
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
            epoch: 0,
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
            pending: vec![(now, vertices.iter().copied().collect())],
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
        if !self.waiting_for_slots {
            if let Some(d) = self.pending.iter().map(|(due, _)| *due).min() {
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
        id.epoch == self.epoch && self.executions.get(&id.vertex).is_some_and(|e| e.attempt == id.attempt)
    }

    fn attempt_id(&self, vertex: ExecutionVertexId, e: &Execution) -> ExecutionAttemptId {
        ExecutionAttemptId {
            vertex,
            epoch: self.epoch,
            attempt: e.attempt,
        }
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
        if self.pending.iter().any(|(d, _)| now >= *d) && !self.waiting_for_slots {
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
}
