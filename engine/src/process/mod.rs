//! Processes on madsim nodes: the [`jobmanager`] and the [`taskmanager`], and the
//! [`task`]s a TaskManager runs. They use madsim's time and network and feed
//! the pure core with events.

pub mod jobmanager;
pub mod task;
pub mod taskmanager;
