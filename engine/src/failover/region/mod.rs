//! Pipelined regions and region failover: a pure port of Flink 1.20's
//! `SchedulingPipelinedRegionComputeUtil` / `PipelinedRegionComputeUtil` and
//! `RestartPipelinedRegionFailoverStrategy`
//! (`flink-runtime/src/main/java/org/apache/flink/runtime/executiongraph/failover/`),
//! on an abstract execution topology.
//!
//! * **Regions** ([`compute_pipelined_regions`]): every vertex is united with the producers of
//!   the partitions it consumes whose type must be consumed pipelined (`PIPELINED`,
//!   `PIPELINED_BOUNDED`). Regions linked in a cycle by the remaining (non-pipelined) edges are
//!   then merged (Tarjan's strongly connected components, FLINK-17330), so the regions always
//!   form a DAG.
//! * **Failover** ([`RestartPipelinedRegionFailoverStrategy::tasks_needing_restart`]): starting
//!   from the failed vertex's region, a breadth-first search involves (1) the producer region of
//!   every consumed partition that is not available, and (2) every region consuming a partition
//!   produced by an involved region. A partition is available only if it is not the partition of
//!   the `PartitionException` that caused the failure, the external availability checker says
//!   so, and its type is re-consumable or `PIPELINED_APPROXIMATE`. The result is every vertex of
//!   every involved region, minus the vertices still in `CREATED` state.
//!
//! `petgraph` provides the union-find and the SCC algorithm. The topology may even contain
//! cycles of vertices (Flink's execution graphs never do); they end up inside one region.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::unionfind::UnionFind;

/// An execution vertex (one parallel subtask) of a [`Topology`]: `0..num_vertices()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VertexId(pub usize);

impl fmt::Display for VertexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A result partition of a [`Topology`]: `0..num_partitions()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId(pub usize);

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// Flink's `ResultPartitionType`, with the two flags the region logic reads (verified on
/// Flink 1.20.0, `shared/flink-semantics.md` §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResultPartitionType {
    /// `BLOCKING`: fully produced before consumption; re-consumable.
    Blocking,
    /// `BLOCKING_PERSISTENT`: like `BLOCKING`, kept beyond the job.
    BlockingPersistent,
    /// `PIPELINED`: streamed; producer and consumer must run together.
    Pipelined,
    /// `PIPELINED_BOUNDED`: pipelined with a bounded buffer pool.
    PipelinedBounded,
    /// `PIPELINED_APPROXIMATE`: approximate local recovery; regions are split at these edges
    /// and region failover treats the partition as available.
    PipelinedApproximate,
    /// `HYBRID_FULL`: hybrid shuffle, spills everything; re-consumable.
    HybridFull,
    /// `HYBRID_SELECTIVE`: hybrid shuffle, spills selectively; not re-consumable.
    HybridSelective,
}

impl ResultPartitionType {
    /// Every type.
    pub const ALL: [ResultPartitionType; 7] = [
        Self::Blocking,
        Self::BlockingPersistent,
        Self::Pipelined,
        Self::PipelinedBounded,
        Self::PipelinedApproximate,
        Self::HybridFull,
        Self::HybridSelective,
    ];

    /// Producer and consumers must be scheduled together (`mustBePipelinedConsumed`): true only
    /// for `PIPELINED` and `PIPELINED_BOUNDED`. Such edges join vertices into one region.
    pub fn must_be_pipelined_consumed(&self) -> bool {
        matches!(self, Self::Pipelined | Self::PipelinedBounded)
    }

    /// The data can be consumed again after a consumer restart (`isReconsumable`): true for
    /// `BLOCKING`, `BLOCKING_PERSISTENT` and `HYBRID_FULL`.
    pub fn is_reconsumable(&self) -> bool {
        matches!(self, Self::Blocking | Self::BlockingPersistent | Self::HybridFull)
    }

    /// Flink's constant name, e.g. `"PIPELINED_BOUNDED"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Blocking => "BLOCKING",
            Self::BlockingPersistent => "BLOCKING_PERSISTENT",
            Self::Pipelined => "PIPELINED",
            Self::PipelinedBounded => "PIPELINED_BOUNDED",
            Self::PipelinedApproximate => "PIPELINED_APPROXIMATE",
            Self::HybridFull => "HYBRID_FULL",
            Self::HybridSelective => "HYBRID_SELECTIVE",
        }
    }
}

/// A reference to a vertex or partition that the topology does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// No such vertex.
    #[error("unknown vertex {0}")]
    UnknownVertex(VertexId),
    /// No such partition.
    #[error("unknown partition {0}")]
    UnknownPartition(PartitionId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PartitionInfo {
    producer: VertexId,
    ty: ResultPartitionType,
    consumers: Vec<VertexId>,
}

/// An execution topology: vertices `0..n`, and result partitions, each produced by one vertex,
/// of one [`ResultPartitionType`], and consumed by a set of vertices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    partitions: Vec<PartitionInfo>,
    produced: Vec<Vec<PartitionId>>,
    consumed: Vec<Vec<PartitionId>>,
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a vertex; ids are dense and increasing from 0.
    pub fn add_vertex(&mut self) -> VertexId {
        let (produced, consumed) = (self.produced.len(), self.consumed.len());
        assert_eq!(produced, consumed, "invariant: per-vertex lists out of step");
        let id = VertexId(produced);
        self.produced.push(Vec::new());
        self.consumed.push(Vec::new());
        id
    }

    /// Adds a partition produced by `producer`, with no consumer yet.
    pub fn add_partition(&mut self, producer: VertexId, ty: ResultPartitionType) -> Result<PartitionId, TopologyError> {
        self.check_vertex(producer)?;
        let id = PartitionId(self.partitions.len());
        self.partitions.push(PartitionInfo {
            producer,
            ty,
            consumers: Vec::new(),
        });
        self.produced[producer.0].push(id);
        Ok(id)
    }

    /// Makes `consumer` consume `partition`. Connecting the same pair twice is a no-op.
    pub fn connect(&mut self, partition: PartitionId, consumer: VertexId) -> Result<(), TopologyError> {
        self.check_vertex(consumer)?;
        let info = self
            .partitions
            .get_mut(partition.0)
            .ok_or(TopologyError::UnknownPartition(partition))?;
        let connected = info.consumers.contains(&consumer);
        // Both directions of the edge are recorded together, or neither.
        let recorded = self.consumed[consumer.0].contains(&partition);
        assert_eq!(connected, recorded, "invariant: {partition}->{consumer} one-sided");
        if !connected {
            info.consumers.push(consumer);
            self.consumed[consumer.0].push(partition);
        }
        Ok(())
    }

    /// Adds a new partition of type `ty` produced by `producer` and consumed by `consumer`
    /// (what Flink's `TestingSchedulingTopology#connect` does).
    pub fn connect_vertices(
        &mut self,
        producer: VertexId,
        consumer: VertexId,
        ty: ResultPartitionType,
    ) -> Result<PartitionId, TopologyError> {
        self.check_vertex(consumer)?;
        let p = self.add_partition(producer, ty)?;
        self.connect(p, consumer)?;
        Ok(p)
    }

    /// Number of vertices.
    pub fn num_vertices(&self) -> usize {
        self.produced.len()
    }

    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.partitions.len()
    }

    /// All vertex ids, ascending.
    pub fn vertices(&self) -> impl Iterator<Item = VertexId> {
        (0..self.num_vertices()).map(VertexId)
    }

    /// All partition ids, ascending.
    pub fn partitions(&self) -> impl Iterator<Item = PartitionId> {
        (0..self.num_partitions()).map(PartitionId)
    }

    /// Whether the vertex exists.
    pub fn contains_vertex(&self, v: VertexId) -> bool {
        v.0 < self.num_vertices()
    }

    /// The producer of a partition.
    pub fn producer(&self, p: PartitionId) -> Option<VertexId> {
        self.partitions.get(p.0).map(|i| i.producer)
    }

    /// The type of a partition.
    pub fn partition_type(&self, p: PartitionId) -> Option<ResultPartitionType> {
        self.partitions.get(p.0).map(|i| i.ty)
    }

    /// The consumers of a partition, in connection order (empty for an unknown partition).
    pub fn consumers(&self, p: PartitionId) -> &[VertexId] {
        self.partitions.get(p.0).map_or(&[][..], |i| i.consumers.as_slice())
    }

    /// The partitions a vertex produces, in creation order (empty for an unknown vertex).
    pub fn produced_partitions(&self, v: VertexId) -> &[PartitionId] {
        self.produced.get(v.0).map_or(&[][..], Vec::as_slice)
    }

    /// The partitions a vertex consumes, in connection order (empty for an unknown vertex).
    pub fn consumed_partitions(&self, v: VertexId) -> &[PartitionId] {
        self.consumed.get(v.0).map_or(&[][..], Vec::as_slice)
    }

    fn check_vertex(&self, v: VertexId) -> Result<(), TopologyError> {
        if self.contains_vertex(v) {
            Ok(())
        } else {
            Err(TopologyError::UnknownVertex(v))
        }
    }
}

/// Regions plus the index of each vertex's region.
struct RegionAssignment {
    regions: Vec<Vec<VertexId>>,
    region_of: Vec<usize>,
}

/// Raw regions: connected components of the must-be-pipelined edges
/// (PipelinedRegionComputeUtil#buildRawRegions; union-find makes it order
/// independent). Returns each vertex's raw region and the number of them.
fn raw_regions(t: &Topology) -> (Vec<usize>, usize) {
    let n = t.num_vertices();
    let mut uf = UnionFind::<usize>::new(n);
    for info in &t.partitions {
        if info.ty.must_be_pipelined_consumed() {
            for c in &info.consumers {
                uf.union(info.producer.0, c.0);
            }
        }
    }
    let labels = uf.into_labeling();
    let mut raw_index_of_label: HashMap<usize, usize> = HashMap::new();
    let mut raw_of = Vec::with_capacity(n);
    for &label in &labels {
        let next = raw_index_of_label.len();
        raw_of.push(*raw_index_of_label.entry(label).or_insert(next));
    }
    (raw_of, raw_index_of_label.len())
}

/// The region graph over the remaining (not must-be-pipelined) edges, and
/// its strongly connected components
/// (SchedulingPipelinedRegionComputeUtil#mergeRegionsOnCycles): each raw
/// region's merged region, and the number of merged regions.
fn merge_regions_on_cycles(t: &Topology, raw_of: &[usize], num_raw: usize) -> (Vec<usize>, usize) {
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(num_raw, 0);
    for _ in 0..num_raw {
        graph.add_node(());
    }
    let mut seen_edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for info in &t.partitions {
        if info.ty.must_be_pipelined_consumed() {
            continue;
        }
        let from = raw_of[info.producer.0];
        for c in &info.consumers {
            let to = raw_of[c.0];
            if from != to && seen_edges.insert((from, to)) {
                graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
            }
        }
    }
    let sccs = tarjan_scc(&graph);
    let in_sccs: usize = sccs.iter().map(Vec::len).sum();
    assert_eq!(in_sccs, num_raw, "invariant: every raw region is in exactly one SCC");
    let mut merged_of_raw = vec![0usize; num_raw];
    for (i, scc) in sccs.iter().enumerate() {
        for node in scc {
            merged_of_raw[node.index()] = i;
        }
    }
    // Tarjan lists the SCCs in reverse topological order: the merged
    // regions form a DAG, every remaining edge leads to an earlier one.
    for &(from, to) in &seen_edges {
        let (a, b) = (merged_of_raw[from], merged_of_raw[to]);
        assert!(a >= b, "invariant: edge {from}->{to} from SCC {a} up to {b}");
    }
    (merged_of_raw, sccs.len())
}

fn assign_regions(t: &Topology) -> RegionAssignment {
    let n = t.num_vertices();
    let (raw_of, num_raw) = raw_regions(t);
    let (merged_of_raw, num_merged) = merge_regions_on_cycles(t, &raw_of, num_raw);

    // Collect vertices; order regions by their smallest vertex for determinism.
    let mut merged: Vec<Vec<VertexId>> = vec![Vec::new(); num_merged];
    for (v, &raw) in raw_of.iter().enumerate() {
        merged[merged_of_raw[raw]].push(VertexId(v));
    }
    // Vertices were pushed in ascending order, so each region is sorted.
    merged.sort_by_key(|r| r.first().copied());
    let mut region_of = vec![0usize; n];
    for (i, region) in merged.iter().enumerate() {
        for v in region {
            region_of[v.0] = i;
        }
    }
    let assignment = RegionAssignment {
        regions: merged,
        region_of,
    };
    assignment.assert_partitions(t);
    assignment
}

impl RegionAssignment {
    /// The regions partition the vertices: each region non-empty and
    /// ascending, regions ordered by their first vertex, each vertex in the
    /// region `region_of` names, and a must-be-pipelined partition inside
    /// its producer's region. O(vertices + edges), once per topology.
    fn assert_partitions(&self, t: &Topology) {
        for (i, region) in self.regions.iter().enumerate() {
            assert!(!region.is_empty(), "invariant: region {i} is empty");
            assert!(region.windows(2).all(|w| w[0] < w[1]), "invariant: region {i} unsorted");
        }
        let ordered = self.regions.windows(2).all(|w| w[0][0] < w[1][0]);
        assert!(ordered, "invariant: regions not ordered by their first vertex");
        for (v, &r) in self.region_of.iter().enumerate() {
            let found = self.regions[r].binary_search(&VertexId(v)).is_ok();
            assert!(found, "invariant: vertex v{v} is not in its region {r}");
        }
        let covered: usize = self.regions.iter().map(Vec::len).sum();
        assert_eq!(covered, t.num_vertices(), "invariant: region sizes and vertices");
        for info in t.partitions.iter().filter(|i| i.ty.must_be_pipelined_consumed()) {
            let producer = self.region_of[info.producer.0];
            let inside = info.consumers.iter().all(|c| self.region_of[c.0] == producer);
            assert!(inside, "invariant: pipelined edge leaves region {producer}");
        }
    }
}

/// Flink's pipelined regions of `t`: each region's vertices ascending, regions ordered by their
/// smallest vertex. Every vertex is in exactly one region.
pub fn compute_pipelined_regions(t: &Topology) -> Vec<Vec<VertexId>> {
    assign_regions(t).regions
}

/// Flink's `RestartPipelinedRegionFailoverStrategy` (`jobmanager.execution.failover-strategy:
/// region`), precomputed for one topology.
#[derive(Clone, Debug)]
pub struct RestartPipelinedRegionFailoverStrategy {
    regions: Vec<Vec<VertexId>>,
    region_of: Vec<usize>,
    partition_types: Vec<ResultPartitionType>,
    partition_producer_region: Vec<usize>,
    /// Per region: every partition consumed by one of its vertices (ascending, no duplicates).
    region_consumed_partitions: Vec<Vec<PartitionId>>,
    /// Per region: every other region consuming a partition it produces (ascending).
    region_consumer_regions: Vec<Vec<usize>>,
}

impl RestartPipelinedRegionFailoverStrategy {
    /// Computes the regions of `t` and the region-level producer/consumer relations.
    pub fn new(t: &Topology) -> Self {
        let RegionAssignment { regions, region_of } = assign_regions(t);
        let partition_types = t.partitions.iter().map(|i| i.ty).collect();
        let partition_producer_region = t.partitions.iter().map(|i| region_of[i.producer.0]).collect();
        let mut region_consumed_partitions = Vec::with_capacity(regions.len());
        let mut region_consumer_regions = Vec::with_capacity(regions.len());
        for (ri, region) in regions.iter().enumerate() {
            let mut consumed = BTreeSet::new();
            let mut consumer_regions = BTreeSet::new();
            for v in region {
                for &p in t.consumed_partitions(*v) {
                    // A pipelined input is produced inside the region: the failover relies on it.
                    let inside = !t.partitions[p.0].ty.must_be_pipelined_consumed()
                        || region_of[t.partitions[p.0].producer.0] == ri;
                    assert!(inside, "invariant: pipelined {p} into region {ri} from outside");
                    consumed.insert(p);
                }
                for p in t.produced_partitions(*v) {
                    for c in t.consumers(*p) {
                        let cr = region_of[c.0];
                        if cr != ri {
                            consumer_regions.insert(cr);
                        }
                    }
                }
            }
            region_consumed_partitions.push(consumed.into_iter().collect());
            region_consumer_regions.push(consumer_regions.into_iter().collect());
        }
        Self {
            regions,
            region_of,
            partition_types,
            partition_producer_region,
            region_consumed_partitions,
            region_consumer_regions,
        }
    }

    /// All pipelined regions (as [`compute_pipelined_regions`] returns them).
    pub fn regions(&self) -> &[Vec<VertexId>] {
        &self.regions
    }

    /// The failover region containing `v` (Flink's `getFailoverRegion`), if `v` exists.
    pub fn failover_region(&self, v: VertexId) -> Option<&[VertexId]> {
        let region = self.region_of.get(v.0).map(|&r| self.regions[r].as_slice())?;
        assert!(region.binary_search(&v).is_ok(), "invariant: {v} not in its region");
        Some(region)
    }

    /// Flink's `getTasksNeedingRestart`: the vertices to restart after `failed` failed.
    ///
    /// * `failed_partition`: `Some(p)` when the cause is a `PartitionException` for `p`; `p` is
    ///   then treated as unavailable for this computation only.
    /// * `partition_available(p)`: the external availability checker (the partition tracker),
    ///   consulted only for partitions not marked failed.
    /// * `vertex_created(v)`: true for vertices still in `CREATED` state; they are left out of
    ///   the result. (Flink 1.20 may apply this filter in `DefaultScheduler` instead of in the
    ///   strategy; the tasks finally restarted are the same. Pass `&|_| false` for the raw
    ///   strategy output.)
    ///
    /// Fails only if `failed` is not a vertex of the topology (Flink throws
    /// `IllegalStateException`).
    pub fn tasks_needing_restart(
        &self,
        failed: VertexId,
        failed_partition: Option<PartitionId>,
        partition_available: &dyn Fn(PartitionId) -> bool,
        vertex_created: &dyn Fn(VertexId) -> bool,
    ) -> Result<BTreeSet<VertexId>, TopologyError> {
        let regions = self.regions_to_restart(failed, failed_partition, partition_available)?;
        let tasks: BTreeSet<VertexId> = regions
            .into_iter()
            .flat_map(|r| self.regions[r].iter().copied())
            .filter(|v| !vertex_created(*v))
            .collect();
        let restarted = vertex_created(failed) || tasks.contains(&failed);
        assert!(restarted, "invariant: failed vertex {failed} keeps running");
        Ok(tasks)
    }

    /// The indices (into [`Self::regions`]) of the involved regions, ascending.
    pub fn regions_to_restart(
        &self,
        failed: VertexId,
        failed_partition: Option<PartitionId>,
        partition_available: &dyn Fn(PartitionId) -> bool,
    ) -> Result<BTreeSet<usize>, TopologyError> {
        let failed_region = *self
            .region_of
            .get(failed.0)
            .ok_or(TopologyError::UnknownVertex(failed))?;
        let is_available = |p: PartitionId| -> bool {
            Some(p) != failed_partition
                && partition_available(p)
                && self
                    .partition_types
                    .get(p.0)
                    .is_some_and(|ty| ty.is_reconsumable() || *ty == ResultPartitionType::PipelinedApproximate)
        };

        let mut visited = vec![false; self.regions.len()];
        let mut to_restart = BTreeSet::new();
        let mut queue = VecDeque::new();
        visited[failed_region] = true;
        queue.push_back(failed_region);
        while let Some(region) = queue.pop_front() {
            to_restart.insert(region);
            // An unavailable input partition involves its producer's region.
            for &p in &self.region_consumed_partitions[region] {
                if !is_available(p) {
                    let producer_region = self.partition_producer_region[p.0];
                    if !visited[producer_region] {
                        visited[producer_region] = true;
                        queue.push_back(producer_region);
                    }
                }
            }
            // Every consumer region of an involved region is involved.
            for &consumer_region in &self.region_consumer_regions[region] {
                if !visited[consumer_region] {
                    visited[consumer_region] = true;
                    queue.push_back(consumer_region);
                }
            }
        }
        let queued = visited.iter().filter(|v| **v).count();
        assert_eq!(queued, to_restart.len(), "invariant: queued regions not restarted");
        assert!(
            to_restart.contains(&failed_region),
            "invariant: failed region {failed_region} keeps running"
        );
        self.assert_closed(&to_restart, &is_available);
        Ok(to_restart)
    }

    /// The involved regions are closed under Flink's relations: every
    /// consumer region of an involved region, and the producer region of
    /// every unavailable partition an involved region consumes, is involved.
    /// O(regions + edges), once per failure.
    fn assert_closed(&self, to_restart: &BTreeSet<usize>, is_available: &dyn Fn(PartitionId) -> bool) {
        for &r in to_restart {
            let consumers = &self.region_consumer_regions[r];
            let all = consumers.iter().all(|c| to_restart.contains(c));
            assert!(all, "invariant: consumers {consumers:?} of {r} keep running");
            for &p in &self.region_consumed_partitions[r] {
                let producer = self.partition_producer_region[p.0];
                let restarts = is_available(p) || to_restart.contains(&producer);
                assert!(restarts, "invariant: producer {producer} of lost {p} keeps running");
            }
        }
    }
}

#[cfg(test)]
mod tests;
