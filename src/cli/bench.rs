//! `halab bench`: the headline speed figures, all measured in one invocation.
//!
//! - pipeline throughput: records committed per wall-second through source →
//!   key-by → count → 2PC sink with checkpoints, end to end through
//!   `run_seed` (set-up, simulation and checkers), on `steady` and on a
//!   saturated no-fault variant of it; median over repetitions, beside a
//!   plain sequential fold of the same input (keys from the source log's own
//!   function, a `Vec` count per key) measured in the same invocation;
//! - simulated-to-wall time of `chaos` over a fixed seed list, on one thread;
//! - `chaos` seeds per second on all cores (the sweep worker pool);
//! - peak memory (`VmHWM`) and whether resident memory stays flat across a
//!   long `chaos` sweep.
//!
//! Wall time is measured here, outside the simulation. The figures depend on
//! the machine and its load; the load average is printed with them.

use std::hint::black_box;
use std::time::Instant;

use anyhow::anyhow;
use halab_scenarios::catalogue;
use halab_scenarios::runner::run_timed;
use halab_scenarios::sweep::run_sweep;
use halab_sim::checkers::exactly_once;
use halab_sim::reference::SourceContent;
use halab_sim::{RunRecord, Scenario, Verdict};
use serde_json::json;

use super::Format;

/// Records per second per partition of the saturated variant of `steady`:
/// more than the simulated pipeline can carry, so batches fill up.
const SATURATED_RATE: u64 = 50_000;
/// Seeds of the simulated-to-wall measurement of `chaos`.
const RATIO_SEEDS: u64 = 20;
/// Resident memory may grow by this fraction after the first tenth of the
/// long sweep and still count as flat.
const FLAT_GROWTH: f64 = 0.10;

pub struct Options {
    pub format: Format,
    /// Chaos seeds of the sweep.
    pub sweep_seeds: u64,
    pub reps: usize,
    pub jobs: Option<usize>,
}

/// One line of the table.
struct Figure {
    key: String,
    label: String,
    value: f64,
    unit: &'static str,
    shown: String,
    target: String,
    met: Option<bool>,
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    let reps = opts.reps.max(1);
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let long_seeds = opts.sweep_seeds;
    let text = opts.format == Format::Text;
    let progress = |msg: &str| {
        if text {
            eprintln!("  {msg}");
        }
    };
    let load_before = load_average();
    let steady = builtin("steady")?;
    let chaos = builtin("chaos")?;
    let mut saturated = steady.clone();
    saturated.name = "steady-saturated".into();
    saturated.job.records_per_second = SATURATED_RATE;

    let mut problems: Vec<String> = Vec::new();
    let mut figures: Vec<Figure> = Vec::new();
    let mut details = serde_json::Map::new();

    for (key, s, n) in [
        ("steady", &steady, reps),
        ("saturated", &saturated, reps.div_ceil(2).max(3)),
    ] {
        progress(&format!("pipeline: {} x {n}", s.name));
        let p = pipeline(s, n, &mut problems);
        let contents: Vec<SourceContent> = (1..=n as u64).map(|seed| content_of(s, seed)).collect();
        let fold_rps = median(contents.iter().map(fold_rate).collect());
        let checker_ms = median(contents.iter().map(checker_ms).collect());
        let records = s.total_records() as f64;
        let wall_ms = median(p.wall_ms.clone());
        let without_checker = records / ((wall_ms - checker_ms).max(f64::MIN_POSITIVE) / 1000.0);
        let ratio = p.records_per_s / fold_rps;
        let check_ratio = (records / (checker_ms.max(f64::MIN_POSITIVE) / 1000.0)) / fold_rps;
        let figure = |name: &str, label: String, value: f64, unit: &'static str, shown: String| Figure {
            key: format!("{name}_{key}"),
            label,
            value,
            unit,
            shown,
            target: "-".into(),
            met: None,
        };
        figures.extend([
            Figure {
                target: ">= 5M".into(),
                met: Some(p.records_per_s >= 5e6),
                ..figure(
                    "pipeline",
                    format!("pipeline {} (records/wall-s)", s.name),
                    p.records_per_s,
                    "records/s",
                    si(p.records_per_s),
                )
            },
            figure(
                "checker_ms",
                "  of a run: exactly-once checker (ms)".into(),
                checker_ms,
                "ms",
                format!("{checker_ms:.1} of {wall_ms:.1}"),
            ),
            figure(
                "pipeline_without_checker",
                "  pipeline without the checker (records/wall-s)".into(),
                without_checker,
                "records/s",
                si(without_checker),
            ),
            figure(
                "fold",
                "  sequential fold, same input (records/s)".into(),
                fold_rps,
                "records/s",
                si(fold_rps),
            ),
            Figure {
                target: "within 5x".into(),
                met: Some(ratio >= 0.2),
                ..figure(
                    "pipeline_over_fold",
                    "  pipeline / fold".into(),
                    ratio,
                    "ratio",
                    format!("{ratio:.4} ({:.0}x slower)", 1.0 / ratio),
                )
            },
            // What bounds the ratio: the run checks its output against a
            // reference it must fold first, so the check alone costs more
            // than a fold (the pipeline's own work comes on top).
            figure(
                "check_over_fold",
                "  exactly-once check alone / fold".into(),
                check_ratio,
                "ratio",
                format!("{check_ratio:.4} ({:.1}x slower)", 1.0 / check_ratio),
            ),
        ]);
        details.insert(
            format!("pipeline_{key}"),
            json!({
                "scenario": s.name,
                "records": s.total_records(),
                "repetitions": n,
                "wall_ms": p.wall_ms,
                "simulated_ms": p.simulated_ms,
                "records_per_s": p.samples,
                "checker_ms": checker_ms,
            }),
        );
    }

    progress(&format!(
        "chaos: simulated/wall over seeds 1..{RATIO_SEEDS}, one thread"
    ));
    let (sim_ms, wall_ms, per_seed) = chaos_ratio(&chaos, &mut problems);
    let ratio = sim_ms as f64 / wall_ms;
    figures.push(Figure {
        key: "chaos_sim_over_wall".into(),
        label: format!("chaos simulated/wall time (seeds 1..{RATIO_SEEDS})"),
        value: ratio,
        unit: "x",
        shown: format!("{ratio:.0}x"),
        target: ">= 1000x".into(),
        met: Some(ratio >= 1000.0),
    });
    details.insert(
        "chaos_ratio".into(),
        json!({ "simulated_ms": sim_ms, "wall_ms": wall_ms, "median_per_seed": median(per_seed) }),
    );

    progress("large-state: wall time of seeds 1..3 under the resource model, one thread");
    let large = builtin("large-state")?;
    let walls: Vec<f64> = (1..=3)
        .filter_map(|seed| match run_timed(&large, seed) {
            Ok(r) => {
                check_pass(&r, &mut problems);
                Some(r.wall_ms)
            }
            Err(e) => {
                problems.push(format!("large-state seed {seed}: {e}"));
                None
            }
        })
        .collect();
    let large_ms = median(walls.clone());
    figures.push(Figure {
        key: "large_state_wall_ms".into(),
        label: "large-state run (1M records/s, 10 GB of state, 60 s), median of seeds 1..3".into(),
        value: large_ms,
        unit: "ms",
        shown: format!("{large_ms:.0} ms"),
        target: "<= 2000 ms".into(),
        met: Some(large_ms <= 2000.0),
    });
    details.insert("large_state_wall_ms".into(), json!(walls));

    progress(&format!("chaos: sweep of seeds 1..{long_seeds} on {jobs} threads"));
    let sweep = long_sweep(&chaos, long_seeds, jobs);
    if let Some(e) = &sweep.stopped {
        problems.push(format!("the chaos sweep stopped: {e}"));
    }
    if !sweep.not_passed.is_empty() {
        let first: Vec<String> = sweep.not_passed.iter().take(5).map(|s| s.to_string()).collect();
        problems.push(format!(
            "{} chaos seeds of the sweep did not pass (seeds {}{})",
            sweep.not_passed.len(),
            first.join(", "),
            if sweep.not_passed.len() > 5 { ", ..." } else { "" }
        ));
    }
    let seeds_per_s = long_seeds as f64 / sweep.wall_s;
    figures.push(Figure {
        key: "chaos_seeds_per_s".into(),
        label: format!("chaos seeds/s on {jobs} threads"),
        value: seeds_per_s,
        unit: "seeds/s",
        shown: format!("{seeds_per_s:.1}"),
        target: ">= 50 on 2 cores".into(),
        met: Some(seeds_per_s >= 50.0),
    });
    let peak = proc_status_kib("VmHWM:");
    figures.push(Figure {
        key: "peak_rss_mib".into(),
        label: "peak memory (VmHWM)".into(),
        value: peak.map(mib).unwrap_or(f64::NAN),
        unit: "MiB",
        shown: peak
            .map(|k| format!("{:.0} MiB", mib(k)))
            .unwrap_or_else(|| "n/a".into()),
        target: "-".into(),
        met: None,
    });
    let flat = match (sweep.rss_warm, sweep.rss_after) {
        (Some(w), Some(a)) => {
            let growth = (a as f64 - w as f64) / w as f64;
            Figure {
                key: "rss_growth".into(),
                label: format!("memory over {long_seeds} chaos seeds"),
                value: growth,
                unit: "fraction",
                shown: format!(
                    "{:+.1}% ({:.0} -> {:.0} MiB; {:.0} before)",
                    growth * 100.0,
                    mib(w),
                    mib(a),
                    sweep.rss_before.map(mib).unwrap_or(f64::NAN)
                ),
                target: format!("flat (< {:.0}% growth)", FLAT_GROWTH * 100.0),
                met: Some(growth < FLAT_GROWTH),
            }
        }
        _ => Figure {
            key: "rss_growth".into(),
            label: format!("memory over {long_seeds} chaos seeds"),
            value: f64::NAN,
            unit: "fraction",
            shown: "n/a (no /proc/self/status)".into(),
            target: "flat".into(),
            met: None,
        },
    };
    figures.push(flat);
    details.insert(
        "sweep".into(),
        json!({
            "seeds": long_seeds,
            "jobs": jobs,
            "wall_s": sweep.wall_s,
            "not_passed": sweep.not_passed,
            "rss_kib_before": sweep.rss_before,
            "rss_kib_after_first_tenth": sweep.rss_warm,
            "rss_kib_after": sweep.rss_after,
            "rss_kib_series": sweep.series,
        }),
    );

    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load_after = load_average();
    match opts.format {
        Format::Json => {
            let figs: Vec<_> = figures
                .iter()
                .map(|f| {
                    json!({
                        "key": f.key,
                        "label": f.label.trim(),
                        "value": if f.value.is_finite() { json!(f.value) } else { json!(null) },
                        "unit": f.unit,
                        "target": f.target,
                        "met": f.met,
                    })
                })
                .collect();
            let out = json!({
                "build": build,
                "cores": cores,
                "jobs": jobs,
                "repetitions": reps,
                "load_average": { "before": load_before, "after": load_after },
                "figures": figs,
                "details": details,
                "problems": problems,
            });
            println!("{out}");
        }
        Format::Text => {
            println!(
                "halab bench ({build} build, {cores} cores, {reps} repetitions, medians; load average {} before, {} after)",
                load_before.as_deref().unwrap_or("n/a"),
                load_after.as_deref().unwrap_or("n/a")
            );
            print_table(&figures);
            for p in &problems {
                println!("problem: {p}");
            }
        }
    }
    Ok(if problems.is_empty() {
        0
    } else {
        Verdict::Violation.exit_code()
    })
}

fn builtin(name: &str) -> anyhow::Result<Scenario> {
    catalogue::load(name)
        .ok_or_else(|| anyhow!("built-in scenario `{name}` is missing"))?
        .map_err(|e| anyhow!("{e}"))
}

fn print_table(figures: &[Figure]) {
    let w0 = figures.iter().map(|f| f.label.len()).max().unwrap_or(0);
    let w1 = figures.iter().map(|f| f.shown.len()).max().unwrap_or(0);
    let w2 = figures.iter().map(|f| f.target.len()).max().unwrap_or(0).max(6);
    println!("{:<w0$}  {:>w1$}  {:<w2$}  met", "figure", "value", "target");
    for f in figures {
        let met = match f.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        println!("{:<w0$}  {:>w1$}  {:<w2$}  {met}", f.label, f.shown, f.target);
    }
}

/// The source contents a run of `s` under `seed` reads.
fn content_of(s: &Scenario, seed: u64) -> SourceContent {
    SourceContent::of(s, seed)
}

/// The plain sequential computation the pipeline distributes: read every
/// record's key as the source log generates it and count per key.
fn fold(content: &SourceContent) -> Vec<u64> {
    let mut counts = vec![0u64; content.keys as usize];
    for p in 0..content.partitions {
        for o in 0..content.records_per_partition {
            counts[content.key_at(p, o) as usize] += 1;
        }
    }
    counts
}

/// Records per second of [`fold`], timed over enough rounds to last about
/// 50 ms.
fn fold_rate(content: &SourceContent) -> f64 {
    let total = content.total().max(1);
    let rounds = (2_000_000 / total).max(1);
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(fold(black_box(content)));
    }
    (rounds * total) as f64 / start.elapsed().as_secs_f64()
}

/// Wall ms of the exactly-once checker over the output a correct run of
/// `content` commits (the reference output; a run's commit order differs,
/// the work does not).
fn checker_ms(content: &SourceContent) -> f64 {
    let committed = content.reference_output();
    let start = Instant::now();
    black_box(exactly_once::check(content, None, black_box(&committed)));
    start.elapsed().as_secs_f64() * 1000.0
}

struct Pipeline {
    records_per_s: f64,
    samples: Vec<f64>,
    wall_ms: Vec<f64>,
    simulated_ms: Vec<u64>,
}

/// `n` runs of `s` (seeds 1..=n), one after another: records committed per
/// wall-second, median.
fn pipeline(s: &Scenario, n: usize, problems: &mut Vec<String>) -> Pipeline {
    let mut p = Pipeline {
        records_per_s: 0.0,
        samples: Vec::new(),
        wall_ms: Vec::new(),
        simulated_ms: Vec::new(),
    };
    for seed in 1..=n as u64 {
        match run_timed(s, seed) {
            Ok(r) => {
                check_pass(&r, problems);
                p.samples.push(r.records_committed as f64 / (r.wall_ms / 1000.0));
                p.wall_ms.push(r.wall_ms);
                p.simulated_ms.push(r.simulated_ms);
            }
            Err(e) => problems.push(format!("{} seed {seed}: {e}", s.name)),
        }
    }
    p.records_per_s = median(p.samples.clone());
    p
}

fn check_pass(r: &RunRecord, problems: &mut Vec<String>) {
    if r.verdict != Verdict::Pass {
        problems.push(format!(
            "{} seed {}: {} {}",
            r.scenario,
            r.seed,
            r.verdict.as_str(),
            r.message.clone().unwrap_or_default()
        ));
    }
}

/// Total simulated ms, total wall ms and per-seed ratios of `chaos` over the
/// fixed seeds, on this thread.
fn chaos_ratio(s: &Scenario, problems: &mut Vec<String>) -> (u64, f64, Vec<f64>) {
    let (mut sim, mut wall, mut per) = (0u64, 0.0f64, Vec::new());
    for seed in 1..=RATIO_SEEDS {
        match run_timed(s, seed) {
            Ok(r) => {
                check_pass(&r, problems);
                sim += r.simulated_ms;
                wall += r.wall_ms;
                per.push(r.simulated_ms as f64 / r.wall_ms);
            }
            Err(e) => problems.push(format!("{} seed {seed}: {e}", s.name)),
        }
    }
    (sim, wall, per)
}

struct Sweep {
    wall_s: f64,
    /// Seeds whose verdict was not pass, in order.
    not_passed: Vec<u64>,
    /// Why the sweep stopped early: a run that reached no verdict.
    stopped: Option<String>,
    rss_before: Option<u64>,
    rss_warm: Option<u64>,
    rss_after: Option<u64>,
    /// `(seeds done, VmRSS KiB)` every tenth of the sweep.
    series: Vec<(u64, Option<u64>)>,
}

/// Seeds 1..=n of `s` on the sweep's worker pool, sampling resident memory
/// every tenth of the way.
fn long_sweep(s: &Scenario, n: u64, jobs: usize) -> Sweep {
    let work = (1..=n).map(|seed| (0, seed));
    let step = (n / 10).max(1);
    let mut sw = Sweep {
        wall_s: 0.0,
        not_passed: Vec::new(),
        stopped: None,
        rss_before: proc_status_kib("VmRSS:"),
        rss_warm: None,
        rss_after: None,
        series: Vec::new(),
    };
    let mut done = 0u64;
    let mut next_sample = step;
    let start = Instant::now();
    let swept = run_sweep(std::slice::from_ref(s), work, jobs, false, |r| {
        done += 1;
        if r.verdict != Verdict::Pass {
            sw.not_passed.push(r.seed);
        }
        if done == next_sample || done == n {
            next_sample += step;
            let rss = proc_status_kib("VmRSS:");
            if done == step {
                sw.rss_warm = rss;
            }
            sw.series.push((done, rss));
        }
    });
    sw.wall_s = start.elapsed().as_secs_f64();
    sw.stopped = swept.err().map(|e| e.to_string());
    sw.not_passed.sort_unstable();
    sw.rss_after = proc_status_kib("VmRSS:");
    sw
}

/// A `kB` field of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in KiB.
fn proc_status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kib(&text, field)
}

fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Median; NaN for no samples.
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// A rate with an SI suffix: `1.63M`, `250k`.
fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn status_fields_parse() {
        let text = "Name:\thalab\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n";
        assert_eq!(parse_status_kib(text, "VmHWM:"), Some(123_456));
        assert_eq!(parse_status_kib(text, "VmRSS:"), Some(65_432));
        assert_eq!(parse_status_kib(text, "VmSwap:"), None);
    }

    #[test]
    fn fold_counts_every_record_of_the_source() {
        let c = SourceContent {
            seed: 7,
            partitions: 3,
            records_per_partition: 1000,
            keys: 17,
            distribution: halab_sim::keys::KeyDistribution::Uniform,
            records_per_second: 100,
            nexmark: None,
            edge_targets: halab_sim::reference::EdgeTargets::None,
        };
        let counts = fold(&c);
        assert_eq!(counts.iter().sum::<u64>(), 3000);
        let reference = c.reference_counts_by_pipeline(None);
        for (k, n) in counts.iter().enumerate() {
            assert_eq!(reference.get(&(0, k as u64)).copied().unwrap_or(0), *n);
        }
    }

    #[test]
    fn rates_have_si_suffixes() {
        assert_eq!(si(1_630_000.0), "1.63M");
        assert_eq!(si(250_000.0), "250.0k");
        assert_eq!(si(2.5e9), "2.50G");
    }
}
