//! The per-scenario summary table and the list of failed runs with the line
//! that reproduces each.
//!
//! Medians are nearest-rank, as in the sweep's terminal summary, so the two
//! agree on the same records.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::record::{repro_line_needing_file, RunRecord, Verdict};
use crate::stats::median_u64;

/// One scenario over all its runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioRow {
    pub scenario: String,
    pub runs: usize,
    pub passes: usize,
    pub violations: usize,
    pub liveness: usize,
    /// Runs that crashed or could not be reproduced.
    pub crashes: usize,
    /// Median of the runs' restart counts.
    pub median_restarts: Option<u64>,
    /// Median of fault → first commit over all recovered episodes (ms).
    pub median_recovery_ms: Option<u64>,
}

/// One row per scenario, sorted by name.
pub fn scenario_rows(records: &[RunRecord]) -> Vec<ScenarioRow> {
    let mut by: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        by.entry(&r.scenario).or_default().push(r);
    }
    by.into_iter()
        .map(|(scenario, runs)| {
            let count = |v: Verdict| runs.iter().filter(|r| r.verdict == v).count();
            let restarts: Vec<u64> = runs.iter().map(|r| u64::from(r.restarts)).collect();
            let recovery: Vec<u64> = runs
                .iter()
                .flat_map(|r| r.recovery.iter().filter_map(|e| e.recovery_ms()))
                .collect();
            ScenarioRow {
                scenario: scenario.to_string(),
                runs: runs.len(),
                passes: count(Verdict::Pass),
                violations: count(Verdict::Violation),
                liveness: count(Verdict::Liveness),
                crashes: count(Verdict::Crash) + count(Verdict::Nondeterminism),
                median_restarts: median_u64(&restarts),
                median_recovery_ms: median_u64(&recovery),
            }
        })
        .collect()
}

/// A run whose verdict is not `pass`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedRun {
    pub scenario: String,
    pub seed: u64,
    pub verdict: Verdict,
    pub message: Option<String>,
    /// The command that replays it.
    pub repro: String,
}

/// Every run that did not pass, by (scenario, seed). `scenario_args` maps a
/// scenario name to what loads it when that is not the name itself (the
/// path of a scenario file); the record only carries the name. A scenario
/// in `without_file` (neither built in nor in a file the caller knows)
/// gets a repro line that says its file is needed.
pub fn failed_runs(
    records: &[RunRecord],
    scenario_args: &BTreeMap<String, String>,
    without_file: &BTreeSet<String>,
) -> Vec<FailedRun> {
    let mut out: Vec<FailedRun> = records
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| {
            let repro = match scenario_args.get(&r.scenario) {
                Some(arg) => r.repro_line(arg),
                None if without_file.contains(&r.scenario) => repro_line_needing_file(&r.scenario, r.seed),
                None => r.repro_line(&r.scenario),
            };
            FailedRun {
                scenario: r.scenario.clone(),
                seed: r.seed,
                verdict: r.verdict,
                message: r.message.clone(),
                repro,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_count_verdicts_and_failures_name_their_file() {
        let mut a = RunRecord::empty("from-file", 2);
        a.verdict = Verdict::Violation;
        a.restarts = 3;
        let mut b = RunRecord::empty("from-file", 1);
        b.restarts = 1;
        let c = RunRecord::empty("steady", 1);
        let rows = scenario_rows(&[a.clone(), b, c]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].runs, rows[0].passes, rows[0].violations), (2, 1, 1));
        assert_eq!(rows[0].median_restarts, Some(1));
        let args = BTreeMap::from([("from-file".to_string(), "tests/x.toml".to_string())]);
        let failed = failed_runs(&[a.clone()], &args, &BTreeSet::new());
        assert_eq!(
            failed[0].repro,
            "cargo run --release -- repro tests/x.toml --seed 2 --trace"
        );
        let unknown = BTreeSet::from(["from-file".to_string()]);
        let failed = failed_runs(&[a], &BTreeMap::new(), &unknown);
        assert_eq!(
            failed[0].repro,
            "cargo run --release -- repro <file of scenario `from-file`> --seed 2 --trace"
        );
    }
}
