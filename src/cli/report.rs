//! `halab report`: run a suite in this process on a worker pool and write
//! one HTML report (plots as SVG and PNG, `records.jsonl`, `records.csv`), or
//! re-render a report from existing run records with `--from` (no
//! simulation).
//!
//! What runs is data: the standard suite (`scenarios/suites/standard.toml`,
//! [`Suite::standard`]) or a suite file given with `--suite`
//! (`docs/suites.md`). Every scenario runs the seeds `1..=N` (`--seeds`,
//! default the suite's `seeds`). The suite's groups and sweeps tell the
//! report which records feed which plot ([`layout_of`]); with `--from` the
//! records are sorted by the same suite.
//!
//! Sweep points and other scenarios not in the catalogue are written as
//! scenario files to `DIR/scenarios/` so their repro lines work. A record
//! of a scenario that is neither built in nor in the suite (read with
//! `--from`) gets a repro line that says its scenario file is needed.
//! Names and messages from records are printed with their control
//! characters escaped.
//!
//! Runs go through the sweep worker pool (`halab_scenarios::sweep`) with a
//! progress bar; each record is appended to `DIR/records.jsonl` as it
//! finishes, so an interrupted report keeps every finished run. Appended
//! there, or written back from the records read with `--from`, each record
//! is byte for byte the one the simulator wrote (`halab_reports::record`).
//! A directory that holds records is refused without `--resume`; with it
//! only what is missing runs (matched on scenario fingerprint and seed, as
//! `sweep --resume`), and records of other scenarios or seeds stay in the
//! file, unshown. `--from` merges files, dropping repeated runs and
//! refusing conflicting ones ([`merge_records`]), and never replaces a
//! `records.jsonl` holding records the new ones lack. Then `render_report`
//! writes the page, and the summary table and the repro line of every failed run are
//! printed. Exit code as `halab sweep`: the worst verdict's; the report is
//! written first either way. Bad input exits 2.
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
use std::io::Write;
use std::path::{Path, PathBuf};
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
    parse_numbered_records, parse_records, render_report, IntervalLayout, RebalanceStats, RecordsFile, ReportInputs,
    ReportSummary, StateLayout, SuiteLayout,
};
use halab_scenarios::suite::{GroupPlot, Suite, SweepKind};
use halab_scenarios::sweep::{pairs, run_sweep, Finished};
use halab_scenarios::variants::Variation;
use halab_sim::names::{escape_control, file_name_part};
use halab_sim::{Scenario, Verdict};
use indicatif::{ProgressBar, ProgressStyle};

type Record = halab_reports::RunRecord;

/// The default output directory, relative to the working directory.
pub const DEFAULT_OUT: &str = "report";

/// Keys placed by each partitioner for the rebalancing plot.
pub const REBALANCE_KEYS: u64 = 100_000;

/// Rescales (`from` → `to` owners) of the rebalancing plot.
pub const RESCALES: [(u32, u32); 2] = [(10, 11), (10, 9)];

/// Where the scenario files of sweep points (and other scenarios not in the
/// catalogue) are written, inside the output directory.
const SCENARIO_DIR: &str = "scenarios";

pub struct Options {
    pub out: PathBuf,
    /// Seeds per scenario; `None`: the suite's.
    pub seeds: Option<u64>,
    pub jobs: Option<usize>,
    /// Record files to merge and render instead of running (empty: run).
    pub from: Vec<PathBuf>,
    pub resume: bool,
    /// Restrict the suite to these scenarios (suite members or catalogue
    /// names); empty: the whole suite.
    pub scenarios: Vec<String>,
    /// The suite file; `None`: the standard suite.
    pub suite: Option<PathBuf>,
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    let started = Instant::now();
    if opts.seeds == Some(0) {
        bail!("--seeds must be at least 1");
    }
    let suite = match &opts.suite {
        Some(path) => Suite::load(path).map_err(|e| anyhow!("{e}"))?,
        None => Suite::standard(),
    };
    let (mut records, title, records_file) = match opts.from.as_slice() {
        [] => {
            let seeds = opts.seeds.unwrap_or(suite.seeds);
            let chosen = select(&suite, &opts.scenarios)?;
            create_out_dir(&opts.out)?;
            let ran = run_in_process(&opts, seeds, &chosen)?;
            let title = format!("halab report: {} scenarios, seeds 1..={seeds}", chosen.len());
            (ran.records, title, RecordsFile::Kept { others: ran.others })
        }
        files => {
            let records = merge_records(files)?;
            create_out_dir(&opts.out)?;
            refuse_replacing(&opts.out.join(RECORDS_JSONL), &records)?;
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            (
                records,
                format!("halab report: {}", names.join(", ")),
                RecordsFile::Write,
            )
        }
    };
    records.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    let scenario_args = write_scenario_files(&opts.out, &suite, &records)?;
    let mut inputs = ReportInputs {
        title,
        scenarios_without_file: without_file(&records, &scenario_args),
        scenario_args,
        rebalancing: rebalancing_stats()?,
        records_file,
        ..layout_of(&suite).inputs(&records)
    };
    inputs.timelines = write_timelines(&opts.out, &suite, &records, &inputs)?;
    print_interval_sweep(&suite, &inputs);
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

/// A timeline page (`halab run --timeline`) for each run the report draws
/// one by one, run again in process: only where the scenario is known
/// (the suite's, or built in) with the record's fingerprint, and the run
/// again has the record's trace hash (a record of another binary is left
/// without one). File names by `(scenario, seed)`.
fn write_timelines(
    out: &Path,
    suite: &Suite,
    records: &[Record],
    inputs: &ReportInputs,
) -> anyhow::Result<BTreeMap<(String, u64), String>> {
    let keys = halab_reports::report::selected_run_keys(records, inputs).map_err(|e| anyhow!("{e}"))?;
    let known = suite.scenarios();
    let mut written = BTreeMap::new();
    for (name, seed) in keys {
        let Some(record) = records.iter().find(|r| r.scenario == name && r.seed == seed) else {
            continue;
        };
        let builtin = halab_scenarios::catalogue::load(&name).and_then(Result::ok);
        let Some(scenario) = known
            .iter()
            .copied()
            .cloned()
            .chain(builtin)
            .find(|s| s.name == name && s.fingerprint() == record.scenario_fingerprint)
        else {
            continue;
        };
        let (again, history) = halab_sim::harness::run_seed_with_history(&scenario, seed)?;
        let Some(history) = history.filter(|_| again.trace_hash == record.trace_hash) else {
            continue;
        };
        let file = format!("timeline-{}-seed-{seed}.html", file_name_part(&name));
        let page = halab_reports::timeline::render_timeline(&super::timeline::timeline_of(&history));
        let path = out.join(&file);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        written.insert((name, seed), file);
    }
    Ok(written)
}

/// The interval sweep's intervals and MTBF, and the note on its optimum.
fn print_interval_sweep(suite: &Suite, inputs: &ReportInputs) {
    let Some(sweep) = &inputs.interval_sweep else { return };
    let base = suite
        .swept(SweepKind::CheckpointInterval)
        .first()
        .map_or(String::new(), |m| m.base.clone());
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

/// The records of several files (the shards of one sweep), merged, with
/// repeats of a run — the same scenario (name and fingerprint) and seed —
/// dropped when they have the same trace hash (a file given twice, shards
/// concatenated twice), and a note saying how many. Refused, naming both
/// places: the same run with two trace hashes (nondeterminism, or records
/// of different binaries mixed), and one scenario name with two
/// fingerprints (two different scenarios, whose rows would be merged).
pub fn merge_records(files: &[PathBuf]) -> anyhow::Result<Vec<Record>> {
    let mut merge = Merge::default();
    for (i, file) in files.iter().enumerate() {
        // A file given twice: its second reading is told apart in notes.
        let again = files[..i].iter().any(|f| super::output_file::same_target(f, file));
        let tag = if again { " (the file given again)" } else { "" };
        for (line, r) in read_records(file)? {
            merge.add(format!("{}:{line}{tag}", file.display()), r)?;
        }
    }
    if let Some(first) = merge.dropped.first() {
        eprintln!(
            "note: dropped {} duplicate record(s), each the same scenario, fingerprint, seed and trace hash \
             as an earlier one (the first: {first})",
            merge.dropped.len()
        );
    }
    Ok(merge.records)
}

/// Records being merged ([`merge_records`]).
#[derive(Default)]
struct Merge {
    records: Vec<Record>,
    /// (scenario, fingerprint, seed) → where it was first seen, its trace hash.
    seen: BTreeMap<(String, String, u64), (String, String)>,
    /// Scenario name → its fingerprint and where it was first seen.
    fingerprints: BTreeMap<String, (String, String)>,
    /// Each dropped duplicate: where it is, and where its first copy is.
    dropped: Vec<String>,
}

impl Merge {
    /// Take `r`, found at `place` (`file:line`), unless it repeats a run.
    fn add(&mut self, place: String, r: Record) -> anyhow::Result<()> {
        let shown = |fp: &str| {
            if fp.is_empty() {
                "none (an older halab)".to_string()
            } else {
                fp.to_string()
            }
        };
        let (fp, first) = self
            .fingerprints
            .entry(r.scenario.clone())
            .or_insert_with(|| (r.scenario_fingerprint.clone(), place.clone()));
        if *fp != r.scenario_fingerprint {
            bail!(
                "`{}` at {first} has fingerprint {} and at {place} fingerprint {}: the records of two different \
                 scenarios of one name cannot be merged; report them apart",
                r.scenario,
                shown(fp),
                shown(&r.scenario_fingerprint)
            );
        }
        let key = (r.scenario.clone(), r.scenario_fingerprint.clone(), r.seed);
        match self.seen.get(&key) {
            Some((first, hash)) if *hash == r.trace_hash => {
                self.dropped
                    .push(format!("{} seed {} at {place}, first at {first}", r.scenario, r.seed));
                Ok(())
            }
            Some((first, hash)) => bail!(
                "{} seed {} is at {first} with trace hash {hash} and at {place} with trace hash {}: \
                 the same scenario and seed gave two different runs (nondeterminism, or records of \
                 different halab binaries mixed)",
                r.scenario,
                r.seed,
                r.trace_hash
            ),
            None => {
                self.seen.insert(key, (place, r.trace_hash.clone()));
                self.records.push(r);
                Ok(())
            }
        }
    }
}

/// Refuse to replace `jsonl` (a report's `records.jsonl`) with `records`
/// unless it holds none that `records` lacks: rendering rewrites it.
pub(super) fn refuse_replacing(jsonl: &Path, records: &[Record]) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(jsonl) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", jsonl.display())),
    };
    let old = parse_records(&text).map_err(|e| {
        anyhow!(
            "{} is there and is not a records file ({e}); rendering would replace it: choose another --out",
            jsonl.display()
        )
    })?;
    let key = |r: &Record| {
        (
            r.scenario.clone(),
            r.scenario_fingerprint.clone(),
            r.seed,
            r.trace_hash.clone(),
        )
    };
    let new: BTreeSet<_> = records.iter().map(key).collect();
    let lost: Vec<&Record> = old.iter().filter(|r| !new.contains(&key(r))).collect();
    if let Some(first) = lost.first() {
        bail!(
            "{} already holds {} run record(s) that the new records lack (the first: {} seed {}); \
             rendering would replace them: add that file to --from, or choose another --out",
            jsonl.display(),
            lost.len(),
            first.scenario,
            first.seed
        );
    }
    Ok(())
}

/// Run records from a JSON Lines file with their line numbers; errors name
/// the file and line.
fn read_records(file: &Path) -> anyhow::Result<Vec<(usize, Record)>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let records = parse_numbered_records(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    if records.is_empty() {
        bail!("{} holds no run records", file.display());
    }
    Ok(records)
}

/// What the report needs to know of `suite`: the plots its groups feed and
/// its sweep points by value.
pub fn layout_of(suite: &Suite) -> SuiteLayout {
    let names = |plot| suite.plotted(plot).into_iter().map(String::from).collect();
    let interval = suite.swept(SweepKind::CheckpointInterval);
    let interval_sweep = interval.first().map(|first| IntervalLayout {
        base: first.base.clone(),
        fault_window_ms: Some(fault_window_ms(&first.scenario)),
        members: interval
            .iter()
            .filter_map(|m| match m.variation {
                Variation::CheckpointInterval(ms) => Some((m.scenario.name.clone(), ms)),
                Variation::StatePerKey(_) => None,
            })
            .collect(),
    });
    let mut state: BTreeMap<&str, StateLayout> = BTreeMap::new();
    for m in suite.swept(SweepKind::StatePerKey) {
        if let Variation::StatePerKey(bytes) = m.variation {
            let line = state.entry(&m.base).or_insert_with(|| StateLayout {
                base: m.base.clone(),
                ..StateLayout::default()
            });
            line.members.insert(m.scenario.name.clone(), bytes);
        }
    }
    SuiteLayout {
        policy_scenarios: names(GroupPlot::RestartPolicies),
        alignment_scenarios: names(GroupPlot::Alignment),
        interval_sweep,
        state_sweeps: state.into_values().collect(),
    }
}

/// The length of the window in which `s`'s faults strike (ms).
fn fault_window_ms(s: &Scenario) -> u64 {
    match &s.faults.random {
        Some(r) => r.window[1].as_millis().saturating_sub(r.window[0].as_millis()),
        None => s.duration.as_millis(),
    }
}

/// The suite's scenarios, or those `filter` names, in the suite's order
/// (then the filter's): suite members, or catalogue scenarios outside it.
fn select(suite: &Suite, filter: &[String]) -> anyhow::Result<Vec<Scenario>> {
    let all: Vec<Scenario> = suite.scenarios().into_iter().cloned().collect();
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
            None => halab_scenarios::catalogue::load(name)
                .ok_or_else(|| {
                    anyhow!(
                        "--scenarios: unknown scenario `{name}`; the suite: {}",
                        all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                    )
                })?
                .map_err(|e| anyhow!("{e}"))?,
        };
        out.push(s);
    }
    Ok(out)
}

/// The scenarios of `records` that are neither built in nor in `known`
/// (scenario name → its file): their repro lines cannot name a file.
pub(super) fn without_file(records: &[Record], known: &BTreeMap<String, String>) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| &r.scenario)
        .filter(|name| !known.contains_key(*name) && halab_scenarios::catalogue::load(name).is_none())
        .cloned()
        .collect()
}

/// Write every scenario of `suite` that has records but is not the
/// catalogue's (sweep points, scenario files) to `DIR/scenarios/<name>.toml`
/// (the name made safe as a file name) and return scenario name → that
/// path, for the repro lines.
fn write_scenario_files(out: &Path, suite: &Suite, records: &[Record]) -> anyhow::Result<BTreeMap<String, String>> {
    let present: BTreeSet<&str> = records.iter().map(|r| r.scenario.as_str()).collect();
    let mut args = BTreeMap::new();
    for s in suite
        .scenarios()
        .into_iter()
        .filter(|s| present.contains(s.name.as_str()))
    {
        if halab_scenarios::catalogue::load(&s.name).is_some_and(|c| c.as_ref() == Ok(s)) {
            continue;
        }
        let dir = out.join(SCENARIO_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.toml", file_name_part(&s.name)));
        let text = s
            .to_toml()
            .map_err(|e| anyhow!("cannot write scenario {}: {e}", s.name))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        args.insert(s.name.clone(), path.display().to_string());
    }
    Ok(args)
}

/// The records of a report's run: those it renders, old and new, and the
/// others `DIR/records.jsonl` holds (other scenarios or seeds), kept there.
struct Ran {
    records: Vec<Record>,
    others: Vec<Record>,
}

/// The records already in `DIR/records.jsonl`. Without `--resume` there must
/// be none (a report never overwrites finished runs); with it, those of
/// `scenarios`' names must come from those scenarios and this halab.
fn previous_records(jsonl: &Path, resume: bool, scenarios: &[Scenario]) -> anyhow::Result<Vec<Record>> {
    let holds_records = std::fs::metadata(jsonl).is_ok_and(|m| m.len() > 0);
    if !holds_records {
        std::fs::File::create(jsonl).with_context(|| format!("cannot write {}", jsonl.display()))?;
        return Ok(Vec::new());
    }
    if !resume {
        bail!(
            "{} already holds run records; continue them with --resume, or choose another --out directory",
            jsonl.display()
        );
    }
    // Cuts a partial last line left by an interrupted write.
    let finished = Finished::read(jsonl).map_err(anyhow::Error::msg)?;
    finished.check(jsonl, scenarios).map_err(|e| {
        anyhow!("{e}; --resume continues a report only with the scenarios and the halab that wrote it: choose another --out directory")
    })?;
    Ok(read_records(jsonl)?.into_iter().map(|(_, r)| r).collect())
}

/// Split `old` into the records of `scenarios` × seeds `1..=seeds` (each
/// run once) and the others.
fn split_previous(old: Vec<Record>, scenarios: &[Scenario], seeds: u64) -> Ran {
    let fingerprints: BTreeSet<String> = scenarios.iter().map(Scenario::fingerprint).collect();
    let mut taken = Finished::default();
    let mut ran = Ran {
        records: Vec::new(),
        others: Vec::new(),
    };
    for r in old {
        if !(fingerprints.contains(&r.scenario_fingerprint) && (1..=seeds).contains(&r.seed)) {
            ran.others.push(r);
        } else if !taken.contains(&r.scenario_fingerprint, r.seed) {
            taken.add(&r.scenario, &r.scenario_fingerprint, &r.halab_version, r.seed);
            ran.records.push(r);
        }
    }
    ran
}

/// Run every (scenario, seed) of `scenarios` × `1..=seeds` that is not
/// already in `DIR/records.jsonl` (with `--resume`) on the sweep's worker
/// pool in this process, appending each record to the file as it finishes.
/// Records of other scenarios or seeds in the file stay there.
fn run_in_process(opts: &Options, seeds: u64, scenarios: &[Scenario]) -> anyhow::Result<Ran> {
    let jsonl = opts.out.join(RECORDS_JSONL);
    let mut ran = split_previous(previous_records(&jsonl, opts.resume, scenarios)?, scenarios, seeds);
    if !ran.others.is_empty() {
        println!(
            "keeping {} record(s) of other scenarios or seeds in {}; this report does not show them",
            ran.others.len(),
            jsonl.display()
        );
    }
    let mut done = Finished::default();
    for r in &ran.records {
        done.add(&r.scenario, &r.scenario_fingerprint, &r.halab_version, r.seed);
    }
    let fingerprints: Vec<String> = scenarios.iter().map(Scenario::fingerprint).collect();
    let work = pairs(scenarios.len(), 1..=seeds).filter(|&(i, seed)| !done.contains(&fingerprints[i], seed));
    let to_run = u128::from(seeds) * scenarios.len() as u128 - ran.records.len() as u128;
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!(
        "halab report: {} scenario(s) x seeds 1..={seeds}; {to_run} runs to do ({} already done), {jobs} jobs; writing {}",
        scenarios.len(),
        ran.records.len(),
        opts.out.display()
    );
    let new = run_appending(&jsonl, scenarios, work, to_run, jobs)?;
    assert_eq!(new.len() as u128, to_run, "invariant: every run gives one record");
    ran.records.extend(new);
    Ok(ran)
}

/// Run `work` on `jobs` threads with a progress bar, appending each record
/// to `jsonl` as it finishes.
fn run_appending(
    jsonl: &Path,
    scenarios: &[Scenario],
    work: impl Iterator<Item = (usize, u64)> + Send,
    to_run: u128,
    jobs: usize,
) -> anyhow::Result<Vec<Record>> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(jsonl)
        .with_context(|| format!("cannot open {}", jsonl.display()))?;
    let bar = ProgressBar::new(u64::try_from(to_run).unwrap_or(u64::MAX));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut out = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let mut failed = 0usize;
    let started = Instant::now();
    let swept = run_sweep(scenarios, work, jobs, false, |r| {
        let line = serde_json::to_string(&r).unwrap_or_default();
        let appended = file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot append to {}", jsonl.display()));
        let read = appended.and_then(|()| {
            serde_json::from_str::<Record>(&line).map_err(|e| anyhow!("a record does not read back: {e}"))
        });
        if r.verdict != Verdict::Pass {
            failed += 1;
            bar.println(format!(
                "{} seed {}: {} {}",
                escape_control(&r.scenario),
                r.seed,
                r.verdict.as_str(),
                escape_control(r.message.as_deref().unwrap_or_default())
            ));
        }
        match read {
            Ok(record) => out.push(record),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
        bar.inc(1);
        bar.set_message(format!("{failed} failed"));
    });
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    swept.context("a run could not reach a verdict, so the sweep stopped; the records of finished runs are kept")?;
    let elapsed = started.elapsed().as_secs_f64();
    if !out.is_empty() && elapsed > 0.0 {
        println!(
            "ran {} runs in {elapsed:.1}s wall ({:.1} runs/s); records: {}",
            out.len(),
            out.len() as f64 / elapsed,
            jsonl.display()
        );
    }
    Ok(out)
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
        .map(|r| escape_control(&r.scenario).len())
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
            escape_control(&r.scenario),
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
                escape_control(&r.scenario),
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
            escape_control(&f.scenario),
            f.seed,
            f.verdict.as_str(),
            escape_control(f.message.as_deref().unwrap_or_default())
        );
        println!("  reproduce: {}", escape_control(&f.repro));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_layout_feeds_every_plot() {
        let suite = Suite::standard();
        let layout = layout_of(&suite);
        let interval = layout.interval_sweep.as_ref().expect("an interval sweep");
        assert_eq!(interval.base, "interval-tradeoff");
        assert_eq!(
            interval.members.values().copied().collect::<BTreeSet<_>>(),
            [250, 500, 1000, 1500, 2500, 4000, 8000].into()
        );
        // interval-tradeoff's faults: a random storm over its 150 s window.
        assert_eq!(interval.fault_window_ms, Some(150_000));
        assert_eq!(layout.state_sweeps.len(), 3);
        assert!(layout.state_sweeps.iter().all(|s| s.members.len() == 3));
        assert_eq!(layout.policy_scenarios.len(), 5);
        assert_eq!(layout.alignment_scenarios[0], "backpressure-aligned");
    }

    #[test]
    fn repro_lines_of_records_and_of_runs_agree() {
        for arg in ["tm-crash", "my dir/it's.toml", "a$b", "~/x.toml", "", "x\ny", "k=v,w"] {
            assert_eq!(
                halab_reports::record::repro_line_for(arg, 3),
                halab_sim::RunRecord::repro_line_for(arg, 3),
                "{arg:?}"
            );
        }
    }

    #[test]
    fn a_filter_takes_suite_members_and_catalogue_scenarios() {
        let suite = Suite::standard();
        let chosen = select(
            &suite,
            &["zombie-tm".into(), "interval-tradeoff-checkpoint-interval-1s".into()],
        )
        .expect("known names");
        assert_eq!(chosen[1].name, "interval-tradeoff-checkpoint-interval-1s");
        assert!(select(&suite, &["no-such".into()]).is_err());
    }
}
