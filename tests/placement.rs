//! Slot placement (`taskmanager.load-balance.mode`, engine/src/placement.rs):
//! each mode places the slots as it says, the load-aware one beats the
//! fixed order on the hottest TaskManager's load and on catch-up time under
//! key skew and TaskManager crashes, and the figures the comparison reads
//! (per-TaskManager load, tasks lost per crash) are what the run did.

use std::collections::{BTreeMap, BTreeSet};

use halab_scenarios::{catalogue, parse_scenario};
use halab_sim::harness::{run_seed, run_seed_with_trace};
use halab_sim::record::{RunRecord, Verdict};
use halab_sim::scenario::Scenario;

#[path = "common/mod.rs"]
mod common;
use common::events;

fn placement(mode: &str) -> Scenario {
    catalogue::load(&format!("placement-{mode}"))
        .expect("built-in")
        .expect("valid")
}

/// Per TaskManager, the subtasks the first deployment put there.
fn first_placement(s: &Scenario, seed: u64) -> BTreeMap<String, BTreeSet<String>> {
    let (_, trace) = run_seed_with_trace(s, seed).expect("runs");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, node, v) in events(&trace) {
        if v["event"] == "deployment_accepted" && v["task"].as_str().is_some_and(|t| t.ends_with("#1")) {
            let task = v["task"].as_str().expect("task").trim_end_matches("#1").to_string();
            out.entry(node).or_default().insert(task);
        }
    }
    out
}

fn set(tasks: &[&str]) -> BTreeSet<String> {
    tasks.iter().map(|t| t.to_string()).collect()
}

#[test]
fn fill_and_spread_are_flinks_orders() {
    // Slot i holds subtask i of every vertex (source 2, count 5, sink 2).
    let fill = first_placement(&placement("none"), 1);
    assert_eq!(
        fill["tm-0"],
        set(&["v0[0]", "v1[0]", "v2[0]", "v0[1]", "v1[1]", "v2[1]"]),
        "NONE fills tm-0's two slots first"
    );
    assert_eq!(fill["tm-2"], set(&["v1[4]"]));
    let spread = first_placement(&placement("slots"), 1);
    assert_eq!(spread["tm-0"], set(&["v0[0]", "v1[0]", "v2[0]", "v1[3]"]));
    assert_eq!(spread["tm-1"], set(&["v0[1]", "v1[1]", "v2[1]", "v1[4]"]));
    assert_eq!(spread["tm-2"], set(&["v1[2]"]));
    // TASKS (and LOAD before it has measured anything): slots 0 and 1
    // hold 3 tasks each, slots 2-4 one; a TaskManager has two slots, so
    // the best is 4, 3, 2 tasks (SLOTS gives 4, 4, 1).
    for mode in ["tasks", "load"] {
        let balanced = first_placement(&placement(mode), 1);
        let mut counts: Vec<usize> = balanced.values().map(BTreeSet::len).collect();
        counts.sort_unstable();
        assert_eq!(counts, vec![2, 3, 4], "{mode}: {balanced:?}");
    }
}

#[test]
fn the_mode_is_flinks_key_and_a_bad_value_is_named() {
    let text = |value: &str| {
        format!(
            "name = \"p\"\nduration = \"2s\"\n\n[config]\n\"execution.checkpointing.interval\" = \"1s\"\n\"taskmanager.load-balance.mode\" = \"{value}\"\n"
        )
    };
    for ok in ["NONE", "slots", "TASKS", "LOAD"] {
        parse_scenario(&text(ok), "p.toml").unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let e = parse_scenario(&text("BUSY"), "p.toml").expect_err("refused");
    assert!(
        e.to_string().contains("must be NONE, SLOTS, TASKS (Flink's) or LOAD"),
        "{e}"
    );
    // Flink's older key: false fills TaskManagers one by one.
    let mut s = placement("slots");
    s.config.remove("taskmanager.load-balance.mode");
    s.config.insert(
        "cluster.evenly-spread-out-slots".into(),
        halab_sim::scenario::ConfigValue::Bool(false),
    );
    assert_eq!(first_placement(&s, 1), first_placement(&placement("none"), 1));
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Per run: the busiest TaskManager's busy ms/s and the episodes' catch-up.
fn figures(mode: &str, seeds: std::ops::RangeInclusive<u64>) -> (u64, u64) {
    let s = placement(mode);
    let runs: Vec<RunRecord> = seeds.map(|seed| run_seed(&s, seed).expect("runs")).collect();
    assert!(runs.iter().all(|r| r.verdict == Verdict::Pass), "{mode} passes");
    let hottest = runs
        .iter()
        .map(|r| {
            r.task_managers
                .iter()
                .map(|t| t.busy_time_ms_per_second)
                .max()
                .expect("TMs")
        })
        .collect();
    let catch_up = runs
        .iter()
        .flat_map(|r| &r.recovery)
        .filter_map(|e| Some(e.caught_up_ms? - e.restored_ms?))
        .collect();
    (median(hottest), median(catch_up))
}

#[test]
fn load_aware_placement_beats_the_fixed_order_under_skew_and_crashes() {
    // 200 seeds give 483 against 707.5 ms/s and 664 against 947.5 ms of
    // catch-up (the issue note); 40 keep the test quick.
    let (load_hot, load_catch_up) = figures("load", 1..=40);
    let (fixed_hot, fixed_catch_up) = figures("slots", 1..=40);
    assert!(
        load_hot * 10 < fixed_hot * 8,
        "hottest TaskManager: LOAD {load_hot} ms/s, SLOTS {fixed_hot} ms/s"
    );
    assert!(
        load_catch_up < fixed_catch_up,
        "catch-up: LOAD {load_catch_up} ms, SLOTS {fixed_catch_up} ms"
    );
}

#[test]
fn a_crash_loses_the_tasks_its_task_manager_ran() {
    // Seeds whose crash strikes tm-0 before any restart: NONE put slots 0
    // and 1 there (6 tasks), SLOTS slots 0 and 3 (4 tasks).
    for (mode, lost) in [("none", 6), ("slots", 4)] {
        let s = placement(mode);
        let seed = (1..200)
            .find(|seed| {
                let plan = s.fault_plan(*seed);
                plan.0.first().is_some_and(|f| f.fault.to_string() == "kill tm-0")
            })
            .expect("a seed that kills tm-0");
        let r = run_seed(&s, seed).expect("runs");
        assert_eq!(r.tasks_lost_per_crash, vec![lost], "{mode} seed {seed}");
    }
}

#[test]
fn task_manager_load_adds_up_to_its_subtasks() {
    // No faults: every subtask ran one attempt on one TaskManager.
    let mut s = placement("slots");
    s.faults.random = None;
    let r = run_seed(&s, 1).expect("runs");
    let by_tm: u64 = r.task_managers.iter().map(|t| t.busy_time_ms_per_second).sum();
    let by_subtask: u64 = r
        .subtasks
        .iter()
        .map(|m| m.busy_time_ms_per_second * m.running_ms / r.simulated_ms)
        .sum();
    let names: Vec<&str> = r.task_managers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["tm-0", "tm-1", "tm-2"]);
    assert!(
        by_tm.abs_diff(by_subtask) <= 1 + r.subtasks.len() as u64,
        "{by_tm} ms/s over TaskManagers, {by_subtask} over subtasks"
    );
    let records: u64 = r.task_managers.iter().map(|t| t.num_records_in).sum();
    assert_eq!(records, r.subtasks.iter().map(|m| m.num_records_in).sum::<u64>());
    assert!(r.tasks_lost_per_crash.is_empty(), "no crash, no loss");
}

#[test]
fn load_aware_placement_works_through_reactive_rescales() {
    // Reactive mode places the slots again at every rescale, by load.
    for name in ["rescale-scale-out", "rescale-scale-in-crash"] {
        let mut s = catalogue::load(name).expect("built-in").expect("valid");
        s.config.insert(
            "taskmanager.load-balance.mode".into(),
            halab_sim::scenario::ConfigValue::String("LOAD".into()),
        );
        for seed in 1..=4 {
            let r = run_seed(&s, seed).expect("runs");
            assert_eq!(r.verdict, Verdict::Pass, "{name} seed {seed}: {:?}", r.message);
            assert!(!r.rescales.is_empty(), "{name} seed {seed} rescaled");
        }
    }
}
