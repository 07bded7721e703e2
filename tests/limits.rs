//! A run at the documented limits (docs/scenarios.md, "Limits") passes:
//! the limits bound what the simulator accepts, and each is reachable.

use halab_scenarios::{catalogue, parse_scenario};
use halab_sim::scenario::{MAX_JOB_MANAGERS, MAX_KEYS, MAX_SLOTS_PER_TASK_MANAGER, MAX_TASK_MANAGERS};
use halab_sim::{run_seed, Verdict};

const TM_CRASH: &str = include_str!("../scenarios/catalogue/tm-crash.toml");

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
        .replacen("count-parallelism = 5", "count-parallelism = 512", 1);
    assert_ne!(text, TM_CRASH);
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
