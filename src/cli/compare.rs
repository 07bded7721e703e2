//! `halab compare <scenario>... --vary KEY=V1,V2,... [--vary ...] --seeds A..B`:
//! every combination of the varied keys, for each scenario given, run on
//! the same seeds (so under the same fault plans wherever the varied keys
//! leave the plan alone), and per scenario two side-by-side tables
//! (recovery and throughput; what checkpointing costs: latency p99, the
//! protocol's messages and bytes, forced snapshots) with the best value of
//! each column marked `*`. Values are split at commas outside parentheses
//! (`job.key-distribution=uniform,hot(0.8, 10)`).
//!
//! A variant is named for what varies: `<base>--<key>=<value>` per varied
//! key (`tm-crash--restart-strategy.type=fixed-delay`), with every character
//! a scenario name may not hold (`halab_sim::names`) written `_`, so the
//! variant's scenario file loads under the same name. Keys are read as
//! `--set` reads them (see `halab_scenarios::overrides`). With `--out DIR` the runs'
//! records, the variants as scenario files and an HTML report of the
//! comparison are written there; records already there that the new ones
//! lack are never replaced (exit 2). Repro lines quote their words for a
//! POSIX shell where needed. Exit code as `halab sweep`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use halab_reports::plots::interval_sweep::committed_per_s;
use halab_reports::report::RECORDS_JSONL;
use halab_reports::stats::median;
use halab_reports::{comparison::comparison_row, render_report, ReportInputs};
use halab_scenarios::sweep::{pairs, run_sweep, SeedRange};
use halab_sim::names::{escape_control, file_name_part, shell_quote};
use halab_sim::Scenario;

use halab_scenarios::overrides;

use super::scenario_arg;

pub struct Options {
    pub scenarios: Vec<String>,
    pub vary: Vec<String>,
    pub set: Vec<String>,
    pub seeds: SeedRange,
    pub jobs: Option<usize>,
    pub out: Option<PathBuf>,
    /// Record files to compare instead of running.
    pub from: Vec<PathBuf>,
}

type Record = halab_reports::RunRecord;

/// A varied key and its values, as given.
struct Axis {
    key: String,
    values: Vec<String>,
}

fn axes(vary: &[String]) -> anyhow::Result<Vec<Axis>> {
    if vary.is_empty() {
        bail!("give at least one --vary KEY=V1,V2,...");
    }
    let mut seen = BTreeSet::new();
    vary.iter()
        .map(|arg| {
            let (key, list) = overrides::split(arg, "--vary").map_err(anyhow::Error::msg)?;
            if !seen.insert(key.clone()) {
                bail!("--vary {key} is given twice; list its values in one --vary");
            }
            let values: Vec<String> = split_values(&list).into_iter().map(|v| v.trim().to_string()).collect();
            if values.iter().any(String::is_empty) {
                bail!("--vary {arg}: an empty value");
            }
            let unique: BTreeSet<&String> = values.iter().collect();
            if unique.len() != values.len() {
                bail!("--vary {arg}: a value is listed twice");
            }
            Ok(Axis { key, values })
        })
        .collect()
}

/// `list` split at the commas outside parentheses (`uniform,hot(0.8, 10)`
/// is two values).
fn split_values(list: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&list[start..]);
    out
}

/// A variant: its scenario, the `--vary` settings that made it, and the
/// argument naming its base scenario.
struct Variant {
    scenario: Scenario,
    sets: Vec<String>,
    base_arg: String,
}

/// Every combination of the axes' values applied to each base, named for
/// it; two variants that get one name are refused.
fn variants_of_all(bases: &[(String, Scenario)], axes: &[Axis]) -> anyhow::Result<Vec<Variant>> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (arg, base) in bases {
        for (scenario, sets) in variants(base, axes)? {
            if !names.insert(scenario.name.clone()) {
                bail!(
                    "two variants are both named `{}`: give each scenario once",
                    scenario.name
                );
            }
            out.push(Variant {
                scenario,
                sets,
                base_arg: arg.clone(),
            });
        }
    }
    Ok(out)
}

/// Every combination of the axes' values applied to `base`, named for it;
/// two values that give one name are refused.
fn variants(base: &Scenario, axes: &[Axis]) -> anyhow::Result<Vec<(Scenario, Vec<String>)>> {
    let mut out = vec![(base.clone(), Vec::new())];
    for axis in axes {
        let mut next = Vec::new();
        for (s, sets) in &out {
            for value in &axis.values {
                let mut v = overrides::apply(s, &axis.key, value, "--vary").map_err(anyhow::Error::msg)?;
                v.name = file_name_part(&format!("{}--{}={}", s.name, axis.key, value));
                let mut sets = sets.clone();
                sets.push(format!("{}={}", axis.key, value));
                next.push((v, sets));
            }
        }
        out = next;
    }
    let mut names = BTreeSet::new();
    if let Some((s, _)) = out.iter().find(|(s, _)| !names.insert(s.name.clone())) {
        bail!(
            "two variants are both named `{}`: values that differ only in characters a scenario name cannot \
             hold (written `_`) cannot be told apart",
            s.name
        );
    }
    Ok(out)
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    if !opts.from.is_empty() {
        return from_files(&opts);
    }
    let mut bases = Vec::new();
    for arg in &opts.scenarios {
        let base = overrides::apply_sets(scenario_arg::load(arg)?, &opts.set).map_err(anyhow::Error::msg)?;
        bases.push((arg.clone(), base));
    }
    let axes = axes(&opts.vary)?;
    let variants = variants_of_all(&bases, &axes)?;
    let seeds = opts.seeds.count(None);
    let work = pairs(variants.len(), opts.seeds.seeds(None));
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!(
        "halab compare: {} variants x {seeds} seeds of {} ({} runs, {jobs} jobs)",
        variants.len(),
        bases.iter().map(|(_, b)| b.name.as_str()).collect::<Vec<_>>().join(" "),
        seeds * variants.len() as u128
    );
    let scenarios: Vec<Scenario> = variants.iter().map(|v| v.scenario.clone()).collect();
    let mut records: Vec<Record> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let swept = run_sweep(&scenarios, work, jobs, false, |r| {
        let parsed = serde_json::to_string(&r)
            .map_err(|e| anyhow!("{e}"))
            .and_then(|j| serde_json::from_str::<Record>(&j).map_err(|e| anyhow!("{e}")));
        match parsed {
            Ok(rec) => records.push(rec),
            Err(e) => failure = Some(e.context("invariant: a run record reads back")),
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    swept.context("a run could not reach a verdict, so the comparison stopped")?;
    records.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    for (arg, _) in &bases {
        let names: Vec<String> = variants
            .iter()
            .filter(|v| &v.base_arg == arg)
            .map(|v| v.scenario.name.clone())
            .collect();
        if bases.len() > 1 {
            println!("\n{}:", escape_control(arg));
        }
        print_table(&names, &records);
    }
    print_failures(&records, |r| {
        let v = variants.iter().find(|v| v.scenario.name == r.scenario)?;
        Some(repro(&opts, &v.base_arg, &v.sets, r.seed))
    });
    if let Some(dir) = &opts.out {
        write_out(dir, &opts, &variants, &records)?;
    }
    Ok(super::report::exit_code(&records))
}

/// The table of the records in `opts.from` (merged), one row per scenario.
fn from_files(opts: &Options) -> anyhow::Result<i32> {
    let mut records = super::report::merge_records(&opts.from)?;
    records.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    let names: BTreeSet<String> = records.iter().map(|r| r.scenario.clone()).collect();
    let names: Vec<String> = names.into_iter().collect();
    println!(
        "halab compare {}: {} scenarios, {} records from {} file(s)",
        escape_control(&opts.scenarios.join(" ")),
        names.len(),
        records.len(),
        opts.from.len()
    );
    print_table(&names, &records);
    print_failures(&records, |_| None);
    if let Some(dir) = &opts.out {
        super::report::refuse_replacing(&dir.join(RECORDS_JSONL), &records)?;
        let inputs = ReportInputs {
            title: format!("halab compare {} (from records)", opts.scenarios.join(" ")),
            scenarios_without_file: super::report::without_file(&records, &Default::default()),
            ..Default::default()
        };
        let summary = render_report(&records, &inputs, dir)
            .map_err(|e| anyhow!("{e}"))
            .context("cannot write the comparison report")?;
        println!("report: {}", summary.index.display());
    }
    Ok(super::report::exit_code(&records))
}

/// The line between the two tables.
pub const COST_HEADING: &str = "checkpointing costs:";

/// One variant's figures, in the table's column order (ms, counts, rate).
struct Row {
    name: String,
    runs: usize,
    passes: usize,
    values: [Option<f64>; 16],
}

/// The columns of the first table (recovery and throughput).
const FIRST_TABLE: std::ops::Range<usize> = 0..12;
/// The columns of the second (what checkpointing costs).
const COST_TABLE: std::ops::Range<usize> = 12..16;

/// (header, lower is better, shown as seconds).
const COLUMNS: [(&str, Better, Unit); 16] = [
    ("recovery", Better::Lower, Unit::Seconds),
    ("p90", Better::Lower, Unit::Seconds),
    ("downtime", Better::Lower, Unit::Seconds),
    ("restarts", Better::Lower, Unit::Count),
    ("gave up", Better::Lower, Unit::Count),
    ("checkpoint", Better::Lower, Unit::Seconds),
    ("latency", Better::Lower, Unit::Seconds),
    ("records/s", Better::Higher, Unit::Count),
    ("catch-up", Better::Lower, Unit::Seconds),
    ("hottest TM", Better::Lower, Unit::Count),
    ("lost/crash", Better::Lower, Unit::Count),
    ("rolled back", Better::Lower, Unit::Count),
    ("lat p99", Better::Lower, Unit::Seconds),
    ("ckpt msgs", Better::Lower, Unit::Count),
    ("ckpt MB", Better::Lower, Unit::Megabytes),
    ("forced", Better::Lower, Unit::Count),
];

#[derive(Clone, Copy, PartialEq)]
enum Better {
    Lower,
    Higher,
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Seconds,
    Count,
    /// Bytes, shown in decimal megabytes.
    Megabytes,
}

fn row(name: &str, records: &[Record]) -> Row {
    let c = comparison_row(name, records);
    let runs: Vec<&Record> = records.iter().filter(|r| r.scenario == name).collect();
    let latency = |p99: Percentile| -> Vec<f64> {
        runs.iter()
            .filter(|r| r.latency.records > 0)
            .map(|r| match p99 {
                Percentile::P50 => r.latency.p50_ms as f64,
                Percentile::P99 => r.latency.p99_ms as f64,
            })
            .collect()
    };
    let throughput: Vec<f64> = runs.iter().filter_map(|r| committed_per_s(r)).collect();
    let f = |v: Option<u64>| v.map(|x| x as f64);
    Row {
        name: name.to_string(),
        runs: c.runs,
        passes: c.passes,
        values: [
            f(c.median_recovery_ms),
            f(c.p90_recovery_ms),
            f(c.median_downtime_ms),
            f(c.median_restarts),
            Some(c.gave_up as f64),
            f(c.median_checkpoint_ms),
            median(&latency(Percentile::P50)),
            median(&throughput),
            f(c.median_catch_up_ms),
            f(c.median_hottest_task_manager_ms_per_s),
            c.tasks_lost_per_crash(),
            f(c.median_records_rolled_back),
            median(&latency(Percentile::P99)),
            f(c.median_checkpoint_messages),
            f(c.median_checkpoint_bytes),
            f(c.median_forced_snapshots),
        ],
    }
}

fn cell(v: Option<f64>, unit: Unit, best: bool) -> String {
    let text = match (v, unit) {
        (None, _) => "-".to_string(),
        (Some(ms), Unit::Seconds) => format!("{:.2}s", ms / 1000.0),
        (Some(x), Unit::Count) if x.fract() == 0.0 => format!("{x:.0}"),
        (Some(x), Unit::Count) => format!("{x:.1}"),
        (Some(b), Unit::Megabytes) => format!("{:.1}", b / 1e6),
    };
    if best {
        format!("*{text}")
    } else {
        text
    }
}

/// Which end-to-end latency percentile.
#[derive(Clone, Copy)]
enum Percentile {
    P50,
    P99,
}

/// The variants' figures in the columns `columns`, the best of each
/// marked.
fn print_columns(rows: &[Row], columns: std::ops::Range<usize>) {
    let best: Vec<Option<f64>> = (0..COLUMNS.len())
        .map(|i| {
            let vals = rows.iter().filter_map(|r| r.values[i]);
            match COLUMNS[i].1 {
                Better::Lower => vals.reduce(f64::min),
                Better::Higher => vals.reduce(f64::max),
            }
        })
        .collect();
    let w = rows
        .iter()
        .map(|r| escape_control(&r.name).len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut header = format!("{:<w$} {:>6}", "variant", "passed");
    for (h, _, _) in &COLUMNS[columns.clone()] {
        header.push_str(&format!(" {h:>10}"));
    }
    println!("{header}");
    for r in rows {
        let mut line = format!(
            "{:<w$} {:>6}",
            escape_control(&r.name),
            format!("{}/{}", r.passes, r.runs)
        );
        for i in columns.clone() {
            let is_best = rows.len() > 1 && r.values[i].is_some() && r.values[i] == best[i];
            line.push_str(&format!(" {:>10}", cell(r.values[i], COLUMNS[i].2, is_best)));
        }
        println!("{line}");
    }
}

/// The first table (recovery and throughput) and the second (what
/// checkpointing costs) of the variants `names`.
fn print_table(names: &[String], records: &[Record]) {
    let rows: Vec<Row> = names.iter().map(|n| row(n, records)).collect();
    print_columns(&rows, FIRST_TABLE);
    println!(
        "(medians over runs; recovery is fault → first commit, p90 its 90th percentile; latency is the runs' \
         median end-to-end p50; catch-up is restored state → source lag back to its level before the fault; \
         hottest TM the busiest TaskManager's busy ms per second; lost/crash the tasks running on a killed \
         TaskManager; rolled back the source records read again after restores; * marks the best of a column)"
    );
    println!("{COST_HEADING}");
    print_columns(&rows, COST_TABLE);
    println!(
        "(medians over runs; lat p99 is the runs' median end-to-end p99; ckpt msgs the checkpoint protocol's \
         control messages: triggers, barriers per channel, acknowledgements, notifications, piggybacked \
         indexes; ckpt MB what the snapshots uploaded: state, in-flight data, message logs; forced the \
         snapshots piggybacked indexes forced)"
    );
    let plans: BTreeSet<Vec<(u64, String)>> = names
        .iter()
        .map(|n| {
            records
                .iter()
                .filter(|r| &r.scenario == n)
                .map(|r| (r.seed, halab_reports::record::plan_text(&r.fault_plan)))
                .collect()
        })
        .collect();
    if plans.len() > 1 {
        println!("note: the variants ran different fault plans (a varied key changes the plan)");
    }
}

/// The command that re-runs one variant under one seed, its words quoted
/// for a POSIX shell where needed.
fn repro(opts: &Options, base_arg: &str, sets: &[String], seed: u64) -> String {
    let mut line = format!("cargo run --release -- run {}", shell_quote(base_arg));
    for s in opts.set.iter().chain(sets) {
        line.push_str(&format!(" --set {}", shell_quote(s)));
    }
    line.push_str(&format!(" --seed {seed}"));
    line
}

/// Every failed run with its message, and its repro line where `repro`
/// knows one.
fn print_failures(records: &[Record], repro: impl Fn(&Record) -> Option<String>) {
    for r in records.iter().filter(|r| r.verdict != halab_reports::Verdict::Pass) {
        println!(
            "{} seed {} {}: {}",
            escape_control(&r.scenario),
            r.seed,
            r.verdict.as_str(),
            escape_control(r.message.as_deref().unwrap_or_default())
        );
        if let Some(line) = repro(r) {
            println!("  reproduce: {}", escape_control(&line));
        }
    }
}

fn write_out(dir: &std::path::Path, opts: &Options, variants: &[Variant], records: &[Record]) -> anyhow::Result<()> {
    super::report::refuse_replacing(&dir.join(RECORDS_JSONL), records)?;
    let scenario_dir = dir.join("scenarios");
    std::fs::create_dir_all(&scenario_dir).with_context(|| format!("cannot create {}", scenario_dir.display()))?;
    let mut args = std::collections::BTreeMap::new();
    for Variant { scenario: s, .. } in variants {
        let path = scenario_dir.join(format!("{}.toml", file_name_part(&s.name)));
        let text = s
            .to_toml()
            .map_err(|e| anyhow!("cannot write scenario {}: {e}", s.name))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        args.insert(s.name.clone(), path.display().to_string());
    }
    let inputs = ReportInputs {
        title: format!("halab compare {} ({})", opts.scenarios.join(" "), opts.vary.join(" ")),
        scenario_args: args,
        ..Default::default()
    };
    let summary = render_report(records, &inputs, dir)
        .map_err(|e| anyhow!("{e}"))
        .context("cannot write the comparison report")?;
    println!("report: {}", summary.index.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_commas_outside_parentheses() {
        assert_eq!(
            split_values("uniform,hot(0.8, 10),zipf(1.1)"),
            ["uniform", "hot(0.8, 10)", "zipf(1.1)"]
        );
        assert_eq!(split_values("a"), ["a"]);
        assert_eq!(split_values("a,"), ["a", ""], "an empty value is refused later");
    }

    #[test]
    fn variant_names_are_valid_scenario_names() {
        let base = halab_scenarios::catalogue::load("tm-crash")
            .expect("built in")
            .expect("valid");
        let axes = [Axis {
            key: "job.key-distribution".into(),
            values: vec!["zipf(1.1)".into(), "hot(0.8, 10)".into()],
        }];
        let names: Vec<String> = variants(&base, &axes)
            .expect("variants")
            .into_iter()
            .map(|(s, _)| {
                assert_eq!(s.validate().map(|_| ()), Ok(()), "{}", s.name);
                s.name
            })
            .collect();
        assert_eq!(
            names,
            [
                "tm-crash--job.key-distribution=zipf_1.1_",
                "tm-crash--job.key-distribution=hot_0.8__10_"
            ]
        );
    }
}
