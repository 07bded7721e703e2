//! The built-in scenarios over fixed seed lists: exactly-once and liveness
//! must hold, and runs must be deterministic.

use halab_scenarios::catalogue;
use halab_sim::{run_seed, RunRecord, Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

fn run(s: &Scenario, seed: u64) -> RunRecord {
    run_seed(s, seed).expect("valid scenario")
}

fn assert_pass(r: &RunRecord) {
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{} seed {} failed: {:?} (lost {}, duplicated {}, unexpected {}) examples {:?}\nreproduce: {}",
        r.scenario,
        r.seed,
        r.message,
        r.lost,
        r.duplicated,
        r.unexpected,
        r.examples,
        r.repro_line(&r.scenario)
    );
    assert_eq!(r.records_committed, r.records_expected);
}

#[test]
fn steady_passes_over_16_seeds() {
    let s = scenario("steady");
    for seed in 1..=16 {
        let r = run(&s, seed);
        assert_pass(&r);
        assert_eq!(r.restarts, 0);
        assert!(r.fault_plan.is_empty());
        assert!(r.checkpoints.iter().filter(|c| c.outcome == "completed").count() >= 5);
    }
}

#[test]
fn tm_crash_passes_over_16_seeds_and_restarts() {
    let s = scenario("tm-crash");
    for seed in 1..=16 {
        let r = run(&s, seed);
        assert_pass(&r);
        assert!(r.restarts >= 1, "seed {seed}: the crash must cause a restart");
        assert_eq!(r.fault_plan.len(), 2, "kill and restart");
        let ep = &r.recovery[0];
        assert!(
            ep.detected_ms.is_some() && ep.restarted_ms.is_some() && ep.first_commit_ms.is_some(),
            "{ep:?}"
        );
        assert!(ep.detected_ms <= ep.restarted_ms && ep.restarted_ms <= ep.first_commit_ms);
    }
}

#[test]
fn same_seed_same_trace_hash_different_seeds_differ() {
    let s = scenario("tm-crash");
    let a = run(&s, 7);
    let b = run(&s, 7);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.buckets, b.buckets);
    let c = run(&s, 8);
    assert_ne!(a.trace_hash, c.trace_hash);
    let steady = scenario("steady");
    assert_ne!(run(&steady, 1).trace_hash, run(&steady, 2).trace_hash);
}

#[test]
fn metrics_buckets_account_for_all_commits() {
    let s = scenario("tm-crash");
    let r = run(&s, 3);
    let committed: u64 = r.buckets.iter().map(|b| b.committed).sum();
    let read: u64 = r.buckets.iter().map(|b| b.read).sum();
    assert!(committed <= r.records_committed && committed + 10_000 >= r.records_committed);
    assert!(read >= r.records_expected, "re-reads after the restore count too");
    assert!(r.buckets.windows(2).all(|w| w[1].t_ms == w[0].t_ms + 100));
}

#[test]
fn heartbeat_timeout_detects_a_crash_when_connection_loss_detection_is_off() {
    let hb = scenario("heartbeat-detection");
    let (r, trace) = halab_sim::harness::run_seed_with_trace(&hb, 2).expect("valid");
    assert_pass(&r);
    assert!(
        trace.iter().any(|l| l.contains("heartbeat timeout")),
        "lost by heartbeat timeout"
    );
    let ep = &r.recovery[0];
    let detection = ep.detected_ms.expect("detected") - ep.fault_ms;
    // heartbeat.timeout = 5s, checked every heartbeat.interval = 1s.
    assert!((4_000..=6_100).contains(&detection), "detected after {detection} ms");
    // With connection-loss detection (the default) the same crash is seen at once.
    let mut fast = hb.clone();
    fast.config.remove("halab.failure-detection.connection-loss");
    let f = run(&fast, 2);
    let fe = &f.recovery[0];
    assert!(fe.detected_ms.expect("detected") - fe.fault_ms < 100, "{fe:?}");
}

#[test]
fn connection_loss_detection_recovers_faster_than_heartbeats_on_the_same_crashes() {
    let hb = scenario("heartbeat-detection");
    let conn = scenario("connection-detection");
    let (mut slow, mut fast) = (Vec::new(), Vec::new());
    for seed in 1..=8 {
        let (a, b) = (run(&hb, seed), run(&conn, seed));
        assert_pass(&a);
        assert_pass(&b);
        assert_eq!(a.fault_plan, b.fault_plan, "identical fault schedules");
        slow.extend(a.recovery.iter().filter_map(|e| e.recovery_ms()));
        fast.extend(b.recovery.iter().filter_map(|e| e.recovery_ms()));
    }
    assert!(!slow.is_empty() && slow.len() == fast.len());
    let mean = |v: &[u64]| v.iter().sum::<u64>() / v.len() as u64;
    assert!(
        mean(&slow) >= mean(&fast) + 3_000,
        "heartbeat {} ms vs connection {} ms",
        mean(&slow),
        mean(&fast)
    );
}
