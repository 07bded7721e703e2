//! Jobs as data: building, describing and refusing graphs.

use super::*;

/// The `[[job.operators]]` that build `graph`.
fn describe(graph: &JobGraph) -> Vec<OperatorSpec> {
    let ids: Vec<JobVertexId> = graph.vertex_ids().collect();
    ids.iter()
        .map(|&v| {
            let vertex = graph.vertex(v);
            let mut spec = OperatorSpec {
                kind: KindName::Sink,
                parallelism: vertex.parallelism,
                inputs: graph
                    .inputs(v)
                    .into_iter()
                    .map(|(from, e)| InputSpec {
                        from: graph.vertex(from).name.clone(),
                        ship: Some(ShipName::of(e.ship)),
                        feedback: e.feedback == halab_engine::graph::EdgeRole::Feedback,
                    })
                    .collect(),
                ..source(&vertex.name, None)
            };
            match &vertex.kind {
                OperatorKind::Source { partitions, .. } => {
                    spec.kind = KindName::Source;
                    spec.partitions = Some(*partitions);
                }
                OperatorKind::KeyedCount => spec.kind = KindName::Count,
                OperatorKind::TumblingWindowCount { size_ms } => {
                    spec.kind = KindName::TumblingWindow;
                    spec.size = Some(HumanDuration::from_millis(*size_ms));
                }
                OperatorKind::SlidingWindowCount { size_ms, slide_ms } => {
                    spec.kind = KindName::SlidingWindow;
                    spec.size = Some(HumanDuration::from_millis(*size_ms));
                    spec.slide = Some(HumanDuration::from_millis(*slide_ms));
                }
                OperatorKind::ProcessingTimeWindowCount { size_ms } => {
                    spec.kind = KindName::ProcessingTimeWindow;
                    spec.size = Some(HumanDuration::from_millis(*size_ms));
                }
                OperatorKind::KeyedJoin { window_ms } => {
                    spec.kind = KindName::Join;
                    spec.size = window_ms.map(HumanDuration::from_millis);
                }
                OperatorKind::Map { function } => {
                    spec.kind = KindName::Map;
                    spec.function = Some(*function);
                }
                OperatorKind::Filter { predicate } => {
                    spec.kind = KindName::Filter;
                    spec.predicate = Some(*predicate);
                }
                OperatorKind::TwoPhaseCommitSink => spec.kind = KindName::Sink,
                OperatorKind::WindowMax => spec.kind = KindName::MaxPerWindow,
                OperatorKind::Reachability { root } => {
                    spec.kind = KindName::Reachability;
                    spec.root = Some(*root);
                }
            }
            spec
        })
        .collect()
}

fn names(g: &JobGraph) -> Vec<String> {
    g.vertex_ids().map(|v| g.vertex(v).name.clone()).collect()
}

#[test]
fn the_named_topologies_described_as_operators_build_again() {
    for g in [
        JobGraph::streaming_count(4, 2, 3, 2),
        JobGraph::union_count(5, 2, 3, 1),
        JobGraph::two_pipelines(4, 2, 3, 2),
        JobGraph::windowed_count(4, 2, 3, 2, 500),
    ] {
        let partitions = g
            .vertex_ids()
            .map(|v| match g.vertex(v).kind {
                OperatorKind::Source { partitions, .. } => partitions,
                _ => 0,
            })
            .sum();
        let built = build(&describe(&g), partitions, Workload::Keys).expect("valid");
        assert!(built.same_structure(&g), "{:?}", names(&g));
        assert_eq!(names(&built), names(&g));
    }
}

fn source(id: &str, partitions: Option<u32>) -> OperatorSpec {
    OperatorSpec {
        id: id.into(),
        kind: KindName::Source,
        parallelism: 1,
        inputs: Vec::new(),
        partitions,
        size: None,
        slide: None,
        function: None,
        predicate: None,
        events: None,
        key: None,
        value: None,
        root: None,
    }
}

#[test]
fn sources_share_the_partitions_in_order_unless_they_name_theirs() {
    let ops = [source("a", None), source("b", None), source("c", None)];
    let r = source_ranges(&ops, 7).expect("valid");
    assert_eq!(r.into_values().collect::<Vec<_>>(), vec![(0, 2), (2, 2), (4, 3)]);
    let ops = [source("a", Some(5)), source("b", Some(2))];
    let r = source_ranges(&ops, 7).expect("valid");
    assert_eq!(r.into_values().collect::<Vec<_>>(), vec![(0, 5), (5, 2)]);
    let e = source_ranges(&ops, 8).expect_err("7 of 8");
    assert_eq!(e.path, "job.operators[0].partitions");
    assert!(
        e.message.contains("read 7 partitions but job.source-partitions is 8"),
        "{}",
        e.message
    );
    let e = source_ranges(&[source("a", None), source("b", None)], 1).expect_err("one for two");
    assert_eq!(e.path, "job.operators[0].partitions");
}

#[test]
fn a_cycle_is_named_in_the_direction_records_flow() {
    let map = |id: &str, from: &[&str]| OperatorSpec {
        kind: KindName::Map,
        function: Some(MapFunction::AddToValue(1)),
        inputs: from
            .iter()
            .map(|f| InputSpec {
                from: f.to_string(),
                ship: None,
                feedback: false,
            })
            .collect(),
        ..source(id, None)
    };
    let ops = [
        source("s", None),
        map("a", &["s", "c"]),
        map("b", &["a"]),
        map("c", &["b"]),
    ];
    // The search goes upstream from a (through c, then b) and closes
    // the loop at b's input from a.
    let cycle = find_cycle(&ops).expect("a → b → c → a");
    let ids: Vec<&str> = cycle.path.iter().map(|i| ops[*i].id.as_str()).collect();
    assert_eq!(ids, vec!["b", "c", "a", "b"]);
    assert_eq!(cycle.closing_input, (2, 0), "b's input from a closes it");
    let e = build(&ops, 1, Workload::Keys).expect_err("cyclic");
    assert_eq!(e.path, "job.operators[2].inputs[0].from");
    assert!(e.message.starts_with("b → c → a → b is a cycle"), "{}", e.message);
    let selfloop = [source("s", None), map("a", &["s", "a"])];
    assert_eq!(find_cycle(&selfloop).expect("a → a").path, vec![1, 1]);
}
