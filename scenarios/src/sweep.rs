//! Seed sweeps: many `(scenario, seed)` runs on a pool of worker threads
//! (each run still gets its own fresh thread inside `run_seed`).
//!
//! Results come back to the caller one by one, in completion order, so the
//! caller can append each to a JSON Lines file as it finishes: an interrupted
//! sweep keeps everything that finished, and [`Finished`] tells a resumed
//! sweep what to skip: runs are matched on (scenario fingerprint, seed), and
//! a file whose records of a scenario's name came from another scenario or
//! another halab version is refused. Seed ranges are produced lazily, so
//! a sweep of 2^64 seeds starts at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};

use halab_sim::record::HALAB_VERSION;
use halab_sim::scenario::ScenarioError;
use halab_sim::{RunRecord, Scenario, Verdict};
use serde::Deserialize;

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
    /// The seeds of this range that belong to `shard`, in order, produced
    /// one at a time (a range may hold 2^64 seeds).
    pub fn seeds(&self, shard: Option<Shard>) -> impl Iterator<Item = u64> + Clone + Send + 'static {
        let (index, count) = shard.map_or((0, 1), |s| (s.index, s.count));
        let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        (self.first..=self.last).skip(to_usize(index)).step_by(to_usize(count))
    }

    /// How many seeds [`SeedRange::seeds`] gives (up to 2^64).
    pub fn count(&self, shard: Option<Shard>) -> u128 {
        let (index, count) = shard.map_or((0, 1), |s| (s.index, s.count));
        let total = u128::from(self.last - self.first) + 1;
        match total.checked_sub(u128::from(index)) {
            Some(rest) if rest > 0 => (rest - 1) / u128::from(count) + 1,
            _ => 0,
        }
    }

    /// Whether [`SeedRange::seeds`] gives `seed`.
    pub fn contains(&self, seed: u64, shard: Option<Shard>) -> bool {
        let (index, count) = shard.map_or((0, 1), |s| (s.index, s.count));
        (self.first..=self.last).contains(&seed) && (seed - self.first) % count == index
    }
}

/// Every `(scenario index, seed)` of `scenarios` scenarios under `seeds`,
/// seed by seed (every scenario of a seed before the next seed), lazily.
pub fn pairs(scenarios: usize, seeds: impl Iterator<Item = u64>) -> impl Iterator<Item = (usize, u64)> {
    seeds.flat_map(move |seed| (0..scenarios).map(move |i| (i, seed)))
}

/// Who wrote a record: its scenario, the scenario's fingerprint and the
/// halab version (empty in records written before they existed).
#[derive(Debug, Deserialize)]
struct Origin {
    scenario: String,
    #[serde(default)]
    scenario_fingerprint: String,
    #[serde(default)]
    halab_version: String,
    seed: u64,
}

/// The runs already in a results file: what a resumed sweep skips, and
/// which scenario and binary wrote them. A run is its (scenario
/// fingerprint, seed), not its scenario's name.
#[derive(Debug, Default)]
pub struct Finished {
    /// Per scenario fingerprint: the seeds of its records.
    runs: BTreeMap<String, BTreeSet<u64>>,
    /// Per scenario name: the `(fingerprint, halab version)` of its records.
    origins: BTreeMap<String, BTreeSet<(String, String)>>,
}

impl Finished {
    /// The records of a JSON Lines file. A trailing partial line (an
    /// interrupted write) is cut off so appends stay well-formed; any other
    /// line that is not a run record is an error naming it.
    pub fn read(path: &Path) -> Result<Finished, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Finished::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let whole = cut_partial_line(path, &text).map_err(|e| format!("cannot cut {}: {e}", path.display()))?;
        let mut finished = Finished::default();
        for (i, line) in whole.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let o: Origin = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: not a run record: {e}", path.display(), i + 1))?;
            finished.add(&o.scenario, &o.scenario_fingerprint, &o.halab_version, o.seed);
        }
        Ok(finished)
    }

    /// Count a record of `scenario` (its fingerprint and halab version)
    /// under `seed`.
    pub fn add(&mut self, scenario: &str, fingerprint: &str, version: &str, seed: u64) {
        self.runs.entry(fingerprint.to_string()).or_default().insert(seed);
        self.origins
            .entry(scenario.to_string())
            .or_default()
            .insert((fingerprint.to_string(), version.to_string()));
    }

    /// Whether the run of the scenario with `fingerprint` under `seed` is
    /// finished.
    pub fn contains(&self, fingerprint: &str, seed: u64) -> bool {
        self.runs.get(fingerprint).is_some_and(|seeds| seeds.contains(&seed))
    }

    /// The finished seeds of the scenario with `fingerprint`.
    pub fn seeds_of(&self, fingerprint: &str) -> impl Iterator<Item = u64> + '_ {
        self.runs.get(fingerprint).into_iter().flatten().copied()
    }

    /// Refuse to resume `scenarios` from `file` unless every record there
    /// of each one's name came from that very scenario (its fingerprint)
    /// and this binary (its version). The error names the scenario and
    /// both fingerprints or versions; the caller adds the remedy.
    pub fn check(&self, file: &Path, scenarios: &[Scenario]) -> Result<(), String> {
        for s in scenarios {
            let ours = s.fingerprint();
            for (fingerprint, version) in self.origins.get(&s.name).into_iter().flatten() {
                if fingerprint.is_empty() {
                    return Err(format!(
                        "{} holds records of `{}` written before records carried a scenario fingerprint \
                         (an older halab), which cannot be matched to a scenario",
                        file.display(),
                        s.name
                    ));
                }
                if *fingerprint != ours {
                    return Err(format!(
                        "{} holds records of another scenario named `{}` (fingerprint {fingerprint}; \
                         this one's is {ours})",
                        file.display(),
                        s.name
                    ));
                }
                if version != HALAB_VERSION {
                    return Err(format!(
                        "{} holds records of `{}` run by halab {version}; this is halab {HALAB_VERSION}, \
                         and runs of different binaries do not mix",
                        file.display(),
                        s.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Cut a trailing partial line of `text`, the contents of `path`, off the
/// file; the whole lines.
fn cut_partial_line<'a>(path: &Path, text: &'a str) -> std::io::Result<&'a str> {
    if text.is_empty() || text.ends_with('\n') {
        return Ok(text);
    }
    let keep = text.rfind('\n').map_or(0, |i| i + 1);
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(keep as u64)?;
    Ok(&text[..keep])
}

/// Run every `(scenario index, seed)` of `work` on `jobs` worker threads,
/// taking the next pair as a worker frees up (so `work` may be endless);
/// `on_done` sees each record as it finishes. With `check_determinism` every
/// seed runs twice and a hash difference turns the record into a violation.
///
/// A run that cannot reach a verdict (its scenario is invalid, or it
/// outgrew `expect.max-trace-events`) stops the sweep: no new run starts,
/// the runs under way finish and reach `on_done`, and the first such error
/// is returned.
pub fn run_sweep(
    scenarios: &[Scenario],
    work: impl Iterator<Item = (usize, u64)> + Send,
    jobs: usize,
    check_determinism: bool,
    mut on_done: impl FnMut(RunRecord),
) -> Result<(), ScenarioError> {
    let next = Mutex::new(work);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Result<RunRecord, ScenarioError>>();
    let mut first_error = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let (tx, next, stop) = (tx.clone(), &next, &stop);
            scope.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let item = next.lock().unwrap_or_else(PoisonError::into_inner).next();
                let Some((si, seed)) = item else { return };
                if tx.send(run_checked(&scenarios[si], seed, check_determinism)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for result in rx {
            match result {
                Ok(record) => on_done(record),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    first_error.map_or(Ok(()), Err)
}

/// One run, optionally twice to compare traces
/// ([`crate::determinism::judge_repetition`]); an error when it cannot
/// reach a verdict.
pub fn run_checked(scenario: &Scenario, seed: u64, check_determinism: bool) -> Result<RunRecord, ScenarioError> {
    if check_determinism {
        let (mut r, trace) = run_timed_with_trace(scenario, seed)?;
        let (again, again_trace) = run_timed_with_trace(scenario, seed)?;
        crate::determinism::judge_repetition(&mut r, &trace, &again, &again_trace);
        return Ok(r);
    }
    run_timed(scenario, seed)
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

    fn seeds(r: SeedRange, shard: Option<Shard>) -> Vec<u64> {
        r.seeds(shard).collect()
    }

    #[test]
    fn a_run_that_reaches_no_verdict_stops_the_sweep() {
        let good = crate::catalogue::load("steady").expect("built-in").expect("valid");
        let mut bad = good.clone();
        bad.name = "bad".into();
        bad.job.keys = 0;
        // One worker: the invalid scenario's run first, then 50 good ones.
        let work = std::iter::once((1, 1)).chain((1..=50).map(|seed| (0, seed)));
        let mut done = Vec::new();
        let e = run_sweep(&[good, bad], work, 1, false, |r| done.push(r.seed)).expect_err("stopped");
        assert_eq!(e.path, "job.keys", "{e}");
        // The worker may take a run or two before it sees the stop.
        assert!(done.len() <= 5, "the sweep went on after the error: {done:?}");
    }

    #[test]
    fn seed_ranges_and_shards() {
        let r: SeedRange = "1..10".parse().expect("valid");
        assert_eq!(seeds(r, None).len(), 10);
        assert_eq!(r.count(None), 10);
        assert_eq!("5".parse::<SeedRange>(), Ok(SeedRange { first: 5, last: 5 }));
        assert_eq!("1..=3".parse::<SeedRange>().map(|r| seeds(r, None)), Ok(vec![1, 2, 3]));
        assert!("3..1".parse::<SeedRange>().is_err());
        assert!("x..1".parse::<SeedRange>().is_err());
        let shards: Vec<Vec<u64>> = (0..3).map(|i| seeds(r, Some(Shard { index: i, count: 3 }))).collect();
        assert_eq!(shards[0], vec![1, 4, 7, 10]);
        for (i, shard) in shards.iter().enumerate() {
            let s = Some(Shard {
                index: i as u64,
                count: 3,
            });
            assert_eq!(r.count(s), shard.len() as u128);
            assert!((0..=12).all(|seed| r.contains(seed, s) == shard.contains(&seed)));
        }
        let mut all: Vec<u64> = shards.concat();
        all.sort_unstable();
        assert_eq!(all, seeds(r, None), "shards partition the range");
        let few: SeedRange = "1..2".parse().expect("valid");
        assert_eq!(few.count(Some(Shard { index: 4, count: 8 })), 0);
        assert_eq!(seeds(few, Some(Shard { index: 4, count: 8 })), Vec::<u64>::new());
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
    }

    #[test]
    fn the_whole_u64_range_is_produced_lazily() {
        let r: SeedRange = "0..18446744073709551615".parse().expect("valid");
        assert_eq!(r.count(None), 1u128 << 64);
        assert_eq!(r.seeds(None).take(3).collect::<Vec<_>>(), [0, 1, 2]);
        let last = Shard { index: 7, count: 8 };
        assert_eq!(r.count(Some(last)), 1u128 << 61);
        assert_eq!(r.seeds(Some(last)).take(2).collect::<Vec<_>>(), [7, 15]);
        assert!(r.contains(u64::MAX, Some(last)));
        let work: Vec<(usize, u64)> = pairs(2, r.seeds(None)).take(3).collect();
        assert_eq!(work, [(0, 0), (1, 0), (0, 1)], "every scenario of a seed first");
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

    fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("halab-sweep-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("r.jsonl");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn reading_cuts_a_partial_last_line_and_refuses_other_bad_lines() {
        let p = temp_file("partial", "{\"scenario\":\"a\",\"seed\":1}\n{\"partial\":");
        let finished = Finished::read(&p).expect("read");
        assert!(finished.contains("", 1));
        assert_eq!(
            std::fs::read_to_string(&p).expect("read"),
            "{\"scenario\":\"a\",\"seed\":1}\n"
        );
        let p = temp_file("bad", "not json\n");
        let e = Finished::read(&p).expect_err("not a record");
        assert!(e.contains("r.jsonl:1: not a run record"), "{e}");
    }

    #[test]
    fn runs_are_matched_on_fingerprint_and_seed_and_foreign_records_refused() {
        let steady = crate::catalogue::load("steady").expect("steady").expect("valid");
        let mut renamed = crate::catalogue::load("chaos").expect("chaos").expect("valid");
        renamed.name = "steady".into();
        let file = Path::new("r.jsonl");
        let mut f = Finished::default();
        f.add("steady", &steady.fingerprint(), HALAB_VERSION, 3);
        f.add("other", "0123456789abcdef", "0.0.1", 3);
        assert!(f.contains(&steady.fingerprint(), 3));
        assert!(!f.contains(&renamed.fingerprint(), 3), "not by name");
        assert_eq!(f.check(file, std::slice::from_ref(&steady)), Ok(()));
        let e = f
            .check(file, std::slice::from_ref(&renamed))
            .expect_err("another scenario");
        assert!(
            e.contains("another scenario named `steady`")
                && e.contains(&steady.fingerprint())
                && e.contains(&renamed.fingerprint()),
            "{e}"
        );
        let mut old = Finished::default();
        old.add("steady", &steady.fingerprint(), "0.0.1", 1);
        let e = old
            .check(file, std::slice::from_ref(&steady))
            .expect_err("another binary");
        assert!(e.contains("run by halab 0.0.1; this is halab"), "{e}");
        let mut legacy = Finished::default();
        legacy.add("steady", "", "", 1);
        let e = legacy
            .check(file, std::slice::from_ref(&steady))
            .expect_err("no fingerprint");
        assert!(e.contains("before records carried a scenario fingerprint"), "{e}");
    }
}
