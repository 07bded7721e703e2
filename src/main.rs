//! `halab`: run, sweep and report on HA scenarios of a Flink-like engine in a
//! deterministic simulator. The commands live in `cli/`; this file only parses
//! arguments and turns outcomes into exit codes (0 pass, 1 violation,
//! 2 bad input, 3 liveness failure).

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let code = match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            cli::EXIT_BAD_INPUT
        }
    };
    std::process::exit(code);
}
