//! The named topologies: the four job shapes a scenario may name instead
//! of listing its operators (`count`, `window`, `union`,
//! `two-pipelines`), each built as a [`JobGraph`].

use super::*;

impl JobGraph {
    /// A source vertex reading the partitions `range` of the input.
    fn add_source(&mut self, name: &str, range: std::ops::Range<u32>, parallelism: u32) -> JobVertexId {
        let kind = OperatorKind::Source {
            first_partition: range.start,
            partitions: range.end - range.start,
        };
        self.add_vertex(name, kind, parallelism)
    }

    /// The first slice's job: partitioned source → keyBy → keyed running count
    /// → keyBy → two-phase-commit sink, each with its own parallelism.
    pub fn streaming_count(partitions: u32, source_p: u32, count_p: u32, sink_p: u32) -> JobGraph {
        let mut g = JobGraph::new();
        let src = g.add_source("source", 0..partitions, source_p);
        let cnt = g.add_vertex("count", OperatorKind::KeyedCount, count_p);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, sink_p);
        g.connect(src, cnt, ShipStrategy::Hash);
        g.connect(cnt, snk, ShipStrategy::Hash);
        g
    }

    /// source → keyBy → tumbling event-time window count → keyBy → 2PC sink.
    pub fn windowed_count(partitions: u32, source_p: u32, window_p: u32, sink_p: u32, size_ms: u64) -> JobGraph {
        let mut g = JobGraph::new();
        let src = g.add_source("source", 0..partitions, source_p);
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
        let a = g.add_source("source-a", 0..half, source_p);
        let b = g.add_source("source-b", half..partitions, source_p);
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
        for (name, range) in [("a", 0..half), ("b", half..partitions)] {
            let src = g.add_source(&format!("source-{name}"), range, source_p);
            let cnt = g.add_vertex(&format!("count-{name}"), OperatorKind::KeyedCount, count_p);
            let snk = g.add_vertex(&format!("sink-{name}"), OperatorKind::TwoPhaseCommitSink, sink_p);
            g.connect(src, cnt, ShipStrategy::Hash);
            g.connect(cnt, snk, ShipStrategy::Hash);
        }
        g
    }
}
