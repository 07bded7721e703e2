//! The JobManager's side of checkpointing: triggering through the
//! coordinator, aborting with the failure manager's counting, persisting a
//! completed checkpoint's metadata before notifying the tasks.
//!
//! With HA two more writes go to the coordination service, as Flink's
//! CheckpointIDCounter and CompletedCheckpointStore do: a checkpoint's id is
//! persisted before its barriers go out (ids are never reused, also across
//! leaders), and its pointer is added after the metadata is stored and
//! before the tasks are told it completed.

use super::*;

pub(super) async fn write_metadata(
    mut storage: RpcClient,
    epoch: u64,
    mut rx: mpsc::UnboundedReceiver<CompletedCheckpoint>,
    events: mpsc::UnboundedSender<JmEvent>,
) {
    while let Some(c) = rx.recv().await {
        let checkpoint = c.id;
        assert!(
            !c.states.is_empty(),
            "invariant: checkpoint {checkpoint} holds no state"
        );
        assert!(
            c.completion_ms >= c.trigger_ms,
            "invariant: {checkpoint} completes before its trigger"
        );
        let req = StorageRequest::Put {
            key: CompletedCheckpoint::metadata_key(c.id),
            blob: StoredBlob::Metadata(Arc::new(c)),
            epoch,
        };
        let result = match storage.call::<_, StorageResponse>(req).await {
            Ok(StorageResponse::Stored) => Ok(()),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        };
        let event = LeaderTaskEvent::MetadataPersisted { checkpoint, result };
        if events.send(JmEvent::FromLeaderTask { epoch, event }).is_err() {
            return;
        }
    }
}

impl JobMaster {
    /// Abort a pending checkpoint and let the failure manager count it.
    pub(super) async fn abort_checkpoint(
        &mut self,
        checkpoint: CheckpointId,
        reason: CheckpointFailureReason,
        detail: &str,
        by: ReportedBy,
    ) {
        let Some(coord) = self.coordinator.as_mut() else { return };
        let Some(aborted) = coord.abort(checkpoint) else {
            return;
        };
        // Only the outcome of its finalisation ends a finalizing checkpoint.
        let finalized = reason == CheckpointFailureReason::FinalizeCheckpointFailure;
        assert!(
            !aborted.finalizing || finalized,
            "invariant: finalizing {checkpoint} aborted: {reason:?}"
        );
        self.trace(TraceEvent::CheckpointAborted {
            id: checkpoint,
            reason: format!("{}: {detail}", reason.name()),
        });
        let fail =
            self.failure_manager
                .handle_checkpoint_exception(reason, Some(checkpoint), SnapshotKind::Checkpoint, by);
        if let Some(f) = fail {
            self.handle_global_failure(f.message()).await;
        } else {
            self.poll_checkpoints().await;
        }
    }

    pub(super) async fn on_metadata_persisted(&mut self, checkpoint: CheckpointId, result: Result<(), String>) {
        if let Err(e) = result {
            self.abort_checkpoint(
                checkpoint,
                CheckpointFailureReason::FinalizeCheckpointFailure,
                &e,
                ReportedBy::JobManager,
            )
            .await;
            return;
        }
        let first = self.first_checkpoint_id;
        assert!(
            checkpoint >= first,
            "invariant: metadata of {checkpoint}, ids from {first} now"
        );
        assert!(
            !self.awaiting_id.contains_key(&checkpoint),
            "invariant: {checkpoint}'s id unreserved"
        );
        self.metadata_stored.insert(checkpoint);
        if let Some(ha) = &self.ha {
            let _ = ha.send(leadership::HaWrite::AddCompletedCheckpoint(checkpoint));
            return;
        }
        self.finish_completion(checkpoint).await;
    }

    /// Leader-only writes came back.
    pub(super) async fn on_ha_written(
        &mut self,
        write: leadership::HaWrite,
        result: Result<(), leadership::HaWriteError>,
    ) {
        use leadership::{HaWrite, HaWriteError};
        if let Err(HaWriteError::Fenced(why)) = &result {
            if !self.cfg.ignores_lease() {
                self.revoke(format!("fenced by the coordination service: {why}"));
                return;
            }
        }
        match (write, result) {
            (HaWrite::ReserveCheckpointId(id), Ok(())) => {
                let Some(barrier) = self.awaiting_id.remove(&id) else {
                    return;
                };
                assert_eq!(barrier.id, id, "invariant: the barrier waiting for id {id} carries it");
                if self.coordinator.as_ref().is_some_and(|c| c.pending().contains_key(&id)) {
                    self.send_barriers(barrier).await;
                }
            }
            (HaWrite::ReserveCheckpointId(id), Err(e)) => {
                self.awaiting_id.remove(&id);
                let detail = format!("persisting the checkpoint id counter: {e}");
                self.abort_checkpoint(
                    id,
                    CheckpointFailureReason::TriggerCheckpointFailure,
                    &detail,
                    ReportedBy::JobManager,
                )
                .await;
            }
            (HaWrite::AddCompletedCheckpoint(id), Ok(())) => {
                assert!(
                    !self.is_pending(id) || self.metadata_stored.contains(&id),
                    "invariant: a checkpoint's pointer is added after its metadata is stored"
                );
                self.finish_completion(id).await
            }
            (HaWrite::AddCompletedCheckpoint(id), Err(e)) => {
                let detail = format!("adding to the completed checkpoint store: {e}");
                self.abort_checkpoint(
                    id,
                    CheckpointFailureReason::FinalizeCheckpointFailure,
                    &detail,
                    ReportedBy::JobManager,
                )
                .await;
            }
            (HaWrite::JobResult(s), Err(e)) => self.trace(TraceEvent::Note {
                text: format!("job result {s:?} not stored: {e}"),
            }),
            (HaWrite::JobResult(_), Ok(())) => {}
        }
    }

    /// Whether `id` is pending in this JobMaster's coordinator (events of
    /// an earlier leadership may still be queued; their ids never are).
    pub(super) fn is_pending(&self, id: CheckpointId) -> bool {
        self.coordinator.as_ref().is_some_and(|c| c.pending().contains_key(&id))
    }

    /// The checkpoint is durable: complete it and notify the tasks.
    async fn finish_completion(&mut self, checkpoint: CheckpointId) {
        assert!(
            !self.is_pending(checkpoint) || self.metadata_stored.contains(&checkpoint),
            "invariant: a checkpoint completes only once its metadata is stored"
        );
        self.metadata_stored.retain(|id| *id > checkpoint);
        let now = self.now_ms();
        let Some(coord) = self.coordinator.as_mut() else { return };
        let Some(done) = coord.complete(checkpoint, now) else {
            return; // aborted meanwhile (failover or subsumed)
        };
        assert_eq!(
            done.checkpoint.id, checkpoint,
            "invariant: the coordinator completes what it was asked"
        );
        assert!(
            now >= done.checkpoint.trigger_ms,
            "invariant: a checkpoint completes after its trigger"
        );
        self.failure_manager.handle_checkpoint_success(checkpoint);
        let fm = &self.failure_manager;
        let cleared = fm.last_succeeded_checkpoint_id() == Some(checkpoint) && fm.continuous_failure_count() == 0;
        assert!(
            cleared,
            "invariant: checkpoint {checkpoint} is the newest success, no failure counts"
        );
        let subsumed = &done.subsumed_pending;
        assert!(
            subsumed.iter().all(|s| *s < checkpoint),
            "invariant: {checkpoint} subsumed {subsumed:?}"
        );
        let metrics = self.task_metrics.remove(&checkpoint).unwrap_or_default();
        self.task_metrics.retain(|k, _| *k > checkpoint);
        self.trace(TraceEvent::CheckpointCompleted {
            id: checkpoint,
            duration_ms: now - done.checkpoint.trigger_ms,
            size_bytes: done.checkpoint.state_size(),
            uploaded_bytes: done.checkpoint.uploaded_size(),
            alignment_ms: metrics.alignment_ms,
            sync_ms: metrics.sync_ms,
            persisted_bytes: done.checkpoint.persisted_in_flight(),
        });
        for s in done.subsumed_pending {
            self.trace(TraceEvent::CheckpointAborted {
                id: s,
                reason: CheckpointFailureReason::CheckpointSubsumed.name().to_string(),
            });
        }
        let targets: Vec<(TmId, ExecutionAttemptId)> = self
            .executions
            .iter()
            .filter(|(_, e)| e.state == ExecutionState::Running)
            .map(|(v, e)| (e.tm, self.attempt_id(*v, e)))
            .collect();
        assert!(
            self.coordinator
                .as_ref()
                .and_then(|c| c.latest_completed())
                .map(|c| c.id)
                == Some(checkpoint),
            "invariant: tasks hear of the latest completed checkpoint, which is in the store"
        );
        self.notify_complete(&done.checkpoint, &targets).await;
        if !self.finish_if_final(&done.checkpoint, targets).await {
            self.poll_checkpoints().await;
        }
    }

    /// Tell the running attempts `targets` that `c` completed (with their
    /// place in it, if it is a recovery line); under uncoordinated
    /// checkpoints the line may have moved meanwhile: register the next.
    async fn notify_complete(&mut self, c: &CompletedCheckpoint, targets: &[(TmId, ExecutionAttemptId)]) {
        if let Some(local) = self.local_checkpoints.as_mut() {
            local.completed(c);
        }
        for (tm, id) in targets {
            let member = self.local_checkpoints.as_ref().map(|l| l.member(c, id.vertex));
            assert!(
                member.is_none() || c.states.values().all(|h| h.cut.is_some()),
                "invariant: a recovery line is made of uncoordinated snapshots"
            );
            let notify = JmToTm::NotifyCheckpointComplete {
                id: *id,
                checkpoint: c.id,
                member,
            };
            self.send_to_tm(*tm, notify).await;
        }
        self.register_line();
    }

    /// A bounded job whose sources had all read everything and with no
    /// record between tasks at the cut (unaligned in-flight data, or the
    /// records in an iteration's loop): `checkpoint` was the final one, and
    /// its commits cover all input. The tasks finish after their
    /// notification (same connection, same order). Returns whether the job
    /// is finishing.
    async fn finish_if_final(
        &mut self,
        checkpoint: &CompletedCheckpoint,
        targets: Vec<(TmId, ExecutionAttemptId)>,
    ) -> bool {
        let final_checkpoint = self.cfg.job.bounded
            && !self.finishing
            && self
                .vertices
                .iter()
                .filter(|v| matches!(self.cfg.job.vertex(v.vertex).kind, OperatorKind::Source { .. }))
                .all(|v| checkpoint.states.get(v).is_some_and(|h| h.end_of_input))
            && checkpoint.states.values().all(|h| h.in_flight_records == 0)
            // A recovery line with records in flight has not processed all.
            && checkpoint.replay.is_empty();
        if !final_checkpoint || targets.len() != self.vertices.len() {
            return false;
        }
        assert_eq!(
            self.status,
            JobStatus::Running,
            "invariant: a job finishes from RUNNING"
        );
        self.finishing = true;
        if let Some(c) = self.coordinator.as_mut() {
            c.stop_scheduler();
        }
        self.trace(TraceEvent::Note {
            text: format!("checkpoint {} covers all input: finishing", checkpoint.id),
        });
        for (tm, id) in targets {
            self.send_to_tm(tm, JmToTm::FinishTask { id }).await;
        }
        true
    }

    pub(super) async fn poll_checkpoints(&mut self) {
        // Uncoordinated checkpoints are the tasks' own.
        if self.status != JobStatus::Running || self.finishing || self.local_checkpoints.is_some() {
            return;
        }
        let now = self.now_ms();
        let all_running = self.all_running();
        let Some(coord) = self.coordinator.as_mut() else { return };
        match coord.poll(now, all_running) {
            TriggerPoll::Idle => {}
            TriggerPoll::Failed(reason) => {
                self.trace(TraceEvent::CheckpointTriggerFailed {
                    reason: reason.name().to_string(),
                });
                if let Some(f) = self.failure_manager.handle_checkpoint_exception(
                    reason,
                    None,
                    SnapshotKind::Checkpoint,
                    ReportedBy::JobManager,
                ) {
                    self.handle_global_failure(f.message()).await;
                }
            }
            TriggerPoll::Trigger { id, timestamp_ms } => {
                assert!(all_running, "invariant: checkpoint {id} triggered, not all running");
                let id = match self.cfg.sabotage {
                    Sabotage::CheckpointIdRepeats => id.min(2),
                    _ => id,
                };
                coord.register_pending(id, timestamp_ms, self.vertices.iter().copied());
                let barrier = CheckpointBarrier { id, timestamp_ms };
                match &self.ha {
                    Some(ha) => {
                        self.awaiting_id.insert(id, barrier);
                        let _ = ha.send(leadership::HaWrite::ReserveCheckpointId(id));
                    }
                    None => self.send_barriers(barrier).await,
                }
            }
        }
    }

    /// Inject a checkpoint's barrier at every source.
    async fn send_barriers(&mut self, barrier: CheckpointBarrier) {
        // Traced when the barriers go out: with HA only after the id is
        // persisted, so an id the counter refused is never injected.
        let id = barrier.id;
        assert!(
            !self.awaiting_id.contains_key(&id),
            "invariant: checkpoint {id}'s id unreserved"
        );
        // A checkpoint triggered before the final one completed may still
        // come (several concurrent): its sources may be finishing.
        let finishing = self.finishing;
        let job = self.status;
        assert!(
            finishing || job == JobStatus::Running,
            "invariant: {id}'s barriers in {job:?}"
        );
        self.trace(TraceEvent::CheckpointTriggered { id: barrier.id });
        let sources: Vec<(TmId, ExecutionAttemptId)> = self
            .executions
            .iter()
            .filter(|(v, _)| matches!(self.cfg.job.vertex(v.vertex).kind, OperatorKind::Source { .. }))
            .inspect(|(v, e)| assert!(finishing || e.state == ExecutionState::Running, "invariant: {v:?} runs"))
            .map(|(v, e)| (e.tm, self.attempt_id(*v, e)))
            .collect();
        assert!(!sources.is_empty(), "invariant: checkpoint {id} has no source");
        for (tm, id) in sources {
            self.send_to_tm(tm, JmToTm::TriggerCheckpoint { id, barrier }).await;
        }
    }

    pub(super) fn start_checkpoint_scheduler(&mut self) {
        let now = self.now_ms();
        if let Some(c) = self.coordinator.as_mut() {
            let cfg = *c.config();
            // Flink draws the initial delay uniformly in [minPause, baseInterval].
            let delay = madsim::rand::thread_rng().gen_range(cfg.min_pause_ms..=cfg.base_interval_ms());
            let delay = match self.cfg.sabotage {
                Sabotage::LeaksStateAcrossRuns => delay + leaked_counter(),
                _ => delay,
            };
            c.start_scheduler(now, delay);
        }
    }

    pub(super) fn all_running(&self) -> bool {
        self.status == JobStatus::Running
            && self.executions.len() == self.vertices.len()
            && self.executions.values().all(|e| e.state == ExecutionState::Running)
    }
}

/// [`Sabotage::LeaksStateAcrossRuns`]: a counter that survives the run, the
/// kind of bug that makes a seed stop reproducing its trace.
fn leaked_counter() -> i64 {
    static STARTS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
