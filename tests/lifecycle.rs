//! Job lifecycle beyond RUNNING and FAILED: a bounded job FINISHES after a
//! final checkpoint, a user cancel ends it CANCELED, and with HA the job
//! result store keeps a new leader from running a finished job again.

use halab_engine::status::JobStatus;
use halab_scenarios::catalogue;
use halab_sim::faults::{Fault, ScheduledFault};
use halab_sim::harness::run_seed_with_trace;
use halab_sim::human::HumanDuration;
use halab_sim::{Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

fn statuses(trace: &[String]) -> Vec<String> {
    trace
        .iter()
        .filter(|l| l.contains("job_status_changed"))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l[l.find('{').expect("json")..]).expect("json");
            v["to"].as_str().expect("to").to_string()
        })
        .collect()
}

#[test]
fn a_bounded_job_finishes_after_a_final_checkpoint_with_everything_committed_once() {
    let s = scenario("bounded-finish");
    for seed in 1..=4 {
        let (r, trace) = run_seed_with_trace(&s, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert_eq!(r.final_job_status, "FINISHED");
        assert_eq!(r.records_committed, r.records_expected, "all input, each once");
        assert_eq!(statuses(&trace).last().map(String::as_str), Some("FINISHED"));
        assert!(trace.iter().any(|l| l.contains("covers all input: finishing")));
        assert_eq!(
            (r.job_metrics.uptime, r.job_metrics.downtime),
            (-1, -1),
            "terminal, as in Flink"
        );
    }
}

#[test]
fn a_cancel_during_a_restart_drops_the_restart_and_ends_canceled() {
    let s = scenario("cancel-job");
    let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    assert_eq!(
        statuses(&trace),
        vec!["RUNNING", "RESTARTING", "CANCELING", "CANCELED"],
        "the restart scheduled for 6 s never happens"
    );
    assert_eq!(trace.iter().filter(|l| l.contains("tasks_deployed")).count(), 1);
    assert_eq!(r.duplicated + r.unexpected + r.miscounted, 0);
}

#[test]
fn a_new_leader_does_not_run_a_job_the_result_store_says_is_done() {
    let mut s = scenario("jm-crash");
    s.faults.random = None;
    let at = |ms: u64, fault: Fault| ScheduledFault {
        at: HumanDuration::from_millis(ms),
        fault,
    };
    s.faults.scripted = vec![
        at(2_000, Fault::CancelJob),
        at(3_000, Fault::Kill { node: "jm-0".into() }),
        // The run lasts until the plan's end: long enough for jm-1 to win
        // the lease after jm-0's runs out.
        at(9_000, Fault::Restart { node: "jm-0".into() }),
    ];
    s.expect.final_status = JobStatus::Canceled;
    let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    assert_eq!(r.leaderships, 2, "jm-1 took over");
    assert!(trace
        .iter()
        .any(|l| l.contains("jm-1") && l.contains("the job result store says Canceled")));
    assert!(!trace.iter().any(|l| l.contains("jm-1") && l.contains("tasks_deployed")));
}

#[test]
fn only_a_bounded_job_may_be_expected_to_finish() {
    let mut s = scenario("tm-crash");
    s.expect.final_status = JobStatus::Finished;
    let e = s.validate().expect_err("unbounded");
    assert!(e.path.contains("expect.final-status"), "{e}");
    let mut b = scenario("bounded-finish");
    b.expect.final_status = JobStatus::Running;
    assert!(b.validate().is_err(), "a bounded job does not stay RUNNING");
}
