//! Failover strategies in whole runs: region failover restarts only the
//! pipelined region of the failed task; `full` restarts everything, and
//! under the resource model restores every region's state.

use halab_scenarios::catalogue;
use halab_sim::harness::run_seed_with_trace;
use halab_sim::scenario::ConfigValue;
use halab_sim::{Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

/// Tasks deployed after the first deployment, per redeployment.
fn redeployments(trace: &[String]) -> Vec<u64> {
    trace
        .iter()
        .filter(|l| l.contains("\"event\":\"tasks_deployed\""))
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l[l.find('{').expect("json")..]).expect("json");
            v["tasks"].as_u64().expect("tasks")
        })
        .collect()
}

#[test]
fn region_failover_restarts_only_the_failed_pipeline() {
    let s = scenario("region-failover");
    for seed in 1..=4 {
        let (r, trace) = run_seed_with_trace(&s, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert_eq!(r.restarts, 1, "one restart, counted once");
        assert_eq!(
            redeployments(&trace),
            vec![6],
            "pipeline a: source, count, sink x 2 subtasks"
        );
        // Pipeline b's sink is vertex 5: only its first attempt was ever
        // deployed, it never aborted a transaction (a restored sink aborts
        // its open one), and it kept committing.
        let b: Vec<&String> = trace.iter().filter(|l| l.contains("\"txn\":\"txn-5-")).collect();
        assert!(b.len() >= 10, "pipeline b committed throughout");
        assert!(b.iter().all(|l| l.contains("txn_committed")), "{b:?}");
        let deployed: Vec<&String> = trace.iter().filter(|l| l.contains("\"task\":\"v5[")).collect();
        assert_eq!(deployed.len(), 2, "{deployed:?}");
        assert!(deployed
            .iter()
            .all(|l| l.contains("deployment_accepted") && l.contains("]#1\"")));
    }
}

#[test]
fn full_failover_restarts_both_pipelines() {
    let mut s = scenario("region-failover");
    s.config.insert(
        "jobmanager.execution.failover-strategy".into(),
        ConfigValue::String("full".into()),
    );
    let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    assert_eq!(redeployments(&trace), vec![12]);
}

#[test]
fn under_the_resource_model_region_failover_restores_only_its_regions_state() {
    // 100 KB per key: each pipeline's counts hold about 30 MB. Region
    // failover downloads pipeline a's state; full failover both pipelines'.
    let restored_bytes = |strategy: &str| -> (u64, Vec<String>) {
        let mut s = scenario("region-failover");
        s.job.state_bytes_per_key = Some(halab_sim::human::HumanBytes(100_000));
        s.config.insert(
            "jobmanager.execution.failover-strategy".into(),
            ConfigValue::String(strategy.into()),
        );
        let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{strategy}: {:?}", r.message);
        let mut bytes = 0;
        let mut tasks = Vec::new();
        for l in trace.iter().filter(|l| l.contains("\"event\":\"state_restored\"")) {
            let v: serde_json::Value = serde_json::from_str(&l[l.find('{').expect("json")..]).expect("json");
            bytes += v["bytes"].as_u64().expect("bytes");
            tasks.push(v["task"].as_str().expect("task").to_string());
        }
        (bytes, tasks)
    };
    let (region, region_tasks) = restored_bytes("region");
    let (full, full_tasks) = restored_bytes("full");
    assert_eq!((region_tasks.len(), full_tasks.len()), (6, 12));
    assert!(
        region_tasks
            .iter()
            .all(|t| ["v0[", "v1[", "v2["].iter().any(|p| t.starts_with(p))),
        "only pipeline a restores: {region_tasks:?}"
    );
    assert!(region > 10_000_000, "pipeline a's counts hold state: {region}");
    let ratio = full as f64 / region as f64;
    assert!(
        (1.6..=2.4).contains(&ratio),
        "full failover restores both pipelines' state: {full} against {region} bytes"
    );
}
