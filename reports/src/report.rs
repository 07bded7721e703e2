//! `render_report`: records in, a directory out — `records.jsonl` (unless
//! the caller keeps its own, [`RecordsFile`]), `records.csv`, every plot as
//! SVG and PNG, and `index.html`. Each file is written whole or not at all.
//!
//! What the records alone cannot tell (which scenario file a name came
//! from, which scenarios form a restart-policy comparison, a checkpoint
//! interval sweep, partitioner measurements) comes in [`ReportInputs`]; each
//! part has a default so `ReportInputs::default()` gives a useful report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::comparison::{comparison_groups, ComparisonGroup};
use crate::csv::to_csv;
use crate::error::ReportError;
use crate::html::{render_html, Page, Section};
use crate::plots::checkpoints::{alignment_cdfs, plot_alignment, plot_checkpoints_over_time};
use crate::plots::interval_sweep::{plot_interval_sweep, IntervalSweep};
use crate::plots::latency::plot_latency;
use crate::plots::load::{hottest, plot_load};
use crate::plots::migration::{migration_rows, plot_migration};
use crate::plots::policies::plot_restart_policies;
use crate::plots::rebalancing::{plot_rebalancing, RebalanceStats};
use crate::plots::recovery::{plot_recovery_breakdown, plot_recovery_cdf};
use crate::plots::state_size::{plot_state_size, StateSizeLine};
use crate::plots::throughput::plot_throughput;
use crate::plots::{file_stem, PlotDescription};
use crate::record::{to_jsonl, RunRecord, SubtaskMetrics, Verdict};
use crate::summary::{failed_runs, scenario_rows, FailedRun, ScenarioRow};

/// File names written into the output directory besides the plots.
pub const RECORDS_JSONL: &str = "records.jsonl";
pub const RECORDS_CSV: &str = "records.csv";
pub const INDEX_HTML: &str = "index.html";

/// The most scenarios drawn in one alignment plot when the caller does not
/// choose them (more lines are unreadable).
pub const MAX_DEFAULT_ALIGNMENT_SCENARIOS: usize = 10;

/// What the report needs besides the records.
#[derive(Clone, Debug, Default)]
pub struct ReportInputs {
    /// The page title; empty: "halab report".
    pub title: String,
    /// Scenario name → the argument that loads it, for repro lines, when
    /// that is not the name (a scenario file: `tests/fixtures/x.toml`).
    pub scenario_args: BTreeMap<String, String>,
    /// Scenarios that are not built in and whose file is not known: their
    /// repro lines say that the scenario's file is needed.
    pub scenarios_without_file: BTreeSet<String>,
    /// Runs `(scenario, seed)` to draw throughput and checkpoints for;
    /// empty: one per scenario — its first failed seed, else its first seed.
    pub runs: Vec<(String, u64)>,
    /// Scenarios compared as restart policies under one storm, in order;
    /// empty: the scenarios whose names start with `storm-`.
    pub policy_scenarios: Vec<String>,
    /// Scenarios whose alignment times are compared, in order; empty: those
    /// whose names contain `align` (aligned, unaligned) or `alternating`,
    /// else the first ten with checkpoints.
    pub alignment_scenarios: Vec<String>,
    /// A checkpoint interval sweep (records grouped by interval); `None`: no
    /// sweep plot.
    pub interval_sweep: Option<IntervalSweep>,
    /// Recovery strategies run at several state sizes; empty: no plot.
    pub state_size_sweep: Vec<StateSizeLine>,
    /// Rebalancing measurements per partitioner; empty: no plot.
    pub rebalancing: Vec<RebalanceStats>,
    /// Whether `records.jsonl` is written from the records or is the
    /// caller's.
    pub records_file: RecordsFile,
    /// Timeline pages beside the report, by `(scenario, seed)`: file names
    /// relative to the output directory, linked from the runs they show.
    pub timelines: BTreeMap<(String, u64), String>,
}

/// What [`render_report`] does with `records.jsonl`.
#[derive(Clone, Debug, Default)]
pub enum RecordsFile {
    /// Write it from the rendered records.
    #[default]
    Write,
    /// It is the caller's (who appended each record as its run finished)
    /// and stays as it is. Besides the rendered records it holds `others`,
    /// which the page does not show; `records.csv` lists them after the
    /// rendered ones, so both files hold the same records.
    Kept { others: Vec<RunRecord> },
}

/// What `render_report` wrote.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    pub out_dir: PathBuf,
    /// `index.html`.
    pub index: PathBuf,
    /// Every file written, the page last.
    pub files: Vec<PathBuf>,
    pub scenarios: Vec<ScenarioRow>,
    pub failed: Vec<FailedRun>,
    pub plots: Vec<PlotDescription>,
    /// Strategies side by side on identical fault schedules.
    pub comparisons: Vec<ComparisonGroup>,
}

/// Write `text` to `path` whole or not at all: into a temporary file
/// beside it, renamed over it once written, so an interrupted report never
/// leaves a truncated `records.jsonl`.
fn write(path: PathBuf, text: &str, files: &mut Vec<PathBuf>) -> Result<(), ReportError> {
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text).map_err(|e| ReportError::io(&partial, e))?;
    std::fs::rename(&partial, &path).map_err(|e| ReportError::io(&path, e))?;
    files.push(path);
    Ok(())
}

/// Scenario names in order of first appearance in the sorted records.
fn scenario_names(records: &[RunRecord]) -> Vec<String> {
    let mut names: Vec<String> = records.iter().map(|r| r.scenario.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// The `(scenario, seed)` of each run the report draws one by one
/// (`ReportInputs::runs`, else one per scenario): the runs a timeline page
/// is worth writing for.
pub fn selected_run_keys(records: &[RunRecord], extra: &ReportInputs) -> Result<Vec<(String, u64)>, ReportError> {
    Ok(selected_runs(records, extra)?
        .into_iter()
        .map(|r| (r.scenario.clone(), r.seed))
        .collect())
}

/// The runs to draw one by one.
fn selected_runs<'a>(records: &'a [RunRecord], extra: &ReportInputs) -> Result<Vec<&'a RunRecord>, ReportError> {
    if !extra.runs.is_empty() {
        return extra
            .runs
            .iter()
            .map(|(s, seed)| {
                records
                    .iter()
                    .find(|r| &r.scenario == s && r.seed == *seed)
                    .ok_or_else(|| ReportError::Input(format!("no record of scenario {s} seed {seed}")))
            })
            .collect();
    }
    Ok(scenario_names(records)
        .iter()
        .filter_map(|s| {
            let runs = records.iter().filter(|r| &r.scenario == s);
            let failed = runs
                .clone()
                .filter(|r| r.verdict != Verdict::Pass)
                .min_by_key(|r| r.seed);
            failed.or_else(|| runs.min_by_key(|r| r.seed))
        })
        .collect())
}

fn policy_scenarios(records: &[RunRecord], extra: &ReportInputs) -> Vec<String> {
    if !extra.policy_scenarios.is_empty() {
        return extra.policy_scenarios.clone();
    }
    scenario_names(records)
        .into_iter()
        .filter(|s| s.starts_with("storm-"))
        .collect()
}

fn alignment_scenarios(records: &[RunRecord], extra: &ReportInputs) -> Vec<String> {
    if !extra.alignment_scenarios.is_empty() {
        return extra.alignment_scenarios.clone();
    }
    let names = scenario_names(records);
    let chosen: Vec<String> = names
        .iter()
        .filter(|s| s.contains("align") || s.contains("alternating"))
        .cloned()
        .collect();
    if !chosen.is_empty() {
        return chosen;
    }
    names.into_iter().take(MAX_DEFAULT_ALIGNMENT_SCENARIOS).collect()
}

/// What the interval sweep measured against Young's and Daly's optimum.
pub fn interval_note(sweep: &IntervalSweep) -> String {
    let s = |ms: Option<f64>| ms.map_or_else(|| "none".to_string(), |v| format!("{:.2} s", v / 1000.0));
    let off = match (sweep.measured_optimum_ms(), sweep.young_ms()) {
        (Some(m), Some(y)) if y > 0.0 => format!(" ({:+.0}% from Young's)", (m / y - 1.0) * 100.0),
        _ => String::new(),
    };
    format!(
        "Best checkpoint interval: measured {}{off} as the maximum of the first-order fit a + b/T + c·T to \
         the committed throughput; Young's √(2·C·M) = {}, Daly's {}, with C = {} (the mean synchronous \
         phase of the completed checkpoints) and M = {:.1} s (the mean time between the plan's faults). \
         tests/checkpoint_interval.rs holds the measured optimum within 25% of Young's for three (C, M) pairs.",
        s(sweep.measured_optimum_ms()),
        s(sweep.young_ms()),
        s(sweep.daly_ms()),
        sweep
            .checkpoint_cost_ms()
            .map_or_else(|| "unknown".to_string(), |c| format!("{c:.0} ms")),
        sweep.mtbf_ms / 1000.0
    )
}

/// Write the report for `records` into `out_dir` (created if missing):
/// `records.jsonl`, `records.csv`, the plots (`<name>.svg` and `<name>.png`)
/// and `index.html`, which embeds the SVG plots and links every other file
/// by relative path.
pub fn render_report(
    records: &[RunRecord],
    extra: &ReportInputs,
    out_dir: &Path,
) -> Result<ReportSummary, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    let mut files = Vec::new();
    match &extra.records_file {
        RecordsFile::Write => {
            write(out_dir.join(RECORDS_JSONL), &to_jsonl(records)?, &mut files)?;
            write(out_dir.join(RECORDS_CSV), &to_csv(records), &mut files)?;
        }
        RecordsFile::Kept { others } => {
            let all: Vec<RunRecord> = records.iter().chain(others).cloned().collect();
            write(out_dir.join(RECORDS_CSV), &to_csv(&all), &mut files)?;
        }
    }

    let sections = vec![
        runs_section(records, extra, out_dir)?,
        load_section(records, extra, out_dir)?,
        recovery_section(records, extra, out_dir)?,
        policies_section(records, extra, out_dir)?,
        checkpoints_section(records, extra, out_dir)?,
        theory_section(extra, out_dir)?,
        rebalancing_section(records, extra, out_dir)?,
    ];
    let plots: Vec<PlotDescription> = sections.iter().flat_map(|s| s.plots.clone()).collect();
    for p in &plots {
        files.push(p.svg.clone());
        files.push(p.png.clone());
    }
    let rows = scenario_rows(records);
    let failed = failed_runs(records, &extra.scenario_args, &extra.scenarios_without_file);
    let title = if extra.title.is_empty() {
        "halab report"
    } else {
        &extra.title
    };
    let data_files = [RECORDS_JSONL.to_string(), RECORDS_CSV.to_string()];
    let comparisons = comparison_groups(records);
    let mut svg = BTreeMap::new();
    for p in &plots {
        let text = std::fs::read_to_string(&p.svg).map_err(|e| ReportError::io(&p.svg, e))?;
        svg.insert(p.name.clone(), text);
    }
    let html = render_html(&Page {
        title,
        records: records.len(),
        rows: &rows,
        failed: &failed,
        sections: &sections,
        data_files: &data_files,
        svg: &svg,
        comparisons: &comparisons,
    });
    let index = out_dir.join(INDEX_HTML);
    write(index.clone(), &html, &mut files)?;
    Ok(ReportSummary {
        out_dir: out_dir.to_path_buf(),
        index,
        files,
        scenarios: rows,
        failed,
        plots,
        comparisons,
    })
}

fn section(heading: &str) -> Section {
    Section {
        heading: heading.into(),
        ..Default::default()
    }
}

/// Throughput, checkpoints and latency of each selected run.
fn runs_section(records: &[RunRecord], extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut runs = section("Runs: throughput and checkpoints");
    for r in selected_runs(records, extra)? {
        let seed = r.seed.to_string();
        if let Some(file) = extra.timelines.get(&(r.scenario.clone(), r.seed)) {
            runs.links
                .push((format!("timeline of {} seed {}", r.scenario, r.seed), file.clone()));
        }
        runs.plots.push(plot_throughput(
            r,
            out_dir,
            &file_stem(&["throughput", &r.scenario, &seed]),
        )?);
        runs.plots.push(plot_checkpoints_over_time(
            r,
            out_dir,
            &file_stem(&["checkpoints", &r.scenario, &seed]),
        )?);
        runs.plots
            .push(plot_latency(r, out_dir, &file_stem(&["latency", &r.scenario, &seed]))?);
    }
    Ok(runs)
}

/// A run's keyed subtasks took in uneven shares of the records when the
/// hottest took at least this many times the mean.
pub const UNEVEN_LOAD: f64 = 1.2;

/// The hottest keyed subtask is the job's bottleneck when it is busy at
/// least this many ms per second (half the time).
pub const HOT_BUSY_MS_PER_SECOND: u64 = 500;

/// The hottest keyed subtask of `r` against the mean of its vertex: its
/// share of the vertex's records and that share over the mean share.
pub fn load_imbalance(r: &RunRecord) -> Option<(&SubtaskMetrics, f64, f64)> {
    let hot = hottest(r)?;
    let peers: Vec<&SubtaskMetrics> = r.subtasks.iter().filter(|s| s.vertex == hot.vertex).collect();
    let total: u64 = peers.iter().map(|s| s.num_records_in).sum();
    if total == 0 {
        return None;
    }
    let share = hot.num_records_in as f64 / total as f64;
    Some((hot, share, share * peers.len() as f64))
}

/// What a run's subtask load comes to: its hottest keyed subtask, that
/// subtask's share of its vertex's records and the share over the mean,
/// and how long the sources waited for output credit, on average.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadSummary<'a> {
    pub hot: &'a SubtaskMetrics,
    pub share: f64,
    pub over_mean: f64,
    pub sources_back_pressured_ms_per_second: u64,
}

/// The load summary of `r`; `None` without a keyed subtask that took in
/// records. `halab run`'s load line and the report's load note both say it.
pub fn load_summary(r: &RunRecord) -> Option<LoadSummary<'_>> {
    let (hot, share, over_mean) = load_imbalance(r)?;
    let sources: Vec<u64> = r
        .subtasks
        .iter()
        .filter(|s| s.vertex == "source")
        .map(|s| s.back_pressured_time_ms_per_second)
        .collect();
    Some(LoadSummary {
        hot,
        share,
        over_mean,
        sources_back_pressured_ms_per_second: sources.iter().sum::<u64>() / (sources.len() as u64).max(1),
    })
}

/// What the load plot of `r` shows, in words: the hottest keyed subtask,
/// its share and how busy it was, and how back-pressured the sources were.
pub fn load_note(r: &RunRecord) -> Option<String> {
    let l = load_summary(r)?;
    Some(format!(
        "{} seed {}: the hottest keyed subtask, {}[{}], took {:.0}% of its vertex's records ({:.2}× the mean) \
         and was busy {} ms per second; the sources were back-pressured {} ms per second on average.",
        r.scenario,
        r.seed,
        l.hot.vertex,
        l.hot.subtask,
        l.share * 100.0,
        l.over_mean,
        l.hot.busy_time_ms_per_second,
        l.sources_back_pressured_ms_per_second
    ))
}

/// Subtask load of each selected run whose keyed subtasks took uneven
/// shares of the records and whose hottest one was busy at least half the
/// time: key skew that makes a bottleneck (uneven shares alone are common
/// with few keys, and harmless while the subtasks keep up).
fn load_section(records: &[RunRecord], extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut load = section("Subtask load under key skew");
    for r in selected_runs(records, extra)? {
        let hot = load_imbalance(r).is_some_and(|(s, _, over_mean)| {
            over_mean >= UNEVEN_LOAD && s.busy_time_ms_per_second >= HOT_BUSY_MS_PER_SECOND
        });
        if !hot {
            continue;
        }
        let stem = file_stem(&["load", &r.scenario, &r.seed.to_string()]);
        if let Some(plot) = plot_load(r, out_dir, &stem)? {
            load.notes.extend(load_note(r));
            load.plots.push(plot);
        }
    }
    Ok(load)
}

/// Recovery phases, their distribution, and recovery against state size.
fn recovery_section(records: &[RunRecord], extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut recovery = section("Recovery latency");
    if records.iter().any(|r| !r.recovery.is_empty()) {
        recovery
            .plots
            .push(plot_recovery_breakdown(records, out_dir, "recovery-breakdown")?);
        recovery
            .plots
            .push(plot_recovery_cdf(records, out_dir, "recovery-cdf")?);
    }
    if !extra.state_size_sweep.is_empty() {
        recovery.plots.push(plot_state_size(
            &extra.state_size_sweep,
            out_dir,
            "recovery-state-size",
        )?);
    }
    Ok(recovery)
}

/// The restart policies under one storm.
fn policies_section(records: &[RunRecord], extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut policies = section("Restart policies");
    let policy = policy_scenarios(records, extra);
    if records.iter().any(|r| policy.contains(&r.scenario)) {
        policies
            .plots
            .push(plot_restart_policies(records, &policy, out_dir, "restart-policies")?);
    }
    Ok(policies)
}

/// Alignment times of the barrier modes.
fn checkpoints_section(records: &[RunRecord], extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut checkpoints = section("Checkpoints");
    let aligned = alignment_scenarios(records, extra);
    if !alignment_cdfs(records, &aligned).is_empty() {
        checkpoints
            .plots
            .push(plot_alignment(records, &aligned, out_dir, "checkpoint-alignment")?);
    }
    Ok(checkpoints)
}

/// The checkpoint interval sweep beside Young's and Daly's optimum.
fn theory_section(extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut theory = section("Model against theory");
    if let Some(sweep) = &extra.interval_sweep {
        theory.notes.push(interval_note(sweep));
        theory
            .plots
            .push(plot_interval_sweep(sweep, out_dir, "checkpoint-interval-sweep")?);
    }
    Ok(theory)
}

/// Keys moved per partitioner, and migration time per rescale.
fn rebalancing_section(records: &[RunRecord], extra: &ReportInputs, out_dir: &Path) -> Result<Section, ReportError> {
    let mut rebalancing = section("Rebalancing");
    if !extra.rebalancing.is_empty() {
        rebalancing
            .plots
            .push(plot_rebalancing(&extra.rebalancing, out_dir, "rebalancing")?);
    }
    if !migration_rows(records).is_empty() {
        rebalancing
            .plots
            .push(plot_migration(records, out_dir, "rescale-migration")?);
    }
    Ok(rebalancing)
}
