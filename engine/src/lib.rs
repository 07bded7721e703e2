//! halab-engine: a small Flink-like stream engine.
//!
//! Two layers live in this crate:
//! - a **pure core** ([`graph`], [`record`], [`state`], [`checkpoint`], [`sink`],
//!   [`restart`], [`failover`], [`partition`], [`config`]) with no clock, network
//!   or randomness of its own: time comes in as an argument, randomness as an
//!   `Rng` handed in. It is unit-tested directly.
//! - **processes** ([`process`]): the JobManager and TaskManager as async actors on
//!   madsim nodes, which feed events to the core and carry out its decisions, and
//!   the wire [`protocol`] they speak with each other and with the external
//!   services (source log, sink store, checkpoint storage) that `halab-sim` runs.
//!
//! Flink's nouns are used for Flink's concepts (CheckpointCoordinator,
//! CheckpointBarrier, CompletedCheckpoint, KeyGroupRange,
//! RestartBackoffTimeStrategy, FailoverStrategy), in Rust style.

#[cfg(not(madsim))]
compile_error!("halab must be built with `--cfg madsim` (see .cargo/config.toml; a RUSTFLAGS variable replaces it)");

pub mod checkpoint;
pub mod config;
pub mod duration;
pub mod failover;
pub mod functions;
pub mod graph;
pub mod ha;
pub mod join;
pub mod net;
pub mod partition;
pub mod placement;
pub mod plugins;
pub mod process;
pub mod protocol;
pub mod reachability;
pub mod record;
pub mod resources;
pub mod restart;
pub mod sink;
pub mod state;
pub mod status;
pub mod trace;
pub mod window;
pub mod window_max;
