//! `halab sweep`: many seeds on all cores, a progress bar, results appended
//! to a JSON Lines file as each seed finishes, a summary table and the repro
//! line of every failure.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use halab_scenarios::sweep::{completed_in, run_sweep, ScenarioSummary, SeedRange, Shard};
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
/// `DIR/<scenario>-seed-<seed>.jsonl`, on `jobs` threads. Each run is run
/// again with its commits kept: deterministic, so the same run.
fn write_histories(
    dir: &std::path::Path,
    scenarios: &[Scenario],
    work: &[(usize, u64)],
    jobs: usize,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(si, seed)) = work.get(i) else { return };
                let s = &scenarios[si];
                let path = dir.join(format!("{}-seed-{seed}.jsonl", s.name));
                let written = halab_sim::harness::run_seed_with_history(s, seed)
                    .map_err(|e| e.to_string())
                    .and_then(|(_, h)| h.ok_or_else(|| "the simulation panicked".to_string()))
                    .and_then(|h| h.to_jsonl())
                    .and_then(|text| std::fs::write(&path, text).map_err(|e| e.to_string()));
                if let Err(e) = written {
                    errors
                        .lock()
                        .expect("invariant: lock not poisoned")
                        .push(format!("{}: {e}", path.display()));
                }
            });
        }
    });
    let errors = errors.into_inner().expect("invariant: lock not poisoned");
    if let Some(first) = errors.first() {
        anyhow::bail!("cannot write {} histories; the first: {first}", errors.len());
    }
    println!("histories: {} files in {}", work.len(), dir.display());
    Ok(())
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    let loaded = load_scenarios(&opts)?;
    let scenarios: Vec<Scenario> = loaded.iter().map(|(_, s)| s.clone()).collect();
    let (work, done) = work_to_do(&opts, &scenarios)?;
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!(
        "halab sweep: {} scenario(s) x {} seed(s) {}..{}{}; {} to run ({} already done), {jobs} jobs",
        scenarios.len(),
        opts.seeds.seeds(opts.shard).len(),
        opts.seeds.first,
        opts.seeds.last,
        opts.shard
            .map(|s| format!(" shard {}/{}", s.index, s.count))
            .unwrap_or_default(),
        work.len(),
        done
    );
    let started = std::time::Instant::now();
    let (summaries, mut failures) = run_with_bar(&opts, &scenarios, &work, jobs)?;
    print_summary(&summaries, started.elapsed().as_secs_f64(), work.len());
    if let Some(dir) = &opts.history_dir {
        write_histories(dir, &scenarios, &work, jobs)?;
    }
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

/// The `(scenario index, seed)` pairs to run, and how many are already in
/// the results file (with `--resume`). A results file that holds results
/// is refused without `--resume`.
fn work_to_do(opts: &Options, scenarios: &[Scenario]) -> anyhow::Result<(Vec<(usize, u64)>, usize)> {
    if let (Some(p), false) = (&opts.out, opts.resume) {
        if std::fs::metadata(p).is_ok_and(|m| m.len() > 0) {
            anyhow::bail!(
                "{} already holds results; continue it with --resume, or choose another file",
                p.display()
            );
        }
    }
    let done = match (&opts.out, opts.resume) {
        (Some(p), true) => completed_in(p).with_context(|| format!("cannot read {}", p.display()))?,
        _ => Default::default(),
    };
    let seeds = opts.seeds.seeds(opts.shard);
    let work: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|i| seeds.iter().map(move |s| (i, *s)))
        .filter(|(i, s)| !done.contains(&(scenarios[*i].name.clone(), *s)))
        .collect();
    Ok((work, done.len()))
}

/// Run `work` with a progress bar, appending each record to `--out` as it
/// finishes; the per-scenario totals and the failed runs.
fn run_with_bar(
    opts: &Options,
    scenarios: &[Scenario],
    work: &[(usize, u64)],
    jobs: usize,
) -> anyhow::Result<(BTreeMap<String, ScenarioSummary>, Vec<RunRecord>)> {
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
    let bar = ProgressBar::new(work.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds  {per_sec}  eta {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summaries: BTreeMap<String, ScenarioSummary> = BTreeMap::new();
    let mut failures: Vec<RunRecord> = Vec::new();
    let mut write_error = None;
    run_sweep(scenarios, work, jobs, opts.check_determinism, |r| {
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
                r.scenario,
                r.seed,
                r.verdict.as_str(),
                r.message.clone().unwrap_or_default()
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
    Ok((summaries, failures))
}

/// Each failed run with its message and a paste-able repro line naming the
/// scenario as it was given.
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
            f.scenario,
            f.seed,
            f.verdict.as_str(),
            f.message.clone().unwrap_or_default()
        );
        println!("  reproduce: {}", f.repro_line(&arg_of(&f.scenario)));
    }
}

fn ms(v: Option<u64>) -> String {
    v.map(|v| format!("{:.2}s", v as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

fn print_summary(summaries: &BTreeMap<String, ScenarioSummary>, elapsed: f64, runs: usize) {
    let w = summaries.keys().map(|k| k.len()).max().unwrap_or(8).max(8);
    println!(
        "{:<w$} {:>6} {:>6} {:>9} {:>8} {:>5} {:>6} {:>9} {:>9} {:>9}",
        "scenario", "runs", "passed", "violation", "liveness", "crash", "nondet", "rec p50", "rec p99", "rec max"
    );
    for s in summaries.values() {
        println!(
            "{:<w$} {:>6} {:>6} {:>9} {:>8} {:>5} {:>6} {:>9} {:>9} {:>9}",
            s.scenario,
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
