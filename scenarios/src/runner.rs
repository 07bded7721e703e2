//! Run a scenario under a seed and time it on the wall clock (outside the
//! simulation; the sim crate never reads a wall clock).

use halab_sim::scenario::ScenarioError;
use halab_sim::{run_seed, RunRecord, Scenario};

/// `run_seed` plus the run's wall time in `wall_ms`.
pub fn run_timed(scenario: &Scenario, seed: u64) -> Result<RunRecord, ScenarioError> {
    let start = std::time::Instant::now();
    let mut record = run_seed(scenario, seed)?;
    record.wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok(record)
}

/// Like [`run_timed`], with the full trace as text lines.
pub fn run_timed_with_trace(scenario: &Scenario, seed: u64) -> Result<(RunRecord, Vec<String>), ScenarioError> {
    let start = std::time::Instant::now();
    let (mut record, trace) = halab_sim::harness::run_seed_with_trace(scenario, seed)?;
    record.wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    Ok((record, trace))
}
