//! The JobManager's side of uncoordinated checkpoints
//! (`halab.checkpointing.protocol = uncoordinated`): it triggers nothing.
//! Each task snapshots on its own timer and acknowledges with its
//! [`ChannelCut`]; the JobMaster keeps every task's snapshots, and after
//! each acknowledgement computes the recovery line
//! ([`recovery_line`]). A line that moved is registered with the
//! coordinator as a checkpoint of its own id, and from there it goes the
//! way of every checkpoint: metadata persisted, then complete, then the
//! tasks notified (a sink commits the transactions of its snapshot at the
//! line; every sender drops from its log what the line's receivers had
//! processed). A restore restores the latest line and replays, from the
//! senders' logs, the records in flight at it; the restarted tasks'
//! snapshots after the line are forgotten (they belong to the execution
//! that failed).

use super::*;
use crate::checkpoint::recovery_line::{self, ChannelCut, ChannelPair, Line};
use crate::checkpoint::ReplaySlice;
use crate::graph::JobGraph;
use crate::protocol::LineMember;

/// One task's snapshot as the JobMaster knows it.
#[derive(Clone, Debug)]
struct Taken {
    handle: StateHandle,
    /// When its acknowledgement arrived.
    at_ms: i64,
}

impl Taken {
    fn cut(&self) -> &ChannelCut {
        self.handle
            .cut
            .as_ref()
            .expect("invariant: an uncoordinated snapshot has its cut")
    }
}

/// Every task's snapshots, and the last line registered.
pub(super) struct LocalCheckpoints {
    taken: BTreeMap<ExecutionVertexId, Vec<Taken>>,
    channels: Vec<ChannelPair>,
    /// Per task, the local id of its snapshot in the last line registered
    /// (`None`: its initial state).
    last: BTreeMap<ExecutionVertexId, Option<CheckpointId>>,
    /// Test-only broken variant: every task's latest snapshot, orphans or
    /// not.
    sabotage: Sabotage,
}

/// The data channels of `job`, with each end's channel numbers (outputs
/// across output edges, inputs across input gates, as the tasks number
/// them).
pub(super) fn channel_pairs(job: &JobGraph) -> Vec<ChannelPair> {
    let mut pairs = Vec::new();
    for sender in job.execution_vertices() {
        let targets = job.output_channels(sender).into_iter().flat_map(|(_, t)| t);
        for (out, t) in targets.enumerate() {
            let gates = job.input_gate_sizes(t.consumer.vertex);
            let offset: u32 = gates[..t.gate as usize].iter().sum();
            pairs.push(ChannelPair {
                sender,
                out,
                receiver: t.consumer,
                input: (offset + t.channel) as usize,
            });
        }
    }
    pairs
}

/// A recovery line ready to register: the snapshot handles at it, the
/// records in flight, and when its oldest snapshot was acknowledged.
pub(super) struct LineProposal {
    pub states: BTreeMap<ExecutionVertexId, StateHandle>,
    pub replay: BTreeMap<ExecutionVertexId, Vec<ReplaySlice>>,
    pub oldest_ms: i64,
    members: BTreeMap<ExecutionVertexId, Option<CheckpointId>>,
}

impl LocalCheckpoints {
    pub fn new(job: &JobGraph, sabotage: Sabotage) -> Self {
        let tasks = job.execution_vertices();
        LocalCheckpoints {
            taken: tasks.iter().map(|t| (*t, Vec::new())).collect(),
            channels: channel_pairs(job),
            last: tasks.iter().map(|t| (*t, None)).collect(),
            sabotage,
        }
    }

    /// Task `task` acknowledged a snapshot at `now_ms`.
    pub fn add(&mut self, task: ExecutionVertexId, handle: StateHandle, now_ms: i64) {
        let list = self.taken.get_mut(&task).expect("invariant: a task of the job");
        let id = handle.cut.as_ref().map(|c| c.local_id);
        assert!(
            id.is_some(),
            "invariant: {task} acknowledged a snapshot without its cut"
        );
        assert!(
            list.last().is_none_or(|t| Some(t.cut().local_id) < id),
            "invariant: {task}'s snapshots are acknowledged in the order taken"
        );
        list.push(Taken { handle, at_ms: now_ms });
    }

    fn cuts(&self) -> BTreeMap<ExecutionVertexId, Vec<ChannelCut>> {
        self.taken
            .iter()
            .map(|(t, list)| (*t, list.iter().map(|x| x.cut().clone()).collect()))
            .collect()
    }

    /// The recovery line now, if it moved since the last one registered.
    pub fn propose(&self) -> Option<LineProposal> {
        let cuts = self.cuts();
        let line: Line = match self.sabotage {
            Sabotage::InconsistentRecoveryLine => cuts.iter().map(|(t, c)| (*t, c.len().checked_sub(1))).collect(),
            _ => recovery_line::recovery_line(&cuts, &self.channels),
        };
        let members: BTreeMap<ExecutionVertexId, Option<CheckpointId>> = line
            .iter()
            .map(|(t, at)| (*t, at.map(|i| cuts[t][i].local_id)))
            .collect();
        if members == self.last {
            return None;
        }
        // Lines only move forward (the maximum over a growing set).
        assert!(
            self.sabotage == Sabotage::InconsistentRecoveryLine || members.iter().all(|(t, m)| *m >= self.last[t]),
            "invariant: the recovery line moved back from {:?} to {members:?}",
            self.last
        );
        let mut states = BTreeMap::new();
        let mut oldest_ms = i64::MAX;
        for (t, at) in &line {
            if let Some(i) = at {
                let taken = &self.taken[t][*i];
                states.insert(*t, taken.handle.clone());
                oldest_ms = oldest_ms.min(taken.at_ms);
            }
        }
        let replay = self.replay(&cuts, &line, &states);
        Some(LineProposal {
            states,
            replay,
            oldest_ms,
            members,
        })
    }

    /// Per receiver, the records in flight at `line` and where they are
    /// logged (orphans, which only a broken line has, replay nothing).
    fn replay(
        &self,
        cuts: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>,
        line: &Line,
        states: &BTreeMap<ExecutionVertexId, StateHandle>,
    ) -> BTreeMap<ExecutionVertexId, Vec<ReplaySlice>> {
        let mut replay: BTreeMap<ExecutionVertexId, Vec<ReplaySlice>> = BTreeMap::new();
        for ch in &self.channels {
            let received = line[&ch.receiver].map_or(0, |i| cuts[&ch.receiver][i].received[ch.input]);
            let Some(i) = line[&ch.sender] else { continue };
            let sender = &cuts[&ch.sender][i];
            let sent = sender.sent[ch.out];
            if received >= sent {
                continue;
            }
            assert!(
                sender.log_first[ch.out] <= received,
                "invariant: {ch:?}: the log from {} holds the records from {received}",
                sender.log_first[ch.out]
            );
            assert!(
                states.contains_key(&ch.sender),
                "invariant: a sender at a snapshot in the line has its handle"
            );
            replay.entry(ch.receiver).or_default().push(ReplaySlice {
                sender_key: states[&ch.sender].key.clone(),
                out: ch.out,
                input: ch.input,
                from: received,
                to: sent,
            });
        }
        replay
    }

    /// `proposal` was registered as a checkpoint.
    pub fn registered(&mut self, proposal: &LineProposal) {
        self.last = proposal.members.clone();
    }

    /// `tasks` restart from `restored` (a line, or none): forget their
    /// snapshots after it. Returns how many were forgotten: the rollback
    /// past each task's latest snapshot (the domino effect's measure).
    pub fn roll_back(&mut self, tasks: &[ExecutionVertexId], restored: Option<&CompletedCheckpoint>) -> u64 {
        let mut forgotten = 0;
        for t in tasks {
            let keep = restored
                .and_then(|c| c.states.get(t))
                .and_then(|h| h.cut.as_ref())
                .map(|c| c.local_id);
            let list = self.taken.get_mut(t).expect("invariant: a task of the job");
            let before = list.len();
            list.retain(|x| Some(x.cut().local_id) <= keep);
            forgotten += (before - list.len()) as u64;
            // A line registered after `restored` but not completed is gone.
            self.last.insert(*t, keep);
        }
        forgotten
    }

    /// What task `task` hears of line `c`: its own snapshot there, and per
    /// output channel what the line's receiver had processed (its log's
    /// floor).
    pub fn member(&self, c: &CompletedCheckpoint, task: ExecutionVertexId) -> LineMember {
        let cut = |t: &ExecutionVertexId| c.states.get(t).and_then(|h| h.cut.as_ref());
        let outs = self.channels.iter().filter(|ch| ch.sender == task).count();
        let mut floors = vec![0; outs];
        let sent = cut(&task);
        for ch in self.channels.iter().filter(|ch| ch.sender == task) {
            let received = cut(&ch.receiver).map_or(0, |r| r.received[ch.input]);
            // At most what the sender had sent there: equal for a
            // consistent line; a broken one has orphans (received more).
            let had_sent = sent.map_or(0, |s| s.sent[ch.out]);
            assert!(
                received <= had_sent || self.sabotage == Sabotage::InconsistentRecoveryLine,
                "invariant: {ch:?} has an orphan at line {}",
                c.id
            );
            floors[ch.out] = received.min(had_sent);
        }
        assert!(
            sent.is_none_or(|s| s.sent.len() == floors.len()),
            "invariant: a floor per output channel of {task}"
        );
        LineMember {
            local_id: cut(&task).map(|x| x.local_id),
            floors,
        }
    }
}

impl JobMaster {
    /// A task acknowledged an uncoordinated snapshot.
    pub(super) fn on_local_checkpoint(&mut self, id: ExecutionAttemptId, handle: StateHandle) {
        let now = self.now_ms();
        let Some(local) = self.local_checkpoints.as_mut() else {
            return;
        };
        local.add(id.vertex, handle, now);
        self.register_line();
    }

    /// Register the recovery line if it moved and no line is still being
    /// persisted.
    pub(super) fn register_line(&mut self) {
        if self.status != JobStatus::Running {
            return;
        }
        let (Some(local), Some(coord)) = (self.local_checkpoints.as_mut(), self.coordinator.as_mut()) else {
            return;
        };
        if !coord.pending().is_empty() {
            return;
        }
        let Some(proposal) = local.propose() else { return };
        if proposal.states.is_empty() {
            return;
        }
        local.registered(&proposal);
        let id = coord.register_line(proposal.oldest_ms, proposal.states.clone(), proposal.replay.clone());
        let metadata = CompletedCheckpoint {
            id,
            trigger_ms: proposal.oldest_ms,
            completion_ms: self.cfg.tracer.now_ms() as i64,
            states: proposal.states,
            replay: proposal.replay,
        };
        let _ = self.metadata.send(metadata);
    }
}
