//! Scheduling: slots spread over the TaskManagers, and deploying subtasks
//! (with their channels and the state to restore) once a restart is due.

use super::*;
use crate::placement::{SlotDemand, SlotPlacement};

/// Whether the due restart batches deploy when due, or wait, and for what.
/// Flink's scheduler waits for slots the same way; the wait for a
/// finalising checkpoint is halab's (docs/ha.md, "Checkpoint finalisation is
/// atomic with respect to failover").
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum DeploymentPhase {
    /// Due batches deploy at their due time (the timer tries them).
    WhenDue,
    /// The last try found too few slots (traced once per wait). A
    /// TaskManager registering, or the end of the reactive stabilisation
    /// timeout, lets the next try happen.
    WaitingForSlots,
    /// A checkpoint is finalising (traced once per checkpoint): the outcome
    /// of its writes lets the next try happen.
    WaitingForCheckpoint(CheckpointId),
}

impl JobMaster {
    /// Every slot of the registered TaskManagers, in the order slot index
    /// `i` takes them: placed by `taskmanager.load-balance.mode`
    /// ([`crate::placement`]). With Flink's default slot sharing one slot
    /// holds one subtask of every vertex, so slot i runs subtask i.
    pub(super) fn slots(&self) -> Vec<TmId> {
        let needed = self.cfg.job.slots_needed() as usize;
        let mut demand = SlotDemand {
            task_managers: self.tms.iter().map(|(id, t)| (*id, t.slots)).collect(),
            tasks: vec![0; needed],
            busy_ns: vec![0; needed],
        };
        let measured = match self.cfg.engine.slot_placement {
            SlotPlacement::Load => self.cfg.load.totals(),
            _ => BTreeMap::new(),
        };
        for v in &self.vertices {
            let i = self.cfg.job.slot_index(*v);
            demand.tasks[i] += 1;
            demand.busy_ns[i] += measured.get(v).map_or(0, |l| l.busy_ns);
        }
        let slots = crate::placement::place(self.cfg.engine.slot_placement, &demand);
        let total: u32 = self.tms.values().map(|t| t.slots).sum();
        assert_eq!(slots.len(), total as usize, "invariant: every slot once");
        slots
    }

    /// Flink's `PreviousAllocationSlotSelectionStrategy`, which it uses when
    /// tasks recover from local state: each slot goes back to the
    /// TaskManager its subtasks last ran on, if that TaskManager is still
    /// registered with a slot to spare; the other slots are filled in
    /// [`Self::slots`]' order.
    fn sticky_slots(&self, spread: Vec<TmId>) -> Vec<TmId> {
        let mut previous: BTreeMap<usize, TmId> = BTreeMap::new();
        for (v, e) in &self.executions {
            previous.entry(self.cfg.job.slot_index(*v)).or_insert(e.tm);
        }
        let mut free: BTreeMap<TmId, u32> = self.tms.iter().map(|(id, t)| (*id, t.slots)).collect();
        let mut take = |tm: TmId| match free.get_mut(&tm) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let mut chosen: Vec<Option<TmId>> = (0..spread.len())
            .map(|i| previous.get(&i).copied().filter(|tm| take(*tm)))
            .collect();
        for slot in chosen.iter_mut().filter(|s| s.is_none()) {
            *slot = spread.iter().copied().find(|tm| take(*tm));
        }
        let out: Vec<TmId> = chosen.into_iter().flatten().collect();
        for tm in self.tms.keys() {
            let used = out.iter().filter(|t| *t == tm).count() as u32;
            assert!(used <= self.tms[tm].slots, "invariant: {tm:?} gets at most its slots");
        }
        assert_eq!(out.len(), spread.len(), "invariant: every slot is placed once");
        out
    }

    /// Deploy every restart batch that is due, if the slots are there.
    pub(super) async fn try_deploy(&mut self) {
        let now = self.now_ms();
        // A batch deploys once due and once its subtasks' cancellation
        // finished (Flink's restartTasksWithDelay waits for both).
        let ready = |(due, batch): &(i64, BTreeSet<ExecutionVertexId>)| *due <= now && !self.is_cancelling(batch);
        if self.status.is_terminal() || !self.pending.iter().any(ready) {
            return;
        }
        assert!(self.revoked.is_none(), "invariant: deploying once revoked");
        let job = self.status;
        let waits = matches!(job, JobStatus::Created | JobStatus::Restarting);
        assert!(
            waits,
            "invariant: restarts wait only in CREATED or RESTARTING, not {job:?}"
        );
        // A fully acknowledged checkpoint whose pointer write is in flight
        // may yet land in the completed checkpoint store: restoring an
        // older one now would abort its transactions while a later restore
        // (or the next leader) commits them.
        if let Some(id) = self.coordinator.as_ref().and_then(|c| c.finalizing()) {
            if self.deployment != DeploymentPhase::WaitingForCheckpoint(id) {
                self.trace(TraceEvent::WaitingForCheckpoint { id });
            }
            self.deployment = DeploymentPhase::WaitingForCheckpoint(id);
            return;
        }
        if let DeploymentPhase::WaitingForCheckpoint(_) = self.deployment {
            self.deployment = DeploymentPhase::WhenDue;
        }
        let Some(slots) = self.deployment_slots(now).await else {
            return;
        };
        let pending = std::mem::take(&mut self.pending);
        let (due, later): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(d, b)| *d <= now && !self.is_cancelling(b));
        self.pending = later;
        assert!(
            self.pending.iter().all(|(d, b)| *d > now || self.is_cancelling(b)),
            "invariant: only restarts not yet due, or still cancelling, wait"
        );
        assert!(!due.is_empty(), "invariant: no restart is due at {now}");
        assert!(disjoint(&due), "invariant: due restart batches overlap");
        for (_, batch) in due {
            self.deploy_batch(batch.into_iter().collect(), &slots).await;
        }
        if self.pending.is_empty() {
            let deployed = self.executions.len();
            assert_eq!(deployed, self.vertices.len(), "invariant: all subtasks deployed");
            self.set_status(JobStatus::Running);
            self.start_checkpoint_scheduler();
        }
    }

    /// The slots a due deployment goes to, in order; `None` while it waits
    /// for slots (traced once per wait).
    async fn deployment_slots(&mut self, now: i64) -> Option<Vec<TmId>> {
        let mut slots = self.slots();
        if self.cfg.engine.reactive {
            // Reactive mode: the keyed operators run at what the slots allow,
            // once the slot count has been stable for the stabilization
            // timeout (at once when every wanted slot is there).
            if !self.reactive_slots_settled(slots.len(), now) {
                let wanted = self.desired_parallelism.values().copied().max().unwrap_or(1);
                self.wait_for_slots(wanted, slots.len());
                return None;
            }
            self.fit_parallelism_to(slots.len()).await;
            slots = self.slots();
        }
        // Slots used by subtasks that keep running (partial restarts).
        let needed = self.cfg.job.slots_needed() as usize;
        if slots.len() < needed {
            self.wait_for_slots(needed as u32, slots.len());
            return None;
        }
        self.deployment = DeploymentPhase::WhenDue;
        if self.cfg.engine.recover_from_local {
            slots = self.sticky_slots(slots);
        }
        Some(slots)
    }

    /// Too few slots for the due restarts: wait (traced once per wait).
    fn wait_for_slots(&mut self, needed: u32, available: usize) {
        assert!(
            (available as u32) < needed,
            "invariant: waits for slots with {available} of {needed}"
        );
        if self.deployment != DeploymentPhase::WaitingForSlots {
            let available = available as u32;
            self.trace(TraceEvent::WaitingForSlots { needed, available });
        }
        self.deployment = DeploymentPhase::WaitingForSlots;
    }

    /// A TaskManager registered, or the reactive stabilisation timeout ran
    /// out: a wait for slots ends, and the next try looks again.
    pub(super) fn slots_may_have_changed(&mut self) {
        if self.deployment == DeploymentPhase::WaitingForSlots {
            self.deployment = DeploymentPhase::WhenDue;
        }
    }

    /// A finalisation the due restarts waited for has settled: deploy now.
    pub(super) async fn deploy_after_finalization(&mut self) {
        let DeploymentPhase::WaitingForCheckpoint(id) = self.deployment else {
            return;
        };
        if self.coordinator.as_ref().and_then(|c| c.finalizing()).is_none() {
            assert!(!self.is_pending(id), "invariant: checkpoint {id} settled");
            self.deployment = DeploymentPhase::WhenDue;
            self.try_deploy().await;
        }
    }

    /// Deploy one restart batch (a closed set of regions) as a new attempt.
    async fn deploy_batch(&mut self, batch: Vec<ExecutionVertexId>, slots: &[TmId]) {
        assert!(!batch.is_empty(), "invariant: a restart batch holds a subtask");
        assert!(!self.status.is_terminal(), "invariant: a finished job deploys nothing");
        let attempt = self.next_attempt;
        self.next_attempt += 1;
        assert!(
            attempt >= 1 && self.next_attempt > attempt,
            "invariant: attempts count up from 1"
        );
        self.forget_cancel_calls(&batch);
        self.place(&batch, slots, attempt);
        let latest = self.checkpoint_to_restore();
        if let Some(local) = self.local_checkpoints.as_mut() {
            let snapshots_rolled_back = local.roll_back(&batch, latest.as_ref());
            self.trace(TraceEvent::RecoveryLineRestored {
                checkpoint: latest.as_ref().map(|c| c.id),
                snapshots_rolled_back,
            });
        }
        let tdds: Vec<(TmId, TaskDeploymentDescriptor)> = batch
            .iter()
            .map(|v| (self.executions[v].tm, self.deployment(*v, attempt, latest.as_ref())))
            .collect();
        assert_eq!(
            tdds.len(),
            batch.len(),
            "invariant: one deployment per subtask of the batch"
        );
        self.trace(TraceEvent::TasksDeployed {
            attempt,
            tasks: batch.len() as u32,
            restored_from: latest.as_ref().map(|c| c.id),
        });
        for (tm, tdd) in tdds {
            self.send_to_tm(tm, JmToTm::Deploy(Box::new(tdd))).await;
        }
    }

    /// Give each subtask of `batch` a new execution, `attempt`, in its slot.
    fn place(&mut self, batch: &[ExecutionVertexId], slots: &[TmId], attempt: u32) {
        for v in batch {
            assert!(self.vertices.contains(v), "invariant: {v:?} is a subtask of the job");
            let index = self.cfg.job.slot_index(*v);
            assert!(
                index < slots.len(),
                "invariant: slot {index} of {} for {v:?}",
                slots.len()
            );
            let tm = slots[index];
            assert!(
                self.tms.contains_key(&tm),
                "invariant: slots are on registered TaskManagers"
            );
            if let Some(previous) = self.executions.get(v) {
                assert!(
                    previous.attempt < attempt,
                    "invariant: a subtask's attempts only increase ({v:?}: {} then {attempt})",
                    previous.attempt
                );
                let ended = !matches!(previous.state, ExecutionState::Deploying | ExecutionState::Running);
                assert!(ended, "invariant: {v:?} redeployed in {:?}", previous.state);
            }
            self.executions.insert(
                *v,
                Execution {
                    attempt,
                    tm,
                    state: ExecutionState::Deploying,
                },
            );
        }
    }

    /// The checkpoint a deployment restores: the latest completed one.
    fn checkpoint_to_restore(&self) -> Option<CompletedCheckpoint> {
        assert!(
            self.coordinator.as_ref().and_then(|c| c.finalizing()).is_none(),
            "invariant: a restore never races a checkpoint's finalisation"
        );
        let latest = self.coordinator.as_ref().and_then(|c| c.latest_completed()).cloned();
        if let Some(c) = &latest {
            assert!(
                self.coordinator.as_ref().is_some_and(|k| k.next_checkpoint_id() > c.id),
                "invariant: the restored checkpoint's id was handed out"
            );
        }
        latest
    }

    /// What subtask `v` of `attempt` is deployed with: its channels and the
    /// state it restores from `latest`.
    fn deployment(
        &self,
        v: ExecutionVertexId,
        attempt: u32,
        latest: Option<&CompletedCheckpoint>,
    ) -> TaskDeploymentDescriptor {
        let vertex = self.cfg.job.vertex(v.vertex);
        let p = vertex.parallelism;
        assert!(v.subtask < p, "invariant: {v:?} within parallelism {p}");
        assert!(p as i32 <= self.max_parallelism, "invariant: parallelism {p} above max");
        TaskDeploymentDescriptor {
            id: ExecutionAttemptId {
                vertex: v,
                epoch: self.epoch,
                attempt,
            },
            name: vertex.name.clone(),
            kind: vertex.kind.clone(),
            parallelism: vertex.parallelism,
            max_parallelism: self.max_parallelism,
            input_gates: self.cfg.job.input_gate_sizes(v.vertex),
            outputs: self.outputs(v),
            watermarks: if self.cfg.job.forwards_watermarks(v.vertex) {
                crate::protocol::WatermarkOutput::Forward
            } else {
                crate::protocol::WatermarkOutput::Withhold
            },
            restore: latest.and_then(|c| restore_spec(c, v, p)),
            services: self.cfg.services,
        }
    }

    /// The output channels of subtask `v`, to the consumers' current
    /// attempts.
    fn outputs(&self, v: ExecutionVertexId) -> Vec<OutputDescriptor> {
        self.cfg
            .job
            .output_channels(v)
            .into_iter()
            .map(|(ship, targets)| OutputDescriptor {
                ship,
                consumer_parallelism: targets.len() as u32,
                channels: targets
                    .into_iter()
                    .map(|t| {
                        let e = self.executions[&t.consumer];
                        OutputChannelDescriptor {
                            target: t,
                            consumer_attempt: e.attempt,
                            address: self.tms.get(&e.tm).map(|i| i.data_addr).unwrap_or_else(|| {
                                // The consumer's TaskManager is gone; the
                                // connection attempt fails and the task with it.
                                SocketAddr::new(self.cfg.ip, 1)
                            }),
                        }
                    })
                    .collect(),
            })
            .map(|mut o| {
                if o.ship == crate::graph::ShipStrategy::Forward {
                    o.consumer_parallelism = self.cfg.job.vertex(o.channels[0].target.consumer.vertex).parallelism;
                }
                o
            })
            .collect()
    }
}

/// The state subtask `v` (of a vertex now at `parallelism`) restores from
/// checkpoint `c`. Same parallelism: the subtask's own state. After a
/// rescale a keyed subtask reads every old subtask's state and keeps the
/// keys it owns now (state follows its keys).
fn restore_spec(c: &CompletedCheckpoint, v: ExecutionVertexId, parallelism: u32) -> Option<RestoreSpec> {
    let old: Vec<(u32, StateHandle)> = c
        .states
        .iter()
        .filter(|(k, _)| k.vertex == v.vertex)
        .map(|(k, h)| (k.subtask, h.clone()))
        .collect();
    // A recovery line (uncoordinated) has no snapshot for a task at its
    // initial state; its parallelism never changes (no rescaling).
    let line = old.iter().any(|(_, h)| h.cut.is_some());
    let chosen: Vec<(u32, StateHandle)> = if old.len() as u32 == parallelism || line {
        old.into_iter().filter(|(s, _)| *s == v.subtask).collect()
    } else {
        old
    };
    let replay = c.replay.get(&v).cloned().unwrap_or_default();
    let restore = (!chosen.is_empty() || !replay.is_empty()).then(|| RestoreSpec {
        checkpoint_id: c.id,
        replay,
        subtasks: chosen.iter().map(|(s, _)| *s).collect(),
        handles: chosen.into_iter().map(|(_, h)| h).collect(),
    });
    if let Some(r) = &restore {
        assert_eq!(
            r.subtasks.len(),
            r.handles.len(),
            "invariant: one handle per restored subtask"
        );
        assert!(
            r.subtasks.windows(2).all(|w| w[0] < w[1]),
            "invariant: each old subtask's state is restored once"
        );
    }
    restore
}

/// Whether no subtask is in two of `batches` (restart batches, with their
/// due times).
pub(super) fn disjoint(batches: &[(i64, BTreeSet<ExecutionVertexId>)]) -> bool {
    let subtasks: usize = batches.iter().map(|(_, b)| b.len()).sum();
    let distinct: BTreeSet<_> = batches.iter().flat_map(|(_, b)| b).collect();
    subtasks == distinct.len()
}
