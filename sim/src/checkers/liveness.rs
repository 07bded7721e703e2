//! Liveness: after the last fault heals and the input ends, the job must
//! commit all input within the scenario's recovery bound, and still be running.
//! A scenario that expects the job to end FAILED (its restart strategy gives
//! up) instead requires that end state, reached before the bound.

use halab_engine::status::JobStatus;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivenessReport {
    pub converged: bool,
    pub message: Option<String>,
}

/// `completed_at_ms` is when every source record had a committed output (if
/// ever); `deadline_ms` is the bound.
pub fn check(
    distinct_committed: u64,
    expected: u64,
    completed_at_ms: Option<u64>,
    deadline_ms: u64,
    final_status: JobStatus,
    expected_status: JobStatus,
) -> LivenessReport {
    if matches!(expected_status, JobStatus::Failed | JobStatus::Canceled) {
        return if final_status == expected_status {
            LivenessReport {
                converged: true,
                message: None,
            }
        } else {
            LivenessReport {
                converged: false,
                message: Some(format!(
                    "the job ended {final_status:?}; the scenario expects {expected_status:?}"
                )),
            }
        };
    }
    // RUNNING, or FINISHED for a bounded job: all input must be committed.
    if final_status != expected_status {
        return LivenessReport {
            converged: false,
            message: Some(format!("the job ended {final_status:?} instead of {expected_status:?}")),
        };
    }
    match completed_at_ms {
        Some(t) if t <= deadline_ms => LivenessReport {
            converged: true,
            message: None,
        },
        _ => LivenessReport {
            converged: false,
            message: Some(format!(
                "only {distinct_committed} of {expected} records committed by the deadline at {:.1}s",
                deadline_ms as f64 / 1000.0
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_needs_completion_in_time_and_a_running_job() {
        let run = JobStatus::Running;
        assert!(check(10, 10, Some(5), 10, run, run).converged);
        assert!(!check(10, 10, Some(11), 10, run, run).converged);
        assert!(!check(9, 10, None, 10, run, run).converged);
        assert!(!check(10, 10, Some(5), 10, JobStatus::Failed, run).converged);
        assert!(check(3, 10, None, 10, JobStatus::Failed, JobStatus::Failed).converged);
        assert!(!check(10, 10, Some(5), 10, run, JobStatus::Failed).converged);
    }
}
