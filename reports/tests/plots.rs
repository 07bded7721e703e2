//! The plots draw what the records say: series with one point per bucket,
//! checkpoint or episode, fault intervals that match the plan, markers at
//! the restarts, bars with the medians, and SVG/PNG files of the stated size
//! holding the title and the legend.

mod common;

use common::{check_files, fixture, out_dir, run};
use halab_reports::plots::{interval_sweep, migration, policies, rebalancing, recovery, state_size, throughput};
use halab_reports::record::{self, Bucket, CheckpointEvent, FaultEntry, RecoveryEpisode, RestartEvent};
use halab_reports::stats::median_u64;
use halab_reports::{
    plot_alignment, plot_checkpoints_over_time, plot_interval_sweep, plot_latency, plot_migration, plot_rebalancing,
    plot_recovery_breakdown, plot_recovery_cdf, plot_restart_policies, plot_throughput, IntervalGroup, IntervalSweep,
    RebalanceStats, RunRecord,
};
use serde_json::json;

fn intervals(p: &halab_reports::PlotDescription) -> Vec<(&str, u64, u64)> {
    p.intervals
        .iter()
        .map(|i| (i.kind.as_str(), i.start_ms, i.end_ms))
        .collect()
}

#[test]
fn throughput_of_a_real_run_with_several_fault_kinds() {
    let records = fixture();
    let r = run(&records, "shrink-me", 2);
    let dir = out_dir("throughput-real");
    let p = plot_throughput(r, &dir, "tp").expect("plot");
    check_files(&p);

    // One point per 100 ms bucket, as records per second.
    let read = p.series(throughput::READ).expect("read series");
    let committed = p.series(throughput::COMMITTED).expect("committed series");
    assert_eq!(read.points.len(), r.buckets.len());
    assert_eq!(committed.points.len(), r.buckets.len());
    for (b, (pr, pc)) in r.buckets.iter().zip(read.points.iter().zip(&committed.points)) {
        assert_eq!(*pr, (b.t_ms as f64 / 1000.0, b.read as f64 * 10.0));
        assert_eq!(pc.1, b.committed as f64 * 10.0);
    }

    // The plan: pause tm-2 2309..3699, slow sink-store 3126..4996, kill tm-1
    // 4397..5336, clog tm-2<->tm-0 5345..7084, pause tm-0 8446..10010.
    assert_eq!(
        intervals(&p),
        vec![
            ("pause", 2309, 3699),
            ("slow", 3126, 4996),
            ("kill", 4397, 5336),
            ("clog", 5345, 7084),
            ("pause", 8446, 10_010),
        ]
    );
    assert_eq!(p.intervals[1].fault, "slow sink-store x15");
    for kind in ["pause", "slow", "kill", "clog"] {
        assert!(p.legend.contains(&format!("fault: {kind}")), "legend has {kind}");
    }
    let restarts: Vec<f64> = r.restart_events.iter().map(|e| e.t_ms as f64).collect();
    assert_eq!(p.markers(throughput::RESTART).expect("restarts").at, restarts);
    let completed = r.checkpoints.iter().filter(|c| c.outcome == "completed").count();
    assert_eq!(
        p.markers(throughput::CHECKPOINT_COMPLETED)
            .expect("checkpoints")
            .at
            .len(),
        completed
    );
}

#[test]
fn a_storm_after_the_job_gave_up_is_shaded_to_its_end() {
    let records = fixture();
    let r = run(&records, "storm-fixed-delay", 1);
    let p = plot_throughput(r, &out_dir("throughput-storm"), "tp").expect("plot");
    check_files(&p);
    // The job gave up at 11 s; the run goes on to the end of the plan
    // (17.501 s), so the kills at 14 s and 17 s are shaded too, each healed
    // by its restart, but only the first three were restarted.
    assert_eq!(
        intervals(&p),
        vec![
            ("kill", 2000, 2500),
            ("kill", 5000, 5500),
            ("kill", 8000, 8500),
            ("kill", 11_000, 11_500),
            ("kill", 14_000, 14_500),
            ("kill", 17_000, 17_500),
        ]
    );
    assert!(p.intervals.iter().all(|i| i.healed));
    assert_eq!(r.simulated_ms, 17_501);
    assert_eq!(
        p.markers(throughput::RESTART).expect("restarts").at,
        vec![2000.0, 5000.0, 8000.0]
    );
}

#[test]
fn throughput_of_a_built_run_shades_unpaired_faults_to_the_end() {
    let mut r = RunRecord::empty("built", 9);
    r.simulated_ms = 5000;
    r.buckets = (0..50)
        .map(|i| Bucket {
            t_ms: i * 100,
            read: 20,
            committed: if i % 10 == 0 { 100 } else { 0 },
            lag: 0,
            latency_mean_ms: 0,
            latency_max_ms: 0,
        })
        .collect();
    r.fault_plan = vec![
        FaultEntry::new(500, "partition", json!([["jm-0"], ["tm-0", "tm-1"]])),
        FaultEntry::new(1000, "network", json!({"loss": 0.2, "latency": ["1ms", "30ms"]})),
        FaultEntry::new(1500, "heal", json!([["jm-0"], ["tm-0", "tm-1"]])),
        FaultEntry::new(2000, "restore-network", json!(true)),
        FaultEntry::new(3000, "cut-off", json!("checkpoint-storage")),
    ];
    r.restart_events = vec![RestartEvent {
        t_ms: 1200,
        delay_ms: 100,
        num_restarts: 1,
    }];
    r.checkpoints = vec![
        CheckpointEvent {
            id: 1,
            t_ms: 900,
            outcome: "completed".into(),
            ..Default::default()
        },
        CheckpointEvent {
            id: 2,
            t_ms: 3900,
            outcome: "aborted".into(),
            reason: Some("CHECKPOINT_EXPIRED".into()),
            ..Default::default()
        },
    ];
    let p = plot_throughput(&r, &out_dir("throughput-built"), "built").expect("plot");
    let svg = check_files(&p);
    assert_eq!(
        intervals(&p),
        vec![
            ("partition", 500, 1500),
            ("network", 1000, 2000),
            ("cut-off", 3000, 5000)
        ]
    );
    assert_eq!(p.series(throughput::READ).expect("read").points.len(), 50);
    assert_eq!(p.series(throughput::READ).expect("read").points[3].1, 200.0);
    assert_eq!(
        p.markers(throughput::CHECKPOINT_ABORTED).expect("aborted").at,
        vec![3900.0]
    );
    assert_eq!(
        p.legend,
        vec![
            "records read/s",
            "records committed/s",
            "fault: partition",
            "fault: network",
            "fault: cut-off",
            "restart",
            "checkpoint completed",
            "checkpoint aborted",
        ]
    );
    assert!(svg.contains("Throughput: built seed 9"));
    assert!(svg.contains("simulated time (s)") && svg.contains("records per second"));
}

/// Medians of a phase over the fully recovered episodes of one scenario and
/// fault kind, computed independently of the crate's grouping.
fn phase_median(records: &[RunRecord], scenario: &str, kind: &str, phase: fn(&RecoveryEpisode) -> u64) -> f64 {
    let v: Vec<u64> = records
        .iter()
        .filter(|r| r.scenario == scenario)
        .flat_map(|r| &r.recovery)
        .filter(|e| e.fault.starts_with(&format!("{kind} ")))
        .filter(|e| e.first_commit_ms.is_some() && e.restarted_ms.is_some() && e.detected_ms.is_some())
        .map(phase)
        .collect();
    median_u64(&v).expect("episodes") as f64
}

#[test]
fn recovery_breakdown_stacks_phase_medians_per_scenario_and_kind() {
    let records = fixture();
    let p = plot_recovery_breakdown(&records, &out_dir("recovery"), "breakdown").expect("plot");
    check_files(&p);
    // shrink-me seed 2 adds pause, slow and clog rows beside the kills.
    let categories: Vec<&str> = {
        let mut c: Vec<&str> = p.bars.iter().map(|b| b.category.as_str()).collect();
        c.dedup();
        c
    };
    assert!(categories.contains(&"tm-crash · kill (3/3)"));
    assert!(categories.contains(&"shrink-me · clog (0/1)"));
    assert!(categories.contains(&"storm-fixed-delay · kill (6/12)"));
    assert_eq!(p.bars.len(), categories.len() * 5);
    let bar = |cat: &str, series: &str| {
        p.bars
            .iter()
            .find(|b| b.category == cat && b.series == series)
            .and_then(|b| b.value)
    };
    let cat = "tm-crash · kill (3/3)";
    let det = phase_median(&records, "tm-crash", "kill", |e| {
        e.detected_ms.unwrap_or(0) - e.fault_ms
    });
    let delay = phase_median(&records, "tm-crash", "kill", |e| {
        e.restarted_ms.unwrap_or(0) - e.detected_ms.unwrap_or(0)
    });
    let download = phase_median(&records, "tm-crash", "kill", |e| {
        e.restored_ms.expect("restored") - e.restarted_ms.unwrap_or(0)
    });
    let catch_up = phase_median(&records, "tm-crash", "kill", |e| {
        e.caught_up_ms.expect("caught up") - e.restored_ms.expect("restored")
    });
    assert_eq!(bar(cat, recovery::DETECTION), Some(det));
    // Records written before cancellations were traced have none.
    assert_eq!(bar(cat, recovery::CANCELLATION), Some(0.0));
    assert_eq!(bar(cat, recovery::RESTART_DELAY), Some(delay));
    assert_eq!(bar(cat, recovery::DOWNLOAD), Some(download));
    assert_eq!(bar(cat, recovery::CATCH_UP), Some(catch_up));
    assert!(catch_up > 0.0, "the job had a backlog to catch up on");
    // A clog that never led to a restart has no bars.
    assert_eq!(bar("shrink-me · clog (0/1)", recovery::DETECTION), None);
}

#[test]
fn recovery_cdf_has_one_point_per_recovered_episode() {
    let records = fixture();
    let p = plot_recovery_cdf(&records, &out_dir("recovery-cdf"), "cdf").expect("plot");
    check_files(&p);
    let mut scenarios: Vec<&str> = records.iter().map(|r| r.scenario.as_str()).collect();
    scenarios.dedup();
    assert_eq!(p.series.len(), scenarios.len());
    for s in &p.series {
        let episodes: Vec<&RecoveryEpisode> = records
            .iter()
            .filter(|r| r.scenario == s.name)
            .flat_map(|r| &r.recovery)
            .collect();
        let recovered = episodes.iter().filter(|e| e.first_commit_ms.is_some()).count();
        assert_eq!(s.points.len(), recovered, "{}", s.name);
        let last = s.points.last().expect("points").1;
        assert!(
            (last - recovered as f64 / episodes.len() as f64).abs() < 1e-9,
            "{}",
            s.name
        );
        assert!(s.points.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
    }
}

#[test]
fn restart_policies_show_give_up_downtime_and_restarts() {
    let records = fixture();
    let storms: Vec<String> = [
        "storm-fixed-delay",
        "storm-crash-loop-backoff",
        "storm-exponential-delay",
    ]
    .map(String::from)
    .to_vec();
    let p = plot_restart_policies(&records, &storms, &out_dir("policies"), "policies").expect("plot");
    let svg = check_files(&p);
    assert_eq!(p.bars.len(), 9);
    let bar = |cat: &str, series: &str| {
        p.bars
            .iter()
            .find(|b| b.category == cat && b.series == series)
            .expect("bar")
            .value
    };
    // Fixed delay gives up at the fourth kill (11 s), 9 s after the first.
    assert_eq!(bar("storm-fixed-delay", policies::GIVE_UP), Some(9000.0));
    assert_eq!(bar("storm-fixed-delay", policies::RESTARTS), Some(3.0));
    // Its downtime: 3 s restarting plus the 6.501 s from giving up at 11 s
    // to the end of the run at 17.501 s.
    assert_eq!(bar("storm-fixed-delay", policies::DOWNTIME), Some(9501.0));
    // CrashLoopBackOff never gives up: no bar, "never" written instead.
    assert_eq!(bar("storm-crash-loop-backoff", policies::GIVE_UP), None);
    assert_eq!(bar("storm-crash-loop-backoff", policies::RESTARTS), Some(4.0));
    assert!(svg.contains(policies::NEVER));
    assert!(svg.contains("storm-crash-loop-backoff (gave up 0/2)"));
}

fn sweep_run(interval_ms: u64, committed: u64, recovery_ms: u64) -> RunRecord {
    let mut r = RunRecord::empty("sweep", interval_ms);
    r.records_committed = committed;
    r.simulated_ms = 20_000;
    // Commits stop at 10 s: the idle tail does not count.
    r.buckets = (0..100)
        .map(|i| Bucket {
            t_ms: i * 100,
            read: 1,
            committed: 1,
            lag: 0,
            latency_mean_ms: 0,
            latency_max_ms: 0,
        })
        .collect();
    r.checkpoints = vec![CheckpointEvent {
        outcome: "completed".into(),
        duration_ms: Some(400),
        sync_ms: Some(100),
        ..Default::default()
    }];
    r.recovery = vec![RecoveryEpisode {
        fault: "kill tm-0".into(),
        fault_ms: 1000,
        cancelled_ms: None,
        detected_ms: Some(1100),
        restarted_ms: Some(1200),
        restored_ms: Some(1250),
        caught_up_ms: Some(1300),
        first_commit_ms: Some(1000 + recovery_ms),
    }];
    r
}

#[test]
fn interval_sweep_draws_the_measured_young_and_daly_optima() {
    // Throughput 1000·(1 − C/T − T/2M) with C = 100 ms and M = 20 s over
    // 10 s of commits: maximal at √(2·C·M) = 2 s.
    let group = |interval_ms: u64, committed: u64, recovery_ms: u64| IntervalGroup {
        interval_ms,
        records: vec![sweep_run(interval_ms, committed, recovery_ms)],
    };
    let sweep = IntervalSweep {
        groups: vec![
            group(8000, 7875, 4000),
            group(500, 7875, 1000),
            group(1000, 8750, 1000),
            group(2000, 9000, 2000),
            group(4000, 8750, 3000),
        ],
        mtbf_ms: 20_000.0,
        checkpoint_cost_ms: None,
    };
    let p = plot_interval_sweep(&sweep, &out_dir("sweep"), "sweep").expect("plot");
    let svg = check_files(&p);
    let throughput = &p.series(interval_sweep::THROUGHPUT).expect("throughput").points;
    let expect = [(0.5, 787.5), (1.0, 875.0), (2.0, 900.0), (4.0, 875.0), (8.0, 787.5)];
    assert_eq!(throughput.len(), expect.len());
    for (got, want) in throughput.iter().zip(expect) {
        assert!(
            (got.0 - want.0).abs() < 1e-9 && (got.1 - want.1).abs() < 1e-9,
            "{got:?} vs {want:?}"
        );
    }
    let fitted = &p.series(interval_sweep::FITTED).expect("fit").points;
    assert_eq!((fitted[0].0, fitted[fitted.len() - 1].0), (0.5, 8.0));
    let peak = fitted.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(
        (peak - 900.0).abs() < 0.5,
        "the fitted curve peaks at the model's maximum: {peak}"
    );
    let recovery = &p.series(interval_sweep::RECOVERY).expect("recovery").points;
    assert_eq!(
        recovery,
        &vec![(0.5, 1.0), (1.0, 1.0), (2.0, 2.0), (4.0, 3.0), (8.0, 4.0)]
    );
    let at = |name: &str| p.markers(name).expect(name).at[0];
    assert!((at(interval_sweep::MEASURED) - 2000.0).abs() < 1e-6);
    // C is the synchronous phase (100 ms), not the checkpoint's duration.
    assert!((at(interval_sweep::YOUNG) - 2000.0).abs() < 1e-9);
    let daly = 2000.0 * (1.0 + 0.0025f64.sqrt() / 3.0 + 0.0025 / 9.0) - 100.0;
    assert!((at(interval_sweep::DALY) - daly).abs() < 1e-9);
    assert!(svg.contains("Young&apos;s optimum 2.00 s"), "the legend is drawn");
    assert!(
        p.legend.iter().any(|l| l.contains("C = 100 ms, M = 20.0 s")),
        "{:?}",
        p.legend
    );
    assert!(plot_interval_sweep(
        &IntervalSweep {
            groups: Vec::new(),
            mtbf_ms: 1.0,
            checkpoint_cost_ms: None
        },
        &out_dir("sweep-empty"),
        "x"
    )
    .is_err());
}

#[test]
fn checkpoint_duration_and_size_over_one_run() {
    let records = fixture();
    let r = run(&records, "backpressure-unaligned", 1);
    let p = plot_checkpoints_over_time(r, &out_dir("checkpoints"), "cp").expect("plot");
    check_files(&p);
    let completed: Vec<&CheckpointEvent> = r.checkpoints.iter().filter(|c| c.outcome == "completed").collect();
    let duration = &p.series("duration").expect("duration").points;
    let size = &p.series("size").expect("size").points;
    assert_eq!(duration.len(), completed.len());
    assert_eq!(size.len(), completed.len());
    assert_eq!(
        duration[0],
        (
            completed[0].t_ms as f64 / 1000.0,
            completed[0].duration_ms.expect("duration") as f64
        )
    );
    assert_eq!(size[0].1, completed[0].size_bytes.expect("size") as f64 / 1024.0);
    let aborted = r.checkpoints.len() - completed.len();
    assert_eq!(p.markers("aborted").expect("aborted").at.len(), aborted);
}

#[test]
fn alignment_distributions_of_aligned_and_unaligned() {
    let records = fixture();
    let scenarios = ["backpressure-aligned", "backpressure-unaligned"]
        .map(String::from)
        .to_vec();
    let p = plot_alignment(&records, &scenarios, &out_dir("alignment"), "al").expect("plot");
    check_files(&p);
    assert_eq!(p.series.len(), 2);
    for s in &p.series {
        let n = records
            .iter()
            .filter(|r| r.scenario == s.name)
            .flat_map(|r| &r.checkpoints)
            .filter(|c| c.outcome == "completed" && c.alignment_ms.is_some())
            .count();
        assert_eq!(s.points.len(), n);
    }
    // Unaligned barriers overtake the backlog: no alignment at all.
    let unaligned = p.series("backpressure-unaligned").expect("series");
    assert!(unaligned.points.iter().all(|p| p.0 == 0.0));
    let aligned = p.series("backpressure-aligned").expect("series");
    assert!(aligned.points.last().expect("points").0 > 100.0);
}

#[test]
fn rebalancing_per_partitioner() {
    let stats = vec![
        RebalanceStats {
            partitioner: "key-groups".into(),
            moved_fraction: 0.5,
            optimal_moved_fraction: 0.25,
            max_over_mean_load: 1.25,
        },
        RebalanceStats {
            partitioner: "hash-ring".into(),
            moved_fraction: 0.3,
            optimal_moved_fraction: 0.25,
            max_over_mean_load: 1.75,
        },
    ];
    let p = plot_rebalancing(&stats, &out_dir("rebalancing"), "rb").expect("plot");
    let svg = check_files(&p);
    assert_eq!(p.bars.len(), 6);
    assert!(p
        .bars
        .iter()
        .any(|b| b.category == "hash-ring" && b.series == rebalancing::IMBALANCE && b.value == Some(1.75)));
    assert!(svg.contains("key-groups") && svg.contains("hash-ring"));
    assert!(svg.contains("keys moved (%)") && svg.contains("load imbalance (max/mean)"));
}

#[test]
fn latency_over_time_has_a_point_per_committing_bucket_and_the_faults_shaded() {
    let mut r = RunRecord::empty("latency", 4);
    r.simulated_ms = 3000;
    r.buckets = (0..30)
        .map(|i| Bucket {
            t_ms: i * 100,
            read: 10,
            committed: if i % 5 == 4 { 50 } else { 0 },
            lag: 0,
            latency_mean_ms: if i % 5 == 4 { 300 + i } else { 0 },
            latency_max_ms: if i % 5 == 4 { 600 + i } else { 0 },
        })
        .collect();
    r.fault_plan = vec![
        FaultEntry::new(1000, "kill", json!("tm-1")),
        FaultEntry::new(1800, "restart", json!("tm-1")),
    ];
    let p = plot_latency(&r, &out_dir("latency-built"), "lat").expect("plot");
    let svg = check_files(&p);
    let mean: Vec<(f64, f64)> = (0..30u64)
        .filter(|i| i % 5 == 4)
        .map(|i| (i as f64 / 10.0, (300 + i) as f64))
        .collect();
    assert_eq!(p.series[0].name, halab_reports::plots::latency::MEAN);
    assert_eq!(p.series[0].points, mean, "one point per bucket that committed");
    assert_eq!(p.series[1].points.len(), 6);
    assert_eq!(p.series[1].points[0], (0.4, 604.0));
    assert_eq!(intervals(&p), vec![("kill", 1000, 1800)]);
    assert!(svg.contains("End-to-end latency: latency seed 4"), "title in the SVG");
    assert!(svg.contains("fault: kill"), "fault kind in the legend");
}

/// A run whose one episode downloads for `download_ms` and catches up
/// `catch_up_ms` later, after a checkpoint of `state_bytes`.
fn state_run(state_bytes: u64, download_ms: u64, catch_up_ms: u64) -> RunRecord {
    let mut r = RunRecord::empty("state", 1);
    r.checkpoints = vec![
        CheckpointEvent {
            outcome: "completed".into(),
            size_bytes: Some(state_bytes / 2),
            ..Default::default()
        },
        CheckpointEvent {
            outcome: "completed".into(),
            size_bytes: Some(state_bytes),
            ..Default::default()
        },
        CheckpointEvent {
            outcome: "aborted".into(),
            size_bytes: Some(10 * state_bytes),
            ..Default::default()
        },
    ];
    r.recovery = vec![RecoveryEpisode {
        fault: "cut-off sink-store".into(),
        fault_ms: 10_000,
        cancelled_ms: None,
        detected_ms: Some(10_500),
        restarted_ms: Some(12_500),
        restored_ms: Some(12_500 + download_ms),
        caught_up_ms: Some(12_500 + download_ms + catch_up_ms),
        first_commit_ms: Some(20_000),
    }];
    r
}

#[test]
fn state_size_plot_draws_recovery_and_download_per_strategy() {
    let line = |strategy: &str, runs: Vec<Vec<RunRecord>>| state_size::StateSizeLine {
        strategy: strategy.into(),
        groups: runs,
    };
    let lines = vec![
        line(
            "remote",
            vec![
                // Medians over three runs: 1 GB, 5 s download, 1 s catch-up.
                vec![
                    state_run(1_000_000_000, 5000, 1000),
                    state_run(1_000_000_000, 5200, 900),
                    state_run(900_000_000, 4000, 1100),
                ],
                vec![state_run(100_000_000, 500, 300)],
            ],
        ),
        line("local", vec![vec![state_run(100_000_000, 100, 300)], Vec::new()]),
    ];
    let p = state_size::plot_state_size(&lines, &out_dir("state-size"), "state").expect("plot");
    let svg = check_files(&p);
    let series = |name: &str| p.series(name).expect(name).points.clone();
    // Sorted by size, in MB and seconds; recovery is fault → caught up.
    assert_eq!(series("remote · recovery"), vec![(100.0, 3.3), (1000.0, 8.5)]);
    assert_eq!(series("remote · state download"), vec![(100.0, 0.5), (1000.0, 5.0)]);
    assert_eq!(series("local · recovery"), vec![(100.0, 2.9)]);
    assert_eq!(series("local · state download"), vec![(100.0, 0.1)]);
    assert!(svg.contains("local · state download"));
    let empty = vec![line("none", vec![vec![RunRecord::empty("x", 1)]])];
    assert!(state_size::plot_state_size(&empty, &out_dir("state-empty"), "x").is_err());
}

#[test]
fn migration_plot_has_one_bar_pair_per_scenario_and_rescale() {
    let rescale = |from: u32, to: u32, moved: u64, ms: u64| record::RescaleMetrics {
        from,
        to,
        state_bytes_moved: moved,
        state_bytes_total: 1_000_000_000,
        migration_ms: ms,
        ..Default::default()
    };
    let mut runs = Vec::new();
    for (seed, ms) in [(1, 900), (2, 1100), (3, 1000)] {
        let mut r = RunRecord::empty("rescale-ring", seed);
        r.rescales = vec![rescale(4, 5, 200_000_000, ms + 500), rescale(5, 6, 300_000_000, ms)];
        runs.push(r);
    }
    let mut unmetered = RunRecord::empty("rescale-plain", 1);
    unmetered.rescales = vec![record::RescaleMetrics {
        state_bytes_total: 0,
        ..rescale(4, 5, 0, 10)
    }];
    runs.push(unmetered);
    let p = plot_migration(&runs, &out_dir("migration"), "migration").expect("plot");
    let svg = check_files(&p);
    let bar = |cat: &str, series: &str| {
        p.bars
            .iter()
            .find(|b| b.category == cat && b.series == series)
            .and_then(|b| b.value)
    };
    assert_eq!(p.bars.len(), 4, "two rescales of one scenario; no state, no bars");
    assert_eq!(bar("rescale-ring 4→5 (3)", migration::MIGRATION), Some(1500.0));
    assert_eq!(bar("rescale-ring 5→6 (3)", migration::MIGRATION), Some(1000.0));
    assert_eq!(bar("rescale-ring 5→6 (3)", migration::MOVED), Some(300_000_000.0));
    assert!(svg.contains("rescale-ring 4→5 (3)"));
    assert!(plot_migration(&runs[3..], &out_dir("migration-none"), "x").is_err());
}
