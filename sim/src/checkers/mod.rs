//! Checkers, one per file. They run outside the engine: after the
//! simulation, except the output check ([`output`]), which the sink store
//! feeds as transactions commit so that a run need not keep its output.

pub mod conformance;
pub mod exactly_once;
pub mod leadership;
pub mod liveness;
pub mod output;
pub mod rescaling;
pub mod windows;
