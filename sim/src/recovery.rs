//! Derive run-record series from the trace: checkpoint events, restarts, and
//! one recovery episode per disturbing fault (fault → detection → redeploy →
//! first commit after it).

use halab_engine::status::JobStatus;
use halab_engine::trace::{TraceEntry, TraceEvent};

use crate::faults::FaultPlan;
use crate::record::{CheckpointEvent, CheckpointMetrics, RecoveryEpisode, RestartEvent};

pub fn checkpoint_events(trace: &[TraceEntry]) -> Vec<CheckpointEvent> {
    trace
        .iter()
        .filter_map(|e| match &e.event {
            TraceEvent::CheckpointCompleted {
                id,
                duration_ms,
                size_bytes,
                alignment_ms,
                persisted_bytes,
            } => Some(CheckpointEvent {
                id: *id,
                t_ms: e.t_ms,
                outcome: "completed".into(),
                duration_ms: Some(*duration_ms),
                size_bytes: Some(*size_bytes),
                alignment_ms: Some(*alignment_ms),
                persisted_bytes: Some(*persisted_bytes),
                reason: None,
            }),
            TraceEvent::CheckpointAborted { id, reason } => Some(CheckpointEvent {
                id: *id,
                t_ms: e.t_ms,
                outcome: "aborted".into(),
                duration_ms: None,
                size_bytes: None,
                alignment_ms: None,
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
            m.last_checkpoint_size = e.size_bytes.map(|s| s as i64).unwrap_or(-1);
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

/// The number of restarts (Flink's `numRestarts`) at the end of the run.
pub fn num_restarts(trace: &[TraceEntry]) -> u32 {
    restart_events(trace).last().map(|r| r.num_restarts).unwrap_or(0)
}

/// The job status at the end of the trace.
pub fn final_status(trace: &[TraceEntry]) -> JobStatus {
    trace
        .iter()
        .rev()
        .find_map(|e| match e.event {
            TraceEvent::JobStatusChanged { to, .. } => Some(to),
            _ => None,
        })
        .unwrap_or(JobStatus::Created)
}

/// One episode per disturbing fault: detection is the first failure the
/// JobManager sees after it (a lost TaskManager, a failed task, or a global
/// failure such as too many failed checkpoints).
pub fn recovery_episodes(plan: &FaultPlan, trace: &[TraceEntry]) -> Vec<RecoveryEpisode> {
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
                )
            });
            let restarted_ms =
                detected_ms.and_then(|d| first_after(d, &|e| matches!(e, TraceEvent::TasksDeployed { .. })));
            let first_commit_ms =
                restarted_ms.and_then(|r| first_after(r, &|e| matches!(e, TraceEvent::TxnCommitted { .. })));
            RecoveryEpisode {
                fault: f.fault.to_string(),
                fault_ms,
                detected_ms,
                restarted_ms,
                first_commit_ms,
            }
        })
        .collect()
}
