//! Task cancellation as Flink does it (docs/flink-fidelity.md): a restart
//! deploys only once the cancellation of the tasks it restarts has finished
//! (`DefaultScheduler.restartTasksWithDelay`), cancel calls that go
//! unanswered are sent again, 3 in all, each waiting `pekko.ask.timeout`
//! (`Execution.sendCancelRpcCall`), and a user cancel stays CANCELING until
//! every task is CANCELED.

mod common;
use common::*;
use halab_engine::config::Sabotage;
use halab_scenarios::catalogue;
use halab_sim::harness::run_seed_with_trace;
use halab_sim::scenario::ConfigValue;
use halab_sim::{run_seed, Scenario, Verdict};
use serde_json::Value;

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

fn set(s: &mut Scenario, key: &str, value: &str) {
    s.config.insert(key.into(), ConfigValue::String(value.into()));
}

/// The first restart after the kill of tm-0: (failure, redeploy) in ms.
fn first_restart(ev: &[(u64, String, Value)]) -> (u64, u64) {
    let failed = of(ev, "task_failed")[0].0;
    let deployed = of(ev, "tasks_deployed")
        .into_iter()
        .map(|(t, _, _)| *t)
        .find(|t| *t >= failed)
        .expect("a redeploy");
    (failed, deployed)
}

/// The CANCELED events between two instants, with how each ended.
fn cancelled_between(ev: &[(u64, String, Value)], from: u64, to: u64) -> Vec<(u64, String)> {
    of(ev, "task_canceled")
        .into_iter()
        .filter(|(t, _, _)| (from..=to).contains(t))
        .map(|(t, _, v)| (*t, v["how"].as_str().expect("how").to_string()))
        .collect()
}

#[test]
fn a_restart_waits_until_the_heartbeat_timeout_ends_the_cut_off_tasks_cancellation() {
    // tm-1 is cut off at 3s, tm-0 killed at 3.1s: the restart (due at
    // 4.1s) waits until tm-1 is declared lost, 4s after it was last heard,
    // and then for a fifth slot (tm-1 registers again after the heal).
    let s = scenario("tm-partition-during-failover");
    for seed in 1..=3 {
        let (r, trace) = run_seed_with_trace(&s, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        let ev = events(&trace);
        let (failed, deployed) = first_restart(&ev);
        assert_eq!(failed, 3100, "seed {seed}: the kill is detected at once");
        let lost = of(&ev, "task_manager_lost")
            .into_iter()
            .find(|(_, _, v)| v["tm"] == 1)
            .expect("tm-1 declared lost")
            .0;
        assert!(
            (6900..=7100).contains(&lost),
            "seed {seed}: heartbeat timeout at {lost}ms"
        );
        assert!(
            deployed > lost + 400,
            "seed {seed}: restarted after the heal, at {deployed}ms"
        );
        let ends = cancelled_between(&ev, failed, deployed);
        let cut_off: Vec<_> = ends.iter().filter(|(_, how)| how == "task_manager_lost").collect();
        assert_eq!(cut_off.len(), 3, "seed {seed}: tm-1's three tasks: {ends:?}");
        assert!(cut_off.iter().all(|(t, _)| *t == lost));
        assert!(ends
            .iter()
            .all(|(t, how)| how == "task_manager_lost" || *t < failed + 100));
        let e = r.recovery.iter().find(|e| e.fault == "kill tm-0").expect("episode");
        assert_eq!(
            e.cancelled_ms,
            Some(lost),
            "seed {seed}: the breakdown's cancellation phase"
        );
        assert_eq!(e.restarted_ms, Some(deployed));
    }
}

#[test]
fn with_a_short_ask_timeout_the_third_unanswered_cancel_call_ends_the_cancellation() {
    let mut s = scenario("tm-partition-during-failover");
    set(&mut s, "heartbeat.timeout", "30s");
    set(&mut s, "pekko.ask.timeout", "1s");
    let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    let ev = events(&trace);
    let (failed, deployed) = first_restart(&ev);
    // One task of tm-1: its three cancel calls, 1s apart.
    let calls = of(&ev, "task_canceling");
    let task = calls
        .iter()
        .find(|(_, _, v)| v["try_number"] == 3)
        .map(|(_, _, v)| v["task"].clone())
        .expect("a third cancel call");
    let tries: Vec<(u64, u64)> = calls
        .iter()
        .filter(|(t, _, v)| v["task"] == task && *t >= failed)
        .map(|(t, _, v)| (*t - failed, v["try_number"].as_u64().expect("try")))
        .take(3)
        .collect();
    assert_eq!(tries, vec![(0, 1), (1000, 2), (2000, 3)]);
    let ends = cancelled_between(&ev, failed, deployed);
    assert!(
        ends.iter()
            .any(|(t, how)| *t == failed + 3000 && how == "cancel_calls_timed_out"),
        "{ends:?}"
    );
    assert_eq!(deployed, failed + 3000, "restarted when the last call timed out");
}

#[test]
fn a_restart_before_the_cancellation_finished_is_caught() {
    let mut s = scenario("tm-partition-during-failover");
    s.sabotage = Sabotage::RestartBeforeCancellation;
    let broken = run_seed(&s, 1).expect("valid");
    assert_eq!(broken.verdict, Verdict::Violation, "{:?}", broken.message);
    let message = broken.message.unwrap_or_default();
    assert!(message.contains("before the cancellation of"), "{message}");
}

#[test]
fn a_user_cancel_is_canceling_until_every_task_reported_canceled() {
    // A running job, cancelled by its user at 2s.
    let text = r#"
name = "cancel-running-job"
duration = "5s"

[cluster]
task-managers = 3
slots-per-task-manager = 2

[job]
records-per-second = 500

[config]
"execution.checkpointing.interval" = "500ms"

[[faults.scripted]]
at = "2s"
cancel-job = true

[expect]
final-status = "CANCELED"
"#;
    let s = halab_scenarios::parse_scenario(text, "cancel-running-job.toml").expect("valid");
    let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    let ev = events(&trace);
    let status = |to: &str| {
        of(&ev, "job_status_changed")
            .into_iter()
            .find(|(_, _, v)| v["to"] == to)
            .map(|(t, _, _)| *t)
            .unwrap_or_else(|| panic!("{to}"))
    };
    let (canceling, canceled) = (status("CANCELING"), status("CANCELED"));
    assert_eq!(canceling, 2000);
    let calls = of(&ev, "task_canceling").len();
    let ends = cancelled_between(&ev, canceling, canceled);
    assert_eq!(ends.len(), calls, "every task cancelled: {ends:?}");
    // A task whose upstream stopped first may fail before its own call
    // arrives: that ends its cancellation too (Flink's `processFail` on a
    // CANCELING attempt).
    let stopped = |how: &str| how == "reported" || how == "ended_on_its_own";
    assert!(ends.iter().all(|(_, how)| stopped(how)), "{ends:?}");
    assert!(ends.iter().any(|(_, how)| how == "reported"), "{ends:?}");
    let last = ends.iter().map(|(t, _)| *t).max().expect("one");
    assert_eq!(canceled, last, "CANCELED with the last report");
    assert!(canceled > canceling, "the reports take a round trip");
}

#[test]
fn a_region_restart_without_backoff_waits_for_its_own_tasks_cancellation() {
    // Region failover with no backoff: the failed pipeline's region is due
    // at once and deploys as soon as its cancelled tasks reported CANCELED
    // (a round trip later), not at the failure; the other pipeline runs on.
    let mut s = scenario("region-failover");
    set(&mut s, "restart-strategy.fixed-delay.delay", "0ms");
    // A spare slot, so the restart need not wait for tm-0 to come back.
    s.cluster.task_managers += 1;
    let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
    let ev = events(&trace);
    let (failed, deployed) = first_restart(&ev);
    let ends = cancelled_between(&ev, failed, deployed);
    assert!(!ends.is_empty(), "the region's live tasks were cancelled");
    let last = ends.iter().map(|(t, _)| *t).max().expect("one");
    assert!(last > failed, "cancelling takes a round trip");
    assert_eq!(deployed, last, "deployed as the region's cancellation ended");
    let deployed_tasks = of(&ev, "tasks_deployed")
        .into_iter()
        .find(|(t, _, _)| *t == deployed)
        .map(|(_, _, v)| v["tasks"].as_u64().expect("tasks"))
        .expect("the redeploy");
    assert!(deployed_tasks < 12, "only the failed region: {deployed_tasks} tasks");
}
