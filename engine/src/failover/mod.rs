//! Failover strategies: which subtasks a failure restarts.
//!
//! `full` restarts every subtask (Flink's RestartAllFailoverStrategy); `region`
//! restarts the pipelined regions involved (Flink's
//! RestartPipelinedRegionFailoverStrategy, ported in [`region`]) computed on the
//! execution graph: one result partition per producer subtask and job edge,
//! consumed by the subtasks its channels reach.

pub mod region;
pub mod registry;

use std::collections::BTreeSet;
use std::fmt;

use crate::graph::{ExecutionVertexId, JobGraph};

/// Decides the set of subtasks to restart for a failed subtask.
pub trait FailoverStrategy: Send + fmt::Debug {
    fn tasks_needing_restart(&self, failed: ExecutionVertexId) -> BTreeSet<ExecutionVertexId>;
    fn name(&self) -> &'static str;
}

/// Restart every subtask of the job.
#[derive(Debug, Clone)]
pub struct RestartAllFailoverStrategy {
    all: BTreeSet<ExecutionVertexId>,
}

impl RestartAllFailoverStrategy {
    pub fn new(graph: &JobGraph) -> Self {
        RestartAllFailoverStrategy {
            all: graph.execution_vertices().into_iter().collect(),
        }
    }
}

impl FailoverStrategy for RestartAllFailoverStrategy {
    fn tasks_needing_restart(&self, failed: ExecutionVertexId) -> BTreeSet<ExecutionVertexId> {
        assert!(self.all.contains(&failed), "invariant: {failed:?} not in the job");
        self.all.clone()
    }

    fn name(&self) -> &'static str {
        "full"
    }
}

/// Restart the pipelined regions a failure involves.
#[derive(Debug)]
pub struct RegionFailoverStrategy {
    vertices: Vec<ExecutionVertexId>,
    strategy: region::RestartPipelinedRegionFailoverStrategy,
}

impl RegionFailoverStrategy {
    pub fn new(graph: &JobGraph) -> Self {
        let vertices = graph.execution_vertices();
        // `index` and `tasks_needing_restart` binary-search this list.
        assert!(vertices.windows(2).all(|w| w[0] < w[1]), "invariant: vertices unsorted");
        let index = |ev: ExecutionVertexId| {
            vertices
                .binary_search(&ev)
                .map(region::VertexId)
                .expect("invariant: every subtask is an execution vertex")
        };
        let mut topo = region::Topology::new();
        for _ in &vertices {
            topo.add_vertex();
        }
        for &producer in &vertices {
            let outputs: Vec<_> = graph
                .outputs(producer.vertex)
                .into_iter()
                .map(|(dst, e)| (dst, e.partition_type))
                .collect();
            let channels = graph.output_channels(producer);
            // One channel group per output edge: the zip below drops nothing.
            assert_eq!(channels.len(), outputs.len(), "invariant: outputs of {producer:?}");
            for ((_, targets), (dst, ty)) in channels.into_iter().zip(outputs) {
                let p = topo
                    .add_partition(index(producer), ty)
                    .expect("invariant: producer is a vertex of the topology");
                for t in targets {
                    assert_eq!(t.consumer.vertex, dst, "invariant: a channel of {producer:?} strays");
                    topo.connect(p, index(t.consumer))
                        .expect("invariant: consumer is a vertex of the topology");
                }
            }
        }
        let strategy = region::RestartPipelinedRegionFailoverStrategy::new(&topo);
        let covered: usize = strategy.regions().iter().map(Vec::len).sum();
        assert_eq!(covered, vertices.len(), "invariant: regions miss a subtask");
        RegionFailoverStrategy { strategy, vertices }
    }
}

impl FailoverStrategy for RegionFailoverStrategy {
    fn tasks_needing_restart(&self, failed: ExecutionVertexId) -> BTreeSet<ExecutionVertexId> {
        let found = self.vertices.binary_search(&failed);
        // The JobManager reports subtasks of its current graph only (as for `full`).
        assert!(found.is_ok(), "invariant: {failed:?} not in the job");
        let Ok(i) = found else {
            return self.vertices.iter().copied().collect();
        };
        match self
            .strategy
            .tasks_needing_restart(region::VertexId(i), None, &|_| true, &|_| false)
        {
            Ok(set) => {
                let set: BTreeSet<_> = set.into_iter().map(|v| self.vertices[v.0]).collect();
                // No vertex is in `CREATED` state here, so the failed one restarts too.
                assert!(set.contains(&failed), "invariant: failover of {failed:?} leaves it out");
                set
            }
            Err(_) => self.vertices.iter().copied().collect(),
        }
    }

    fn name(&self) -> &'static str {
        "region"
    }
}

/// Build the configured strategy (by its name, which the configuration
/// validated against [`registry`]).
pub fn create_failover_strategy(name: &str, graph: &JobGraph) -> Box<dyn FailoverStrategy> {
    let factory = registry::failover_strategy_factory(name)
        .unwrap_or_else(|| panic!("invariant: failover strategy `{name}` was validated"));
    factory(graph)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{OperatorKind, ShipStrategy};

    #[test]
    fn region_failover_keeps_independent_pipelines_apart() {
        let mut g = JobGraph::new();
        for name in ["a", "b"] {
            let s = g.add_vertex(
                &format!("{name}-source"),
                OperatorKind::Source {
                    first_partition: 0,
                    partitions: 2,
                },
                2,
            );
            let c = g.add_vertex(&format!("{name}-count"), OperatorKind::KeyedCount, 2);
            g.connect(s, c, ShipStrategy::Hash);
        }
        let region = RegionFailoverStrategy::new(&g);
        let failed = ExecutionVertexId { vertex: 1, subtask: 0 };
        let set = region.tasks_needing_restart(failed);
        assert_eq!(set.len(), 4);
        assert!(set.iter().all(|v| v.vertex < 2), "pipeline b untouched: {set:?}");
        assert_eq!(
            RestartAllFailoverStrategy::new(&g).tasks_needing_restart(failed).len(),
            8
        );
    }

    #[test]
    fn forward_edges_make_per_subtask_regions() {
        let mut g = JobGraph::new();
        let s = g.add_vertex(
            "source",
            OperatorKind::Source {
                first_partition: 0,
                partitions: 3,
            },
            3,
        );
        let c = g.add_vertex("count", OperatorKind::KeyedCount, 3);
        g.connect(s, c, ShipStrategy::Forward);
        let set = RegionFailoverStrategy::new(&g).tasks_needing_restart(ExecutionVertexId { vertex: 1, subtask: 2 });
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            vec![
                ExecutionVertexId { vertex: 0, subtask: 2 },
                ExecutionVertexId { vertex: 1, subtask: 2 }
            ]
        );
    }
}
