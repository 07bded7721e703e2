//! Every catalogue scenario over a fixed seed list: exactly-once and liveness
//! must hold. And the catalogue covers every fault verb.

use std::collections::BTreeSet;

use halab_scenarios::catalogue;
use halab_sim::{run_seed, Verdict};

/// Seeds each catalogue scenario runs under `cargo test` (wide sweeps belong
/// to `halab sweep`).
const SEEDS: std::ops::RangeInclusive<u64> = 1..=6;

fn check(name: &str) {
    let s = catalogue::load(name).expect("built-in").expect("valid");
    for seed in SEEDS {
        let r = run_seed(&s, seed).expect("valid");
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{name} seed {seed}: {:?} {:?}\nreproduce: cargo run --release -- repro {name} --seed {seed} --trace",
            r.message,
            r.examples
        );
    }
}

macro_rules! catalogue_tests {
    ($($f:ident => $name:literal),* $(,)?) => {
        $( #[test] fn $f() { check($name); } )*

        #[test]
        fn every_catalogue_scenario_has_a_test() {
            let tested: BTreeSet<&str> = [$($name),*].into_iter().collect();
            let all: BTreeSet<&str> = catalogue::names().into_iter().collect();
            assert_eq!(tested, all);
        }
    };
}

catalogue_tests! {
    steady => "steady",
    storm_crash_loop_backoff => "storm-crash-loop-backoff",
    storm_exponential_delay => "storm-exponential-delay",
    storm_failure_rate => "storm-failure-rate",
    storm_fixed_delay => "storm-fixed-delay",
    storm_supervisor => "storm-supervisor",
    at_least_once_crashes => "at-least-once-crashes",
    backpressure_aligned => "backpressure-aligned",
    backpressure_alternating => "backpressure-alternating",
    backpressure_unaligned => "backpressure-unaligned",
    checkpoint_storage_outage_tolerable => "checkpoint-storage-outage-tolerable",
    checkpoint_timeout => "checkpoint-timeout",
    tm_crash => "tm-crash",
    chaos => "chaos",
    graph_crash => "graph-crash",
    graph_chaos => "graph-chaos",
    graph_unaligned => "graph-unaligned",
    join_crash => "join-crash",
    join_unaligned => "join-unaligned",
    nexmark_q1 => "nexmark-q1",
    nexmark_q2 => "nexmark-q2",
    nexmark_q3 => "nexmark-q3",
    nexmark_q5 => "nexmark-q5",
    nexmark_q8 => "nexmark-q8",
    nexmark_q12 => "nexmark-q12",
    placement_none => "placement-none",
    placement_slots => "placement-slots",
    placement_tasks => "placement-tasks",
    placement_load => "placement-load",
    reachability => "reachability",
    reachability_unaligned => "reachability-unaligned",
    reachability_backpressure => "reachability-backpressure",
    chaos_uncoordinated => "chaos-uncoordinated",
    graph_chaos_uncoordinated => "graph-chaos-uncoordinated",
    reachability_uncoordinated => "reachability-uncoordinated",
    chaos_cic => "chaos-cic",
    graph_chaos_cic => "graph-chaos-cic",
    reachability_cic => "reachability-cic",
    checkpoint_storage_outage => "checkpoint-storage-outage",
    checkpoint_storage_slow => "checkpoint-storage-slow",
    connection_detection => "connection-detection",
    crash_loop_exponential => "crash-loop-exponential",
    heartbeat_detection => "heartbeat-detection",
    link_clog => "link-clog",
    lossy_network => "lossy-network",
    region_failover => "region-failover",
    restart_exhausted => "restart-exhausted",
    service_crash => "service-crash",
    sink_store_outage => "sink-store-outage",
    source_log_slow => "source-log-slow",
    split_brain_groups => "split-brain-groups",
    tm_loss_spare => "tm-loss-spare",
    tm_partition => "tm-partition",
    tm_partition_one_way => "tm-partition-one-way",
    tm_pause_long => "tm-pause-long",
    tm_pause_short => "tm-pause-short",
    union_backpressure => "union-backpressure",
    window_crash => "window-crash",
    zombie_tm => "zombie-tm",
    jm_crash => "jm-crash",
    jm_partition_split_brain => "jm-partition-split-brain",
    jm_partition_from_tms => "jm-partition-from-tms",
    jm_pause_beyond_lease => "jm-pause-beyond-lease",
    coordination_outage => "coordination-outage",
    ha_chaos => "ha-chaos",
    ha_storm => "ha-storm",
    large_state => "large-state",
    interval_tradeoff => "interval-tradeoff",
    restore_remote => "restore-remote",
    cpu_backpressure_aligned => "cpu-backpressure-aligned",
    cpu_backpressure_unaligned => "cpu-backpressure-unaligned",
    cpu_backpressure_alternating => "cpu-backpressure-alternating",
    restore_local => "restore-local",
    restore_incremental => "restore-incremental",
    bounded_finish => "bounded-finish",
    cancel_job => "cancel-job",
    rescale_scale_out => "rescale-scale-out",
    rescale_scale_in_crash => "rescale-scale-in-crash",
    tm_loss_no_spare => "tm-loss-no-spare",
    rescale_ring => "rescale-ring",
    rescale_rendezvous => "rescale-rendezvous",
    rescale_jump => "rescale-jump",
    rescale_maglev => "rescale-maglev",
    jm_pause_sole_leader => "jm-pause-sole-leader",
    ha_chaos_concurrent_checkpoints => "ha-chaos-concurrent-checkpoints",
    tm_partition_during_failover => "tm-partition-during-failover",
    skew_uniform => "skew-uniform",
    skew_hot => "skew-hot",
    skew_zipf => "skew-zipf",
    checkmate_skew => "checkmate-skew",
}

#[test]
fn the_catalogue_has_at_least_15_scenarios_and_covers_every_fault_verb() {
    let all = catalogue::all().expect("valid");
    assert!(all.len() >= 15);
    let mut verbs = BTreeSet::new();
    for s in &all {
        for seed in 1..=30 {
            verbs.extend(s.fault_plan(seed).0.iter().map(|f| f.fault.verb()));
        }
    }
    let expected: BTreeSet<&str> = [
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
        "cancel-job",
    ]
    .into_iter()
    .collect();
    assert_eq!(verbs, expected);
}

#[test]
fn restart_exhausted_ends_failed_with_recovery_suppressed() {
    let s = catalogue::load("restart-exhausted").expect("built-in").expect("valid");
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.final_job_status, "FAILED");
    assert_eq!(r.restarts, 1, "one restart allowed, the second failure fails the job");
    let (_, trace) = halab_sim::harness::run_seed_with_trace(&s, 1).expect("valid");
    assert!(
        trace
            .iter()
            .any(|l| l.contains("Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy")),
        "the job fails with Flink's message"
    );
    // Expecting RUNNING instead makes the same run a liveness failure.
    let mut expect_running = s.clone();
    expect_running.expect.final_status = halab_engine::status::JobStatus::Running;
    assert_eq!(run_seed(&expect_running, 1).expect("valid").verdict, Verdict::Liveness);
}

#[test]
fn a_plan_written_back_out_replays_the_same_run() {
    let s = catalogue::load("chaos").expect("built-in").expect("valid");
    let seed = 5;
    let plan = s.fault_plan(seed);
    assert!(!plan.is_empty());
    let explicit = s.with_explicit_plan(&plan);
    let text = explicit.to_toml().expect("serialisable");
    let reparsed = halab_scenarios::parse_scenario(&text, "written.toml").expect("valid");
    assert_eq!(reparsed.fault_plan(999), plan, "the plan no longer depends on the seed");
    let a = run_seed(&s, seed).expect("valid");
    let b = run_seed(&reparsed, seed).expect("valid");
    assert_eq!(a.trace_hash, b.trace_hash);
}
