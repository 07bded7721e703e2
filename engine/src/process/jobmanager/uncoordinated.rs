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
use crate::checkpoint::protocol::CheckpointProtocol;
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
    /// The cuts of `taken`, position by position (the recovery line's
    /// input, kept apart so it is read, not rebuilt, on each ack).
    cuts: BTreeMap<ExecutionVertexId, Vec<ChannelCut>>,
    channels: Vec<ChannelPair>,
    /// Per task, the local id of its snapshot in the last line registered
    /// (`None`: its initial state).
    last: BTreeMap<ExecutionVertexId, Option<CheckpointId>>,
    /// Test-only broken variants: every task's latest snapshot, orphans
    /// or not; or the index rule's line taken as it is.
    sabotage: Sabotage,
    /// Communication-induced checkpoints: the line starts from the index
    /// rule's (consistent unless an acknowledgement was lost).
    by_index: bool,
    /// Per task restored from a line, the position of its snapshot there:
    /// the index rule counts from it (the execution began again there).
    floor: BTreeMap<ExecutionVertexId, usize>,
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
    pub fn new(job: &JobGraph, sabotage: Sabotage, protocol: CheckpointProtocol) -> Self {
        let tasks = job.execution_vertices();
        LocalCheckpoints {
            taken: tasks.iter().map(|t| (*t, Vec::new())).collect(),
            cuts: tasks.iter().map(|t| (*t, Vec::new())).collect(),
            channels: channel_pairs(job),
            last: tasks.iter().map(|t| (*t, None)).collect(),
            sabotage,
            by_index: protocol.is_communication_induced(),
            floor: BTreeMap::new(),
        }
    }

    /// Whether this line may have orphans (test-only broken variants).
    fn broken(&self) -> bool {
        matches!(
            self.sabotage,
            Sabotage::InconsistentRecoveryLine | Sabotage::NoForcedSnapshots
        )
    }

    /// Whether every task's snapshots since its floor are known, none
    /// missing (ids count up from 1 within an attempt, the attempt in the
    /// high bits): acknowledgements lost leave gaps.
    fn known_without_gaps(&self) -> bool {
        let count = |id: CheckpointId| id & ((1 << 32) - 1);
        self.taken.iter().all(|(t, list)| {
            let from = self.floor.get(t).copied().unwrap_or(0);
            let ids: Vec<CheckpointId> = list[from..].iter().map(|x| x.cut().local_id).collect();
            let starts = self.floor.contains_key(t) || ids.first().is_none_or(|id| count(*id) == 1);
            starts
                && ids.windows(2).all(|w| {
                    let same_attempt = w[0] >> 32 == w[1] >> 32;
                    (same_attempt && count(w[1]) == count(w[0]) + 1) || (!same_attempt && count(w[1]) == 1)
                })
        })
    }

    /// The line over `cuts` by the protocol's rule.
    fn line(&self, cuts: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>) -> Line {
        match (self.sabotage, self.by_index) {
            (Sabotage::InconsistentRecoveryLine, _) => cuts.iter().map(|(t, c)| (*t, c.len().checked_sub(1))).collect(),
            (Sabotage::NoForcedSnapshots, true) => recovery_line::index_line(cuts, &self.floor),
            (_, true) => {
                let start = recovery_line::index_line(cuts, &self.floor);
                // The forced snapshots make it consistent; only a snapshot
                // whose acknowledgement was lost leaves a rollback to do.
                assert!(
                    !self.known_without_gaps() || recovery_line::is_consistent(cuts, &self.channels, &start),
                    "invariant: the index line of forced snapshots has no orphan"
                );
                recovery_line::recovery_line_from(cuts, &self.channels, start)
            }
            (_, false) => recovery_line::recovery_line(cuts, &self.channels),
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
        let cut = handle.cut.clone().expect("invariant: checked above");
        list.push(Taken { handle, at_ms: now_ms });
        self.cuts
            .get_mut(&task)
            .expect("invariant: a task of the job")
            .push(cut);
        self.assert_parallel(task);
    }

    /// `taken` and `cuts` hold the same snapshots of `task`.
    fn assert_parallel(&self, task: ExecutionVertexId) {
        let (taken, cuts) = (&self.taken[&task], &self.cuts[&task]);
        assert!(
            taken.len() == cuts.len() && taken.last().map(|t| t.cut()) == cuts.last(),
            "invariant: {task}'s snapshots and cuts are kept position by position"
        );
    }

    /// Line `c` completed: a restore never goes below it (restores take
    /// the latest completed line, and the maximum consistent line over a
    /// set holding it is at or above it), so each task's snapshots before
    /// its member there are dropped. Keeps the work per acknowledgement
    /// bounded by the snapshots since the last completed line.
    pub fn completed(&mut self, c: &CompletedCheckpoint) {
        for (t, handle) in &c.states {
            let Some(member) = handle.cut.as_ref().map(|x| x.local_id) else {
                continue;
            };
            let cuts = self.cuts.get_mut(t).expect("invariant: a task of the job");
            // A restore may have forgotten it already (a newer attempt).
            let Some(at) = cuts.iter().position(|x| x.local_id == member) else {
                continue;
            };
            if at == 0 {
                continue;
            }
            cuts.drain(..at);
            self.taken.get_mut(t).expect("invariant: a task of the job").drain(..at);
            // The index rule counts from the member now (indexes rise from
            // the floor on, so the highest is unchanged); a floor below it
            // is gone.
            let floor = self.floor.get(t).map_or(0, |f| f.saturating_sub(at));
            self.floor.insert(*t, floor);
            self.assert_parallel(*t);
            assert_eq!(
                self.cuts[t][0].local_id, member,
                "invariant: {t}'s snapshots start at its member of the completed line"
            );
        }
    }

    /// The recovery line now, if it moved since the last one registered.
    pub fn propose(&self) -> Option<LineProposal> {
        let cuts = &self.cuts;
        let line = self.line(cuts);
        let members: BTreeMap<ExecutionVertexId, Option<CheckpointId>> = line
            .iter()
            .map(|(t, at)| (*t, at.map(|i| cuts[t][i].local_id)))
            .collect();
        if members == self.last {
            return None;
        }
        // Lines only move forward (the maximum over a growing set).
        assert!(
            self.broken() || members.iter().all(|(t, m)| *m >= self.last[t]),
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
        let replay = self.replay(cuts, &line, &states);
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
            let kept = list.len();
            forgotten += (before - kept) as u64;
            self.cuts
                .get_mut(t)
                .expect("invariant: a task of the job")
                .truncate(kept);
            self.assert_parallel(*t);
            assert!(
                keep.is_none() || self.cuts[t].last().map(|c| c.local_id) == keep,
                "invariant: {t} restarts from a snapshot the JobMaster still holds"
            );
            match keep {
                Some(_) => self.floor.insert(*t, kept - 1),
                None => self.floor.remove(t),
            };
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
                received <= had_sent || self.broken(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn task(vertex: u32) -> ExecutionVertexId {
        ExecutionVertexId { vertex, subtask: 0 }
    }

    /// A snapshot of `vertex` with one input and one output channel (the
    /// source has no input, the sink no output).
    fn snapshot(vertex: u32, local_id: u64, received: Option<u64>, sent: Option<u64>) -> StateHandle {
        StateHandle {
            key: format!("chk-{local_id}/{vertex}-0"),
            size_bytes: 1,
            uploaded_bytes: 1,
            in_flight_bytes: 0,
            in_flight_records: 0,
            end_of_input: false,
            cut: Some(ChannelCut {
                local_id,
                received: received.into_iter().collect(),
                sent: sent.into_iter().collect(),
                log_first: sent.map(|_| 0).into_iter().collect(),
                index: 0,
            }),
        }
    }

    #[test]
    fn a_line_rolls_orphans_back_replays_what_was_in_flight_and_counts_what_it_forgot() {
        // source -> count -> sink, one subtask each.
        let job = JobGraph::streaming_count(1, 1, 1, 1);
        let mut local = LocalCheckpoints::new(&job, Sabotage::None, CheckpointProtocol::Uncoordinated);
        let (source, count, sink) = (task(0), task(1), task(2));
        local.add(source, snapshot(0, 1, None, Some(10)), 100);
        local.add(source, snapshot(0, 2, None, Some(20)), 200);
        local.add(count, snapshot(1, 1, Some(5), Some(5)), 110);
        local.add(count, snapshot(1, 2, Some(15), Some(15)), 210);
        // Processed 25 of the source's records: 5 sent after its last snapshot.
        local.add(count, snapshot(1, 3, Some(25), Some(25)), 310);
        local.add(sink, snapshot(2, 1, Some(5), None), 120);
        // Processed 16 of count's: one more than count's snapshot 2 had sent.
        local.add(sink, snapshot(2, 2, Some(16), None), 220);
        let line = local.propose().expect("a first line");
        let members: Vec<Option<u64>> = [source, count, sink].iter().map(|t| line.members[t]).collect();
        assert_eq!(
            members,
            [Some(2), Some(2), Some(1)],
            "count and then the sink rolled back"
        );
        assert_eq!(line.oldest_ms, 120, "the sink's first snapshot is the oldest member");
        let slices = |t| -> Vec<(u64, u64)> { line.replay[&t].iter().map(|s| (s.from, s.to)).collect() };
        assert_eq!(slices(count), [(15, 20)], "the source's records 15..20 were in flight");
        assert_eq!(slices(sink), [(5, 15)]);
        assert_eq!(line.replay[&sink][0].sender_key, "chk-2/1-0");
        local.registered(&line);
        assert!(local.propose().is_none(), "nothing moved");
        let c = CompletedCheckpoint {
            id: 7,
            trigger_ms: line.oldest_ms,
            completion_ms: 400,
            states: line.states.clone(),
            replay: line.replay.clone(),
        };
        assert_eq!(local.member(&c, source).floors, [15], "count had processed 15");
        assert_eq!(local.member(&c, count).floors, [5]);
        assert_eq!(local.member(&c, sink).local_id, Some(1));
        assert_eq!(
            local.roll_back(&[source, count, sink], Some(&c)),
            2,
            "count's 3rd and the sink's 2nd"
        );
        assert_eq!(local.roll_back(&[source, count, sink], None), 5, "everything else");
    }

    #[test]
    fn a_line_with_nothing_in_flight_replays_nothing() {
        let job = JobGraph::streaming_count(1, 1, 1, 1);
        let mut local = LocalCheckpoints::new(&job, Sabotage::None, CheckpointProtocol::Uncoordinated);
        local.add(task(0), snapshot(0, 1, None, Some(10)), 1);
        local.add(task(1), snapshot(1, 1, Some(10), Some(10)), 2);
        local.add(task(2), snapshot(2, 1, Some(10), None), 3);
        let line = local.propose().expect("a line");
        assert!(line.members.values().all(|m| *m == Some(1)));
        assert!(line.replay.is_empty(), "{:?}", line.replay);
    }

    #[test]
    fn a_completed_line_drops_the_snapshots_below_it_and_the_line_stays() {
        let job = JobGraph::streaming_count(1, 1, 1, 1);
        let mut local = LocalCheckpoints::new(&job, Sabotage::None, CheckpointProtocol::Uncoordinated);
        let tasks = [task(0), task(1), task(2)];
        let take = |local: &mut LocalCheckpoints, id: u64, n: u64| {
            local.add(task(0), snapshot(0, id, None, Some(n)), 1);
            local.add(task(1), snapshot(1, id, Some(n), Some(n)), 2);
            local.add(task(2), snapshot(2, id, Some(n), None), 3);
        };
        let complete = |local: &mut LocalCheckpoints, id: u64| {
            let line = local.propose().expect("the line moved");
            local.registered(&line);
            let c = CompletedCheckpoint {
                id,
                trigger_ms: line.oldest_ms,
                completion_ms: 10,
                states: line.states,
                replay: line.replay,
            };
            local.completed(&c);
            c
        };
        take(&mut local, 1, 10);
        take(&mut local, 2, 20);
        let first = complete(&mut local, 1);
        assert!(first.states.values().all(|h| h.cut.as_ref().unwrap().local_id == 2));
        assert!(tasks.iter().all(|t| local.cuts[t].len() == 1), "snapshots 1 dropped");
        assert!(tasks.iter().all(|t| local.taken[t].len() == 1));
        assert!(local.propose().is_none(), "the line did not move");
        take(&mut local, 3, 30);
        take(&mut local, 4, 40);
        let line = local.propose().expect("the line moved");
        assert!(line.members.values().all(|m| *m == Some(4)), "{:?}", line.members);
        assert_eq!(local.roll_back(&tasks, Some(&first)), 6, "3 and 4 of each");
        assert!(tasks.iter().all(|t| local.floor[t] == 0));
    }

    /// A communication-induced snapshot of every task of source → count →
    /// sink with `n` records through each channel and `index`.
    fn take_indexed(local: &mut LocalCheckpoints, id: u64, n: u64, index: u64) {
        for (vertex, received, sent) in [(0, None, Some(n)), (1, Some(n), Some(n)), (2, Some(n), None)] {
            let mut h = snapshot(vertex, id, received, sent);
            h.cut.as_mut().expect("a cut").index = index;
            local.add(task(vertex), h, 1);
        }
    }

    fn complete(line: LineProposal, id: CheckpointId) -> CompletedCheckpoint {
        CompletedCheckpoint {
            id,
            trigger_ms: line.oldest_ms,
            completion_ms: 10,
            states: line.states,
            replay: line.replay,
        }
    }

    #[test]
    fn after_a_restore_and_a_completed_line_the_index_rule_counts_from_the_kept_snapshots() {
        let job = JobGraph::streaming_count(1, 1, 1, 1);
        let mut local = LocalCheckpoints::new(&job, Sabotage::None, CheckpointProtocol::CommunicationInduced);
        let tasks = [task(0), task(1), task(2)];
        for id in 1..=3 {
            take_indexed(&mut local, id, 10 * id, id);
        }
        let line = local.propose().expect("a line at index 3");
        local.registered(&line);
        let restored = complete(line, 1);
        assert_eq!(local.roll_back(&tasks, Some(&restored)), 0);
        assert!(
            tasks.iter().all(|t| local.floor[t] == 2),
            "the restored snapshot is third"
        );
        // The second attempt's snapshots, indexes from the restored one on.
        let second = |count: u64| (2 << 32) + count;
        take_indexed(&mut local, second(1), 40, 4);
        take_indexed(&mut local, second(2), 50, 5);
        let line = local.propose().expect("a line at index 5");
        assert!(line.members.values().all(|m| *m == Some(second(2))));
        local.registered(&line);
        local.completed(&complete(line, 2));
        assert!(tasks.iter().all(|t| local.cuts[t].len() == 1 && local.floor[t] == 0));
        take_indexed(&mut local, second(3), 60, 6);
        let line = local.propose().expect("a line at index 6");
        assert!(
            line.members.values().all(|m| *m == Some(second(3))),
            "{:?}",
            line.members
        );
    }

    #[test]
    fn a_broken_line_takes_every_latest_snapshot() {
        let job = JobGraph::streaming_count(1, 1, 1, 1);
        let mut local = LocalCheckpoints::new(
            &job,
            Sabotage::InconsistentRecoveryLine,
            CheckpointProtocol::Uncoordinated,
        );
        local.add(task(0), snapshot(0, 1, None, Some(10)), 1);
        local.add(task(1), snapshot(1, 1, Some(25), Some(25)), 2);
        local.add(task(2), snapshot(2, 1, Some(5), None), 3);
        let line = local.propose().expect("a line");
        assert!(line.members.values().all(|m| *m == Some(1)), "no rollback");
        assert!(!line.replay.contains_key(&task(1)), "an orphan replays nothing");
    }
}
