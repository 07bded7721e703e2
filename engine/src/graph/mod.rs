//! The job graph (a petgraph DAG of operators) and its expansion into subtasks.
//!
//! A [`JobGraph`] holds [`JobVertex`]es (an operator with a parallelism) joined by
//! [`JobEdge`]s (how records are shipped). [`ExecutionVertexId`] names one
//! parallel subtask; the channel layout between subtasks follows from the ship
//! strategy: `Forward` joins subtask i to subtask i, `Hash`, `Rebalance` and
//! `Broadcast` join every producer to every consumer.

use std::fmt;

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeFiltered, EdgeRef};
use petgraph::Direction;
use serde::{Deserialize, Serialize};

use crate::functions::{FilterPredicate, MapFunction};

mod shapes;

/// What an operator does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperatorKind {
    /// Reads source-log partitions `first_partition..first_partition +
    /// partitions`; subtask i takes those whose index within the range is
    /// `i` modulo the parallelism.
    Source { first_partition: u32, partitions: u32 },
    /// Keyed running count: per key, the number of records seen so far.
    KeyedCount,
    /// Tumbling event-time windows counting records per key.
    TumblingWindowCount { size_ms: u64 },
    /// Sliding event-time windows of `size_ms` every `slide_ms` (at most
    /// the size) counting records per key.
    SlidingWindowCount { size_ms: u64, slide_ms: u64 },
    /// Tumbling processing-time windows of `size_ms` counting records per
    /// key: a record counts in the window of the time its task takes it.
    ProcessingTimeWindowCount { size_ms: u64 },
    /// Incremental inner join on the key of its two inputs (the first
    /// listed is the left): [`crate::join`]. With `window_ms`, a window
    /// join: only records in the same tumbling event-time window of that
    /// size pair.
    KeyedJoin { window_ms: Option<u64> },
    /// Per window of an event-time window's results, the results with the
    /// highest value ([`crate::window_max`]); parallelism 1.
    WindowMax,
    /// Two-phase-commit sink into the sink store.
    TwoPhaseCommitSink,
    /// One record out per record in ([`MapFunction`]); no state.
    Map { function: MapFunction },
    /// The records that pass the predicate ([`FilterPredicate`]); no state.
    Filter { predicate: FilterPredicate },
    /// The iteration head of a cyclic job: the edges out of vertices
    /// reachable from `root` ([`crate::reachability`]). Its first input is
    /// the edges, its second its own feedback edge.
    Reachability { root: u64 },
}

impl OperatorKind {
    /// Whether the operator keeps keyed state: its inputs must be shipped
    /// by key, and reactive mode rescales it.
    pub fn is_keyed(&self) -> bool {
        matches!(
            self,
            OperatorKind::KeyedCount
                | OperatorKind::TumblingWindowCount { .. }
                | OperatorKind::SlidingWindowCount { .. }
                | OperatorKind::ProcessingTimeWindowCount { .. }
                | OperatorKind::KeyedJoin { .. }
                | OperatorKind::Reachability { .. }
        )
    }

    /// Whether the operator takes a feedback edge (an iteration head).
    pub fn is_iteration_head(&self) -> bool {
        matches!(self, OperatorKind::Reachability { .. })
    }

    /// Whether the operator works in event time (it needs watermarks).
    pub fn is_event_time(&self) -> bool {
        matches!(
            self,
            OperatorKind::TumblingWindowCount { .. }
                | OperatorKind::SlidingWindowCount { .. }
                | OperatorKind::WindowMax
                | OperatorKind::KeyedJoin { window_ms: Some(_) }
        )
    }
}

/// How records travel along an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShipStrategy {
    /// Subtask i to subtask i (equal parallelism).
    Forward,
    /// By key, through the job's partitioner (Flink's `keyBy`).
    Hash,
    /// Round robin over all consumers.
    Rebalance,
    /// Every record to every consumer.
    Broadcast,
}

pub use crate::failover::region::ResultPartitionType;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobVertex {
    pub name: String,
    pub kind: OperatorKind,
    pub parallelism: u32,
}

#[derive(Clone, Debug)]
pub struct JobEdge {
    pub ship: ShipStrategy,
    pub partition_type: ResultPartitionType,
    /// A feedback edge: an iteration head's output back into itself. It
    /// closes the job's only cycles; everything that orders vertices
    /// (topological order, the cycle check) leaves it out.
    pub feedback: EdgeRole,
}

/// Whether an edge carries records forward or round an iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeRole {
    Forward,
    Feedback,
}

/// Index of a vertex in the job graph.
pub type JobVertexId = u32;

/// One parallel subtask of a job vertex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExecutionVertexId {
    pub vertex: JobVertexId,
    pub subtask: u32,
}

impl fmt::Display for ExecutionVertexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}[{}]", self.vertex, self.subtask)
    }
}

impl std::str::FromStr for ExecutionVertexId {
    type Err = String;

    /// The [`Display`](fmt::Display) form, `v3[1]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a subtask (v<vertex>[<subtask>])");
        let (vertex, subtask) = s
            .strip_prefix('v')
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|r| r.split_once('['))
            .ok_or_else(bad)?;
        Ok(ExecutionVertexId {
            vertex: vertex.parse().map_err(|_| bad())?,
            subtask: subtask.parse().map_err(|_| bad())?,
        })
    }
}

/// An invalid job graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("vertex `{0}` has parallelism 0")]
    ZeroParallelism(String),
    #[error("forward edge from `{0}` to `{1}` joins different parallelisms")]
    ForwardParallelismMismatch(String, String),
    #[error("source `{0}` has inputs")]
    SourceWithInputs(String),
    #[error("vertex `{0}` has no inputs but is not a source")]
    MissingInputs(String),
    #[error("source `{0}` has parallelism {1} but only {2} partitions: some subtasks would read nothing")]
    SourceParallelismAbovePartitions(String, u32, u32),
    #[error("the job graph has a cycle")]
    Cycle,
    #[error("iteration head `{0}` needs one input and then its own feedback edge")]
    IterationInputs(String),
    #[error("`{0}` has a feedback edge but is no iteration head")]
    FeedbackIntoNonHead(String),
    #[error("`{0}` keeps keyed state, but its input from `{1}` is not shipped by key")]
    KeyedInputNotByKey(String, String),
    #[error("join `{0}` has {1} inputs, not two")]
    JoinInputs(String, usize),
}

/// A graph of operators: a DAG but for the feedback edges of iteration
/// heads.
#[derive(Clone, Debug, Default)]
pub struct JobGraph {
    graph: DiGraph<JobVertex, JobEdge>,
    /// Bounded sources: the job finishes once all input is committed.
    pub bounded: bool,
}

/// Where a channel ends: consumer subtask, its input gate and channel index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTarget {
    pub consumer: ExecutionVertexId,
    pub gate: u32,
    pub channel: u32,
}

impl JobGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_vertex(&mut self, name: &str, kind: OperatorKind, parallelism: u32) -> JobVertexId {
        let id = self
            .graph
            .add_node(JobVertex {
                name: name.to_string(),
                kind,
                parallelism,
            })
            .index();
        assert_eq!(
            id + 1,
            self.graph.node_count(),
            "invariant: vertex ids are 0..n in order"
        );
        id as JobVertexId
    }

    /// Connect two vertices with a pipelined edge (streaming).
    pub fn connect(&mut self, from: JobVertexId, to: JobVertexId, ship: ShipStrategy) {
        self.connect_with(from, to, ship, ResultPartitionType::Pipelined);
    }

    pub fn connect_with(
        &mut self,
        from: JobVertexId,
        to: JobVertexId,
        ship: ShipStrategy,
        partition_type: ResultPartitionType,
    ) {
        let n = self.graph.node_count();
        assert!(
            (from as usize) < n && (to as usize) < n,
            "invariant: edge {from} -> {to} joins vertices of the graph ({n} vertices)"
        );
        let (a, b) = (NodeIndex::new(from as usize), NodeIndex::new(to as usize));
        // A consumer's input gate is found by its producer (`output_channels`).
        assert!(
            self.graph.find_edge(a, b).is_none(),
            "invariant: at most one edge from {from} to {to}"
        );
        self.graph.add_edge(
            a,
            b,
            JobEdge {
                ship,
                partition_type,
                feedback: EdgeRole::Forward,
            },
        );
    }

    /// Give iteration head `head` its feedback edge: its own output, back
    /// into its last input gate, by key.
    pub fn connect_feedback(&mut self, head: JobVertexId) {
        assert!(
            self.vertex(head).kind.is_iteration_head(),
            "invariant: only an iteration head takes a feedback edge"
        );
        let n = NodeIndex::new(head as usize);
        assert!(
            self.graph.find_edge(n, n).is_none(),
            "invariant: one feedback edge per head"
        );
        self.graph.add_edge(
            n,
            n,
            JobEdge {
                ship: ShipStrategy::Hash,
                partition_type: ResultPartitionType::Pipelined,
                feedback: EdgeRole::Feedback,
            },
        );
    }

    /// Whether any vertex is an iteration head with its feedback edge.
    pub fn is_cyclic(&self) -> bool {
        self.graph.edge_weights().any(|e| e.feedback == EdgeRole::Feedback)
    }

    pub fn validate(&self) -> Result<(), GraphError> {
        let forward = EdgeFiltered::from_fn(&self.graph, |e| e.weight().feedback == EdgeRole::Forward);
        if petgraph::algo::is_cyclic_directed(&forward) {
            return Err(GraphError::Cycle);
        }
        for n in self.graph.node_indices() {
            let v = &self.graph[n];
            if v.parallelism == 0 {
                return Err(GraphError::ZeroParallelism(v.name.clone()));
            }
            let has_inputs = self.graph.edges_directed(n, Direction::Incoming).next().is_some();
            match v.kind {
                OperatorKind::Source { partitions, .. } => {
                    if has_inputs {
                        return Err(GraphError::SourceWithInputs(v.name.clone()));
                    }
                    if v.parallelism > partitions {
                        return Err(GraphError::SourceParallelismAbovePartitions(
                            v.name.clone(),
                            v.parallelism,
                            partitions,
                        ));
                    }
                }
                _ if !has_inputs => return Err(GraphError::MissingInputs(v.name.clone())),
                OperatorKind::KeyedJoin { .. } => {
                    let inputs = self.graph.edges_directed(n, Direction::Incoming).count();
                    if inputs != 2 {
                        return Err(GraphError::JoinInputs(v.name.clone(), inputs));
                    }
                }
                _ => {}
            }
            self.validate_iteration(n)?;
        }
        for e in self.graph.edge_references() {
            let (a, b) = (&self.graph[e.source()], &self.graph[e.target()]);
            if e.weight().ship == ShipStrategy::Forward && a.parallelism != b.parallelism {
                return Err(GraphError::ForwardParallelismMismatch(a.name.clone(), b.name.clone()));
            }
            if b.kind.is_keyed() && e.weight().ship != ShipStrategy::Hash {
                return Err(GraphError::KeyedInputNotByKey(b.name.clone(), a.name.clone()));
            }
        }
        Ok(())
    }

    /// An iteration head has one input and its feedback edge, the last;
    /// nothing else has a feedback edge.
    fn validate_iteration(&self, n: NodeIndex) -> Result<(), GraphError> {
        let v = &self.graph[n];
        let inputs = self.inputs(n.index() as JobVertexId);
        let feedback: Vec<usize> = (0..inputs.len())
            .filter(|g| inputs[*g].1.feedback == EdgeRole::Feedback)
            .collect();
        let head = v.kind.is_iteration_head();
        if head && (inputs.len() != 2 || feedback != [1]) {
            return Err(GraphError::IterationInputs(v.name.clone()));
        }
        if !head && !feedback.is_empty() {
            return Err(GraphError::FeedbackIntoNonHead(v.name.clone()));
        }
        assert!(
            inputs.iter().all(|(from, e)| e.feedback == EdgeRole::Forward
                || (*from as usize == n.index() && e.ship == ShipStrategy::Hash)),
            "invariant: a feedback edge is a head's own output, by key (connect_feedback)"
        );
        Ok(())
    }

    /// Whether `id`'s tasks send watermarks downstream: sources always do
    /// (as Flink's), other operators when an event-time operator is
    /// downstream of them (elsewhere nothing reads them).
    pub fn forwards_watermarks(&self, id: JobVertexId) -> bool {
        if matches!(self.vertex(id).kind, OperatorKind::Source { .. }) {
            return true;
        }
        let mut dfs = petgraph::visit::Dfs::new(&self.graph, NodeIndex::new(id as usize));
        dfs.next(&self.graph); // `id` itself
        while let Some(n) = dfs.next(&self.graph) {
            if self.graph[n].kind.is_event_time() {
                return true;
            }
        }
        false
    }

    /// Change a vertex's parallelism (a rescale; the caller redeploys).
    pub fn set_parallelism(&mut self, id: JobVertexId, parallelism: u32) {
        assert!(parallelism > 0, "invariant: parallelism is positive");
        self.graph[NodeIndex::new(id as usize)].parallelism = parallelism;
    }

    pub fn vertex(&self, id: JobVertexId) -> &JobVertex {
        &self.graph[NodeIndex::new(id as usize)]
    }

    pub fn vertex_ids(&self) -> impl Iterator<Item = JobVertexId> + '_ {
        self.graph.node_indices().map(|n| n.index() as JobVertexId)
    }

    pub fn num_vertices(&self) -> usize {
        self.graph.node_count()
    }

    /// All subtasks, ordered by vertex then subtask index.
    pub fn execution_vertices(&self) -> Vec<ExecutionVertexId> {
        let all: Vec<ExecutionVertexId> = self
            .vertex_ids()
            .flat_map(|v| (0..self.vertex(v).parallelism).map(move |s| ExecutionVertexId { vertex: v, subtask: s }))
            .collect();
        // The failover strategies binary-search this list.
        assert!(
            all.windows(2).all(|w| w[0] < w[1]),
            "invariant: execution vertices are sorted and distinct"
        );
        all
    }

    /// The largest operator parallelism: the number of slots the job needs
    /// with Flink's default slot sharing (one subtask of every vertex per slot).
    pub fn max_operator_parallelism(&self) -> u32 {
        self.graph.node_weights().map(|v| v.parallelism).max().unwrap_or(0)
    }

    /// Slot-sharing groups: the weakly connected components of the graph, each
    /// a sorted list of vertices, ordered by their first vertex. Within a group
    /// one slot holds one subtask of every vertex (Flink's default slot
    /// sharing); independent pipelines do not share slots.
    pub fn slot_sharing_groups(&self) -> Vec<Vec<JobVertexId>> {
        let mut uf = petgraph::unionfind::UnionFind::<usize>::new(self.graph.node_count());
        for e in self.graph.edge_references() {
            uf.union(e.source().index(), e.target().index());
        }
        let mut groups: std::collections::BTreeMap<usize, Vec<JobVertexId>> = std::collections::BTreeMap::new();
        for v in 0..self.graph.node_count() {
            groups.entry(uf.find(v)).or_default().push(v as JobVertexId);
        }
        let mut out: Vec<Vec<JobVertexId>> = groups.into_values().collect();
        out.sort();
        let mut members: Vec<JobVertexId> = out.iter().flatten().copied().collect();
        members.sort_unstable();
        assert!(
            members.iter().copied().eq(self.vertex_ids()),
            "invariant: slot-sharing groups partition the vertices: {out:?}"
        );
        out
    }

    /// Slots the job needs: per slot-sharing group, its largest parallelism.
    pub fn slots_needed(&self) -> u32 {
        let needed = self
            .slot_sharing_groups()
            .iter()
            .map(|g| g.iter().map(|v| self.vertex(*v).parallelism).max().unwrap_or(0))
            .sum();
        assert!(
            needed >= self.max_operator_parallelism(),
            "invariant: {needed} slots hold every subtask of the widest vertex"
        );
        needed
    }

    /// Data channels the job's tasks open: one per producer and consumer
    /// subtask pair on a keyed or rebalanced edge, one per subtask on a
    /// forward edge (every consumer's input gates, summed).
    pub fn data_channels(&self) -> u64 {
        self.vertex_ids()
            .map(|v| {
                let per_subtask: u64 = self.input_gate_sizes(v).iter().map(|n| u64::from(*n)).sum();
                per_subtask * u64::from(self.vertex(v).parallelism)
            })
            .sum()
    }

    /// The slot (index into the job's slots) a subtask runs in: its group's
    /// first slot plus its subtask index.
    pub fn slot_index(&self, ev: ExecutionVertexId) -> usize {
        let parallelism = self.vertex(ev.vertex).parallelism;
        assert!(
            ev.subtask < parallelism,
            "invariant: {ev} is a subtask of a vertex of parallelism {parallelism}"
        );
        let mut offset = 0;
        for g in self.slot_sharing_groups() {
            if g.contains(&ev.vertex) {
                return offset + ev.subtask as usize;
            }
            offset += g.iter().map(|v| self.vertex(*v).parallelism).max().unwrap_or(0) as usize;
        }
        unreachable!("invariant: every vertex is in a slot-sharing group")
    }

    /// Input edges of a vertex in a stable order; the position is the input gate index.
    pub fn inputs(&self, id: JobVertexId) -> Vec<(JobVertexId, JobEdge)> {
        self.edges_of(id, Direction::Incoming)
    }

    /// Output edges of a vertex in a stable order.
    pub fn outputs(&self, id: JobVertexId) -> Vec<(JobVertexId, JobEdge)> {
        self.edges_of(id, Direction::Outgoing)
    }

    /// The edges of `id` in `direction`, in the order they were added, each
    /// with the vertex at its other end.
    fn edges_of(&self, id: JobVertexId, direction: Direction) -> Vec<(JobVertexId, JobEdge)> {
        let mut edges: Vec<(EdgeIndex, JobVertexId, JobEdge)> = self
            .graph
            .edges_directed(NodeIndex::new(id as usize), direction)
            .map(|e| {
                let other = match direction {
                    Direction::Incoming => e.source(),
                    Direction::Outgoing => e.target(),
                };
                (e.id(), other.index() as JobVertexId, e.weight().clone())
            })
            .collect();
        edges.sort_by_key(|(e, _, _)| *e);
        edges.into_iter().map(|(_, v, e)| (v, e)).collect()
    }

    /// Number of channels of each input gate of `subtask`.
    pub fn input_gate_sizes(&self, id: JobVertexId) -> Vec<u32> {
        let sizes: Vec<u32> = self
            .inputs(id)
            .iter()
            .map(|(src, e)| match e.ship {
                ShipStrategy::Forward => 1,
                _ => self.vertex(*src).parallelism,
            })
            .collect();
        // A gate without channels would never see a barrier or end of input.
        assert!(
            sizes.iter().all(|&n| n >= 1),
            "invariant: every input gate of {id} has a channel: {sizes:?}"
        );
        sizes
    }

    /// For each output edge of `producer`, the channels it writes to, in
    /// channel-selection order.
    pub fn output_channels(&self, producer: ExecutionVertexId) -> Vec<(ShipStrategy, Vec<ChannelTarget>)> {
        let parallelism = self.vertex(producer.vertex).parallelism;
        // A producer subtask's index is its channel in every consumer's gate.
        assert!(
            producer.subtask < parallelism,
            "invariant: {producer} is a subtask of a vertex of parallelism {parallelism}"
        );
        self.outputs(producer.vertex)
            .into_iter()
            .map(|(dst, e)| {
                let inputs = self.inputs(dst);
                let gate = inputs
                    .iter()
                    .position(|(src, _)| *src == producer.vertex)
                    .expect("invariant: an output edge is an input edge of its target")
                    as u32;
                assert_eq!(
                    inputs.iter().filter(|(src, _)| *src == producer.vertex).count(),
                    1,
                    "invariant: one input gate of {dst} per producer (connect_with)"
                );
                let targets = match e.ship {
                    ShipStrategy::Forward => {
                        let consumers = self.vertex(dst).parallelism;
                        assert!(
                            producer.subtask < consumers,
                            "invariant: forward edge from {producer} to a vertex of parallelism {consumers}"
                        );
                        vec![ChannelTarget {
                            consumer: ExecutionVertexId {
                                vertex: dst,
                                subtask: producer.subtask,
                            },
                            gate,
                            channel: 0,
                        }]
                    }
                    _ => (0..self.vertex(dst).parallelism)
                        .map(|s| ChannelTarget {
                            consumer: ExecutionVertexId {
                                vertex: dst,
                                subtask: s,
                            },
                            gate,
                            channel: producer.subtask,
                        })
                        .collect(),
                };
                (e.ship, targets)
            })
            .collect()
    }

    /// Whether `other` has the same operators (kind and parallelism, in
    /// order) joined by the same edges, whatever the vertices' names.
    pub fn same_structure(&self, other: &JobGraph) -> bool {
        let vertices = |g: &JobGraph| -> Vec<(OperatorKind, u32)> {
            g.graph
                .node_weights()
                .map(|v| (v.kind.clone(), v.parallelism))
                .collect()
        };
        let edges = |g: &JobGraph| -> Vec<(usize, usize, ShipStrategy, ResultPartitionType)> {
            g.graph
                .edge_references()
                .map(|e| {
                    (
                        e.source().index(),
                        e.target().index(),
                        e.weight().ship,
                        e.weight().partition_type,
                    )
                })
                .collect()
        };
        vertices(self) == vertices(other) && edges(self) == edges(other)
    }

    /// Vertices in topological order.
    pub fn topological_order(&self) -> Result<Vec<JobVertexId>, GraphError> {
        // Feedback edges close iterations; the order is that of the rest.
        let forward = EdgeFiltered::from_fn(&self.graph, |e| e.weight().feedback == EdgeRole::Forward);
        let order: Vec<JobVertexId> = petgraph::algo::toposort(&forward, None)
            .map(|v| v.into_iter().map(|n| n.index() as JobVertexId).collect())
            .map_err(|_| GraphError::Cycle)?;
        let mut position = vec![usize::MAX; self.graph.node_count()];
        for (i, &v) in order.iter().enumerate() {
            position[v as usize] = i;
        }
        assert!(
            order.len() == position.len() && position.iter().all(|&p| p < order.len()),
            "invariant: the topological order lists every vertex once: {order:?}"
        );
        assert!(
            self.edges()
                .iter()
                .all(|&(a, b, _)| a == b || position[a as usize] < position[b as usize]),
            "invariant: the topological order puts producers before consumers: {order:?}"
        );
        Ok(order)
    }

    /// Pairs (producer, consumer, partition type) of the job's edges.
    pub fn edges(&self) -> Vec<(JobVertexId, JobVertexId, ResultPartitionType)> {
        self.graph
            .edge_references()
            .map(|e| {
                (
                    e.source().index() as JobVertexId,
                    e.target().index() as JobVertexId,
                    e.weight().partition_type,
                )
            })
            .collect()
    }
}
#[cfg(test)]
mod tests;
