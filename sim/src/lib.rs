//! halab-sim: the simulated world around the engine.
//!
//! - [`scenario`]: what a run is (cluster, job, configuration, faults, expectations);
//! - [`faults`]: fault plans as data; [`random_faults`]: plans drawn from the seed;
//! - [`services`]: the external services as their own nodes (source log, sink
//!   store, checkpoint storage), durable across their own crashes;
//! - [`harness`]: [`run_seed`], the one way every caller runs a simulation;
//! - [`checkers`]: exactly-once and liveness, each in its own file, against
//!   the sequential [`reference`](mod@reference), or of any job graph
//!   against its [`graph_reference`];
//! - [`names`]: the scenario name rule, and user text made safe as a file
//!   name, on a terminal and as a shell word;
//! - [`record`]: the [`RunRecord`] a run produces, tied to its scenario by
//!   the [`fingerprint`] and to the binary by its version; [`recovery`]
//!   derives recovery episodes from the trace.

#[cfg(not(madsim))]
compile_error!("halab must be built with `--cfg madsim` (see .cargo/config.toml; a RUSTFLAGS variable replaces it)");

pub mod checkers;
pub mod cluster;
pub mod faults;
pub mod fingerprint;
pub mod graph_reference;
pub mod harness;
pub mod history;
pub mod human;
pub mod keys;
pub mod latency;
pub mod names;
pub mod nexmark;
pub mod operators;
pub mod plan_check;
pub mod progress;
pub mod random_faults;
pub mod record;
pub mod recovery;
pub mod reference;
pub mod scenario;
pub mod services;

pub use harness::run_seed;
pub use record::{RunRecord, Verdict};
pub use scenario::Scenario;
