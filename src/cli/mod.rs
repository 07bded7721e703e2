//! Command-line interface: argument definitions and dispatch.

mod list;
mod run;
mod scenario_arg;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code for bad input (unknown scenario, malformed file, bad flag).
pub const EXIT_BAD_INPUT: i32 = 2;

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
        /// A built-in scenario name or a path to a scenario file (.toml).
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
        } => run::run(&scenario, seed, format, trace),
    }
}
