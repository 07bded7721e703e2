//! The state of the reachability operator: the iteration head of a cyclic
//! job (CheckMate's cyclic query), which finds every edge of a streamed
//! graph whose source is reachable from a root vertex.
//!
//! Its first input is the graph's edges, keyed by source vertex (`key` =
//! source, `value` = target); its second is its own feedback edge, keyed by
//! the vertex it names. An edge out of a reached vertex is *traversed*: the
//! operator emits it reversed (`key` = target, `value` = source, the edge's
//! origin and event time), and the emitted record travels round the
//! feedback edge to the subtask that owns the target, which marks the
//! target reached and traverses the edges it kept for it. Each edge record
//! is traversed exactly once, so the output is the multiset of edges whose
//! source is reachable from the root, whatever the order records arrive in.
//!
//! The root is reached from the start. A vertex not reached yet keeps its
//! edges; a reached one keeps none (they were traversed).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::partition::Partitioner;
use crate::record::Record;

/// Per subtask: the reached vertices it owns and the edges it keeps for
/// those not reached yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReachabilityState {
    root: u64,
    reached: BTreeSet<u64>,
    /// Edges out of vertices not reached yet, by source vertex.
    pending: BTreeMap<u64, Vec<Record>>,
}

/// What a snapshot of [`ReachabilityState`] holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachabilitySnapshot {
    pub reached: Vec<u64>,
    pub pending: Vec<Record>,
}

impl ReachabilitySnapshot {
    /// Entries it holds: reached vertices and kept edges.
    pub fn len(&self) -> usize {
        self.reached.len() + self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An edge out of a reached vertex, as the operator emits it.
fn traversed(edge: &Record) -> Record {
    Record {
        key: edge.value,
        value: edge.key,
        ..*edge
    }
}

impl ReachabilityState {
    pub fn new(root: u64) -> Self {
        ReachabilityState {
            root,
            ..Default::default()
        }
    }

    pub fn is_reached(&self, vertex: u64) -> bool {
        vertex == self.root || self.reached.contains(&vertex)
    }

    /// Edges kept for vertices not reached yet.
    pub fn pending_edges(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }

    /// An edge (`key` → `value`) arrived: traversed at once if its source
    /// is reached, else kept.
    pub fn on_edge(&mut self, edge: Record) -> Option<Record> {
        if self.is_reached(edge.key) {
            return Some(traversed(&edge));
        }
        self.pending.entry(edge.key).or_default().push(edge);
        None
    }

    /// A traversed edge came round the feedback edge: its `key` is
    /// reached. The first time, the edges kept for it are traversed.
    pub fn on_reached(&mut self, message: Record) -> Vec<Record> {
        let vertex = message.key;
        if self.is_reached(vertex) {
            assert!(
                !self.pending.contains_key(&vertex),
                "invariant: a reached vertex {vertex} keeps no edges"
            );
            return Vec::new();
        }
        self.reached.insert(vertex);
        let edges = self.pending.remove(&vertex).unwrap_or_default();
        edges.iter().map(traversed).collect()
    }

    pub fn snapshot(&self) -> ReachabilitySnapshot {
        ReachabilitySnapshot {
            reached: self.reached.iter().copied().collect(),
            pending: self.pending.values().flatten().copied().collect(),
        }
    }

    /// The state of `subtask` of `parallelism` from the snapshots of the
    /// subtasks it takes keys from: only the vertices it owns.
    pub fn restore<'a>(
        root: u64,
        snapshots: impl IntoIterator<Item = &'a ReachabilitySnapshot>,
        partitioner: &dyn Partitioner,
        subtask: u32,
        parallelism: u32,
    ) -> ReachabilityState {
        assert!(subtask < parallelism, "invariant: subtask {subtask} of {parallelism}");
        let owned = |vertex: u64| partitioner.owner(vertex, parallelism) == subtask;
        let mut state = ReachabilityState::new(root);
        for s in snapshots {
            state.reached.extend(s.reached.iter().copied().filter(|v| owned(*v)));
            for edge in s.pending.iter().filter(|e| owned(e.key)) {
                state.pending.entry(edge.key).or_default().push(*edge);
            }
        }
        // A vertex is reached in one snapshot at most (its owner's).
        let reached = &state.reached;
        assert!(
            state.pending.keys().all(|v| !reached.contains(v)),
            "invariant: restored edges wait only for vertices not reached"
        );
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::KeyGroupPartitioner;
    use crate::record::Origin;

    fn edge(from: u64, to: u64, offset: u64) -> Record {
        Record {
            key: from,
            value: to,
            origin: Origin { partition: 0, offset },
            timestamp_ms: offset,
        }
    }

    #[test]
    fn an_edge_out_of_the_root_is_traversed_at_once() {
        let mut s = ReachabilityState::new(7);
        let out = s.on_edge(edge(7, 3, 1)).expect("the root is reached");
        assert_eq!((out.key, out.value, out.origin.offset), (3, 7, 1));
        assert_eq!(s.pending_edges(), 0);
    }

    #[test]
    fn edges_wait_for_their_source_and_go_once_it_is_reached() {
        let mut s = ReachabilityState::new(0);
        assert_eq!(s.on_edge(edge(1, 2, 1)), None);
        assert_eq!(s.on_edge(edge(1, 5, 2)), None);
        assert_eq!(s.pending_edges(), 2);
        let out = s.on_reached(traversed(&edge(0, 1, 3)));
        let targets: Vec<(u64, u64)> = out.iter().map(|r| (r.key, r.value)).collect();
        assert_eq!(targets, [(2, 1), (5, 1)]);
        assert_eq!(s.pending_edges(), 0);
        // Reached again: nothing more.
        assert!(s.on_reached(traversed(&edge(4, 1, 4))).is_empty());
        // A later edge out of it goes at once.
        assert_eq!(s.on_edge(edge(1, 9, 5)).map(|r| r.key), Some(9));
    }

    #[test]
    fn a_restore_keeps_only_the_vertices_a_subtask_owns() {
        let p = KeyGroupPartitioner::new(128);
        let mut s = ReachabilityState::new(0);
        for v in 1..40 {
            s.on_edge(edge(v, v + 1, v));
        }
        for v in (1..40).step_by(3) {
            s.on_reached(traversed(&edge(0, v, 100 + v)));
        }
        let snap = s.snapshot();
        assert_eq!(snap.len(), 13 + 26);
        let parts: Vec<ReachabilityState> = (0..3)
            .map(|i| ReachabilityState::restore(0, [&snap], &p, i, 3))
            .collect();
        for v in 1..40 {
            let owner = p.owner(v, 3) as usize;
            for (i, part) in parts.iter().enumerate() {
                let reached = v % 3 == 1;
                assert_eq!(part.is_reached(v), reached && i == owner, "vertex {v} on {i}");
                let kept = part.pending.get(&v).map_or(0, Vec::len);
                assert_eq!(kept, usize::from(!reached && i == owner), "vertex {v} on {i}");
            }
        }
        let merged = ReachabilityState::restore(
            0,
            parts.iter().map(|p| p.snapshot()).collect::<Vec<_>>().iter(),
            &p,
            0,
            1,
        );
        assert_eq!(merged, s);
    }
}
