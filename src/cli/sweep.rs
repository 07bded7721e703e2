//! `halab sweep`: many seeds on all cores, a progress bar, results appended
//! to a JSON Lines file as each seed finishes, a summary table and the repro
//! line of every failure.
//!
//! Seeds are taken from the range one at a time, so any range starts at
//! once. `--resume` skips the runs already in the file, matched on
//! (scenario fingerprint, seed), and refuses a file whose records of a
//! scenario's name came from another scenario or another halab version.
//! Two scenarios of one name are refused.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::{anyhow, bail, Context};
use halab_scenarios::sweep::{pairs, run_sweep, Finished, ScenarioSummary, SeedRange, Shard};
use halab_sim::names::{escape_control, file_name_part};
use halab_sim::{RunRecord, Scenario, Verdict};
use indicatif::{ProgressBar, ProgressStyle};

use super::scenario_arg;

pub struct Options {
    pub scenarios: Vec<String>,
    pub seeds: SeedRange,
    pub jobs: Option<usize>,
    pub shard: Option<Shard>,
    pub out: Option<PathBuf>,
    pub resume: bool,
    pub check_determinism: bool,
    /// `--set KEY=V` overrides of every scenario, in order.
    pub set: Vec<String>,
    /// Write each run's history here (docs/history.md).
    pub history_dir: Option<PathBuf>,
}

/// Write the history of every `(scenario, seed)` of `work` to
/// `DIR/<scenario>-seed-<seed>.jsonl` (the name made safe as a file name),
/// on `jobs` threads. Each run is run
/// again with its commits kept: deterministic, so the same run.
fn write_histories(
    dir: &std::path::Path,
    scenarios: &[Scenario],
    work: impl Iterator<Item = (usize, u64)> + Send,
    jobs: usize,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let next = Mutex::new(work);
    let written = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let item = next.lock().unwrap_or_else(PoisonError::into_inner).next();
                let Some((si, seed)) = item else { return };
                let s = &scenarios[si];
                let path = dir.join(format!("{}-seed-{seed}.jsonl", file_name_part(&s.name)));
                match write_history(s, seed, &path) {
                    Ok(()) => written.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        let mut errors = errors.lock().unwrap_or_else(PoisonError::into_inner);
                        errors.push(format!("{}: {e}", path.display()));
                        0
                    }
                };
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(first) = errors.first() {
        anyhow::bail!("cannot write {} histories; the first: {first}", errors.len());
    }
    println!("histories: {} files in {}", written.into_inner(), dir.display());
    Ok(())
}

/// Run `s` under `seed` once more with its commits kept and write its
/// history to `path`.
fn write_history(s: &Scenario, seed: u64, path: &std::path::Path) -> Result<(), String> {
    halab_sim::harness::run_seed_with_history(s, seed)
        .map_err(|e| e.to_string())
        .and_then(|(_, h)| h.ok_or_else(|| "the simulation panicked".to_string()))
        .and_then(|h| h.to_jsonl())
        .and_then(|text| std::fs::write(path, text).map_err(|e| e.to_string()))
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    let loaded = load_scenarios(&opts)?;
    refuse_duplicates(&loaded)?;
    let scenarios: Vec<Scenario> = loaded.iter().map(|(_, s)| s.clone()).collect();
    let finished = finished_runs(&opts, &scenarios)?;
    let done = already_done(&opts, &scenarios, &finished);
    let seeds = opts.seeds.count(opts.shard);
    let to_run = seeds * scenarios.len() as u128 - done;
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!(
        "halab sweep: {} scenario(s) x {seeds} seed(s) {}..{}{}; {to_run} to run ({done} already done), {jobs} jobs",
        scenarios.len(),
        opts.seeds.first,
        opts.seeds.last,
        opts.shard
            .map(|s| format!(" shard {}/{}", s.index, s.count))
            .unwrap_or_default(),
    );
    let started = std::time::Instant::now();
    let work = remaining_work(&opts, &scenarios, &finished);
    let outcome = run_with_bar(&opts, &scenarios, work, to_run, jobs)?;
    print_summary(&outcome.summaries, started.elapsed().as_secs_f64(), outcome.runs);
    if let Some(dir) = &opts.history_dir {
        write_histories(dir, &scenarios, remaining_work(&opts, &scenarios, &finished), jobs)?;
    }
    let mut failures = outcome.failures;
    failures.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    print_failures(&failures, &loaded);
    if let Some(p) = &opts.out {
        println!("records: {}", p.display());
    }
    Ok(Verdict::worst(failures.iter().map(|f| f.verdict)).exit_code())
}

/// Each scenario argument with its scenario, `--set` applied.
fn load_scenarios(opts: &Options) -> anyhow::Result<Vec<(String, Scenario)>> {
    opts.scenarios
        .iter()
        .map(|a| {
            scenario_arg::load(a)
                .and_then(|s| halab_scenarios::overrides::apply_sets(s, &opts.set).map_err(anyhow::Error::msg))
                .map(|s| (a.clone(), s))
        })
        .collect()
}

/// Refuse a scenario given twice, and two different scenarios under one
/// name: records name their scenario, so the runs of two scenarios of one
/// name would be merged in the summary and in every later report.
fn refuse_duplicates(loaded: &[(String, Scenario)]) -> anyhow::Result<()> {
    for (i, (arg, s)) in loaded.iter().enumerate() {
        let Some((first, earlier)) = loaded[..i].iter().find(|(_, t)| t.name == s.name) else {
            continue;
        };
        let (a, b) = (earlier.fingerprint(), s.fingerprint());
        if a == b {
            bail!(
                "scenario `{}` is given twice (`{first}` and `{arg}`); give it once",
                s.name
            );
        }
        bail!(
            "`{first}` and `{arg}` are two different scenarios named `{}` (fingerprints {a} and {b}); \
             their results could not be told apart: rename one",
            s.name
        );
    }
    Ok(())
}

/// The runs already in the results file (with `--resume`), checked to come
/// from these scenarios and this halab. A results file that holds results
/// is refused without `--resume`.
fn finished_runs(opts: &Options, scenarios: &[Scenario]) -> anyhow::Result<Finished> {
    let Some(p) = &opts.out else {
        return Ok(Finished::default());
    };
    if !opts.resume {
        if std::fs::metadata(p).is_ok_and(|m| m.len() > 0) {
            bail!(
                "{} already holds results; continue it with --resume, or choose another file",
                p.display()
            );
        }
        return Ok(Finished::default());
    }
    let finished = Finished::read(p).map_err(anyhow::Error::msg)?;
    finished.check(p, scenarios).map_err(|e| {
        anyhow!("{e}; --resume continues a file only with the scenarios and the halab that wrote it: choose another --out file")
    })?;
    Ok(finished)
}

/// How many runs of the sweep are already finished.
fn already_done(opts: &Options, scenarios: &[Scenario], finished: &Finished) -> u128 {
    let count = |s: &Scenario| {
        let fingerprint = s.fingerprint();
        finished
            .seeds_of(&fingerprint)
            .filter(|seed| opts.seeds.contains(*seed, opts.shard))
            .count() as u128
    };
    scenarios.iter().map(count).sum()
}

/// The `(scenario index, seed)` pairs still to run, seed by seed, lazily.
fn remaining_work<'a>(
    opts: &Options,
    scenarios: &[Scenario],
    finished: &'a Finished,
) -> impl Iterator<Item = (usize, u64)> + Send + 'a {
    let fingerprints: Vec<String> = scenarios.iter().map(Scenario::fingerprint).collect();
    pairs(scenarios.len(), opts.seeds.seeds(opts.shard))
        .filter(move |(i, seed)| !finished.contains(&fingerprints[*i], *seed))
}

/// What a sweep's runs gave: per-scenario totals, the failed runs, and how
/// many ran.
struct Outcome {
    summaries: BTreeMap<String, ScenarioSummary>,
    failures: Vec<RunRecord>,
    runs: u64,
}

/// Run `work` with a progress bar, appending each record to `--out` as it
/// finishes; the per-scenario totals and the failed runs.
fn run_with_bar(
    opts: &Options,
    scenarios: &[Scenario],
    work: impl Iterator<Item = (usize, u64)> + Send,
    to_run: u128,
    jobs: usize,
) -> anyhow::Result<Outcome> {
    let mut file = match &opts.out {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot open {}", p.display()))?,
        ),
        None => None,
    };
    let bar = ProgressBar::new(u64::try_from(to_run).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds  {per_sec}  eta {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summaries: BTreeMap<String, ScenarioSummary> = BTreeMap::new();
    let mut failures: Vec<RunRecord> = Vec::new();
    let mut write_error = None;
    let mut runs = 0u64;
    let swept = run_sweep(scenarios, work, jobs, opts.check_determinism, |r| {
        runs += 1;
        if let Some(f) = file.as_mut() {
            let line = serde_json::to_string(&r).unwrap_or_default();
            if let Err(e) = f.write_all(format!("{line}\n").as_bytes()).and_then(|_| f.flush()) {
                write_error.get_or_insert(e);
            }
        }
        summaries.entry(r.scenario.clone()).or_default().add(&r);
        if r.verdict != Verdict::Pass {
            bar.println(format!(
                "{} seed {}: {} {}",
                escape_control(&r.scenario),
                r.seed,
                r.verdict.as_str(),
                escape_control(r.message.as_deref().unwrap_or_default())
            ));
            failures.push(r);
        }
        bar.inc(1);
        bar.set_message(format!("{} failed", failures.len()));
    });
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e).context("cannot append to the results file");
    }
    swept.context("a run could not reach a verdict, so the sweep stopped; the records of finished runs are kept")?;
    Ok(Outcome {
        summaries,
        failures,
        runs,
    })
}

/// Each failed run with its message and a paste-able repro line naming the
/// scenario as it was given (quoted for the shell where it needs to be).
fn print_failures(failures: &[RunRecord], loaded: &[(String, Scenario)]) {
    let arg_of = |name: &str| {
        loaded
            .iter()
            .find(|(_, s)| s.name == name)
            .map(|(a, _)| a.clone())
            .unwrap_or_else(|| name.to_string())
    };
    for f in failures {
        println!(
            "{} seed {} {}: {}",
            escape_control(&f.scenario),
            f.seed,
            f.verdict.as_str(),
            escape_control(f.message.as_deref().unwrap_or_default())
        );
        println!("  reproduce: {}", escape_control(&f.repro_line(&arg_of(&f.scenario))));
    }
}

fn ms(v: Option<u64>) -> String {
    v.map(|v| format!("{:.2}s", v as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

fn print_summary(summaries: &BTreeMap<String, ScenarioSummary>, elapsed: f64, runs: u64) {
    let w = summaries
        .keys()
        .map(|k| escape_control(k).len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<w$} {:>6} {:>6} {:>9} {:>8} {:>5} {:>6} {:>9} {:>9} {:>9}",
        "scenario", "runs", "passed", "violation", "liveness", "crash", "nondet", "rec p50", "rec p99", "rec max"
    );
    for s in summaries.values() {
        println!(
            "{:<w$} {:>6} {:>6} {:>9} {:>8} {:>5} {:>6} {:>9} {:>9} {:>9}",
            escape_control(&s.scenario),
            s.runs,
            s.passed,
            s.violations,
            s.liveness,
            s.crashes,
            s.nondeterministic,
            ms(s.recovery_percentile(50.0)),
            ms(s.recovery_percentile(99.0)),
            ms(s.recovery_percentile(100.0))
        );
    }
    let sim: u64 = summaries.values().map(|s| s.simulated_ms).sum();
    if runs > 0 && elapsed > 0.0 {
        println!(
            "{runs} runs in {elapsed:.1}s wall: {:.1} seeds/s; simulated {:.0}s, {:.0}x faster than real time",
            runs as f64 / elapsed,
            sim as f64 / 1000.0,
            sim as f64 / 1000.0 / elapsed
        );
    }
}
