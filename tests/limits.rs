//! A run at the documented limits (docs/scenarios.md, "Limits") passes:
//! the limits bound what the simulator accepts, and each is reachable.

use halab_scenarios::{catalogue, parse_scenario};
use halab_sim::scenario::{
    MAX_DATA_CHANNELS, MAX_JOB_MANAGERS, MAX_KEYS, MAX_PARALLELISM, MAX_RECORDS, MAX_RUN_DURATION_MS,
    MAX_SLOTS_PER_TASK_MANAGER, MAX_TASK_MANAGERS,
};
use halab_sim::{run_seed, Verdict};

const TM_CRASH: &str = include_str!("../scenarios/catalogue/tm-crash.toml");
const STEADY: &str = include_str!("../scenarios/catalogue/steady.toml");
const CHAOS: &str = include_str!("../scenarios/catalogue/chaos.toml");

/// `text` with each `(from, to)` replaced once; every `from` must be there.
/// The source operator's parallelism in the catalogue files, and 8.
const SOURCE_2: &str = "kind = \"source\"\nparallelism = 2";
const SOURCE_8: &str = "kind = \"source\"\nparallelism = 8";

fn edit(text: &str, edits: &[(&str, String)]) -> String {
    edits.iter().fold(text.to_string(), |t, (from, to)| {
        assert!(t.contains(from), "{from} is not in the scenario");
        t.replacen(from, to, 1)
    })
}

fn passes(text: &str) {
    let s = parse_scenario(text, "limit.toml").expect("a scenario at the limits is valid");
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    assert_eq!(r.records_committed, r.records_expected);
}

#[test]
fn a_run_at_the_key_task_manager_and_slot_limits_passes() {
    let text = TM_CRASH
        .replacen("keys = 500", &format!("keys = {MAX_KEYS}"), 1)
        .replacen("task-managers = 3", &format!("task-managers = {MAX_TASK_MANAGERS}"), 1)
        .replacen(
            "slots-per-task-manager = 2",
            &format!("slots-per-task-manager = {MAX_SLOTS_PER_TASK_MANAGER}"),
            1,
        )
        .replacen(
            "kind = \"count\"\nparallelism = 5",
            "kind = \"count\"\nparallelism = 512",
            1,
        );
    assert!(text.contains("parallelism = 512"), "{text}");
    passes(&text);
}

#[test]
fn a_run_with_the_most_job_managers_passes() {
    let s = catalogue::load("jm-crash").expect("built-in").expect("valid");
    let mut text = s.to_toml().expect("toml");
    text = text.replacen(
        &format!("job-managers = {}", s.cluster.job_managers),
        &format!("job-managers = {MAX_JOB_MANAGERS}"),
        1,
    );
    assert!(text.contains(&format!("job-managers = {MAX_JOB_MANAGERS}")), "{text}");
    passes(&text);
}

#[test]
fn a_run_at_the_record_limit_passes() {
    // 12,500 records/s x 4 partitions x 1000 s: exactly the limit.
    let text = edit(
        STEADY,
        &[
            ("duration = \"10s\"", "duration = \"1000s\"".into()),
            ("records-per-second = 2000", "records-per-second = 12500".into()),
        ],
    );
    let s = parse_scenario(&text, "limit.toml").expect("valid");
    assert_eq!(s.total_records(), MAX_RECORDS);
    passes(&text);
}

#[test]
fn a_run_at_the_parallelism_and_data_channel_limits_passes() {
    // 8 sources x 4096 counters + 4096 counters x 8 sinks: 65,536 channels.
    let text = edit(
        STEADY,
        &[
            ("task-managers = 2", format!("task-managers = {MAX_TASK_MANAGERS}")),
            (
                "slots-per-task-manager = 2",
                format!("slots-per-task-manager = {MAX_SLOTS_PER_TASK_MANAGER}"),
            ),
            ("source-partitions = 4", "source-partitions = 8".into()),
            (SOURCE_2, SOURCE_8.into()),
            (
                "kind = \"count\"\nparallelism = 4",
                format!("kind = \"count\"\nparallelism = {MAX_PARALLELISM}"),
            ),
            (
                "kind = \"sink\"\nparallelism = 2",
                "kind = \"sink\"\nparallelism = 8".into(),
            ),
            ("records-per-second = 2000", "records-per-second = 1000".into()),
            ("keys = 500", "keys = 100000".into()),
        ],
    );
    let s = parse_scenario(&text, "limit.toml").expect("valid");
    assert_eq!(s.job_graph().data_channels(), MAX_DATA_CHANNELS);
    passes(&text);
}

#[test]
fn a_run_at_the_source_partition_limit_passes() {
    let text = edit(
        STEADY,
        &[
            ("task-managers = 2", "task-managers = 4".into()),
            (
                "source-partitions = 4",
                format!("source-partitions = {MAX_PARALLELISM}"),
            ),
            (SOURCE_2, SOURCE_8.into()),
            ("records-per-second = 2000", "records-per-second = 10".into()),
        ],
    );
    passes(&text);
}

#[test]
fn a_run_with_the_most_random_faults_over_the_longest_duration_passes() {
    let hour = format!("\"{}s\"", MAX_RUN_DURATION_MS / 1000);
    let text = edit(
        CHAOS,
        &[
            ("duration = \"12s\"", format!("duration = {hour}")),
            (
                "rate = 0.5",
                format!("count = {}", halab_sim::random_faults::MAX_RANDOM_FAULTS),
            ),
            ("window = [\"1s\", \"10s\"]", "window = [\"1s\", \"3000s\"]".into()),
            ("recovery-bound = \"120s\"", format!("recovery-bound = {hour}")),
        ],
    );
    let s = parse_scenario(&text, "limit.toml").expect("valid");
    let plan = s.fault_plan(1);
    assert_eq!(
        plan.0.len(),
        2 * halab_sim::random_faults::MAX_RANDOM_FAULTS as usize,
        "each fault and its heal"
    );
    passes(&text);
}
