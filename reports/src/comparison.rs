//! Side-by-side comparison of strategies on identical fault schedules.
//!
//! Scenarios that ran the same seeds and, under every seed, the same fault
//! plan form a group: the same failure storm under each restart policy, the
//! same crash under each checkpoint interval, the same backpressure under
//! each barrier mode, the same kill under each failure detector. Only the
//! strategy differs between the rows of a group, so its table compares
//! strategies and nothing else. Scenarios without faults form no group, and
//! a scenario whose plans match no other scenario's stands alone (no table).
//!
//! Medians and 90th percentiles are nearest-rank, as everywhere in the
//! report.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::{plan_text, RunRecord, Verdict};
use crate::stats::{median_u64, percentile};

/// One strategy (scenario) of a group, over all its runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComparisonRow {
    pub scenario: String,
    pub runs: usize,
    pub passes: usize,
    /// Median and 90th percentile of fault → first commit over the
    /// recovered episodes (ms).
    pub median_recovery_ms: Option<u64>,
    pub p90_recovery_ms: Option<u64>,
    /// Fault episodes and how many of them recovered.
    pub episodes: usize,
    pub recovered: usize,
    pub median_restarts: Option<u64>,
    /// Runs in which the restart strategy gave up (the job ended FAILED).
    pub gave_up: usize,
    /// Median of [`RunRecord::total_downtime_ms`].
    pub median_downtime_ms: Option<u64>,
    /// Median duration of the completed checkpoints of all runs (ms).
    pub median_checkpoint_ms: Option<u64>,
    /// Median catch-up (state downloaded to the source lag back at its
    /// level before the fault) over the episodes that caught up (ms).
    pub median_catch_up_ms: Option<u64>,
    /// Median over the runs of the busiest TaskManager's busy time per
    /// second (ms/s).
    pub median_hottest_task_manager_ms_per_s: Option<u64>,
    /// TaskManager kills over all runs, and the task attempts running on
    /// the killed TaskManagers (their mean is the tasks lost per crash).
    pub crashes: usize,
    pub tasks_lost: u64,
    /// Median over the runs of the source records read again after
    /// restores.
    pub median_records_rolled_back: Option<u64>,
    /// Medians over the runs of the checkpoint protocol's control
    /// messages, the bytes its snapshots uploaded, and the snapshots
    /// piggybacked indexes forced.
    pub median_checkpoint_messages: Option<u64>,
    pub median_checkpoint_bytes: Option<u64>,
    pub median_forced_snapshots: Option<u64>,
}

impl ComparisonRow {
    /// Task attempts lost per TaskManager crash, on average.
    pub fn tasks_lost_per_crash(&self) -> Option<f64> {
        (self.crashes > 0).then(|| self.tasks_lost as f64 / self.crashes as f64)
    }
}

/// Scenarios that ran on identical fault schedules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComparisonGroup {
    /// One row per scenario, by name.
    pub rows: Vec<ComparisonRow>,
    /// The seeds every scenario of the group ran.
    pub seeds: Vec<u64>,
    /// The shared fault plan of the first seed ([`plan_text`]).
    pub example_plan: String,
}

/// The groups of `records`, ordered by their first scenario's name.
pub fn comparison_groups(records: &[RunRecord]) -> Vec<ComparisonGroup> {
    // Per scenario: seed → fault plan (as text, which is how plans compare).
    let mut plans: BTreeMap<&str, BTreeMap<u64, String>> = BTreeMap::new();
    for r in records {
        plans
            .entry(&r.scenario)
            .or_default()
            .insert(r.seed, plan_text(&r.fault_plan));
    }
    let mut by_schedule: BTreeMap<&BTreeMap<u64, String>, Vec<&str>> = BTreeMap::new();
    for (scenario, schedule) in &plans {
        if schedule.values().any(|p| !p.is_empty()) {
            by_schedule.entry(schedule).or_default().push(scenario);
        }
    }
    let mut groups: Vec<ComparisonGroup> = by_schedule
        .into_iter()
        .filter(|(_, scenarios)| scenarios.len() > 1)
        .map(|(schedule, scenarios)| ComparisonGroup {
            rows: scenarios.iter().map(|s| comparison_row(s, records)).collect(),
            seeds: schedule.keys().copied().collect(),
            example_plan: schedule.values().next().cloned().unwrap_or_default(),
        })
        .collect();
    groups.sort_by(|a, b| a.rows[0].scenario.cmp(&b.rows[0].scenario));
    groups
}

/// The row of `scenario` over its runs in `records`.
pub fn comparison_row(scenario: &str, records: &[RunRecord]) -> ComparisonRow {
    let runs: Vec<&RunRecord> = records.iter().filter(|r| r.scenario == scenario).collect();
    let episodes = runs.iter().map(|r| r.recovery.len()).sum();
    let recovery: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.recovery.iter().filter_map(|e| e.recovery_ms()))
        .map(|ms| ms as f64)
        .collect();
    let restarts: Vec<u64> = runs.iter().map(|r| u64::from(r.restarts)).collect();
    let downtime: Vec<u64> = runs.iter().map(|r| r.total_downtime_ms()).collect();
    let checkpoints: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.checkpoints.iter().filter(|c| c.completed()))
        .filter_map(|c| c.duration_ms)
        .map(|d| d.max(0) as u64)
        .collect();
    let catch_up: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.recovery.iter().filter_map(|e| e.catch_up_ms()))
        .collect();
    let hottest: Vec<u64> = runs
        .iter()
        .filter_map(|r| r.hottest_task_manager_ms_per_second())
        .collect();
    let lost: Vec<u32> = runs
        .iter()
        .flat_map(|r| r.tasks_lost_per_crash.iter().copied())
        .collect();
    let rolled_back: Vec<u64> = runs.iter().map(|r| r.records_rolled_back).collect();
    let of = |f: fn(&RunRecord) -> u64| median_u64(&runs.iter().map(|r| f(r)).collect::<Vec<u64>>());
    ComparisonRow {
        median_checkpoint_messages: of(|r| r.checkpoint_messages),
        median_checkpoint_bytes: of(|r| r.checkpoint_bytes),
        median_forced_snapshots: of(|r| r.forced_snapshots),
        median_records_rolled_back: median_u64(&rolled_back),
        median_catch_up_ms: median_u64(&catch_up),
        median_hottest_task_manager_ms_per_s: median_u64(&hottest),
        crashes: lost.len(),
        tasks_lost: lost.iter().map(|n| u64::from(*n)).sum(),
        scenario: scenario.to_string(),
        runs: runs.len(),
        passes: runs.iter().filter(|r| r.verdict == Verdict::Pass).count(),
        median_recovery_ms: percentile(&recovery, 50.0).map(|v| v as u64),
        p90_recovery_ms: percentile(&recovery, 90.0).map(|v| v as u64),
        episodes,
        recovered: recovery.len(),
        median_restarts: median_u64(&restarts),
        gave_up: runs.iter().filter(|r| r.gave_up()).count(),
        median_downtime_ms: median_u64(&downtime),
        median_checkpoint_ms: median_u64(&checkpoints),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::record::{CheckpointEvent, FaultEntry, RecoveryEpisode};

    fn run(scenario: &str, seed: u64, kill_at: Option<u64>) -> RunRecord {
        let mut r = RunRecord::empty(scenario, seed);
        if let Some(at) = kill_at {
            r.fault_plan = vec![FaultEntry::new(at, "kill", json!("tm-1"))];
            r.recovery = vec![RecoveryEpisode {
                fault: "kill tm-1".into(),
                fault_ms: at,
                detected_ms: Some(at + 100),
                restarted_ms: Some(at + 1_000),
                first_commit_ms: Some(at + seed * 1_000),
                ..Default::default()
            }];
        }
        r
    }

    #[test]
    fn a_row_gives_catch_up_the_hottest_task_manager_and_tasks_lost_per_crash() {
        let mut records = Vec::new();
        for seed in 1..=3 {
            let mut r = run("a", seed, Some(2_000));
            r.recovery[0].restored_ms = Some(3_000);
            r.recovery[0].caught_up_ms = Some(3_000 + seed * 100);
            r.task_managers = (0..3)
                .map(|i| crate::record::TaskManagerMetrics {
                    name: format!("tm-{i}"),
                    busy_time_ms_per_second: 100 * seed + i,
                    num_records_in: 0,
                })
                .collect();
            r.tasks_lost_per_crash = vec![u32::try_from(seed).expect("small")];
            r.records_rolled_back = [500, 90, 7][seed as usize - 1];
            r.checkpoint_messages = [30, 10, 20][seed as usize - 1];
            r.checkpoint_bytes = [4_000, 6_000, 5_000][seed as usize - 1];
            r.forced_snapshots = [1, 3, 2][seed as usize - 1];
            records.push(r);
        }
        let row = comparison_row("a", &records);
        assert_eq!(row.median_records_rolled_back, Some(90), "7, 90, 500");
        assert_eq!(row.median_checkpoint_messages, Some(20), "10, 20, 30");
        assert_eq!(row.median_checkpoint_bytes, Some(5_000));
        assert_eq!(row.median_forced_snapshots, Some(2));
        assert_eq!(row.median_catch_up_ms, Some(200), "100, 200, 300 ms");
        assert_eq!(row.median_hottest_task_manager_ms_per_s, Some(202), "102, 202, 302");
        assert_eq!((row.crashes, row.tasks_lost), (3, 6));
        assert_eq!(row.tasks_lost_per_crash(), Some(2.0));
        assert_eq!(comparison_row("none", &records).tasks_lost_per_crash(), None);
    }

    #[test]
    fn scenarios_with_the_same_plan_under_every_seed_form_one_group() {
        let mut records = Vec::new();
        for seed in 1..=3 {
            // Two strategies on the same schedule, one on another, one
            // without faults, and one that differs under seed 3 only.
            records.push(run("policy-a", seed, Some(1_000 * seed)));
            records.push(run("policy-b", seed, Some(1_000 * seed)));
            records.push(run("other", seed, Some(500)));
            records.push(run("steady", seed, None));
            records.push(run("almost", seed, Some(if seed == 3 { 7 } else { 1_000 * seed })));
        }
        records[1].restarts = 4;
        records[1].checkpoints = vec![CheckpointEvent {
            id: 1,
            t_ms: 10,
            outcome: "completed".into(),
            duration_ms: Some(250),
            size_bytes: None,
            alignment_ms: None,
            sync_ms: None,
            persisted_bytes: None,
            reason: None,
        }];
        let groups = comparison_groups(&records);
        assert_eq!(groups.len(), 1, "{groups:?}");
        let g = &groups[0];
        let names: Vec<&str> = g.rows.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(names, ["policy-a", "policy-b"]);
        assert_eq!(g.seeds, [1, 2, 3]);
        assert_eq!(g.example_plan, "1000ms kill tm-1");
        let a = &g.rows[0];
        assert_eq!((a.runs, a.episodes, a.recovered), (3, 3, 3));
        // Recoveries of 1, 2 and 3 s: median 2 s, 90th percentile 3 s.
        assert_eq!((a.median_recovery_ms, a.p90_recovery_ms), (Some(2_000), Some(3_000)));
        assert_eq!(a.median_checkpoint_ms, None);
        let b = &g.rows[1];
        assert_eq!(b.median_restarts, Some(0));
        assert_eq!(b.median_checkpoint_ms, Some(250));
    }

    #[test]
    fn a_job_that_gives_up_is_counted_and_its_downtime_runs_to_the_end() {
        let mut records = vec![run("a", 1, Some(1_000)), run("b", 1, Some(1_000))];
        records[1].final_job_status = "FAILED".into();
        records[1].recovery[0].restarted_ms = None;
        records[1].recovery[0].first_commit_ms = None;
        records[1].simulated_ms = 10_000;
        let g = &comparison_groups(&records)[0];
        assert_eq!((g.rows[1].gave_up, g.rows[1].recovered, g.rows[1].episodes), (1, 0, 1));
        assert_eq!(g.rows[1].median_recovery_ms, None);
        assert_eq!(g.rows[1].median_downtime_ms, Some(10_000 - 1_100));
        assert_eq!(g.rows[0].gave_up, 0);
    }
}
