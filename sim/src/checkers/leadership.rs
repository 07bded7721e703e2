//! JobManager HA checker: split brain must not reach the cluster.
//!
//! It checks what each party can know, as Flink's fencing does (leader
//! session ids on every RPC, epoch-fenced services). From the trace:
//! - **one leader per epoch**: every deployment a TaskManager accepted came
//!   from the JobManager the coordination service granted that epoch to;
//! - **checkpoint ids never reused**: no id has its barriers injected twice,
//!   by the same leader or by different ones;
//! - **no TaskManager goes back**: once a TaskManager accepted a command of
//!   epoch e, it never accepts one of an older epoch;
//! - **leaders stop on their own**: after a JobManager traced the revocation
//!   of its leadership, it issues nothing more in that leadership (no
//!   deployment, checkpoint trigger or completion, restart).
//!
//! Not a violation: a TaskManager that has not yet heard of a newer epoch
//! accepting what the old leader sent while it still led (say, messages
//! that waited in a paused TaskManager's inbox). No TaskManager could know
//! better, and what such tasks do cannot take effect: the sink store,
//! checkpoint storage and the coordination service reject older epochs, and
//! the TaskManager leaves the old session as soon as it learns of the new
//! leader. Whether the output stayed exactly-once, and whether a leader
//! exists and the job runs after healing, are checked by the exactly-once
//! and liveness checkers (ARCHITECTURE.md, "JobManager HA").

use std::collections::BTreeMap;

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

pub fn check(trace: &[TraceEntry]) -> LeadershipReport {
    let mut r = LeadershipReport::default();
    // Epoch 0 is the JobManager without HA.
    let mut granted: BTreeMap<u64, u32> = BTreeMap::from([(0, 0)]);
    // JobManagers whose current leadership ended, with its epoch.
    let mut revoked: BTreeMap<String, u64> = BTreeMap::new();
    let mut injected: BTreeMap<u64, String> = BTreeMap::new();
    // The newest epoch each TaskManager accepted a command of.
    let mut newest_seen: BTreeMap<&str, u64> = BTreeMap::new();
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
            TraceEvent::LeadershipGranted { .. } => {
                revoked.remove(&e.node);
            }
            TraceEvent::LeadershipRevoked { epoch, .. } => {
                revoked.insert(e.node.clone(), *epoch);
            }
            TraceEvent::DeploymentAccepted { task, jm, epoch } => {
                let seen = newest_seen.entry(e.node.as_str()).or_insert(0);
                if *epoch < *seen {
                    r.problems.push(format!(
                        "{} accepted {task} at {}ms from jm {jm} of epoch {epoch}, after it had accepted commands of epoch {seen}",
                        e.node, e.t_ms
                    ));
                }
                *seen = (*seen).max(*epoch);
                match granted.get(epoch) {
                    Some(leader) if leader == jm => {}
                    Some(leader) => r.problems.push(format!(
                        "{} accepted {task} at {}ms from jm {jm} in epoch {epoch}, which belongs to jm {leader}",
                        e.node, e.t_ms
                    )),
                    None => r.problems.push(format!(
                        "{} accepted {task} at {}ms from jm {jm} in epoch {epoch}, which was never granted",
                        e.node, e.t_ms
                    )),
                }
            }
            TraceEvent::CheckpointTriggered { id } => {
                acted_after_revocation(&revoked, e, &mut r);
                if let Some(first) = injected.insert(*id, e.node.clone()) {
                    r.problems.push(format!(
                        "checkpoint id {id} injected twice: by {first} and by {} at {}ms",
                        e.node, e.t_ms
                    ));
                }
            }
            TraceEvent::TasksDeployed { .. }
            | TraceEvent::CheckpointCompleted { .. }
            | TraceEvent::RestartScheduled { .. } => acted_after_revocation(&revoked, e, &mut r),
            _ => {}
        }
    }
    r
}

/// A JobManager acted in a leadership it had already given up.
fn acted_after_revocation(revoked: &BTreeMap<String, u64>, e: &TraceEntry, r: &mut LeadershipReport) {
    if let Some(epoch) = revoked.get(&e.node) {
        r.problems.push(format!(
            "{} acted at {}ms ({}) after revoking its leadership of epoch {epoch}",
            e.node,
            e.t_ms,
            serde_json::to_string(&e.event).unwrap_or_default()
        ));
    }
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
                task: "v0[0]#1".parse().expect("an attempt"),
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
        let revoked = |t| {
            on(
                "jm-0",
                t,
                TraceEvent::LeadershipRevoked {
                    epoch: 1,
                    reason: "test".into(),
                },
            )
        };
        let deployed_after_revoke = vec![
            grant(0, 0, 1),
            revoked(3000),
            on(
                "jm-0",
                3050,
                TraceEvent::TasksDeployed {
                    attempt: 2,
                    tasks: 1,
                    restored_from: None,
                },
            ),
        ];
        assert!(
            !check(&deployed_after_revoke).passed(),
            "acted after its own revocation"
        );
        let triggered_after_revoke = vec![grant(0, 0, 1), revoked(3000), triggered("jm-0", 3100, 4)];
        assert!(!check(&triggered_after_revoke).passed());
        let taking_turns = vec![
            grant(0, 0, 1),
            grant(4000, 1, 2),
            accepted(4100, 1, 2),
            accepted(6000, 0, 1),
        ];
        assert!(!check(&taking_turns).passed(), "the old leader came back");
    }

    #[test]
    fn many_commands_of_one_epoch_are_fine() {
        let trace = vec![
            grant(0, 0, 1),
            accepted(10, 0, 1),
            accepted(20, 0, 1),
            grant(4000, 1, 2),
            accepted(4100, 1, 2),
            accepted(4200, 1, 2),
        ];
        let r = check(&trace);
        assert!(r.passed(), "{r:?}");
    }

    #[test]
    fn what_a_taskmanager_could_not_know_is_not_split_brain() {
        // ha-chaos seed 6380: a paused TaskManager finds the old leader's
        // deployments in its inbox after that leader gave up and before it
        // hears of the new one.
        let late_delivery = vec![
            grant(0, 0, 1),
            on(
                "jm-0",
                5137,
                TraceEvent::LeadershipRevoked {
                    epoch: 1,
                    reason: "test".into(),
                },
            ),
            grant(6242, 1, 2),
            accepted(7100, 0, 1),
            accepted(7217, 1, 2),
        ];
        let r = check(&late_delivery);
        assert!(r.passed(), "{r:?}");
        // Another TaskManager already on epoch 2 does not make tm-0 stale.
        let mut other = on(
            "tm-1",
            6500,
            TraceEvent::DeploymentAccepted {
                task: "v0[1]#2.1".parse().expect("an attempt"),
                jm: 1,
                epoch: 2,
            },
        );
        other.t_ms = 6500;
        let mut mixed = vec![grant(0, 0, 1), grant(6242, 1, 2), other];
        mixed.push(accepted(7100, 0, 1));
        assert!(check(&mixed).passed());
        // The JobManager's own actions before it revoked are fine; after
        // its next election it acts again.
        let re_elected = vec![
            grant(0, 0, 1),
            triggered("jm-0", 100, 1),
            on(
                "jm-0",
                3000,
                TraceEvent::LeadershipRevoked {
                    epoch: 1,
                    reason: "test".into(),
                },
            ),
            grant(4000, 0, 2),
            on(
                "jm-0",
                4050,
                TraceEvent::LeadershipGranted {
                    epoch: 2,
                    restored_from: None,
                },
            ),
            triggered("jm-0", 4500, 2),
        ];
        assert!(check(&re_elected).passed());
    }

    #[test]
    fn a_reused_checkpoint_id_is_caught() {
        let trace = vec![triggered("jm-0", 500, 7), triggered("jm-1", 4500, 7)];
        assert!(!check(&trace).passed());
    }
}
