//! Command-line interface: argument definitions and dispatch.

mod bench;
mod check;
mod compare;
mod list;
mod output_file;
mod partition;
mod policy;
mod progress;
mod report;
mod repro;
mod run;
mod scenario_arg;
mod shrink;
mod sweep;
mod timeline;
mod usage_error;

pub use report::{rebalancing_stats, rebalancing_stats_of, RESCALES};

use clap::{Parser, Subcommand, ValueEnum};
use halab_scenarios::sweep::{SeedRange, Shard};
use output_file::Overwrite;

/// Exit code for bad input (unknown scenario, malformed file, bad flag).
pub const EXIT_BAD_INPUT: i32 = 2;

/// A trace hash as halab prints it: 16 hexadecimal digits (lower-cased).
fn parse_trace_hash(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.len() == 16 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{text}` is not a trace hash: expected 16 hexadecimal digits, as `halab run` prints"
        ))
    }
}

/// Parse `args` (the program name first) and run the command: its exit
/// code (0 pass, 1 violation, 2 bad input, 3 liveness failure). Errors are
/// printed to stderr with control characters escaped, clap's usage errors
/// too (exit 2); help and version go to stdout (exit 0).
pub fn main_with<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error::report(&e, &args),
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("error: {}", halab_sim::names::escape_control(&text));
            EXIT_BAD_INPUT
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "halab",
    version,
    about = "A deterministic testbed for high-availability strategies of a Flink-like stream processor"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the built-in scenarios.
    List,
    /// Run one scenario under one seed.
    Run {
        /// A built-in scenario name, or a scenario file: an argument that
        /// contains `/` or ends in `.toml` is a file (./x, x.toml).
        scenario: String,
        /// The seed; everything in the run follows from it.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output format: human text, or exactly one JSON object on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Print the full trace (to stderr with --format json).
        #[arg(long)]
        trace: bool,
        /// Run twice and fail on any trace-hash difference.
        #[arg(long)]
        check_determinism: bool,
        /// Write the run's fault plan out as an explicit scenario file (a
        /// new file: an existing one only with --force, the scenario file
        /// itself never).
        #[arg(long, value_name = "FILE")]
        write_plan: Option<std::path::PathBuf>,
        /// Let --write-plan, --history and --timeline replace an existing file.
        #[arg(long)]
        force: bool,
        /// Override one key of the scenario (repeatable): a Flink key,
        /// job.<key>, resources.<key>, cluster.<key>, expect.<key> or duration.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Write what the run committed, the source's records and the trace
        /// as JSON Lines (docs/history.md).
        #[arg(long, value_name = "FILE")]
        history: Option<std::path::PathBuf>,
        /// Write the run's timeline as a self-contained HTML page: a lane
        /// per node with task placements and faults, restarts, checkpoints,
        /// leader epochs, and each subtask's load and state over time.
        #[arg(long, value_name = "FILE.html")]
        timeline: Option<std::path::PathBuf>,
        /// Print how far the run has got to stderr, once a second (auto:
        /// when stderr is a terminal).
        #[arg(long, value_enum, default_value_t = progress::ProgressMode::Auto)]
        progress: progress::ProgressMode,
    },
    /// Re-run the checkers on a run history alone and print the verdict.
    Check {
        /// A history written by `run --history`.
        file: std::path::PathBuf,
    },
    /// Run every combination of the varied keys on the same seeds (the same
    /// fault plans) and compare them side by side.
    Compare {
        /// Built-in scenario names or scenario files (an argument that
        /// contains `/` or ends in `.toml` is a file: ./x, x.toml). Each
        /// is varied alike, and gets its own tables.
        #[arg(required = true, num_args = 1..)]
        scenarios: Vec<String>,
        /// A key and its values, e.g.
        /// restart-strategy.type=fixed-delay,exponential-delay (repeatable:
        /// the product of all).
        #[arg(long, value_name = "KEY=V1,V2,...", required_unless_present = "from")]
        vary: Vec<String>,
        /// Override one key of the scenario for every variant (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Inclusive seed range, e.g. 1..100.
        #[arg(long, default_value = "1..100")]
        seeds: SeedRange,
        /// Worker threads (default: all cores; at most 4 per core).
        #[arg(long, value_name = "J", value_parser = jobs_arg)]
        jobs: Option<usize>,
        /// Write the records, the variants' scenario files and an HTML report.
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
        /// Compare the records of these files (merged shards of earlier
        /// compares or sweeps) instead of running; the scenario argument
        /// then only titles the table.
        #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["vary", "set", "seeds", "jobs"])]
        from: Vec<std::path::PathBuf>,
    },
    /// Run scenarios over a range of seeds on all cores.
    Sweep {
        /// Built-in scenario names or scenario files (an argument that
        /// contains `/` or ends in `.toml` is a file).
        #[arg(required_unless_present = "all")]
        scenarios: Vec<String>,
        /// Sweep every built-in scenario (the whole catalogue).
        #[arg(long, conflicts_with = "scenarios")]
        all: bool,
        /// Inclusive seed range, e.g. 1..1000.
        #[arg(long, default_value = "1..100")]
        seeds: SeedRange,
        /// Worker threads (default: all cores; at most 4 per core).
        #[arg(long, value_name = "J", value_parser = jobs_arg)]
        jobs: Option<usize>,
        /// Take every n-th seed starting at position i (i/n), for spreading a
        /// sweep over machines.
        #[arg(long)]
        shard: Option<Shard>,
        /// Append one run record per line (JSON Lines) as each seed finishes.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        /// Skip the runs already in --out (matched on scenario fingerprint
        /// and seed); refuse a file of another scenario of the same name or
        /// of another halab version.
        #[arg(long, requires = "out")]
        resume: bool,
        /// Run every seed twice and fail on any trace-hash difference.
        #[arg(long)]
        check_determinism: bool,
        /// Override one key of every scenario (repeatable; see `run --set`).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Write each run's history to DIR/<scenario>-seed-<seed>.jsonl
        /// (docs/history.md; every source record, about 13 MB for tm-crash).
        #[arg(long, value_name = "DIR")]
        history_dir: Option<std::path::PathBuf>,
    },
    /// Re-run one seed: its summary, or with --trace its full trace.
    Repro {
        /// A built-in scenario name, or a scenario file: an argument that
        /// contains `/` or ends in `.toml` is a file (./x, x.toml).
        scenario: String,
        #[arg(long)]
        seed: u64,
        /// Print every trace event (the default prints the summary only).
        #[arg(long)]
        trace: bool,
        /// Fail unless the run's trace hash equals this one (16 hex digits,
        /// as printed); a different hash exits 5, the nondeterminism code.
        #[arg(long, value_name = "HASH", value_parser = parse_trace_hash)]
        expect_hash: Option<String>,
    },
    /// Ask a restart strategy what it would do (a JSON-lines script on stdin,
    /// or a table for --failures).
    Policy {
        /// A Flink key, e.g. restart-strategy.type=failure-rate (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A TOML file with the keys (a scenario file's [config] table works).
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
        /// Seed of the jitter (exponential-delay).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Failure times, e.g. 0s,10s,20s,60s: print a table of decisions.
        #[arg(long)]
        failures: Option<String>,
    },
    /// Compare partitioners on a rescale: keys moved, optimum, balance, lookup
    /// time (no simulation).
    Partition {
        /// Number of keys: the keys 0..K, or K sampled keys with --seed.
        #[arg(long)]
        keys: u64,
        /// Owners (subtasks) before the rescale.
        #[arg(long)]
        from: u32,
        /// Owners (subtasks) after the rescale.
        #[arg(long)]
        to: u32,
        /// key-groups, ring, rendezvous, jump, maglev or bounded-loads
        /// (repeatable or comma-separated; default: all).
        #[arg(long = "partitioner", value_name = "NAME", value_delimiter = ',')]
        partitioners: Vec<String>,
        /// Output format: a table, or exactly one JSON object on stdout.
        #[arg(long, value_enum, default_value_t = partition::OutputFormat::Table)]
        format: partition::OutputFormat,
        /// Key groups (default: Flink's default for --from).
        #[arg(long, value_name = "P")]
        max_parallelism: Option<i32>,
        /// Virtual nodes per owner (ring, bounded-loads; default 160).
        #[arg(long, value_name = "V")]
        vnodes: Option<u32>,
        /// Maglev lookup table size, a prime (default 65537).
        #[arg(long, value_name = "M")]
        table_size: Option<u64>,
        /// Bounded loads: capacity ceil((1+E) * keys / owners) (default 0.25).
        #[arg(long, value_name = "E", allow_negative_numbers = true)]
        epsilon: Option<f64>,
        /// Sample the keys from this seed instead of using 0..K.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run a suite (the standard one, or --suite FILE), or read run records
    /// with --from, and write an HTML report with plots, records.jsonl and
    /// records.csv.
    Report {
        /// Output directory (created if missing).
        #[arg(long, value_name = "DIR", default_value = report::DEFAULT_OUT)]
        out: std::path::PathBuf,
        /// Seeds per scenario: each runs the seeds 1..=N (default: the
        /// suite's `seeds`, 150 for the standard suite).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        seeds: Option<u64>,
        /// Worker threads (default: all cores; at most 4 per core).
        #[arg(long, value_name = "J", value_parser = jobs_arg)]
        jobs: Option<usize>,
        /// Re-render from run records (JSON Lines) without running anything;
        /// several files (the shards of a sweep) are merged.
        #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["seeds", "jobs", "resume", "scenarios"])]
        from: Vec<std::path::PathBuf>,
        /// Keep the suite's records already in DIR/records.jsonl and run the
        /// rest; records of other scenarios or seeds stay in the file.
        #[arg(long)]
        resume: bool,
        /// Restrict the suite to these scenarios (comma-separated; for tests).
        #[arg(long, hide = true, value_delimiter = ',')]
        scenarios: Vec<String>,
        /// The suite to run and to sort records by (docs/suites.md); default:
        /// the standard suite.
        #[arg(long, value_name = "FILE")]
        suite: Option<std::path::PathBuf>,
    },
    /// Measure the headline speed figures (pipeline throughput beside a
    /// sequential fold, chaos simulated/wall time and seeds/s, memory) in
    /// one table.
    Bench {
        /// Output format: a table, or exactly one JSON object on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Check memory flatness over 10,000 chaos seeds instead of 2,000.
        #[arg(long, conflicts_with = "sweep_seeds")]
        long: bool,
        /// Chaos seeds of the sweep (seeds per second, memory flatness).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
        sweep_seeds: Option<u64>,
        /// Repetitions of each pipeline measurement (the median is shown).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
        reps: u64,
        /// Worker threads of the sweep (default: all cores; at most 4 per core).
        #[arg(long, value_name = "J", value_parser = jobs_arg)]
        jobs: Option<usize>,
    },
    /// Minimise the fault plan of a failing seed and write it as a scenario file.
    Shrink {
        /// A built-in scenario name, or a scenario file: an argument that
        /// contains `/` or ends in `.toml` is a file (./x, x.toml).
        scenario: String,
        #[arg(long)]
        seed: u64,
        /// Where to write the shrunk scenario (default:
        /// <name>-seed<N>-shrunk.toml); a new file: an existing one only
        /// with --force, the scenario file itself never.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
        /// Let the shrunk scenario replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::List => list::run(),
        Command::Run {
            scenario,
            seed,
            format,
            trace,
            check_determinism,
            write_plan,
            force,
            set,
            history,
            timeline,
            progress,
        } => run::run(
            &scenario,
            seed,
            run::Options {
                format,
                trace,
                check_determinism,
                write_plan,
                overwrite: if force { Overwrite::Allow } else { Overwrite::Refuse },
                set,
                history,
                timeline,
                progress,
            },
        ),
        Command::Check { file } => check::run(&file),
        Command::Compare {
            scenarios,
            vary,
            set,
            seeds,
            jobs,
            out,
            from,
        } => compare::run(compare::Options {
            scenarios,
            vary,
            set,
            seeds,
            jobs,
            out,
            from,
        }),
        Command::Sweep {
            scenarios,
            all,
            seeds,
            jobs,
            shard,
            out,
            resume,
            check_determinism,
            set,
            history_dir,
        } => sweep::run(sweep::Options {
            scenarios: if all {
                halab_scenarios::catalogue::names()
                    .into_iter()
                    .map(String::from)
                    .collect()
            } else {
                scenarios
            },
            seeds,
            jobs,
            shard,
            out,
            resume,
            check_determinism,
            set,
            history_dir,
        }),
        Command::Repro {
            scenario,
            seed,
            trace,
            expect_hash,
        } => repro::run(&scenario, seed, trace, expect_hash),
        Command::Bench {
            format,
            long,
            sweep_seeds,
            reps,
            jobs,
        } => bench::run(bench::Options {
            format,
            sweep_seeds: sweep_seeds.unwrap_or(if long { 10_000 } else { 2_000 }),
            reps: reps as usize,
            jobs,
        }),
        Command::Shrink {
            scenario,
            seed,
            out,
            force,
        } => shrink::run(
            &scenario,
            seed,
            out,
            if force { Overwrite::Allow } else { Overwrite::Refuse },
        ),
        Command::Report {
            out,
            seeds,
            jobs,
            from,
            resume,
            scenarios,
            suite,
        } => report::run(report::Options {
            out,
            seeds,
            jobs,
            from,
            resume,
            scenarios,
            suite,
        }),
        Command::Partition {
            keys,
            from,
            to,
            partitioners,
            format,
            max_parallelism,
            vnodes,
            table_size,
            epsilon,
            seed,
        } => partition::run(partition::Options {
            keys,
            from,
            to,
            partitioners,
            format,
            max_parallelism,
            vnodes,
            table_size,
            epsilon,
            seed,
        }),
        Command::Policy {
            set,
            config,
            seed,
            failures,
        } => policy::run(policy::Options {
            set,
            config,
            seed,
            failures,
        }),
    }
}

/// Worker threads per core that `--jobs` allows: more only contend for
/// the cores.
pub const JOBS_PER_CORE: usize = 4;

/// `--jobs`: at least 1 and at most [`JOBS_PER_CORE`] per core of this
/// machine; more is refused (exit 2) with the cap.
fn jobs_arg(s: &str) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = JOBS_PER_CORE * cores;
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > cap => Err(format!(
            "at most {cap} ({JOBS_PER_CORE} per core; this machine has {cores} cores)"
        )),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
