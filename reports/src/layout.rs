//! What a suite tells the report about its records: which scenarios feed
//! which plot, and which records are sweep points. The CLI fills a
//! [`SuiteLayout`] from a suite file (`halab_scenarios::suite`); this module
//! sorts records into the report's inputs by looking names up in it, never
//! by parsing them.

use std::collections::{BTreeMap, BTreeSet};

use crate::{IntervalGroup, IntervalSweep, ReportInputs, RunRecord, StateSizeLine, Verdict};

/// The checkpoint interval sweep of a suite: one base, run once per interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntervalLayout {
    pub base: String,
    /// How long the base's faults strike (ms): its random fault window, or
    /// its input duration when its faults are all scripted. With the mean
    /// number of disturbing faults per run this gives the MTBF.
    pub fault_window_ms: Option<u64>,
    /// Variant scenario name → its checkpoint interval (ms).
    pub members: BTreeMap<String, u64>,
}

/// A state-size sweep of one base.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateLayout {
    pub base: String,
    /// Variant scenario name → its state per key (bytes).
    pub members: BTreeMap<String, u64>,
}

/// The plots a suite's scenarios feed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SuiteLayout {
    /// Compared as restart policies under one storm, in order.
    pub policy_scenarios: Vec<String>,
    /// Whose alignment times are compared, in order.
    pub alignment_scenarios: Vec<String>,
    pub interval_sweep: Option<IntervalLayout>,
    pub state_sweeps: Vec<StateLayout>,
}

impl SuiteLayout {
    /// Whether `scenario` is a point of one of the sweeps (drawn in the
    /// sweep plots, not one by one).
    pub fn is_sweep_point(&self, scenario: &str) -> bool {
        self.interval_sweep
            .as_ref()
            .is_some_and(|i| i.members.contains_key(scenario))
            || self.state_sweeps.iter().any(|s| s.members.contains_key(scenario))
    }

    /// The report's inputs for `records` (the title, repro arguments and
    /// rebalancing figures are the caller's).
    pub fn inputs(&self, records: &[RunRecord]) -> ReportInputs {
        let present: BTreeSet<&str> = records.iter().map(|r| r.scenario.as_str()).collect();
        let keep = |names: &[String]| -> Vec<String> {
            names.iter().filter(|n| present.contains(n.as_str())).cloned().collect()
        };
        ReportInputs {
            runs: self.plotted_runs(records),
            policy_scenarios: keep(&self.policy_scenarios),
            alignment_scenarios: keep(&self.alignment_scenarios),
            interval_sweep: self.interval_sweep(records),
            state_size_sweep: self.state_size_sweep(records),
            ..ReportInputs::default()
        }
    }

    /// The runs drawn one by one: per scenario its first failed seed, else
    /// its first seed, leaving out sweep points. Empty when only sweep
    /// points are present (the report's default then applies).
    pub fn plotted_runs(&self, records: &[RunRecord]) -> Vec<(String, u64)> {
        let mut by: BTreeMap<&str, (Option<u64>, u64)> = BTreeMap::new();
        for r in records.iter().filter(|r| !self.is_sweep_point(&r.scenario)) {
            let e = by.entry(&r.scenario).or_insert((None, r.seed));
            e.1 = e.1.min(r.seed);
            if r.verdict != Verdict::Pass {
                e.0 = Some(e.0.map_or(r.seed, |s| s.min(r.seed)));
            }
        }
        by.into_iter()
            .map(|(s, (failed, first))| (s.to_string(), failed.unwrap_or(first)))
            .collect()
    }

    /// The checkpoint interval sweep among `records`, by interval; `None`
    /// when none of its points ran. The MTBF is the fault window over the
    /// mean number of disturbing (non-healing) faults per run; 0 when
    /// unknown.
    pub fn interval_sweep(&self, records: &[RunRecord]) -> Option<IntervalSweep> {
        let layout = self.interval_sweep.as_ref()?;
        let mut groups: BTreeMap<u64, Vec<RunRecord>> = BTreeMap::new();
        for r in records {
            if let Some(&ms) = layout.members.get(&r.scenario) {
                groups.entry(ms).or_default().push(r.clone());
            }
        }
        if groups.is_empty() {
            return None;
        }
        let runs: Vec<&RunRecord> = groups.values().flatten().collect();
        let disturbing: usize = runs
            .iter()
            .map(|r| r.fault_plan.iter().filter(|f| !f.is_heal()).count())
            .sum();
        let per_run = disturbing as f64 / runs.len() as f64;
        let mtbf_ms = match layout.fault_window_ms {
            Some(w) if per_run > 0.0 => w as f64 / per_run,
            _ => 0.0,
        };
        Some(IntervalSweep {
            groups: groups
                .into_iter()
                .map(|(interval_ms, records)| IntervalGroup { interval_ms, records })
                .collect(),
            mtbf_ms,
            checkpoint_cost_ms: None,
        })
    }

    /// The state-size sweeps among `records`: per base with points present,
    /// its records by state per key, smallest first.
    pub fn state_size_sweep(&self, records: &[RunRecord]) -> Vec<StateSizeLine> {
        let mut lines = Vec::new();
        for layout in &self.state_sweeps {
            let mut groups: BTreeMap<u64, Vec<RunRecord>> = BTreeMap::new();
            for r in records {
                if let Some(&bytes) = layout.members.get(&r.scenario) {
                    groups.entry(bytes).or_default().push(r.clone());
                }
            }
            if !groups.is_empty() {
                lines.push(StateSizeLine {
                    strategy: layout.base.clone(),
                    groups: groups.into_values().collect(),
                });
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FaultEntry;

    fn record(scenario: &str, seed: u64, verdict: Verdict, faults: usize) -> RunRecord {
        let mut r: RunRecord = serde_json::from_str(&format!(
            "{{\"scenario\":\"{scenario}\",\"seed\":{seed},\"verdict\":\"{}\"}}",
            verdict.as_str()
        ))
        .expect("a minimal record");
        r.fault_plan = (0..faults)
            .map(|i| FaultEntry::new(i as u64 * 1000, "kill", serde_json::json!("tm-0")))
            .collect();
        r
    }

    fn layout() -> SuiteLayout {
        SuiteLayout {
            policy_scenarios: vec!["p1".into(), "p2".into()],
            alignment_scenarios: vec!["a1".into()],
            interval_sweep: Some(IntervalLayout {
                base: "b".into(),
                fault_window_ms: Some(12_000),
                members: [("b-1s".to_string(), 1000), ("b-2s".to_string(), 2000)].into(),
            }),
            state_sweeps: vec![StateLayout {
                base: "s".into(),
                members: [("s-1KB".to_string(), 1000), ("s-1MB".to_string(), 1_000_000)].into(),
            }],
        }
    }

    #[test]
    fn records_are_sorted_by_the_layout_not_by_their_names() {
        let records = vec![
            record("p1", 2, Verdict::Pass, 0),
            record("p1", 1, Verdict::Violation, 0),
            record("p1", 3, Verdict::Violation, 0),
            record("b-2s", 1, Verdict::Pass, 3),
            record("b-1s", 1, Verdict::Pass, 1),
            record("s-1MB", 1, Verdict::Pass, 0),
            record("x-checkpoint-interval-1s", 1, Verdict::Pass, 0),
        ];
        let l = layout();
        let inputs = l.inputs(&records);
        assert_eq!(
            inputs.runs,
            [("p1".to_string(), 1), ("x-checkpoint-interval-1s".to_string(), 1)],
            "the first failed seed; a name that merely looks like a variant is a scenario"
        );
        assert_eq!(inputs.policy_scenarios, ["p1"], "only scenarios present");
        assert!(inputs.alignment_scenarios.is_empty());
        let sweep = inputs.interval_sweep.expect("two intervals ran");
        assert_eq!(
            sweep.groups.iter().map(|g| g.interval_ms).collect::<Vec<_>>(),
            [1000, 2000]
        );
        // 4 disturbing faults over 2 runs: 2 per run in a 12 s window.
        assert_eq!(sweep.mtbf_ms, 6000.0);
        assert_eq!(inputs.state_size_sweep.len(), 1);
        assert_eq!(inputs.state_size_sweep[0].strategy, "s");
        assert_eq!(inputs.state_size_sweep[0].groups.len(), 1);
        assert!(l.is_sweep_point("s-1KB") && !l.is_sweep_point("p1"));
    }

    #[test]
    fn absent_sweeps_and_unknown_windows_give_nothing() {
        let l = layout();
        let only = vec![record("p2", 1, Verdict::Pass, 0)];
        assert!(l.interval_sweep(&only).is_none());
        assert!(l.state_size_sweep(&only).is_empty());
        let mut unknown = layout();
        if let Some(i) = unknown.interval_sweep.as_mut() {
            i.fault_window_ms = None;
        }
        let points = vec![record("b-1s", 1, Verdict::Pass, 2)];
        assert_eq!(unknown.interval_sweep(&points).map(|s| s.mtbf_ms), Some(0.0));
        let calm = vec![record("b-1s", 1, Verdict::Pass, 0)];
        assert_eq!(l.interval_sweep(&calm).map(|s| s.mtbf_ms), Some(0.0));
    }
}
