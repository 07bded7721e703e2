//! `halab run ... --timeline FILE.html`: one run's history turned into the
//! lanes and charts of a timeline page (`halab_reports::timeline` draws
//! them).
//!
//! - a lane per node (JobManagers, TaskManagers, services): the task
//!   attempts each TaskManager ran (from the deployment it accepted until
//!   the attempt failed, was CANCELED, was replaced, or its TaskManager was
//!   killed) and, shaded, every fault of the plan that names the node, from
//!   the fault to the one that heals it (or the end of the run);
//! - `network`: faults of the whole network;
//! - `job`: each restart's phases: failing (the failure to the restart's
//!   scheduling), backoff (the restart strategy's delay) and waiting (its
//!   due time to the deployment), with status changes as marks;
//! - `checkpoints`: each checkpoint from trigger to completion or abort;
//! - `leader <jm>`: each JobManager's leadership, by epoch;
//! - charts: each subtask's busy and back-pressured time per second
//!   (Flink's `busyTimeMsPerSecond`, `backPressuredTimeMsPerSecond`: busy
//!   is the CPU and network time it paid), and its snapshot size at each
//!   completed checkpoint.

use std::collections::BTreeMap;

use halab_engine::trace::{TraceEntry, TraceEvent};
use halab_reports::timeline::{Chart, ChartLine, Lane, Mark, Span, Timeline};
use halab_sim::faults::{Fault, FaultPlan};
use halab_sim::history::{History, LoadSample};

/// The timeline of `history`'s run.
pub fn timeline_of(history: &History) -> Timeline {
    let sc = &history.scenario;
    let end_ms = history.end.end_ms;
    let plan = sc.fault_plan(history.seed);
    let mut lanes: Vec<Lane> = sc
        .node_names()
        .into_iter()
        .map(|name| Lane {
            name,
            group: "node".into(),
            ..Lane::default()
        })
        .collect();
    lanes.push(Lane {
        name: "network".into(),
        group: "node".into(),
        ..Lane::default()
    });
    place_tasks(&mut lanes, &history.trace, &plan, end_ms);
    shade_faults(&mut lanes, &plan, end_ms);
    lanes.push(job_lane(&history.trace, end_ms));
    lanes.push(checkpoint_lane(&history.trace, end_ms));
    lanes.extend(leader_lanes(&history.trace, &sc.job_manager_names(), end_ms));
    let names = subtask_names(history);
    Timeline {
        title: format!("halab timeline: {} seed {}", sc.name, history.seed),
        notes: vec![
            format!("verdict: {:?}; trace hash {}", history.verdict, history.trace_hash),
            format!("reproduce: halab run {} --seed {}", sc.name, history.seed),
        ],
        end_ms,
        lanes,
        charts: load_charts(history, &names)
            .into_iter()
            .chain([state_chart(history, &names)])
            .collect(),
    }
}

fn lane_mut<'a>(lanes: &'a mut [Lane], name: &str) -> Option<&'a mut Lane> {
    lanes.iter_mut().find(|l| l.name == name)
}

/// When the attempt deployed at `from` on `tm` ended: it failed or was
/// CANCELED, another attempt of its subtask was deployed, or `tm` was
/// killed; else the run's end.
fn attempt_end(trace: &[TraceEntry], plan: &FaultPlan, i: usize, tm: &str, end_ms: u64) -> u64 {
    let from = trace[i].t_ms;
    let ended = halab_sim::recovery::attempt_end_ms(trace, i);
    let killed = plan
        .0
        .iter()
        .find(|f| f.at.as_millis() >= from && matches!(&f.fault, Fault::Kill { node } if node == tm))
        .map(|f| f.at.as_millis());
    ended.into_iter().chain(killed).min().unwrap_or(end_ms)
}

/// Every task attempt on the lane of the TaskManager that accepted it.
fn place_tasks(lanes: &mut [Lane], trace: &[TraceEntry], plan: &FaultPlan, end_ms: u64) {
    for (i, e) in trace.iter().enumerate() {
        let TraceEvent::DeploymentAccepted { task, epoch, .. } = &e.event else {
            continue;
        };
        let end = attempt_end(trace, plan, i, &e.node, end_ms);
        let name = task.vertex.to_string();
        let events = trace[i..]
            .iter()
            .filter(|x| x.t_ms <= end && mentions(x, &name))
            .map(|x| x.to_string())
            .collect();
        if let Some(lane) = lane_mut(lanes, &e.node) {
            lane.spans.push(Span {
                start_ms: e.t_ms,
                end_ms: end,
                label: format!("{name}#{} (epoch {epoch})", task.attempt),
                kind: "task".into(),
                events,
            });
        }
    }
}

/// Whether `e` is about subtask `name` (`v1[0]`).
fn mentions(e: &TraceEntry, name: &str) -> bool {
    serde_json::to_value(&e.event)
        .ok()
        .and_then(|v| v.get("task").and_then(|t| t.as_str().map(|s| s.starts_with(name))))
        .unwrap_or(false)
}

/// Each fault of the plan, from its start to the fault that heals it (or
/// the end of the run), on the lane of every node it names (`network` for
/// the network's).
fn shade_faults(lanes: &mut [Lane], plan: &FaultPlan, end_ms: u64) {
    for unit in plan.units() {
        let first = &plan.0[unit[0]];
        if first.fault.is_heal() || first.fault == Fault::CancelJob {
            continue;
        }
        let heal = unit.get(1).map(|j| &plan.0[*j]);
        let stop = heal.map_or(end_ms.max(first.at.as_millis()), |h| h.at.as_millis());
        let mut events = vec![first.to_string()];
        events.extend(heal.map(|h| h.to_string()));
        let nodes = match first.fault.nodes() {
            n if n.is_empty() => vec!["network".to_string()],
            n => n,
        };
        for node in nodes {
            if let Some(lane) = lane_mut(lanes, &node) {
                lane.spans.push(Span {
                    start_ms: first.at.as_millis(),
                    end_ms: stop,
                    label: first.fault.to_string(),
                    kind: "fault".into(),
                    events: events.clone(),
                });
            }
        }
    }
}

/// The failure that led to the restart scheduled at entry `i`: the latest
/// failure since the previous scheduling.
fn failure_before(trace: &[TraceEntry], i: usize) -> Option<&TraceEntry> {
    trace[..i]
        .iter()
        .rev()
        .take_while(|e| !matches!(e.event, TraceEvent::RestartScheduled { .. }))
        .filter(|e| {
            matches!(
                e.event,
                TraceEvent::TaskFailed { .. } | TraceEvent::GlobalFailure { .. } | TraceEvent::TaskManagerLost { .. }
            )
        })
        .last()
}

/// Each restart's phases, and the job's status changes as marks.
fn job_lane(trace: &[TraceEntry], end_ms: u64) -> Lane {
    let mut lane = Lane {
        name: "job".into(),
        group: "job".into(),
        ..Lane::default()
    };
    for (i, e) in trace.iter().enumerate() {
        match &e.event {
            TraceEvent::RestartScheduled { delay_ms, num_restarts } => {
                let due = e.t_ms + u64::try_from(*delay_ms).unwrap_or(0);
                let deployed = trace[i..]
                    .iter()
                    .find(|d| d.t_ms >= due && matches!(d.event, TraceEvent::TasksDeployed { .. }));
                let label = |phase: &str| format!("restart {num_restarts}: {phase}");
                if let Some(f) = failure_before(trace, i) {
                    lane.spans
                        .push(span(f.t_ms, e.t_ms, label("failing"), "restart-failing", &[f, e]));
                }
                lane.spans
                    .push(span(e.t_ms, due, label("backoff"), "restart-backoff", &[e]));
                let stop = deployed.map_or(end_ms.max(due), |d| d.t_ms);
                let evs: Vec<&TraceEntry> = deployed.into_iter().collect();
                lane.spans
                    .push(span(due, stop, label("waiting"), "restart-waiting", &evs));
            }
            TraceEvent::JobStatusChanged { from, to } => lane.marks.push(Mark {
                t_ms: e.t_ms,
                label: format!("{from:?} -> {to:?}"),
                kind: "status".into(),
                events: vec![e.to_string()],
            }),
            _ => {}
        }
    }
    lane
}

fn span(start_ms: u64, end_ms: u64, label: String, kind: &str, events: &[&TraceEntry]) -> Span {
    Span {
        start_ms,
        end_ms: end_ms.max(start_ms),
        label,
        kind: kind.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
    }
}

/// Each checkpoint from its trigger to its completion or abort (open: to
/// the run's end).
fn checkpoint_lane(trace: &[TraceEntry], end_ms: u64) -> Lane {
    let mut lane = Lane {
        name: "checkpoints".into(),
        group: "checkpoints".into(),
        ..Lane::default()
    };
    for (i, e) in trace.iter().enumerate() {
        let TraceEvent::CheckpointTriggered { id } = e.event else {
            continue;
        };
        let outcome = trace[i..].iter().find(|o| match o.event {
            TraceEvent::CheckpointCompleted { id: c, .. } | TraceEvent::CheckpointAborted { id: c, .. } => c == id,
            _ => false,
        });
        let (stop, kind) = match outcome.map(|o| (o.t_ms, &o.event)) {
            Some((t, TraceEvent::CheckpointCompleted { .. })) => (t, "checkpoint-completed"),
            Some((t, _)) => (t, "checkpoint-aborted"),
            None => (end_ms, "checkpoint-open"),
        };
        let evs: Vec<&TraceEntry> = std::iter::once(e).chain(outcome).collect();
        lane.spans
            .push(span(e.t_ms, stop, format!("checkpoint {id}"), kind, &evs));
    }
    lane
}

/// Each JobManager's leaderships, from grant to revocation (or the end).
fn leader_lanes(trace: &[TraceEntry], jms: &[String], end_ms: u64) -> Vec<Lane> {
    jms.iter()
        .map(|jm| {
            let mut lane = Lane {
                name: format!("leader {jm}"),
                group: "leadership".into(),
                ..Lane::default()
            };
            for (i, e) in trace.iter().enumerate().filter(|(_, e)| e.node == *jm) {
                let TraceEvent::LeadershipGranted { epoch, .. } = e.event else {
                    continue;
                };
                let revoked = trace[i..].iter().find(|r| {
                    r.node == *jm && matches!(r.event, TraceEvent::LeadershipRevoked { epoch: x, .. } if x == epoch)
                });
                let stop = revoked.map_or(end_ms, |r| r.t_ms);
                let evs: Vec<&TraceEntry> = std::iter::once(e).chain(revoked).collect();
                lane.spans
                    .push(span(e.t_ms, stop, format!("epoch {epoch}"), "leader", &evs));
            }
            lane
        })
        .collect()
}

/// `v1[0]` → `count[0]`: subtasks by their vertex's name.
fn subtask_names(history: &History) -> BTreeMap<String, String> {
    let g = history.scenario.job_graph();
    g.vertex_ids()
        .flat_map(|v| {
            let vertex = g.vertex(v).clone();
            (0..vertex.parallelism).map(move |s| (format!("v{v}[{s}]"), format!("{}[{s}]", vertex.name)))
        })
        .collect()
}

/// Per subtask, its busy and back-pressured time per second, from the
/// history's per-second totals (all zero at the start).
fn load_charts(history: &History, names: &BTreeMap<String, String>) -> Vec<Chart> {
    type Lines = BTreeMap<String, Vec<(u64, f64)>>;
    let (mut busy, mut blocked): (Lines, Lines) = Default::default();
    let samples: Vec<LoadSample> = std::iter::once(LoadSample::default())
        .chain(history.load.iter().cloned())
        .collect();
    for pair in samples.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let secs = (b.t_ms - a.t_ms) as f64 / 1000.0;
        for s in &b.subtasks {
            let before = a
                .subtasks
                .iter()
                .find(|x| x.task == s.task)
                .cloned()
                .unwrap_or_default();
            let name = names.get(&s.task).cloned().unwrap_or_else(|| s.task.clone());
            let per_s = |now: u64, then: u64| now.saturating_sub(then) as f64 / 1e6 / secs;
            busy.entry(name.clone())
                .or_default()
                .push((b.t_ms, per_s(s.busy_ns, before.busy_ns)));
            blocked
                .entry(name)
                .or_default()
                .push((b.t_ms, per_s(s.back_pressured_ns, before.back_pressured_ns)));
        }
    }
    let chart = |title: &str, lines: Lines| Chart {
        title: title.into(),
        unit: "ms per s".into(),
        lines: lines
            .into_iter()
            .map(|(name, points)| ChartLine { name, points })
            .collect(),
    };
    vec![
        chart("busy time per subtask (busyTimeMsPerSecond)", busy),
        chart(
            "back-pressured time per subtask (backPressuredTimeMsPerSecond)",
            blocked,
        ),
    ]
}

/// Per subtask, its snapshot size at each completed checkpoint.
fn state_chart(history: &History, names: &BTreeMap<String, String>) -> Chart {
    let mut lines: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    for s in &history.state {
        for (task, bytes) in &s.subtasks {
            let name = names.get(task).cloned().unwrap_or_else(|| task.clone());
            lines.entry(name).or_default().push((s.t_ms, *bytes as f64));
        }
    }
    Chart {
        title: "state size per subtask, at each completed checkpoint".into(),
        unit: "bytes".into(),
        lines: lines
            .into_iter()
            .map(|(name, points)| ChartLine { name, points })
            .collect(),
    }
}
