//! The simulated cluster: one node per process, with fixed addresses.
//!
//! | node                | address       |
//! |---------------------|---------------|
//! | `jm` (or `jm-<i>`)  | 10.0.0.<i+1>:6123 |
//! | `source-log`        | 10.0.1.1:9000 |
//! | `sink-store`        | 10.0.1.2:9000 |
//! | `checkpoint-storage`| 10.0.1.3:9000 |
//! | `coordination`      | 10.0.1.4:9000 (with HA only) |
//! | `tm-<i>`            | 10.0.2.<i+1>:6121 |

use halab_engine::resources::link::Link;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use halab_engine::config::{EngineConfig, Sabotage};
use halab_engine::process::jobmanager::{run_job_manager, JobManagerConfig, JOB_MANAGER_PORT};
use halab_engine::process::task::load::LoadRegistry;
use halab_engine::process::taskmanager::{run_task_manager, TaskManagerConfig};
use halab_engine::protocol::ServiceAddrs;
use halab_engine::trace::{TraceEvent, Tracer};
use madsim::runtime::Handle;
use madsim::task::NodeId;

use crate::faults::{Fault, Service};
use crate::scenario::Scenario;
use crate::services::checkpoint_storage::CheckpointStorage;
use crate::services::coordination::Coordination;
use crate::services::sink_store::SinkStore;
use crate::services::source_log::SourceLog;
use crate::services::{serve, ServiceControl, SERVICE_PORT};
use std::sync::Mutex;
use std::time::Duration;

pub const SOURCE_LOG_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
pub const SINK_STORE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
pub const CHECKPOINT_STORAGE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 3);
pub const COORDINATION_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 4);

pub fn job_manager_ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, (i + 1) as u8)
}

pub fn task_manager_ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 2, (i + 1) as u8)
}

/// The seed of the JobManager's restart-strategy jitter for a run's seed.
pub fn restart_seed(seed: u64) -> u64 {
    seed ^ 0x7265_7374_6172_7473 // "restarts"
}

/// The services' shared state and fault switches.
#[derive(Clone)]
pub struct Services {
    pub source_log: Arc<SourceLog>,
    pub sink_store: Arc<SinkStore>,
    pub checkpoint_storage: Arc<CheckpointStorage>,
    pub coordination: Arc<Coordination>,
    pub controls: BTreeMap<Service, Arc<ServiceControl>>,
    /// Every subtask's load, as a metric reporter collects it (not a node).
    pub load: LoadRegistry,
}

impl Services {
    pub fn control(&self, s: Service) -> Arc<ServiceControl> {
        self.controls
            .get(&s)
            .cloned()
            .expect("invariant: every service has a control")
    }
}

pub fn service_addrs() -> ServiceAddrs {
    ServiceAddrs {
        source_log: SocketAddr::new(IpAddr::V4(SOURCE_LOG_IP), SERVICE_PORT),
        sink_store: SocketAddr::new(IpAddr::V4(SINK_STORE_IP), SERVICE_PORT),
        checkpoint_storage: SocketAddr::new(IpAddr::V4(CHECKPOINT_STORAGE_IP), SERVICE_PORT),
    }
}

/// Create a service node serving `handler`; its state lives in the handler's
/// captures, outside the node, so a restart keeps it.
fn service_node<Req, Resp, H>(
    handle: &Handle,
    service: Service,
    ip: Ipv4Addr,
    services: &Services,
    handler: H,
) -> NodeId
where
    Req: std::any::Any + Send,
    Resp: std::any::Any + Send + Sync,
    H: Fn(Req) -> Option<Resp> + Clone + Send + Sync + 'static,
{
    let addr = SocketAddr::new(IpAddr::V4(ip), SERVICE_PORT);
    let control = services.control(service);
    handle
        .create_node()
        .name(service.node())
        .ip(IpAddr::V4(ip))
        .init(move || serve(addr, control.clone(), handler.clone()))
        .build()
        .id()
}

/// Start the service nodes (the coordination service only with HA) and
/// name them in `nodes`; the coordination service's address if it runs.
fn start_services(
    handle: &Handle,
    scenario: &Scenario,
    services: &Services,
    nodes: &mut BTreeMap<String, NodeId>,
) -> Option<SocketAddr> {
    let log = services.source_log.clone();
    let id = service_node(handle, Service::SourceLog, SOURCE_LOG_IP, services, move |req| {
        log.handle(req)
    });
    nodes.insert(Service::SourceLog.node().to_string(), id);
    let sink = services.sink_store.clone();
    let id = service_node(handle, Service::SinkStore, SINK_STORE_IP, services, move |req| {
        sink.handle(req)
    });
    nodes.insert(Service::SinkStore.node().to_string(), id);
    let storage = services.checkpoint_storage.clone();
    let id = service_node(
        handle,
        Service::CheckpointStorage,
        CHECKPOINT_STORAGE_IP,
        services,
        move |req| storage.handle(req),
    );
    nodes.insert(Service::CheckpointStorage.node().to_string(), id);
    scenario.uses_high_availability().then(|| {
        let state = services.coordination.clone();
        let id = service_node(handle, Service::Coordination, COORDINATION_IP, services, move |req| {
            state.handle(req)
        });
        nodes.insert(Service::Coordination.node().to_string(), id);
        SocketAddr::new(IpAddr::V4(COORDINATION_IP), SERVICE_PORT)
    })
}

/// What the JobManager and TaskManager nodes are started with.
struct Processes<'a> {
    handle: Handle,
    scenario: &'a Scenario,
    seed: u64,
    engine: Arc<EngineConfig>,
    tracer: Tracer,
    sabotage: Sabotage,
    /// The coordination service's address, with HA.
    coordination: Option<SocketAddr>,
    load: LoadRegistry,
}

impl Processes<'_> {
    /// Start every JobManager (one, or several with HA); each sees the
    /// user's cancel request.
    fn start_job_managers(&self, cancel: tokio::sync::watch::Receiver<bool>, nodes: &mut BTreeMap<String, NodeId>) {
        for (i, name) in self.scenario.job_manager_names().iter().enumerate() {
            let ip = IpAddr::V4(job_manager_ip(i as u32));
            let jm_cfg = JobManagerConfig {
                ip,
                job: self.scenario.job_graph(),
                engine: self.engine.clone(),
                services: service_addrs(),
                tracer: self.tracer.clone(),
                node: name.clone(),
                restart_seed: restart_seed(self.seed),
                sabotage: self.sabotage,
                index: i as u32,
                coordination: self.coordination,
                cancel: cancel.clone(),
                load: self.load.clone(),
            };
            let id = self
                .handle
                .create_node()
                .name(name)
                .ip(ip)
                .init(move || run_job_manager(jm_cfg.clone()))
                .build()
                .id();
            nodes.insert(name.clone(), id);
        }
    }

    /// Start every TaskManager; each knows every JobManager's address.
    fn start_task_managers(&self, nodes: &mut BTreeMap<String, NodeId>) {
        let jobmanagers: Vec<SocketAddr> = (0..self.scenario.job_manager_names().len() as u32)
            .map(|i| SocketAddr::new(IpAddr::V4(job_manager_ip(i)), JOB_MANAGER_PORT))
            .collect();
        // Checkpoint storage's total throughput, one link all TaskManagers
        // share (and keep across their restarts).
        let storage_aggregate = self
            .engine
            .resources
            .and_then(|m| m.checkpoint_storage_aggregate_bandwidth)
            .map(|bw| Arc::new(std::sync::Mutex::new(Link::new(bw, 0))));
        for i in 0..self.scenario.cluster.task_managers {
            let name = format!("tm-{i}");
            let tm_cfg = TaskManagerConfig {
                tm: i,
                slots: self.scenario.cluster.slots_per_task_manager,
                ip: IpAddr::V4(task_manager_ip(i)),
                jobmanagers: jobmanagers.clone(),
                coordination: self.coordination,
                engine: self.engine.clone(),
                sabotage: self.sabotage,
                tracer: self.tracer.clone(),
                node: name.clone(),
                storage_aggregate: storage_aggregate.clone(),
                load: self.load.clone(),
            };
            let id = self
                .handle
                .create_node()
                .name(&name)
                .ip(IpAddr::V4(task_manager_ip(i)))
                .init(move || run_task_manager(tm_cfg.clone()))
                .build()
                .id();
            nodes.insert(name, id);
        }
    }
}

/// Which directions of a link a fault cuts or heals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directions {
    Both,
    OneWay,
}

/// Whether a fault adds a clog to a link or takes one away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkChange {
    Clog,
    Unclog,
}

/// The running cluster: node ids by name, and the network faults in force.
pub struct Cluster {
    nodes: BTreeMap<String, NodeId>,
    tracer: Tracer,
    controls: BTreeMap<Service, Arc<ServiceControl>>,
    /// Directed links clogged by faults, with how many faults clog each, so
    /// overlapping partitions heal correctly.
    clogged: Mutex<BTreeMap<(String, String), u32>>,
    /// The user's cancel request, seen by every JobManager (the leader acts).
    cancel: tokio::sync::watch::Sender<bool>,
}

impl Cluster {
    /// Create and start every node. Must run inside the simulation.
    pub fn start(
        scenario: &Scenario,
        seed: u64,
        engine: Arc<EngineConfig>,
        tracer: Tracer,
        services: &Services,
        sabotage: Sabotage,
    ) -> Cluster {
        let handle = Handle::current();
        let mut nodes = BTreeMap::new();
        let coordination = start_services(&handle, scenario, services, &mut nodes);
        let (cancel, cancel_rx) = tokio::sync::watch::channel(false);
        let processes = Processes {
            handle,
            scenario,
            seed,
            engine,
            tracer: tracer.clone(),
            sabotage,
            coordination,
            load: services.load.clone(),
        };
        processes.start_job_managers(cancel_rx, &mut nodes);
        processes.start_task_managers(&mut nodes);
        Cluster {
            nodes,
            tracer,
            controls: services.controls.clone(),
            clogged: Mutex::new(BTreeMap::new()),
            cancel,
        }
    }

    /// Kill every node, dropping all their tasks. Called when a run ends:
    /// madsim does not free tasks still pending when its runtime is dropped
    /// (madsim issue #242), and each run's services would leak with them.
    pub fn shut_down(&self) {
        let handle = Handle::current();
        for id in self.nodes.values() {
            handle.kill(*id);
        }
    }

    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.nodes.get(name).copied()
    }

    /// The node a fault names. `Scenario::validate` refuses unknown names,
    /// so one here is a bug: fail where it is used, not silently.
    fn target(&self, name: &str) -> NodeId {
        match self.node(name) {
            Some(id) => id,
            None => panic!("invariant: a fault names a node of the cluster, not `{name}`"),
        }
    }

    /// Clog or unclog the directed link `a → b`; links count their clogs,
    /// so overlapping partitions heal independently.
    fn clog(&self, a: &str, b: &str, change: LinkChange) {
        let (ia, ib) = (self.target(a), self.target(b));
        let mut clogged = self.clogged.lock().expect("invariant: lock not poisoned");
        let key = (a.to_string(), b.to_string());
        let count = clogged.entry(key.clone()).or_insert(0);
        let before = *count;
        *count = match change {
            LinkChange::Clog => before + 1,
            LinkChange::Unclog => {
                assert!(before > 0, "invariant: a heal follows its cut (plan_check)");
                before - 1
            }
        };
        let net = madsim::net::NetSim::current();
        match (before, *count) {
            (0, 1) => net.clog_link(ia, ib),
            (1, 0) => net.unclog_link(ia, ib),
            _ => {}
        }
        if *count == 0 {
            clogged.remove(&key);
        }
    }

    fn clog_groups(&self, from: &[String], to: &[String], directions: Directions, change: LinkChange) {
        for a in from {
            for b in to {
                self.clog(a, b, change);
                if directions == Directions::Both {
                    self.clog(b, a, change);
                }
            }
        }
    }

    /// Carry out one fault (recorded in the trace first).
    pub fn apply(&self, fault: &Fault) {
        self.tracer.record(
            "chaos",
            TraceEvent::Fault {
                description: fault.to_string(),
            },
        );
        let handle = Handle::current();
        let net = madsim::net::NetSim::current();
        match fault {
            Fault::Kill { node } => handle.kill(self.target(node)),
            Fault::Restart { node } => {
                let id = self.target(node);
                // madsim's restart needs the node killed first ("address in use").
                handle.kill(id);
                handle.restart(id);
            }
            Fault::Pause { node } => handle.pause(self.target(node)),
            Fault::Resume { node } => handle.resume(self.target(node)),
            Fault::Partition { groups } => self.clog_groups(&groups[0], &groups[1], Directions::Both, LinkChange::Clog),
            Fault::Heal { groups } => self.clog_groups(&groups[0], &groups[1], Directions::Both, LinkChange::Unclog),
            Fault::PartitionOneWay { groups } => {
                self.clog_groups(&groups[0], &groups[1], Directions::OneWay, LinkChange::Clog)
            }
            Fault::HealOneWay { groups } => {
                self.clog_groups(&groups[0], &groups[1], Directions::OneWay, LinkChange::Unclog)
            }
            Fault::Clog { link } => self.clog_groups(&link[..1], &link[1..], Directions::Both, LinkChange::Clog),
            Fault::Unclog { link } => self.clog_groups(&link[..1], &link[1..], Directions::Both, LinkChange::Unclog),
            Fault::Network(n) => {
                let (loss, lo, hi) = (n.loss, n.latency[0].0, n.latency[1].0);
                net.update_config(|c| {
                    c.packet_loss_rate = loss;
                    c.send_latency = lo..hi.max(lo + Duration::from_millis(1));
                });
            }
            Fault::RestoreNetwork => net.update_config(|c| *c = madsim::net::Config::default()),
            Fault::Slow { service, factor } => {
                if let Some(c) = self.controls.get(service) {
                    c.set_factor(*factor);
                }
            }
            Fault::CutOff { service } => net.clog_node(self.target(service.node())),
            Fault::CancelJob => {
                let _ = self.cancel.send(true);
            }
            Fault::Restore { service } => {
                if let Some(c) = self.controls.get(service) {
                    c.set_factor(1);
                }
                net.unclog_node(self.target(service.node()));
            }
        }
    }
}
