//! Failover strategies in whole runs: region failover restarts only the
//! pipelined region of the failed task; `full` restarts everything.

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
