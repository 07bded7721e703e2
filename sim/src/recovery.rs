//! Derive run-record series from the trace: checkpoint events, restarts, and
//! one recovery episode per disturbing fault (fault → detection → redeploy →
//! first commit after it).

use halab_engine::status::JobStatus;
use halab_engine::trace::{TraceEntry, TraceEvent};

use crate::faults::{Fault, FaultPlan};
use crate::record::{Bucket, CheckpointEvent, CheckpointMetrics, JobMetrics, RecoveryEpisode, RestartEvent};

pub fn checkpoint_events(trace: &[TraceEntry]) -> Vec<CheckpointEvent> {
    trace
        .iter()
        .filter_map(|e| match &e.event {
            TraceEvent::CheckpointCompleted {
                id,
                duration_ms,
                size_bytes,
                uploaded_bytes,
                alignment_ms,
                sync_ms,
                persisted_bytes,
            } => Some(CheckpointEvent {
                id: *id,
                t_ms: e.t_ms,
                outcome: "completed".into(),
                duration_ms: Some(*duration_ms),
                size_bytes: Some(*size_bytes),
                uploaded_bytes: Some(*uploaded_bytes),
                alignment_ms: Some(*alignment_ms),
                sync_ms: Some(*sync_ms),
                persisted_bytes: Some(*persisted_bytes),
                reason: None,
            }),
            TraceEvent::CheckpointAborted { id, reason } => Some(CheckpointEvent {
                id: *id,
                t_ms: e.t_ms,
                outcome: "aborted".into(),
                duration_ms: None,
                size_bytes: None,
                uploaded_bytes: None,
                alignment_ms: None,
                sync_ms: None,
                persisted_bytes: None,
                reason: Some(reason.clone()),
            }),
            _ => None,
        })
        .collect()
}

/// Flink's checkpoint metrics after every checkpoint event, as a time series.
pub fn checkpoint_metrics(events: &[CheckpointEvent]) -> Vec<CheckpointMetrics> {
    let mut m = CheckpointMetrics::default();
    let mut out = Vec::new();
    for e in events {
        m.t_ms = e.t_ms;
        if e.outcome == "completed" {
            m.number_of_completed_checkpoints += 1;
            m.last_checkpoint_duration = e.duration_ms.unwrap_or(-1);
            // Flink: lastCheckpointSize is the checkpointed (uploaded)
            // size, lastCheckpointFullSize the whole state's.
            m.last_checkpoint_size = e.uploaded_bytes.map(|s| s as i64).unwrap_or(-1);
            m.last_checkpoint_full_size = e.size_bytes.map(|s| s as i64).unwrap_or(-1);
            m.checkpoint_alignment_time = e.alignment_ms.unwrap_or(0);
            m.last_checkpoint_persisted_data = e.persisted_bytes.map(|s| s as i64).unwrap_or(-1);
        } else {
            m.number_of_failed_checkpoints += 1;
        }
        out.push(m.clone());
    }
    out
}

pub fn restart_events(trace: &[TraceEntry]) -> Vec<RestartEvent> {
    trace
        .iter()
        .filter_map(|e| match &e.event {
            TraceEvent::RestartScheduled { delay_ms, num_restarts } => Some(RestartEvent {
                t_ms: e.t_ms,
                delay_ms: *delay_ms,
                num_restarts: *num_restarts,
            }),
            _ => None,
        })
        .collect()
}

/// The JobManager that was granted leadership last, followed through a
/// trace: what it traces is the job's; a revoked leader's (or a zombie's)
/// entries do not count once another leads. Without HA there is no grant
/// and every entry counts.
#[derive(Clone, Debug, Default)]
pub struct LeaderTracker {
    /// The newest leadership: epoch and node.
    newest: Option<(u64, String)>,
}

impl LeaderTracker {
    /// Feed one trace entry; true when it granted a newer leadership.
    pub fn observe(&mut self, e: &TraceEntry) -> bool {
        match e.event {
            TraceEvent::LeadershipGranted { epoch, .. }
                if self.newest.as_ref().is_none_or(|(newest, _)| epoch > *newest) =>
            {
                self.newest = Some((epoch, e.node.clone()));
                true
            }
            _ => false,
        }
    }

    /// Whether `e` comes from the current leader.
    pub fn leads(&self, e: &TraceEntry) -> bool {
        self.newest.as_ref().is_none_or(|(_, node)| *node == e.node)
    }
}

/// The number of restarts (Flink's `numRestarts`) at the end of the run, as
/// the JobManager that leads last counts them: a new leader's count starts
/// at 0 (Flink's new JobMaster builds a new ExecutionGraph), and a revoked
/// leader that still schedules restarts does not count once another leads.
/// Uncoordinated checkpoints: the tasks' snapshots that restores of
/// recovery lines discarded (taken after the line; a chain of forced
/// rollbacks, the domino effect, discards many).
pub fn snapshots_rolled_back(trace: &[TraceEntry]) -> u64 {
    trace
        .iter()
        .map(|e| match e.event {
            TraceEvent::RecoveryLineRestored {
                snapshots_rolled_back, ..
            } => snapshots_rolled_back,
            _ => 0,
        })
        .sum()
}

pub fn num_restarts(trace: &[TraceEntry]) -> u32 {
    let mut leader = LeaderTracker::default();
    let mut count = 0;
    for e in trace {
        if leader.observe(e) {
            count = 0;
        } else if let TraceEvent::RestartScheduled { num_restarts, .. } = e.event {
            if leader.leads(e) {
                count = num_restarts;
            }
        }
    }
    count
}

/// The job's status as its current leader sees it. With HA several
/// JobManagers trace status changes; the job's status is the one of the
/// JobManager that was granted leadership last ([`LeaderTracker`]).
#[derive(Clone, Debug)]
pub struct JobStatusTracker {
    leader: LeaderTracker,
    pub status: JobStatus,
}

impl Default for JobStatusTracker {
    fn default() -> Self {
        JobStatusTracker {
            leader: LeaderTracker::default(),
            status: JobStatus::Created,
        }
    }
}

impl JobStatusTracker {
    /// Feed one trace entry; returns the new status if it changed the job's.
    pub fn observe(&mut self, e: &TraceEntry) -> Option<JobStatus> {
        if self.leader.observe(e) {
            return None;
        }
        match e.event {
            TraceEvent::JobStatusChanged { to, .. } if self.leader.leads(e) => {
                self.status = to;
                Some(to)
            }
            _ => None,
        }
    }
}

/// Flink's job metrics at `now_ms`, from the status changes in the trace.
pub fn job_metrics(trace: &[TraceEntry], now_ms: u64) -> JobMetrics {
    let now = now_ms as i64;
    let mut status = JobStatus::Created;
    let mut since = 0i64;
    let (mut running_at, mut failing_at) = (None::<i64>, None::<i64>);
    let (mut restarting_total, mut running_total) = (0i64, 0i64);
    let mut tracker = JobStatusTracker::default();
    for e in trace {
        if let Some(to) = tracker.observe(e) {
            let t = e.t_ms as i64;
            match status {
                JobStatus::Restarting => restarting_total += t - since,
                JobStatus::Running => running_total += t - since,
                _ => {}
            }
            match to {
                JobStatus::Running => running_at = Some(t),
                JobStatus::Failing => failing_at = Some(t),
                _ => {}
            }
            status = to;
            since = t;
        }
    }
    let current = now - since;
    let terminal = status.is_terminal();
    JobMetrics {
        num_restarts: num_restarts(trace),
        restarting_time: if status == JobStatus::Restarting { current } else { 0 },
        restarting_time_total: restarting_total + if status == JobStatus::Restarting { current } else { 0 },
        running_time_total: running_total + if status == JobStatus::Running { current } else { 0 },
        uptime: match (terminal, status, running_at) {
            (true, _, _) => -1,
            (false, JobStatus::Running, Some(t)) => now - t,
            _ => 0,
        },
        downtime: match (terminal, failing_at, running_at) {
            (true, _, _) => -1,
            (false, Some(f), r) if r.is_none_or(|r| f > r) => now - f,
            _ => 0,
        },
    }
}

/// The job status at the end of the trace.
pub fn final_status(trace: &[TraceEntry]) -> JobStatus {
    let mut tracker = JobStatusTracker::default();
    for e in trace {
        tracker.observe(e);
    }
    tracker.status
}

/// One episode per disturbing fault: detection is the first failure the
/// JobManager sees after it (a lost TaskManager, a failed task, or a global
/// failure such as too many failed checkpoints), or with HA the first change
/// of leadership (a new lease granted, or a leader giving up its own).
///
/// The phases after the redeploy: restored is when the last redeployed task
/// that restores state finished downloading it; caught up is the end of the
/// first 100 ms bucket, from then on, whose consumer lag is back at most to
/// the largest lag of the second before the fault.
pub fn recovery_episodes(plan: &FaultPlan, trace: &[TraceEntry], buckets: &[Bucket]) -> Vec<RecoveryEpisode> {
    let first_after = |t: u64, pred: &dyn Fn(&TraceEvent) -> bool| {
        trace.iter().find(|e| e.t_ms >= t && pred(&e.event)).map(|e| e.t_ms)
    };
    plan.0
        .iter()
        .filter(|f| !f.fault.is_heal())
        .map(|f| {
            let fault_ms = f.at.as_millis();
            let detected_ms = first_after(fault_ms, &|e| {
                matches!(
                    e,
                    TraceEvent::TaskManagerLost { .. }
                        | TraceEvent::TaskFailed { .. }
                        | TraceEvent::GlobalFailure { .. }
                        | TraceEvent::LeaseGranted { .. }
                        | TraceEvent::LeadershipRevoked { .. }
                )
            });
            let restarted_ms =
                detected_ms.and_then(|d| first_after(d, &|e| matches!(e, TraceEvent::TasksDeployed { .. })));
            let cancelled_ms = detected_ms
                .zip(restarted_ms)
                .and_then(|(d, r)| last_cancellation_between(trace, d, r));
            let first_commit_ms =
                restarted_ms.and_then(|r| first_after(r, &|e| matches!(e, TraceEvent::TxnCommitted { .. })));
            let restored_ms = restarted_ms.and_then(|r| restored_at(trace, r));
            let caught_up_ms = restored_ms
                .or(restarted_ms)
                .and_then(|from| caught_up_at(buckets, fault_ms, from));
            RecoveryEpisode {
                fault: f.fault.to_string(),
                fault_ms,
                detected_ms,
                cancelled_ms,
                restarted_ms,
                restored_ms,
                caught_up_ms,
                first_commit_ms,
            }
        })
        .collect()
}

/// When the last cancellation that finished in `[from_ms, to_ms]` did: the
/// restart at `to_ms` waited for it.
fn last_cancellation_between(trace: &[TraceEntry], from_ms: u64, to_ms: u64) -> Option<u64> {
    trace
        .iter()
        .rev()
        .filter(|e| (from_ms..=to_ms).contains(&e.t_ms) && matches!(e.event, TraceEvent::TaskCanceled { .. }))
        .map(|e| e.t_ms)
        .next()
}

/// When the tasks a deployment at `deployed_ms` restored had all
/// downloaded their state: the n-th `state_restored` from then on, for a
/// deployment of n tasks that restores a checkpoint.
fn restored_at(trace: &[TraceEntry], deployed_ms: u64) -> Option<u64> {
    let tasks = trace.iter().find_map(|e| match e.event {
        TraceEvent::TasksDeployed {
            tasks,
            restored_from: Some(_),
            ..
        } if e.t_ms == deployed_ms => Some(tasks as usize),
        _ => None,
    })?;
    trace
        .iter()
        .filter(|e| e.t_ms >= deployed_ms && matches!(e.event, TraceEvent::StateRestored { .. }))
        .nth(tasks.checked_sub(1)?)
        .map(|e| e.t_ms)
}

/// The end of the first bucket at or after `from_ms` whose lag is back to
/// the largest lag of the second before the fault.
fn caught_up_at(buckets: &[Bucket], fault_ms: u64, from_ms: u64) -> Option<u64> {
    let end = |b: &Bucket| b.t_ms + crate::harness::BUCKET_MS;
    let level = buckets
        .iter()
        .filter(|b| end(b) <= fault_ms && end(b) + 1000 > fault_ms)
        .map(|b| b.lag)
        .max()
        .unwrap_or(0);
    buckets.iter().find(|b| end(b) >= from_ms && b.lag <= level).map(end)
}

/// Per kill of a TaskManager in `plan`, in plan order: the task attempts
/// running on it at the kill (deployed there, and neither failed, CANCELED
/// nor replaced by another attempt of their subtask before it).
pub fn tasks_lost_per_crash(plan: &FaultPlan, trace: &[TraceEntry]) -> Vec<u32> {
    plan.0
        .iter()
        .filter_map(|f| match &f.fault {
            Fault::Kill { node } if node.starts_with("tm-") => Some((node, f.at.as_millis())),
            _ => None,
        })
        .map(|(node, at)| {
            let running = trace.iter().enumerate().filter(|(i, e)| {
                matches!(e.event, TraceEvent::DeploymentAccepted { .. })
                    && e.node == *node
                    && e.t_ms <= at
                    && attempt_end_ms(trace, *i).is_none_or(|end| end >= at)
            });
            u32::try_from(running.count()).expect("invariant: fewer than 2^32 tasks")
        })
        .collect()
}

/// When the attempt deployed at trace entry `i` ended, as the trace tells:
/// it failed, was CANCELED, or another attempt of its subtask was deployed
/// (`None`: it ran to the end of the trace). What the JobManager records at
/// a kill's own millisecond is the kill's doing, so a crash at `at` lost the
/// attempts whose end is not before `at`.
pub fn attempt_end_ms(trace: &[TraceEntry], i: usize) -> Option<u64> {
    let TraceEvent::DeploymentAccepted { task, .. } = &trace[i].event else {
        panic!("invariant: entry {i} deploys an attempt")
    };
    trace[i + 1..]
        .iter()
        .find(|e| match &e.event {
            TraceEvent::TaskFailed { task: t, attempt, .. } | TraceEvent::TaskCanceled { task: t, attempt, .. } => {
                *t == task.vertex && *attempt == task.attempt
            }
            TraceEvent::DeploymentAccepted { task: t, .. } => t.vertex == task.vertex,
            _ => false,
        })
        .map(|e| e.t_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(t_ms: u64, from: JobStatus, to: JobStatus) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: "jm".into(),
            event: TraceEvent::JobStatusChanged { from, to },
        }
    }

    fn at(t_ms: u64, node: &str, event: TraceEvent) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: node.into(),
            event,
        }
    }

    fn restart(num_restarts: u32) -> TraceEvent {
        TraceEvent::RestartScheduled {
            delay_ms: 1000,
            num_restarts,
        }
    }

    fn granted(epoch: u64) -> TraceEvent {
        TraceEvent::LeadershipGranted {
            epoch,
            restored_from: None,
        }
    }

    #[test]
    fn num_restarts_is_the_last_leaders_count() {
        // Without HA: the one JobManager's last count.
        assert_eq!(num_restarts(&[at(1, "jm", restart(1)), at(2, "jm", restart(2))]), 2);
        assert_eq!(num_restarts(&[]), 0);
        let failover = [
            at(0, "jm-0", granted(1)),
            at(10, "jm-0", restart(1)),
            at(20, "jm-0", restart(2)),
            at(30, "jm-1", granted(2)),
            // A revoked leader still restarting does not count.
            at(40, "jm-0", restart(3)),
        ];
        assert_eq!(num_restarts(&failover), 0, "the new leader has not restarted");
        let mut later = failover.to_vec();
        later.push(at(50, "jm-1", restart(1)));
        assert_eq!(num_restarts(&later), 1);
        // A stale grant (an older epoch, traced late) changes nothing.
        later.push(at(60, "jm-0", granted(1)));
        later.push(at(70, "jm-0", restart(4)));
        assert_eq!(num_restarts(&later), 1);
    }

    #[test]
    fn job_metrics_follow_flinks_definitions() {
        use JobStatus::*;
        let trace = vec![
            change(10, Created, Running),
            change(1000, Running, Restarting),
            change(1500, Restarting, Running),
        ];
        let m = job_metrics(&trace, 3000);
        assert_eq!(
            (m.uptime, m.downtime),
            (1500, 0),
            "ordinary restarts leave downtime at 0"
        );
        assert_eq!((m.restarting_time, m.restarting_time_total), (0, 500));
        assert_eq!(m.running_time_total, 990 + 1500);
        let restarting = job_metrics(&trace[..2], 1200);
        assert_eq!((restarting.restarting_time, restarting.uptime), (200, 0));
        let mut failed = trace.clone();
        failed.push(change(4000, Running, Failing));
        assert_eq!(job_metrics(&failed, 4500).downtime, 500);
        failed.push(change(4000, Failing, Failed));
        let end = job_metrics(&failed, 5000);
        assert_eq!((end.uptime, end.downtime), (-1, -1));
    }
}
