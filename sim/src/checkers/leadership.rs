//! JobManager HA checker: split brain must not reach the cluster.
//!
//! From the trace:
//! - **one leader per epoch**: every deployment a TaskManager accepted came
//!   from the JobManager the coordination service granted that epoch to, so at
//!   most one JobManager per epoch issued commands others accepted;
//! - **checkpoint ids never reused**: no id has its barriers injected twice,
//!   by the same leader or by different ones;
//! - **no going back**: once a TaskManager accepted a command of epoch e, no
//!   TaskManager accepts one of an older epoch (two leaders never take turns);
//! - **leaders stop on their own**: after a JobManager traced the revocation
//!   of its leadership, no TaskManager accepts a deployment from it in that
//!   epoch.
//!
//! Exactly-once output and "after healing a leader exists and the job runs"
//! are checked by the exactly-once and liveness checkers.

use std::collections::{BTreeMap, BTreeSet};

use halab_engine::trace::{TraceEntry, TraceEvent};

/// Findings; empty means the run passed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadershipReport {
    pub problems: Vec<String>,
    /// Leaderships granted by the coordination service.
    pub epochs: u64,
}

impl LeadershipReport {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The JobManager index of a node name (`jm` is 0, `jm-<i>` is i).
fn jm_index(node: &str) -> Option<u32> {
    match node {
        "jm" => Some(0),
        n => n.strip_prefix("jm-").and_then(|i| i.parse().ok()),
    }
}

pub fn check(trace: &[TraceEntry]) -> LeadershipReport {
    let mut r = LeadershipReport::default();
    // Epoch 0 is the JobManager without HA.
    let mut granted: BTreeMap<u64, u32> = BTreeMap::from([(0, 0)]);
    let mut revoked: BTreeSet<(u32, u64)> = BTreeSet::new();
    let mut injected: BTreeMap<u64, String> = BTreeMap::new();
    let mut newest_accepted = 0u64;
    for e in trace {
        match &e.event {
            TraceEvent::LeaseGranted { candidate, epoch } => {
                r.epochs += 1;
                if let Some(prev) = granted.insert(*epoch, *candidate) {
                    r.problems.push(format!(
                        "epoch {epoch} granted twice, to jm {prev} and jm {candidate} (at {}ms)",
                        e.t_ms
                    ));
                }
            }
            TraceEvent::LeadershipRevoked { epoch, .. } => {
                if let Some(i) = jm_index(&e.node) {
                    revoked.insert((i, *epoch));
                }
            }
            TraceEvent::DeploymentAccepted { task, jm, epoch } if *epoch < newest_accepted => r.problems.push(format!(
                "{} accepted {task} at {}ms from jm {jm} of epoch {epoch}, after commands of epoch {newest_accepted}",
                e.node, e.t_ms
            )),
            TraceEvent::DeploymentAccepted { task, jm, epoch } => match granted.get(epoch) {
                Some(leader) if leader == jm => {
                    newest_accepted = *epoch;
                    if revoked.contains(&(*jm, *epoch)) {
                        r.problems.push(format!(
                            "{} accepted {task} at {}ms from jm {jm} of epoch {epoch}, after that leadership was revoked",
                            e.node, e.t_ms
                        ));
                    }
                }
                Some(leader) => r.problems.push(format!(
                    "{} accepted {task} at {}ms from jm {jm} in epoch {epoch}, which belongs to jm {leader}",
                    e.node, e.t_ms
                )),
                None => r.problems.push(format!(
                    "{} accepted {task} at {}ms from jm {jm} in epoch {epoch}, which was never granted",
                    e.node, e.t_ms
                )),
            },
            TraceEvent::CheckpointTriggered { id } => {
                if let Some(first) = injected.insert(*id, e.node.clone()) {
                    r.problems.push(format!(
                        "checkpoint id {id} injected twice: by {first} and by {} at {}ms",
                        e.node, e.t_ms
                    ));
                }
            }
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(node: &str, t_ms: u64, event: TraceEvent) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: node.into(),
            event,
        }
    }

    fn grant(t: u64, candidate: u32, epoch: u64) -> TraceEntry {
        on("coordination", t, TraceEvent::LeaseGranted { candidate, epoch })
    }

    fn accepted(t: u64, jm: u32, epoch: u64) -> TraceEntry {
        on(
            "tm-0",
            t,
            TraceEvent::DeploymentAccepted {
                task: "v0[0]#1".into(),
                jm,
                epoch,
            },
        )
    }

    fn triggered(node: &str, t: u64, id: u64) -> TraceEntry {
        on(node, t, TraceEvent::CheckpointTriggered { id })
    }

    #[test]
    fn a_clean_failover_passes() {
        let trace = vec![
            grant(0, 0, 1),
            accepted(10, 0, 1),
            triggered("jm-0", 500, 1),
            on(
                "jm-0",
                3000,
                TraceEvent::LeadershipRevoked {
                    epoch: 1,
                    reason: "test".into(),
                },
            ),
            grant(4000, 1, 2),
            accepted(4100, 1, 2),
            triggered("jm-1", 4500, 2),
        ];
        let r = check(&trace);
        assert!(r.passed(), "{r:?}");
        assert_eq!(r.epochs, 2);
    }

    #[test]
    fn a_stale_leader_reaching_a_taskmanager_is_caught() {
        let trace = vec![
            grant(0, 0, 1),
            grant(4000, 1, 2),
            accepted(4100, 1, 2),
            accepted(4200, 0, 2),
        ];
        assert!(!check(&trace).passed(), "jm 0 used an epoch it does not hold");
        let after_revoke = vec![
            grant(0, 0, 1),
            on(
                "jm-0",
                3000,
                TraceEvent::LeadershipRevoked {
                    epoch: 1,
                    reason: "test".into(),
                },
            ),
            accepted(3100, 0, 1),
        ];
        assert!(!check(&after_revoke).passed(), "acted after its own revocation");
        let taking_turns = vec![
            grant(0, 0, 1),
            grant(4000, 1, 2),
            accepted(4100, 1, 2),
            accepted(6000, 0, 1),
        ];
        assert!(!check(&taking_turns).passed(), "the old leader came back");
    }

    #[test]
    fn a_reused_checkpoint_id_is_caught() {
        let trace = vec![triggered("jm-0", 500, 7), triggered("jm-1", 4500, 7)];
        assert!(!check(&trace).passed());
    }
}
