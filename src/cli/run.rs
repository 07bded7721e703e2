//! `halab run`: one scenario, one seed. The banner comes first, the verdict
//! last; a failure ends with a line that reproduces it.

use halab_engine::graph::OperatorKind;
use halab_engine::resources::ResourceModel;
use std::path::PathBuf;

use halab_scenarios::runner::run_timed_with_trace;
use halab_sim::names::escape_control;
use halab_sim::nexmark::EventKind;
use halab_sim::{RunRecord, Scenario, Verdict};

use super::output_file::{self, Overwrite};
use super::progress::ProgressMode;
use super::{scenario_arg, Format};
use halab_sim::harness::{run_seed_watched, HistoryMode};
use halab_sim::progress::Progress;

pub struct Options {
    /// `--set KEY=V` overrides, in order.
    pub set: Vec<String>,
    /// Write the run's history here.
    pub history: Option<std::path::PathBuf>,
    /// Write the run's timeline page here.
    pub timeline: Option<std::path::PathBuf>,
    pub format: Format,
    pub trace: bool,
    pub check_determinism: bool,
    pub write_plan: Option<PathBuf>,
    /// Whether `--write-plan` may replace an existing file (`--force`).
    pub overwrite: Overwrite,
    /// When to print progress lines.
    pub progress: ProgressMode,
}

/// The run banner: scenario, seed, derived parameters, fault plan. Text
/// from the scenario is shown with its control characters escaped.
pub fn banner(s: &Scenario, seed: u64) -> String {
    let plan = s.fault_plan(seed);
    let j = &s.job;
    let mut b = String::new();
    b.push_str(&format!(
        "halab run: scenario {} seed {seed}\n",
        escape_control(&s.name)
    ));
    b.push_str(&format!("  {}\n", escape_control(&s.description)));
    let g = s.job_graph();
    let parallelism: Vec<String> = g
        .vertex_ids()
        .map(|v| format!("{} {}", g.vertex(v).name, g.vertex(v).parallelism))
        .collect();
    let input = match j.nexmark_log(s.duration.as_millis()) {
        None => format!(
            "{} partitions, parallelism {}, {} records/s per partition, {} keys, {} records over {}",
            j.source_partitions,
            escape_control(&parallelism.join(" / ")),
            j.records_per_second,
            j.keys,
            s.total_records(),
            s.duration
        ),
        Some(log) => {
            let [p, a, b] = log.proportions;
            let per_topic = EventKind::ALL.map(|k| log.records(k) * u64::from(j.source_partitions));
            format!(
                "NexMark persons : auctions : bids {p}:{a}:{b} in {} partitions per topic, parallelism {}, {} events/s per partition, {} persons, {} auctions and {} bids over {}",
                j.source_partitions,
                escape_control(&parallelism.join(" / ")),
                j.records_per_second,
                per_topic[0],
                per_topic[1],
                per_topic[2],
                s.duration
            )
        }
    };
    b.push_str(&format!(
        "  cluster: {} TaskManagers x {} slots; job: {input}\n",
        s.cluster.task_managers, s.cluster.slots_per_task_manager,
    ));
    if !s.config.is_empty() {
        let cfg: Vec<String> = s.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        b.push_str(&format!("  config: {}\n", escape_control(&cfg.join(" "))));
    }
    match s.resource_model() {
        Ok(Some(m)) => b.push_str(&format!(
            "  resources: {}\n",
            describe_resources(&m, s.cluster.slots_per_task_manager)
        )),
        Ok(None) => b.push_str("  resources: off (work costs no simulated time)\n"),
        Err(_) => {}
    }
    b.push_str(&format!("  fault plan ({} faults):\n{plan}", plan.len()));
    b
}

/// The resource model as it runs (defaults included).
fn describe_resources(m: &ResourceModel, slots: u32) -> String {
    let us = |ns: u64| format!("{}us", ns as f64 / 1000.0);
    format!(
        "{} cores per TaskManager, network {}, checkpoint storage {} + {}ms per request, local disk {}; records {}B x{} weight, state {}B per key; CPU per record: source {} count {} window {} sink {}",
        m.cores(slots),
        m.network_bandwidth,
        m.checkpoint_storage_bandwidth,
        m.checkpoint_storage_latency_ns as f64 / 1e6,
        m.local_disk_bandwidth,
        m.record_bytes,
        m.record_weight,
        m.state_bytes_per_key,
        us(m.costs.source_ns),
        us(m.costs.count_ns),
        us(m.costs.window_ns),
        us(m.costs.sink_ns),
    )
}

/// The run's load summary (`halab_reports::report::load_summary`, as the
/// report's load note gives it) in one line; `None` without a keyed vertex.
fn load_line(r: &RunRecord) -> Option<String> {
    let json = serde_json::to_string(r).ok()?;
    let read: halab_reports::record::RunRecord = serde_json::from_str(&json).ok()?;
    let l = halab_reports::report::load_summary(&read)?;
    Some(format!(
        "busiest {}[{}] took {:.0}% of its vertex's records, busy {} ms/s; sources back-pressured {} ms/s",
        escape_control(&l.hot.vertex),
        l.hot.subtask,
        l.share * 100.0,
        l.hot.busy_time_ms_per_second,
        l.sources_back_pressured_ms_per_second
    ))
}

/// What the run committed against what its check expects. A
/// processing-time window commits one count for many records, so there the
/// two numbers are of different things and are said apart.
fn committed_line(sc: &Scenario, r: &RunRecord) -> String {
    let g = sc.job_graph();
    let counts_records = g
        .vertex_ids()
        .any(|v| matches!(g.vertex(v).kind, OperatorKind::ProcessingTimeWindowCount { .. }));
    if counts_records {
        format!(
            "committed {} records against {} expected (outputs, and the records processing-time window counts must sum to)",
            r.records_committed, r.records_expected
        )
    } else {
        format!("committed {} of {} records", r.records_committed, r.records_expected)
    }
}

pub fn summary(sc: &Scenario, r: &RunRecord) -> String {
    let completed = r.checkpoints.iter().filter(|c| c.outcome == "completed").count();
    let mut s = format!(
        "  {}; lost {}, duplicated {}, unexpected {}\n  checkpoints completed {completed}; restarts {}; final job status {}\n  end-to-end latency p50 {} ms, p99 {} ms, max {} ms\n  simulated {:.1}s in {:.0}ms wall; trace {} events, hash {}",
        committed_line(sc, r),
        r.lost,
        r.duplicated,
        r.unexpected,
        r.restarts,
        r.final_job_status,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.latency.max_ms,
        r.simulated_ms as f64 / 1e3,
        r.wall_ms,
        r.trace_events,
        r.trace_hash
    );
    if let Some(line) = load_line(r) {
        s.push_str(&format!("\n  load: {line}"));
    }
    for e in &r.recovery {
        let line = match e.recovery_ms() {
            Some(ms) => format!(
                "{} at {:.1}s: recovered in {:.2}s",
                e.fault,
                e.fault_ms as f64 / 1e3,
                ms as f64 / 1e3
            ),
            None => format!("{} at {:.1}s: no restart", e.fault, e.fault_ms as f64 / 1e3),
        };
        s.push_str(&format!("\n  recovery: {line}"));
    }
    for m in &r.rescales {
        s.push_str(&format!(
            "\n  rescale: {} {} -> {} at {:.1}s: moved {:.1}% of keys (optimum {:.1}%), max/mean load {:.2}, migration {} ms",
            m.vertex,
            m.from,
            m.to,
            m.t_ms as f64 / 1e3,
            m.moved_key_fraction * 100.0,
            m.optimal_fraction * 100.0,
            m.max_over_mean_load,
            m.migration_ms
        ));
    }
    for ex in &r.examples {
        s.push_str(&format!("\n  example: {}", escape_control(ex)));
    }
    s
}

/// Run `scenario` under `seed` once, keeping its commits when a history is
/// asked for and showing progress under `progress`: the record, the trace
/// lines, and the history.
fn run_once(
    arg: &str,
    scenario: &halab_sim::Scenario,
    seed: u64,
    mode: HistoryMode,
    progress: ProgressMode,
) -> anyhow::Result<(RunRecord, Vec<String>, Option<halab_sim::history::History>)> {
    let watched = Progress::new();
    let watcher = super::progress::watch(watched.clone(), progress);
    let start = std::time::Instant::now();
    let result = run_seed_watched(scenario, seed, mode, watched);
    drop(watcher);
    let (mut record, trace, kept) = result.map_err(|e| scenario_arg::run_error(arg, &e))?;
    record.wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    if mode == HistoryMode::Keep && kept.is_none() {
        anyhow::bail!("the simulation panicked: no history");
    }
    Ok((record, trace, kept))
}

/// Refuse, before the run, files that `--write-plan`, `--history` and
/// `--timeline` may not write: the input, an existing file without
/// `--force`, and one file named by two of them.
fn check_outputs(opts: &Options, input: Option<&std::path::Path>) -> anyhow::Result<()> {
    let outputs: Vec<(&str, &std::path::PathBuf)> = [
        ("--write-plan", &opts.write_plan),
        ("--history", &opts.history),
        ("--timeline", &opts.timeline),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.as_ref().map(|p| (flag, p)))
    .collect();
    for (i, (flag, path)) in outputs.iter().enumerate() {
        if let Some((other, first)) = outputs[..i].iter().find(|(_, p)| output_file::same_target(p, path)) {
            anyhow::bail!(
                "{other} and {flag} both name {}; give each its own file",
                escape_control(&first.display().to_string())
            );
        }
        output_file::check(path, flag, input, opts.overwrite)?;
    }
    Ok(())
}

/// The run's history and timeline page, where asked for.
fn write_history_files(
    opts: &Options,
    input: Option<&std::path::Path>,
    history: &halab_sim::history::History,
    say: &dyn Fn(&str),
) -> anyhow::Result<()> {
    if let Some(path) = &opts.history {
        let text = history.to_jsonl().map_err(anyhow::Error::msg)?;
        output_file::write(path, "--history", input, opts.overwrite, &text)?;
        say(&format!(
            "  wrote the run's history to {}",
            escape_control(&path.display().to_string())
        ));
    }
    if let Some(path) = &opts.timeline {
        let page = halab_reports::timeline::render_timeline(&super::timeline::timeline_of(history));
        output_file::write(path, "--timeline", input, opts.overwrite, &page)?;
        say(&format!(
            "  wrote the run's timeline to {}",
            escape_control(&path.display().to_string())
        ));
    }
    Ok(())
}

pub fn run(arg: &str, seed: u64, opts: Options) -> anyhow::Result<i32> {
    let scenario =
        halab_scenarios::overrides::apply_sets(scenario_arg::load(arg)?, &opts.set).map_err(anyhow::Error::msg)?;
    let say = |text: &str| match opts.format {
        Format::Text => println!("{text}"),
        Format::Json => eprintln!("{text}"),
    };
    let input = scenario_arg::file_of(arg);
    check_outputs(&opts, input)?;
    say(&banner(&scenario, seed));
    if let Some(path) = &opts.write_plan {
        let explicit = scenario.with_explicit_plan(&scenario.fault_plan(seed));
        let text = explicit
            .to_toml()
            .map_err(|e| anyhow::anyhow!("cannot write the plan: {e}"))?;
        output_file::write(path, "--write-plan", input, opts.overwrite, &text)?;
        say(&format!(
            "  wrote the explicit plan to {}",
            escape_control(&path.display().to_string())
        ));
    }
    let mode = match (&opts.history, &opts.timeline) {
        (None, None) => HistoryMode::Off,
        _ => HistoryMode::Keep,
    };
    let (mut record, trace, history) = run_once(arg, &scenario, seed, mode, opts.progress)?;
    if let Some(history) = &history {
        write_history_files(&opts, input, history, &say)?;
    }
    if opts.trace {
        for line in &trace {
            say(line);
        }
    }
    if opts.check_determinism {
        let (again, again_trace) = run_timed_with_trace(&scenario, seed)?;
        if halab_scenarios::determinism::judge_repetition(&mut record, &trace, &again, &again_trace) {
            say(&format!(
                "  determinism: two runs, same trace hash {}",
                record.trace_hash
            ));
        }
    }
    match opts.format {
        Format::Text => {
            println!("{}", summary(&scenario, &record));
            println!("verdict: {}", record.verdict.as_str());
            if let Some(m) = &record.message {
                println!("  {}", escape_control(m));
            }
            if record.verdict != Verdict::Pass {
                println!("reproduce: {}", escape_control(&RunRecord::repro_line_for(arg, seed)));
            }
        }
        Format::Json => {
            println!("{}", serde_json::to_string(&record)?);
            if record.verdict != Verdict::Pass {
                eprintln!("reproduce: {}", escape_control(&RunRecord::repro_line_for(arg, seed)));
            }
        }
    }
    Ok(record.verdict.exit_code())
}
