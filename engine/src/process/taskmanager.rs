//! The TaskManager process: registers its slots with the JobManager, answers
//! heartbeats, runs the subtasks deployed to it, and routes inbound data
//! connections to them.
//!
//! When the JobManager stops sending heartbeat requests for `heartbeat.timeout`,
//! or the connection to it breaks, the TaskManager cancels all its tasks and
//! registers again (Flink's TaskExecutor does the same on JobManager loss).
//!
//! With HA the TaskManager finds the leader through the coordination service
//! (Flink's leader retrieval; a watch, modelled by polling every
//! [`LEADER_POLL`]) and registers with the leader's epoch. It remembers the
//! newest epoch it has seen and never follows an older one; when a newer
//! leader appears it ends the session with the old one, which cancels the old
//! leader's tasks. Commands of a session are those of its leader's epoch.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use madsim::net::Endpoint;
use tokio::sync::mpsc;

use super::resources::TaskManagerResources;
use super::task::{self, AbortOnDrop, InboundChannel, TaskControl, TaskEnv, TaskEvent};
use crate::config::{EngineConfig, Sabotage};
use crate::graph::ExecutionVertexId;
use crate::ha::{CoordinationRequest, CoordinationResponse, Leader};
use crate::net::RpcClient;
use crate::net::{self, ConnRx, ConnTx};
use crate::protocol::{ChannelHello, ExecutionAttemptId, JmToTm, TaskDeploymentDescriptor, TmId, TmToJm};
use crate::trace::{TraceEvent, Tracer};

/// Port of the TaskManager's endpoint (data connections are accepted here).
pub const TASK_MANAGER_PORT: u16 = 6121;

/// Static configuration of one TaskManager.
#[derive(Clone)]
pub struct TaskManagerConfig {
    pub tm: TmId,
    pub slots: u32,
    pub ip: std::net::IpAddr,
    /// The JobManagers' addresses, by index.
    pub jobmanagers: Vec<SocketAddr>,
    /// The coordination service, with HA.
    pub coordination: Option<SocketAddr>,
    pub engine: Arc<EngineConfig>,
    pub sabotage: Sabotage,
    pub tracer: Tracer,
    pub node: String,
    /// Checkpoint storage's aggregate link, shared by every TaskManager
    /// (under the resource model, with a cap).
    pub storage_aggregate: Option<Arc<Mutex<crate::resources::link::Link>>>,
    /// Where the run keeps every subtask's load (shared by every TaskManager).
    pub load: super::task::load::LoadRegistry,
}

/// Inbound data connections, routed to tasks by consumer attempt. A
/// connection may arrive before its task is deployed; it waits here.
#[derive(Default)]
struct ChannelRegistry {
    tasks: BTreeMap<ExecutionAttemptId, mpsc::UnboundedSender<InboundChannel>>,
    early: BTreeMap<ExecutionAttemptId, Vec<InboundChannel>>,
}

impl ChannelRegistry {
    fn route(&mut self, hello: ChannelHello, tx: ConnTx, rx: ConnRx) {
        let ch = InboundChannel {
            gate: hello.gate,
            channel: hello.channel,
            tx,
            rx,
        };
        match self.tasks.get(&hello.consumer) {
            Some(sender) => {
                let _ = sender.send(ch);
            }
            None => self.early.entry(hello.consumer).or_default().push(ch),
        }
    }

    fn register(&mut self, id: ExecutionAttemptId, sender: mpsc::UnboundedSender<InboundChannel>) {
        // Connections for older attempts of this subtask will never be used.
        self.early
            .retain(|k, _| !(k.vertex == id.vertex && k.attempt < id.attempt));
        for ch in self.early.remove(&id).unwrap_or_default() {
            let _ = sender.send(ch);
        }
        let previous = self.tasks.insert(id, sender);
        assert!(previous.is_none(), "invariant: attempt {id} is deployed once");
    }

    fn unregister(&mut self, id: ExecutionAttemptId) {
        self.tasks.remove(&id);
    }

    fn clear(&mut self) {
        self.tasks.clear();
        self.early.clear();
    }
}

struct RunningTask {
    id: ExecutionAttemptId,
    control: mpsc::UnboundedSender<TaskControl>,
    _handle: AbortOnDrop,
}

/// Run a TaskManager forever (the node's init task).
pub async fn run_task_manager(cfg: TaskManagerConfig) {
    let Some(ep) = super::bind_endpoint(cfg.ip, TASK_MANAGER_PORT, &cfg.tracer, &cfg.node).await else {
        return;
    };
    let registry = Arc::new(Mutex::new(ChannelRegistry::default()));
    let _acceptor = AbortOnDrop(madsim::task::spawn(accept_data_connections(
        ep.clone(),
        registry.clone(),
    )));
    let (leader_tx, mut leaders) = tokio::sync::watch::channel::<Option<Leader>>(None);
    let _watch = cfg.coordination.map(|addr| {
        let client = RpcClient::new(ep.clone(), addr, cfg.engine.rpc_timeout);
        AbortOnDrop(madsim::task::spawn(watch_leader(client, leader_tx)))
    });
    let fencing = cfg.sabotage.fences_cluster();
    // One set of cores and links per process: a restarted TaskManager
    // starts idle.
    let resources = TaskManagerResources::new(
        cfg.engine.resources,
        cfg.slots,
        cfg.tracer.clone(),
        cfg.storage_aggregate.clone(),
    );
    let mut newest_epoch = 0u64;
    loop {
        let session = match cfg.coordination {
            None => Leader { candidate: 0, epoch: 0 },
            Some(_) => {
                let known = *leaders.borrow_and_update();
                match known {
                    Some(l) if l.epoch >= newest_epoch || !fencing => l,
                    _ => {
                        // No leader, or only an older one than already seen.
                        let _ = madsim::time::timeout(LEADER_POLL, leaders.changed()).await;
                        continue;
                    }
                }
            }
        };
        newest_epoch = newest_epoch.max(session.epoch);
        let Some(addr) = cfg.jobmanagers.get(session.candidate as usize).copied() else {
            madsim::time::sleep(LEADER_POLL).await;
            continue;
        };
        let Ok((tx, rx)) = net::connect(&ep, addr).await else {
            madsim::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let data_addr = SocketAddr::new(cfg.ip, TASK_MANAGER_PORT);
        if tx
            .send(TmToJm::Register {
                tm: cfg.tm,
                slots: cfg.slots,
                data_addr,
                epoch: session.epoch,
            })
            .await
            .is_err()
        {
            continue;
        }
        let session = Session {
            leader: session,
            resources: &resources,
        };
        run_session(&cfg, &ep, &registry, tx, rx, session, &mut leaders).await;
        registry.lock().expect("invariant: lock not poisoned").clear();
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How often a TaskManager asks the coordination service who leads.
pub const LEADER_POLL: Duration = Duration::from_millis(250);

/// Poll the coordination service for the leader; publish changes.
async fn watch_leader(mut client: RpcClient, tx: tokio::sync::watch::Sender<Option<Leader>>) {
    loop {
        if let Ok(CoordinationResponse::Leader(l)) = client
            .call::<_, CoordinationResponse>(CoordinationRequest::GetLeader)
            .await
        {
            tx.send_if_modified(|cur| {
                let changed = *cur != l;
                *cur = l;
                changed
            });
        }
        madsim::time::sleep(LEADER_POLL).await;
    }
}

async fn accept_data_connections(ep: Arc<Endpoint>, registry: Arc<Mutex<ChannelRegistry>>) {
    while let Ok((tx, mut rx, _from)) = net::accept(&ep).await {
        let registry = registry.clone();
        madsim::task::spawn(async move {
            if let Ok(hello) = rx.recv::<ChannelHello>().await {
                registry
                    .lock()
                    .expect("invariant: lock not poisoned")
                    .route(hello, tx, rx);
            }
        });
    }
}

/// What one registration with a leader works with.
struct Session<'a> {
    leader: Leader,
    resources: &'a Arc<TaskManagerResources>,
}

/// One registration with the JobManager; returns when it is lost, or when
/// another leader appears (a newer one; any other one without fencing).
async fn run_session(
    cfg: &TaskManagerConfig,
    ep: &Arc<Endpoint>,
    registry: &Arc<Mutex<ChannelRegistry>>,
    jm_tx: ConnTx,
    mut jm_rx: ConnRx,
    session: Session<'_>,
    leaders: &mut tokio::sync::watch::Receiver<Option<Leader>>,
) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<TaskEvent>();
    let mut tasks = SessionTasks {
        cfg,
        ep,
        registry,
        leader: session.leader,
        resources: session.resources,
        running: BTreeMap::new(),
        events: &ev_tx,
    };
    let timeout = cfg.engine.heartbeat_timeout;
    let mut last_heard = madsim::time::Instant::now();
    loop {
        let deadline = last_heard + timeout;
        tokio::select! {
            biased;
            msg = jm_rx.recv::<JmToTm>() => {
                let Ok(msg) = msg else { return };
                last_heard = madsim::time::Instant::now();
                if matches!(msg, JmToTm::HeartbeatRequest) {
                    if jm_tx.send(TmToJm::HeartbeatResponse { tm: cfg.tm }).await.is_err() {
                        return;
                    }
                } else {
                    tasks.command(msg);
                }
            }
            ev = ev_rx.recv() => {
                let Some(ev) = ev else { continue };
                if jm_tx.send(tasks.report(ev)).await.is_err() {
                    return;
                }
            }
            changed = leaders.changed(), if cfg.coordination.is_some() => {
                if changed.is_err() {
                    continue;
                }
                let now = *leaders.borrow_and_update();
                let leader = tasks.leader;
                let fencing = tasks.fencing();
                let newer = now.is_some_and(|l| if fencing { l.epoch > leader.epoch } else { l != leader });
                if newer {
                    cfg.tracer.record(&cfg.node, TraceEvent::Note { text: format!("new leader {now:?}; leaving the session with epoch {}", leader.epoch) });
                    return;
                }
            }
            _ = madsim::time::sleep_until(deadline) => {
                cfg.tracer.record(&cfg.node, TraceEvent::Note { text: "JobManager heartbeat timed out; cancelling tasks".into() });
                return;
            }
        }
    }
}

/// The tasks of one session and what they run with; dropping it cancels
/// them.
struct SessionTasks<'a> {
    cfg: &'a TaskManagerConfig,
    ep: &'a Arc<Endpoint>,
    registry: &'a Arc<Mutex<ChannelRegistry>>,
    /// The leader whose commands this session takes: attempts of its epoch.
    leader: Leader,
    resources: &'a Arc<TaskManagerResources>,
    running: BTreeMap<ExecutionVertexId, RunningTask>,
    /// Where the tasks report (the session's receiver outlives them).
    events: &'a mpsc::UnboundedSender<TaskEvent>,
}

impl SessionTasks<'_> {
    /// Whether this TaskManager checks epochs (test-only broken variants
    /// do not).
    fn fencing(&self) -> bool {
        self.cfg.sabotage.fences_cluster()
    }

    /// Carry out the leader's command (all but heartbeats).
    fn command(&mut self, msg: JmToTm) {
        match msg {
            JmToTm::Registered | JmToTm::HeartbeatRequest => {}
            JmToTm::Deploy(tdd) => self.deploy(*tdd),
            JmToTm::CancelTask { id } => self.cancel(id),
            JmToTm::TriggerCheckpoint { id, barrier } => self.control(id, TaskControl::TriggerCheckpoint(barrier)),
            JmToTm::NotifyCheckpointComplete { id, checkpoint, member } => {
                self.control(id, TaskControl::NotifyCheckpointComplete(checkpoint, member))
            }
            JmToTm::FinishTask { id } => self.control(id, TaskControl::Finish),
        }
    }

    /// Start a deployed attempt, in place of an older one of its subtask.
    fn deploy(&mut self, tdd: TaskDeploymentDescriptor) {
        let id = tdd.id;
        let leader = self.leader;
        assert_eq!(
            id.epoch, leader.epoch,
            "invariant: {id} deployed in epoch {}",
            leader.epoch
        );
        assert!(
            id.vertex.subtask < tdd.parallelism,
            "invariant: {id} beyond {}",
            tdd.parallelism
        );
        let accepted = TraceEvent::DeploymentAccepted {
            task: id,
            jm: leader.candidate,
            epoch: leader.epoch,
        };
        self.cfg.tracer.record(&self.cfg.node, accepted);
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        if let Some(old) = self.running.remove(&id.vertex) {
            assert!(
                !self.fencing() || old.id.fencing_token() < id.fencing_token(),
                "invariant: a deployment replaces only an older attempt of its subtask"
            );
            self.registry
                .lock()
                .expect("invariant: lock not poisoned")
                .unregister(old.id);
        }
        self.registry
            .lock()
            .expect("invariant: lock not poisoned")
            .register(id, in_tx);
        let env = TaskEnv {
            tdd,
            endpoint: self.ep.clone(),
            control: ctl_rx,
            inbound: in_rx,
            events: self.events.clone(),
            config: self.cfg.engine.clone(),
            sabotage: self.cfg.sabotage,
            tracer: self.cfg.tracer.clone(),
            node: self.cfg.node.clone(),
            resources: self.resources.clone(),
            load: self.cfg.load.clone(),
        };
        let handle = AbortOnDrop(madsim::task::spawn(task::run(env)));
        let task = RunningTask {
            id,
            control: ctl_tx,
            _handle: handle,
        };
        self.running.insert(id.vertex, task);
    }

    /// Cancel an attempt (or an older one of its subtask still running),
    /// then report it CANCELED: the task has stopped (dropping it aborts
    /// it), or was not running here.
    fn cancel(&mut self, id: ExecutionAttemptId) {
        let epoch = self.leader.epoch;
        assert_eq!(id.epoch, epoch, "invariant: {id} cancelled in epoch {epoch}");
        let token = id.fencing_token();
        if self
            .running
            .get(&id.vertex)
            .is_some_and(|t| t.id.fencing_token() <= token)
        {
            self.running.remove(&id.vertex);
            self.registry
                .lock()
                .expect("invariant: lock not poisoned")
                .unregister(id);
        }
        let stopped = self.running.get(&id.vertex).is_none_or(|t| t.id != id);
        assert!(stopped, "invariant: {id} runs after its cancel call");
        // The session's receiver outlives its tasks: the report goes out.
        let _ = self.events.send(TaskEvent::Canceled(id));
    }

    /// Pass a control message to the running attempt `id` (ignored when
    /// another attempt of its subtask runs, or none).
    fn control(&self, id: ExecutionAttemptId, control: TaskControl) {
        let epoch = self.leader.epoch;
        assert_eq!(id.epoch, epoch, "invariant: a command for {id} in epoch {epoch}");
        if let Some(t) = self.running.get(&id.vertex).filter(|t| t.id == id) {
            let _ = t.control.send(control);
        }
    }

    /// What a task's event tells the JobManager; a failed task is gone.
    fn report(&mut self, ev: TaskEvent) -> TmToJm {
        let (TaskEvent::Running(id)
        | TaskEvent::Failed(id, _)
        | TaskEvent::Acknowledge(id, ..)
        | TaskEvent::Decline(id, ..)
        | TaskEvent::Finished(id)
        | TaskEvent::Canceled(id)) = &ev;
        let epoch = self.leader.epoch;
        assert_eq!(id.epoch, epoch, "invariant: {id} reports in a session of epoch {epoch}");
        if matches!(ev, TaskEvent::Acknowledge(..) | TaskEvent::Decline(..)) {
            self.cfg.tracer.traffic().message();
        }
        match ev {
            TaskEvent::Running(id) => TmToJm::TaskRunning { id },
            TaskEvent::Failed(id, reason) => {
                if self.running.get(&id.vertex).is_some_and(|t| t.id == id) {
                    self.running.remove(&id.vertex);
                    self.registry
                        .lock()
                        .expect("invariant: lock not poisoned")
                        .unregister(id);
                }
                TmToJm::TaskFailed { id, reason }
            }
            TaskEvent::Acknowledge(id, checkpoint, handle, metrics) => TmToJm::AcknowledgeCheckpoint {
                id,
                checkpoint,
                handle,
                metrics,
            },
            TaskEvent::Decline(id, checkpoint, reason) => TmToJm::DeclineCheckpoint { id, checkpoint, reason },
            // The task stays parked until the JobManager cancels it
            // once the whole job finished.
            TaskEvent::Finished(id) => TmToJm::TaskFinished { id },
            TaskEvent::Canceled(id) => TmToJm::TaskCanceled { id },
        }
    }
}
