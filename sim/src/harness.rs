//! `run_seed(scenario, seed)`: the one way to run a simulation.
//!
//! Each run gets a fresh OS thread (std's HashMap order is deterministic only
//! when the madsim runtime is the first thing created on its thread) and a
//! runtime built from the seed with a time limit. A run has a fault phase
//! (the plan), a heal phase in which the job must commit all input within the
//! scenario's recovery bound (liveness), a short quiet period that would
//! reveal late duplicates, and then the checkers (safety).

use std::sync::Arc;
use std::time::Duration;

use halab_engine::config::EngineConfig;
use halab_engine::status::JobStatus;
use halab_engine::trace::{trace_hash, TraceEntry, Tracer};

use crate::checkers::exactly_once::{ExactlyOnceCheck, ExactlyOnceReport};
use crate::checkers::graph::GraphCheck;
use crate::checkers::output::OutputCheck;
use crate::checkers::windows::WindowsCheck;
use crate::checkers::{self, conformance, leadership, liveness, rescaling, CheckResult};
use crate::cluster::{Cluster, Services};
use crate::faults::{FaultPlan, Service};
use crate::history::{End, History, LoadSample, StateSample, SubtaskTotals};
use crate::progress::Progress;
use std::collections::BTreeMap;

use crate::record::{Bucket, RunRecord, SubtaskMetrics, TaskManagerMetrics, Verdict, HALAB_VERSION, RECORD_SCHEMA};
use crate::recovery;
use crate::reference::SourceContent;
use crate::scenario::{Scenario, ScenarioError, Semantics, Topology};
use crate::services::checkpoint_storage::CheckpointStorage;
use crate::services::coordination::Coordination;
use crate::services::sink_store::SinkStore;
use crate::services::source_log::SourceLog;
use crate::services::{Fencing, ServiceControl};
use halab_engine::graph::ExecutionVertexId;
use halab_engine::process::task::load::{LoadRegistry, SubtaskLoad};

/// Width of a metrics bucket.
pub const BUCKET_MS: u64 = 100;

/// Run `scenario` under `seed` on a fresh thread. Wall time is not measured
/// here (no wall clock near the simulation); callers fill `wall_ms`.
pub fn run_seed(scenario: &Scenario, seed: u64) -> Result<RunRecord, ScenarioError> {
    run_seed_with_trace(scenario, seed).map(|(r, _)| r)
}

/// Like [`run_seed`], also returning the full trace as text lines.
pub fn run_seed_with_trace(scenario: &Scenario, seed: u64) -> Result<(RunRecord, Vec<String>), ScenarioError> {
    run_on_thread(scenario, seed, HistoryMode::Off, Progress::new()).map(|(r, t, _)| (r, t))
}

/// Like [`run_seed`], also returning the run's history (`crate::history`);
/// `None` if the simulation panicked.
pub fn run_seed_with_history(scenario: &Scenario, seed: u64) -> Result<(RunRecord, Option<History>), ScenarioError> {
    run_on_thread(scenario, seed, HistoryMode::Keep, Progress::new()).map(|(r, _, h)| (r, h))
}

/// Like [`run_seed_with_trace`] (and the history under
/// [`HistoryMode::Keep`]), writing the run's simulated time to `progress`
/// as it goes.
pub fn run_seed_watched(
    scenario: &Scenario,
    seed: u64,
    history: HistoryMode,
    progress: Progress,
) -> Result<RunOutput, ScenarioError> {
    run_on_thread(scenario, seed, history, progress)
}

/// Whether a run keeps its commits for a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryMode {
    Off,
    Keep,
}

/// A run's record, its trace as text lines, and its history when kept.
pub type RunOutput = (RunRecord, Vec<String>, Option<History>);

fn run_on_thread(
    scenario: &Scenario,
    seed: u64,
    history: HistoryMode,
    progress: Progress,
) -> Result<RunOutput, ScenarioError> {
    let engine = scenario.validate()?;
    let plan = scenario.fault_plan(seed);
    let sc = scenario.clone();
    let plan2 = plan.clone();
    let joined = std::thread::Builder::new()
        .name(format!("halab-seed-{seed}"))
        .spawn(move || simulate(sc, engine, plan2, seed, history, progress))
        .map_err(|e| ScenarioError {
            path: "(runtime)".into(),
            message: format!("cannot start a simulation thread: {e}"),
            fallback: None,
        })?
        .join();
    Ok(match joined {
        Ok(r) => r?,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            let record = RunRecord::without_run(
                scenario,
                seed,
                plan,
                Verdict::Crash,
                format!("the simulation panicked: {msg}"),
            );
            (record, Vec::new(), None)
        }
    })
}

/// The output check of `sc`'s topology, which the sink store feeds as
/// transactions commit.
/// A named topology's graph gets its specialised check; any other graph
/// the check against its sequential reference.
pub(crate) fn output_check(sc: &Scenario, content: &SourceContent) -> OutputCheck {
    match sc.topology_shape() {
        Some(Topology::Window) => OutputCheck::Windows(Box::new(WindowsCheck::new(
            content,
            sc.window_size_ms().expect("invariant: the window topology has a size"),
        ))),
        Some(_) => OutputCheck::Counts(Box::new(ExactlyOnceCheck::new(content, sc.pipeline_split()))),
        None => OutputCheck::Graph(Box::new(
            GraphCheck::new(&sc.job_graph(), content)
                .expect("invariant: validation refuses graphs without a reference"),
        )),
    }
}

struct SimOutput {
    tracer: Tracer,
    sink: Arc<SinkStore>,
    storage: Arc<CheckpointStorage>,
    buckets: Vec<Bucket>,
    completed_at_ms: Option<u64>,
    end_ms: u64,
    /// Every subtask's load at the end.
    load: BTreeMap<ExecutionVertexId, SubtaskLoad>,
    /// Every TaskManager's load at the end, by node name.
    load_by_task_manager: BTreeMap<String, SubtaskLoad>,
    /// When the run was stopped for recording too many trace events.
    too_busy_at_ms: Option<u64>,
    /// Source records read again after restores.
    records_reread: u64,
    /// Every second's load totals (kept histories only).
    load_samples: Vec<LoadSample>,
}

/// When a run's phases end, in simulated ms from its start.
#[derive(Clone, Copy, Debug)]
struct Phases {
    /// The input has been produced and the last fault applied.
    heal_ms: u64,
    /// The job must have committed all input (the recovery bound).
    deadline_ms: u64,
    /// The last fault of the plan.
    plan_end_ms: u64,
    /// How long a settled run stays quiet, so late duplicates would show.
    quiet_ms: u64,
}

impl Phases {
    fn of(sc: &Scenario, engine: &EngineConfig, plan: &FaultPlan) -> Phases {
        let input_end_ms = sc.duration.as_millis();
        let heal_ms = input_end_ms.max(plan.last_fault_ms());
        let quiet_ms = engine
            .checkpoint_interval
            .map(|i| 2 * i.as_millis() as u64)
            .unwrap_or(1000)
            .max(1000);
        Phases {
            heal_ms,
            deadline_ms: heal_ms + sc.expect.recovery_bound.as_millis(),
            plan_end_ms: plan.last_fault_ms(),
            quiet_ms,
        }
    }
}

/// Everything one simulated run starts from.
struct Setup {
    sc: Scenario,
    engine: EngineConfig,
    plan: FaultPlan,
    seed: u64,
    history: HistoryMode,
    content: SourceContent,
    phases: Phases,
    progress: Progress,
}

/// Run one simulation on this thread and judge it; an error when the run
/// recorded more trace events than the scenario allows.
fn simulate(
    sc: Scenario,
    engine: EngineConfig,
    plan: FaultPlan,
    seed: u64,
    history: HistoryMode,
    progress: Progress,
) -> Result<RunOutput, ScenarioError> {
    let phases = Phases::of(&sc, &engine, &plan);
    let content = SourceContent::of(&sc, seed);
    let mut rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    rt.set_time_limit(Duration::from_millis(phases.deadline_ms + phases.quiet_ms + 60_000));
    let setup = Setup {
        sc: sc.clone(),
        engine,
        plan: plan.clone(),
        seed,
        history,
        content,
        phases,
        progress,
    };
    let out = rt.block_on(run_cluster(setup));
    if let Some(at_ms) = out.too_busy_at_ms {
        return Err(too_busy(&sc, at_ms));
    }
    let run = RunOf { sc: &sc, seed, content };
    Ok(finish(run, plan, phases.deadline_ms, out))
}

/// The error of a run stopped at `at_ms` for recording more trace events
/// than `expect.max-trace-events`.
fn too_busy(sc: &Scenario, at_ms: u64) -> ScenarioError {
    ScenarioError {
        path: "expect.max-trace-events".into(),
        fallback: None,
        message: format!(
            "the run recorded more than {} trace events by {:.1}s of simulated time and was stopped; \
             shorten `duration`, or lower the parallelism, the fault rate or the checkpoint frequency",
            sc.expect.max_trace_events,
            at_ms as f64 / 1000.0
        ),
    }
}

/// The services of a run, their state shared with the harness.
fn services(sc: &Scenario, tracer: &Tracer, content: &SourceContent) -> Services {
    Services {
        source_log: SourceLog::new(*content, sc.job.records_per_second),
        sink_store: SinkStore::new(
            tracer.clone(),
            "sink-store",
            Fencing::of_sink(sc.sabotage),
            output_check(sc, content),
        ),
        checkpoint_storage: CheckpointStorage::new(Fencing::of_cluster(sc.sabotage)),
        coordination: Coordination::new(tracer.clone(), Fencing::of_cluster(sc.sabotage)),
        controls: Service::ALL
            .iter()
            .chain([&Service::Coordination])
            .map(|s| (*s, ServiceControl::new()))
            .collect(),
        load: LoadRegistry::default(),
    }
}

/// Inside the simulation: start the cluster, apply the plan, and step the
/// monitor every bucket until the run is over.
async fn run_cluster(setup: Setup) -> SimOutput {
    let Setup {
        sc,
        engine,
        plan,
        seed,
        history,
        content,
        phases,
        progress,
    } = setup;
    let tracer = Tracer::new();
    let services = services(&sc, &tracer, &content);
    if history == HistoryMode::Keep {
        services.sink_store.keep_log();
    }
    let cluster = Arc::new(Cluster::start(
        &sc,
        seed,
        Arc::new(engine),
        tracer.clone(),
        &services,
        sc.sabotage,
    ));
    let start = madsim::time::Instant::now();
    let chaos = cluster.clone();
    madsim::task::spawn(async move {
        for f in plan.0 {
            madsim::time::sleep_until(start + f.at.0).await;
            chaos.apply(&f.fault);
        }
    });
    let limits = Limits {
        max_trace_events: sc.expect.max_trace_events,
        progress,
    };
    let mut monitor = Monitor::new(tracer, services, phases, limits, history);
    let mut ticker = madsim::time::interval(Duration::from_millis(BUCKET_MS));
    ticker.tick().await;
    let end_ms = loop {
        ticker.tick().await;
        let now = start.elapsed().as_millis() as u64;
        if monitor.step(now) == Step::Over {
            break now;
        }
    };
    cluster.shut_down();
    monitor.into_output(end_ms)
}

/// Whether a run goes on after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Continue,
    Over,
}

/// What bounds a run beyond its phases, and who watches it.
struct Limits {
    max_trace_events: u64,
    progress: Progress,
}

/// What the harness watches while a run goes on: a bucket of metrics per
/// step, when every expected output was committed, and the job's status.
struct Monitor {
    limits: Limits,
    /// When the trace outgrew `limits.max_trace_events`.
    too_busy_at_ms: Option<u64>,
    tracer: Tracer,
    services: Services,
    expected_outputs: u64,
    phases: Phases,
    buckets: Vec<Bucket>,
    last_read: u64,
    last_committed: u64,
    completed_at_ms: Option<u64>,
    /// Trace entries the status tracker has seen.
    seen: usize,
    status: recovery::JobStatusTracker,
    /// Every second's load totals, for a kept history.
    history: HistoryMode,
    load_samples: Vec<LoadSample>,
}

impl Monitor {
    fn new(tracer: Tracer, services: Services, phases: Phases, limits: Limits, history: HistoryMode) -> Monitor {
        Monitor {
            limits,
            too_busy_at_ms: None,
            tracer,
            expected_outputs: services.sink_store.expected_outputs(),
            services,
            phases,
            buckets: Vec::new(),
            last_read: 0,
            last_committed: 0,
            completed_at_ms: None,
            seen: 0,
            status: recovery::JobStatusTracker::default(),
            history,
            load_samples: Vec::new(),
        }
    }

    /// Each subtask's load totals, every simulated second of a run whose
    /// history is kept (reading them changes nothing in the run).
    fn sample_load(&mut self, now: u64) {
        // Every tenth bucket (the ticker's times drift off whole seconds).
        let per_second = (1000 / BUCKET_MS) as usize;
        if self.history == HistoryMode::Off || !self.buckets.len().is_multiple_of(per_second) {
            return;
        }
        let subtasks = self
            .services
            .load
            .totals()
            .into_iter()
            .map(|(id, l)| SubtaskTotals {
                task: id.to_string(),
                busy_ns: l.busy_ns,
                back_pressured_ns: l.back_pressured_ns,
                records_in: l.records_in,
            })
            .collect();
        self.load_samples.push(LoadSample { t_ms: now, subtasks });
    }

    /// One bucket at `now`: record its metrics, follow the job's status, and
    /// say whether the run is over.
    fn step(&mut self, now: u64) -> Step {
        self.record_bucket(now);
        self.sample_load(now);
        let status = self.follow_status();
        self.limits.progress.set(now, self.phases.deadline_ms);
        if self.seen as u64 > self.limits.max_trace_events {
            self.too_busy_at_ms = Some(now);
            return Step::Over;
        }
        if self.completed_at_ms.is_none() && self.services.sink_store.distinct_committed() == self.expected_outputs {
            self.completed_at_ms = Some(now);
        }
        let Phases {
            heal_ms,
            deadline_ms,
            plan_end_ms,
            quiet_ms,
        } = self.phases;
        // Settled: everything committed, the faults are over, a quiet
        // period has passed (late duplicates would show) and the job runs.
        let settled =
            self.completed_at_ms.is_some_and(|t| now >= heal_ms.max(t) + quiet_ms) && status == JobStatus::Running;
        // A globally terminal job ends the run once the whole plan was
        // applied (a fault after FINISHED must not make it run again).
        let over = status.is_terminal() && now >= plan_end_ms;
        if settled || over || now > deadline_ms {
            Step::Over
        } else {
            Step::Continue
        }
    }

    /// The bucket that ends at `now`: records read and committed since the
    /// last one, the source's lag, and the latency of the commits.
    fn record_bucket(&mut self, now: u64) {
        let read = self.services.source_log.records_read();
        let committed = self.services.sink_store.committed_len();
        let (latency_mean_ms, latency_max_ms) = self.services.sink_store.take_latency_window();
        self.buckets.push(Bucket {
            t_ms: now - BUCKET_MS,
            read: read - self.last_read,
            committed: committed - self.last_committed,
            lag: self.services.source_log.lag(),
            latency_mean_ms,
            latency_max_ms,
        });
        (self.last_read, self.last_committed) = (read, committed);
    }

    /// The job's status after the trace entries since the last step.
    fn follow_status(&mut self) -> JobStatus {
        let new = self.tracer.entries_from(self.seen);
        self.seen += new.len();
        for e in &new {
            self.status.observe(e);
        }
        self.status.status
    }

    fn into_output(self, end_ms: u64) -> SimOutput {
        SimOutput {
            tracer: self.tracer,
            sink: self.services.sink_store,
            storage: self.services.checkpoint_storage,
            buckets: self.buckets,
            completed_at_ms: self.completed_at_ms,
            end_ms,
            load: self.services.load.totals(),
            load_by_task_manager: self.services.load.totals_by_task_manager(),
            too_busy_at_ms: self.too_busy_at_ms,
            records_reread: self.services.source_log.records_reread(),
            load_samples: self.load_samples,
        }
    }
}

/// What the checkers need of a run besides its trace: the output check's
/// report and count, and the facts the liveness and loss rules read.
pub struct RunFacts {
    pub eo: ExactlyOnceReport,
    /// Distinct expected outputs committed.
    pub distinct: u64,
    /// Distinct outputs a complete run commits ([`OutputCheck::expected`]).
    pub expected: u64,
    /// When every expected output had been committed (bucket time).
    pub completed_at_ms: Option<u64>,
    pub deadline_ms: u64,
    /// Source records the latest completed checkpoint had consumed.
    pub latest_consumed: Option<u64>,
}

/// The output checker's result when exactly-once (or at-least-once) did
/// not hold.
fn output_violation(semantics: Semantics, eo: &ExactlyOnceReport) -> CheckResult {
    let message = format!(
        "output is not {}: lost {}, duplicated {}, unexpected {}, miscounted {}, out of order {}",
        match semantics {
            Semantics::ExactlyOnce => "exactly-once",
            Semantics::AtLeastOnce => "at-least-once",
        },
        eo.lost,
        eo.duplicated,
        eo.unexpected,
        eo.miscounted,
        eo.out_of_order
    );
    CheckResult {
        verdict: Verdict::Violation,
        message: Some(message),
        examples: eo.examples.clone(),
        ..CheckResult::pass("output")
    }
}

/// The checkers' verdict on a run.
pub struct Judgement {
    pub verdict: Verdict,
    pub message: Option<String>,
    /// Every checker's result, in [`checkers::PRECEDENCE`] order.
    pub results: Vec<CheckResult>,
    pub conformance: conformance::ConformanceReport,
    pub leaders: leadership::LeadershipReport,
    pub keyed: rescaling::RescalingReport,
    pub status: JobStatus,
}

/// Run every checker on a run's trace and facts: the one place a verdict is
/// decided, for a live run and for a history (`crate::history`).
pub fn judge(sc: &Scenario, seed: u64, content: &SourceContent, facts: &RunFacts, trace: &[TraceEntry]) -> Judgement {
    let eo = &facts.eo;
    let status = recovery::final_status(trace);
    let live = liveness::check(
        facts.distinct,
        facts.expected,
        facts.completed_at_ms,
        facts.deadline_ms,
        status,
        sc.expect.final_status,
    );
    // Loss is a safety violation if the job converged to RUNNING, or if it
    // runs and its latest completed checkpoint has consumed all input: then
    // nothing uncommitted can ever be re-read. A job that failed or stalled
    // before that has not lost data; it has not finished (liveness).
    let input_checkpointed = facts.latest_consumed == Some(content.total());
    let lost_counts =
        matches!(status, JobStatus::Running | JobStatus::Finished) && (live.converged || input_checkpointed);
    let unsafe_kinds = match sc.expect.semantics {
        Semantics::ExactlyOnce => eo.duplicated + eo.unexpected + eo.miscounted + eo.out_of_order,
        Semantics::AtLeastOnce => eo.unexpected,
    };
    let safety_ok = unsafe_kinds == 0 && (!lost_counts || eo.lost == 0);
    let conformance = conformance::check(
        &sc.configuration(),
        conformance::Checkpointing::Enabled,
        crate::cluster::restart_seed(seed),
        trace,
    );
    let leaders = leadership::check(trace);
    let keyed = rescaling::check(trace);
    let results = vec![
        CheckResult::from_problems("keyed-state", Verdict::Violation, "keyed state", &keyed.problems),
        CheckResult::from_problems("leadership", Verdict::Violation, "split brain", &leaders.problems),
        CheckResult::from_problems(
            "restart-policy",
            Verdict::Violation,
            "restart policy not followed",
            &conformance.mismatches,
        ),
        if safety_ok {
            CheckResult::pass("output")
        } else {
            output_violation(sc.expect.semantics, eo)
        },
        match live.converged {
            true => CheckResult::pass("liveness"),
            false => CheckResult {
                verdict: Verdict::Liveness,
                message: live.message,
                ..CheckResult::pass("liveness")
            },
        },
    ];
    let (verdict, message) = checkers::combine(&results);
    Judgement {
        verdict,
        message,
        results,
        conformance,
        leaders,
        keyed,
        status,
    }
}

/// Which run: the scenario, the seed and the source contents it drew.
#[derive(Clone, Copy)]
struct RunOf<'a> {
    sc: &'a Scenario,
    seed: u64,
    content: SourceContent,
}

/// Judge a finished run and write its record (and its history, if kept).
fn finish(run: RunOf<'_>, plan: FaultPlan, deadline_ms: u64, out: SimOutput) -> RunOutput {
    let trace = out.tracer.entries();
    let facts = run_facts(&out, deadline_ms);
    let judgement = judge(run.sc, run.seed, &run.content, &facts, &trace);
    let record = run_record(run, plan, &trace, judgement, &facts, &out);
    let history = out.sink.take_log().map(|commits| History {
        scenario: run.sc.clone(),
        seed: run.seed,
        content: run.content,
        verdict: record.verdict,
        message: record.message.clone(),
        trace_hash: record.trace_hash.clone(),
        commits,
        trace: trace.clone(),
        load: out.load_samples.clone(),
        state: state_samples(&out.storage),
        end: End {
            completed_at_ms: facts.completed_at_ms,
            deadline_ms,
            end_ms: out.end_ms,
            latest_consumed: facts.latest_consumed,
        },
    });
    (record, trace.iter().map(|e| e.to_string()).collect(), history)
}

/// Each completed checkpoint's snapshot size per subtask.
fn state_samples(storage: &CheckpointStorage) -> Vec<StateSample> {
    storage
        .completed()
        .into_iter()
        .map(|c| StateSample {
            checkpoint: c.id,
            t_ms: u64::try_from(c.completion_ms).unwrap_or(0),
            subtasks: c.states.iter().map(|(id, h)| (id.to_string(), h.size_bytes)).collect(),
        })
        .collect()
}

/// The facts of a finished run. Takes the output check out of the sink
/// store, after counting its distinct outputs.
fn run_facts(out: &SimOutput, deadline_ms: u64) -> RunFacts {
    RunFacts {
        distinct: out.sink.distinct_committed(),
        expected: out.sink.expected_outputs(),
        eo: out
            .sink
            .take_check()
            .and_then(OutputCheck::finish)
            .expect("invariant: the run's sink store holds its output check"),
        completed_at_ms: out.completed_at_ms,
        deadline_ms,
        latest_consumed: out.storage.latest_consumed(),
    }
}

/// Every subtask's metrics, in vertex and subtask order.
fn subtask_metrics(sc: &Scenario, load: &BTreeMap<ExecutionVertexId, SubtaskLoad>) -> Vec<SubtaskMetrics> {
    let graph = sc.job_graph();
    load.iter()
        .map(|(id, l)| SubtaskMetrics::of(&graph.vertex(id.vertex).name, id.subtask, l))
        .collect()
}

/// A finished run's record: its verdict, counts and series.
/// A job status under its Flink name (`RUNNING`).
fn status_name<T: serde::Serialize>(status: T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Every TaskManager's load over the run.
fn task_manager_metrics(out: &SimOutput) -> Vec<TaskManagerMetrics> {
    out.load_by_task_manager
        .iter()
        .map(|(name, l)| TaskManagerMetrics::of(name, l, out.end_ms))
        .collect()
}

fn run_record(
    run: RunOf<'_>,
    plan: FaultPlan,
    trace: &[TraceEntry],
    judgement: Judgement,
    facts: &RunFacts,
    out: &SimOutput,
) -> RunRecord {
    let Judgement {
        verdict,
        message,
        results,
        conformance,
        leaders,
        keyed,
        status,
    } = judgement;
    let eo = facts.eo.clone();
    let checkpoints = recovery::checkpoint_events(trace);
    let recovery = recovery::recovery_episodes(&plan, trace, &out.buckets);
    let tasks_lost_per_crash = recovery::tasks_lost_per_crash(&plan, trace);
    let traffic = out.tracer.traffic().totals();
    RunRecord {
        schema: RECORD_SCHEMA,
        scenario: run.sc.name.clone(),
        scenario_fingerprint: run.sc.fingerprint(),
        halab_version: HALAB_VERSION.to_string(),
        seed: run.seed,
        fault_plan: plan,
        trace_hash: format!("{:016x}", trace_hash(trace)),
        trace_events: trace.len() as u64,
        verdict,
        message,
        checks: results.into_iter().filter(|r| !r.passed()).collect(),
        lost: eo.lost,
        duplicated: eo.duplicated,
        unexpected: eo.unexpected,
        miscounted: eo.miscounted,
        out_of_order: eo.out_of_order,
        examples: eo.examples,
        records_expected: facts.expected,
        records_committed: out.sink.committed_len(),
        restarts: recovery::num_restarts(trace),
        failures_handled: conformance.failures,
        leaderships: leaders.epochs,
        rescales: keyed.rescales,
        job_metrics: recovery::job_metrics(trace, out.end_ms),
        final_job_status: status_name(status),
        simulated_ms: out.end_ms,
        wall_ms: 0.0,
        buckets: out.buckets.clone(),
        checkpoint_metrics: recovery::checkpoint_metrics(&checkpoints),
        checkpoints,
        restart_events: recovery::restart_events(trace),
        recovery,
        latency: out.sink.latency(),
        subtasks: subtask_metrics(run.sc, &out.load),
        task_managers: task_manager_metrics(out),
        tasks_lost_per_crash,
        records_rolled_back: out.records_reread,
        snapshots_rolled_back: recovery::snapshots_rolled_back(trace),
        checkpoint_messages: traffic.messages,
        checkpoint_bytes: traffic.bytes,
        forced_snapshots: traffic.forced_snapshots,
    }
}
