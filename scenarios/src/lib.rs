//! halab-scenarios: scenario files (TOML) and the built-in catalogue, and the
//! runner that wraps `halab_sim::run_seed` with wall-clock timing.
//!
//! A bad file gets an error naming `file:line:col`, never a panic.

pub mod catalogue;
pub mod parse;
pub mod runner;

pub use parse::{parse_scenario, ScenarioFileError};
