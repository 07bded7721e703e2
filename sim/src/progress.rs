//! How far a running simulation has got, for a watcher outside it.
//!
//! `halab run` shows a long run's progress from another thread. The
//! harness's monitor writes the simulated time here once per metrics bucket;
//! nothing inside the simulation reads it, so watching a run cannot change
//! its trace.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A shared view of one run's simulated clock and its latest possible end.
#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<Clocks>);

#[derive(Debug, Default)]
struct Clocks {
    simulated_ms: AtomicU64,
    deadline_ms: AtomicU64,
}

impl Progress {
    /// A view nobody has written yet: both times 0.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// The run has reached `now_ms`; it ends by `deadline_ms` at the latest.
    pub fn set(&self, now_ms: u64, deadline_ms: u64) {
        assert!(
            now_ms >= self.simulated_ms(),
            "invariant: simulated time goes forward ({now_ms} ms after {} ms)",
            self.simulated_ms()
        );
        self.0.deadline_ms.store(deadline_ms, Ordering::Relaxed);
        self.0.simulated_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Simulated milliseconds reached so far.
    pub fn simulated_ms(&self) -> u64 {
        self.0.simulated_ms.load(Ordering::Relaxed)
    }

    /// The latest the run can end (its recovery deadline), in simulated ms.
    pub fn deadline_ms(&self) -> u64 {
        self.0.deadline_ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_sees_what_the_writer_set() {
        let p = Progress::new();
        let watcher = p.clone();
        assert_eq!((watcher.simulated_ms(), watcher.deadline_ms()), (0, 0));
        p.set(1_500, 42_000);
        assert_eq!((watcher.simulated_ms(), watcher.deadline_ms()), (1_500, 42_000));
    }

    #[test]
    #[should_panic(expected = "goes forward")]
    fn time_never_goes_back() {
        let p = Progress::new();
        p.set(2_000, 10_000);
        p.set(1_000, 10_000);
    }
}
