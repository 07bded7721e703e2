//! The sequential reference of any job graph, and how much of it a parallel
//! run must reproduce.
//!
//! [`interpret`] pushes every source record, one at a time and depth first,
//! through the DAG: sources in vertex order, each partition in order, each
//! offset in order (a source record is exactly what the engine's source
//! task emits: value 1, its origin, the event time of its offset). A map or
//! filter applies its function ([`halab_engine::functions`], the engine's
//! own); a running count keeps per (vertex, key) counts; a tumbling window
//! accumulates per (vertex, key, window start) and every window fires at the
//! end of input, vertex by vertex in topological order, in (window end, key)
//! order, so a window downstream of a window sees its input. A broadcast edge
//! delivers one copy per consumer subtask. What reaches a two-phase-commit
//! sink is the reference output.
//!
//! # Which output is right
//!
//! A parallel run interleaves the records differently, so its output need
//! not equal the reference record for record. [`pairings`] classes each
//! vertex's output stream by what stays fixed whatever the interleaving
//! ([`Pairing`]):
//!
//! - **exact**: the multiset of whole records (key, value, origin, event
//!   time) is fixed: sources, and what maps, filters and windows make of
//!   exact streams;
//! - **order-dependent values**: a running count gives every key the counts
//!   `1..=n`, but which record gets which count depends on the order the
//!   count saw them: the multiset of (key, value) and the multiset of (key,
//!   origin, event time) are each fixed, not their pairing;
//! - **order-dependent membership**: a filter that reads a running count's
//!   value keeps records by that order, so which origins pass is not fixed;
//!   the multiset of (key, value) still is (per key the counts that pass).
//!
//! A window over an order-dependent membership stream counts records by
//! event times that are not fixed: its result has no single right answer,
//! and [`pairings`] refuses the graph ([`NondeterministicGraph`]). A window
//! over order-dependent values counts by (key, event time), which is fixed:
//! its output is exact again.
//!
//! [`GraphReference`] keeps what a check needs of the reference output: per
//! sink record a 64-bit fingerprint of what is fixed of it, (key, value,
//! origin, event time) on an exact stream, (key, value) otherwise, with its
//! expected multiplicity; and, where an order-dependent-values sink exists
//! and no membership one does, a second map of (key, origin, event time)
//! fingerprints, so that a lost record and an extra record with the same
//! (key, value) cannot cancel out. A non-exact stream's content fingerprint
//! leaves out the origin even of a window result: a running count over
//! window results re-keyed together, unioned or broadcast sees them in an
//! order a run does not fix, so which window gets which count is not fixed
//! either.
//!
//! # Memory
//!
//! A map entry is a 64-bit fingerprint and a 32-bit multiplicity (16 bytes)
//! plus the hash table's control byte and spare capacity: about 20 bytes
//! per distinct expected output per map, twice that with the origin map.
//! [`interpret`] itself keeps one count per (count vertex, key) and one per
//! open (window vertex, key, window).
//!
//! # Examples
//!
//! ```
//! use halab_engine::graph::JobGraph;
//! use halab_sim::graph_reference::{interpret, pairings, Pairing};
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
//! let mut out = Vec::new();
//! interpret(&graph, &content, |r| out.push(*r));
//! assert_eq!(out, content.reference_output());
//! let classes = pairings(&graph).expect("a count has a right answer");
//! assert_eq!(classes, [Pairing::Exact, Pairing::OrderDependentValues, Pairing::OrderDependentValues]);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use halab_engine::graph::{JobGraph, JobVertexId, OperatorKind, ShipStrategy};
use halab_engine::record::{Origin, Record};

use crate::reference::{splitmix64, SourceContent};

/// Hashes a fingerprint (already well mixed) with one more SplitMix64 step:
/// fixed, unlike std's randomly seeded hasher, and cheap.
#[derive(Clone, Copy, Debug, Default)]
pub struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = splitmix64(self.0 ^ u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = splitmix64(self.0 ^ x);
    }
}

/// A hash map keyed by fingerprints (or keys), with a fixed hasher.
pub type FingerprintMap<V> = HashMap<u64, V, BuildHasherDefault<FingerprintHasher>>;

/// What stays fixed of a vertex's output stream whatever the interleaving
/// of a parallel run, strongest first (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pairing {
    /// The multiset of whole records.
    Exact,
    /// The multisets of (key, value) and of (key, origin, event time), each
    /// on its own: which record carries which value depends on the order.
    OrderDependentValues,
    /// The multiset of (key, value); which origins are in the stream
    /// depends on the order.
    OrderDependentMembership,
}

/// A graph whose output depends on the order a running count saw its
/// records: a window counts a stream whose membership is order-dependent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NondeterministicGraph {
    pub vertex: JobVertexId,
    /// The vertex's name.
    pub name: String,
    /// Why its output has no single right answer.
    pub reason: String,
}

impl fmt::Display for NondeterministicGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the job's output has no single right answer: `{}` (vertex {}) {}",
            self.name, self.vertex, self.reason
        )
    }
}

impl std::error::Error for NondeterministicGraph {}

/// The [`Pairing`] of every vertex's output stream, by vertex id; an error
/// if a window counts an order-dependent-membership stream.
///
/// # Panics
///
/// If the graph has a cycle (it must be validated).
pub fn pairings(graph: &JobGraph) -> Result<Vec<Pairing>, NondeterministicGraph> {
    let n = graph.num_vertices();
    let mut classes = vec![Pairing::Exact; n];
    // Per membership stream: the value filter that made it so.
    let mut cause: Vec<Option<JobVertexId>> = vec![None; n];
    for v in graph
        .topological_order()
        .expect("invariant: the job graph was validated")
    {
        // The weakest input, and where its membership became order-dependent.
        let (input, input_cause) = graph
            .inputs(v)
            .iter()
            .map(|(u, _)| (classes[*u as usize], cause[*u as usize]))
            .max()
            .unwrap_or((Pairing::Exact, None));
        let class = match &graph.vertex(v).kind {
            OperatorKind::Source { .. } => Pairing::Exact,
            OperatorKind::KeyedCount => input.max(Pairing::OrderDependentValues),
            OperatorKind::Filter { predicate } if predicate.reads_value() && input == Pairing::OrderDependentValues => {
                cause[v as usize] = Some(v);
                Pairing::OrderDependentMembership
            }
            OperatorKind::TumblingWindowCount { .. } | OperatorKind::SlidingWindowCount { .. }
                if input == Pairing::OrderDependentMembership =>
            {
                let filter = input_cause.expect("invariant: a membership stream has a value filter upstream");
                return Err(window_over_membership(graph, v, filter));
            }
            OperatorKind::TumblingWindowCount { .. } | OperatorKind::SlidingWindowCount { .. } => Pairing::Exact,
            // Over an exact window's results (validated): fixed best.
            OperatorKind::WindowMax => Pairing::Exact,
            // The edges out of reachable vertices: fixed as long as the
            // edges are.
            OperatorKind::Reachability { .. } if input != Pairing::Exact => {
                return Err(NondeterministicGraph {
                    vertex: v,
                    name: graph.vertex(v).name.clone(),
                    reason: "reads edges whose targets depend on the order records were processed in".into(),
                });
            }
            OperatorKind::Reachability { .. } => Pairing::Exact,
            // Its results are checked by conservation, not by fingerprint
            // (`GraphReference::processing_time`); they feed sinks only.
            OperatorKind::ProcessingTimeWindowCount { .. } => Pairing::Exact,
            // The pairs are fixed, and so are their values and origins as
            // far as the inputs' are.
            OperatorKind::Map { .. }
            | OperatorKind::Filter { .. }
            | OperatorKind::KeyedJoin { .. }
            | OperatorKind::TwoPhaseCommitSink => input,
        };
        if class == Pairing::OrderDependentMembership && cause[v as usize].is_none() {
            cause[v as usize] = input_cause;
        }
        classes[v as usize] = class;
    }
    assert!(
        classes
            .iter()
            .zip(&cause)
            .all(|(c, f)| (*c == Pairing::OrderDependentMembership) == f.is_some()),
        "invariant: every membership stream, and only those, has a value filter upstream"
    );
    Ok(classes)
}

/// The error of `window`, which counts what `filter` (a value filter over a
/// running count) let through.
fn window_over_membership(graph: &JobGraph, window: JobVertexId, filter: JobVertexId) -> NondeterministicGraph {
    let predicate = match &graph.vertex(filter).kind {
        OperatorKind::Filter { predicate } => predicate.to_string(),
        other => unreachable!("invariant: vertex {filter} is a value filter, not {other:?}"),
    };
    NondeterministicGraph {
        vertex: window,
        name: graph.vertex(window).name.clone(),
        reason: format!(
            "counts records per event-time window, but which records reach it depends on the order a \
             running count saw them: `{}` keeps records by a running count's value (`{predicate}`), so \
             its window counts differ from run to run",
            graph.vertex(filter).name
        ),
    }
}

/// Push every source record through `graph`, handing every record that
/// reaches a sink to `sink` (see the module docs for the order).
///
/// # Panics
///
/// If the graph is not valid ([`JobGraph::validate`]), has a window of size
/// 0, or a source reads a partition `content` does not have.
pub fn interpret(graph: &JobGraph, content: &SourceContent, mut sink: impl FnMut(&Record)) {
    interpret_by_sink(graph, content, |_, r| sink(r));
}

/// [`interpret`], naming the sink vertex each record reaches.
pub fn interpret_by_sink(graph: &JobGraph, content: &SourceContent, sink: impl FnMut(JobVertexId, &Record)) {
    run_interpreter(graph, content, sink);
}

/// One interpretation: sink records to `sink`; returns the records per key
/// that reached processing-time windows.
fn run_interpreter(
    graph: &JobGraph,
    content: &SourceContent,
    sink: impl FnMut(JobVertexId, &Record),
) -> BTreeMap<u64, u64> {
    if let Err(e) = graph.validate() {
        panic!("invariant: the job graph was validated: {e}");
    }
    let n = graph.num_vertices();
    let consumers = graph
        .vertex_ids()
        .map(|v| {
            graph
                .outputs(v)
                .into_iter()
                .map(|(to, e)| {
                    let copies = match e.ship {
                        ShipStrategy::Broadcast => graph.vertex(to).parallelism,
                        ShipStrategy::Forward | ShipStrategy::Hash | ShipStrategy::Rebalance => 1,
                    };
                    let gate = graph
                        .inputs(to)
                        .iter()
                        .position(|(from, _)| *from == v)
                        .expect("invariant: an output edge is an input of its target");
                    Consumer { to, copies, gate }
                })
                .collect()
        })
        .collect();
    let mut run = Interpreter {
        graph,
        consumers,
        counts: vec![FingerprintMap::default(); n],
        windows: vec![BTreeMap::new(); n],
        joins: vec![BTreeMap::new(); n],
        maxes: vec![BTreeMap::new(); n],
        processing_time: BTreeMap::new(),
        reach: vec![Reach::default(); n],
        in_loop: VecDeque::new(),
        sink,
    };
    run.read_sources(content);
    run.fire_windows();
    run.processing_time
}

/// Where a vertex's output goes: a consumer, the copies it gets of each
/// record, and the input gate they arrive on.
#[derive(Clone, Copy, Debug)]
struct Consumer {
    to: JobVertexId,
    copies: u32,
    gate: usize,
}

/// The state of one [`interpret`] pass.
struct Interpreter<'g, F> {
    graph: &'g JobGraph,
    /// Per vertex: its consumers.
    consumers: Vec<Vec<Consumer>>,
    /// Per vertex: per key, the records seen on each input (join vertices
    /// only).
    joins: Vec<BTreeMap<u64, [Vec<Record>; 2]>>,
    /// Per vertex: running count per key (count vertices only).
    counts: Vec<FingerprintMap<u64>>,
    /// Per vertex: count per (window start, key) (window vertices only).
    windows: Vec<BTreeMap<(u64, u64), u64>>,
    /// Per vertex: the window results per (event time, window origin)
    /// (max-per-window vertices only).
    maxes: Vec<BTreeMap<(u64, Origin), Vec<Record>>>,
    /// Per key: the records that reached a processing-time window.
    processing_time: BTreeMap<u64, u64>,
    /// Per vertex: reached vertices and waiting edges (iteration heads only).
    reach: Vec<Reach>,
    /// Records on their way round a feedback edge: handled one after
    /// another, not by recursion (a long path would be as deep).
    in_loop: VecDeque<(JobVertexId, Record)>,
    sink: F,
}

/// An iteration head's reachability in the reference: the vertices
/// reached besides the root, and edges out of vertices not reached yet.
#[derive(Clone, Debug, Default)]
struct Reach {
    reached: BTreeSet<u64>,
    waiting: BTreeMap<u64, Vec<Record>>,
}

impl<F: FnMut(JobVertexId, &Record)> Interpreter<'_, F> {
    /// Every source's records, in vertex, partition and offset order.
    fn read_sources(&mut self, content: &SourceContent) {
        let graph = self.graph;
        for v in graph.vertex_ids() {
            let OperatorKind::Source {
                first_partition,
                partitions,
            } = graph.vertex(v).kind
            else {
                continue;
            };
            let end = u64::from(first_partition) + u64::from(partitions);
            assert!(
                end <= u64::from(content.partitions),
                "invariant: source `{}` reads partitions up to {end}, the source log has {}",
                graph.vertex(v).name,
                content.partitions
            );
            for p in first_partition..first_partition + partitions {
                for o in 0..content.partition_len(p) {
                    let rec = content.source_record(Origin {
                        partition: p,
                        offset: o,
                    });
                    self.forward(v, rec);
                }
            }
        }
    }

    /// End of input: every window fires, vertex by vertex in topological
    /// order, in (window end, key) order; results flow downstream.
    fn fire_windows(&mut self) {
        let graph = self.graph;
        for v in graph
            .topological_order()
            .expect("invariant: the job graph was validated")
        {
            if graph.vertex(v).kind == OperatorKind::WindowMax {
                self.fire_maxes(v);
                continue;
            }
            let (OperatorKind::TumblingWindowCount { size_ms } | OperatorKind::SlidingWindowCount { size_ms, .. }) =
                graph.vertex(v).kind
            else {
                assert!(
                    self.windows[v as usize].is_empty(),
                    "invariant: only windows open windows"
                );
                continue;
            };
            // Its producers fired before it: nothing more can reach it.
            for ((start, key), count) in std::mem::take(&mut self.windows[v as usize]) {
                assert!(count > 0, "invariant: an open window has a record");
                let rec = Record {
                    key,
                    value: count,
                    origin: Origin::window(start),
                    timestamp_ms: start + size_ms - 1,
                };
                self.forward(v, rec);
            }
        }
        assert!(
            self.windows.iter().all(BTreeMap::is_empty),
            "invariant: every window fired at the end of input"
        );
    }

    /// End of input at max-per-window `v`: per window in time order, the
    /// results with the window's highest value, by key.
    fn fire_maxes(&mut self, v: JobVertexId) {
        for (_, mut results) in std::mem::take(&mut self.maxes[v as usize]) {
            let max = results
                .iter()
                .map(|r| r.value)
                .max()
                .expect("invariant: a window has a result");
            results.retain(|r| r.value == max);
            results.sort_by_key(|r| r.key);
            for rec in results {
                self.forward(v, rec);
            }
        }
    }

    /// `rec` is an output of `v`: to each consumer, as many copies as it
    /// gets; round a feedback edge, once the current record is done.
    fn forward(&mut self, v: JobVertexId, rec: Record) {
        for i in 0..self.consumers[v as usize].len() {
            let c = self.consumers[v as usize][i];
            if c.to == v {
                self.in_loop.push_back((v, rec));
                continue;
            }
            for _ in 0..c.copies {
                self.push(c.to, c.gate, rec);
            }
        }
    }

    /// `rec` reaches input `gate` of iteration head `v` (an edge, or a
    /// traversed edge back round the loop); what it traverses is queued to
    /// go round ([`Self::push`] drains the queue).
    fn reach(&mut self, v: JobVertexId, gate: usize, rec: Record) {
        let OperatorKind::Reachability { root } = self.graph.vertex(v).kind else {
            unreachable!("invariant: only iteration heads reach")
        };
        let traversed = |e: &Record| Record {
            key: e.value,
            value: e.key,
            ..*e
        };
        let r = &mut self.reach[v as usize];
        let out: Vec<Record> = match gate {
            0 if rec.key == root || r.reached.contains(&rec.key) => vec![traversed(&rec)],
            0 => {
                r.waiting.entry(rec.key).or_default().push(rec);
                Vec::new()
            }
            _ if rec.key == root || !r.reached.insert(rec.key) => Vec::new(),
            _ => r
                .waiting
                .remove(&rec.key)
                .unwrap_or_default()
                .iter()
                .map(traversed)
                .collect(),
        };
        for o in out {
            self.forward(v, o);
        }
    }

    /// `rec` reaches input `gate` of a join `v`: it pairs with every
    /// record of the other input with its key so far (left, right).
    fn join(&mut self, v: JobVertexId, gate: usize, rec: Record) {
        assert!(
            gate < 2,
            "invariant: join `{}` has two inputs",
            self.graph.vertex(v).name
        );
        let OperatorKind::KeyedJoin { window_ms } = self.graph.vertex(v).kind else {
            unreachable!("invariant: only joins join")
        };
        let seen = self.joins[v as usize].entry(rec.key).or_default();
        seen[gate].push(rec);
        let pairs: Vec<(Record, Record)> = seen[1 - gate]
            .iter()
            .filter(|other| window_ms.is_none_or(|w| other.timestamp_ms / w == rec.timestamp_ms / w))
            .map(|other| if gate == 0 { (rec, *other) } else { (*other, rec) })
            .collect();
        for (l, r) in pairs {
            let result = Record {
                key: l.key,
                value: l.value.saturating_add(r.value),
                origin: l.origin,
                timestamp_ms: l.timestamp_ms.max(r.timestamp_ms),
            };
            self.forward(v, result);
        }
    }

    /// `rec` reaches input `gate` of `v`.
    fn push(&mut self, v: JobVertexId, gate: usize, rec: Record) {
        let graph = self.graph;
        let out = match &graph.vertex(v).kind {
            OperatorKind::KeyedJoin { .. } => {
                self.join(v, gate, rec);
                None
            }
            OperatorKind::Reachability { .. } => {
                self.reach(v, gate, rec);
                // Round the loop until nothing more is reached.
                while let Some((head, back)) = self.in_loop.pop_front() {
                    self.reach(head, 1, back);
                }
                None
            }
            OperatorKind::Source { .. } => unreachable!("invariant: a source has no inputs (validated)"),
            OperatorKind::Map { function } => Some(function.apply(rec)),
            OperatorKind::WindowMax => {
                self.maxes[v as usize]
                    .entry((rec.timestamp_ms, rec.origin))
                    .or_default()
                    .push(rec);
                None
            }
            OperatorKind::Filter { predicate } => predicate.test(&rec).then_some(rec),
            OperatorKind::KeyedCount => {
                let n = self.counts[v as usize].entry(rec.key).or_insert(0);
                *n += 1;
                Some(Record { value: *n, ..rec })
            }
            OperatorKind::TumblingWindowCount { size_ms } => {
                assert!(
                    *size_ms > 0,
                    "invariant: window `{}` has a positive size",
                    graph.vertex(v).name
                );
                let start = rec.timestamp_ms - rec.timestamp_ms % size_ms;
                *self.windows[v as usize].entry((start, rec.key)).or_insert(0) += 1;
                None
            }
            &OperatorKind::SlidingWindowCount { size_ms, slide_ms } => {
                assert!(
                    slide_ms > 0 && slide_ms <= size_ms,
                    "invariant: window `{}` slides by a positive step within its size",
                    graph.vertex(v).name
                );
                // The multiples of the slide in (t - size, t], from time 0 on.
                let t = rec.timestamp_ms;
                let earliest = (t + 1).saturating_sub(size_ms).div_ceil(slide_ms) * slide_ms;
                for start in (earliest..=t).step_by(slide_ms as usize) {
                    *self.windows[v as usize].entry((start, rec.key)).or_insert(0) += 1;
                }
                None
            }
            OperatorKind::ProcessingTimeWindowCount { .. } => {
                *self.processing_time.entry(rec.key).or_insert(0) += 1;
                None
            }
            OperatorKind::TwoPhaseCommitSink => {
                (self.sink)(v, &rec);
                None
            }
        };
        if let Some(r) = out {
            self.forward(v, r);
        }
    }
}

/// What a content fingerprint covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ContentKind {
    /// Key, value, origin and event time: a record of an exact stream.
    Whole,
    /// Key and value: a record of an order-dependent stream.
    KeyValue,
}

/// Fingerprints of distinct kinds start from distinct words, so they never
/// pair by construction.
const WHOLE: u64 = 1;
const KEY_VALUE: u64 = 2;
const ORIGIN: u64 = 3;

/// A 64-bit fingerprint of `words`: SplitMix64 chained over them.
fn chain(words: &[u64]) -> u64 {
    words.iter().fold(0, |h, w| splitmix64(h ^ w))
}

impl ContentKind {
    fn of(pairing: Pairing) -> ContentKind {
        match pairing {
            Pairing::Exact => ContentKind::Whole,
            Pairing::OrderDependentValues | Pairing::OrderDependentMembership => ContentKind::KeyValue,
        }
    }

    fn fingerprint(self, r: &Record) -> u64 {
        match self {
            ContentKind::Whole => chain(&[
                WHOLE,
                r.key,
                r.value,
                u64::from(r.origin.partition),
                r.origin.offset,
                r.timestamp_ms,
            ]),
            ContentKind::KeyValue => chain(&[KEY_VALUE, r.key, r.value]),
        }
    }
}

/// The fingerprint of a record's (key, origin, event time).
fn origin_fingerprint(r: &Record) -> u64 {
    chain(&[
        ORIGIN,
        r.key,
        u64::from(r.origin.partition),
        r.origin.offset,
        r.timestamp_ms,
    ])
}

/// How a graph's sink records are fingerprinted: by the [`Pairing`] of the
/// sink they reach. A committed record does not say which sink it came
/// from, so a check tries each content kind in use ([`Self::candidates`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprints {
    /// Per vertex.
    pairings: Vec<Pairing>,
    /// The sink vertices.
    sinks: Vec<JobVertexId>,
    /// The content kinds of the sinks, sorted and distinct.
    kinds: Vec<ContentKind>,
    /// Whether records also get an origin fingerprint.
    origins: bool,
}

impl Fingerprints {
    /// The fingerprinting of `graph`'s sinks; an error if its output has no
    /// single right answer.
    pub fn new(graph: &JobGraph) -> Result<Fingerprints, NondeterministicGraph> {
        let pairings = pairings(graph)?;
        let sinks: Vec<JobVertexId> = graph
            .vertex_ids()
            .filter(|v| graph.vertex(*v).kind == OperatorKind::TwoPhaseCommitSink)
            .collect();
        let classes: Vec<Pairing> = sinks.iter().map(|s| pairings[*s as usize]).collect();
        let mut kinds: Vec<ContentKind> = classes.iter().map(|p| ContentKind::of(*p)).collect();
        kinds.sort_unstable();
        kinds.dedup();
        // With only exact sinks the whole-record fingerprint covers the origin.
        let origins =
            classes.contains(&Pairing::OrderDependentValues) && !classes.contains(&Pairing::OrderDependentMembership);
        Ok(Fingerprints {
            pairings,
            sinks,
            kinds,
            origins,
        })
    }

    /// The class of vertex `v`'s output stream.
    pub fn pairing(&self, v: JobVertexId) -> Pairing {
        self.pairings[v as usize]
    }

    /// The content fingerprint of `rec`, which reached sink `sink`.
    pub fn content(&self, sink: JobVertexId, rec: &Record) -> u64 {
        assert!(self.sinks.contains(&sink), "invariant: vertex {sink} is a sink");
        ContentKind::of(self.pairing(sink)).fingerprint(rec)
    }

    /// The content fingerprints a committed `rec` may have, one per content
    /// kind of the graph's sinks (whole records first).
    pub fn candidates<'a>(&'a self, rec: &'a Record) -> impl Iterator<Item = u64> + 'a {
        self.kinds.iter().map(move |k| k.fingerprint(rec))
    }

    /// Whether records also get an origin fingerprint: some sink's stream
    /// has order-dependent values and none order-dependent membership.
    pub fn keeps_origins(&self) -> bool {
        self.origins
    }

    /// The origin fingerprint of `rec`, if the graph keeps origins.
    pub fn origin(&self, rec: &Record) -> Option<u64> {
        self.origins.then(|| origin_fingerprint(rec))
    }
}

/// The reference output of a graph, as fingerprints and multiplicities
/// (see the module docs).
#[derive(Clone, Debug)]
pub struct GraphReference {
    pub fingerprints: Fingerprints,
    /// Content fingerprint → expected multiplicity.
    pub content: FingerprintMap<u32>,
    /// Origin fingerprint → expected multiplicity, where the graph keeps
    /// origins ([`Fingerprints::origin`]).
    pub origins: Option<FingerprintMap<u32>>,
    /// Per key, the records that reach processing-time windows (their
    /// results are checked by conservation: which windows count them depends
    /// on when they are processed, but their counts must sum to these).
    pub processing_time: BTreeMap<u64, u64>,
}

/// One more expected copy of `fp`.
fn add(map: &mut FingerprintMap<u32>, fp: u64) {
    let n = map.entry(fp).or_insert(0);
    *n = n
        .checked_add(1)
        .expect("invariant: fewer than 2^32 copies of an output");
}

impl GraphReference {
    /// One [`interpret`] pass over `content`; an error if the output of
    /// `graph` has no single right answer.
    pub fn new(graph: &JobGraph, content: &SourceContent) -> Result<GraphReference, NondeterministicGraph> {
        let fingerprints = Fingerprints::new(graph)?;
        let mut records = FingerprintMap::default();
        let mut origins = fingerprints.keeps_origins().then(FingerprintMap::default);
        let mut total = 0u64;
        let processing_time = run_interpreter(graph, content, |sink, rec| {
            add(&mut records, fingerprints.content(sink, rec));
            if let (Some(map), Some(fp)) = (origins.as_mut(), fingerprints.origin(rec)) {
                add(map, fp);
            }
            total += 1;
        });
        let reference = GraphReference {
            fingerprints,
            content: records,
            origins,
            processing_time,
        };
        assert_eq!(
            sum(&reference.content),
            total,
            "invariant: every sink record is counted once"
        );
        assert!(
            reference.origins.as_ref().is_none_or(|o| sum(o) == total),
            "invariant: every sink record has an origin fingerprint"
        );
        Ok(reference)
    }

    /// The records a correct run commits, and for processing-time windows
    /// the records their committed counts add up to.
    pub fn total(&self) -> u64 {
        sum(&self.content) + self.processing_time.values().sum::<u64>()
    }
}

/// The sum of the multiplicities of `map`.
fn sum(map: &FingerprintMap<u32>) -> u64 {
    map.values().map(|n| u64::from(*n)).sum()
}

#[cfg(test)]
mod tests;
