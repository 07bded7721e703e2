//! `halab run`'s progress lines: a long single run says how far it has got.
//!
//! A watcher thread reads the run's [`Progress`] (written by the harness once
//! per simulated metrics bucket) and prints a line to stderr every
//! [`INTERVAL`] of wall time, the first after one interval, so a run shorter
//! than that prints nothing. The simulation never reads what is shown.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use halab_sim::progress::Progress;

/// Wall time between two progress lines.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// When `halab run` prints progress (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// When stderr is a terminal.
    Auto,
    /// Always, to stderr.
    Always,
    /// Never.
    Never,
}

impl ProgressMode {
    fn shows(self) -> bool {
        match self {
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Always => true,
            ProgressMode::Never => false,
        }
    }
}

/// A running watcher; dropping it stops the lines.
pub struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Start watching `progress` under `mode`.
pub fn watch(progress: Progress, mode: ProgressMode) -> Watcher {
    if !mode.shows() {
        return Watcher {
            stop: None,
            thread: None,
        };
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let start = Instant::now();
    let thread = std::thread::spawn(move || loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => eprintln!("{}", line(&progress, start.elapsed())),
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    });
    Watcher {
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One progress line: simulated time, the share of the latest possible end,
/// and wall time.
pub fn line(progress: &Progress, wall: Duration) -> String {
    let (sim, end) = (progress.simulated_ms(), progress.deadline_ms());
    let percent = (sim.min(end) * 100).checked_div(end).unwrap_or(0);
    format!(
        "progress: simulated {:.1}s of at most {:.1}s ({percent}%) in {:.1}s wall",
        sim as f64 / 1000.0,
        end as f64 / 1000.0,
        wall.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gives_simulated_time_its_share_and_wall_time() {
        let p = Progress::new();
        assert_eq!(
            line(&p, Duration::from_millis(300)),
            "progress: simulated 0.0s of at most 0.0s (0%) in 0.3s wall"
        );
        p.set(90_000, 360_000);
        assert_eq!(
            line(&p, Duration::from_millis(2_500)),
            "progress: simulated 90.0s of at most 360.0s (25%) in 2.5s wall"
        );
        p.set(400_000, 360_000);
        assert!(line(&p, Duration::ZERO).contains("(100%)"));
    }
}
