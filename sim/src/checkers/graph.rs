//! Exactly-once for any job graph: the committed records against the
//! fingerprints of the graph's sequential reference
//! ([`crate::graph_reference`]), counted as multisets:
//!
//! - **lost**: reference fingerprints committed fewer times than expected;
//! - **duplicated**: reference fingerprints committed more times than
//!   expected;
//! - **unexpected**: committed records whose content fingerprint (or, where
//!   the graph keeps origins, origin fingerprint) the reference lacks.
//!
//! Lost and duplicated are the larger of what the content map and the
//! origin map find: each is a lower bound of the records lost (a lost record
//! is short in both), and the origin map catches a lost record whose
//! (key, value) another record made up for.
//!
//! A committed record does not say which sink wrote it: with sinks of both
//! content kinds, a record counts against its whole-record fingerprint if
//! the reference has it, else against its (key, value) one.
//!
//! This check knows no per-key order: the graph's reference fixes multisets,
//! not a commit order, so `miscounted` and `out_of_order` stay 0. The
//! specialised checkers ([`super::exactly_once`], [`super::windows`]) keep
//! those for the shapes they know. Memory: see
//! [`crate::graph_reference`] (about 20 bytes per distinct expected output
//! per map); the check keeps a committed count beside each expected one in
//! the same 16-byte entry (building it holds both maps for a moment).
//!
//! # Examples
//!
//! ```
//! use halab_engine::graph::JobGraph;
//! use halab_sim::checkers::graph::GraphCheck;
//! use halab_sim::graph_reference::interpret;
//! use halab_sim::keys::KeyDistribution;
//! use halab_sim::reference::SourceContent;
//!
//! let content = SourceContent {
//!     seed: 1,
//!     partitions: 2,
//!     records_per_partition: 10,
//!     keys: 3,
//!     distribution: KeyDistribution::Uniform,
//!     records_per_second: 10,
//!     nexmark: None,
//!     edge_targets: halab_sim::reference::EdgeTargets::None,
//! };
//! let graph = JobGraph::streaming_count(2, 1, 1, 1);
//! let mut check = GraphCheck::new(&graph, &content).expect("a count has a right answer");
//! let mut out = Vec::new();
//! interpret(&graph, &content, |r| out.push(*r));
//! for r in out.iter().skip(1) {
//!     check.observe(r);
//! }
//! assert_eq!(check.distinct() + 1, check.expected());
//! let report = check.finish();
//! assert_eq!((report.lost, report.duplicated, report.unexpected), (1, 0, 0));
//! ```

use std::collections::BTreeSet;

use halab_engine::graph::JobGraph;
use halab_engine::record::Record;

use super::conservation::ConservationCheck;
use super::exactly_once::{ExactlyOnceReport, Examples};
use crate::graph_reference::{interpret_by_sink, FingerprintMap, Fingerprints, GraphReference, NondeterministicGraph};
use crate::reference::SourceContent;

/// Examples named per kind at the end ([`Examples`] keeps as many).
const NAMED: usize = 3;

/// Of one fingerprint: expected and committed copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    expected: u32,
    seen: u32,
}

impl Tally {
    fn short(&self) -> u64 {
        u64::from(self.expected.saturating_sub(self.seen))
    }

    fn over(&self) -> u64 {
        u64::from(self.seen.saturating_sub(self.expected))
    }
}

/// Expected multiplicities as tallies with nothing committed yet.
fn tallies(expected: FingerprintMap<u32>) -> FingerprintMap<Tally> {
    let mut map = FingerprintMap::with_capacity_and_hasher(expected.len(), Default::default());
    map.extend(expected.into_iter().map(|(fp, n)| (fp, Tally { expected: n, seen: 0 })));
    map
}

/// Lost and duplicated copies over a tally map.
fn shortfall(map: &FingerprintMap<Tally>) -> (u64, u64) {
    map.values()
        .fold((0, 0), |(short, over), t| (short + t.short(), over + t.over()))
}

/// A record for the examples.
fn describe(r: &Record) -> String {
    let origin = match r.origin.window_start() {
        Some(start) => format!("window {start}ms"),
        None => format!("{}:{}", r.origin.partition, r.origin.offset),
    };
    format!("key {} value {} from {origin} at {}ms", r.key, r.value, r.timestamp_ms)
}

/// The committed records of a run of any job graph against its reference,
/// fed one committed record at a time.
#[derive(Debug)]
pub struct GraphCheck {
    /// The graph and source, to name lost and duplicated records at the end.
    graph: JobGraph,
    source: SourceContent,
    fingerprints: Fingerprints,
    /// Per content fingerprint.
    content: FingerprintMap<Tally>,
    /// Per origin fingerprint, where the graph keeps origins.
    origins: Option<FingerprintMap<Tally>>,
    expected: u64,
    /// Σ min(seen, expected) over the content fingerprints.
    distinct: u64,
    unexpected: u64,
    /// Results of processing-time windows, checked by conservation.
    processing_time: ConservationCheck,
    examples: Examples,
}

impl GraphCheck {
    /// The check of `graph` over `content`; an error if the graph's output
    /// has no single right answer.
    pub fn new(graph: &JobGraph, content: &SourceContent) -> Result<GraphCheck, NondeterministicGraph> {
        let reference = GraphReference::new(graph, content)?;
        let expected = reference.total() - reference.processing_time.values().sum::<u64>();
        Ok(GraphCheck {
            graph: graph.clone(),
            source: *content,
            fingerprints: reference.fingerprints,
            content: tallies(reference.content),
            origins: reference.origins.map(tallies),
            expected,
            distinct: 0,
            unexpected: 0,
            processing_time: ConservationCheck::new(reference.processing_time),
            examples: Examples::default(),
        })
    }

    /// Expected outputs committed so far: over the content fingerprints,
    /// the committed copies up to the expected ones. The run is complete
    /// when it reaches [`Self::expected`].
    pub fn distinct(&self) -> u64 {
        self.distinct + self.processing_time.distinct()
    }

    /// The records a correct run commits (of processing-time windows: the
    /// records their counts add up to).
    pub fn expected(&self) -> u64 {
        self.expected + self.processing_time.expected()
    }

    /// Account for the next committed record.
    pub fn observe(&mut self, rec: &Record) {
        if let Some(start) = rec.origin.processing_window_start() {
            self.processing_time.observe(rec, start, &mut self.examples);
            return;
        }
        let fp = self
            .fingerprints
            .candidates(rec)
            .find(|fp| self.content.contains_key(fp));
        let known_content = match fp.and_then(|fp| self.content.get_mut(&fp)) {
            Some(t) => {
                if t.seen < t.expected {
                    self.distinct += 1;
                }
                t.seen += 1;
                true
            }
            None => false,
        };
        let known_origin = match (self.origins.as_mut(), self.fingerprints.origin(rec)) {
            (Some(map), Some(fp)) => map.get_mut(&fp).map(|t| t.seen += 1).is_some(),
            _ => true,
        };
        assert!(
            self.distinct <= self.expected,
            "invariant: at most the expected outputs are counted distinct"
        );
        if !(known_content && known_origin) {
            self.unexpected += 1;
            let what = if known_content {
                "its key and origin"
            } else {
                "its content"
            };
            self.examples.add("unexpected", || {
                format!("{}: the reference has no output with {what}", describe(rec))
            });
        }
    }

    /// The report: fingerprints short of their expected copies are lost,
    /// over them duplicated.
    pub fn finish(mut self) -> ExactlyOnceReport {
        let (lost_content, duplicated_content) = shortfall(&self.content);
        let (lost_origin, duplicated_origin) = self.origins.as_ref().map_or((0, 0), shortfall);
        let conserved = self.processing_time.finish(&mut self.examples);
        let mut report = ExactlyOnceReport {
            lost: lost_content.max(lost_origin) + conserved.lost,
            duplicated: duplicated_content.max(duplicated_origin) + conserved.duplicated,
            unexpected: self.unexpected + conserved.unexpected,
            ..ExactlyOnceReport::default()
        };
        assert!(
            self.distinct + lost_content == self.expected,
            "invariant: an expected output is committed or lost"
        );
        if lost_content.max(lost_origin) > 0 || duplicated_content.max(duplicated_origin) > 0 {
            self.name_lost_and_duplicated();
        }
        report.examples = self.examples.into_list();
        report
    }

    /// Run the reference again and name its first few records whose
    /// fingerprint was committed too few or too many times.
    fn name_lost_and_duplicated(&mut self) {
        let GraphCheck {
            graph,
            source,
            fingerprints,
            content,
            origins,
            examples,
            ..
        } = self;
        let (mut lost, mut duplicated) = (BTreeSet::new(), BTreeSet::new());
        interpret_by_sink(graph, source, |sink, rec| {
            let fp = fingerprints.content(sink, rec);
            let t = content[&fp];
            let origin = fingerprints.origin(rec).zip(origins.as_ref());
            let (fp, t, what) = match origin.map(|(ofp, map)| (ofp, map[&ofp])) {
                // Name the content if it is off, else its origin.
                Some((ofp, o)) if t.short() == 0 && t.over() == 0 => (ofp, o, "outputs from its origin"),
                _ => (fp, t, "copies"),
            };
            for (kind, off, set) in [
                ("lost", t.short(), &mut lost),
                ("duplicated", t.over(), &mut duplicated),
            ] {
                if off > 0 && set.len() < NAMED && set.insert(fp) {
                    examples.add(kind, || {
                        format!(
                            "{}: {what} committed {} times, expected {}",
                            describe(rec),
                            t.seen,
                            t.expected
                        )
                    });
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use halab_engine::functions::{FilterPredicate, MapFunction};
    use halab_engine::graph::{JobVertexId, OperatorKind, ShipStrategy};
    use halab_engine::record::Origin;

    use super::*;
    use crate::graph_reference::interpret;
    use crate::keys::KeyDistribution;

    fn content() -> SourceContent {
        SourceContent {
            seed: 7,
            partitions: 2,
            records_per_partition: 60,
            keys: 4,
            distribution: KeyDistribution::Uniform,
            records_per_second: 30,
            nexmark: None,
            edge_targets: crate::reference::EdgeTargets::None,
        }
    }

    fn reference(graph: &JobGraph) -> Vec<Record> {
        let mut out = Vec::new();
        interpret(graph, &content(), |r| out.push(*r));
        out
    }

    fn check(graph: &JobGraph, committed: &[Record]) -> ExactlyOnceReport {
        let mut c = GraphCheck::new(graph, &content()).expect("a graph with a right answer");
        for r in committed {
            c.observe(r);
        }
        c.finish()
    }

    fn source(g: &mut JobGraph) -> JobVertexId {
        g.add_vertex(
            "source",
            OperatorKind::Source {
                first_partition: 0,
                partitions: 2,
            },
            2,
        )
    }

    /// source → map `value * 3` → filter `key % 2 == 0` → sink: exact.
    fn map_filter() -> JobGraph {
        let mut g = JobGraph::new();
        let src = source(&mut g);
        let function = MapFunction::ScaleValue(3);
        let map = g.add_vertex("triple", OperatorKind::Map { function }, 2);
        let predicate = FilterPredicate::KeyModulo {
            modulus: 2,
            remainder: 0,
        };
        let flt = g.add_vertex("even-keys", OperatorKind::Filter { predicate }, 2);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, 1);
        g.connect(src, map, ShipStrategy::Forward);
        g.connect(map, flt, ShipStrategy::Broadcast);
        g.connect(flt, snk, ShipStrategy::Hash);
        g
    }

    fn graphs() -> Vec<JobGraph> {
        vec![
            JobGraph::streaming_count(2, 2, 3, 2),
            JobGraph::windowed_count(2, 1, 2, 1, 700),
            JobGraph::union_count(2, 1, 2, 1),
            map_filter(),
        ]
    }

    #[test]
    fn the_reference_itself_passes() {
        for g in graphs() {
            let out = reference(&g);
            let mut c = GraphCheck::new(&g, &content()).expect("deterministic");
            assert_eq!(c.expected(), out.len() as u64);
            for r in &out {
                c.observe(r);
            }
            assert_eq!(c.distinct(), c.expected());
            let r = c.finish();
            assert!(r.exactly_once(), "{r:?}");
            assert!(r.examples.is_empty(), "{r:?}");
        }
    }

    #[test]
    fn a_dropped_record_is_lost() {
        for g in graphs() {
            let out = reference(&g);
            let r = check(&g, &out[1..]);
            assert_eq!((r.lost, r.duplicated, r.unexpected), (1, 0, 0), "{r:?}");
            assert!(r.examples[0].starts_with("lost: "), "{:?}", r.examples);
        }
    }

    #[test]
    fn a_record_committed_twice_is_duplicated() {
        for g in graphs() {
            let mut out = reference(&g);
            out.push(out[2]);
            let r = check(&g, &out);
            assert_eq!((r.lost, r.duplicated, r.unexpected), (0, 1, 0), "{r:?}");
            assert!(r.at_least_once() && !r.exactly_once());
            assert!(r.examples[0].starts_with("duplicated: "), "{:?}", r.examples);
        }
    }

    #[test]
    fn a_changed_value_is_unexpected_and_lost() {
        for g in graphs() {
            let mut out = reference(&g);
            out[0].value += 1_000_000;
            let r = check(&g, &out);
            assert_eq!((r.lost, r.duplicated, r.unexpected), (1, 0, 1), "{r:?}");
            assert!(
                r.examples.iter().any(|e| e.starts_with("unexpected: ")),
                "{:?}",
                r.examples
            );
        }
    }

    #[test]
    fn a_record_of_a_foreign_origin_is_unexpected() {
        let g = JobGraph::streaming_count(2, 1, 1, 1);
        let mut out = reference(&g);
        out.push(Record {
            origin: Origin {
                partition: 9,
                offset: 0,
            },
            value: 1,
            ..out[0]
        });
        let r = check(&g, &out);
        // Its (key, value) is expected once and committed twice as well.
        assert_eq!((r.lost, r.duplicated, r.unexpected), (0, 1, 1), "{r:?}");
        assert!(
            r.examples.iter().any(|e| e.contains("key and origin")),
            "{:?}",
            r.examples
        );
    }

    #[test]
    fn a_loss_made_up_by_a_record_of_equal_content_is_caught_through_origins() {
        // Record a of key k is lost; another record b of key k is committed
        // twice, once carrying a's count: (key, value) balance exactly.
        let g = JobGraph::streaming_count(2, 1, 1, 1);
        let out = reference(&g);
        let a = out[0];
        let b = *out[1..].iter().find(|r| r.key == a.key).expect("the key repeats");
        let mut committed = out[1..].to_vec();
        committed.push(Record { value: a.value, ..b });
        let r = check(&g, &committed);
        assert_eq!((r.lost, r.duplicated, r.unexpected), (1, 1, 0), "{r:?}");
        let lost = r.examples.iter().find(|e| e.starts_with("lost: ")).expect("named");
        let origin = format!("from {}:{}", a.origin.partition, a.origin.offset);
        assert!(lost.contains(&origin) && lost.contains("its origin"), "{lost}");
    }

    #[test]
    fn running_counts_pass_whatever_the_arrival_order() {
        // Per key the count saw the records in reverse: same counts,
        // paired with other origins.
        let g = JobGraph::streaming_count(2, 2, 2, 1);
        let mut out = reference(&g);
        let mut totals: BTreeMap<u64, u64> = BTreeMap::new();
        for r in &out {
            *totals.entry(r.key).or_insert(0) += 1;
        }
        for r in &mut out {
            r.value = totals[&r.key] + 1 - r.value;
        }
        assert!(check(&g, &out).exactly_once());
    }

    #[test]
    fn counts_over_windows_merged_by_a_rekey_pass_in_any_arrival_order() {
        // source → window → `key % 2` → count → sink: the count sees the
        // windows of keys 0 and 2 in whatever order their window subtasks
        // fire them, so which window gets which count is not fixed.
        let mut g = JobGraph::new();
        let src = source(&mut g);
        let win = g.add_vertex("window", OperatorKind::TumblingWindowCount { size_ms: 500 }, 2);
        let function = MapFunction::KeyModulo(2);
        let rekey = g.add_vertex("rekey", OperatorKind::Map { function }, 2);
        let cnt = g.add_vertex("count", OperatorKind::KeyedCount, 2);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, 1);
        g.connect(src, win, ShipStrategy::Hash);
        g.connect(win, rekey, ShipStrategy::Forward);
        g.connect(rekey, cnt, ShipStrategy::Hash);
        g.connect(cnt, snk, ShipStrategy::Hash);
        // One window subtask fired all its windows before the other did:
        // the count saw the windows by (original key, start).
        let c = content();
        let mut windows: Vec<(u64, u64)> = c.reference_windows(500).into_keys().collect();
        windows.sort_by_key(|&(key, start)| (key % 2, key, start));
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        let committed: Vec<Record> = windows
            .iter()
            .map(|&(key, start)| {
                let n = counts.entry(key % 2).or_insert(0);
                *n += 1;
                Record {
                    key: key % 2,
                    value: *n,
                    origin: Origin::window(start),
                    timestamp_ms: start + 499,
                }
            })
            .collect();
        let r = check(&g, &committed);
        assert!(r.exactly_once(), "{r:?}");
    }

    #[test]
    fn a_graph_without_a_right_answer_has_no_check() {
        let mut g = JobGraph::new();
        let src = source(&mut g);
        let cnt = g.add_vertex("count", OperatorKind::KeyedCount, 2);
        let predicate = FilterPredicate::ValueAtLeast(3);
        let flt = g.add_vertex("big-counts", OperatorKind::Filter { predicate }, 2);
        let win = g.add_vertex("window", OperatorKind::TumblingWindowCount { size_ms: 500 }, 2);
        let snk = g.add_vertex("sink", OperatorKind::TwoPhaseCommitSink, 1);
        g.connect(src, cnt, ShipStrategy::Hash);
        g.connect(cnt, flt, ShipStrategy::Forward);
        g.connect(flt, win, ShipStrategy::Hash);
        g.connect(win, snk, ShipStrategy::Hash);
        let e = GraphCheck::new(&g, &content()).expect_err("refused");
        assert_eq!(e.vertex, win);
    }

    #[test]
    fn distinct_counts_expected_copies_once() {
        let g = map_filter();
        let out = reference(&g);
        // Broadcast copies are expected twice: a third copy adds nothing.
        assert_eq!(out.iter().filter(|r| **r == out[0]).count(), 2);
        let mut c = GraphCheck::new(&g, &content()).expect("exact");
        for _ in 0..3 {
            c.observe(&out[0]);
        }
        assert_eq!(c.distinct(), 2);
        for r in out.iter().filter(|r| **r != out[0]) {
            c.observe(r);
        }
        assert_eq!(c.distinct(), c.expected());
        let r = c.finish();
        assert_eq!((r.lost, r.duplicated), (0, 1), "{r:?}");
    }
}
