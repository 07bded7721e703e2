//! halab-scenarios: scenario files (TOML) and the built-in catalogue, and the
//! runner that wraps `halab_sim::run_seed` with wall-clock timing.
//!
//! [`suite`] describes what `halab report` runs ([`variants`] builds its
//! sweeps); [`sweep`] runs many seeds on all cores; [`shrink`] minimises a failing
//! fault plan. A bad file gets an error naming `file:line:col`, never a panic.

pub mod catalogue;
pub mod determinism;
pub mod overrides;
pub mod parse;
pub mod runner;
pub mod shrink;
pub mod suite;
pub mod sweep;
pub mod testing;
mod type_errors;
pub mod variants;

pub use parse::{parse_scenario, parse_scenario_file, read_text_file, ScenarioFileError};
