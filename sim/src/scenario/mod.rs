//! What a run is: cluster, job, configuration (Flink's keys), faults and
//! expectations. Scenario files (TOML, parsed by `halab-scenarios`) map onto
//! [`Scenario`] field by field; `docs/scenarios.md` documents them.

use std::collections::BTreeMap;

use halab_engine::config::{Configuration, Sabotage};
use halab_engine::graph::{JobGraph, OperatorKind};
use halab_engine::resources::{OperatorCosts, ResourceModel};
use halab_engine::status::JobStatus;
use serde::{Deserialize, Serialize};

use crate::faults::{FaultPlan, ScheduledFault, Service};
use crate::human::{HumanBytes, HumanDuration, HumanRate};
use crate::keys::KeyDistribution;
use crate::operators::OperatorSpec;

mod validation;

use crate::random_faults::RandomFaults;

/// A complete run description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The input phase: records arrive in the source log from 0 to `duration`.
    pub duration: HumanDuration,
    /// A deliberately broken engine variant; only reachable from tests and
    /// test-only scenarios.
    #[serde(default, skip_serializing_if = "is_no_sabotage")]
    pub sabotage: Sabotage,
    #[serde(default)]
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub job: JobSpec,
    /// What work costs: cores, bandwidths, latencies (docs/cost-model.md).
    #[serde(default, skip_serializing_if = "ResourcesSpec::is_default")]
    pub resources: ResourcesSpec,
    /// Flink configuration keys → values (`"1s"`, `3`, `true`).
    #[serde(default)]
    pub config: BTreeMap<String, ConfigValue>,
    #[serde(default)]
    pub faults: FaultSpec,
    #[serde(default)]
    pub expect: Expectations,
}

fn is_no_sabotage(s: &Sabotage) -> bool {
    *s == Sabotage::None
}

/// A configuration value as written: string, integer, float or boolean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "not a Flink configuration value: write a string, a number or a boolean"
)]
pub enum ConfigValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
}

impl std::fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::String(s) => f.write_str(s),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSpec {
    pub task_managers: u32,
    pub slots_per_task_manager: u32,
    pub job_managers: u32,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            task_managers: 2,
            slots_per_task_manager: 2,
            job_managers: 1,
        }
    }
}

/// The job's shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// source → keyBy → keyed running count → keyBy → 2PC sink.
    #[default]
    Count,
    /// Two sources (each half of the partitions) unioned into the keyed
    /// count: a two-input operator whose barriers align across gates.
    Union,
    /// Two independent pipelines, each a source over half of the partitions
    /// → keyed count → sink: two pipelined regions for region failover.
    TwoPipelines,
    /// source → keyBy → tumbling event-time window count (`window-size`,
    /// parallelism `count-parallelism`) → keyBy → 2PC sink.
    Window,
}

/// What the source log holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Records with a key (drawn by `key-distribution`) and value 1.
    #[default]
    Keys,
    /// NexMark's persons, auctions and bids, one topic each
    /// ([`crate::nexmark`]); every source names the events it reads.
    Nexmark,
    /// Edges of a graph over `keys` vertices: the key (drawn by
    /// `key-distribution`) is the source vertex, the value a target drawn
    /// uniformly (the cyclic reachability query reads these).
    Edges,
}

impl Workload {
    fn is_keys(&self) -> bool {
        *self == Workload::Keys
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct JobSpec {
    /// A named topology (shorthand for its graph); `count` when neither
    /// it nor `operators` is given. Read through [`JobSpec::topology`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
    pub source_partitions: u32,
    /// The named topology's parallelisms (default 2 each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_parallelism: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_parallelism: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink_parallelism: Option<u32>,
    /// Records arriving per second in each source partition.
    pub records_per_second: u64,
    /// Number of distinct keys.
    pub keys: u64,
    /// How the records spread over the keys (`uniform`, `zipf(s)`,
    /// `hot(ratio, keys)`; see [`crate::keys`]). Unset is `uniform` for a
    /// job of keys; a NexMark job keeps NexMark's own hot ratios unless it
    /// is set (see [`crate::nexmark`]). Read it with
    /// [`JobSpec::key_distribution`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_distribution: Option<KeyDistribution>,
    /// Window size of the `window` topology.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_size: Option<HumanDuration>,
    /// Bounded sources: once all input is read and committed by a final
    /// checkpoint, the tasks finish and the job ends FINISHED.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bounded: bool,
    /// Bytes of one record (virtual).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_bytes: Option<HumanBytes>,
    /// Bytes of keyed state per key (virtual).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_bytes_per_key: Option<HumanBytes>,
    /// CPU time per record of every operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_record: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_cost_per_record: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_cost_per_record: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_cost_per_record: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sink_cost_per_record: Option<HumanDuration>,
    /// How many real records one simulated record stands for, in every cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_weight: Option<u64>,
    /// The job as a graph of operators (`[[job.operators]]`, see
    /// [`crate::operators`]); when given, `topology` and the parallelism
    /// and window keys above are not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<OperatorSpec>,
    /// What the source log holds (`keys` or `nexmark`).
    #[serde(skip_serializing_if = "Workload::is_keys")]
    pub workload: Workload,
    /// NexMark's persons : auctions : bids (1 : 3 : 46 when left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nexmark_proportions: Option<[u64; 3]>,
}

/// The named topology's keys, with their defaults.
impl JobSpec {
    pub fn topology(&self) -> Topology {
        self.topology.unwrap_or_default()
    }

    /// How a job of keys spreads its records over the keys (`uniform`
    /// when unset).
    pub fn key_distribution(&self) -> KeyDistribution {
        self.key_distribution.unwrap_or_default()
    }

    pub fn source_parallelism(&self) -> u32 {
        self.source_parallelism.unwrap_or(2)
    }

    pub fn count_parallelism(&self) -> u32 {
        self.count_parallelism.unwrap_or(2)
    }

    pub fn sink_parallelism(&self) -> u32 {
        self.sink_parallelism.unwrap_or(2)
    }

    pub fn window_size(&self) -> HumanDuration {
        self.window_size.unwrap_or(HumanDuration::from_millis(1000))
    }

    /// The graph of a named topology with this job's partitions and
    /// parallelism keys.
    pub fn topology_graph(&self, topology: Topology) -> JobGraph {
        let (parts, src, cnt, snk) = (
            self.source_partitions,
            self.source_parallelism(),
            self.count_parallelism(),
            self.sink_parallelism(),
        );
        match topology {
            Topology::Count => JobGraph::streaming_count(parts, src, cnt, snk),
            Topology::Union => JobGraph::union_count(parts, src, cnt, snk),
            Topology::TwoPipelines => JobGraph::two_pipelines(parts, src, cnt, snk),
            Topology::Window => JobGraph::windowed_count(parts, src, cnt, snk, self.window_size().as_millis()),
        }
    }

    /// The NexMark log of a `nexmark` workload over `duration_ms` of input:
    /// its topics, their proportions and what each topic's source
    /// projects (validated first).
    pub fn nexmark_log(&self, duration_ms: u64) -> Option<crate::nexmark::NexmarkLog> {
        if self.workload != Workload::Nexmark {
            return None;
        }
        let events = u128::from(self.records_per_second) * u128::from(duration_ms) / 1000;
        let mut log = crate::nexmark::NexmarkLog::new(
            self.source_partitions,
            u64::try_from(events).unwrap_or(u64::MAX),
            self.records_per_second,
        );
        log.proportions = self.nexmark_proportions.unwrap_or(crate::nexmark::DEFAULT_PROPORTIONS);
        log.skew = self.key_distribution;
        for (kind, projection) in crate::operators::projections(&self.operators) {
            log.projections[kind.topic()] = projection;
        }
        Some(log)
    }
}

/// The `[resources]` table; every key optional (defaults in docs/cost-model.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResourcesSpec {
    /// `false`: work costs no simulated time (the simulator before the
    /// resource model; for plans whose timing was recorded without it).
    /// Default: on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_manager_cores: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_bandwidth: Option<HumanRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_storage_bandwidth: Option<HumanRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_storage_latency: Option<HumanDuration>,
    /// The store's total throughput over all TaskManagers (no cap by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_storage_aggregate_bandwidth: Option<HumanRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_disk_bandwidth: Option<HumanRate>,
}

impl ResourcesSpec {
    fn is_default(&self) -> bool {
        *self == ResourcesSpec::default()
    }
}

impl Default for JobSpec {
    fn default() -> Self {
        JobSpec {
            topology: None,
            source_partitions: 4,
            source_parallelism: None,
            count_parallelism: None,
            sink_parallelism: None,
            records_per_second: 1000,
            keys: 100,
            key_distribution: None,
            window_size: None,
            bounded: false,
            record_bytes: None,
            state_bytes_per_key: None,
            cost_per_record: None,
            source_cost_per_record: None,
            count_cost_per_record: None,
            window_cost_per_record: None,
            sink_cost_per_record: None,
            record_weight: None,
            operators: Vec::new(),
            workload: Workload::Keys,
            nexmark_proportions: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default)]
    pub scripted: Vec<ScheduledFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomFaults>,
}

/// What the output must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Semantics {
    ExactlyOnce,
    AtLeastOnce,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expectations {
    pub semantics: Semantics,
    /// The job status the run must end in: `RUNNING` (it recovered) or
    /// `FAILED` (the restart strategy gave up, as the scenario intends).
    pub final_status: JobStatus,
    /// After the last fault and the end of input, all input must be committed
    /// within this bound (liveness).
    pub recovery_bound: HumanDuration,
    /// The most trace events the run may record: a run that records more
    /// stops, and halab reports it as too busy to simulate (exit 2).
    #[serde(skip_serializing_if = "is_max_trace_events")]
    pub max_trace_events: u64,
}

fn is_max_trace_events(n: &u64) -> bool {
    *n == MAX_TRACE_EVENTS
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            semantics: Semantics::ExactlyOnce,
            final_status: JobStatus::Running,
            recovery_bound: HumanDuration::from_millis(30_000),
            max_trace_events: MAX_TRACE_EVENTS,
        }
    }
}

/// A scenario that cannot run, with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScenarioError {
    /// Dotted path of the field, e.g. `job.count-parallelism` or
    /// `config."heartbeat.timeout"`.
    pub path: String,
    pub message: String,
    /// Where else the problem is, for a file that does not write `path`
    /// (a problem of two tables: the job's parallelism and the cluster).
    pub fallback: Option<String>,
}

pub(crate) fn err(path: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        path: path.to_string(),
        message: message.into(),
        fallback: None,
    }
}

/// Upper bounds that keep one run within memory and time
/// (docs/scenarios.md, "Limits").
pub const MAX_TASK_MANAGERS: u32 = 64;
/// The most slots (and cores) a TaskManager may have.
pub const MAX_SLOTS_PER_TASK_MANAGER: u32 = 256;
/// The longest input phase (`duration`) and recovery bound a run may have.
pub const MAX_RUN_DURATION_MS: u64 = 3_600_000;
/// The most JobManagers a cluster may have.
pub const MAX_JOB_MANAGERS: u32 = 5;
/// The most records a run may hold (its source log and output check).
pub const MAX_RECORDS: u64 = 50_000_000;
/// The most trace events a run may record (`expect.max-trace-events`, and
/// its default): about 150 bytes each in memory, and a bound on the
/// simulated events of a run, which trace every protocol step.
pub const MAX_TRACE_EVENTS: u64 = 5_000_000;
/// The largest parallelism of an operator (and the most source partitions).
/// Flink allows 32,768 (`pipeline.max-parallelism`, which halab accepts up
/// to that bound); a job deployed at more than this does not start within
/// the RPC timeout here, as every message costs a simulated millisecond.
pub const MAX_PARALLELISM: u32 = 4096;
/// The most data channels a job may open (`JobGraph::data_channels`):
/// each holds its credit-based buffers, and a run at this bound holds about
/// 3 GB of them.
pub const MAX_DATA_CHANNELS: u64 = 65_536;
/// The most distinct keys a job may have: the exactly-once check keeps a
/// 32-byte slot per key and pipeline, so a run holds at most 64 MB of them
/// whatever its records.
pub const MAX_KEYS: u64 = 1_000_000;

impl Scenario {
    /// The raw Flink configuration map.
    pub fn configuration(&self) -> Configuration {
        self.config.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
    }

    /// The job's graph: its `[[job.operators]]`, or its named topology.
    /// Validation builds it first, so a scenario that passed has one.
    pub fn job_graph(&self) -> JobGraph {
        self.try_job_graph()
            .expect("invariant: job_graph is called on validated scenarios")
    }

    /// [`Self::job_graph`], or what is wrong with the operators.
    pub fn try_job_graph(&self) -> Result<JobGraph, ScenarioError> {
        let j = &self.job;
        let mut g = if j.operators.is_empty() {
            j.topology_graph(j.topology())
        } else {
            crate::operators::build(&j.operators, j.source_partitions, j.workload)?
        };
        g.bounded = j.bounded;
        Ok(g)
    }

    /// The named topology the job is, written either way: its `topology`,
    /// or operators that build exactly that topology's graph (then its
    /// specialised output check applies). `None` for any other graph.
    pub fn topology_shape(&self) -> Option<Topology> {
        if self.job.workload == Workload::Nexmark {
            return None;
        }
        if self.job.operators.is_empty() {
            return Some(self.job.topology());
        }
        let g = self.try_job_graph().ok()?;
        let p = |kind: fn(&OperatorKind) -> bool| {
            g.vertex_ids()
                .map(|v| g.vertex(v))
                .find(|v| kind(&v.kind))
                .map_or(0, |v| v.parallelism)
        };
        let window = g.vertex_ids().find_map(|v| match g.vertex(v).kind {
            OperatorKind::TumblingWindowCount { size_ms } => Some(size_ms),
            _ => None,
        });
        let named = JobSpec {
            source_parallelism: Some(p(|k| matches!(k, OperatorKind::Source { .. }))),
            count_parallelism: Some(p(OperatorKind::is_keyed)),
            sink_parallelism: Some(p(|k| matches!(k, OperatorKind::TwoPhaseCommitSink))),
            window_size: Some(HumanDuration::from_millis(window.unwrap_or(1))),
            source_partitions: self.job.source_partitions,
            ..JobSpec::default()
        };
        [
            Topology::Count,
            Topology::Union,
            Topology::TwoPipelines,
            Topology::Window,
        ]
        .into_iter()
        .find(|t| named.topology_graph(*t).same_structure(&g))
    }

    /// Records each source partition holds: the rate over the input phase.
    /// Validation keeps it (and [`Self::total_records`]) within
    /// [`MAX_RECORDS`]; before that it saturates instead of wrapping.
    pub fn records_per_partition(&self) -> u64 {
        let n = u128::from(self.job.records_per_second) * u128::from(self.duration.as_millis()) / 1000;
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    pub fn total_records(&self) -> u64 {
        self.records_per_partition()
            .saturating_mul(u64::from(self.job.source_partitions))
    }

    /// Where the two-pipelines job splits its partitions (the second pipeline
    /// reads from here on); `None` for jobs with one pipeline.
    pub fn pipeline_split(&self) -> Option<u32> {
        (self.topology_shape() == Some(Topology::TwoPipelines)).then_some(self.job.source_partitions / 2)
    }

    /// The window size, if the job is the `window` topology.
    pub fn window_size_ms(&self) -> Option<u64> {
        (self.topology_shape() == Some(Topology::Window)).then(|| {
            let g = self.job_graph();
            let size = g.vertex_ids().find_map(|v| match g.vertex(v).kind {
                OperatorKind::TumblingWindowCount { size_ms } => Some(size_ms),
                _ => None,
            });
            size.expect("invariant: the window topology has a window")
        })
    }

    /// Node names of the TaskManagers.
    pub fn task_manager_names(&self) -> Vec<String> {
        (0..self.cluster.task_managers).map(|i| format!("tm-{i}")).collect()
    }

    /// JobManager node names: `jm` for one, `jm-0`, `jm-1`, ... for several.
    pub fn job_manager_names(&self) -> Vec<String> {
        match self.cluster.job_managers {
            1 => vec!["jm".to_string()],
            n => (0..n).map(|i| format!("jm-{i}")).collect(),
        }
    }

    /// Whether `high-availability.type` asks for the coordination service.
    pub fn uses_high_availability(&self) -> bool {
        self.configuration()
            .get("high-availability.type")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("kubernetes"))
    }

    /// The services of this cluster (the coordination service with HA).
    pub fn services(&self) -> Vec<Service> {
        let mut v = Service::ALL.to_vec();
        if self.uses_high_availability() {
            v.push(Service::Coordination);
        }
        v
    }

    /// Whether the scenario sets any resource key (`[resources]` other than
    /// `enabled`, or a `[job]` cost key).
    pub fn sets_resources(&self) -> bool {
        let j = &self.job;
        let r = ResourcesSpec {
            enabled: None,
            ..self.resources.clone()
        };
        !r.is_default()
            || j.record_bytes.is_some()
            || j.state_bytes_per_key.is_some()
            || j.cost_per_record.is_some()
            || j.source_cost_per_record.is_some()
            || j.count_cost_per_record.is_some()
            || j.window_cost_per_record.is_some()
            || j.sink_cost_per_record.is_some()
            || j.record_weight.is_some()
    }

    /// The resource model: the scenario's `[resources]` and `[job]` cost
    /// keys over the defaults; `None` with `[resources] enabled = false`
    /// (work is free, as before the model existed), which sets no other
    /// resource key.
    pub fn resource_model(&self) -> Result<Option<ResourceModel>, ScenarioError> {
        if self.resources.enabled == Some(false) {
            if self.sets_resources() {
                return Err(err(
                    "resources.enabled",
                    "is false, but resource keys are set ([resources], or a [job] cost, size or weight key)",
                ));
            }
            return Ok(None);
        }
        let (r, j) = (&self.resources, &self.job);
        let d = ResourceModel::default();
        if r.task_manager_cores
            .is_some_and(|c| c == 0 || c > MAX_SLOTS_PER_TASK_MANAGER)
        {
            return Err(err(
                "resources.task-manager-cores",
                format!("must be within 1..={MAX_SLOTS_PER_TASK_MANAGER}"),
            ));
        }
        if j.record_weight == Some(0) {
            return Err(err("job.record-weight", "must be at least 1"));
        }
        let base = j.cost_per_record.map_or(d.costs.source_ns, |c| c.0.as_nanos() as u64);
        let op = |o: Option<HumanDuration>| o.map_or(base, |c| c.0.as_nanos() as u64);
        Ok(Some(ResourceModel {
            task_manager_cores: r.task_manager_cores,
            network_bandwidth: r.network_bandwidth.map_or(d.network_bandwidth, |b| b.0),
            checkpoint_storage_bandwidth: r
                .checkpoint_storage_bandwidth
                .map_or(d.checkpoint_storage_bandwidth, |b| b.0),
            checkpoint_storage_latency_ns: r
                .checkpoint_storage_latency
                .map_or(d.checkpoint_storage_latency_ns, |l| l.0.as_nanos() as u64),
            checkpoint_storage_aggregate_bandwidth: r.checkpoint_storage_aggregate_bandwidth.map(|b| b.0),
            local_disk_bandwidth: r.local_disk_bandwidth.map_or(d.local_disk_bandwidth, |b| b.0),
            record_bytes: j.record_bytes.map_or(d.record_bytes, |b| b.0),
            state_bytes_per_key: j.state_bytes_per_key.map_or(d.state_bytes_per_key, |b| b.0),
            costs: OperatorCosts {
                source_ns: op(j.source_cost_per_record),
                count_ns: op(j.count_cost_per_record),
                window_ns: op(j.window_cost_per_record),
                sink_ns: op(j.sink_cost_per_record),
                stateless_ns: base,
            },
            record_weight: j.record_weight.unwrap_or(d.record_weight),
        }))
    }

    /// Every node name a fault may mention.
    pub fn node_names(&self) -> Vec<String> {
        let mut v = self.job_manager_names();
        v.extend(self.task_manager_names());
        v.extend(self.services().iter().map(|s| s.node().to_string()));
        v
    }

    /// This seed's fault plan: the scripted faults plus the random draw, by
    /// time. The plan passes the checks a written plan passes (validation
    /// checked the scripted part; a drawn plan that fails is a bug of the
    /// drawer).
    pub fn fault_plan(&self, seed: u64) -> FaultPlan {
        let mut all = self.faults.scripted.clone();
        if let Some(r) = &self.faults.random {
            all.extend(r.draw(seed, &self.task_manager_names(), &self.job_manager_names()));
        }
        let plan = FaultPlan(all).normalized();
        let last_ms = self.duration.as_millis() + self.expect.recovery_bound.as_millis();
        if let Err(p) = crate::plan_check::check_plan(&plan.0, last_ms) {
            panic!(
                "invariant: {} seed {seed} drew a plan whose fault {} cannot take effect: {}",
                self.name, p.index, p.message
            );
        }
        plan
    }

    /// The scenario as a TOML document (the scenario file format).
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| e.to_string())
    }

    /// The same scenario with an explicit plan and no random faults (for
    /// repro files and shrinking).
    pub fn with_explicit_plan(&self, plan: &FaultPlan) -> Scenario {
        let mut s = self.clone();
        s.faults = FaultSpec {
            scripted: plan.0.clone(),
            random: None,
        };
        s
    }
}
