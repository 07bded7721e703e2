//! `halab`: run, sweep and report on HA scenarios of a Flink-like engine in a
//! deterministic simulator. The commands live in `cli/`; this file only parses
//! arguments and turns outcomes into exit codes (0 pass, 1 violation,
//! 2 bad input, 3 liveness failure).

mod cli;

use clap::Parser;

fn main() {
    restore_sigpipe();
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

/// Rust ignores SIGPIPE, so printing into a closed pipe (`halab list | head`)
/// would panic. Restore the default: the process ends quietly, as `cat` does.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any thread starts; setting
    // a signal's disposition to its default has no other precondition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
