//! The resource model against theory (docs/cost-model.md): what a run
//! measures end to end in simulated time, compared with the analytic form
//! of each modelled cost.
//! - Restore: the phase from a task's deployment to its state being
//!   downloaded takes state bytes / bandwidth + latency (within 5%, over
//!   three state sizes spanning 100×).
//! - Catch-up: after a restore, the consumer lag falls back to its level
//!   before the fault after backlog / (capacity − input rate), where the
//!   capacity is cores / CPU cost per record (within 10%, three settings).
//! - Rollback: a restore makes the sources read again what they had read
//!   since the restored checkpoint's trigger: rate × (crash − trigger)
//!   records (`records_rolled_back`, within 10%, three crash times).

mod common;
use common::*;
use halab_scenarios::parse_scenario;
use halab_sim::harness::run_seed_with_trace;
use halab_sim::{RunRecord, Scenario, Verdict};

fn scenario(text: &str) -> Scenario {
    parse_scenario(text, "cost_model.rs").expect("valid scenario")
}

/// One pipeline (source → count → sink, one subtask each, all in one slot)
/// on two single-slot TaskManagers; `tm-0` is killed at `kill_at` and the
/// job restarts on `tm-1`.
fn one_pipeline(resources: &str, job: &str, kill_at: &str, duration: &str, restart_delay: &str) -> Scenario {
    scenario(&format!(
        r#"
name = "cost-model"
duration = "{duration}"

[cluster]
task-managers = 2
slots-per-task-manager = 1

[resources]
{resources}

[job]
source-partitions = 1
source-parallelism = 1
count-parallelism = 1
sink-parallelism = 1
{job}

[config]
"execution.checkpointing.interval" = "1s"
"restart-strategy.type" = "fixed-delay"
"restart-strategy.fixed-delay.delay" = "{restart_delay}"

[[faults.scripted]]
at = "{kill_at}"
kill = "tm-0"

[expect]
recovery-bound = "300s"
"#
    ))
}

#[test]
fn the_restore_phase_takes_state_bytes_over_bandwidth_plus_latency() {
    const BANDWIDTH: f64 = 100e6; // bytes/s
    const LATENCY_MS: f64 = 20.0;
    let mut phases = Vec::new();
    // 1,000 keys at 50 KB, 500 KB and 5 MB: about 50 MB to 5 GB, 100×.
    for (per_key, bytes_per_key, kill_at) in [("50KB", 50e3, "4s"), ("500KB", 500e3, "12s"), ("5MB", 5e6, "70s")] {
        let s = one_pipeline(
            "checkpoint-storage-bandwidth = \"100MB/s\"\ncheckpoint-storage-latency = \"20ms\"",
            &format!("records-per-second = 20000\nkeys = 1000\nstate-bytes-per-key = \"{per_key}\""),
            kill_at,
            "75s",
            "1s",
        );
        let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{per_key}: {:?}", r.message);
        let ev = events(&trace);
        let count = "v1[0]#2";
        let deployed = ev
            .iter()
            .find(|(_, _, v)| v["event"] == "deployment_accepted" && v["task"] == count)
            .expect("the count is redeployed")
            .0;
        let keys = ev
            .iter()
            .find(|(_, _, v)| v["event"] == "keyed_state_restored" && v["task"] == count)
            .and_then(|(_, _, v)| v["keys"].as_u64())
            .expect("the count restores keyed state");
        let (restored, bytes) = ev
            .iter()
            .find(|(_, _, v)| v["event"] == "state_restored" && v["task"] == count)
            .map(|(t, _, v)| (*t, v["bytes"].as_u64().expect("bytes")))
            .expect("the restore phase ends");
        assert_eq!(
            bytes as f64,
            keys as f64 * bytes_per_key,
            "state bytes are keys × bytes per key"
        );
        let measured = (restored - deployed) as f64;
        let theory = bytes as f64 / BANDWIDTH * 1000.0 + LATENCY_MS;
        let error = (measured - theory).abs() / theory;
        assert!(
            error <= 0.05,
            "{per_key}: restore took {measured}ms, theory {theory:.0}ms ({:.1}% off)",
            error * 100.0
        );
        phases.push((bytes, measured));
        let episode = &r.recovery[0];
        assert!(
            episode.restarted_ms <= Some(deployed) && episode.restored_ms >= Some(restored),
            "the record's phases bracket the restore: {episode:?}"
        );
    }
    let (small, large) = (phases[0], phases[2]);
    assert!(large.0 >= 90 * small.0, "the sizes span about 100×: {phases:?}");
}

/// The consumer lag (records) at the end of the first bucket at or after
/// `t_ms`, with that end.
fn lag_after(r: &RunRecord, t_ms: u64) -> (u64, u64) {
    r.buckets
        .iter()
        .map(|b| (b.t_ms + 100, b.lag))
        .find(|(end, _)| *end >= t_ms)
        .expect("a bucket after the restore")
}

#[test]
fn catch_up_takes_backlog_over_spare_capacity() {
    const INPUT_RATE: f64 = 5000.0; // records/s
                                    // One core; only the count costs CPU: capacity = 1 s / cost.
    for (cost, cost_s) in [("100us", 100e-6), ("125us", 125e-6), ("150us", 150e-6)] {
        let s = one_pipeline(
            "task-manager-cores = 1",
            &format!(
                "records-per-second = 5000\nkeys = 100\nsource-cost-per-record = \"0ns\"\nsink-cost-per-record = \"0ns\"\ncount-cost-per-record = \"{cost}\""
            ),
            "5s",
            "30s",
            "3s",
        );
        let (r, _) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{cost}: {:?}", r.message);
        let e = &r.recovery[0];
        let level = r
            .buckets
            .iter()
            .filter(|b| b.t_ms + 100 <= e.fault_ms && b.t_ms + 100 + 1000 > e.fault_ms)
            .map(|b| b.lag)
            .max()
            .expect("buckets before the fault");
        let (from_ms, backlog) = lag_after(&r, e.restored_ms.expect("restored"));
        let caught_up = e.caught_up_ms.expect("caught up");
        let capacity = 1.0 / cost_s;
        let theory_ms = (backlog - level) as f64 / (capacity - INPUT_RATE) * 1000.0;
        let measured_ms = (caught_up - from_ms) as f64;
        let error = (measured_ms - theory_ms).abs() / theory_ms;
        assert!(
            theory_ms > 2000.0,
            "{cost}: a catch-up of several seconds, so 100 ms buckets resolve it ({theory_ms:.0}ms)"
        );
        assert!(
            error <= 0.10,
            "{cost}: caught up in {measured_ms}ms, theory {theory_ms:.0}ms (backlog {backlog}, level {level}, {:.1}% off)",
            error * 100.0
        );
    }
}

#[test]
fn throughput_is_bounded_by_cpu_and_by_the_network() {
    // Saturated input (20,000 records/s offered) through one pipeline on
    // one TaskManager. The bound is the smaller of the CPU capacity
    // (cores / cost per record) and the NIC's (bandwidth / bytes sent per
    // record: the source's and the count's output, 2 × record-bytes).
    for (resources, job, bound) in [
        (
            "task-manager-cores = 1",
            "source-cost-per-record = \"0ns\"\nsink-cost-per-record = \"0ns\"\ncount-cost-per-record = \"100us\"",
            10_000.0,
        ),
        (
            "task-manager-cores = 2",
            "cost-per-record = \"100us\"",
            // source, count and sink at 100 us each on 2 cores: 2 / 300 us.
            2.0 / 300e-6,
        ),
        (
            "network-bandwidth = \"8Mbit/s\"",
            "cost-per-record = \"0ns\"\nrecord-bytes = 100",
            // 1 MB/s over 200 bytes per record.
            5_000.0,
        ),
    ] {
        let s = one_pipeline(
            resources,
            &format!("records-per-second = 20000\nkeys = 100\n{job}"),
            "14s",
            "12s",
            "1s",
        );
        let (r, _) = run_seed_with_trace(&s, 1).expect("valid");
        let window: Vec<_> = r.buckets.iter().filter(|b| (2000..12000).contains(&b.t_ms)).collect();
        let rate = window.iter().map(|b| b.read).sum::<u64>() as f64 / (window.len() as f64 / 10.0);
        let error = (rate - bound).abs() / bound;
        assert!(
            error <= 0.05,
            "{resources} / {job}: {rate:.0} records/s, bound {bound:.0} ({:.1}% off)",
            error * 100.0
        );
    }
}

#[test]
fn end_to_end_latency_follows_the_checkpoint_interval() {
    // With a two-phase-commit sink a record is committed by the first
    // checkpoint whose barrier passes it: it waits for the next barrier
    // (half an interval at the median) and then for the checkpoint to
    // complete and its transactions to commit (the commit path D, measured
    // here as trigger to commit). So p50 ≈ interval / 2 + D.
    for interval_ms in [500u64, 1000, 2000] {
        let s = scenario(&format!(
            r#"
name = "latency"
duration = "20s"
[job]
source-partitions = 2
source-parallelism = 2
count-parallelism = 2
sink-parallelism = 2
records-per-second = 1000
keys = 100
[config]
"execution.checkpointing.interval" = "{interval_ms}ms"
"#
        ));
        let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.message);
        let ev = events(&trace);
        let mut paths: Vec<u64> = ev
            .iter()
            .filter(|(_, _, v)| v["event"] == "checkpoint_triggered")
            .filter_map(|(t, _, v)| {
                let suffix = format!("-{}", v["id"]);
                ev.iter()
                    .find(|(_, _, c)| {
                        c["event"] == "txn_committed" && c["txn"].as_str().is_some_and(|n| n.ends_with(&suffix))
                    })
                    .map(|(c, _, _)| c - t)
            })
            .collect();
        paths.sort_unstable();
        let commit_path = paths[paths.len() / 2];
        let theory = interval_ms as f64 / 2.0 + commit_path as f64;
        let p50 = r.latency.p50_ms as f64;
        let error = (p50 - theory).abs() / theory;
        assert!(
            error <= 0.10,
            "interval {interval_ms}ms: p50 {p50}ms, theory {theory}ms (commit path {commit_path}ms, {:.1}% off)",
            error * 100.0
        );
        assert!(r.latency.p99_ms >= r.latency.p50_ms && r.latency.max_ms >= r.latency.p99_ms);
        assert_eq!(r.latency.records, r.records_committed);
        for b in &r.buckets {
            if b.committed == 0 {
                assert_eq!((b.latency_mean_ms, b.latency_max_ms), (0, 0), "{b:?}");
            } else {
                assert!(b.latency_mean_ms > 0 && b.latency_max_ms >= b.latency_mean_ms, "{b:?}");
                assert!(b.latency_max_ms <= r.latency.max_ms, "{b:?}");
            }
        }
        let worst = r.buckets.iter().map(|b| b.latency_max_ms).max();
        assert_eq!(worst, Some(r.latency.max_ms), "the series holds the run's maximum");
        assert!(
            r.latency.p99_ms as f64 <= interval_ms as f64 + 2.0 * commit_path as f64 + 100.0,
            "no record waits much longer than one interval and a commit path: {:?}",
            r.latency
        );
    }
}

#[test]
fn incremental_checkpoints_upload_the_changed_keys_and_restore_everything() {
    // One count subtask with 100,000 keys at 1 KB each, 2,000 records/s,
    // checkpoints every second: between two barriers about n = 2,000
    // records touch K·(1 − e^(−n/K)) distinct keys (the changed fraction).
    let run = |incremental: bool| {
        let s = scenario(&format!(
            r#"
name = "incremental"
duration = "20s"
[cluster]
task-managers = 2
slots-per-task-manager = 1
[resources]
checkpoint-storage-bandwidth = "100MB/s"
[job]
source-partitions = 1
source-parallelism = 1
count-parallelism = 1
sink-parallelism = 1
records-per-second = 2000
keys = 100000
state-bytes-per-key = "1KB"
[config]
"execution.checkpointing.interval" = "1s"
"state.backend.type" = "rocksdb"
"execution.checkpointing.incremental" = {incremental}
"restart-strategy.type" = "fixed-delay"
"restart-strategy.fixed-delay.delay" = "1s"
[[faults.scripted]]
at = "15s"
kill = "tm-0"
[expect]
recovery-bound = "60s"
"#
        ));
        let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "incremental {incremental}: {:?}", r.message);
        (r, events(&trace))
    };
    let (full, full_ev) = run(false);
    let (inc, inc_ev) = run(true);
    let completed = |r: &RunRecord| -> Vec<(u64, u64)> {
        r.checkpoints
            .iter()
            .filter(|c| c.outcome == "completed" && (5000..14000).contains(&c.t_ms))
            .map(|c| (c.size_bytes.expect("size"), c.uploaded_bytes.expect("uploaded")))
            .collect()
    };
    for (size, uploaded) in completed(&full) {
        assert_eq!(size, uploaded, "a full checkpoint uploads everything");
    }
    let (keys, rate, per_key) = (100_000.0f64, 2000.0f64, 1000.0f64);
    let expected_changed = keys * (1.0 - (-rate / keys).exp()) * per_key;
    let inc_checkpoints = completed(&inc);
    assert!(inc_checkpoints.len() >= 5);
    for (size, uploaded) in &inc_checkpoints {
        assert!(uploaded < size, "incremental uploads less: {uploaded} of {size}");
        let error = (*uploaded as f64 - expected_changed).abs() / expected_changed;
        assert!(
            error <= 0.15,
            "uploaded {uploaded} bytes, the changed keys are {expected_changed:.0} ({:.1}% off)",
            error * 100.0
        );
    }
    let last = |r: &RunRecord| r.checkpoint_metrics.last().cloned().expect("metrics");
    let m = last(&inc);
    assert!(
        m.last_checkpoint_size < m.last_checkpoint_full_size,
        "Flink's checkpointed size against its full size: {m:?}"
    );
    let f = last(&full);
    assert_eq!(f.last_checkpoint_size, f.last_checkpoint_full_size);
    // The restore downloads the whole state either way.
    let restored = |ev: &[(u64, String, serde_json::Value)]| {
        ev.iter()
            .find(|(_, _, v)| v["event"] == "state_restored" && v["task"] == "v1[0]#2")
            .map(|(_, _, v)| {
                (
                    v["bytes"].as_u64().expect("bytes"),
                    v["download_ms"].as_u64().expect("ms"),
                )
            })
            .expect("the count restores")
    };
    let (full_bytes, full_ms) = restored(&full_ev);
    let (inc_bytes, inc_ms) = restored(&inc_ev);
    assert!(inc_bytes > 0 && full_bytes > 0);
    let ratio = inc_ms as f64 / full_ms as f64;
    let bytes_ratio = inc_bytes as f64 / full_bytes as f64;
    assert!(
        (ratio - bytes_ratio).abs() <= 0.05,
        "restore time follows the (full) bytes either way: {inc_ms} ms for {inc_bytes} against {full_ms} ms for {full_bytes}"
    );
}

#[test]
fn local_recovery_saves_the_download_on_a_task_failure_but_not_on_a_lost_taskmanager() {
    // 10,000 keys at 10 KB: 100 MB of count state. Remote: 100 MB/s plus
    // 20 ms; local disk: 1 GB/s.
    let run = |local: bool, fault: &str, task_managers: u32| {
        let s = scenario(&format!(
            r#"
name = "local-recovery"
duration = "20s"
[cluster]
task-managers = {task_managers}
slots-per-task-manager = 1
[resources]
checkpoint-storage-bandwidth = "100MB/s"
checkpoint-storage-latency = "20ms"
local-disk-bandwidth = "1GB/s"
[job]
source-partitions = 1
source-parallelism = 1
count-parallelism = 1
sink-parallelism = 1
records-per-second = 20000
keys = 10000
state-bytes-per-key = "10KB"
[config]
"execution.checkpointing.interval" = "2s"
"state.backend.local-recovery" = {local}
"halab.rpc.timeout" = "1s"
"restart-strategy.type" = "fixed-delay"
"restart-strategy.fixed-delay.delay" = "1s"
"restart-strategy.fixed-delay.attempts" = 10
{fault}
[expect]
recovery-bound = "60s"
"#
        ));
        let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "local {local}: {:?}", r.message);
        events(&trace)
            .into_iter()
            .find(|(_, _, v)| {
                v["event"] == "state_restored" && v["task"].as_str().is_some_and(|t| t.starts_with("v1[0]#"))
            })
            .map(|(_, _, v)| {
                (
                    v["bytes"].as_u64().expect("bytes"),
                    v["download_ms"].as_u64().expect("ms"),
                    v["local"].as_bool().expect("local"),
                )
            })
            .expect("the count restored")
    };
    // A task failure (the sink loses the sink store) restarts the tasks on
    // the same TaskManager process, which holds local copies.
    let sink_outage = "[[faults.scripted]]\nat = \"9s\"\ncut-off = \"sink-store\"\n[[faults.scripted]]\nat = \"11s\"\nrestore = \"sink-store\"";
    let (bytes, remote_ms, remote_from_local) = run(false, sink_outage, 1);
    let (local_bytes, local_ms, from_local) = run(true, sink_outage, 1);
    assert!(!remote_from_local && from_local);
    assert_eq!(bytes, local_bytes, "the same checkpoint is restored");
    let theory_saving = bytes as f64 / 100e6 * 1000.0 + 20.0 - bytes as f64 / 1e9 * 1000.0;
    let saving = remote_ms as f64 - local_ms as f64;
    assert!(
        (saving - theory_saving).abs() <= 0.05 * theory_saving,
        "local recovery saved {saving} ms of {remote_ms} ms; theory {theory_saving:.0} ms ({bytes} bytes)"
    );
    // A lost TaskManager takes its copies along: the new one downloads.
    let kill = "[[faults.scripted]]\nat = \"9s\"\nkill = \"tm-0\"";
    let (lost_bytes, lost_remote_ms, _) = run(false, kill, 2);
    let (lost_local_bytes, lost_local_ms, lost_from_local) = run(true, kill, 2);
    assert!(!lost_from_local, "no copy on the other TaskManager");
    assert_eq!(lost_bytes, lost_local_bytes);
    assert_eq!(
        lost_remote_ms, lost_local_ms,
        "a TaskManager loss takes as long as before"
    );
}

#[test]
fn an_aggregate_cap_makes_taskmanagers_share_checkpoint_storage() {
    // Two count subtasks on two TaskManagers restore at once after tm-0 is
    // lost (to tm-1 and the spare tm-2). Each holds about 50 MB; at
    // 100 MB/s per TaskManager each download takes 0.5 s. Capped at
    // 100 MB/s in total, the two share it: the last ends after 1 s.
    let run = |cap: &str| {
        let s = scenario(&format!(
            r#"
name = "aggregate"
duration = "12s"
[cluster]
task-managers = 3
slots-per-task-manager = 1
[resources]
checkpoint-storage-bandwidth = "100MB/s"
checkpoint-storage-latency = "0ms"
{cap}
[job]
source-partitions = 2
source-parallelism = 1
count-parallelism = 2
sink-parallelism = 1
records-per-second = 10000
keys = 1000
state-bytes-per-key = "100KB"
[config]
"execution.checkpointing.interval" = "2s"
"restart-strategy.type" = "fixed-delay"
"restart-strategy.fixed-delay.delay" = "1s"
[[faults.scripted]]
at = "8s"
kill = "tm-0"
[expect]
recovery-bound = "60s"
"#
        ));
        let (r, trace) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{cap}: {:?}", r.message);
        let ev = events(&trace);
        let downloads: Vec<(u64, u64)> = ev
            .iter()
            .filter(|(_, _, v)| {
                v["event"] == "state_restored" && v["task"].as_str().is_some_and(|t| t.starts_with("v1["))
            })
            .map(|(_, _, v)| {
                (
                    v["bytes"].as_u64().expect("bytes"),
                    v["download_ms"].as_u64().expect("ms"),
                )
            })
            .collect();
        assert_eq!(downloads.len(), 2, "{cap}: both count subtasks restore: {downloads:?}");
        downloads
    };
    let free = run("");
    for (bytes, ms) in &free {
        let theory = *bytes as f64 / 100e6 * 1000.0;
        assert!(
            (*ms as f64 - theory).abs() <= 0.05 * theory,
            "uncapped: {ms} ms for {bytes} bytes"
        );
    }
    let capped = run("checkpoint-storage-aggregate-bandwidth = \"100MB/s\"");
    let total: u64 = capped.iter().map(|(b, _)| b).sum();
    let last = capped.iter().map(|(_, ms)| *ms).max().expect("two");
    let theory = total as f64 / 100e6 * 1000.0;
    assert!(
        (last as f64 - theory).abs() <= 0.05 * theory,
        "capped: the last download ended after {last} ms; together {total} bytes over 100 MB/s is {theory:.0} ms"
    );
}

#[test]
fn local_recovery_redeploys_each_task_where_its_copy_is() {
    // Flink schedules by previous allocation when tasks recover from local
    // state. In `restore-local` the first deployment may take both slots of
    // the TaskManager that registered first; the spread order of a restart
    // would then move a count subtask to the other one, away from its copy.
    let s = halab_scenarios::catalogue::load("restore-local")
        .expect("built-in")
        .expect("valid");
    let mut packed = 0;
    for seed in 1..=8 {
        let (r, trace) = run_seed_with_trace(&s, seed).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        let ev = events(&trace);
        let node_of = |task: &str| {
            ev.iter()
                .find(|(_, _, v)| v["event"] == "deployment_accepted" && v["task"] == task)
                .map(|(_, n, _)| n.clone())
        };
        let (Some(first0), Some(first1)) = (node_of("v1[0]#1"), node_of("v1[1]#1")) else {
            panic!("seed {seed}: the counts were deployed");
        };
        packed += usize::from(first0 == first1);
        for sub in 0..2 {
            let Some(again) = node_of(&format!("v1[{sub}]#2")) else {
                continue;
            };
            assert_eq!(
                Some(again),
                node_of(&format!("v1[{sub}]#1")),
                "seed {seed}: v1[{sub}] goes back to its TaskManager"
            );
            let restored = ev
                .iter()
                .find(|(_, _, v)| v["event"] == "state_restored" && v["task"] == format!("v1[{sub}]#2"))
                .expect("restored");
            assert_eq!(restored.2["local"], true, "seed {seed}: v1[{sub}] reads its local copy");
        }
    }
    assert!(packed > 0, "some seed packs both counts on one TaskManager");
}

#[test]
fn records_rolled_back_are_the_input_read_after_the_restored_checkpoint() {
    // 2,000 records/s into one partition; tm-0 dies at 4.5 s and the job
    // restores the last checkpoint completed before it: the sources read
    // again what they had read since that checkpoint's trigger.
    for kill_at in [4_300, 4_500, 4_800] {
        let s = one_pipeline(
            "",
            "records-per-second = 2000\nkeys = 100",
            &format!("{kill_at}ms"),
            "8s",
            "1s",
        );
        let (r, _) = run_seed_with_trace(&s, 1).expect("valid");
        assert_eq!(r.verdict, Verdict::Pass, "{kill_at}: {:?}", r.message);
        let restored = r
            .checkpoints
            .iter()
            .rfind(|c| c.outcome == "completed" && c.t_ms < kill_at)
            .expect("a checkpoint before the kill");
        let trigger_ms = restored.t_ms - restored.duration_ms.expect("completed") as u64;
        let theory = 2.0 * (kill_at - trigger_ms) as f64;
        let measured = r.records_rolled_back as f64;
        // The sources trail the log by their fetch lag at either end.
        assert!(
            (measured - theory).abs() <= 0.1 * theory,
            "{kill_at}: rolled back {measured}, theory {theory} (checkpoint triggered at {trigger_ms}ms)"
        );
    }
    let mut calm = one_pipeline("", "records-per-second = 2000\nkeys = 100", "4500ms", "8s", "1s");
    calm.faults.scripted.clear();
    let (r, _) = run_seed_with_trace(&calm, 1).expect("valid");
    assert_eq!(r.records_rolled_back, 0, "nothing is read twice without a restore");
}
