//! `halab report`: run the standard suite on a worker pool and write one HTML
//! report (plots as SVG and PNG, `records.jsonl`, `records.csv`), or re-render
//! a report from existing run records with `--from` (no simulation).
//!
//! The standard suite is [`SUITE`] plus two sweeps of variants (see
//! [`super::variants`]); every scenario runs the seeds `1..=N` (`--seeds`,
//! default [`DEFAULT_SEEDS`]):
//! - the checkpoint interval sweep: [`INTERVAL_SWEEP_BASE`] once per
//!   interval of [`INTERVAL_SWEEP_MS`]
//!   (`interval-tradeoff-checkpoint-interval-250ms`, ...);
//! - the state-size sweep: each of [`STATE_SWEEP_BASES`] once per state size
//!   of [`STATE_SWEEP_BYTES_PER_KEY`] (`restore-local-state-per-key-10KB`,
//!   ...).
//!
//! The variants are written as scenario files to `DIR/scenarios/` so their
//! repro lines work. With `--from`, variants are recognised by their names.
//!
//! Runs go through `halab sweep` (its worker pool, a chunk of seeds per child
//! process; see [`run_suite`]), which appends each record to
//! `DIR/records.jsonl` as it finishes, so an interrupted report keeps every
//! finished run; `--resume` runs only what is missing. Then `render_report`
//! writes the page, and the summary table and the repro line of every failed
//! run are printed. Exit code as `halab sweep`: 1 if any violation, else 3 if
//! any liveness failure, else 0; the report is written first either way. Bad
//! input exits 2.
//!
//! Two inputs of the page do not come from simulation:
//! - the interval sweep's MTBF: the length of the base scenario's random
//!   fault window (end − start; its input `duration` when it has only
//!   scripted faults) divided by the mean number of disturbing (non-healing)
//!   entries in the fault plans of the sweep's runs;
//! - rebalancing: the engine's pure partitioner comparison
//!   (`partition::compare`) of [`REBALANCE_KEYS`] keys for each rescale of
//!   [`RESCALES`], one bar per partitioner and rescale, with Flink's default
//!   max parallelism for the original parallelism, as `halab partition`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use halab_engine::config::Configuration;
use halab_engine::duration::format_duration;
use halab_engine::partition::compare::{compare, key_range};
use halab_engine::partition::key_groups::compute_default_max_parallelism;
use halab_engine::partition::registry::{build_partitioner, partitioner_names};
use halab_engine::partition::PartitionerParams;
use halab_reports::report::RECORDS_JSONL;
use halab_reports::{
    parse_records, render_report, IntervalGroup, IntervalSweep, RebalanceStats, ReportInputs, ReportSummary,
    StateSizeLine,
};
use halab_scenarios::sweep::completed_in;
use halab_sim::{Scenario, Verdict};
use indicatif::{ProgressBar, ProgressStyle};

use super::variants::{apply, load_catalogue, load_variant, parse_variant, Variation};

type Record = halab_reports::RunRecord;

/// The default output directory, relative to the working directory.
pub const DEFAULT_OUT: &str = "report";

/// Seeds per scenario of the default report: the whole suite (6,300 runs)
/// takes about 67 s on two cores in a release build (see the README).
pub const DEFAULT_SEEDS: u64 = 150;

/// The catalogue scenarios of the standard suite, in the order they run.
pub const SUITE: &[&str] = &[
    // the baseline and one crash
    "steady",
    "tm-crash",
    // swarm chaos
    "chaos",
    // one storm of crashes under each restart policy
    "storm-fixed-delay",
    "storm-failure-rate",
    "storm-exponential-delay",
    "storm-crash-loop-backoff",
    "storm-supervisor",
    // checkpoint alignment under backpressure
    "backpressure-aligned",
    "backpressure-unaligned",
    "backpressure-alternating",
    // the same under backpressure from CPU (the counts are too slow)
    "cpu-backpressure-aligned",
    "cpu-backpressure-unaligned",
    "cpu-backpressure-alternating",
    // failure detection
    "heartbeat-detection",
    "connection-detection",
    // failover strategy
    "region-failover",
    // JobManager high availability
    "jm-crash",
    "jm-partition-split-brain",
    "coordination-outage",
    "ha-chaos",
    // one scale-out of 1 GB of keyed state under each partitioner
    "rescale-scale-out",
    "rescale-ring",
    "rescale-rendezvous",
    "rescale-jump",
    "rescale-maglev",
];

/// The scenarios the state-size sweep varies: one job, recovered by
/// downloading its state, from local copies, or from incremental
/// checkpoints.
pub const STATE_SWEEP_BASES: [&str; 3] = ["restore-remote", "restore-local", "restore-incremental"];

/// State per key of the state-size sweep (bytes), with 100,000 keys.
pub const STATE_SWEEP_BYTES_PER_KEY: [u64; 3] = [1_000, 10_000, 100_000];

/// The scenario the checkpoint interval sweep varies: a bounded job whose
/// checkpoints cost 100 ms under crashes every 10 s, so throughput has a
/// maximum near Young's √(2·C·M) = 1.41 s.
pub const INTERVAL_SWEEP_BASE: &str = "interval-tradeoff";

/// The checkpoint intervals of the sweep (ms), about 1/6 to 6 times the
/// optimum.
pub const INTERVAL_SWEEP_MS: [u64; 7] = [250, 500, 1000, 1500, 2500, 4000, 8000];

/// Keys placed by each partitioner for the rebalancing plot.
pub const REBALANCE_KEYS: u64 = 100_000;

/// Rescales (`from` → `to` owners) of the rebalancing plot.
pub const RESCALES: [(u32, u32); 2] = [(10, 11), (10, 9)];

/// Runs per child process of the sweep (bounds its memory, see `run_suite`).
const CHUNK_RUNS: usize = 300;

/// Where the interval variants are written, inside the output directory.
const SCENARIO_DIR: &str = "scenarios";

pub struct Options {
    pub out: PathBuf,
    pub seeds: u64,
    pub jobs: Option<u64>,
    /// Record files to merge and render instead of running (empty: run).
    pub from: Vec<PathBuf>,
    pub resume: bool,
    /// Restrict the suite to these scenarios (suite entries, catalogue
    /// names or interval variants); empty: the whole suite.
    pub scenarios: Vec<String>,
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    let started = Instant::now();
    if opts.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if opts.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let (mut records, title) = match opts.from.as_slice() {
        [] => {
            let suite = suite(&opts.scenarios)?;
            create_out_dir(&opts.out)?;
            let args = write_variant_files(&opts.out, suite.iter().map(|s| s.name.as_str()))?;
            let records = run_suite(&opts, &suite, &args)?;
            let title = format!("halab report: {} scenarios, seeds 1..={}", suite.len(), opts.seeds);
            (records, title)
        }
        files => {
            let records = merge_records(files)?;
            create_out_dir(&opts.out)?;
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            (records, format!("halab report: {}", names.join(", ")))
        }
    };
    records.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    let scenario_args = write_variant_files(&opts.out, records.iter().map(|r| r.scenario.as_str()))?;

    let interval_sweep = interval_sweep(&records);
    if let Some((base, sweep)) = &interval_sweep {
        let intervals: Vec<String> = sweep
            .groups
            .iter()
            .map(|g| format_duration(Duration::from_millis(g.interval_ms)))
            .collect();
        println!(
            "checkpoint interval sweep of {base}: {}; MTBF {}",
            intervals.join(", "),
            if sweep.mtbf_ms > 0.0 {
                format!("{:.2} s", sweep.mtbf_ms / 1000.0)
            } else {
                "unknown (no fault window or no disturbing faults)".into()
            }
        );
        println!("  {}", halab_reports::report::interval_note(sweep));
    }
    let inputs = ReportInputs {
        title,
        scenario_args,
        runs: plotted_runs(&records),
        interval_sweep: interval_sweep.map(|(_, s)| s),
        state_size_sweep: state_size_sweep(&records),
        rebalancing: rebalancing_stats()?,
        ..Default::default()
    };
    let rendering = Instant::now();
    let summary = render_report(&records, &inputs, &opts.out)
        .map_err(|e| anyhow!("{e}"))
        .context("cannot write the report")?;
    print_summary(&summary);
    println!(
        "report: {} ({} records, {} plots; rendered in {:.1}s, {:.1}s in all)",
        summary.index.display(),
        records.len(),
        summary.plots.len(),
        rendering.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(exit_code(&records))
}

/// The exit code of the worst verdict, as `sweep`'s.
pub(super) fn exit_code(records: &[Record]) -> i32 {
    let verdict = |r: &Record| {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == r.verdict.as_str())
            .unwrap_or(Verdict::Violation)
    };
    Verdict::worst(records.iter().map(verdict)).exit_code()
}

fn create_out_dir(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create the output directory {}", out.display()))
}

/// The records of several files (the shards of one sweep), merged. A
/// (scenario, seed) found twice is refused, naming both places: shards
/// cover disjoint seeds, so a repeat is a merge mistake.
pub fn merge_records(files: &[PathBuf]) -> anyhow::Result<Vec<Record>> {
    let mut seen: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut out = Vec::new();
    for file in files {
        for r in read_records(file)? {
            let here = file.display().to_string();
            if let Some(first) = seen.insert((r.scenario.clone(), r.seed), here.clone()) {
                bail!(
                    "{} seed {} is in {first} and again in {here}: shards must not overlap",
                    r.scenario,
                    r.seed
                );
            }
            out.push(r);
        }
    }
    Ok(out)
}

/// Run records from a JSON Lines file; errors name the file and line.
fn read_records(file: &Path) -> anyhow::Result<Vec<Record>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let records = parse_records(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    if records.is_empty() {
        bail!("{} holds no run records", file.display());
    }
    Ok(records)
}

fn load_builtin(name: &str) -> anyhow::Result<Scenario> {
    load_catalogue(name).ok_or_else(|| anyhow!("invariant: {name} is in the catalogue"))?
}

/// The whole standard suite: [`SUITE`], then the interval variants, then the
/// state-size variants.
pub fn standard_suite() -> anyhow::Result<Vec<Scenario>> {
    let mut out = Vec::new();
    for name in SUITE {
        out.push(load_builtin(name)?);
    }
    let base = load_builtin(INTERVAL_SWEEP_BASE)?;
    for ms in INTERVAL_SWEEP_MS {
        out.push(apply(&base, Variation::CheckpointInterval(ms))?);
    }
    for name in STATE_SWEEP_BASES {
        let base = load_builtin(name)?;
        for bytes in STATE_SWEEP_BYTES_PER_KEY {
            out.push(apply(&base, Variation::StatePerKey(bytes))?);
        }
    }
    Ok(out)
}

/// The suite, or the scenarios `filter` names, in its order: suite entries,
/// catalogue scenarios, or interval variants of catalogue scenarios.
fn suite(filter: &[String]) -> anyhow::Result<Vec<Scenario>> {
    let all = standard_suite()?;
    let names: Vec<&str> = filter.iter().map(|n| n.trim()).filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        return Ok(all);
    }
    let mut out: Vec<Scenario> = Vec::new();
    for name in names {
        if out.iter().any(|s| s.name == name) {
            continue;
        }
        let s = match all.iter().find(|s| s.name == name) {
            Some(s) => s.clone(),
            None => load_catalogue(name).or_else(|| load_variant(name)).ok_or_else(|| {
                anyhow!(
                    "--scenarios: unknown scenario `{name}`; the suite: {}",
                    all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            })??,
        };
        out.push(s);
    }
    Ok(out)
}

/// Write every variant among `names` to `DIR/scenarios/<name>.toml`
/// and return scenario name → that path, for the repro lines.
fn write_variant_files<'a>(
    out: &Path,
    names: impl Iterator<Item = &'a str>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let names: BTreeSet<&str> = names.collect();
    let mut args = BTreeMap::new();
    for name in names {
        let Some(variant) = load_variant(name) else { continue };
        let variant = variant?;
        let dir = out.join(SCENARIO_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{name}.toml"));
        let text = variant
            .to_toml()
            .map_err(|e| anyhow!("cannot write scenario {name}: {e}"))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        args.insert(name.to_string(), path.display().to_string());
    }
    Ok(args)
}

/// New complete lines of the records file, read as they are appended.
struct Tail {
    path: PathBuf,
    offset: u64,
}

impl Tail {
    /// Records appended since the last call; a partial last line waits.
    fn read(&mut self) -> anyhow::Result<Vec<Record>> {
        let mut f = std::fs::File::open(&self.path).with_context(|| format!("cannot read {}", self.path.display()))?;
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        self.offset += end as u64 + 1;
        let text = String::from_utf8_lossy(&buf[..end]);
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str::<Record>(l).map_err(|e| {
                    anyhow!(
                        "{}: a record the sweep wrote does not read back: {e}",
                        self.path.display()
                    )
                })
            })
            .collect()
    }
}

/// A child process that is killed if this one gives up on it early.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Run every (scenario, seed) of the suite that is not already in
/// `DIR/records.jsonl` (with `--resume`), appending each record as it
/// finishes; return the suite's records, old and new.
///
/// The runs go through `halab sweep` (the same binary), a chunk of seeds at
/// a time, each chunk in a child process on `jobs` worker threads: a
/// simulation leaves a few MB behind in its process (madsim does not free the
/// tasks still pending when a run ends), so one process for thousands of
/// runs would grow to many GB. The child appends to the records file as each
/// seed finishes (`--resume` skips what is there); this process follows the
/// file for the progress bar.
fn run_suite(opts: &Options, suite: &[Scenario], args: &BTreeMap<String, String>) -> anyhow::Result<Vec<Record>> {
    let jsonl = opts.out.join(RECORDS_JSONL);
    let seeds: Vec<u64> = (1..=opts.seeds).collect();
    let wanted: BTreeSet<(String, u64)> = suite
        .iter()
        .flat_map(|s| seeds.iter().map(|seed| (s.name.clone(), *seed)))
        .collect();
    let mut records: Vec<Record> = Vec::new();
    let mut done: BTreeSet<(String, u64)> = BTreeSet::new();
    if opts.resume && jsonl.exists() {
        // Cuts a partial last line left by an interrupted write.
        completed_in(&jsonl).with_context(|| format!("cannot read {}", jsonl.display()))?;
        let text = std::fs::read_to_string(&jsonl).with_context(|| format!("cannot read {}", jsonl.display()))?;
        let old = parse_records(&text).map_err(|e| anyhow!("{}: {e}", jsonl.display()))?;
        for r in old {
            let key = (r.scenario.clone(), r.seed);
            if wanted.contains(&key) && done.insert(key) {
                records.push(r);
            }
        }
    } else {
        std::fs::File::create(&jsonl).with_context(|| format!("cannot write {}", jsonl.display()))?;
    }
    let mut tail = Tail {
        offset: std::fs::metadata(&jsonl)
            .with_context(|| format!("cannot read {}", jsonl.display()))?
            .len(),
        path: jsonl.clone(),
    };
    let to_run = wanted.len() - done.len();
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64));
    println!(
        "halab report: {} scenario(s) x seeds 1..={}; {to_run} runs to do ({} already done), {jobs} jobs; writing {}",
        suite.len(),
        opts.seeds,
        done.len(),
        opts.out.display()
    );
    let exe = std::env::current_exe().context("cannot find the halab binary to run the sweep")?;
    let scenario_args: Vec<String> = suite
        .iter()
        .map(|s| args.get(&s.name).cloned().unwrap_or_else(|| s.name.clone()))
        .collect();
    let bar = ProgressBar::new(to_run as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut failed = 0usize;
    let mut seen = done.clone();
    let mut take = |new: Vec<Record>, records: &mut Vec<Record>| {
        for r in new {
            // A pair already taken (a sweep left running by an earlier,
            // killed report may append too) counts once.
            if !seen.insert((r.scenario.clone(), r.seed)) {
                continue;
            }
            if r.verdict != halab_reports::Verdict::Pass {
                failed += 1;
                bar.println(format!(
                    "{} seed {}: {} {}",
                    r.scenario,
                    r.seed,
                    r.verdict.as_str(),
                    r.message.clone().unwrap_or_default()
                ));
            }
            bar.inc(1);
            bar.set_message(format!("{failed} failed"));
            if wanted.contains(&(r.scenario.clone(), r.seed)) {
                records.push(r);
            }
        }
    };
    let started = Instant::now();
    let chunk = (CHUNK_RUNS / suite.len().max(1)).max(1);
    for seeds in seeds.chunks(chunk) {
        let (first, last) = (seeds[0], seeds[seeds.len() - 1]);
        if seeds
            .iter()
            .all(|seed| suite.iter().all(|s| done.contains(&(s.name.clone(), *seed))))
        {
            continue;
        }
        let mut child = KillOnDrop(
            std::process::Command::new(&exe)
                .arg("sweep")
                .args(&scenario_args)
                .args(["--seeds", &format!("{first}..{last}"), "--jobs", &jobs.to_string()])
                .arg("--out")
                .arg(&jsonl)
                .arg("--resume")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start {} sweep", exe.display()))?,
        );
        let stderr = child.0.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = e.read_to_string(&mut s);
                s
            })
        });
        let status = loop {
            take(tail.read()?, &mut records);
            if let Some(status) = child.0.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        take(tail.read()?, &mut records);
        let errors = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        match status.code() {
            Some(0 | 1 | 3) => {}
            Some(code) => bail!(
                "halab sweep (seeds {first}..{last}) exited with {code}: {}",
                errors.trim()
            ),
            None => bail!(
                "the runs were interrupted; finished runs are in {}: continue with --resume",
                jsonl.display()
            ),
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    if to_run > 0 && elapsed > 0.0 {
        println!(
            "ran {to_run} runs in {elapsed:.1}s wall ({:.1} runs/s); records: {}",
            to_run as f64 / elapsed,
            jsonl.display()
        );
    }
    Ok(records)
}

/// The runs drawn one by one: per scenario its first failed seed, else its
/// first seed, leaving out the interval variants (the sweep plot shows
/// them). Empty when only variants are present (the report's default).
fn plotted_runs(records: &[Record]) -> Vec<(String, u64)> {
    let mut by: BTreeMap<&str, (Option<u64>, u64)> = BTreeMap::new();
    for r in records.iter().filter(|r| parse_variant(&r.scenario).is_none()) {
        let e = by.entry(&r.scenario).or_insert((None, r.seed));
        e.1 = e.1.min(r.seed);
        if r.verdict != halab_reports::Verdict::Pass {
            e.0 = Some(e.0.map_or(r.seed, |s| s.min(r.seed)));
        }
    }
    by.into_iter()
        .map(|(s, (failed, first))| (s.to_string(), failed.unwrap_or(first)))
        .collect()
}

/// The length of the window in which `base`'s faults strike (ms).
fn fault_window_ms(base: &str) -> Option<u64> {
    let s = load_catalogue(base)?.ok()?;
    Some(match &s.faults.random {
        Some(r) => r.window[1].as_millis().saturating_sub(r.window[0].as_millis()),
        None => s.duration.as_millis(),
    })
}

/// The checkpoint interval sweep in `records`, if any variant is present:
/// the base with the most intervals ([`INTERVAL_SWEEP_BASE`] first).
fn interval_sweep(records: &[Record]) -> Option<(String, IntervalSweep)> {
    let mut bases: BTreeMap<&str, BTreeMap<u64, Vec<Record>>> = BTreeMap::new();
    for r in records {
        if let Some((base, Variation::CheckpointInterval(ms))) = parse_variant(&r.scenario) {
            bases.entry(base).or_default().entry(ms).or_default().push(r.clone());
        }
    }
    let base = if bases.contains_key(INTERVAL_SWEEP_BASE) {
        INTERVAL_SWEEP_BASE
    } else {
        // Most intervals; ties go to the first name.
        bases.iter().rev().max_by_key(|(_, g)| g.len()).map(|(b, _)| *b)?
    };
    let groups = bases.remove(base)?;
    let runs: Vec<&Record> = groups.values().flatten().collect();
    let disturbing = runs
        .iter()
        .map(|r| r.fault_plan.iter().filter(|f| !f.is_heal()).count())
        .sum::<usize>() as f64
        / runs.len().max(1) as f64;
    let mtbf_ms = match fault_window_ms(base) {
        Some(w) if disturbing > 0.0 => w as f64 / disturbing,
        _ => 0.0,
    };
    let sweep = IntervalSweep {
        groups: groups
            .into_iter()
            .map(|(interval_ms, records)| IntervalGroup { interval_ms, records })
            .collect(),
        mtbf_ms,
        checkpoint_cost_ms: None,
    };
    Some((base.to_string(), sweep))
}

/// The state-size sweep in `records`: per base with state-size variants,
/// its records by state per key.
fn state_size_sweep(records: &[Record]) -> Vec<StateSizeLine> {
    let mut bases: BTreeMap<&str, BTreeMap<u64, Vec<Record>>> = BTreeMap::new();
    for r in records {
        if let Some((base, Variation::StatePerKey(bytes))) = parse_variant(&r.scenario) {
            bases.entry(base).or_default().entry(bytes).or_default().push(r.clone());
        }
    }
    bases
        .into_iter()
        .map(|(base, groups)| StateSizeLine {
            strategy: base.to_string(),
            groups: groups.into_values().collect(),
        })
        .collect()
}

/// Keys moved and balance for every partitioner of the registry, built-in
/// and registered, for each rescale of [`RESCALES`] (pure computation, no
/// simulation).
pub fn rebalancing_stats() -> anyhow::Result<Vec<RebalanceStats>> {
    rebalancing_stats_of(&partitioner_names())
}

/// [`rebalancing_stats`] for the partitioners called `names`.
pub fn rebalancing_stats_of(names: &[String]) -> anyhow::Result<Vec<RebalanceStats>> {
    let keys = key_range(REBALANCE_KEYS);
    let mut out = Vec::new();
    for (from, to) in RESCALES {
        // Flink fixes the key groups from the job's first parallelism.
        let params = PartitionerParams {
            max_parallelism: compute_default_max_parallelism(from as i32).map_err(|e| anyhow!("{e}"))?,
            ..PartitionerParams::default()
        };
        for kind in names {
            let p = build_partitioner(kind, &params, &Configuration::new()).map_err(|e| anyhow!("{kind}: {e}"))?;
            let c = compare(p.as_ref(), &keys, from, to).map_err(|e| anyhow!("{kind}: {e}"))?;
            out.push(RebalanceStats {
                partitioner: format!("{kind} {from}→{to}"),
                moved_fraction: c.moved_fraction,
                optimal_moved_fraction: c.optimum,
                max_over_mean_load: c.max_over_mean,
            });
        }
    }
    Ok(out)
}

fn seconds(ms: Option<u64>) -> String {
    ms.map(|v| format!("{:.2}s", v as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// The page's summary table and failed runs, on the terminal.
fn print_summary(summary: &ReportSummary) {
    let w = summary
        .scenarios
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<w$} {:>6} {:>6} {:>9} {:>8} {:>5} {:>8} {:>9}",
        "scenario", "runs", "passed", "violation", "liveness", "crash", "restarts", "recovery"
    );
    for r in &summary.scenarios {
        println!(
            "{:<w$} {:>6} {:>6} {:>9} {:>8} {:>5} {:>8} {:>9}",
            r.scenario,
            r.runs,
            r.passes,
            r.violations,
            r.liveness,
            r.crashes,
            r.median_restarts.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            seconds(r.median_recovery_ms)
        );
    }
    println!("(restarts and recovery: medians; recovery is fault → first commit after it)");
    for g in &summary.comparisons {
        println!(
            "side by side (the same fault plan under each of {} seeds):",
            g.seeds.len()
        );
        println!(
            "  {:<w$} {:>9} {:>9} {:>8} {:>7} {:>9}",
            "scenario", "recovery", "p90", "restarts", "gave up", "downtime"
        );
        for r in &g.rows {
            println!(
                "  {:<w$} {:>9} {:>9} {:>8} {:>7} {:>9}",
                r.scenario,
                seconds(r.median_recovery_ms),
                seconds(r.p90_recovery_ms),
                r.median_restarts.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                r.gave_up,
                format!(
                    "{}{}",
                    if r.gave_up > 0 { ">=" } else { "" },
                    seconds(r.median_downtime_ms)
                )
            );
        }
    }
    if !summary.comparisons.is_empty() {
        println!("(downtime >=: some runs gave up, and a job that gave up stays down after the run)");
    }
    for f in &summary.failed {
        println!(
            "{} seed {} {}: {}",
            f.scenario,
            f.seed,
            f.verdict.as_str(),
            f.message.clone().unwrap_or_default()
        );
        println!("  reproduce: {}", f.repro);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_loads_and_its_variants_set_the_interval() {
        let suite = standard_suite().expect("the suite is valid");
        assert_eq!(
            suite.len(),
            SUITE.len() + INTERVAL_SWEEP_MS.len() + STATE_SWEEP_BASES.len() * STATE_SWEEP_BYTES_PER_KEY.len()
        );
        let names: Vec<&str> = suite.iter().map(|s| s.name.as_str()).collect();
        for name in [
            "interval-tradeoff-checkpoint-interval-500ms",
            "restore-local-state-per-key-100KB",
        ] {
            let v = suite.iter().find(|s| s.name == name).expect("variant");
            assert_eq!(load_variant(name).expect("a variant").expect("valid"), *v);
        }
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "names are unique");
        assert!(fault_window_ms(INTERVAL_SWEEP_BASE).is_some_and(|w| w > 0));
    }
}
