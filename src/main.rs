//! `halab`: run, sweep and report on HA scenarios of a Flink-like engine in a
//! deterministic simulator. The commands live in the library's `cli`; this
//! file only restores SIGPIPE and exits with the command's code.

fn main() {
    restore_sigpipe();
    std::process::exit(halab::cli::main_with(std::env::args_os()));
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
