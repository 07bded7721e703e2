//! The simulated cluster: one node per process, with fixed addresses.
//!
//! | node                | address       |
//! |---------------------|---------------|
//! | `jm`                | 10.0.0.1:6123 |
//! | `source-log`        | 10.0.1.1:9000 |
//! | `sink-store`        | 10.0.1.2:9000 |
//! | `checkpoint-storage`| 10.0.1.3:9000 |
//! | `tm-<i>`            | 10.0.2.<i+1>:6121 |

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use halab_engine::config::{EngineConfig, Sabotage};
use halab_engine::process::jobmanager::{run_job_manager, JobManagerConfig, JOB_MANAGER_PORT};
use halab_engine::process::taskmanager::{run_task_manager, TaskManagerConfig};
use halab_engine::protocol::ServiceAddrs;
use halab_engine::trace::{TraceEvent, Tracer};
use madsim::runtime::Handle;
use madsim::task::NodeId;

use crate::faults::Fault;
use crate::scenario::Scenario;
use crate::services::checkpoint_storage::CheckpointStorage;
use crate::services::sink_store::SinkStore;
use crate::services::source_log::SourceLog;
use crate::services::{serve, SERVICE_PORT};

pub const JOB_MANAGER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const SOURCE_LOG_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
pub const SINK_STORE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
pub const CHECKPOINT_STORAGE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 3);

pub fn task_manager_ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 2, (i + 1) as u8)
}

/// The services' shared state.
#[derive(Clone)]
pub struct Services {
    pub source_log: Arc<SourceLog>,
    pub sink_store: Arc<SinkStore>,
    pub checkpoint_storage: Arc<CheckpointStorage>,
}

pub fn service_addrs() -> ServiceAddrs {
    ServiceAddrs {
        source_log: SocketAddr::new(IpAddr::V4(SOURCE_LOG_IP), SERVICE_PORT),
        sink_store: SocketAddr::new(IpAddr::V4(SINK_STORE_IP), SERVICE_PORT),
        checkpoint_storage: SocketAddr::new(IpAddr::V4(CHECKPOINT_STORAGE_IP), SERVICE_PORT),
    }
}

/// The running cluster: node ids by name.
pub struct Cluster {
    nodes: BTreeMap<String, NodeId>,
    tracer: Tracer,
}

impl Cluster {
    /// Create and start every node. Must run inside the simulation.
    pub fn start(
        scenario: &Scenario,
        engine: Arc<EngineConfig>,
        tracer: Tracer,
        services: &Services,
        sabotage: Sabotage,
    ) -> Cluster {
        let handle = Handle::current();
        let mut nodes = BTreeMap::new();
        let addrs = service_addrs();

        let log = services.source_log.clone();
        let id = handle
            .create_node()
            .name("source-log")
            .ip(IpAddr::V4(SOURCE_LOG_IP))
            .init(move || {
                let log = log.clone();
                async move { serve(addrs.source_log, move |req| log.handle(req)).await }
            })
            .build()
            .id();
        nodes.insert("source-log".to_string(), id);

        let sink = services.sink_store.clone();
        let id = handle
            .create_node()
            .name("sink-store")
            .ip(IpAddr::V4(SINK_STORE_IP))
            .init(move || {
                let sink = sink.clone();
                async move { serve(addrs.sink_store, move |req| sink.handle(req)).await }
            })
            .build()
            .id();
        nodes.insert("sink-store".to_string(), id);

        let storage = services.checkpoint_storage.clone();
        let id = handle
            .create_node()
            .name("checkpoint-storage")
            .ip(IpAddr::V4(CHECKPOINT_STORAGE_IP))
            .init(move || {
                let storage = storage.clone();
                async move { serve(addrs.checkpoint_storage, move |req| storage.handle(req)).await }
            })
            .build()
            .id();
        nodes.insert("checkpoint-storage".to_string(), id);

        let jm_cfg = JobManagerConfig {
            ip: IpAddr::V4(JOB_MANAGER_IP),
            job: scenario.job_graph(),
            engine: engine.clone(),
            services: addrs,
            tracer: tracer.clone(),
            node: "jm".to_string(),
        };
        let id = handle
            .create_node()
            .name("jm")
            .ip(IpAddr::V4(JOB_MANAGER_IP))
            .init(move || run_job_manager(jm_cfg.clone()))
            .build()
            .id();
        nodes.insert("jm".to_string(), id);

        for i in 0..scenario.cluster.task_managers {
            let name = format!("tm-{i}");
            let tm_cfg = TaskManagerConfig {
                tm: i,
                slots: scenario.cluster.slots_per_task_manager,
                ip: IpAddr::V4(task_manager_ip(i)),
                jobmanager: SocketAddr::new(IpAddr::V4(JOB_MANAGER_IP), JOB_MANAGER_PORT),
                engine: engine.clone(),
                sabotage,
                tracer: tracer.clone(),
                node: name.clone(),
            };
            let id = handle
                .create_node()
                .name(&name)
                .ip(IpAddr::V4(task_manager_ip(i)))
                .init(move || run_task_manager(tm_cfg.clone()))
                .build()
                .id();
            nodes.insert(name, id);
        }
        Cluster { nodes, tracer }
    }

    pub fn node(&self, name: &str) -> Option<NodeId> {
        self.nodes.get(name).copied()
    }

    /// Carry out one fault (recorded in the trace first).
    pub fn apply(&self, fault: &Fault) {
        self.tracer.record(
            "chaos",
            TraceEvent::Fault {
                description: fault.to_string(),
            },
        );
        let Some(id) = self.node(fault.node()) else {
            return;
        };
        let handle = Handle::current();
        match fault {
            Fault::Kill { .. } => handle.kill(id),
            Fault::Restart { .. } => {
                // madsim's restart needs the node killed first ("address in use").
                handle.kill(id);
                handle.restart(id);
            }
        }
    }
}
