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

    /// Whether one JobMaster may change the job from `self` to `to`: a
    /// change goes somewhere else; nothing leaves a globally terminal state
    /// or SUSPENDED (that JobMaster is done; a new leader starts anew);
    /// nothing returns to CREATED; FAILED is reached only through FAILING
    /// and CANCELED only through CANCELING, and those two lead only there
    /// (or to SUSPENDED).
    pub fn can_transition_to(self, to: JobStatus) -> bool {
        use JobStatus::*;
        if self == to || self.is_terminal() || self == Suspended || to == Created {
            return false;
        }
        match (self, to) {
            (Failing, Failed | Suspended) | (Canceling, Canceled | Suspended) => true,
            (Failing | Canceling, _) | (_, Failed | Canceled) => false,
            _ => true,
        }
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

#[cfg(test)]
mod tests {
    use super::JobStatus::{self, *};

    #[test]
    fn job_status_changes_follow_flink() {
        let legal = [
            (Created, Running),
            (Running, Restarting),
            (Restarting, Running),
            (Running, Failing),
            (Failing, Failed),
            (Restarting, Canceling),
            (Canceling, Canceled),
            (Running, Finished),
            (Running, Suspended),
            (Failing, Suspended),
        ];
        for (from, to) in legal {
            assert!(from.can_transition_to(to), "{from:?} -> {to:?}");
        }
        let illegal = [
            (Running, Running),
            (Running, Created),
            (Running, Failed),
            (Restarting, Canceled),
            (Failing, Restarting),
            (Canceling, Running),
            (Failed, Running),
            (Finished, Restarting),
            (Canceled, Suspended),
            (Suspended, Running),
        ];
        for (from, to) in illegal {
            assert!(!from.can_transition_to(to), "{from:?} -> {to:?}");
        }
        let all: [JobStatus; 9] = [
            Created, Running, Restarting, Failing, Failed, Canceling, Canceled, Finished, Suspended,
        ];
        for to in all {
            assert!(!Suspended.can_transition_to(to) && !Finished.can_transition_to(to));
        }
    }
}
