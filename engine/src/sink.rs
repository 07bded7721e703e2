//! The two-phase-commit sink's bookkeeping (Flink's `TwoPhaseCommitSinkFunction`).
//!
//! Writes go into the current transaction. At a checkpoint's snapshot the
//! current transaction is pre-committed (flushed; commit must succeed from then
//! on), remembered as pending for that checkpoint, and a new one begins; the
//! pending list and the new current transaction are the checkpointed state.
//! When checkpoint N completes, every pending transaction up to N is committed,
//! in order (a completion of N also covers lost notifications below N). On
//! restore, the restored pending transactions are committed again (commit is
//! idempotent) and the restored current transaction is aborted.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checkpoint::CheckpointId;

/// A sink transaction id: sink subtask and the checkpoint it belongs to, as
/// Flink's KafkaSink names transactional ids (`prefix-subtask-checkpoint`).
/// The same id is used again by a later attempt that restarts from an earlier
/// checkpoint; the store tells the two apart by the writer's fencing token,
/// as Kafka does by the producer epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TxnId {
    /// The sink's job vertex and subtask: together, which sink instance.
    pub vertex: u32,
    pub subtask: u32,
    /// The checkpoint whose barrier closes this transaction: records between
    /// barrier `seq - 1` and barrier `seq` (ids may skip aborted checkpoints).
    pub seq: u64,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "txn-{}-{}-{}", self.vertex, self.subtask, self.seq)
    }
}

/// The sink's checkpointed state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkState {
    /// Pre-committed transactions awaiting commit, in checkpoint order.
    pub pending_commit: Vec<(CheckpointId, TxnId)>,
    /// The transaction open at snapshot time (aborted on restore).
    pub current: TxnId,
}

/// What to do with the sink store when a sink subtask starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryPlan {
    /// `recoverAndCommit`, in order.
    pub commit: Vec<TxnId>,
    /// `recoverAndAbort`.
    pub abort: Option<TxnId>,
}

/// The 2PC bookkeeping of one sink subtask attempt.
#[derive(Clone, Debug)]
pub struct TwoPhaseCommitSink {
    vertex: u32,
    subtask: u32,
    current: TxnId,
    pending: BTreeMap<CheckpointId, TxnId>,
}

impl TwoPhaseCommitSink {
    /// Start an attempt; returns the sink and what to recover from `restored`.
    /// The first transaction continues the restored checkpoint's numbering
    /// (`restored + 1`), or starts at 1.
    pub fn initialize(vertex: u32, subtask: u32, restored: Option<&SinkState>) -> (Self, RecoveryPlan) {
        if let Some(s) = restored {
            assert!(
                s.pending_commit
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1.seq < w[1].1.seq),
                "invariant: restored transactions are in checkpoint order"
            );
            assert!(
                s.pending_commit.iter().all(|(c, t)| t.seq <= *c && c < &s.current.seq),
                "invariant: a pending transaction precedes its checkpoint, the open one follows"
            );
            assert!(
                s.pending_commit
                    .iter()
                    .all(|(_, t)| (t.vertex, t.subtask) == (s.current.vertex, s.current.subtask)),
                "invariant: a sink's state holds its own transactions"
            );
        }
        let plan = match restored {
            Some(s) => RecoveryPlan {
                commit: s.pending_commit.iter().map(|(_, t)| *t).collect(),
                abort: Some(s.current),
            },
            None => RecoveryPlan::default(),
        };
        let current = TxnId {
            vertex,
            subtask,
            seq: restored.map_or(1, |s| s.current.seq),
        };
        (
            TwoPhaseCommitSink {
                vertex,
                subtask,
                current,
                pending: BTreeMap::new(),
            },
            plan,
        )
    }

    pub fn current(&self) -> TxnId {
        self.current
    }

    /// Snapshot for checkpoint `id`: returns the transaction to pre-commit and
    /// the state to write. A new transaction begins.
    pub fn snapshot(&mut self, id: CheckpointId) -> (TxnId, SinkState) {
        let pre = self.current;
        assert_eq!(
            (pre.vertex, pre.subtask),
            (self.vertex, self.subtask),
            "invariant: a sink writes its own transactions"
        );
        assert!(
            self.pending.keys().all(|c| *c < id),
            "invariant: snapshots come in checkpoint order"
        );
        let prev = self.pending.insert(id, pre);
        assert!(prev.is_none(), "invariant: one snapshot per checkpoint id");
        assert!(id >= pre.seq, "invariant: checkpoint ids increase within an attempt");
        self.current = TxnId {
            vertex: self.vertex,
            subtask: self.subtask,
            seq: id + 1,
        };
        // A restored attempt aborts `current` and commits the pending ones:
        // they must never share an id.
        assert!(
            self.pending.values().all(|t| t.seq < self.current.seq),
            "invariant: the new transaction {} is newer than every pending one",
            self.current
        );
        let state = SinkState {
            pending_commit: self.pending.iter().map(|(c, t)| (*c, *t)).collect(),
            current: self.current,
        };
        (pre, state)
    }

    /// Checkpoint `id` completed: the transactions to commit now, in order.
    pub fn notify_checkpoint_complete(&mut self, id: CheckpointId) -> Vec<TxnId> {
        let later = self.pending.split_off(&(id + 1));
        let done = std::mem::replace(&mut self.pending, later);
        assert!(
            self.pending.keys().all(|c| *c > id) && done.keys().all(|c| *c <= id),
            "invariant: a completion commits exactly the transactions up to it"
        );
        let commits: Vec<TxnId> = done.into_values().collect();
        assert!(
            commits.windows(2).all(|w| w[0].seq < w[1].seq),
            "invariant: transactions commit in order"
        );
        assert!(
            commits.iter().all(|t| t.seq <= id && t.seq < self.current.seq),
            "invariant: checkpoint {id} commits only transactions it closed, never the open {}",
            self.current
        );
        commits
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_then_complete_commits_in_order_and_covers_lower_ids() {
        let (mut s, plan) = TwoPhaseCommitSink::initialize(3, 2, None);
        assert_eq!(plan, RecoveryPlan::default());
        let (t1, _) = s.snapshot(1);
        let (t2, st2) = s.snapshot(2);
        let (t3, _) = s.snapshot(3);
        assert_eq!(st2.pending_commit, vec![(1, t1), (2, t2)]);
        assert_eq!(st2.current, s.current().min(st2.current));
        // notification of 1 lost; 2 covers it
        assert_eq!(s.notify_checkpoint_complete(2), vec![t1, t2]);
        assert_eq!(s.notify_checkpoint_complete(2), vec![]);
        assert_eq!(s.notify_checkpoint_complete(3), vec![t3]);
    }

    #[test]
    fn restore_recommits_pending_and_aborts_current() {
        let (mut s, _) = TwoPhaseCommitSink::initialize(3, 0, None);
        assert_eq!(s.current().seq, 1);
        let (t1, state) = s.snapshot(7);
        assert_eq!(t1.seq, 1);
        assert_eq!(
            state.current.seq, 8,
            "the next transaction is named after the next checkpoint"
        );
        let (s2, plan) = TwoPhaseCommitSink::initialize(3, 0, Some(&state));
        assert_eq!(plan.commit, vec![t1]);
        assert_eq!(plan.abort, Some(state.current));
        assert_eq!(
            s2.current(),
            state.current,
            "a restored attempt reuses the id of the aborted open transaction, as KafkaSink does"
        );
    }
}
