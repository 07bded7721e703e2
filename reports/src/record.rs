//! Run records as the simulator writes them (`docs/records.md`), read from
//! their JSON form: serde structs that mirror the schema field by field.
//!
//! The reports crate must not depend on the simulator, so these types are a
//! copy of the record's shape, not of its Rust types. Unknown fields are
//! ignored (a newer simulator may add some); fields a record lacks take their
//! empty value, except `scenario`, `seed` and `verdict`, without which a
//! record means nothing.
//!
//! The mirror is lossy (it skips fields it does not know and writes fault
//! times in one form), so a record read from JSON text keeps that text and
//! serialises as exactly it: the same keys, values, order and spacing.
//! [`to_jsonl`] therefore writes every record read as it was read (a
//! record read from several lines of JSON on one line, without the line
//! breaks and the blanks between its tokens); only a record built in code
//! is written from the mirror's fields. A read record changed in code is
//! refused, unless it forgets its text ([`RunRecord::forget_json`]) and is
//! written from its fields too. Records are read with `serde_json`,
//! whose raw values keep the text (from a `serde_json::Value`, the text is
//! the value's own); no other deserializer can read one.
//!
//! Besides the raw fields, `RunRecord` derives the few quantities the plots
//! and the summary share (recovery phases, when the job gave up, downtime),
//! so that every consumer computes them the same way.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::duration::parse_duration_ms;
use crate::error::RecordLineError;

/// The bucket width the simulator uses when a record has too few buckets to
/// tell (docs/records.md: "per 100 ms of simulated time").
pub const DEFAULT_BUCKET_MS: u64 = 100;

/// The outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Violation,
    Liveness,
    Crash,
    Nondeterminism,
    /// A verdict this crate does not know (a newer schema).
    #[serde(other)]
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Violation => "violation",
            Verdict::Liveness => "liveness",
            Verdict::Crash => "crash",
            Verdict::Nondeterminism => "nondeterminism",
            Verdict::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verbs of a fault plan; the first of each pair disturbs, the second heals.
pub const FAULT_VERBS: [&str; 15] = [
    "kill",
    "restart",
    "pause",
    "resume",
    "partition",
    "heal",
    "partition-one-way",
    "heal-one-way",
    "clog",
    "unclog",
    "network",
    "restore-network",
    "slow",
    "cut-off",
    "restore",
];

/// One entry of `fault_plan`: `{"at": "3145ms", "kill": "tm-1"}`.
///
/// The verb's argument is kept as JSON (a node name, two groups of nodes, a
/// link, network settings, a service, `true`), since the plots only compare
/// and print it.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEntry {
    pub at_ms: u64,
    /// `kill`, `pause`, `partition`, ... (see [`FAULT_VERBS`]).
    pub verb: String,
    pub target: Value,
    /// With `slow`: the latency multiplier.
    pub factor: Option<u64>,
}

impl FaultEntry {
    pub fn new(at_ms: u64, verb: &str, target: Value) -> Self {
        FaultEntry {
            at_ms,
            verb: verb.to_string(),
            target,
            factor: None,
        }
    }

    /// Whether this entry ends a disturbance (the second verb of a pair).
    pub fn is_heal(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "restart" | "resume" | "heal" | "heal-one-way" | "unclog" | "restore-network" | "restore"
        )
    }

    /// Whether `heal` ends the disturbance this entry starts: the verbs pair
    /// up and name the same node, groups, link or service.
    pub fn is_healed_by(&self, heal: &FaultEntry) -> bool {
        let same = self.target == heal.target;
        match (self.verb.as_str(), heal.verb.as_str()) {
            ("kill", "restart")
            | ("pause", "resume")
            | ("partition", "heal")
            | ("partition-one-way", "heal-one-way")
            | ("clog", "unclog")
            | ("slow", "restore")
            | ("cut-off", "restore") => same,
            ("network", "restore-network") => true,
            _ => false,
        }
    }

    /// The verb's argument as text, in the simulator's notation.
    pub fn target_text(&self) -> String {
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?.iter().map(|s| s.as_str().map(str::to_string)).collect()
        };
        match &self.target {
            Value::String(s) => s.clone(),
            Value::Bool(_) | Value::Null => String::new(),
            Value::Array(items) if items.len() == 2 && items.iter().all(Value::is_array) => {
                let groups: Vec<String> = items
                    .iter()
                    .map(|g| format!("[{}]", strings(g).unwrap_or_default().join(",")))
                    .collect();
                groups.join(" | ")
            }
            Value::Array(_) => strings(&self.target)
                .map(|l| l.join(" <-> "))
                .unwrap_or_else(|| self.target.to_string()),
            Value::Object(m) => {
                let loss = m.get("loss").and_then(Value::as_f64).unwrap_or(0.0);
                match strings(m.get("latency").unwrap_or(&Value::Null)) {
                    Some(l) if l.len() == 2 => format!("loss {loss} latency {}..{}", l[0], l[1]),
                    _ => self.target.to_string(),
                }
            }
            Value::Number(n) => n.to_string(),
        }
    }
}

/// A fault plan as one line: `6966ms kill tm-2; 9106ms restart tm-2`.
pub fn plan_text(plan: &[FaultEntry]) -> String {
    plan.iter()
        .map(|f| format!("{}ms {f}", f.at_ms))
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for FaultEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.target_text();
        match (target.is_empty(), self.factor) {
            (true, _) => f.write_str(&self.verb),
            (false, Some(x)) => write!(f, "{} {target} x{x}", self.verb),
            (false, None) => write!(f, "{} {target}", self.verb),
        }
    }
}

impl<'de> Deserialize<'de> for FaultEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let at_ms = match map.get("at") {
            Some(Value::String(s)) => parse_duration_ms(s).map_err(D::Error::custom)?,
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| D::Error::custom("`at` must be a non-negative number of ms"))?,
            Some(_) => return Err(D::Error::custom("`at` must be a duration such as \"500ms\"")),
            None => return Err(D::Error::missing_field("at")),
        };
        let factor = map.get("factor").and_then(Value::as_u64);
        // A known verb wins over keys a newer schema may add; a single unknown
        // key is taken as a verb this crate does not know yet.
        let (verb, target) = map
            .iter()
            .find(|(k, _)| FAULT_VERBS.contains(&k.as_str()))
            .or_else(|| map.iter().find(|(k, _)| *k != "at" && *k != "factor"))
            .ok_or_else(|| D::Error::custom("a fault entry needs a verb besides `at`"))?;
        Ok(FaultEntry {
            at_ms,
            verb: verb.clone(),
            target: target.clone(),
            factor,
        })
    }
}

impl Serialize for FaultEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = Map::new();
        map.insert("at".into(), Value::String(format!("{}ms", self.at_ms)));
        map.insert(self.verb.clone(), self.target.clone());
        if let Some(f) = self.factor {
            map.insert("factor".into(), Value::from(f));
        }
        map.serialize(s)
    }
}

/// Records read and committed in one bucket (100 ms) of simulated time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub t_ms: u64,
    pub read: u64,
    pub committed: u64,
    /// Consumer lag at the bucket's end (records); 0 in older records.
    #[serde(default)]
    pub lag: u64,
    /// Mean and max end-to-end latency (ms) of the bucket's commits.
    #[serde(default)]
    pub latency_mean_ms: u64,
    #[serde(default)]
    pub latency_max_ms: u64,
}

/// One checkpoint that completed or was aborted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckpointEvent {
    pub id: u64,
    pub t_ms: u64,
    /// `completed` or `aborted`.
    pub outcome: String,
    pub duration_ms: Option<i64>,
    pub size_bytes: Option<u64>,
    /// Largest `checkpointAlignmentTime` of the tasks.
    pub alignment_ms: Option<i64>,
    /// Largest synchronous phase of the tasks (ms).
    pub sync_ms: Option<i64>,
    /// In-flight data persisted (unaligned checkpoints).
    pub persisted_bytes: Option<u64>,
    pub reason: Option<String>,
}

impl CheckpointEvent {
    pub fn completed(&self) -> bool {
        self.outcome == "completed"
    }
}

/// Flink's job-level checkpoint metrics after one checkpoint event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CheckpointMetrics {
    #[serde(rename = "t_ms")]
    pub t_ms: u64,
    pub last_checkpoint_duration: i64,
    pub last_checkpoint_size: i64,
    pub number_of_completed_checkpoints: u64,
    pub number_of_failed_checkpoints: u64,
    pub checkpoint_alignment_time: i64,
    pub last_checkpoint_persisted_data: i64,
}

impl Default for CheckpointMetrics {
    /// Flink's gauges read −1 until a checkpoint completed.
    fn default() -> Self {
        CheckpointMetrics {
            t_ms: 0,
            last_checkpoint_duration: -1,
            last_checkpoint_size: -1,
            number_of_completed_checkpoints: 0,
            number_of_failed_checkpoints: 0,
            checkpoint_alignment_time: 0,
            last_checkpoint_persisted_data: -1,
        }
    }
}

/// A restart the JobManager scheduled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartEvent {
    pub t_ms: u64,
    pub delay_ms: i64,
    pub num_restarts: u32,
}

/// How the job recovered from one disturbing fault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecoveryEpisode {
    /// The fault as the simulator prints it, e.g. `kill tm-1`.
    pub fault: String,
    pub fault_ms: u64,
    pub detected_ms: Option<u64>,
    /// The cancellation of the tasks the restart redeploys had finished
    /// (the last of them CANCELED); none when nothing was cancelled.
    pub cancelled_ms: Option<u64>,
    pub restarted_ms: Option<u64>,
    /// The redeployed tasks had downloaded their state.
    pub restored_ms: Option<u64>,
    /// The consumer lag was back to its level before the fault.
    pub caught_up_ms: Option<u64>,
    pub first_commit_ms: Option<u64>,
}

impl RecoveryEpisode {
    /// The fault's verb (`kill`, `pause`, ...): the first word of `fault`.
    pub fn kind(&self) -> &str {
        self.fault.split_whitespace().next().unwrap_or("unknown")
    }

    /// Fault to detection (the first failure the JobManager saw after it).
    pub fn detection_ms(&self) -> Option<u64> {
        self.detected_ms.map(|d| d.saturating_sub(self.fault_ms))
    }

    /// Detection to the end of the cancellation the restart waited for
    /// (Flink restarts at `max(backoff, cancellation finished)`): 0 when no
    /// task was cancelled; at most up to the redeploy.
    pub fn cancellation_ms(&self) -> Option<u64> {
        let (detected, restarted) = (self.detected_ms?, self.restarted_ms?);
        let cancelled = self
            .cancelled_ms
            .unwrap_or(detected)
            .clamp(detected, restarted.max(detected));
        Some(cancelled - detected)
    }

    /// The rest of detection to redeploy, after the cancellation: the
    /// restart strategy's backoff and scheduling.
    pub fn restart_delay_ms(&self) -> Option<u64> {
        let detected = self.detected_ms?;
        let after_cancellation = detected + self.cancellation_ms()?;
        Some(self.restarted_ms?.saturating_sub(after_cancellation))
    }

    /// Redeploy to the state downloaded: the restore phase (0 when the
    /// redeploy restored no checkpoint, as the record then has no
    /// `restored_ms`).
    pub fn download_ms(&self) -> Option<u64> {
        let restarted = self.restarted_ms?;
        Some(self.restored_ms.unwrap_or(restarted).saturating_sub(restarted))
    }

    /// State downloaded to caught up: the source lag back to its level before
    /// the fault.
    pub fn catch_up_ms(&self) -> Option<u64> {
        let from = self.restored_ms.or(self.restarted_ms)?;
        Some(self.caught_up_ms?.saturating_sub(from))
    }

    /// Fault to the first commit after the redeploy.
    pub fn recovery_ms(&self) -> Option<u64> {
        self.first_commit_ms.map(|t| t.saturating_sub(self.fault_ms))
    }
}

/// Flink's job metrics at the end of the run, in ms (−1 once terminal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct JobMetrics {
    pub num_restarts: u32,
    pub restarting_time: i64,
    pub restarting_time_total: i64,
    pub running_time_total: i64,
    pub uptime: i64,
    pub downtime: i64,
}

fn schema_one() -> u32 {
    1
}

/// One run: every field of `docs/records.md` that the reports use, and the
/// record's JSON text when it was read from one.
///
/// `remote = "Self"` derives the mirror's serde code as the inherent
/// functions `RunRecord::serialize` and `RunRecord::deserialize`, which
/// know the fields alone; the `Serialize` and `Deserialize` impls below wrap
/// them to keep the text, and are what serde calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RunRecord {
    #[serde(default = "schema_one")]
    pub schema: u32,
    pub scenario: String,
    /// The scenario's fingerprint; empty in records written before it
    /// existed (schema 1).
    #[serde(default)]
    pub scenario_fingerprint: String,
    /// The halab version that ran it; empty before schema 2.
    #[serde(default)]
    pub halab_version: String,
    pub seed: u64,
    #[serde(default)]
    pub fault_plan: Vec<FaultEntry>,
    #[serde(default)]
    pub trace_hash: String,
    #[serde(default)]
    pub trace_events: u64,
    pub verdict: Verdict,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub lost: u64,
    #[serde(default)]
    pub duplicated: u64,
    #[serde(default)]
    pub unexpected: u64,
    #[serde(default)]
    pub miscounted: u64,
    #[serde(default)]
    pub out_of_order: u64,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub records_expected: u64,
    #[serde(default)]
    pub records_committed: u64,
    #[serde(default)]
    pub restarts: u32,
    #[serde(default)]
    pub failures_handled: u64,
    #[serde(default)]
    pub final_job_status: String,
    #[serde(default)]
    pub job_metrics: JobMetrics,
    #[serde(default)]
    pub simulated_ms: u64,
    #[serde(default)]
    pub wall_ms: f64,
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub checkpoints: Vec<CheckpointEvent>,
    #[serde(default)]
    pub checkpoint_metrics: Vec<CheckpointMetrics>,
    #[serde(default)]
    pub restart_events: Vec<RestartEvent>,
    #[serde(default)]
    pub recovery: Vec<RecoveryEpisode>,
    #[serde(default)]
    pub rescales: Vec<RescaleMetrics>,
    #[serde(default)]
    pub latency: LatencySummary,
    /// Every subtask's load (records written before it existed have none).
    #[serde(default)]
    pub subtasks: Vec<SubtaskMetrics>,
    /// The record as read, byte for byte; `None` for a record built in code.
    #[serde(skip)]
    json: Option<RecordJson>,
}

/// A record's JSON text as read. Equal when the texts are; shown by length
/// (a record's text runs to tens of kilobytes).
#[derive(Clone)]
struct RecordJson(Box<RawValue>);

impl PartialEq for RecordJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl fmt::Debug for RecordJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordJson({} bytes)", self.0.get().len())
    }
}

impl<'de> Deserialize<'de> for RunRecord {
    /// The mirror's fields, parsed from the record's text, and the text.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(d)?;
        let mut record =
            RunRecord::deserialize(&mut serde_json::Deserializer::from_str(json.get())).map_err(D::Error::custom)?;
        record.json = Some(RecordJson(json));
        Ok(record)
    }
}

impl Serialize for RunRecord {
    /// The text the record was read from, else the mirror's fields.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.json {
            Some(json) => json.0.serialize(s),
            None => RunRecord::serialize(self, s),
        }
    }
}

/// One subtask's task metrics over a run (Flink's names; the per-second
/// figures average over the time the subtask ran).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubtaskMetrics {
    pub vertex: String,
    pub subtask: u32,
    pub num_records_in: u64,
    pub busy_time_ms_per_second: u64,
    pub back_pressured_time_ms_per_second: u64,
    pub idle_time_ms_per_second: u64,
    pub running_ms: u64,
}

/// End-to-end latency (source log arrival to commit) over a run's
/// committed records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LatencySummary {
    pub records: u64,
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

/// One rescale of a keyed vertex: what moved and how long it took.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RescaleMetrics {
    pub t_ms: u64,
    pub vertex: String,
    pub from: u32,
    pub to: u32,
    pub moved_key_fraction: f64,
    pub optimal_fraction: f64,
    pub state_bytes_moved: u64,
    pub state_bytes_total: u64,
    pub max_over_mean_load: f64,
    /// From the rescale decision until the last subtask restored its state.
    pub migration_ms: u64,
}

impl RunRecord {
    /// A passing record with no events, for building records in code.
    pub fn empty(scenario: &str, seed: u64) -> Self {
        RunRecord {
            schema: 1,
            scenario: scenario.to_string(),
            scenario_fingerprint: String::new(),
            halab_version: String::new(),
            seed,
            fault_plan: Vec::new(),
            trace_hash: String::new(),
            trace_events: 0,
            verdict: Verdict::Pass,
            message: None,
            lost: 0,
            duplicated: 0,
            unexpected: 0,
            miscounted: 0,
            out_of_order: 0,
            examples: Vec::new(),
            records_expected: 0,
            records_committed: 0,
            restarts: 0,
            failures_handled: 0,
            final_job_status: "RUNNING".into(),
            job_metrics: JobMetrics::default(),
            simulated_ms: 0,
            wall_ms: 0.0,
            buckets: Vec::new(),
            checkpoints: Vec::new(),
            checkpoint_metrics: Vec::new(),
            restart_events: Vec::new(),
            recovery: Vec::new(),
            rescales: Vec::new(),
            latency: LatencySummary::default(),
            subtasks: Vec::new(),
            json: None,
        }
    }

    /// The JSON text this record was read from, exactly as read; `None` for
    /// a record built in code.
    pub fn json(&self) -> Option<&str> {
        self.json.as_ref().map(|j| j.0.get())
    }

    /// Forget the text this record was read from, for a record changed on
    /// purpose: it is then written from its fields, as a record built in
    /// code, without those the mirror lacks. ([`to_jsonl`] refuses a read
    /// record whose fields no longer match its text.)
    pub fn forget_json(&mut self) {
        self.json = None;
    }

    /// The width of one bucket: the most common gap between bucket times
    /// (100 ms unless the simulator changes it).
    pub fn bucket_ms(&self) -> u64 {
        let mut gaps: Vec<u64> = self
            .buckets
            .windows(2)
            .map(|w| w[1].t_ms.saturating_sub(w[0].t_ms))
            .filter(|g| *g > 0)
            .collect();
        gaps.sort_unstable();
        // The most common gap; ties go to the smaller one.
        let mut best = (0usize, DEFAULT_BUCKET_MS);
        for chunk in gaps.chunk_by(|a, b| a == b) {
            if chunk.len() > best.0 {
                best = (chunk.len(), chunk[0]);
            }
        }
        best.1
    }

    /// When the run ended: its simulated length, or the end of its last
    /// bucket if that is later.
    pub fn end_ms(&self) -> u64 {
        let last_bucket = self.buckets.last().map(|b| b.t_ms + self.bucket_ms()).unwrap_or(0);
        self.simulated_ms.max(last_bucket)
    }

    /// Whether the restart strategy gave up: the job ended FAILED.
    pub fn gave_up(&self) -> bool {
        self.final_job_status == "FAILED"
    }

    /// When the job gave up: the first failure detected after the last
    /// restart the JobManager scheduled, among the episodes that were not
    /// redeployed, or the end of the run if no episode shows it. `None` if it
    /// never gave up.
    ///
    /// Not simply the first episode without a redeploy: a failure during the
    /// backoff of a scheduled restart has none either, while the job gave up
    /// only at the next failure. Nor the last: faults that strike the FAILED
    /// job later make episodes without a redeploy too.
    pub fn give_up_ms(&self) -> Option<u64> {
        if !self.gave_up() {
            return None;
        }
        let last_restart = self.restart_events.last().map(|r| r.t_ms);
        let unrestarted = || {
            self.recovery
                .iter()
                .filter(|e| e.restarted_ms.is_none())
                .filter_map(|e| e.detected_ms)
        };
        let from_episode = match last_restart {
            None => unrestarted().min(),
            // A failure at the very instant of the last restart's decision
            // counts only if nothing came later.
            Some(t) => unrestarted()
                .filter(|d| *d > t)
                .min()
                .or_else(|| unrestarted().filter(|d| *d >= t).max()),
        };
        Some(from_episode.unwrap_or_else(|| self.end_ms()))
    }

    /// The time of the first disturbing fault of the plan, if any.
    pub fn first_fault_ms(&self) -> Option<u64> {
        self.fault_plan.iter().filter(|f| !f.is_heal()).map(|f| f.at_ms).min()
    }

    /// Time from the first fault to giving up (`None`: never gave up).
    pub fn time_to_give_up_ms(&self) -> Option<u64> {
        self.give_up_ms()
            .map(|g| g.saturating_sub(self.first_fault_ms().unwrap_or(0)))
    }

    /// Total time the job was down, in ms.
    ///
    /// Flink's `downtime` gauge does not measure this: it stays 0 through
    /// ordinary restarts (RUNNING → RESTARTING → RUNNING) and reads −1 once
    /// the job is terminal. So: `restartingTimeTotal` (every restart stint),
    /// plus, for a job that gave up, the rest of the run after giving up,
    /// plus, for a job still failing at the end, Flink's `downtime`.
    pub fn total_downtime_ms(&self) -> u64 {
        let restarting = self.job_metrics.restarting_time_total.max(0) as u64;
        let tail = match self.give_up_ms() {
            Some(g) => self.end_ms().saturating_sub(g),
            None => self.job_metrics.downtime.max(0) as u64,
        };
        restarting + tail
    }

    /// The command that replays this run; `scenario_arg` is what loads the
    /// scenario (its name for the catalogue, else the path of its file).
    /// The same form as the simulator's `RunRecord::repro_line_for`.
    pub fn repro_line(&self, scenario_arg: &str) -> String {
        repro_line_for(scenario_arg, self.seed)
    }
}

/// The line that reproduces a run of `scenario_arg` (a catalogue name or a
/// scenario file) under `seed`, printing its trace; the argument is quoted
/// for a POSIX shell where it needs to be. Kept identical to the
/// simulator's `RunRecord::repro_line_for`.
pub fn repro_line_for(scenario_arg: &str, seed: u64) -> String {
    format!(
        "cargo run --release -- repro {} --seed {seed} --trace",
        shell_quote(scenario_arg)
    )
}

/// The repro line of a run of `scenario` whose file is not known (the
/// name is not a built-in one): it says which file is needed rather than
/// naming a scenario `repro` would not find.
pub fn repro_line_needing_file(scenario: &str, seed: u64) -> String {
    format!("cargo run --release -- repro <file of scenario `{scenario}`> --seed {seed} --trace")
}

/// `word` as one word of a POSIX shell command line: unchanged when it
/// holds only characters with no meaning to the shell, else in single
/// quotes, each `'` written `'\''`. The same as the simulator's
/// `names::shell_quote` (this crate depends on no other halab crate).
pub fn shell_quote(word: &str) -> String {
    let plain =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@' | '%');
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Parse JSON Lines run records; blank lines are skipped.
pub fn parse_records(text: &str) -> Result<Vec<RunRecord>, RecordLineError> {
    Ok(parse_numbered_records(text)?.into_iter().map(|(_, r)| r).collect())
}

/// [`parse_records`], each record with its line number (from 1).
pub fn parse_numbered_records(text: &str) -> Result<Vec<(usize, RunRecord)>, RecordLineError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map(|r| (i + 1, r))
                .map_err(|source| RecordLineError { line: i + 1, source })
        })
        .collect()
}

/// Records as JSON Lines (one object a line, each line ending in `\n`): a
/// record read from JSON as exactly the text it was read from, a record
/// built in code from its fields. A read record whose fields were changed
/// since is refused: its text would not hold the change, and its fields
/// alone would drop what the mirror does not know.
pub fn to_jsonl(records: &[RunRecord]) -> Result<String, crate::ReportError> {
    let mut out = String::new();
    for r in records {
        let serialize_error = |source| crate::ReportError::Serialize {
            scenario: r.scenario.clone(),
            seed: r.seed,
            source,
        };
        if let Some(json) = r.json() {
            let as_read: RunRecord = serde_json::from_str(json).map_err(serialize_error)?;
            if as_read != *r {
                return Err(crate::ReportError::Changed {
                    scenario: r.scenario.clone(),
                    seed: r.seed,
                });
            }
        }
        out.push_str(&on_one_line(serde_json::to_string(r).map_err(serialize_error)?));
        out.push('\n');
    }
    Ok(out)
}

/// `json` without the blanks between its tokens if it spans several lines
/// (a record read from pretty-printed JSON); unchanged otherwise.
fn on_one_line(json: String) -> String {
    if !json.contains(['\n', '\r']) {
        return json;
    }
    let (mut in_string, mut escaped) = (false, false);
    json.chars()
        .filter(|&c| {
            let keep = in_string || !matches!(c, ' ' | '\t' | '\n' | '\r');
            if in_string {
                in_string = escaped || c != '"';
                escaped = !escaped && c == '\\';
            } else {
                in_string = c == '"';
            }
            keep
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names_the_bad_one() {
        let good = r#"{"scenario":"steady","seed":1,"verdict":"pass","trace_hash":"ab","restarts":0,"extra":1}"#;
        let recs = parse_records(&format!("{good}\n\n{good}\n")).expect("valid");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].scenario, "steady");
        assert!(recs[0].buckets.is_empty());
        assert_eq!(recs[0].scenario_fingerprint, "", "schema 1: no fingerprint");
        let numbered = parse_numbered_records(&format!("{good}\n\n{good}\n")).expect("valid");
        assert_eq!(numbered.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 3]);
        let err = parse_records(&format!("{good}\nnot json\n")).expect_err("bad line");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_record_read_from_several_lines_is_written_on_one() {
        let pretty = "{\n  \"scenario\": \"a \\\"b\\\" c\",\n\t\"seed\": 1, \"verdict\": \"pass\",\r\n  \"message\": \"x\\\\\",\n  \"new\": [ 1, \" \" ]\n}";
        let r: RunRecord = serde_json::from_str(pretty).expect("a record");
        assert_eq!(r.json(), Some(pretty));
        assert_eq!(r.message.as_deref(), Some("x\\"));
        let line = to_jsonl(&[r]).expect("JSON Lines");
        assert_eq!(
            line,
            r#"{"scenario":"a \"b\" c","seed":1,"verdict":"pass","message":"x\\","new":[1," "]}"#.to_string() + "\n"
        );
    }

    #[test]
    fn fault_entries_keep_verb_target_and_time() {
        let plan: Vec<FaultEntry> = serde_json::from_str(
            r#"[{"at":"6966ms","kill":"tm-2"},{"at":"2s","slow":"sink-store","factor":40},
                {"at":"3s","partition":[["jm"],["tm-0","tm-1"]]},{"at":"4s","clog":["tm-0","tm-1"]},
                {"at":"5s","network":{"loss":0.1,"latency":["1ms","20ms"]}},{"at":"6s","restore-network":true}]"#,
        )
        .expect("valid plan");
        assert_eq!(plan[0].at_ms, 6966);
        assert_eq!(plan[0].to_string(), "kill tm-2");
        assert_eq!(plan[1].to_string(), "slow sink-store x40");
        assert_eq!(plan[2].to_string(), "partition [jm] | [tm-0,tm-1]");
        assert_eq!(plan[3].to_string(), "clog tm-0 <-> tm-1");
        assert_eq!(plan[4].to_string(), "network loss 0.1 latency 1ms..20ms");
        assert_eq!(plan[5].to_string(), "restore-network");
        assert!(plan[4].is_healed_by(&plan[5]));
        let back: Vec<FaultEntry> =
            serde_json::from_str(&serde_json::to_string(&plan).expect("serialises")).expect("round trip");
        assert_eq!(back, plan);
    }

    #[test]
    fn episode_phases_and_give_up() {
        let mut r = RunRecord::empty("storm", 1);
        r.final_job_status = "FAILED".into();
        r.simulated_ms = 11_001;
        r.job_metrics.restarting_time_total = 3000;
        r.fault_plan = vec![FaultEntry::new(2000, "kill", "tm-0".into())];
        r.recovery = vec![
            RecoveryEpisode {
                fault: "kill tm-0".into(),
                fault_ms: 2000,
                detected_ms: Some(2100),
                restarted_ms: Some(3000),
                first_commit_ms: Some(3754),
                ..Default::default()
            },
            RecoveryEpisode {
                fault: "kill tm-1".into(),
                fault_ms: 11_000,
                detected_ms: Some(11_000),
                ..Default::default()
            },
        ];
        let e = &r.recovery[0];
        assert_eq!(e.kind(), "kill");
        assert_eq!(
            (e.detection_ms(), e.restart_delay_ms(), e.recovery_ms()),
            (Some(100), Some(900), Some(1754))
        );
        assert_eq!(e.cancellation_ms(), Some(0), "nothing was cancelled");
        // The restart waited for a cancellation that ended at 2600, or at
        // 3000 (as it deployed): the rest of the 900 ms is restart delay.
        for (cancelled, phases) in [(2600, (500, 400)), (3000, (900, 0)), (2050, (0, 900))] {
            let c = RecoveryEpisode {
                cancelled_ms: Some(cancelled),
                ..e.clone()
            };
            assert_eq!(
                (c.cancellation_ms(), c.restart_delay_ms()),
                (Some(phases.0), Some(phases.1))
            );
        }
        // No restore and no catch-up recorded: nothing to download, and the
        // catch-up is unknown.
        assert_eq!((e.download_ms(), e.catch_up_ms()), (Some(0), None));
        let phased = RecoveryEpisode {
            restored_ms: Some(3400),
            caught_up_ms: Some(4100),
            ..e.clone()
        };
        assert_eq!((phased.download_ms(), phased.catch_up_ms()), (Some(400), Some(700)));
        let unrestored = RecoveryEpisode {
            caught_up_ms: Some(3500),
            ..e.clone()
        };
        assert_eq!(unrestored.catch_up_ms(), Some(500), "caught up from the redeploy");
        assert_eq!(r.recovery[1].download_ms(), None, "never redeployed");
        assert_eq!(r.give_up_ms(), Some(11_000));
        assert_eq!(r.time_to_give_up_ms(), Some(9000));
        assert_eq!(r.total_downtime_ms(), 3000 + 1);
        // Faults that strike the FAILED job later leave episodes without a
        // redeploy too; the job gave up at the first of them.
        r.simulated_ms = 17_501;
        r.recovery.push(RecoveryEpisode {
            fault: "kill tm-2".into(),
            fault_ms: 17_000,
            detected_ms: Some(17_000),
            ..Default::default()
        });
        assert_eq!(r.give_up_ms(), Some(11_000));
        assert_eq!(r.time_to_give_up_ms(), Some(9000));
        assert_eq!(r.total_downtime_ms(), 3000 + 6501);
        // A failure during the backoff of the last restart, which the
        // strategy then gave up at: the job gave up at the second failure.
        r.restart_events = vec![RestartEvent {
            t_ms: 11_000,
            delay_ms: 3000,
            num_restarts: 2,
        }];
        assert_eq!(
            r.give_up_ms(),
            Some(17_000),
            "not the failure whose restart was scheduled"
        );
        r.final_job_status = "RUNNING".into();
        assert_eq!(r.time_to_give_up_ms(), None);
        assert_eq!(r.total_downtime_ms(), 3000);
    }

    #[test]
    fn repro_line_matches_the_simulators_form() {
        let r = RunRecord::empty("tm-crash", 7);
        assert_eq!(
            r.repro_line("tm-crash"),
            "cargo run --release -- repro tm-crash --seed 7 --trace"
        );
        assert_eq!(
            r.repro_line("my dir/it's.toml"),
            "cargo run --release -- repro 'my dir/it'\\''s.toml' --seed 7 --trace"
        );
        assert_eq!(
            repro_line_needing_file("x", 7),
            "cargo run --release -- repro <file of scenario `x`> --seed 7 --trace"
        );
    }
}
