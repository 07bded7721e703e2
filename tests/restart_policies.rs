//! Restart-policy conformance in whole runs: the JobManager follows the
//! configured policy exactly (checked in every run), and a JobManager that
//! does not is caught.

use halab_engine::config::Sabotage;
use halab_scenarios::catalogue;
use halab_sim::{run_seed, Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

#[test]
fn every_handled_failure_is_replayed_through_the_policy() {
    for name in [
        "tm-crash",
        "crash-loop-exponential",
        "restart-exhausted",
        "checkpoint-timeout",
    ] {
        let s = scenario(name);
        for seed in 1..=4 {
            let r = run_seed(&s, seed).expect("valid");
            assert_eq!(r.verdict, Verdict::Pass, "{name} seed {seed}: {:?}", r.message);
            assert!(
                r.failures_handled >= 1,
                "{name} seed {seed}: the checker saw the failures"
            );
        }
    }
}

#[test]
fn a_jobmanager_ignoring_the_backoff_is_caught() {
    let mut s = scenario("tm-crash");
    s.sabotage = Sabotage::RestartIgnoresBackoff;
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Violation);
    let m = r.message.expect("message");
    assert!(m.starts_with("restart policy not followed"), "{m}");
}

#[test]
fn a_jobmanager_that_never_gives_up_is_caught() {
    let mut s = scenario("restart-exhausted");
    s.sabotage = Sabotage::RestartNeverGivesUp;
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Violation);
    assert!(r.message.expect("message").contains("canRestart = false"));
}

#[test]
fn one_storm_under_five_policies() {
    let outcome = |name: &str| {
        let r = run_seed(&scenario(name), 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{name}: {:?}", r.message);
        (r.final_job_status.clone(), r.restarts, r.failures_handled)
    };
    // 3 failures per 10s allowed: the 4th crash (at 11s, within 10s of the
    // 2nd) fails the job, after 3 restarts.
    assert_eq!(outcome("storm-failure-rate"), ("FAILED".into(), 3, 4));
    assert_eq!(outcome("storm-fixed-delay"), ("FAILED".into(), 3, 4));
    assert_eq!(outcome("storm-supervisor"), ("FAILED".into(), 3, 4));
    let (status, restarts, _) = outcome("storm-exponential-delay");
    assert_eq!(status, "RUNNING");
    assert!(restarts >= 4);
    assert_eq!(outcome("storm-crash-loop-backoff").0, "RUNNING");
}
