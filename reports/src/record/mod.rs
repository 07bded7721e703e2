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

mod fault_entry;
pub use fault_entry::{plan_text, FaultEntry, FAULT_VERBS};

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
    /// Every TaskManager's load (records written before it existed have none).
    #[serde(default)]
    pub task_managers: Vec<TaskManagerMetrics>,
    /// Per kill of a TaskManager in the plan: the task attempts running on it.
    #[serde(default)]
    pub tasks_lost_per_crash: Vec<u32>,
    /// Source records read more than once (input rolled back by recoveries).
    #[serde(default)]
    pub records_rolled_back: u64,
    /// Snapshots discarded by restores of recovery lines (uncoordinated).
    #[serde(default)]
    pub snapshots_rolled_back: u64,
    /// Control messages of the checkpoint protocol (triggers, barriers,
    /// acknowledgements, notifications, piggybacked indexes).
    #[serde(default)]
    pub checkpoint_messages: u64,
    /// Bytes the snapshots uploaded to checkpoint storage.
    #[serde(default)]
    pub checkpoint_bytes: u64,
    /// Snapshots forced by piggybacked indexes (communication-induced).
    #[serde(default)]
    pub forced_snapshots: u64,
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

/// One TaskManager's load over a run: the busy time of the task attempts
/// it ran per second of the run (ms; above 1000 with several cores busy).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskManagerMetrics {
    pub name: String,
    pub busy_time_ms_per_second: u64,
    pub num_records_in: u64,
}

impl RunRecord {
    /// The busy time per second of the run's busiest TaskManager.
    pub fn hottest_task_manager_ms_per_second(&self) -> Option<u64> {
        self.task_managers.iter().map(|t| t.busy_time_ms_per_second).max()
    }
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
            task_managers: Vec::new(),
            tasks_lost_per_crash: Vec::new(),
            records_rolled_back: 0,
            snapshots_rolled_back: 0,
            checkpoint_messages: 0,
            checkpoint_bytes: 0,
            forced_snapshots: 0,
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
mod tests;
