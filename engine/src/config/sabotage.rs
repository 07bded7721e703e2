//! Test-only broken behaviours: each exists to prove a checker catches it.

/// A deliberately broken behaviour, selectable only programmatically (tests
/// and test-only scenarios), that exists to prove the checkers catch it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sabotage {
    #[default]
    None,
    /// The sink commits each transaction at pre-commit time, before the
    /// checkpoint completes.
    SinkCommitsAtPreCommit,
    /// Sources start from offset 0 instead of the restored offsets.
    SourceIgnoresRestoredOffsets,
    /// The keyed count starts empty instead of from the restored state.
    CountIgnoresRestoredState,
    /// Exactly-once barrier handling that never blocks a channel (no alignment).
    NoBarrierAlignment,
    /// A restore that drops the persisted in-flight data of unaligned checkpoints.
    RestoreSkipsInFlightData,
    /// Uncoordinated checkpoints restore every task's latest snapshot, with
    /// no rollback for orphan records: a cut that is not consistent.
    InconsistentRecoveryLine,
    /// Communication-induced checkpoints whose tasks ignore the indexes
    /// piggybacked on records (no forced snapshots): the index rule's line
    /// is then not consistent.
    NoForcedSnapshots,
    /// An iteration head snapshots at its input's barriers and forgets the
    /// records in its loop (no back-edge log): the cut is not consistent.
    ForgetBackEdges,
    /// The JobManager restarts at once, ignoring the strategy's backoff.
    RestartIgnoresBackoff,
    /// The JobManager restarts even when the strategy says it cannot.
    RestartNeverGivesUp,
    /// The JobManager restarts once the backoff has passed, without waiting
    /// for the cancellation of the tasks it restarts to finish.
    RestartBeforeCancellation,
    /// The sink store ignores fencing tokens: no fence per sink subtask, and
    /// a write lands in whatever transaction is open under its id.
    SinkStoreWithoutFencing,
    /// A leader keeps acting after its lease is lost (its own clock says so,
    /// or the service refuses a renewal). Fencing must still stop it.
    LeaderIgnoresLease,
    /// An implementation that forgot fencing: the leader ignores its lease,
    /// and the coordination service, checkpoint storage, TaskManagers and
    /// sink store all accept stale epochs.
    NoEpochFencing,
    /// As [`Sabotage::NoEpochFencing`], but the sink store still fences: the
    /// control that shows what the sink's epoch check alone prevents.
    OnlySinkFencing,
    /// A keyed restore keeps only the keys its own old subtask held: the
    /// state of keys that move in a rescale is lost.
    RescaleDropsMovedState,
    /// A failover also aborts a checkpoint that is being finalised (its
    /// pointer write in flight) and restarts without waiting for the
    /// outcome, so the restore can disagree with the completed checkpoint
    /// store.
    FailoverAbortsFinalizingCheckpoint,
    /// The JobManager registers every checkpoint after the second under
    /// id 2: the coordinator's assertion that ids only increase stops the
    /// run (a `crash` verdict).
    CheckpointIdRepeats,
    /// State that outlives a run: each JobManager started in the process
    /// delays its first checkpoint by one more millisecond, so the same seed
    /// gives another trace (a `nondeterminism` verdict under
    /// `--check-determinism`).
    LeaksStateAcrossRuns,
}

impl Sabotage {
    /// The leader keeps acting after its lease is gone.
    pub fn leader_ignores_lease(self) -> bool {
        matches!(
            self,
            Sabotage::LeaderIgnoresLease | Sabotage::NoEpochFencing | Sabotage::OnlySinkFencing
        )
    }

    /// The coordination service, checkpoint storage and TaskManagers check
    /// epochs.
    pub fn fences_cluster(self) -> bool {
        let fences = !matches!(self, Sabotage::NoEpochFencing | Sabotage::OnlySinkFencing);
        // Forgetting fencing includes the leader ignoring its lease.
        assert!(fences || self.leader_ignores_lease(), "invariant: {self:?} unfenced");
        fences
    }

    /// The sink store checks fencing tokens.
    pub fn fences_sink(self) -> bool {
        !matches!(self, Sabotage::NoEpochFencing | Sabotage::SinkStoreWithoutFencing)
    }
}
