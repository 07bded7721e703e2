//! The RunRecord: everything one run produced, as one JSON object (a line of
//! a JSON Lines file). Its schema is documented in `docs/records.md`.

use serde::{Deserialize, Serialize};

use crate::faults::FaultPlan;
use crate::scenario::Scenario;

/// Version of the record schema (2: records carry `scenario_fingerprint`
/// and `halab_version`).
pub const RECORD_SCHEMA: u32 = 2;

/// The version of the halab that writes records (the workspace's).
pub const HALAB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// All checkers passed.
    Pass,
    /// A safety checker failed (output not exactly-once, ...).
    Violation,
    /// The job did not converge within the stated bound after the faults.
    Liveness,
    /// The simulation stopped on a panic or a failed assertion: the
    /// engine broke an invariant where it is established or relied on.
    Crash,
    /// The same scenario, seed and binary gave two different traces.
    Nondeterminism,
}

impl Verdict {
    /// Every verdict, least severe first.
    pub const ALL: [Verdict; 5] = [
        Verdict::Pass,
        Verdict::Liveness,
        Verdict::Violation,
        Verdict::Crash,
        Verdict::Nondeterminism,
    ];

    /// Process exit code: 0 pass, 1 violation, 3 liveness, 4 crash,
    /// 5 nondeterminism (2 is bad input).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Violation => 1,
            Verdict::Liveness => 3,
            Verdict::Crash => 4,
            Verdict::Nondeterminism => 5,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Violation => "violation",
            Verdict::Liveness => "liveness",
            Verdict::Crash => "crash",
            Verdict::Nondeterminism => "nondeterminism",
        }
    }

    /// The most severe of `verdicts` (in [`Verdict::ALL`]'s order; a run
    /// that cannot be reproduced outranks one that crashed, which outranks
    /// a checker's finding), `Pass` for none: what a sweep exits with.
    pub fn worst(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let rank = |v: &Verdict| Verdict::ALL.iter().position(|a| a == v);
        verdicts.into_iter().max_by_key(rank).unwrap_or(Verdict::Pass)
    }
}

/// Records read and committed in one 100 ms bucket of simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub t_ms: u64,
    pub read: u64,
    pub committed: u64,
    /// Consumer lag at the bucket's end: records arrived and not yet read.
    #[serde(default)]
    pub lag: u64,
    /// Mean and max end-to-end latency (ms) of the records committed in
    /// the bucket (0 without commits).
    #[serde(default)]
    pub latency_mean_ms: u64,
    #[serde(default)]
    pub latency_max_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEvent {
    pub id: u64,
    pub t_ms: u64,
    /// "completed" or "aborted".
    pub outcome: String,
    pub duration_ms: Option<i64>,
    pub size_bytes: Option<u64>,
    /// Bytes uploaded for it: the size, or less when incremental.
    #[serde(default)]
    pub uploaded_bytes: Option<u64>,
    /// Largest `checkpointAlignmentTime` of the tasks.
    pub alignment_ms: Option<i64>,
    /// Largest synchronous phase of the tasks (Flink's `sync_duration`):
    /// how long the snapshot held a task from processing.
    #[serde(default)]
    pub sync_ms: Option<i64>,
    /// In-flight data persisted (unaligned checkpoints).
    pub persisted_bytes: Option<u64>,
    pub reason: Option<String>,
}

fn minus_one() -> i64 {
    -1
}

/// Flink's job-level checkpoint metrics, sampled after each checkpoint event
/// (gauges read −1 until a checkpoint completed, as in Flink).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointMetrics {
    #[serde(rename = "t_ms")]
    pub t_ms: u64,
    pub last_checkpoint_duration: i64,
    pub last_checkpoint_size: i64,
    #[serde(default = "minus_one")]
    pub last_checkpoint_full_size: i64,
    pub number_of_completed_checkpoints: u64,
    pub number_of_failed_checkpoints: u64,
    pub checkpoint_alignment_time: i64,
    pub last_checkpoint_persisted_data: i64,
}

impl Default for CheckpointMetrics {
    fn default() -> Self {
        CheckpointMetrics {
            t_ms: 0,
            last_checkpoint_duration: -1,
            last_checkpoint_size: -1,
            last_checkpoint_full_size: -1,
            number_of_completed_checkpoints: 0,
            number_of_failed_checkpoints: 0,
            checkpoint_alignment_time: 0,
            last_checkpoint_persisted_data: -1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartEvent {
    pub t_ms: u64,
    pub delay_ms: i64,
    pub num_restarts: u32,
}

/// How the job recovered from one disturbing fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryEpisode {
    pub fault: String,
    pub fault_ms: u64,
    /// The JobManager noticed (TaskManager lost or task failed).
    pub detected_ms: Option<u64>,
    /// The last task the restart waited for was CANCELED (none when no
    /// cancellation finished between detection and redeploy).
    #[serde(default)]
    pub cancelled_ms: Option<u64>,
    /// Tasks were redeployed.
    pub restarted_ms: Option<u64>,
    /// The redeployed tasks had downloaded their state (the last of them).
    #[serde(default)]
    pub restored_ms: Option<u64>,
    /// The consumer lag was back to its level before the fault.
    #[serde(default)]
    pub caught_up_ms: Option<u64>,
    /// First sink commit after the redeploy.
    pub first_commit_ms: Option<u64>,
}

impl RecoveryEpisode {
    /// Fault to first commit after the restart.
    pub fn recovery_ms(&self) -> Option<u64> {
        self.first_commit_ms.map(|t| t - self.fault_ms)
    }
}

/// Flink's job-scope metrics at the end of the run (`MetricNames`,
/// `UpTimeGauge`, `DownTimeGauge`, `JobStatusMetrics`), in ms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobMetrics {
    pub num_restarts: u32,
    /// Time in the current RESTARTING stint (0 if not restarting).
    pub restarting_time: i64,
    pub restarting_time_total: i64,
    pub running_time_total: i64,
    /// `now − timestamp(RUNNING)` while running; −1 once terminal; else 0.
    pub uptime: i64,
    /// −1 once terminal; `now − timestamp(FAILING)` if the job failed after it
    /// last ran; else 0 (ordinary restarts do not count).
    pub downtime: i64,
}

/// One subtask's task metrics over a run, summed over its attempts, under
/// Flink's names. The per-second figures average over the time the subtask
/// ran (`runningMs`), not over Flink's sliding view; the three add up to
/// 1000 (up to rounding).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubtaskMetrics {
    /// The job vertex's name (`source`, `count`, `sink`, …).
    pub vertex: String,
    pub subtask: u32,
    pub num_records_in: u64,
    pub busy_time_ms_per_second: u64,
    pub back_pressured_time_ms_per_second: u64,
    pub idle_time_ms_per_second: u64,
    /// Simulated ms the subtask ran, over all its attempts.
    pub running_ms: u64,
}

impl SubtaskMetrics {
    /// The metrics of `load`, a subtask of the vertex named `vertex`.
    pub fn of(vertex: &str, subtask: u32, load: &halab_engine::process::task::load::SubtaskLoad) -> SubtaskMetrics {
        let running = load.running_ns();
        let per_second = |ns: u64| {
            if running == 0 {
                0
            } else {
                (u128::from(ns) * 1000 / u128::from(running)) as u64
            }
        };
        SubtaskMetrics {
            vertex: vertex.to_string(),
            subtask,
            num_records_in: load.records_in,
            busy_time_ms_per_second: per_second(load.busy_ns),
            back_pressured_time_ms_per_second: per_second(load.back_pressured_ns),
            idle_time_ms_per_second: per_second(load.idle_ns),
            running_ms: running / 1_000_000,
        }
    }
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: u32,
    pub scenario: String,
    /// The scenario's fingerprint ([`Scenario::fingerprint`]); empty in
    /// records written before it existed.
    #[serde(default)]
    pub scenario_fingerprint: String,
    /// The halab version that ran it; empty in records written before it
    /// existed.
    #[serde(default)]
    pub halab_version: String,
    pub seed: u64,
    pub fault_plan: FaultPlan,
    /// FNV-1a 64 of the trace, 16 hex digits.
    pub trace_hash: String,
    pub trace_events: u64,
    pub verdict: Verdict,
    /// Why the verdict is not "pass".
    pub message: Option<String>,
    pub lost: u64,
    pub duplicated: u64,
    pub unexpected: u64,
    /// First outputs whose count breaks the reference (state not exactly-once).
    pub miscounted: u64,
    /// Per key, first outputs committed with a lower count after a higher one.
    pub out_of_order: u64,
    /// A few offending records per kind, for humans.
    pub examples: Vec<String>,
    /// Every checker that did not pass, in one shape (name, verdict,
    /// message, examples); `message` is the first of them by verdict and
    /// `checkers::PRECEDENCE`.
    #[serde(default)]
    pub checks: Vec<crate::checkers::CheckResult>,
    pub records_expected: u64,
    pub records_committed: u64,
    pub restarts: u32,
    /// Failures the JobManager handled (each replayed by the restart-policy
    /// conformance checker).
    pub failures_handled: u64,
    /// Leaderships the coordination service granted (0 without HA).
    #[serde(default)]
    pub leaderships: u64,
    /// Rescales of keyed operators (reactive mode), with their metrics.
    #[serde(default)]
    pub rescales: Vec<crate::checkers::rescaling::RescaleMetrics>,
    pub final_job_status: String,
    /// Flink's job metrics at the end of the run.
    pub job_metrics: JobMetrics,
    pub simulated_ms: u64,
    /// Wall-clock time of the run, measured outside the simulation.
    pub wall_ms: f64,
    pub buckets: Vec<Bucket>,
    pub checkpoints: Vec<CheckpointEvent>,
    /// Flink's checkpoint metrics over time (after each checkpoint event).
    pub checkpoint_metrics: Vec<CheckpointMetrics>,
    pub restart_events: Vec<RestartEvent>,
    pub recovery: Vec<RecoveryEpisode>,
    /// End-to-end latency of the committed records, from arrival in the
    /// source log to the commit: `{records, p50_ms, p99_ms, max_ms}`.
    #[serde(default)]
    pub latency: crate::latency::LatencySummary,
    /// Every subtask's load: records in, and where its time went.
    #[serde(default)]
    pub subtasks: Vec<SubtaskMetrics>,
    /// Every TaskManager's load: the busy time of the task attempts it ran.
    #[serde(default)]
    pub task_managers: Vec<TaskManagerMetrics>,
    /// Per kill of a TaskManager in the plan, in plan order: the task
    /// attempts running on it when it died.
    #[serde(default)]
    pub tasks_lost_per_crash: Vec<u32>,
    /// Source records read more than once: the input that recoveries
    /// rolled back and processed again.
    #[serde(default)]
    pub records_rolled_back: u64,
    /// Uncoordinated checkpoints: the tasks' snapshots discarded by
    /// restores because they were taken after the recovery line (the
    /// domino effect); 0 under coordinated checkpoints.
    #[serde(default)]
    pub snapshots_rolled_back: u64,
    /// Control messages of the checkpoint protocol: triggers, barriers
    /// (one per channel), acknowledgements and declines, completion
    /// notifications, and piggybacked indexes (communication-induced).
    #[serde(default)]
    pub checkpoint_messages: u64,
    /// Bytes the tasks' snapshots uploaded to checkpoint storage (state,
    /// in-flight data, message logs).
    #[serde(default)]
    pub checkpoint_bytes: u64,
    /// Communication-induced checkpoints: snapshots a received index
    /// forced.
    #[serde(default)]
    pub forced_snapshots: u64,
}

/// One TaskManager's load over the run, under Flink's metric names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManagerMetrics {
    pub name: String,
    /// Busy time of its task attempts (CPU and network paid) per second of
    /// the run, in ms: above 1000 when several cores were busy.
    pub busy_time_ms_per_second: u64,
    pub num_records_in: u64,
}

impl TaskManagerMetrics {
    /// The metrics of TaskManager `name` whose attempts' totals are `load`,
    /// over a run of `simulated_ms`.
    pub fn of(name: &str, load: &halab_engine::process::task::load::SubtaskLoad, simulated_ms: u64) -> Self {
        let per_second = u128::from(load.busy_ns) / u128::from(simulated_ms.max(1)) / 1000;
        TaskManagerMetrics {
            name: name.to_string(),
            busy_time_ms_per_second: u64::try_from(per_second).unwrap_or(u64::MAX),
            num_records_in: load.records_in,
        }
    }
}

impl RunRecord {
    /// A record for a run that produced no trace (the simulation could not
    /// run or panicked): `verdict` (`Crash` for a panic) with `message`.
    pub fn without_run(
        scenario: &Scenario,
        seed: u64,
        fault_plan: FaultPlan,
        verdict: Verdict,
        message: String,
    ) -> Self {
        RunRecord {
            schema: RECORD_SCHEMA,
            scenario: scenario.name.clone(),
            scenario_fingerprint: scenario.fingerprint(),
            halab_version: HALAB_VERSION.to_string(),
            seed,
            fault_plan,
            trace_hash: "0000000000000000".into(),
            trace_events: 0,
            verdict,
            message: Some(message),
            checks: Vec::new(),
            lost: 0,
            duplicated: 0,
            unexpected: 0,
            miscounted: 0,
            out_of_order: 0,
            examples: Vec::new(),
            records_expected: scenario.total_records(),
            records_committed: 0,
            restarts: 0,
            failures_handled: 0,
            leaderships: 0,
            rescales: Vec::new(),
            final_job_status: "UNKNOWN".into(),
            job_metrics: JobMetrics::default(),
            simulated_ms: 0,
            wall_ms: 0.0,
            buckets: Vec::new(),
            checkpoints: Vec::new(),
            checkpoint_metrics: Vec::new(),
            restart_events: Vec::new(),
            recovery: Vec::new(),
            latency: crate::latency::LatencySummary::default(),
            subtasks: Vec::new(),
            task_managers: Vec::new(),
            tasks_lost_per_crash: Vec::new(),
            records_rolled_back: 0,
            snapshots_rolled_back: 0,
            checkpoint_messages: 0,
            checkpoint_bytes: 0,
            forced_snapshots: 0,
        }
    }

    /// The line that reproduces a run of `scenario_arg` (a catalogue name or
    /// a file) under `seed`, printing its full trace; the argument is
    /// quoted for a POSIX shell where it needs to be.
    pub fn repro_line_for(scenario_arg: &str, seed: u64) -> String {
        format!(
            "cargo run --release -- repro {} --seed {seed} --trace",
            crate::names::shell_quote(scenario_arg)
        )
    }

    /// The line that reproduces this run.
    pub fn repro_line(&self, scenario_arg: &str) -> String {
        Self::repro_line_for(scenario_arg, self.seed)
    }
}
