//! The named topologies: the four job shapes a scenario may name instead
//! of listing its operators (`count`, `window`, `union`,
//! `two-pipelines`), each built as a [`JobGraph`].

use super::*;

impl JobGraph {
    /// The first slice's job: partitioned source → keyBy → keyed running count
    /// → keyBy → two-phase-commit sink, each with its own parallelism.
    pub fn streaming_count(partitions: u32, source_p: u32, count_p: u32, sink_p: u32) -> JobGraph {
        let mut g = JobGraph::new();
        let src = g.add_vertex(
            "source",
            OperatorKind::Source {
                first_partition: 0,
                partitions,
            },
            source_p,
        );
        let cnt = g.add_vertex("count", OperatorKind::KeyedCount, count_p);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, sink_p);
        g.connect(src, cnt, ShipStrategy::Hash);
        g.connect(cnt, snk, ShipStrategy::Hash);
        g
    }

    /// source → keyBy → tumbling event-time window count → keyBy → 2PC sink.
    pub fn windowed_count(partitions: u32, source_p: u32, window_p: u32, sink_p: u32, size_ms: u64) -> JobGraph {
        let mut g = JobGraph::new();
        let src = g.add_vertex(
            "source",
            OperatorKind::Source {
                first_partition: 0,
                partitions,
            },
            source_p,
        );
        let win = g.add_vertex("window", OperatorKind::TumblingWindowCount { size_ms }, window_p);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, sink_p);
        g.connect(src, win, ShipStrategy::Hash);
        g.connect(win, snk, ShipStrategy::Hash);
        g
    }

    /// Two sources, each reading half of the partitions, unioned into one
    /// keyed running count (two input gates, so barriers align across gates)
    /// → keyBy → 2PC sink.
    pub fn union_count(partitions: u32, source_p: u32, count_p: u32, sink_p: u32) -> JobGraph {
        let mut g = JobGraph::new();
        let half = partitions / 2;
        let a = g.add_vertex(
            "source-a",
            OperatorKind::Source {
                first_partition: 0,
                partitions: half,
            },
            source_p,
        );
        let b = g.add_vertex(
            "source-b",
            OperatorKind::Source {
                first_partition: half,
                partitions: partitions - half,
            },
            source_p,
        );
        let cnt = g.add_vertex("count", OperatorKind::KeyedCount, count_p);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, sink_p);
        g.connect(a, cnt, ShipStrategy::Hash);
        g.connect(b, cnt, ShipStrategy::Hash);
        g.connect(cnt, snk, ShipStrategy::Hash);
        g
    }

    /// Two independent pipelines (each: source over half of the partitions →
    /// keyed count → sink): two pipelined regions, two slot-sharing groups.
    pub fn two_pipelines(partitions: u32, source_p: u32, count_p: u32, sink_p: u32) -> JobGraph {
        let mut g = JobGraph::new();
        let half = partitions / 2;
        for (name, first, n) in [("a", 0, half), ("b", half, partitions - half)] {
            let src = g.add_vertex(
                &format!("source-{name}"),
                OperatorKind::Source {
                    first_partition: first,
                    partitions: n,
                },
                source_p,
            );
            let cnt = g.add_vertex(&format!("count-{name}"), OperatorKind::KeyedCount, count_p);
            let snk = g.add_vertex(&format!("sink-{name}"), OperatorKind::TwoPhaseCommitSink, sink_p);
            g.connect(src, cnt, ShipStrategy::Hash);
            g.connect(cnt, snk, ShipStrategy::Hash);
        }
        g
    }
}
