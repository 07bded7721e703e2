//! The keyed running count: per key, the number of records seen so far.
//! Emits `(key, count)` for every input record, keeping the record's origin.

use super::changes::{ChangeTracker, Changes};
use super::driver::{run_operator, Operator};
use super::io::{OutputGate, OwnerCache};
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::config::Sabotage;
use crate::record::Record;
use crate::resources::{CostedOperator, StateBackendKind};
use crate::state::{KeyedCountState, MovedKeys};
use std::sync::Arc;

use crate::partition::Partitioner;
use crate::protocol::ExecutionAttemptId;
use crate::trace::{TraceEvent, Tracer};

struct KeyedCount {
    state: KeyedCountState,
    /// Ownership check: every record's key must be owned by this subtask.
    partitioner: Arc<dyn Partitioner>,
    /// Owners looked up so far (at `parallelism`).
    owners: OwnerCache,
    subtask: u32,
    parallelism: u32,
    tracer: Tracer,
    node: String,
    task: ExecutionAttemptId,
    /// What changed, tracked only where it is used: RocksDB under the
    /// resource model (its flush, and incremental uploads); and the
    /// changes of the last snapshot.
    changes: Option<ChangeTracker>,
    last_changes: Option<Changes>,
}

impl Operator for KeyedCount {
    async fn process(&mut self, batch: Vec<Record>, out: &mut OutputGate) -> Result<(), TaskError> {
        let KeyedCount {
            state,
            partitioner,
            owners,
            subtask,
            parallelism,
            tracer,
            node,
            task,
            ..
        } = self;
        let (n, before) = (batch.len() as u64, out.records_out);
        out.emit_all(batch.into_iter().map(|r| {
            let owner = owners.owner(partitioner.as_ref(), r.key, *parallelism);
            if owner != *subtask {
                tracer.record(
                    node,
                    TraceEvent::OwnershipViolation {
                        task: *task,
                        key: r.key,
                        owner,
                    },
                );
            }
            Record {
                value: state.increment(r.key),
                ..r
            }
        }))
        .await?;
        assert_eq!(out.records_out - before, n, "invariant: one count out per record in");
        // Not flushed here: the driver sends partly filled buffers after the
        // buffer timeout (or ahead of a barrier).
        Ok(())
    }

    async fn snapshot(&mut self, checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        let snapshot = self.state.snapshot();
        if let Some(changes) = self.changes.as_mut() {
            self.last_changes = Some(changes.snapshot(checkpoint, &snapshot.entries));
        }
        Ok(OperatorState::Keyed(snapshot))
    }

    fn changes_in_last_snapshot(&self) -> Option<Changes> {
        self.last_changes
    }

    async fn checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        if let Some(changes) = self.changes.as_mut() {
            changes.completed(checkpoint);
        }
        Ok(())
    }
}

pub async fn run(env: TaskEnv) -> Result<(), TaskError> {
    let restored = env.restored_state().await?;
    let state = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        KeyedCountState::default()
    } else {
        // Each restored snapshot with the subtask that wrote it: on a rescale
        // every new subtask reads all of them and keeps the keys it owns.
        let old = env.tdd.restore.as_ref().map(|r| r.subtasks.clone()).unwrap_or_default();
        // Zipped below: a snapshot without its subtask would be left out.
        assert_eq!(old.len(), restored.len(), "invariant: a subtask per snapshot");
        // As the JobManager chose them: each old subtask's snapshot once.
        assert!(old.windows(2).all(|w| w[0] < w[1]), "invariant: old subtasks {old:?}");
        let snaps = restored.iter().zip(old).filter_map(|(s, i)| match &s.operator {
            OperatorState::Keyed(k) => Some((i, k)),
            _ => None,
        });
        let (state, stats) = KeyedCountState::restore_counted(
            snaps,
            env.partitioner().as_ref(),
            env.tdd.id.vertex.subtask,
            env.tdd.parallelism,
            match env.sabotage {
                Sabotage::RescaleDropsMovedState => MovedKeys::Drop,
                _ => MovedKeys::Keep,
            },
        );
        // A task at its initial state in a recovery line restores no
        // snapshot, only records in flight (uncoordinated checkpoints).
        if env.tdd.restore.as_ref().is_some_and(|r| !r.handles.is_empty()) {
            env.tracer.record(
                &env.node,
                TraceEvent::KeyedStateRestored {
                    task: env.tdd.id,
                    parallelism: env.tdd.parallelism,
                    keys: stats.keys,
                    moved_keys: stats.moved_keys,
                    total_keys: stats.total_keys,
                    fingerprint: stats.fingerprint,
                    total_fingerprint: stats.total_fingerprint,
                    offered: env.tdd.restore.as_ref().map_or(0, |r| r.handles.len() as u32),
                },
            );
        }
        state
    };
    // After a rescale a subtask downloads only the keys it now owns (from
    // several old subtasks), plus the in-flight data it replays.
    let keys = state.len() as u64;
    let ready = env.restore_and_connect(&restored, |m| m.state_bytes(keys)).await?;
    let tracks_changes = env.config.state_backend == StateBackendKind::RocksDb && env.resources.model().is_some();
    let op = KeyedCount {
        changes: tracks_changes.then(|| ChangeTracker::new(state.snapshot().entries)),
        last_changes: None,
        state,
        partitioner: env.partitioner(),
        owners: OwnerCache::default(),
        subtask: env.tdd.id.vertex.subtask,
        parallelism: env.tdd.parallelism,
        tracer: env.tracer.clone(),
        node: env.node.clone(),
        task: env.tdd.id,
    };
    run_operator(env, (op, CostedOperator::Count), ready).await
}
