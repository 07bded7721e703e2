//! Strategy plug-ins: a restart strategy registered by name (the example's
//! token-bucket restart budget, examples/restart_budget/) runs from a
//! scenario that names it, the conformance checker replays it, and a
//! JobManager that restarts early under it is caught.

#[path = "../examples/restart_budget/strategy.rs"]
mod strategy;

use std::sync::OnceLock;

use halab_engine::config::Sabotage;
use halab_engine::restart::registry::{register_restart_strategy, registered_restart_strategies};
use halab_scenarios::overrides::set_key;
use halab_scenarios::{catalogue, parse_scenario};
use halab_sim::{run_seed, Scenario, Verdict};

fn registered() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| strategy::register().expect("registered once"));
}

/// The restart storm (six crashes, 3 s apart) under the budget.
fn storm(tokens: &str, refill: &str) -> Scenario {
    registered();
    let s = catalogue::load("storm-fixed-delay").expect("built-in").expect("valid");
    let s = set_key(&s, "restart-strategy.type", strategy::NAME).expect("a registered name");
    let s = set_key(&s, "restart-budget.tokens", tokens).expect("its key");
    set_key(&s, "restart-budget.refill", refill).expect("its key")
}

#[test]
fn a_scenario_file_names_the_plugin_and_conformance_replays_it() {
    // 3 tokens, one back every 5 s: the storm's six crashes are absorbed.
    let mut survives = storm("3", "5s");
    survives.expect.final_status = halab_engine::status::JobStatus::Running;
    // 2 tokens: the fourth crash (at 11 s) finds none; the job fails, as
    // the scenario expects.
    let gives_up = storm("2", "5s");
    for seed in 1..=4 {
        let r = run_seed(&survives, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert_eq!((r.restarts, r.final_job_status.as_str()), (6, "RUNNING"));
        let r = run_seed(&gives_up, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert_eq!((r.restarts, r.final_job_status.as_str()), (3, "FAILED"));
    }
    // From a file, by name, as a user writes it.
    let text = survives.to_toml().expect("toml");
    assert!(
        text.contains("\"restart-strategy.type\" = \"restart-budget\""),
        "{text}"
    );
    let parsed = parse_scenario(&text, "budget.toml").expect("the registered keys are accepted");
    assert_eq!(run_seed(&parsed, 1).expect("valid").verdict, Verdict::Pass);
}

#[test]
fn restarting_early_under_the_plugin_is_caught() {
    let mut s = storm("3", "5s");
    s.expect.final_status = halab_engine::status::JobStatus::Running;
    s.sabotage = Sabotage::RestartIgnoresBackoff;
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Violation, "{:?}", r.message);
    assert!(
        r.message
            .as_deref()
            .is_some_and(|m| m.contains("restart policy not followed")),
        "{:?}",
        r.message
    );
}

#[test]
fn the_registry_refuses_clashes_and_unknown_names_stay_unknown() {
    registered();
    assert!(registered_restart_strategies().contains(&strategy::NAME.to_string()));
    assert!(strategy::register().expect_err("twice").contains("registered already"));
    let load = strategy::load;
    assert!(register_restart_strategy("fixed-delay", load, &[])
        .expect_err("a built-in")
        .contains("built in"));
    assert!(
        register_restart_strategy("Budget", load, &[]).is_err(),
        "lower case only"
    );
    let s = catalogue::load("storm-fixed-delay").expect("built-in").expect("valid");
    let e = set_key(&s, "restart-strategy.type", "restart-budget-x").expect_err("unknown");
    assert!(e.contains("unknown restart strategy"), "{e}");
    let e = set_key(&s, "restart-budget-x.tokens", "3").expect_err("unknown key");
    assert!(e.contains("unknown configuration key"), "{e}");
}

#[test]
fn halab_compare_runs_the_plugin_beside_flinks_policies() {
    registered();
    let code = halab::cli::main_with([
        "halab",
        "compare",
        "tm-crash",
        "--vary",
        "restart-strategy.type=fixed-delay,failure-rate,restart-budget",
        "--seeds",
        "1..4",
        "--jobs",
        "1",
    ]);
    assert_eq!(code, 0, "every variant passes, the plug-in's included");
    assert_eq!(
        halab::cli::main_with([
            "halab",
            "compare",
            "tm-crash",
            "--vary",
            "restart-strategy.type=no-such-one"
        ]),
        2,
        "an unknown strategy is bad input"
    );
}

/// A failover strategy that restarts only the failed subtask, ignoring its
/// pipelined region: unsafe, as Flink's region rule exists to prevent.
#[derive(Debug)]
struct FailedTaskOnly;

impl halab_engine::failover::FailoverStrategy for FailedTaskOnly {
    fn tasks_needing_restart(
        &self,
        failed: halab_engine::graph::ExecutionVertexId,
    ) -> std::collections::BTreeSet<halab_engine::graph::ExecutionVertexId> {
        [failed].into_iter().collect()
    }

    fn name(&self) -> &'static str {
        "failed-task-only"
    }
}

fn failover_plugins() {
    use halab_engine::failover::registry::register_failover_strategy;
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        register_failover_strategy("failed-task-only", |_| Box::new(FailedTaskOnly)).expect("registered");
        register_failover_strategy("region-again", |g| {
            Box::new(halab_engine::failover::RegionFailoverStrategy::new(g))
        })
        .expect("registered");
    });
}

#[test]
fn failover_plugins_run_by_name_and_an_unsafe_one_is_caught() {
    failover_plugins();
    let base = catalogue::load("region-failover").expect("built-in").expect("valid");
    let key = "jobmanager.execution.failover-strategy";
    let region = set_key(&base, key, "region").expect("valid");
    let again = set_key(&base, key, "region-again").expect("a registered name");
    for seed in 1..=3 {
        let (a, b) = (
            run_seed(&region, seed).expect("valid"),
            run_seed(&again, seed).expect("valid"),
        );
        assert_eq!(b.verdict, Verdict::Pass, "seed {seed}: {:?}", b.message);
        assert_eq!(a.trace_hash, b.trace_hash, "the same strategy under another name");
    }
    let unsafe_one = set_key(&base, key, "failed-task-only").expect("a registered name");
    let caught = (1..=4).any(|seed| run_seed(&unsafe_one, seed).expect("valid").verdict != Verdict::Pass);
    assert!(
        caught,
        "restarting a subtask without its region breaks exactly-once or liveness"
    );
    let e = set_key(&base, key, "no-such-failover").expect_err("unknown");
    assert!(e.contains("registered failover strategy"), "{e}");
    assert!(
        halab_engine::failover::registry::register_failover_strategy("full", |g| {
            Box::new(halab_engine::failover::RegionFailoverStrategy::new(g))
        })
        .is_err()
    );
}
