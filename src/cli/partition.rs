//! `halab partition`: compare partitioners on a rescale from `--from` to
//! `--to` owners over the keys `0..K` (or a seeded sample of K keys).
//!
//! For each partitioner it reports the fraction of keys whose owner changed,
//! the optimum `|to - from| / max(from, to)`, whether every move was a
//! necessary one, max/mean load after the move, and the time per key of
//! placing all keys on `--to` owners (`Partitioner::assign`, best of three
//! runs, after a warm-up that builds any lookup table). For every partitioner
//! except bounded loads that is one lookup per key; for bounded loads it is
//! the amortised cost of its stateful placement.
//!
//! No simulation runs here: the comparison is the engine's pure
//! `partition::compare`, and the wall clock is read only for the timing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::ValueEnum;
use halab_engine::config::Configuration;
use halab_engine::partition::compare::{compare, key_range, optimal_moved_fraction, sampled_keys, Comparison};
use halab_engine::partition::key_groups::compute_default_max_parallelism;
use halab_engine::partition::registry::{build_partitioner, partitioner_names, routing};
use halab_engine::partition::{Partitioner, PartitionerKind, PartitionerParams};
use serde_json::json;

/// Upper bound for `--keys` (each key costs about 20 bytes while compared).
const MAX_KEYS: u64 = 100_000_000;

/// Timed runs per partitioner; the fastest counts.
const TIMED_RUNS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable table.
    Table,
    /// One JSON object on stdout.
    Json,
}

pub struct Options {
    pub keys: u64,
    pub from: u32,
    pub to: u32,
    pub partitioners: Vec<String>,
    pub format: OutputFormat,
    pub max_parallelism: Option<i32>,
    pub vnodes: Option<u32>,
    pub table_size: Option<u64>,
    pub epsilon: Option<f64>,
    pub seed: Option<u64>,
}

/// One partitioner's row: the pure comparison plus the measured time.
struct Row {
    comparison: Comparison,
    lookup_ns_per_key: f64,
}

/// The selected partitioners, in the order given, without repeats (every
/// built-in and registered one by default).
fn kinds(names: &[String]) -> anyhow::Result<Vec<String>> {
    if names.is_empty() {
        return Ok(partitioner_names());
    }
    let mut kinds = Vec::new();
    for name in names {
        let name = name.trim().to_string();
        routing(&name).map_err(|e| anyhow!("--partitioner: {e}"))?;
        if !kinds.contains(&name) {
            kinds.push(name);
        }
    }
    Ok(kinds)
}

fn params(opts: &Options, kinds: &[String]) -> anyhow::Result<PartitionerParams> {
    let mut params = PartitionerParams::default();
    if let Some(v) = opts.vnodes {
        params.vnodes = v;
    }
    if let Some(m) = opts.table_size {
        params.table_size = m;
    }
    if let Some(e) = opts.epsilon {
        params.epsilon = e;
    }
    match opts.max_parallelism {
        Some(p) => params.max_parallelism = p,
        // Flink fixes the number of key groups when the job first runs, from
        // its parallelism then (`--from`), and keeps it across rescales.
        None if kinds.iter().any(|k| k == PartitionerKind::KeyGroups.name()) => {
            params.max_parallelism = compute_default_max_parallelism(opts.from as i32)
                .map_err(|e| anyhow!("--from {}: key groups: {e}", opts.from))?;
            if opts.to > params.max_parallelism as u32 {
                bail!(
                    "key groups: --to {} exceeds the default max parallelism {} for --from {} \
                     (Flink cannot rescale past it); pass --max-parallelism",
                    opts.to,
                    params.max_parallelism,
                    opts.from
                );
            }
        }
        None => {}
    }
    params.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(params)
}

/// Place all keys on `to` owners `TIMED_RUNS` times; the fastest run per key.
fn time_assign(p: &dyn Partitioner, keys: &[u64], to: u32) -> anyhow::Result<f64> {
    let mut best = Duration::MAX;
    for _ in 0..TIMED_RUNS {
        let start = Instant::now();
        let owners = p.assign(black_box(keys), to).map_err(|e| anyhow!("{e}"))?;
        best = best.min(start.elapsed());
        black_box(owners);
    }
    Ok(best.as_nanos() as f64 / keys.len() as f64)
}

pub fn run(opts: Options) -> anyhow::Result<i32> {
    if opts.keys == 0 || opts.keys > MAX_KEYS {
        bail!("--keys must be in 1..={MAX_KEYS}, got {}", opts.keys);
    }
    if opts.from == 0 {
        bail!("--from must be at least 1 owner, got 0");
    }
    if opts.to == 0 {
        bail!("--to must be at least 1 owner, got 0");
    }
    let kinds = kinds(&opts.partitioners)?;
    let params = params(&opts, &kinds)?;
    let (keys, key_set) = match opts.seed {
        None => (key_range(opts.keys), format!("0..{}", opts.keys)),
        Some(seed) => (
            sampled_keys(opts.keys as usize, seed),
            format!("{} sampled keys (seed {seed})", opts.keys),
        ),
    };

    let mut rows = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let p = build_partitioner(&kind, &params, &Configuration::new()).map_err(|e| anyhow!("{kind}: {e}"))?;
        // Also the warm-up: builds and caches any lookup table for `to`.
        let comparison = compare(p.as_ref(), &keys, opts.from, opts.to).map_err(|e| anyhow!("{e}"))?;
        let lookup_ns_per_key = time_assign(p.as_ref(), &keys, opts.to)?;
        rows.push(Row {
            comparison,
            lookup_ns_per_key,
        });
    }

    let optimum = optimal_moved_fraction(opts.from, opts.to);
    match opts.format {
        OutputFormat::Json => print_json(&opts, &key_set, optimum, &rows),
        OutputFormat::Table => print_table(&opts, &key_set, optimum, &rows),
    }
    Ok(0)
}

/// The comparison as one JSON object on stdout.
fn print_json(opts: &Options, key_set: &str, optimum: f64, rows: &[Row]) {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            let c = &r.comparison;
            json!({
                "partitioner": c.partitioner,
                "params": c.params,
                "moved": c.moved,
                "moved_fraction": c.moved_fraction,
                "optimum": c.optimum,
                "only_necessary_moves": c.only_necessary_moves,
                "max_load": c.max_load,
                "mean_load": c.mean_load,
                "max_over_mean": c.max_over_mean,
                "lookup_ns_per_key": r.lookup_ns_per_key,
            })
        })
        .collect();
    let out = json!({
        "keys": opts.keys,
        "key_set": key_set,
        "from": opts.from,
        "to": opts.to,
        "optimum": optimum,
        "rows": rows,
    });
    println!("{out}");
}

/// The comparison as a table with a legend.
fn print_table(opts: &Options, key_set: &str, optimum: f64, rows: &[Row]) {
    println!(
        "keys {key_set}, {} -> {} owners; optimum moved fraction {optimum:.4}",
        opts.from, opts.to
    );
    println!(
        "{:<14} {:>8} {:>8} {:>9} {:>9} {:>14}  params",
        "partitioner", "moved", "optimum", "max/mean", "ns/key", "necessary-only"
    );
    for r in rows {
        let c = &r.comparison;
        println!(
            "{:<14} {:>8.4} {:>8.4} {:>9.4} {:>9.1} {:>14}  {}",
            c.partitioner,
            c.moved_fraction,
            c.optimum,
            c.max_over_mean,
            r.lookup_ns_per_key,
            if c.only_necessary_moves { "yes" } else { "no" },
            if c.params.is_empty() { "-" } else { &c.params }
        );
    }
    println!(
        "moved: fraction of keys whose owner changed; necessary-only: whether only keys that had to move moved;\n\
         ns/key: assign() time per key at {} owners (best of {TIMED_RUNS}), one lookup except for bounded-loads",
        opts.to
    );
}
