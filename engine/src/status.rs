//! Job and task lifecycle states, with Flink's names.

use serde::{Deserialize, Serialize};

/// Flink's `JobStatus` (the subset the engine uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Created,
    Running,
    Restarting,
    Failing,
    Failed,
    Canceling,
    Canceled,
    Finished,
    /// The JobMaster lost leadership; another leader may resume the job.
    Suspended,
}

impl JobStatus {
    /// Globally terminal: the job will not run again.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Failed | JobStatus::Canceled | JobStatus::Finished)
    }
}

/// Flink's `ExecutionState` (the subset the engine uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionState {
    Created,
    Deploying,
    Initializing,
    Running,
    Canceling,
    Canceled,
    Failed,
    Finished,
}
