//! Strategy plug-ins: a restart strategy registered by name (the example's
//! token-bucket restart budget, examples/restart_budget/) runs from a
//! scenario that names it, the conformance checker replays it, and a
//! JobManager that restarts early under it is caught. Failover strategies
//! and partitioners register the same way; unsafe ones are caught.

#[path = "../examples/restart_budget/strategy.rs"]
mod strategy;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use halab_engine::config::{Configuration, Sabotage};
use halab_engine::partition::registry::{register_partitioner, PartitionerPlugin};
use halab_engine::partition::{PartitionError, Partitioner, PartitionerParams};
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

/// `(key + offset) mod parallelism`, with `offset` read from the plug-in's
/// own key: a valid partitioner (a pure function of key and parallelism)
/// that moves most keys on a rescale.
#[derive(Debug)]
struct Modulo {
    offset: u64,
}

impl Partitioner for Modulo {
    fn owner(&self, key: u64, parallelism: u32) -> u32 {
        (key.wrapping_add(self.offset) % u64::from(parallelism)) as u32
    }

    fn name(&self) -> &'static str {
        "modulo"
    }

    fn params(&self) -> String {
        format!("offset={}", self.offset)
    }
}

const MODULO_OFFSET: &str = "halab.partitioner.modulo.offset";

fn modulo(_: &PartitionerParams, conf: &Configuration) -> Result<Box<dyn Partitioner>, PartitionError> {
    let offset = match conf.get(MODULO_OFFSET) {
        None => 0,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| PartitionError::Plugin(format!("`{v}` is not a whole number")))?,
    };
    Ok(Box::new(Modulo { offset }))
}

/// Ignores the key: each call picks the next owner. Unsafe, since a key's
/// records and state no longer meet.
#[derive(Debug, Default)]
struct RoundRobin(AtomicU64);

impl Partitioner for RoundRobin {
    fn owner(&self, _key: u64, parallelism: u32) -> u32 {
        (self.0.fetch_add(1, Ordering::Relaxed) % u64::from(parallelism)) as u32
    }

    fn name(&self) -> &'static str {
        "round-robin"
    }
}

/// Places every key one past the last owner.
#[derive(Debug)]
struct OffByOne;

impl Partitioner for OffByOne {
    fn owner(&self, _key: u64, parallelism: u32) -> u32 {
        parallelism
    }

    fn name(&self) -> &'static str {
        "off-by-one"
    }
}

fn partitioner_plugins() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let plugin = |factory| PartitionerPlugin { factory, keys: &[] };
        register_partitioner(
            "modulo",
            PartitionerPlugin {
                factory: modulo,
                keys: &[MODULO_OFFSET],
            },
        )
        .expect("registered");
        register_partitioner("round-robin", plugin(|_, _| Ok(Box::<RoundRobin>::default()))).expect("registered");
        register_partitioner("off-by-one", plugin(|_, _| Ok(Box::new(OffByOne)))).expect("registered");
    });
}

fn rescale_with(partitioner: &str) -> Scenario {
    partitioner_plugins();
    let s = catalogue::load("rescale-ring").expect("built-in").expect("valid");
    set_key(&s, "halab.partitioner", partitioner).expect("a registered name")
}

#[test]
fn a_plugin_partitioner_routes_and_rescales_and_its_moves_match_theory() {
    let s = rescale_with("modulo");
    for seed in 1..=2 {
        let r = run_seed(&s, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        let first = r.rescales.first().expect("the plan rescales");
        // Keys 0..1000 from 4 to 5 owners under k mod n: a key stays iff
        // k mod 4 = k mod 5, i.e. k mod 20 < 4 (200 of 1000 keys).
        assert_eq!((first.from, first.to), (4, 5));
        assert!((first.moved_key_fraction - 0.8).abs() < 1e-9, "{first:?}");
        assert!(
            r.rescales.iter().all(|m| m.moved_key_fraction >= m.optimal_fraction),
            "{:?}",
            r.rescales
        );
    }
    // The plug-in's own key reaches it from a scenario file.
    let shifted = set_key(&s, MODULO_OFFSET, "7").expect("its key");
    let text = shifted.to_toml().expect("toml");
    let parsed = parse_scenario(&text, "modulo.toml").expect("the plug-in's key is accepted");
    let (a, b) = (run_seed(&s, 1).expect("valid"), run_seed(&parsed, 1).expect("valid"));
    assert_eq!(b.verdict, Verdict::Pass, "{:?}", b.message);
    assert_ne!(a.trace_hash, b.trace_hash, "the offset changes the placement");
    let bad = text.replace("offset\" = 7", "offset\" = \"seven\"");
    assert_ne!(bad, text);
    let e = parse_scenario(&bad, "modulo.toml").expect_err("not a number");
    assert!(e.to_string().contains("modulo.toml:"), "{e}");
    assert!(e.to_string().contains("not a whole number"), "{e}");
}

#[test]
fn unsafe_plugin_partitioners_are_caught() {
    // A key's records and state part ways: the engine's restore asserts
    // each key is in one snapshot, and the keyed-state checker sees keys
    // reach subtasks that do not own them where no restore comes first.
    for seed in 1..=3 {
        let r = run_seed(&rescale_with("round-robin"), seed).expect("valid");
        assert!(
            matches!(r.verdict, Verdict::Violation | Verdict::Crash),
            "seed {seed}: {:?} {:?}",
            r.verdict,
            r.message
        );
    }
    let steady = catalogue::load("steady").expect("built-in").expect("valid");
    let steady = set_key(&steady, "halab.partitioner", "round-robin").expect("registered");
    let r = run_seed(&steady, 1).expect("valid");
    assert_eq!(
        r.verdict,
        Verdict::Violation,
        "no restore: the checker: {:?}",
        r.message
    );
    let m = r.message.as_deref().unwrap_or("");
    assert!(m.starts_with("keyed state: v1[") && m.contains("which subtask"), "{m}");
    assert!(
        m.len() < 1000 && m.ends_with(" more"),
        "five problems shown, the rest counted: {m}"
    );
    let r = run_seed(&rescale_with("off-by-one"), 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Crash);
    assert!(
        r.message
            .as_deref()
            .is_some_and(|m| m.contains("partitioner `off-by-one` placed key")),
        "{:?}",
        r.message
    );
}

#[test]
fn halab_partition_and_the_report_compare_plugins_beside_the_builtins() {
    partitioner_plugins();
    // Every registered partitioner is compared by default: the report
    // refuses the one that places keys out of range, by name.
    let e = halab::cli::rebalancing_stats().expect_err("off-by-one is registered");
    assert!(e.to_string().contains("off-by-one"), "{e}");
    let names = ["modulo", "ring"].map(String::from);
    let stats = halab::cli::rebalancing_stats_of(&names).expect("computed");
    for (from, to) in halab::cli::RESCALES {
        let row = |name: &str| {
            stats
                .iter()
                .find(|s| s.partitioner == format!("{name} {from}→{to}"))
                .unwrap_or_else(|| panic!("{name} {from}→{to} in {stats:?}"))
        };
        // k mod `from` = k mod `to` for `min(from, to)` residues out of every
        // lcm(from, to) keys; the report's keys are a whole number of those.
        let lcm = u64::from(from * to); // coprime here: 10 and 11, 10 and 9
        let stay = u64::from(from.min(to)) as f64 / lcm as f64;
        let m = row("modulo");
        assert!((m.moved_fraction - (1.0 - stay)).abs() < 1e-3, "{m:?}");
        assert!(m.moved_fraction > row("ring").moved_fraction);
    }
    let code = |p: &str| {
        halab::cli::main_with([
            "halab",
            "partition",
            "--partitioner",
            p,
            "--from",
            "4",
            "--to",
            "5",
            "--keys",
            "1000",
        ])
    };
    assert_eq!(code("modulo,ring"), 0);
    assert_eq!(code("no-such-partitioner"), 2);
    assert_eq!(code("off-by-one"), 2, "a clear error, not a panic");
}
