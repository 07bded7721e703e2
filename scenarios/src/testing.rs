#![doc = include_str!("../../docs/library.md")]

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};

use halab_sim::{RunRecord, Scenario, Verdict};

use crate::catalogue;
use crate::sweep::{run_sweep, SeedRange};

/// One seed to run instead of the test's range (as madsim's
/// `MADSIM_TEST_SEED`).
pub const SEED_VAR: &str = "HALAB_TEST_SEED";
/// A seed range `A..B` (inclusive) to run instead of the test's.
pub const SEEDS_VAR: &str = "HALAB_TEST_SEEDS";
/// Worker threads (default: all cores).
pub const JOBS_VAR: &str = "HALAB_TEST_JOBS";

/// The seeds to run: [`SEED_VAR`] if set, else [`SEEDS_VAR`], else
/// `default`. A malformed variable is an error naming it. The seeds are a
/// range, produced one at a time as they are run: a range of 2^64 seeds
/// costs nothing until it is run.
pub fn seeds(default: RangeInclusive<u64>) -> Result<RangeInclusive<u64>, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(v) = var(SEED_VAR) {
        let seed = v
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{SEED_VAR}={v}: not a seed"))?;
        return Ok(seed..=seed);
    }
    if let Some(v) = var(SEEDS_VAR) {
        let range: SeedRange = v.parse().map_err(|e| format!("{SEEDS_VAR}={v}: {e}"))?;
        return Ok(range.first..=range.last);
    }
    Ok(default)
}

fn jobs() -> Result<usize, String> {
    match std::env::var(JOBS_VAR) {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|j| *j > 0)
            .ok_or_else(|| format!("{JOBS_VAR}={v}: not a positive number")),
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Run `scenario` under every seed of `seeds` on `jobs` threads; the
/// records in seed order. The seeds are taken one at a time as workers
/// come free, never collected first. A run that reaches no verdict (an
/// invalid scenario, or one that outgrew `expect.max-trace-events`) panics
/// with the reason, as `halab sweep` stops with it.
pub fn run_seeds<I>(scenario: &Scenario, seeds: I, jobs: usize) -> Vec<RunRecord>
where
    I: IntoIterator<Item = u64>,
    I::IntoIter: Send,
{
    let taken = AtomicUsize::new(0);
    let work = seeds.into_iter().inspect(|_| {
        taken.fetch_add(1, Ordering::Relaxed);
    });
    let mut records = Vec::new();
    let swept = run_sweep(
        std::slice::from_ref(scenario),
        work.map(|seed| (0, seed)),
        jobs,
        false,
        |r| records.push(r),
    );
    if let Err(e) = swept {
        panic!("{} cannot run: {e}", scenario.name);
    }
    records.sort_by_key(|r| r.seed);
    assert_eq!(records.len(), taken.into_inner(), "invariant: one record per seed");
    records
}

/// The lines that reproduce a failed seed: the environment variable for
/// this test, and `halab run` for a catalogue scenario.
pub fn repro_lines(scenario: &Scenario, seed: u64) -> Vec<String> {
    let mut lines = vec![format!("{SEED_VAR}={seed} cargo test (this test)")];
    let builtin = catalogue::load(&scenario.name).and_then(Result::ok);
    if builtin.as_ref() == Some(scenario) {
        lines.push(format!("cargo run --release -- run {} --seed {seed}", scenario.name));
    }
    lines
}

/// Run `scenario` over the seeds of [`seeds`]`(default)` in parallel and
/// return the records; panic if any seed did not pass, listing every
/// failure with its verdict, message and repro lines.
pub fn check_seeds(scenario: &Scenario, default: RangeInclusive<u64>) -> Vec<RunRecord> {
    let seeds = seeds(default).unwrap_or_else(|e| panic!("{e}"));
    let jobs = jobs().unwrap_or_else(|e| panic!("{e}"));
    let records = run_seeds(scenario, seeds, jobs);
    let failed: Vec<&RunRecord> = records.iter().filter(|r| r.verdict != Verdict::Pass).collect();
    if !failed.is_empty() {
        let mut text = format!(
            "{} of {} seeds of {} failed:\n",
            failed.len(),
            records.len(),
            scenario.name
        );
        for r in failed {
            text.push_str(&format!(
                "{} seed {} {}: {}\n",
                scenario.name,
                r.seed,
                r.verdict.as_str(),
                r.message.clone().unwrap_or_default()
            ));
            for line in repro_lines(scenario, r.seed) {
                text.push_str(&format!("  reproduce: {line}\n"));
            }
        }
        panic!("{text}");
    }
    records
}
