//! What each checkpoint protocol sends and writes (`checkpoint_messages`,
//! `checkpoint_bytes`, `forced_snapshots` in the RunRecord) against the
//! protocol's own count on a job whose channels are known.
//!
//! The job: 2 sources → key-by → 3 counts → key-by → 2 sinks, so 7 tasks
//! and 2 × 3 + 3 × 2 = 12 data channels, with no faults.
//! - Coordinated: each completed checkpoint costs a trigger per source, a
//!   barrier per channel, an acknowledgement and a notification per task
//!   (28 messages); the bytes are the completed checkpoints' sizes.
//! - Uncoordinated: no triggers and no barriers; each task acknowledges
//!   each of its snapshots, one per interval, and each completed line
//!   notifies every task.
//! - Communication-induced: as uncoordinated, plus the indexes on the
//!   channels and the snapshots they force.

use halab_scenarios::parse_scenario;
use halab_sim::harness::run_seed_with_trace;
use halab_sim::{RunRecord, Scenario, Verdict};

const SOURCES: u64 = 2;
const TASKS: u64 = 7;
const CHANNELS: u64 = 12;

fn job(protocol: &str) -> Scenario {
    let text = format!(
        r#"
name = "traffic"
duration = "8s"

[cluster]
task-managers = 4
slots-per-task-manager = 2

[job]
source-partitions = 2
records-per-second = 500
keys = 60

[[job.operators]]
id = "source"
kind = "source"
parallelism = 2

[[job.operators]]
id = "count"
kind = "count"
parallelism = 3
inputs = [{{ from = "source", ship = "key-by" }}]

[[job.operators]]
id = "sink"
kind = "sink"
parallelism = 2
inputs = [{{ from = "count", ship = "key-by" }}]

[config]
"execution.checkpointing.interval" = "1s"
"halab.checkpointing.protocol" = "{protocol}"

[expect]
recovery-bound = "60s"
"#
    );
    parse_scenario(&text, "checkpoint_traffic.rs").expect("valid scenario")
}

fn run(protocol: &str) -> RunRecord {
    let (r, _) = run_seed_with_trace(&job(protocol), 3).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{protocol}: {:?}", r.message);
    r
}

fn completed(r: &RunRecord) -> u64 {
    r.checkpoints.iter().filter(|c| c.outcome == "completed").count() as u64
}

#[test]
fn a_coordinated_checkpoint_sends_triggers_barriers_acknowledgements_and_notifications() {
    let r = run("coordinated");
    assert!(
        r.checkpoints.iter().all(|c| c.outcome == "completed"),
        "no checkpoint aborted: {:?}",
        r.checkpoints
    );
    let n = completed(&r);
    assert!(n >= 6, "{n} checkpoints");
    assert_eq!(r.checkpoint_messages, n * (SOURCES + CHANNELS + TASKS + TASKS));
    let sizes: u64 = r.checkpoints.iter().filter_map(|c| c.size_bytes).sum();
    assert_eq!(
        r.checkpoint_bytes, sizes,
        "every upload is a completed checkpoint's part"
    );
    assert_eq!(r.forced_snapshots, 0);
}

#[test]
fn uncoordinated_tasks_acknowledge_a_snapshot_per_interval_and_hear_of_each_line() {
    let r = run("uncoordinated");
    let lines = completed(&r);
    assert!(lines >= 6, "{lines} lines");
    let acknowledgements = r.checkpoint_messages - lines * TASKS;
    // Each task's own timer, once a second from its phase, over the run.
    let seconds = r.simulated_ms / 1000;
    assert!(
        (TASKS * (seconds - 1)..=TASKS * (seconds + 1)).contains(&acknowledgements),
        "{acknowledgements} snapshots acknowledged by {TASKS} tasks over {} ms",
        r.simulated_ms
    );
    assert_eq!(r.forced_snapshots, 0, "nothing forces a snapshot");
    let coordinated = run("coordinated");
    assert!(
        r.checkpoint_bytes > 2 * coordinated.checkpoint_bytes,
        "the snapshots carry their message logs: {} against {}",
        r.checkpoint_bytes,
        coordinated.checkpoint_bytes
    );
}

#[test]
fn communication_induced_checkpoints_piggyback_indexes_and_force_snapshots() {
    let r = run("communication-induced");
    let lines = completed(&r);
    let seconds = r.simulated_ms / 1000;
    assert!(r.forced_snapshots > 0, "a receiver behind its sender's index is forced");
    // Acknowledgements: the timer's snapshots (at most one a second per
    // task) and the forced ones; the rest are the indexes.
    let snapshots_at_most = TASKS * (seconds + 1) + r.forced_snapshots;
    let indexes_at_least = r.checkpoint_messages as i64 - (lines * TASKS + snapshots_at_most) as i64;
    assert!(
        indexes_at_least >= CHANNELS as i64,
        "indexes go on the channels: {} messages, {lines} lines, {} forced",
        r.checkpoint_messages,
        r.forced_snapshots
    );
}
