//! Checkers run after the simulation, outside the engine, one per file.

pub mod conformance;
pub mod exactly_once;
pub mod leadership;
pub mod liveness;
pub mod rescaling;
pub mod windows;
