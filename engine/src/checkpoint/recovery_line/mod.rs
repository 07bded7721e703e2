//! The recovery line of uncoordinated checkpoints: per task, the latest of
//! its local checkpoints that together form a consistent global state.
//!
//! Each local checkpoint records a [`ChannelCut`]: per input channel the
//! records its task had processed, per output channel the records it had
//! sent. A set of checkpoints, one per task (or the task's initial state,
//! where everything is 0), is *consistent* when no channel has an orphan:
//! a receiver that processed more records than its sender had sent (the
//! receiver's state holds records the sender will send again, or
//! differently, after it rolls back). Records sent but not yet processed
//! at the cut are in flight; the sender's log replays them.
//!
//! [`recovery_line`] starts from every task's latest checkpoint and rolls
//! a receiver back, to its latest checkpoint without the orphan, while any
//! channel has one. The result is the *maximum* consistent set: consistent
//! sets are closed under taking, per task, the later of two (a receiver's
//! count can only fall, a sender's only rise), so every rollback the
//! algorithm makes is forced. A chain of forced rollbacks is the domino
//! effect; in the worst case it ends at the initial state.
//!
//! Communication-induced checkpoints avoid the search: [`index_line`]
//! takes, for the highest index every task reached, each task's first
//! snapshot at that index or above, consistent by construction when the
//! tasks took the snapshots the piggybacked indexes forced.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::graph::ExecutionVertexId;

use super::CheckpointId;

/// Where an uncoordinated local checkpoint was taken in its task's
/// channels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCut {
    /// The task's own checkpoint id (its local snapshots count up).
    pub local_id: CheckpointId,
    /// Per input channel (numbered across the input gates): records
    /// processed.
    pub received: Vec<u64>,
    /// Per output channel (numbered across the output edges): records
    /// sent.
    pub sent: Vec<u64>,
    /// Per output channel: the first record the checkpoint's message log
    /// holds (it holds those from there to `sent`).
    pub log_first: Vec<u64>,
    /// Communication-induced checkpoints: the snapshot's index (0 for the
    /// uncoordinated protocol).
    #[serde(default)]
    pub index: u64,
}

/// One data channel of the job: output channel `out` of `sender` is input
/// channel `input` of `receiver`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChannelPair {
    pub sender: ExecutionVertexId,
    pub out: usize,
    pub receiver: ExecutionVertexId,
    pub input: usize,
}

/// Per task, the position in its list of checkpoints the line takes:
/// `Some(i)` the `i`-th, `None` the initial state.
pub type Line = BTreeMap<ExecutionVertexId, Option<usize>>;

/// The task's sent count on output `out` at line position `at`.
fn sent(cuts: &[ChannelCut], at: Option<usize>, out: usize) -> u64 {
    at.map_or(0, |i| cuts[i].sent[out])
}

fn received(cuts: &[ChannelCut], at: Option<usize>, input: usize) -> u64 {
    at.map_or(0, |i| cuts[i].received[input])
}

/// The maximum consistent line over `checkpoints` (per task, its local
/// checkpoints in the order taken) for a job with `channels`. Every task
/// of a channel must have an entry (possibly empty).
pub fn recovery_line(checkpoints: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>, channels: &[ChannelPair]) -> Line {
    let latest: Line = checkpoints
        .iter()
        .map(|(t, cuts)| (*t, cuts.len().checked_sub(1)))
        .collect();
    recovery_line_from(checkpoints, channels, latest)
}

/// The index rule of communication-induced checkpoints: for the highest
/// index `k` every task's snapshots reached, each task's first snapshot at
/// `k` or above. Consistent when every snapshot taken is known and the
/// tasks took the forced ones. Only the snapshots from `floor` on count
/// (per task, a position: its snapshot in the line last restored, where
/// the execution started again with that snapshot's index; absent: the
/// initial state, index 0).
pub fn index_line(
    checkpoints: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>,
    floor: &BTreeMap<ExecutionVertexId, usize>,
) -> Line {
    let from = |t: &ExecutionVertexId| floor.get(t).copied().unwrap_or(0);
    let k = checkpoints
        .iter()
        .map(|(t, cuts)| {
            cuts[from(t).min(cuts.len())..]
                .iter()
                .map(|c| c.index)
                .max()
                .unwrap_or(0)
        })
        .min()
        .unwrap_or(0);
    checkpoints
        .iter()
        .map(|(t, cuts)| {
            let first = (from(t)..cuts.len()).find(|p| cuts[*p].index >= k);
            // k = 0 with nothing at or above the floor: the initial state.
            let at = if k == 0 && !floor.contains_key(t) { None } else { first };
            (*t, at)
        })
        .collect()
}

/// The maximum consistent line at or below `start`: rolls receivers of
/// orphans back from there.
pub fn recovery_line_from(
    checkpoints: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>,
    channels: &[ChannelPair],
    start: Line,
) -> Line {
    for cuts in checkpoints.values() {
        assert!(
            cuts.windows(2).all(|w| w[0].local_id < w[1].local_id),
            "invariant: a task's checkpoints are in the order taken"
        );
    }
    let mut line = start;
    loop {
        let mut changed = false;
        for ch in channels {
            let at_sender = line[&ch.sender];
            let at_receiver = line[&ch.receiver];
            let sent_then = sent(&checkpoints[&ch.sender], at_sender, ch.out);
            let cuts = &checkpoints[&ch.receiver];
            if received(cuts, at_receiver, ch.input) <= sent_then {
                continue;
            }
            // Roll the receiver back to its latest checkpoint that had not
            // processed past what the sender had sent.
            let back = at_receiver.and_then(|i| (0..i).rev().find(|j| cuts[*j].received[ch.input] <= sent_then));
            line.insert(ch.receiver, back);
            changed = true;
        }
        if !changed {
            break;
        }
    }
    assert!(
        is_consistent(checkpoints, channels, &line),
        "invariant: the recovery line has no orphan"
    );
    line
}

/// Whether `line` has no orphan on any channel.
pub fn is_consistent(
    checkpoints: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>,
    channels: &[ChannelPair],
    line: &Line,
) -> bool {
    channels.iter().all(|ch| {
        received(&checkpoints[&ch.receiver], line[&ch.receiver], ch.input)
            <= sent(&checkpoints[&ch.sender], line[&ch.sender], ch.out)
    })
}

/// Per channel of `line`, the records in flight at it: from the
/// receiver's processed count to the sender's sent count.
pub fn in_flight(
    checkpoints: &BTreeMap<ExecutionVertexId, Vec<ChannelCut>>,
    channels: &[ChannelPair],
    line: &Line,
) -> Vec<(ChannelPair, std::ops::Range<u64>)> {
    channels
        .iter()
        .map(|ch| {
            let from = received(&checkpoints[&ch.receiver], line[&ch.receiver], ch.input);
            let to = sent(&checkpoints[&ch.sender], line[&ch.sender], ch.out);
            assert!(from <= to, "invariant: {ch:?} has an orphan at the line");
            (*ch, from..to)
        })
        .filter(|(_, r)| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
