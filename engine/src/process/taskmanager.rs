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
use crate::protocol::{ChannelHello, ExecutionAttemptId, JmToTm, TmId, TmToJm};
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
        run_session(&cfg, &ep, &registry, tx, rx, session, &mut leaders, fencing).await;
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
#[allow(clippy::too_many_arguments)]
async fn run_session(
    cfg: &TaskManagerConfig,
    ep: &Arc<Endpoint>,
    registry: &Arc<Mutex<ChannelRegistry>>,
    jm_tx: ConnTx,
    mut jm_rx: ConnRx,
    session: Session<'_>,
    leaders: &mut tokio::sync::watch::Receiver<Option<Leader>>,
    fencing: bool,
) {
    let Session {
        leader: session,
        resources,
    } = session;
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<TaskEvent>();
    let mut tasks: BTreeMap<ExecutionVertexId, RunningTask> = BTreeMap::new();
    let timeout = cfg.engine.heartbeat_timeout;
    let mut last_heard = madsim::time::Instant::now();
    loop {
        let deadline = last_heard + timeout;
        tokio::select! {
            biased;
            msg = jm_rx.recv::<JmToTm>() => {
                let Ok(msg) = msg else { return };
                last_heard = madsim::time::Instant::now();
                match msg {
                    JmToTm::Registered => {}
                    JmToTm::HeartbeatRequest => {
                        if jm_tx.send(TmToJm::HeartbeatResponse { tm: cfg.tm }).await.is_err() {
                            return;
                        }
                    }
                    JmToTm::Deploy(tdd) => {
                        let id = tdd.id;
                        assert_eq!(id.epoch, session.epoch, "invariant: a session runs its leader's attempts: {id}");
                        assert!(id.vertex.subtask < tdd.parallelism, "invariant: {id} within parallelism {}", tdd.parallelism);
                        cfg.tracer.record(&cfg.node, TraceEvent::DeploymentAccepted { task: id, jm: session.candidate, epoch: session.epoch });
                        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
                        let (in_tx, in_rx) = mpsc::unbounded_channel();
                        if let Some(old) = tasks.remove(&id.vertex) {
                            assert!(
                                !fencing || old.id.fencing_token() < id.fencing_token(),
                                "invariant: a deployment replaces only an older attempt of its subtask"
                            );
                            registry.lock().expect("invariant: lock not poisoned").unregister(old.id);
                        }
                        registry.lock().expect("invariant: lock not poisoned").register(id, in_tx);
                        let env = TaskEnv {
                            tdd: *tdd,
                            endpoint: ep.clone(),
                            control: ctl_rx,
                            inbound: in_rx,
                            events: ev_tx.clone(),
                            config: cfg.engine.clone(),
                            sabotage: cfg.sabotage,
                            tracer: cfg.tracer.clone(),
                            node: cfg.node.clone(),
                            resources: resources.clone(),
                        };
                        let handle = AbortOnDrop(madsim::task::spawn(task::run(env)));
                        tasks.insert(id.vertex, RunningTask { id, control: ctl_tx, _handle: handle });
                    }
                    JmToTm::CancelTask { id } => {
                        assert_eq!(id.epoch, session.epoch, "invariant: a session cancels its leader's attempts: {id}");
                        if tasks.get(&id.vertex).is_some_and(|t| t.id.fencing_token() <= id.fencing_token()) {
                            tasks.remove(&id.vertex);
                            registry.lock().expect("invariant: lock not poisoned").unregister(id);
                        }
                    }
                    JmToTm::TriggerCheckpoint { id, barrier } => {
                        if let Some(t) = tasks.get(&id.vertex).filter(|t| t.id == id) {
                            let _ = t.control.send(TaskControl::TriggerCheckpoint(barrier));
                        }
                    }
                    JmToTm::NotifyCheckpointComplete { id, checkpoint } => {
                        if let Some(t) = tasks.get(&id.vertex).filter(|t| t.id == id) {
                            let _ = t.control.send(TaskControl::NotifyCheckpointComplete(checkpoint));
                        }
                    }
                    JmToTm::FinishTask { id } => {
                        if let Some(t) = tasks.get(&id.vertex).filter(|t| t.id == id) {
                            let _ = t.control.send(TaskControl::Finish);
                        }
                    }
                }
            }
            ev = ev_rx.recv() => {
                let Some(ev) = ev else { continue };
                let msg = match ev {
                    TaskEvent::Running(id) => TmToJm::TaskRunning { id },
                    TaskEvent::Failed(id, reason) => {
                        if tasks.get(&id.vertex).is_some_and(|t| t.id == id) {
                            tasks.remove(&id.vertex);
                            registry.lock().expect("invariant: lock not poisoned").unregister(id);
                        }
                        TmToJm::TaskFailed { id, reason }
                    }
                    TaskEvent::Acknowledge(id, checkpoint, handle, metrics) => {
                        TmToJm::AcknowledgeCheckpoint { id, checkpoint, handle, metrics }
                    }
                    TaskEvent::Decline(id, checkpoint, reason) => TmToJm::DeclineCheckpoint { id, checkpoint, reason },
                    // The task stays parked until the JobManager cancels it
                    // once the whole job finished.
                    TaskEvent::Finished(id) => TmToJm::TaskFinished { id },
                };
                if jm_tx.send(msg).await.is_err() {
                    return;
                }
            }
            changed = leaders.changed(), if cfg.coordination.is_some() => {
                if changed.is_err() {
                    continue;
                }
                let now = *leaders.borrow_and_update();
                let newer = now.is_some_and(|l| if fencing { l.epoch > session.epoch } else { l != session });
                if newer {
                    cfg.tracer.record(&cfg.node, TraceEvent::Note { text: format!("new leader {now:?}; leaving the session with epoch {}", session.epoch) });
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
