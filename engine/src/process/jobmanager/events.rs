//! What reaches the JobManager's event loop, and how a `JobMaster` handles
//! it: TaskManager connections and their messages (task states,
//! checkpoint acknowledgements and declines), and the reports of the
//! leadership's own tasks (metadata persisted, lease renewed or lost,
//! leader-only writes done).

use super::*;
use crate::trace::CancellationEnd;

/// One event of the JobManager's queue.
pub(super) enum JmEvent {
    TmConnected {
        tm: TmId,
        slots: u32,
        data_addr: SocketAddr,
        /// The leader epoch the TaskManager registers with.
        epoch: u64,
        tx: ConnTx,
        conn: u64,
    },
    FromTm {
        tm: TmId,
        conn: u64,
        msg: TmToJm,
    },
    TmDisconnected {
        tm: TmId,
        conn: u64,
        error: String,
    },
    /// From a task of the leadership in `epoch` (its `LeaderTasks`).
    FromLeaderTask {
        epoch: u64,
        event: LeaderTaskEvent,
    },
}

/// What a leadership's own tasks report. The event queue outlives a
/// leadership, so each report carries its leadership's epoch: one left in the
/// queue when a leadership ended must not reach the next (a stale "metadata
/// persisted" would complete a checkpoint the new coordinator never
/// triggered; a stale "fenced" would end the new leadership).
pub(super) enum LeaderTaskEvent {
    MetadataPersisted {
        checkpoint: CheckpointId,
        result: Result<(), String>,
    },
    LeaseRenewed {
        sent_ms: i64,
    },
    LeaseLost {
        reason: String,
    },
    HaWritten {
        write: leadership::HaWrite,
        result: Result<(), leadership::HaWriteError>,
    },
}

/// Accept TaskManager connections: each registers, then its messages
/// and its disconnection become events.
pub(super) async fn accept_task_managers(ep: Arc<Endpoint>, events: mpsc::UnboundedSender<JmEvent>) {
    let mut next_conn = 0u64;
    while let Ok((tx, mut rx, _)) = net::accept(&ep).await {
        next_conn += 1;
        let conn = next_conn;
        let events = events.clone();
        madsim::task::spawn(async move {
            let Ok(TmToJm::Register {
                tm,
                slots,
                data_addr,
                epoch,
            }) = rx.recv::<TmToJm>().await
            else {
                return;
            };
            if events
                .send(JmEvent::TmConnected {
                    tm,
                    slots,
                    data_addr,
                    epoch,
                    tx,
                    conn,
                })
                .is_err()
            {
                return;
            }
            loop {
                match rx.recv::<TmToJm>().await {
                    Ok(msg) => {
                        if events.send(JmEvent::FromTm { tm, conn, msg }).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = events.send(JmEvent::TmDisconnected {
                            tm,
                            conn,
                            error: e.to_string(),
                        });
                        return;
                    }
                }
            }
        });
    }
}

impl JobMaster {
    pub(super) async fn on_event(&mut self, ev: JmEvent) {
        match ev {
            JmEvent::TmConnected {
                tm,
                slots,
                data_addr,
                epoch,
                tx,
                conn,
            } => {
                if epoch != self.epoch {
                    return; // registered for another leadership: dropped
                }
                if self.tms.contains_key(&tm) {
                    self.task_manager_lost(tm, "re-registered").await;
                }
                let now = self.now_ms();
                let _ = tx.send(JmToTm::Registered).await;
                self.tms.insert(
                    tm,
                    TmInfo {
                        slots,
                        data_addr,
                        tx,
                        conn,
                        last_heard_ms: now,
                    },
                );
                self.trace(TraceEvent::TaskManagerRegistered { tm, slots });
                self.slots_may_have_changed();
                self.slots_changed_ms = now;
                if self.cfg.engine.reactive {
                    self.rescale_up_if_possible().await;
                }
                self.try_deploy().await;
            }
            JmEvent::TmDisconnected { tm, conn, error } => {
                if self.cfg.engine.detect_connection_loss && self.tms.get(&tm).is_some_and(|t| t.conn == conn) {
                    self.task_manager_lost(tm, &format!("connection lost: {error}")).await;
                }
            }
            JmEvent::FromTm { tm, conn, msg } => {
                let now = self.now_ms();
                match self.tms.get_mut(&tm) {
                    Some(info) if info.conn == conn => info.last_heard_ms = now,
                    _ => return,
                }
                self.on_tm_message(msg).await;
            }
            JmEvent::FromLeaderTask { epoch, event } => {
                if epoch == self.epoch {
                    self.on_leader_task_event(event).await;
                } else {
                    assert!(
                        epoch < self.epoch,
                        "invariant: a report of a later leadership ({epoch})"
                    );
                    let text = format!("dropped a report of the leadership in epoch {epoch}");
                    self.trace(TraceEvent::Note { text });
                }
            }
        }
    }

    /// A report of this leadership's own tasks.
    async fn on_leader_task_event(&mut self, event: LeaderTaskEvent) {
        match event {
            LeaderTaskEvent::MetadataPersisted { checkpoint, result } => {
                self.on_metadata_persisted(checkpoint, result).await;
                self.deploy_after_finalization().await;
            }
            LeaderTaskEvent::LeaseRenewed { sent_ms } => {
                if let Some(l) = self.lease.as_mut() {
                    l.renewed(sent_ms);
                }
            }
            LeaderTaskEvent::LeaseLost { reason } => {
                if !self.cfg.ignores_lease() {
                    self.revoke(reason);
                }
            }
            LeaderTaskEvent::HaWritten { write, result } => {
                self.on_ha_written(write, result).await;
                self.deploy_after_finalization().await;
            }
        }
    }

    pub(super) fn is_current(&self, id: ExecutionAttemptId) -> bool {
        id.epoch == self.epoch && self.executions.get(&id.vertex).is_some_and(|e| e.attempt == id.attempt)
    }

    pub(super) fn attempt_id(&self, vertex: ExecutionVertexId, e: &Execution) -> ExecutionAttemptId {
        assert!(
            e.attempt >= 1 && e.attempt < self.next_attempt,
            "invariant: an execution's attempt was handed out"
        );
        ExecutionAttemptId {
            vertex,
            epoch: self.epoch,
            attempt: e.attempt,
        }
    }

    async fn on_tm_message(&mut self, msg: TmToJm) {
        match msg {
            TmToJm::Register { .. } | TmToJm::HeartbeatResponse { .. } => {}
            TmToJm::TaskRunning { id } => self.on_task_running(id).await,
            TmToJm::TaskFailed { id, reason } => self.on_task_failed(id, reason).await,
            TmToJm::AcknowledgeCheckpoint {
                id,
                checkpoint,
                handle,
                metrics,
            } => self.on_acknowledge(id, checkpoint, handle, metrics),
            TmToJm::DeclineCheckpoint { id, checkpoint, reason } => {
                if !self.is_current(id) {
                    return;
                }
                self.abort_checkpoint(
                    checkpoint,
                    CheckpointFailureReason::CheckpointDeclined,
                    &reason,
                    ReportedBy::Task,
                )
                .await;
            }
            TmToJm::TaskFinished { id } => self.on_task_finished(id).await,
            TmToJm::TaskCanceled { id } => {
                if self.cancellation_finished(id, CancellationEnd::Reported) {
                    self.after_cancellation().await;
                }
            }
        }
    }

    /// A deployed attempt runs (Flink's DEPLOYING to RUNNING): a checkpoint
    /// may now be due.
    async fn on_task_running(&mut self, id: ExecutionAttemptId) {
        if self.is_current(id) {
            if let Some(e) = self.executions.get_mut(&id.vertex) {
                if e.state == ExecutionState::Deploying {
                    e.state = ExecutionState::Running;
                }
            }
            self.poll_checkpoints().await;
        }
    }

    /// An attempt failed; handled if it is the current, live one (a stale
    /// or already cancelled attempt's failure is ignored).
    async fn on_task_failed(&mut self, id: ExecutionAttemptId, reason: String) {
        // Flink's `processFail` on a CANCELING attempt completes the
        // cancellation (the call's attempt id, epoch included, must match).
        if self.cancellation_finished(id, CancellationEnd::EndedOnItsOwn) {
            self.after_cancellation().await;
            return;
        }
        let live = self.executions.get(&id.vertex).is_some_and(|e| {
            id.epoch == self.epoch
                && e.attempt == id.attempt
                && matches!(e.state, ExecutionState::Deploying | ExecutionState::Running)
        });
        if live {
            if let Some(e) = self.executions.get_mut(&id.vertex) {
                e.state = ExecutionState::Failed;
            }
            self.handle_task_failure(id, reason).await;
        }
    }

    /// A current attempt acknowledged a checkpoint; once every subtask has,
    /// its metadata goes to checkpoint storage.
    fn on_acknowledge(
        &mut self,
        id: ExecutionAttemptId,
        checkpoint: CheckpointId,
        handle: StateHandle,
        metrics: TaskCheckpointMetrics,
    ) {
        if !self.is_current(id) {
            return;
        }
        if self.local_checkpoints.is_some() {
            self.on_local_checkpoint(id, handle);
            return;
        }
        let m = self.task_metrics.entry(checkpoint).or_default();
        *m = m.max(metrics);
        let Some(coord) = self.coordinator.as_mut() else { return };
        let outcome = coord.acknowledge(checkpoint, id.vertex, handle);
        assert_ne!(outcome, AckOutcome::Duplicate, "invariant: {id} acks {checkpoint} once");
        if outcome == AckOutcome::AllAcknowledged {
            let p = &coord.pending()[&checkpoint];
            let (acks, all) = (p.acknowledged.len(), self.vertices.len());
            assert_eq!(acks, all, "invariant: checkpoint {checkpoint}: every subtask");
            let metadata = CompletedCheckpoint {
                id: checkpoint,
                trigger_ms: p.trigger_ms,
                completion_ms: self.cfg.tracer.now_ms() as i64,
                states: p.acknowledged.clone(),
                replay: BTreeMap::new(),
            };
            let _ = self.metadata.send(metadata);
        }
    }

    /// A current attempt finished (after the final checkpoint); when every
    /// subtask has, the job is FINISHED.
    async fn on_task_finished(&mut self, id: ExecutionAttemptId) {
        if !self.is_current(id) {
            return;
        }
        // Flink's `Execution.markFinished`: only a deploying or running
        // attempt finishes; a cancelling one is CANCELED, and one already
        // cancelled or failed (a restart or a rescale took it) stays so.
        if self.cancellation_finished(id, CancellationEnd::EndedOnItsOwn) {
            self.after_cancellation().await;
            return;
        }
        let Some(e) = self.executions.get_mut(&id.vertex) else {
            return;
        };
        if !matches!(e.state, ExecutionState::Deploying | ExecutionState::Running) {
            return;
        }
        e.state = ExecutionState::Finished;
        let all = self.executions.len() == self.vertices.len()
            && self.executions.values().all(|e| e.state == ExecutionState::Finished);
        if all && !self.status.is_terminal() {
            self.set_status(JobStatus::Finished);
            self.store_job_result(JobStatus::Finished);
            // Release the parked tasks; a terminal job ignores what
            // their ending does to each other.
            let all: BTreeSet<_> = self.vertices.iter().copied().collect();
            self.cancel(&all).await;
        }
    }
}
