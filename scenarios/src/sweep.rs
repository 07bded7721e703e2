//! Seed sweeps: many `(scenario, seed)` runs on a pool of worker threads
//! (each run still gets its own fresh thread inside `run_seed`).
//!
//! Results come back to the caller one by one, in completion order, so the
//! caller can append each to a JSON Lines file as it finishes: an interrupted
//! sweep keeps everything that finished, and [`completed_in`] tells a resumed
//! sweep what to skip.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use halab_sim::{RunRecord, Scenario, Verdict};

use crate::runner::{run_timed, run_timed_with_trace};

/// An inclusive seed range with an optional shard: `A..B`, `A..=B`, or `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    pub first: u64,
    pub last: u64,
}

impl std::str::FromStr for SeedRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a seed range; write A..B (inclusive), e.g. 1..1000");
        let (a, b) = match s.split_once("..") {
            Some((a, b)) => (a, b.strip_prefix('=').unwrap_or(b)),
            None => (s, s),
        };
        let first: u64 = a.trim().parse().map_err(|_| bad())?;
        let last: u64 = b.trim().parse().map_err(|_| bad())?;
        if first > last {
            return Err(format!("seed range `{s}` is empty (start after end)"));
        }
        Ok(SeedRange { first, last })
    }
}

/// `i/n`: this machine takes every n-th seed, starting at position i.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard; write i/n with 0 <= i < n, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl SeedRange {
    /// The seeds of this range that belong to `shard`.
    pub fn seeds(&self, shard: Option<Shard>) -> Vec<u64> {
        (self.first..=self.last)
            .enumerate()
            .filter(|(pos, _)| shard.is_none_or(|s| *pos as u64 % s.count == s.index))
            .map(|(_, seed)| seed)
            .collect()
    }
}

/// `(scenario name, seed)` pairs already present in a JSON Lines file. A
/// trailing partial line (an interrupted write) is cut off so appends stay
/// well-formed.
pub fn completed_in(path: &Path) -> std::io::Result<BTreeSet<(String, u64)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        let keep = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(keep as u64)?;
    }
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<RunRecord>(l).ok())
        .map(|r| (r.scenario, r.seed))
        .collect())
}

/// Run every `(scenario index, seed)` on `jobs` worker threads; `on_done` sees
/// each record as it finishes. With `check_determinism` every seed runs twice
/// and a hash difference turns the record into a violation.
pub fn run_sweep(
    scenarios: &[Scenario],
    work: &[(usize, u64)],
    jobs: usize,
    check_determinism: bool,
    mut on_done: impl FnMut(RunRecord),
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<RunRecord>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(si, seed)) = work.get(i) else { return };
                let record = run_checked(&scenarios[si], seed, check_determinism);
                if tx.send(record).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for record in rx {
            on_done(record);
        }
    });
}

/// One run, optionally twice to compare traces
/// ([`crate::determinism::judge_repetition`]).
pub fn run_checked(scenario: &Scenario, seed: u64, check_determinism: bool) -> RunRecord {
    if check_determinism {
        if let (Ok((mut r, trace)), Ok((again, again_trace))) = (
            run_timed_with_trace(scenario, seed),
            run_timed_with_trace(scenario, seed),
        ) {
            crate::determinism::judge_repetition(&mut r, &trace, &again, &again_trace);
            return r;
        }
    }
    match run_timed(scenario, seed) {
        Ok(r) => r,
        // Scenarios are validated before a sweep starts; a record is still
        // better than a panic.
        Err(e) => RunRecord::without_run(
            scenario,
            seed,
            Default::default(),
            Verdict::Violation,
            format!("invalid scenario: {e}"),
        ),
    }
}

/// Per-scenario totals of a sweep.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScenarioSummary {
    pub scenario: String,
    pub runs: u64,
    pub passed: u64,
    pub violations: u64,
    pub liveness: u64,
    pub crashes: u64,
    pub nondeterministic: u64,
    /// Fault → first commit after recovery, over all episodes (ms).
    pub recovery_ms: Vec<u64>,
    pub wall_ms: f64,
    pub simulated_ms: u64,
}

impl ScenarioSummary {
    pub fn add(&mut self, r: &RunRecord) {
        if self.scenario.is_empty() {
            self.scenario = r.scenario.clone();
        }
        self.runs += 1;
        match r.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Violation => self.violations += 1,
            Verdict::Liveness => self.liveness += 1,
            Verdict::Crash => self.crashes += 1,
            Verdict::Nondeterminism => self.nondeterministic += 1,
        }
        self.recovery_ms
            .extend(r.recovery.iter().filter_map(|e| e.recovery_ms()));
        self.wall_ms += r.wall_ms;
        self.simulated_ms += r.simulated_ms;
    }

    /// Nearest-rank percentile of recovery latency.
    pub fn recovery_percentile(&self, p: f64) -> Option<u64> {
        if self.recovery_ms.is_empty() {
            return None;
        }
        let mut v = self.recovery_ms.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        Some(v[rank.min(v.len()) - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_and_shards() {
        let r: SeedRange = "1..10".parse().expect("valid");
        assert_eq!(r.seeds(None).len(), 10);
        assert_eq!("5".parse::<SeedRange>(), Ok(SeedRange { first: 5, last: 5 }));
        assert_eq!("1..=3".parse::<SeedRange>().map(|r| r.seeds(None)), Ok(vec![1, 2, 3]));
        assert!("3..1".parse::<SeedRange>().is_err());
        assert!("x..1".parse::<SeedRange>().is_err());
        let shards: Vec<Vec<u64>> = (0..3).map(|i| r.seeds(Some(Shard { index: i, count: 3 }))).collect();
        assert_eq!(shards[0], vec![1, 4, 7, 10]);
        let mut all: Vec<u64> = shards.concat();
        all.sort_unstable();
        assert_eq!(all, r.seeds(None), "shards partition the range");
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = ScenarioSummary {
            recovery_ms: (1..=100).collect(),
            ..Default::default()
        };
        assert_eq!(s.recovery_percentile(50.0), Some(50));
        assert_eq!(s.recovery_percentile(99.0), Some(99));
        assert_eq!(s.recovery_percentile(100.0), Some(100));
    }

    #[test]
    fn completed_in_cuts_a_partial_last_line() {
        let dir = std::env::temp_dir().join(format!("halab-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("r.jsonl");
        std::fs::write(&p, "not json\n{\"partial\":").expect("write");
        assert!(completed_in(&p).expect("read").is_empty());
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "not json\n");
        std::fs::remove_dir_all(&dir).ok();
    }
}
