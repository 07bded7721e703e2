//! Scenario validation: everything that can be checked before a run, each
//! refusal at the key it names (`ScenarioError::path`).

use halab_engine::checkpoint::barrier::CheckpointingMode;
use halab_engine::config::EngineConfig;
use halab_engine::graph::{JobGraph, OperatorKind};
use halab_engine::ha::HighAvailabilityType;

use super::*;
use crate::faults::Fault;

impl Scenario {
    /// Check everything that can be checked before running.
    pub fn validate(&self) -> Result<EngineConfig, ScenarioError> {
        crate::names::check_scenario_name(&self.name).map_err(|m| err("name", m))?;
        if self.duration.as_millis() == 0 {
            return Err(err("duration", "must be positive"));
        }
        if self.duration.as_millis() > MAX_RUN_DURATION_MS {
            return Err(err(
                "duration",
                format!("{} is above the limit of 1h for a run's input phase", self.duration),
            ));
        }
        self.validate_cluster()?;
        self.validate_job()?;
        let engine = self.validate_engine()?;
        self.validate_faults()?;
        self.validate_expectations()?;
        Ok(engine)
    }

    fn validate_cluster(&self) -> Result<(), ScenarioError> {
        let c = &self.cluster;
        if c.task_managers == 0 || c.task_managers > MAX_TASK_MANAGERS {
            return Err(err(
                "cluster.task-managers",
                format!("must be within 1..={MAX_TASK_MANAGERS}"),
            ));
        }
        if c.slots_per_task_manager == 0 || c.slots_per_task_manager > MAX_SLOTS_PER_TASK_MANAGER {
            return Err(err(
                "cluster.slots-per-task-manager",
                format!("must be within 1..={MAX_SLOTS_PER_TASK_MANAGER}"),
            ));
        }
        if c.job_managers == 0 || c.job_managers > MAX_JOB_MANAGERS {
            return Err(err(
                "cluster.job-managers",
                format!("must be within 1..={MAX_JOB_MANAGERS}"),
            ));
        }
        Ok(())
    }

    fn validate_job(&self) -> Result<(), ScenarioError> {
        let j = &self.job;
        if j.source_partitions == 0 {
            return Err(err("job.source-partitions", "must be at least 1"));
        }
        if j.source_partitions > MAX_PARALLELISM {
            return Err(err(
                "job.source-partitions",
                format!("{} is above the limit {MAX_PARALLELISM}", j.source_partitions),
            ));
        }
        if j.operators.is_empty() {
            self.validate_topology()?;
        } else {
            self.validate_operators()?;
        }
        if j.keys == 0 {
            return Err(err("job.keys", "must be at least 1"));
        }
        if j.keys > MAX_KEYS {
            return Err(err("job.keys", format!("{} is above the limit {MAX_KEYS}", j.keys)));
        }
        if j.workload != Workload::Nexmark {
            j.key_distribution()
                .check(j.keys)
                .map_err(|m| err("job.key-distribution", m))?;
        }
        if j.records_per_second == 0 {
            return Err(err("job.records-per-second", "must be at least 1"));
        }
        self.validate_workload()?;
        if self.total_records() > MAX_RECORDS {
            let exact = u128::from(j.records_per_second) * u128::from(self.duration.as_millis()) / 1000
                * u128::from(j.source_partitions);
            return Err(err(
                "job.records-per-second",
                format!(
                    "the run would hold {exact} records ({} per second x {} partitions x {}), above the limit {MAX_RECORDS}",
                    j.records_per_second, j.source_partitions, self.duration
                ),
            ));
        }
        let g = self.job_graph();
        let channels = g.data_channels();
        if channels > MAX_DATA_CHANNELS {
            let parallelism: Vec<String> = g
                .vertex_ids()
                .map(|v| format!("{} {}", g.vertex(v).name, g.vertex(v).parallelism))
                .collect();
            return Err(err(
                "job",
                format!(
                    "the job would open {channels} data channels (parallelism {}), above the limit {MAX_DATA_CHANNELS}",
                    parallelism.join(" / ")
                ),
            ));
        }
        Ok(())
    }

    /// A `nexmark` workload: a job of operators, every topic at least one
    /// record per second and per partition, and fewer hot keys than
    /// persons. The `keys` and `edges` workloads take any job.
    fn validate_workload(&self) -> Result<(), ScenarioError> {
        let j = &self.job;
        if j.workload != Workload::Nexmark {
            return match j.nexmark_proportions {
                Some(_) => Err(err(
                    "job.nexmark-proportions",
                    "only a `workload = \"nexmark\"` job has NexMark proportions",
                )),
                None => Ok(()),
            };
        }
        if j.operators.is_empty() {
            return Err(err(
                "job.workload",
                "a NexMark job is written as [[job.operators]], its sources naming the events they read",
            ));
        }
        let log = j
            .nexmark_log(self.duration.as_millis())
            .expect("invariant: a nexmark workload has a NexMark log");
        if log.proportions.contains(&0) {
            return Err(err("job.nexmark-proportions", "every event kind needs a share above 0"));
        }
        for kind in crate::nexmark::EventKind::ALL {
            if log.rate(kind) == 0 || log.records(kind) == 0 {
                let [p, a, b] = log.proportions;
                return Err(err(
                    "job.records-per-second",
                    format!(
                        "{} events per second and partition over {} give the {kind} topic no record (proportions {p}:{a}:{b}): raise it to at least {}",
                        j.records_per_second,
                        self.duration,
                        p + a + b
                    ),
                ));
            }
        }
        Self::validate_nexmark_skew(&log)
    }

    /// A key distribution on NexMark picks among the persons and auctions
    /// by id (see [`crate::nexmark`]): its hot keys must be fewer than the
    /// persons the run generates (auctions are three times as many).
    fn validate_nexmark_skew(log: &crate::nexmark::NexmarkLog) -> Result<(), ScenarioError> {
        let Some(d) = log.skew else {
            return Ok(());
        };
        let persons = log.records(crate::nexmark::EventKind::Person) * u64::from(log.topic_partitions);
        match d {
            KeyDistribution::Hot { keys, .. } if keys >= persons => Err(err(
                "job.key-distribution",
                format!(
                    "{d} names {keys} hot keys, but the run generates {persons} persons: on a NexMark job the hot keys are the persons and auctions with the lowest ids, and must be fewer"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The legacy job keys: `topology` and its parallelisms.
    fn validate_topology(&self) -> Result<(), ScenarioError> {
        let j = &self.job;
        for (name, v) in [
            ("job.source-parallelism", j.source_parallelism()),
            ("job.count-parallelism", j.count_parallelism()),
            ("job.sink-parallelism", j.sink_parallelism()),
        ] {
            if v == 0 {
                return Err(err(name, "must be at least 1"));
            }
            if v > MAX_PARALLELISM {
                return Err(err(name, format!("{v} is above the limit {MAX_PARALLELISM}")));
            }
        }
        let per_source = match j.topology() {
            Topology::Count | Topology::Window => j.source_partitions,
            Topology::Union | Topology::TwoPipelines => j.source_partitions / 2,
        };
        if j.topology() == Topology::Window && j.window_size().as_millis() == 0 {
            return Err(err("job.window-size", "must be positive"));
        }
        if j.source_parallelism() > per_source {
            return Err(err(
                "job.source-parallelism",
                format!(
                    "{} exceeds the {per_source} partitions each source reads (job.source-partitions = {})",
                    j.source_parallelism(),
                    j.source_partitions
                ),
            ));
        }
        Ok(())
    }

    /// A job given as `[[job.operators]]`: no named-topology key beside
    /// it, and a graph that builds and has a reference to check against.
    fn validate_operators(&self) -> Result<(), ScenarioError> {
        let j = &self.job;
        let given = [
            j.topology.is_some(),
            j.source_parallelism.is_some(),
            j.count_parallelism.is_some(),
            j.sink_parallelism.is_some(),
            j.window_size.is_some(),
        ];
        if let Some((key, _)) = crate::operators::TOPOLOGY_KEYS.iter().zip(given).find(|(_, set)| *set) {
            return Err(crate::operators::topology_key_beside_operators(key));
        }
        let g = self.try_job_graph()?;
        let processing_time = g
            .vertex_ids()
            .find(|v| matches!(g.vertex(*v).kind, OperatorKind::ProcessingTimeWindowCount { .. }));
        if let (true, Some(v)) = (j.bounded, processing_time) {
            return Err(err(
                "job.bounded",
                format!(
                    "`{}` is a processing-time window: a bounded job ends with its last windows open (halab does not fire processing-time windows at the end of input)",
                    g.vertex(v).name
                ),
            ));
        }
        crate::graph_reference::pairings(&g).map_err(|e| ScenarioError {
            path: format!("job.operators[{}].kind", e.vertex),
            message: e.to_string(),
            fallback: None,
        })?;
        Ok(())
    }

    /// The engine's configuration, and what the cluster and job need of it.
    fn validate_engine(&self) -> Result<EngineConfig, ScenarioError> {
        let c = &self.cluster;
        let mut engine = EngineConfig::from_configuration(&self.configuration()).map_err(|e| ScenarioError {
            path: format!("config.\"{}\"", e.key),
            message: format!("`{}`: {}", e.value, e.message),
            fallback: None,
        })?;
        engine.resources = self.resource_model()?;
        if c.job_managers > 1 && engine.high_availability == HighAvailabilityType::None {
            return Err(err(
                "cluster.job-managers",
                "more than one JobManager needs config \"high-availability.type\" = \"kubernetes\"",
            ));
        }
        if engine.reactive && self.job_graph().slot_sharing_groups().len() != 1 {
            return Err(err(
                "config.\"scheduler-mode\"",
                "reactive mode rescales one pipeline; this job has independent pipelines",
            ));
        }
        // Reactive mode starts the keyed operators at what the slots allow;
        // the others keep their parallelism.
        let g = self.job_graph();
        let needed = if engine.reactive {
            self.check_reactive_edges(&g)?;
            g.vertex_ids()
                .filter(|v| !g.vertex(*v).kind.is_keyed())
                .map(|v| g.vertex(v).parallelism)
                .max()
                .unwrap_or(1)
        } else {
            g.slots_needed()
        };
        self.check_slots(needed, engine.reactive)?;
        engine
            .effective_max_parallelism(needed)
            .map_err(|e| err("config.\"pipeline.max-parallelism\"", e.to_string()))?;
        if engine.checkpoint_interval.is_none() {
            return Err(err(
                "config.\"execution.checkpointing.interval\"",
                "must be set: the 2PC sink commits only on checkpoints",
            ));
        }
        if g.is_cyclic() {
            check_cyclic_checkpoints(&engine)?;
        }
        Ok(engine)
    }

    /// Reactive mode changes the keyed operators' parallelism, so no
    /// forward edge may join one.
    fn check_reactive_edges(&self, g: &JobGraph) -> Result<(), ScenarioError> {
        for v in g.vertex_ids() {
            for (from, e) in g.inputs(v) {
                let keyed = g.vertex(v).kind.is_keyed() || g.vertex(from).kind.is_keyed();
                if keyed && e.ship == halab_engine::graph::ShipStrategy::Forward {
                    return Err(err(
                        "config.\"scheduler-mode\"",
                        format!(
                            "reactive mode rescales keyed operators, and the forward edge from `{}` to `{}` would then join different parallelisms",
                            g.vertex(from).name,
                            g.vertex(v).name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The keys that set each vertex's parallelism, in vertex order.
    fn parallelism_keys(&self) -> Vec<(String, u32, bool)> {
        let j = &self.job;
        if j.operators.is_empty() {
            return vec![
                ("job.source-parallelism".into(), j.source_parallelism(), false),
                ("job.count-parallelism".into(), j.count_parallelism(), true),
                ("job.sink-parallelism".into(), j.sink_parallelism(), false),
            ];
        }
        let g = self.job_graph();
        g.vertex_ids()
            .map(|v| {
                let vertex = g.vertex(v);
                (
                    format!("job.operators[{v}].parallelism"),
                    vertex.parallelism,
                    vertex.kind.is_keyed(),
                )
            })
            .collect()
    }

    /// The cluster holds the `needed` slots. A refusal is at the job key
    /// that needs them (the widest vertex's parallelism), else at the
    /// cluster, and states both sides.
    fn check_slots(&self, needed: u32, reactive: bool) -> Result<(), ScenarioError> {
        let c = &self.cluster;
        let slots = c.task_managers * c.slots_per_task_manager;
        if slots >= needed {
            return Ok(());
        }
        let message = format!(
            "the job needs {needed} slots but the cluster has only {slots} (task-managers = {}, slots-per-task-manager = {}); it could never start",
            c.task_managers, c.slots_per_task_manager
        );
        let widest = self
            .parallelism_keys()
            .into_iter()
            // Reactive mode fits the keyed operators to the slots.
            .filter(|(_, _, keyed)| !(reactive && *keyed))
            .find(|(_, p, _)| *p == needed);
        let (path, fallback) = match &widest {
            Some((key, _, _)) => (key.as_str(), "cluster"),
            None => ("cluster", "job"),
        };
        Err(ScenarioError {
            path: path.to_string(),
            message,
            fallback: Some(fallback.to_string()),
        })
    }

    fn validate_faults(&self) -> Result<(), ScenarioError> {
        let tms = self.task_manager_names();
        // A fault's problem is at its verb's key (`kill = ...`), the key
        // the file names it by.
        let at_verb = |i: usize| format!("faults.scripted[{i}].{}", self.faults.scripted[i].fault.verb());
        for (i, f) in self.faults.scripted.iter().enumerate() {
            self.validate_fault(&f.fault).map_err(|m| err(&at_verb(i), m))?;
        }
        let last_ms = self.duration.as_millis() + self.expect.recovery_bound.as_millis();
        crate::plan_check::check_plan(&self.faults.scripted, last_ms).map_err(|p| {
            let path = match p.field {
                "" => at_verb(p.index),
                field => format!("faults.scripted[{}].{field}", p.index),
            };
            err(&path, p.message)
        })?;
        if let Some(r) = &self.faults.random {
            r.validate(&tms, &self.job_manager_names())
                .map_err(|(path, m)| err(&path, m))?;
            let ha = self.uses_high_availability();
            if let Some(k) = r.kinds.iter().find(|k| k.needs_high_availability() && !ha) {
                return Err(err(
                    "faults.random.kinds",
                    format!(
                        "`{}` needs config \"high-availability.type\" = \"kubernetes\"",
                        serde_json::to_value(k)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    ),
                ));
            }
            if r.services.iter().flatten().any(|s| !self.services().contains(s)) {
                return Err(err(
                    "faults.random.services",
                    "the coordination service runs only with high availability",
                ));
            }
        }
        Ok(())
    }

    fn validate_expectations(&self) -> Result<(), ScenarioError> {
        if !matches!(
            self.expect.final_status,
            JobStatus::Running | JobStatus::Failed | JobStatus::Finished | JobStatus::Canceled
        ) {
            return Err(err(
                "expect.final-status",
                "must be RUNNING, FAILED, FINISHED or CANCELED",
            ));
        }
        if self.expect.final_status == JobStatus::Finished && !self.job.bounded {
            return Err(err(
                "expect.final-status",
                "only a bounded job (job.bounded = true) can end FINISHED",
            ));
        }
        if self.job.bounded && self.expect.final_status == JobStatus::Running {
            return Err(err(
                "expect.final-status",
                "a bounded job ends FINISHED (or FAILED or CANCELED), not RUNNING",
            ));
        }
        if self.expect.recovery_bound.as_millis() == 0 {
            return Err(err("expect.recovery-bound", "must be positive"));
        }
        if self.expect.recovery_bound.as_millis() > MAX_RUN_DURATION_MS {
            return Err(err(
                "expect.recovery-bound",
                format!("{} is above the limit of 1h", self.expect.recovery_bound),
            ));
        }
        if !(1..=MAX_TRACE_EVENTS).contains(&self.expect.max_trace_events) {
            return Err(err(
                "expect.max-trace-events",
                format!(
                    "must be within 1..={MAX_TRACE_EVENTS}, got {}",
                    self.expect.max_trace_events
                ),
            ));
        }
        Ok(())
    }

    fn validate_fault(&self, f: &Fault) -> Result<(), String> {
        let known = self.node_names();
        for n in f.nodes() {
            if !known.contains(&n) {
                return Err(format!("unknown node `{n}` (nodes are {})", known.join(", ")));
            }
        }
        match f {
            Fault::Kill { node } | Fault::Restart { node } if node.starts_with("jm") && !self.uses_high_availability() => {
                Err("killing the JobManager needs high availability (config \"high-availability.type\" = \"kubernetes\"), or its state is lost; use pause".into())
            }
            Fault::Partition { groups }
            | Fault::Heal { groups }
            | Fault::PartitionOneWay { groups }
            | Fault::HealOneWay { groups } => {
                if groups.iter().any(|g| g.is_empty()) {
                    return Err("both groups must name at least one node".into());
                }
                if let Some(n) = groups[0].iter().find(|n| groups[1].contains(n)) {
                    return Err(format!("node `{n}` is in both groups"));
                }
                Ok(())
            }
            Fault::Clog { link } | Fault::Unclog { link } if link[0] == link[1] => {
                Err("a link joins two different nodes".into())
            }
            _ => Ok(()),
        }
    }
}

/// An iteration head logs the records in its loop during aligned and
/// unaligned exactly-once checkpoints; the other kinds are refused.
fn check_cyclic_checkpoints(engine: &EngineConfig) -> Result<(), ScenarioError> {
    let barriers = engine.barrier_config();
    if barriers.mode == CheckpointingMode::AtLeastOnce {
        return Err(err(
            "config.\"execution.checkpointing.mode\"",
            "a cyclic job needs EXACTLY_ONCE: an at-least-once checkpoint would lose the records in the iteration's loop",
        ));
    }
    if barriers.barrier_timeout_ms().is_some() {
        return Err(err(
            "config.\"execution.checkpointing.aligned-checkpoint-timeout\"",
            "a cyclic job's checkpoints are aligned or unaligned, not alternating: leave the timeout out",
        ));
    }
    Ok(())
}
