//! The job graph's structure, channels and refusals.

use super::*;

#[test]
fn streaming_count_channels() {
    let g = JobGraph::streaming_count(4, 2, 3, 2);
    g.validate().expect("valid");
    assert_eq!(g.execution_vertices().len(), 7);
    assert_eq!(g.input_gate_sizes(1), vec![2]);
    assert_eq!(g.input_gate_sizes(2), vec![3]);
    let out = g.output_channels(ExecutionVertexId { vertex: 0, subtask: 1 });
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.len(), 3);
    assert!(out[0].1.iter().all(|t| t.channel == 1 && t.gate == 0));
    assert_eq!(g.max_operator_parallelism(), 3);
    assert_eq!(g.slots_needed(), 3);
    assert_eq!(g.slot_index(ExecutionVertexId { vertex: 2, subtask: 1 }), 1);
}

#[test]
fn independent_pipelines_get_their_own_slots() {
    let g = JobGraph::two_pipelines(4, 2, 3, 2);
    g.validate().expect("valid");
    assert_eq!(g.slot_sharing_groups(), vec![vec![0, 1, 2], vec![3, 4, 5]]);
    assert_eq!(g.slots_needed(), 6);
    assert_eq!(g.slot_index(ExecutionVertexId { vertex: 4, subtask: 2 }), 5);
}

/// source → reach (with its feedback edge) → sink.
fn cyclic(feedback: bool) -> JobGraph {
    let mut g = JobGraph::new();
    let src = g.add_vertex(
        "edges",
        OperatorKind::Source {
            first_partition: 0,
            partitions: 2,
        },
        2,
    );
    let reach = g.add_vertex("reach", OperatorKind::Reachability { root: 0 }, 3);
    let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, 1);
    g.connect(src, reach, ShipStrategy::Hash);
    if feedback {
        g.connect_feedback(reach);
    }
    g.connect(reach, snk, ShipStrategy::Rebalance);
    g
}

#[test]
fn a_feedback_edge_is_the_heads_last_gate_and_orders_nothing() {
    let g = cyclic(true);
    assert_eq!(g.validate(), Ok(()));
    assert!(g.is_cyclic() && !cyclic(false).is_cyclic());
    assert_eq!(g.topological_order(), Ok(vec![0, 1, 2]));
    // Gate 1 of the head: a channel from each of its own subtasks.
    assert_eq!(g.input_gate_sizes(1), vec![2, 3]);
    let outputs = g.output_channels(ExecutionVertexId { vertex: 1, subtask: 2 });
    type Channels = Vec<(u32, u32, u32)>;
    let targets: Vec<(ShipStrategy, Channels)> = outputs
        .into_iter()
        .map(|(ship, t)| (ship, t.iter().map(|c| (c.consumer.vertex, c.gate, c.channel)).collect()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (ShipStrategy::Hash, vec![(1, 1, 2), (1, 1, 2), (1, 1, 2)]),
            (ShipStrategy::Rebalance, vec![(2, 0, 2)]),
        ]
    );
}

#[test]
fn an_iteration_head_needs_its_feedback_edge_and_nothing_else_takes_one() {
    assert_eq!(
        cyclic(false).validate(),
        Err(GraphError::IterationInputs("reach".into()))
    );
    let mut g = JobGraph::streaming_count(2, 1, 1, 1);
    let cnt = 1;
    let n = NodeIndex::new(cnt);
    g.graph.add_edge(
        n,
        n,
        JobEdge {
            ship: ShipStrategy::Hash,
            partition_type: ResultPartitionType::Pipelined,
            feedback: EdgeRole::Feedback,
        },
    );
    assert_eq!(g.validate(), Err(GraphError::FeedbackIntoNonHead("count".into())));
    let mut plain = JobGraph::streaming_count(2, 1, 1, 1);
    plain.connect(cnt as JobVertexId, cnt as JobVertexId, ShipStrategy::Hash);
    assert_eq!(plain.validate(), Err(GraphError::Cycle), "a cycle without a head");
}

#[test]
fn union_count_has_two_input_gates() {
    let g = JobGraph::union_count(4, 2, 3, 1);
    g.validate().expect("valid");
    assert_eq!(g.input_gate_sizes(2), vec![2, 2]);
    let gates: Vec<u32> = (0..2)
        .map(|v| g.output_channels(ExecutionVertexId { vertex: v, subtask: 0 })[0].1[0].gate)
        .collect();
    assert_eq!(gates, vec![0, 1]);
}

#[test]
fn watermarks_go_out_where_an_event_time_operator_is_downstream() {
    let mut g = JobGraph::new();
    let src = g.add_vertex(
        "source",
        OperatorKind::Source {
            first_partition: 0,
            partitions: 2,
        },
        2,
    );
    let map = "value * 2".parse().expect("function");
    let scale = g.add_vertex("scale", OperatorKind::Map { function: map }, 2);
    let win = g.add_vertex("window", OperatorKind::TumblingWindowCount { size_ms: 100 }, 2);
    let count = g.add_vertex("count", OperatorKind::KeyedCount, 2);
    let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, 2);
    g.connect(src, scale, ShipStrategy::Forward);
    g.connect(scale, win, ShipStrategy::Hash);
    g.connect(win, count, ShipStrategy::Hash);
    g.connect(count, snk, ShipStrategy::Hash);
    let forwards: Vec<bool> = g.vertex_ids().map(|v| g.forwards_watermarks(v)).collect();
    assert_eq!(forwards, vec![true, true, false, false, false]);
    g.validate().expect("valid");
}

#[test]
fn invalid_graphs_are_refused() {
    let g = JobGraph::streaming_count(1, 2, 3, 2);
    assert!(matches!(
        g.validate(),
        Err(GraphError::SourceParallelismAbovePartitions(..))
    ));
    let mut g = JobGraph::new();
    let a = g.add_vertex(
        "a",
        OperatorKind::Source {
            first_partition: 0,
            partitions: 2,
        },
        2,
    );
    let b = g.add_vertex("b", OperatorKind::KeyedCount, 3);
    g.connect(a, b, ShipStrategy::Forward);
    assert!(matches!(g.validate(), Err(GraphError::ForwardParallelismMismatch(..))));
    let g2 = JobGraph::streaming_count(2, 2, 0, 1);
    assert!(matches!(g2.validate(), Err(GraphError::ZeroParallelism(_))));
}
