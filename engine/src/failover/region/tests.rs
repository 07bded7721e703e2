//! Tests of pipelined region computation and region failover: the partition type
//! flags, ports of Flink's `SchedulingPipelinedRegionComputeUtilTest`,
//! `LogicalPipelinedRegionComputeUtilTest` and `RestartPipelinedRegionFailoverStrategyTest`,
//! further cases, and property tests.

use super::ResultPartitionType::*;
use super::*;
use proptest::prelude::*;

fn topo(n: usize) -> (Topology, Vec<VertexId>) {
    let mut t = Topology::new();
    let vs = (0..n).map(|_| t.add_vertex()).collect();
    (t, vs)
}

fn set(vs: &[VertexId]) -> BTreeSet<VertexId> {
    vs.iter().copied().collect()
}

/// Region index per vertex.
fn region_by_vertex(t: &Topology) -> Vec<usize> {
    let regions = compute_pipelined_regions(t);
    let mut by = vec![usize::MAX; t.num_vertices()];
    for (i, r) in regions.iter().enumerate() {
        for v in r {
            assert_eq!(by[v.0], usize::MAX, "vertex {v} in two regions");
            by[v.0] = i;
        }
    }
    assert!(by.iter().all(|&r| r != usize::MAX), "vertex in no region");
    by
}

fn assert_same_region(by: &[usize], vs: &[VertexId]) {
    for w in vs.windows(2) {
        assert_eq!(by[w[0].0], by[w[1].0], "{} and {} differ", w[0], w[1]);
    }
}

fn assert_distinct_regions(by: &[usize], vs: &[VertexId]) {
    for (i, a) in vs.iter().enumerate() {
        for b in &vs[i + 1..] {
            assert_ne!(by[a.0], by[b.0], "{a} and {b} share a region");
        }
    }
}

fn region_sizes(t: &Topology) -> Vec<usize> {
    let mut sizes: Vec<usize> = compute_pipelined_regions(t).iter().map(Vec::len).collect();
    sizes.sort_unstable();
    sizes
}

// ---- Partition type flags (doc §4.1 table) --------------------------------------------

#[test]
fn partition_type_flags() {
    let table = [
        (Blocking, false, true),
        (BlockingPersistent, false, true),
        (Pipelined, true, false),
        (PipelinedBounded, true, false),
        (PipelinedApproximate, false, false),
        (HybridFull, false, true),
        (HybridSelective, false, false),
    ];
    for (ty, pipelined, reconsumable) in table {
        assert_eq!(ty.must_be_pipelined_consumed(), pipelined, "{}", ty.name());
        assert_eq!(ty.is_reconsumable(), reconsumable, "{}", ty.name());
    }
    assert_eq!(ResultPartitionType::ALL.len(), table.len());
}

#[test]
fn topology_builder_validates_and_dedupes() {
    let (mut t, v) = topo(2);
    assert_eq!(
        t.add_partition(VertexId(9), Blocking),
        Err(TopologyError::UnknownVertex(VertexId(9)))
    );
    let p = t.add_partition(v[0], Pipelined).expect("valid test topology");
    assert_eq!(
        t.connect(PartitionId(7), v[1]),
        Err(TopologyError::UnknownPartition(PartitionId(7)))
    );
    assert_eq!(
        t.connect(p, VertexId(5)),
        Err(TopologyError::UnknownVertex(VertexId(5)))
    );
    t.connect(p, v[1]).expect("valid test topology");
    t.connect(p, v[1]).expect("valid test topology");
    assert_eq!(t.consumers(p), &[v[1]]);
    assert_eq!(t.consumed_partitions(v[1]), &[p]);
    assert_eq!(t.produced_partitions(v[0]), &[p]);
    assert_eq!(t.producer(p), Some(v[0]));
    assert_eq!(t.partition_type(p), Some(Pipelined));
    assert_eq!(t.num_partitions(), 1);
    assert!(t.consumers(PartitionId(3)).is_empty());
    assert_eq!(
        t.connect_vertices(v[0], VertexId(4), Blocking),
        Err(TopologyError::UnknownVertex(VertexId(4)))
    );
    assert_eq!(t.num_partitions(), 1, "no partition left behind on error");
}

// ---- Ports of SchedulingPipelinedRegionComputeUtilTest --------------------------------

#[test]
fn test_individual_vertices() {
    let (t, v) = topo(3);
    let by = region_by_vertex(&t);
    assert_distinct_regions(&by, &v);
}

#[test]
fn test_embarrassingly_parallel_case() {
    let (mut t, v) = topo(6);
    let (a, b) = (&v[0..3], &v[3..6]);
    for i in 0..3 {
        t.connect_vertices(a[i], b[i], Pipelined).expect("valid test topology");
    }
    let by = region_by_vertex(&t);
    for i in 0..3 {
        assert_same_region(&by, &[a[i], b[i]]);
    }
    assert_distinct_regions(&by, a);
}

#[test]
fn test_one_component_via_two_exchanges() {
    let (mut t, v) = topo(6);
    let (a, b, c) = (&v[0..2], &v[2..4], &v[4..6]);
    for (up, down) in [(a, b), (b, c)] {
        for &u in up {
            for &d in down {
                t.connect_vertices(u, d, Pipelined).expect("valid test topology");
            }
        }
    }
    let by = region_by_vertex(&t);
    assert_same_region(&by, &v);
}

#[test]
fn test_one_component_via_cascade_of_joins() {
    let (mut t, v) = topo(7);
    for (p, c) in [(0, 4), (1, 4), (2, 5), (3, 5), (4, 6), (5, 6)] {
        t.connect_vertices(v[p], v[c], Pipelined).expect("valid test topology");
    }
    let by = region_by_vertex(&t);
    assert_same_region(&by, &v);
}

#[test]
fn test_one_component_instance_from_one_source() {
    let (mut t, v) = topo(7);
    for (p, c) in [(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6)] {
        t.connect_vertices(v[p], v[c], Pipelined).expect("valid test topology");
    }
    let by = region_by_vertex(&t);
    assert_same_region(&by, &v);
}

#[test]
fn test_two_components_via_blocking_exchange() {
    let (mut t, v) = topo(6);
    let (a, b, c) = (&v[0..2], &v[2..4], &v[4..6]);
    for &u in a {
        for &d in b {
            t.connect_vertices(u, d, Pipelined).expect("valid test topology");
        }
    }
    t.connect_vertices(b[0], c[0], Blocking).expect("valid test topology");
    t.connect_vertices(b[1], c[1], Blocking).expect("valid test topology");
    let by = region_by_vertex(&t);
    assert_same_region(&by, &[a[0], a[1], b[0], b[1]]);
    assert_distinct_regions(&by, &[a[0], c[0], c[1]]);
}

#[test]
fn test_two_components_via_blocking_exchange2() {
    let (mut t, v) = topo(6);
    let (a, b, c) = (&v[0..2], &v[2..4], &v[4..6]);
    for &u in a {
        for &d in b {
            t.connect_vertices(u, d, Pipelined).expect("valid test topology");
        }
    }
    for &u in b {
        for &d in c {
            t.connect_vertices(u, d, Blocking).expect("valid test topology");
        }
    }
    let by = region_by_vertex(&t);
    assert_same_region(&by, &[a[0], a[1], b[0], b[1]]);
    assert_distinct_regions(&by, &[a[0], c[0], c[1]]);
}

#[test]
fn test_multiple_components_via_cascade_of_joins() {
    let (mut t, v) = topo(7);
    for (p, c, ty) in [
        (0, 4, Pipelined),
        (1, 4, Pipelined),
        (2, 5, Pipelined),
        (3, 5, Pipelined),
        (4, 6, Blocking),
        (5, 6, Blocking),
    ] {
        t.connect_vertices(v[p], v[c], ty).expect("valid test topology");
    }
    let by = region_by_vertex(&t);
    assert_same_region(&by, &[v[0], v[1], v[4]]);
    assert_same_region(&by, &[v[2], v[3], v[5]]);
    assert_distinct_regions(&by, &[v[0], v[2], v[6]]);
}

#[test]
fn test_diamond_with_mixed_pipelined_and_blocking_exchanges() {
    let (mut t, v) = topo(4);
    t.connect_vertices(v[0], v[1], Blocking).expect("valid test topology");
    t.connect_vertices(v[0], v[2], Pipelined).expect("valid test topology");
    t.connect_vertices(v[1], v[3], Pipelined).expect("valid test topology");
    t.connect_vertices(v[2], v[3], Pipelined).expect("valid test topology");
    let by = region_by_vertex(&t);
    assert_same_region(&by, &v);
}

#[test]
fn test_cyclic_dependent_regions_are_merged() {
    let (mut t, v) = topo(4);
    t.connect_vertices(v[0], v[1], Blocking).expect("valid test topology");
    t.connect_vertices(v[0], v[2], Pipelined).expect("valid test topology");
    t.connect_vertices(v[1], v[3], Blocking).expect("valid test topology");
    t.connect_vertices(v[2], v[3], Pipelined).expect("valid test topology");
    let by = region_by_vertex(&t);
    assert_same_region(&by, &v);
    assert_eq!(compute_pipelined_regions(&t), vec![v.clone()]);
}

#[test]
fn test_pipelined_approximate_different_regions() {
    let (mut t, v) = topo(4);
    for (p, c) in [(0, 1), (0, 2), (1, 3), (2, 3)] {
        t.connect_vertices(v[p], v[c], PipelinedApproximate)
            .expect("valid test topology");
    }
    let by = region_by_vertex(&t);
    assert_distinct_regions(&by, &v);
}

// ---- Ports of LogicalPipelinedRegionComputeUtilTest (job vertices as single subtasks) ---

#[test]
fn test_isolated_vertices() {
    let (t, _) = topo(3);
    assert_eq!(region_sizes(&t), vec![1, 1, 1]);
}

#[test]
fn test_various_result_partition_types_between_vertices() {
    for (ty1, ty2, expected) in [
        (Blocking, Pipelined, vec![1, 2]),
        (Blocking, Blocking, vec![1, 1, 1]),
        (Pipelined, Pipelined, vec![3]),
    ] {
        let (mut t, v) = topo(3);
        t.connect_vertices(v[0], v[1], ty1).expect("valid test topology");
        t.connect_vertices(v[1], v[2], ty2).expect("valid test topology");
        assert_eq!(region_sizes(&t), expected, "{ty1:?} {ty2:?}");
    }
}

#[test]
fn test_two_inputs_merges_into_one() {
    let (mut t, v) = topo(4);
    t.connect_vertices(v[0], v[2], Pipelined).expect("valid test topology");
    t.connect_vertices(v[1], v[2], Blocking).expect("valid test topology");
    t.connect_vertices(v[2], v[3], Pipelined).expect("valid test topology");
    assert_eq!(region_sizes(&t), vec![1, 3]);
}

#[test]
fn test_one_input_splits_into_two() {
    let (mut t, v) = topo(4);
    t.connect_vertices(v[0], v[1], Pipelined).expect("valid test topology");
    t.connect_vertices(v[1], v[2], Pipelined).expect("valid test topology");
    t.connect_vertices(v[1], v[3], Blocking).expect("valid test topology");
    assert_eq!(region_sizes(&t), vec![1, 3]);
}

#[test]
fn test_diamond_with_mixed_pipelined_and_blocking_edges() {
    let (mut t, v) = topo(4);
    t.connect_vertices(v[0], v[1], Blocking).expect("valid test topology");
    t.connect_vertices(v[1], v[3], Pipelined).expect("valid test topology");
    t.connect_vertices(v[0], v[2], Pipelined).expect("valid test topology");
    t.connect_vertices(v[2], v[3], Pipelined).expect("valid test topology");
    assert_eq!(region_sizes(&t), vec![4]);
}

// ---- Further region cases -------------------------------------------------------------

#[test]
fn only_pipelined_and_pipelined_bounded_join_regions() {
    for ty in ResultPartitionType::ALL {
        let (mut t, v) = topo(2);
        t.connect_vertices(v[0], v[1], ty).expect("valid test topology");
        let expected = if ty.must_be_pipelined_consumed() {
            vec![1 + 1]
        } else {
            vec![1, 1]
        };
        assert_eq!(region_sizes(&t), expected, "{}", ty.name());
    }
}

#[test]
fn shared_partition_with_many_consumers_joins_all() {
    let (mut t, v) = topo(4);
    let p = t.add_partition(v[0], PipelinedBounded).expect("valid test topology");
    for c in &v[1..] {
        t.connect(p, *c).expect("valid test topology");
    }
    assert_eq!(compute_pipelined_regions(&t), vec![v.clone()]);
}

#[test]
fn longer_blocking_cycle_is_merged_but_tail_is_not() {
    // r0={v0,v1} -B-> r1={v2} -B-> r2={v3,v4} -B-> back into r0 via v1; v5 hangs off r2.
    let (mut t, v) = topo(6);
    t.connect_vertices(v[0], v[1], Pipelined).expect("valid test topology");
    t.connect_vertices(v[0], v[2], Blocking).expect("valid test topology");
    t.connect_vertices(v[2], v[3], Blocking).expect("valid test topology");
    t.connect_vertices(v[3], v[4], Pipelined).expect("valid test topology");
    t.connect_vertices(v[4], v[1], Blocking).expect("valid test topology");
    t.connect_vertices(v[4], v[5], Blocking).expect("valid test topology");
    assert_eq!(compute_pipelined_regions(&t), vec![v[0..5].to_vec(), vec![v[5]]]);
}

#[test]
fn empty_topology_has_no_regions() {
    assert!(compute_pipelined_regions(&Topology::new()).is_empty());
}

// ---- Ports of RestartPipelinedRegionFailoverStrategyTest ------------------------------

/// Per-test harness: availability as a set of failed partitions, CREATED vertices as a set.
struct Check<'a> {
    strategy: &'a RestartPipelinedRegionFailoverStrategy,
    unavailable: BTreeSet<PartitionId>,
    created: BTreeSet<VertexId>,
}

impl<'a> Check<'a> {
    fn new(strategy: &'a RestartPipelinedRegionFailoverStrategy) -> Self {
        Self {
            strategy,
            unavailable: BTreeSet::new(),
            created: BTreeSet::new(),
        }
    }

    fn restarts(&self, failed: VertexId, cause: Option<PartitionId>) -> BTreeSet<VertexId> {
        self.strategy
            .tasks_needing_restart(failed, cause, &|p| !self.unavailable.contains(&p), &|v| {
                self.created.contains(&v)
            })
            .expect("valid test topology")
    }
}

#[test]
fn test_region_failover_for_region_internal_errors() {
    let (mut t, v) = topo(6);
    for (p, c) in [(0, 3), (0, 4), (1, 3), (1, 4), (2, 5)] {
        t.connect_vertices(v[p], v[c], Blocking).expect("valid test topology");
    }
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[0], None), set(&[v[0], v[3], v[4]]));
    assert_eq!(ck.restarts(v[1], None), set(&[v[1], v[3], v[4]]));
    assert_eq!(ck.restarts(v[2], None), set(&[v[2], v[5]]));
    assert_eq!(ck.restarts(v[3], None), set(&[v[3]]));
    assert_eq!(ck.restarts(v[4], None), set(&[v[4]]));
    assert_eq!(ck.restarts(v[5], None), set(&[v[5]]));
}

#[test]
fn test_region_failover_for_data_consumption_errors() {
    let (mut t, v) = topo(6);
    let v1_v4 = t.connect_vertices(v[0], v[3], Blocking).expect("valid test topology");
    let v1_v5 = t.connect_vertices(v[0], v[4], Blocking).expect("valid test topology");
    let v2_v4 = t.connect_vertices(v[1], v[3], Blocking).expect("valid test topology");
    let v2_v5 = t.connect_vertices(v[1], v[4], Blocking).expect("valid test topology");
    let v3_v6 = t.connect_vertices(v[2], v[5], Blocking).expect("valid test topology");
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[3], Some(v1_v4)), set(&[v[0], v[3], v[4]]));
    assert_eq!(ck.restarts(v[3], Some(v2_v4)), set(&[v[1], v[3], v[4]]));
    assert_eq!(ck.restarts(v[4], Some(v1_v5)), set(&[v[0], v[3], v[4]]));
    assert_eq!(ck.restarts(v[4], Some(v2_v5)), set(&[v[1], v[3], v[4]]));
    assert_eq!(ck.restarts(v[5], Some(v3_v6)), set(&[v[2], v[5]]));
    // The failed mark lasts for one computation only.
    assert_eq!(ck.restarts(v[5], None), set(&[v[5]]));
}

#[test]
fn test_region_failover_for_various_result_partition_availability_combinations() {
    let (mut t, v) = topo(3);
    let rp1 = t.connect_vertices(v[0], v[2], Blocking).expect("valid test topology");
    let rp2 = t.connect_vertices(v[1], v[2], Blocking).expect("valid test topology");
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let mut ck = Check::new(&s);

    // Combination1: (rp1 == available, rp2 == available)
    assert_eq!(ck.restarts(v[0], None), set(&[v[0], v[2]]));
    assert_eq!(ck.restarts(v[1], None), set(&[v[1], v[2]]));
    assert_eq!(ck.restarts(v[2], None), set(&[v[2]]));

    // Combination2: (rp1 == unavailable, rp2 == available)
    ck.unavailable = [rp1].into();
    assert_eq!(ck.restarts(v[0], None), set(&[v[0], v[2]]));
    assert_eq!(ck.restarts(v[1], None), set(&[v[0], v[1], v[2]]));
    assert_eq!(ck.restarts(v[2], None), set(&[v[0], v[2]]));

    // Combination3: (rp1 == available, rp2 == unavailable)
    ck.unavailable = [rp2].into();
    assert_eq!(ck.restarts(v[0], None), set(&[v[0], v[1], v[2]]));
    assert_eq!(ck.restarts(v[1], None), set(&[v[1], v[2]]));
    assert_eq!(ck.restarts(v[2], None), set(&[v[1], v[2]]));

    // Combination4: (rp1 == unavailable, rp2 == unavailable)
    ck.unavailable = [rp1, rp2].into();
    assert_eq!(ck.restarts(v[0], None), set(&v));
    assert_eq!(ck.restarts(v[1], None), set(&v));
    assert_eq!(ck.restarts(v[2], None), set(&v));
}

/// Also the doc's example (§4.1): v1 -P-> v2 -B-> v3 -P-> v4 -B-> v5 -P-> v6.
#[test]
fn test_region_failover_for_multiple_vertices_regions() {
    let (mut t, v) = topo(6);
    t.connect_vertices(v[0], v[1], Pipelined).expect("valid test topology");
    let v2_out = t.connect_vertices(v[1], v[2], Blocking).expect("valid test topology");
    t.connect_vertices(v[2], v[3], Pipelined).expect("valid test topology");
    t.connect_vertices(v[3], v[4], Blocking).expect("valid test topology");
    t.connect_vertices(v[4], v[5], Pipelined).expect("valid test topology");
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    assert_eq!(s.regions(), &[vec![v[0], v[1]], vec![v[2], v[3]], vec![v[4], v[5]]]);
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[2], None), set(&[v[2], v[3], v[4], v[5]]));
    assert_eq!(ck.restarts(v[2], Some(v2_out)), set(&v));
}

/// Enabled in Flink up to the job-recovery rework (FLINK-35465), `@Disabled` afterwards
/// because the CREATED filter moved to `DefaultScheduler`; our API keeps the filter.
#[test]
fn test_region_failover_does_not_restart_created_executions() {
    let (mut t, v) = topo(2);
    let v1_out = t.connect_vertices(v[0], v[1], Blocking).expect("valid test topology");
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let mut ck = Check::new(&s);
    ck.created = set(&v);
    assert_eq!(ck.restarts(v[1], None), set(&[]));
    assert_eq!(ck.restarts(v[1], Some(v1_out)), set(&[]));
    // Without the filter the regions would be restarted.
    ck.created.clear();
    assert_eq!(ck.restarts(v[1], Some(v1_out)), set(&v));
}

#[test]
fn test_region_failover_for_pipelined_approximate() {
    let (mut t, v) = topo(4);
    for (p, c) in [(0, 1), (0, 2), (1, 3), (2, 3)] {
        t.connect_vertices(v[p], v[c], PipelinedApproximate)
            .expect("valid test topology");
    }
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[0], None), set(&v));
    assert_eq!(ck.restarts(v[1], None), set(&[v[1], v[3]]));
    assert_eq!(ck.restarts(v[2], None), set(&[v[2], v[3]]));
    assert_eq!(ck.restarts(v[3], None), set(&[v[3]]));
}

#[test]
fn test_region_failover_for_hybrid_edge() {
    let (mut t, v) = topo(6);
    t.connect_vertices(v[0], v[4], HybridFull).expect("valid test topology");
    t.connect_vertices(v[1], v[4], Blocking).expect("valid test topology");
    t.connect_vertices(v[2], v[4], HybridSelective)
        .expect("valid test topology");
    t.connect_vertices(v[3], v[4], Pipelined).expect("valid test topology");
    t.connect_vertices(v[4], v[5], HybridFull).expect("valid test topology");
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    assert_eq!(s.failover_region(v[4]), Some(&[v[3], v[4]][..]));
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[4], None), set(&[v[2], v[3], v[4], v[5]]));
    assert_eq!(ck.restarts(v[5], None), set(&[v[5]]));
}

// ---- Further failover cases -----------------------------------------------------------

#[test]
fn streaming_job_restarts_its_whole_connected_component() {
    // Two independent pipelines: a0 -> b0 -> c0 (all-to-all with a1, b1) and x -> y.
    let (mut t, v) = topo(8);
    for (p, c) in [(0, 2), (0, 3), (1, 2), (1, 3), (2, 4), (3, 5), (6, 7)] {
        t.connect_vertices(v[p], v[c], Pipelined).expect("valid test topology");
    }
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[5], None), set(&v[0..6]));
    assert_eq!(ck.restarts(v[7], None), set(&v[6..8]));
}

#[test]
fn unavailable_pipelined_input_inside_region_is_harmless() {
    // A pipelined partition is never "available", but its producer is in the same region.
    let (mut t, v) = topo(3);
    t.connect_vertices(v[0], v[1], Pipelined).expect("valid test topology");
    t.connect_vertices(v[1], v[2], Blocking).expect("valid test topology");
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    let ck = Check::new(&s);
    assert_eq!(ck.restarts(v[0], None), set(&v));
    assert_eq!(ck.restarts(v[2], None), set(&[v[2]]));
}

#[test]
fn unknown_failed_vertex_is_an_error() {
    let (t, _) = topo(1);
    let s = RestartPipelinedRegionFailoverStrategy::new(&t);
    assert_eq!(
        s.tasks_needing_restart(VertexId(3), None, &|_| true, &|_| false),
        Err(TopologyError::UnknownVertex(VertexId(3)))
    );
    assert_eq!(s.failover_region(VertexId(3)), None);
}

// ---- Property tests -------------------------------------------------------------------

/// A random DAG on `n` vertices: for each pair i < j an optional edge type; edges of the
/// same producer and type share one partition (multi-consumer partitions).
fn build(n: usize, edges: &[(usize, usize, ResultPartitionType)]) -> Topology {
    let (mut t, v) = topo(n);
    let mut shared: HashMap<(usize, &'static str), PartitionId> = HashMap::new();
    for &(p, c, ty) in edges {
        let part = *shared
            .entry((p, ty.name()))
            .or_insert_with(|| t.add_partition(v[p], ty).expect("valid test topology"));
        t.connect(part, v[c]).expect("valid test topology");
    }
    t
}

fn arb_dag(
    types: Vec<ResultPartitionType>,
) -> impl Strategy<Value = (usize, Vec<(usize, usize, ResultPartitionType)>)> {
    (1usize..14).prop_flat_map(move |n| {
        let pairs: Vec<(usize, usize)> = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).collect();
        let types = types.clone();
        let m = pairs.len();
        (
            Just(n),
            proptest::collection::vec(proptest::option::weighted(0.25, proptest::sample::select(types)), m).prop_map(
                move |choice| {
                    pairs
                        .iter()
                        .zip(choice)
                        .filter_map(|(&(i, j), ty)| ty.map(|ty| (i, j, ty)))
                        .collect::<Vec<_>>()
                },
            ),
        )
    })
}

/// Weakly connected components by plain BFS (independent of the implementation).
fn weak_components(n: usize, edges: &[(usize, usize, ResultPartitionType)]) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); n];
    for &(a, b, _) in edges {
        adj[a].push(b);
        adj[b].push(a);
    }
    let mut seen = vec![false; n];
    let mut comps = Vec::new();
    for s in 0..n {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        let mut comp = vec![s];
        let mut q = VecDeque::from([s]);
        while let Some(x) = q.pop_front() {
            for &y in &adj[x] {
                if !seen[y] {
                    seen[y] = true;
                    comp.push(y);
                    q.push_back(y);
                }
            }
        }
        comp.sort_unstable();
        comps.push(comp);
    }
    comps
}

proptest! {
    #[test]
    fn all_pipelined_regions_are_weakly_connected_components(
        (n, edges) in arb_dag(vec![Pipelined, PipelinedBounded])
    ) {
        let t = build(n, &edges);
        let regions: Vec<Vec<usize>> = compute_pipelined_regions(&t)
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.0).collect())
            .collect();
        prop_assert_eq!(regions, weak_components(n, &edges));
    }

    #[test]
    fn regions_partition_vertices_and_form_a_dag(
        (n, edges) in arb_dag(ResultPartitionType::ALL.to_vec())
    ) {
        let t = build(n, &edges);
        let by = region_by_vertex(&t);
        let regions = compute_pipelined_regions(&t);
        // Pipelined edges never cross regions.
        for &(a, b, ty) in &edges {
            if ty.must_be_pipelined_consumed() {
                prop_assert_eq!(by[a], by[b]);
            }
        }
        // The region graph is acyclic.
        let mut g: DiGraph<(), ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = regions.iter().map(|_| g.add_node(())).collect();
        for &(a, b, _) in &edges {
            if by[a] != by[b] {
                g.add_edge(nodes[by[a]], nodes[by[b]], ());
            }
        }
        prop_assert!(!petgraph::algo::is_cyclic_directed(&g));
        // Every region is non-empty and sorted.
        for r in &regions {
            prop_assert!(!r.is_empty());
            prop_assert!(r.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn failover_result_contains_failed_region_and_is_downstream_closed(
        (n, edges) in arb_dag(ResultPartitionType::ALL.to_vec()),
        failed in 0usize..14,
        unavailable_mask in proptest::collection::vec(any::<bool>(), 0..100),
    ) {
        let t = build(n, &edges);
        let failed = VertexId(failed % n);
        let s = RestartPipelinedRegionFailoverStrategy::new(&t);
        let avail = |p: PartitionId| !unavailable_mask.get(p.0).copied().unwrap_or(false);
        let out = s.tasks_needing_restart(failed, None, &avail, &|_| false).expect("valid test topology");
        let region = s.failover_region(failed).expect("valid test topology");
        for v in region {
            prop_assert!(out.contains(v));
        }
        for v in &out {
            for p in t.produced_partitions(*v) {
                for c in t.consumers(*p) {
                    prop_assert!(out.contains(c), "{} consumes from {} but is not restarted", c, v);
                }
            }
            // Regions are restarted whole.
            for w in s.failover_region(*v).expect("valid test topology") {
                prop_assert!(out.contains(w));
            }
        }
        // With every partition available, the result is exactly the downstream closure of
        // the failed region when no non-reconsumable partition is consumed.
        let all_reconsumable = edges.iter().all(|&(_, _, ty)| {
            ty.is_reconsumable() || ty == PipelinedApproximate || ty.must_be_pipelined_consumed()
        });
        if all_reconsumable {
            let out_all = s.tasks_needing_restart(failed, None, &|_| true, &|_| false).expect("valid test topology");
            let mut expected: BTreeSet<VertexId> = region.iter().copied().collect();
            let mut q: VecDeque<VertexId> = expected.iter().copied().collect();
            while let Some(v) = q.pop_front() {
                for p in t.produced_partitions(v) {
                    for &c in t.consumers(*p) {
                        for &w in s.failover_region(c).expect("valid test topology") {
                            if expected.insert(w) {
                                q.push_back(w);
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(out_all, expected);
        }
    }
}
