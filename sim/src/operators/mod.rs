//! Jobs as data: a scenario's `[[job.operators]]`, each an operator with an
//! id, a kind, a parallelism and its inputs, built into the engine's
//! [`JobGraph`]. Every refusal names the key at fault
//! (`job.operators[2].inputs[0].from`), so a file error points at its line.
//!
//! ```toml
//! [[job.operators]]
//! id = "source"
//! kind = "source"
//! parallelism = 2
//!
//! [[job.operators]]
//! id = "count"
//! kind = "count"
//! parallelism = 2
//! inputs = [{ from = "source", ship = "key-by" }]
//! ```
//!
//! Sources take the source log's partitions in the order they are listed:
//! each its `partitions`, or, when no source names them, an even share of
//! `job.source-partitions` (the last takes what is left).

use std::collections::BTreeMap;

use halab_engine::functions::{FilterPredicate, MapFunction};
use halab_engine::graph::{JobGraph, JobVertexId, OperatorKind, ShipStrategy};
use serde::{Deserialize, Serialize};

mod iteration;
mod sources;

pub use sources::projections;
use sources::{check_events, check_projections, source_ranges};

use crate::human::HumanDuration;
use crate::nexmark::{EventKind, Field};
use crate::scenario::{ScenarioError, Workload, MAX_PARALLELISM};

/// One `[[job.operators]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OperatorSpec {
    pub id: String,
    pub kind: KindName,
    /// Subtasks; Flink's `parallelism.default`, 1, when left out.
    #[serde(default = "one")]
    pub parallelism: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputSpec>,
    /// Source only: how many partitions it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// Tumbling and sliding windows: their size; a join's window (a
    /// window join) when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<HumanDuration>,
    /// Sliding window only: how far apart windows start (at most `size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slide: Option<HumanDuration>,
    /// Map only (`value * N`, `value + N`, `key % N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<MapFunction>,
    /// Filter only (`key % N == R`, `value % N == R`, `value >= N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<FilterPredicate>,
    /// Source of a `nexmark` workload only: the events it reads
    /// (`person`, `auction` or `bid`) and the two fields that become each
    /// record's key and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Field>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Field>,
    /// Reachability only: the vertex reached from the start (0 when left
    /// out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<u64>,
}

fn one() -> u32 {
    1
}

/// The kinds of operator a file can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KindName {
    Source,
    /// The keyed running count.
    Count,
    TumblingWindow,
    SlidingWindow,
    ProcessingTimeWindow,
    /// The keyed join of its two inputs (left, right).
    Join,
    Map,
    Filter,
    /// Per window of an event-time window's results, those with the
    /// highest value (NexMark q5); parallelism 1.
    MaxPerWindow,
    /// The iteration head of a cyclic job: the edges out of vertices
    /// reachable from `root`; its own output comes back as its feedback
    /// input ([`iteration`]).
    Reachability,
    /// The two-phase-commit sink.
    Sink,
}

/// One input of an operator: its producer and how records travel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InputSpec {
    pub from: String,
    /// Flink's default when left out: forward between equal parallelisms,
    /// rebalance otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship: Option<ShipName>,
    /// The iteration's feedback edge: an iteration head's own output, its
    /// last input ([`iteration`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub feedback: bool,
}

/// Ship strategies by their DataStream API names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShipName {
    Forward,
    KeyBy,
    Rebalance,
    Broadcast,
}

impl ShipName {
    fn strategy(self) -> ShipStrategy {
        match self {
            ShipName::Forward => ShipStrategy::Forward,
            ShipName::KeyBy => ShipStrategy::Hash,
            ShipName::Rebalance => ShipStrategy::Rebalance,
            ShipName::Broadcast => ShipStrategy::Broadcast,
        }
    }

    /// The name of `strategy` (tests write graphs back out).
    #[cfg(test)]
    fn of(strategy: ShipStrategy) -> ShipName {
        match strategy {
            ShipStrategy::Forward => ShipName::Forward,
            ShipStrategy::Hash => ShipName::KeyBy,
            ShipStrategy::Rebalance => ShipName::Rebalance,
            ShipStrategy::Broadcast => ShipName::Broadcast,
        }
    }
}

/// The `[job]` keys of the named topologies, which a job given as
/// operators does not take.
pub const TOPOLOGY_KEYS: [&str; 5] = [
    "topology",
    "source-parallelism",
    "count-parallelism",
    "sink-parallelism",
    "window-size",
];

/// A `[job]` key of the named topologies beside `[[job.operators]]`.
pub fn topology_key_beside_operators(key: &str) -> ScenarioError {
    assert!(TOPOLOGY_KEYS.contains(&key), "invariant: `{key}` is a topology key");
    ScenarioError {
        path: format!("job.{key}"),
        message: "describes the job by a named topology, but `[[job.operators]]` describes it too: keep one (each operator has its own `parallelism` and `size`)".into(),
        fallback: None,
    }
}

fn at(i: usize, key: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        path: format!("job.operators[{i}].{key}"),
        message: message.into(),
        fallback: Some(format!("job.operators[{i}]")),
    }
}

/// Build the job graph of `operators` over `partitions` source partitions,
/// or say which key is wrong and why.
pub fn build(operators: &[OperatorSpec], partitions: u32, workload: Workload) -> Result<JobGraph, ScenarioError> {
    let ids = check_ids(operators)?;
    for (i, op) in operators.iter().enumerate() {
        check_events(i, op, workload)?;
    }
    let ranges = source_ranges(operators, partitions)?;
    let mut g = JobGraph::new();
    for (i, op) in operators.iter().enumerate() {
        check_parallelism(i, op)?;
        let kind = kind_of(i, op, ranges.get(&i).copied())?;
        let v = g.add_vertex(&op.id, kind, op.parallelism);
        assert_eq!(v as usize, i, "invariant: vertex ids follow the file's order");
    }
    for (i, op) in operators.iter().enumerate() {
        connect_inputs(&mut g, operators, &ids, i)?;
        if op.kind != KindName::Source && op.inputs.is_empty() {
            return Err(at(
                i,
                "id",
                format!("`{}` has no inputs: only a source may have none", op.id),
            ));
        }
    }
    check_acyclic(&g, operators)?;
    iteration::check_heads(&g, operators)?;
    check_projections(operators)?;
    check_processing_time_outputs(operators)?;
    if !operators.iter().any(|o| o.kind == KindName::Sink) {
        return Err(ScenarioError {
            path: "job.operators".into(),
            message: "the job has no sink: nothing it computes would be committed".into(),
            fallback: None,
        });
    }
    g.validate()
        .expect("invariant: every refusal of JobGraph::validate is named above");
    Ok(g)
}

/// Operator ids are unique and not empty; each id's position.
fn check_ids(operators: &[OperatorSpec]) -> Result<BTreeMap<&str, usize>, ScenarioError> {
    if operators.is_empty() {
        return Err(ScenarioError {
            path: "job.operators".into(),
            message: "lists no operator".into(),
            fallback: None,
        });
    }
    let mut ids = BTreeMap::new();
    for (i, op) in operators.iter().enumerate() {
        crate::names::check_scenario_name(&op.id).map_err(|m| at(i, "id", m))?;
        if let Some(first) = ids.insert(op.id.as_str(), i) {
            return Err(at(
                i,
                "id",
                format!("`{}` is already the id of job.operators[{first}]", op.id),
            ));
        }
    }
    Ok(ids)
}

fn check_parallelism(i: usize, op: &OperatorSpec) -> Result<(), ScenarioError> {
    match op.parallelism {
        0 => Err(at(i, "parallelism", "must be at least 1")),
        p if p > MAX_PARALLELISM => Err(at(
            i,
            "parallelism",
            format!("{p} is above the limit {MAX_PARALLELISM}"),
        )),
        _ => Ok(()),
    }
}

/// The engine's kind for entry `i`; refuses keys that belong to other kinds.
fn kind_of(i: usize, op: &OperatorSpec, source: Option<(u32, u32)>) -> Result<OperatorKind, ScenarioError> {
    check_kind_keys(i, op)?;
    let missing = |key: &str| at(i, "kind", format!("a {} operator needs `{key}`", kind_text(op.kind)));
    Ok(match op.kind {
        KindName::Source => {
            let (first_partition, partitions) = source.expect("invariant: every source has its range");
            OperatorKind::Source {
                first_partition,
                partitions,
            }
        }
        KindName::Count => OperatorKind::KeyedCount,
        KindName::TumblingWindow | KindName::SlidingWindow | KindName::ProcessingTimeWindow => window_kind(i, op)?,
        KindName::Join => {
            if op.inputs.len() != 2 {
                return Err(at(
                    i,
                    "inputs",
                    format!(
                        "a join has two inputs, the left then the right; `{}` has {}",
                        op.id,
                        op.inputs.len()
                    ),
                ));
            }
            let window_ms = match op.size {
                Some(size) if size.as_millis() == 0 => return Err(at(i, "size", "must be positive")),
                size => size.map(|s| s.as_millis()),
            };
            OperatorKind::KeyedJoin { window_ms }
        }
        KindName::Map => OperatorKind::Map {
            function: op.function.ok_or_else(|| missing("function"))?,
        },
        KindName::Filter => OperatorKind::Filter {
            predicate: op.predicate.ok_or_else(|| missing("predicate"))?,
        },
        KindName::MaxPerWindow => {
            if op.parallelism != 1 {
                return Err(at(
                    i,
                    "parallelism",
                    "a max-per-window sees every result of a window: its parallelism is 1",
                ));
            }
            OperatorKind::WindowMax
        }
        KindName::Reachability => OperatorKind::Reachability {
            root: op.root.unwrap_or(0),
        },
        KindName::Sink => OperatorKind::TwoPhaseCommitSink,
    })
}

/// Entry `i` gives no key that belongs to other kinds.
fn check_kind_keys(i: usize, op: &OperatorSpec) -> Result<(), ScenarioError> {
    let windows = [
        KindName::TumblingWindow,
        KindName::SlidingWindow,
        KindName::ProcessingTimeWindow,
        KindName::Join,
    ];
    let extra = [
        ("partitions", op.partitions.is_some(), &[KindName::Source][..]),
        ("size", op.size.is_some(), &windows[..]),
        ("slide", op.slide.is_some(), &[KindName::SlidingWindow]),
        ("function", op.function.is_some(), &[KindName::Map]),
        ("predicate", op.predicate.is_some(), &[KindName::Filter]),
        ("root", op.root.is_some(), &[KindName::Reachability]),
    ];
    for (key, given, owners) in extra {
        if given && !owners.contains(&op.kind) {
            let names: Vec<&str> = owners.iter().map(|k| kind_text(*k)).collect();
            return Err(at(i, key, format!("only a {} operator has `{key}`", either(&names))));
        }
    }
    Ok(())
}

/// The engine's kind of window entry `i`, with its size (and slide).
fn window_kind(i: usize, op: &OperatorSpec) -> Result<OperatorKind, ScenarioError> {
    let missing = |key: &str| at(i, "kind", format!("a {} operator needs `{key}`", kind_text(op.kind)));
    let size_ms = op.size.ok_or_else(|| missing("size"))?.as_millis();
    if size_ms == 0 {
        return Err(at(i, "size", "must be positive"));
    }
    Ok(match op.kind {
        KindName::TumblingWindow => OperatorKind::TumblingWindowCount { size_ms },
        KindName::ProcessingTimeWindow => OperatorKind::ProcessingTimeWindowCount { size_ms },
        KindName::SlidingWindow => {
            let slide_ms = op.slide.ok_or_else(|| missing("slide"))?.as_millis();
            if slide_ms == 0 || slide_ms > size_ms {
                return Err(at(
                    i,
                    "slide",
                    format!("must be positive and at most the size ({size_ms}ms): windows {slide_ms}ms apart would leave records out"),
                ));
            }
            OperatorKind::SlidingWindowCount { size_ms, slide_ms }
        }
        other => unreachable!("invariant: {other:?} is a window kind"),
    })
}

/// [`either`] of owned names.
fn either_str(names: &[String]) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    either(&names)
}

/// `a`, `a or b`, `a, b or c`.
fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn kind_text(k: KindName) -> &'static str {
    match k {
        KindName::Source => "source",
        KindName::Count => "count",
        KindName::TumblingWindow => "tumbling-window",
        KindName::SlidingWindow => "sliding-window",
        KindName::ProcessingTimeWindow => "processing-time-window",
        KindName::Join => "join",
        KindName::Map => "map",
        KindName::Filter => "filter",
        KindName::MaxPerWindow => "max-per-window",
        KindName::Reachability => "reachability",
        KindName::Sink => "sink",
    }
}

/// Connect entry `i`'s inputs, each checked where it is written.
fn connect_inputs(
    g: &mut JobGraph,
    operators: &[OperatorSpec],
    ids: &BTreeMap<&str, usize>,
    i: usize,
) -> Result<(), ScenarioError> {
    let op = &operators[i];
    if op.kind == KindName::Source && !op.inputs.is_empty() {
        return Err(at(
            i,
            "inputs",
            format!("`{}` is a source: it reads the source log, not other operators", op.id),
        ));
    }
    for (j, input) in op.inputs.iter().enumerate() {
        let key = |k: &str| format!("inputs[{j}].{k}");
        let Some(&from) = ids.get(input.from.as_str()) else {
            let known: Vec<&str> = ids.keys().copied().collect();
            return Err(at(
                i,
                &key("from"),
                format!("no operator has the id `{}` (ids: {})", input.from, known.join(", ")),
            ));
        };
        let producer = &operators[from];
        if producer.kind == KindName::Sink {
            return Err(at(
                i,
                &key("from"),
                format!("`{}` is a sink: it has no output", producer.id),
            ));
        }
        let windows = [KindName::TumblingWindow, KindName::SlidingWindow];
        if op.kind == KindName::MaxPerWindow && !windows.contains(&producer.kind) {
            return Err(at(
                i,
                &key("from"),
                format!(
                    "`{}` is a {}: a max-per-window reads the results of a tumbling-window or sliding-window",
                    producer.id,
                    kind_text(producer.kind)
                ),
            ));
        }
        if op.inputs[..j].iter().any(|earlier| earlier.from == input.from) {
            return Err(at(i, &key("from"), format!("`{}` is an input twice", input.from)));
        }
        if input.feedback {
            iteration::check_feedback_input(i, j, op)?;
            g.connect_feedback(i as JobVertexId);
            continue;
        }
        let ship = input.ship.unwrap_or(if producer.parallelism == op.parallelism {
            ShipName::Forward
        } else {
            ShipName::Rebalance
        });
        check_ship(i, j, op, producer, ship)?;
        g.connect(from as JobVertexId, i as JobVertexId, ship.strategy());
    }
    Ok(())
}

fn check_ship(
    i: usize,
    j: usize,
    op: &OperatorSpec,
    producer: &OperatorSpec,
    ship: ShipName,
) -> Result<(), ScenarioError> {
    let path = format!("inputs[{j}].ship");
    let keyed = matches!(
        op.kind,
        KindName::Count
            | KindName::TumblingWindow
            | KindName::SlidingWindow
            | KindName::ProcessingTimeWindow
            | KindName::Join
            | KindName::Reachability
    );
    if keyed && ship != ShipName::KeyBy {
        let given = serde_plain_name(ship);
        return Err(at(
            i,
            &path,
            format!(
                "`{}` keeps keyed state: its input from `{}` must be shipped `key-by`, not `{given}`",
                op.id, producer.id
            ),
        ));
    }
    if ship == ShipName::Forward && producer.parallelism != op.parallelism {
        return Err(at(
            i,
            &path,
            format!(
                "`forward` joins subtask i to subtask i, but `{}` has parallelism {} and `{}` {}",
                producer.id, producer.parallelism, op.id, op.parallelism
            ),
        ));
    }
    Ok(())
}

fn serde_plain_name(ship: ShipName) -> &'static str {
    match ship {
        ShipName::Forward => "forward",
        ShipName::KeyBy => "key-by",
        ShipName::Rebalance => "rebalance",
        ShipName::Broadcast => "broadcast",
    }
}

/// A processing-time window's results are checked by conservation (per
/// key they sum to its input): they go to one sink, once each.
fn check_processing_time_outputs(operators: &[OperatorSpec]) -> Result<(), ScenarioError> {
    let why = "a processing-time window's counts depend on when records are processed: halab checks that they add up to its input, so they go to exactly one sink, once";
    for (w, window) in operators.iter().enumerate() {
        if window.kind != KindName::ProcessingTimeWindow {
            continue;
        }
        let readers: Vec<(usize, usize, &InputSpec)> = operators
            .iter()
            .enumerate()
            .flat_map(|(i, op)| op.inputs.iter().enumerate().map(move |(j, input)| (i, j, input)))
            .filter(|(_, _, input)| input.from == window.id)
            .collect();
        let Some(&(i, j, input)) = readers.first() else {
            return Err(at(w, "id", format!("nothing reads `{}`: {why}", window.id)));
        };
        if let Some(&(i2, j2, _)) = readers.get(1) {
            let path = format!("inputs[{j2}].from");
            return Err(at(i2, &path, format!("`{}` has a second reader: {why}", window.id)));
        }
        if operators[i].kind != KindName::Sink {
            let path = format!("inputs[{j}].from");
            return Err(at(i, &path, format!("`{}` is not a sink: {why}", operators[i].id)));
        }
        if input.ship == Some(ShipName::Broadcast) {
            let path = format!("inputs[{j}].ship");
            return Err(at(
                i,
                &path,
                format!("`broadcast` would commit each count more than once: {why}"),
            ));
        }
    }
    Ok(())
}

/// A cycle is refused at an input that closes it, naming the whole loop.
fn check_acyclic(g: &JobGraph, operators: &[OperatorSpec]) -> Result<(), ScenarioError> {
    if g.topological_order().is_ok() {
        return Ok(());
    }
    let cycle = find_cycle(operators).expect("invariant: a graph with no topological order has a cycle");
    let (i, j) = cycle.closing_input;
    let names: Vec<&str> = cycle.path.iter().map(|v| operators[*v].id.as_str()).collect();
    Err(at(
        i,
        &format!("inputs[{j}].from"),
        format!(
            "{} is a cycle without an iteration head: only a reachability operator's own output may come back, as its last input with `feedback = true`",
            names.join(" → ")
        ),
    ))
}

struct Cycle {
    /// The operators around the loop, first repeated at the end.
    path: Vec<usize>,
    /// (operator, input index) of the edge that closes it.
    closing_input: (usize, usize),
}

/// A cycle of the input relation, by depth-first search from each operator.
fn find_cycle(operators: &[OperatorSpec]) -> Option<Cycle> {
    let index: BTreeMap<&str, usize> = operators.iter().enumerate().map(|(i, o)| (o.id.as_str(), i)).collect();
    // Following inputs backwards finds the same cycles as following outputs.
    fn visit(
        v: usize,
        ops: &[OperatorSpec],
        index: &BTreeMap<&str, usize>,
        stack: &mut Vec<usize>,
        done: &mut [bool],
    ) -> Option<Cycle> {
        stack.push(v);
        for (j, input) in ops[v].inputs.iter().enumerate() {
            let Some(&u) = index.get(input.from.as_str()).filter(|_| !input.feedback) else {
                continue;
            };
            if let Some(pos) = stack.iter().position(|s| *s == u) {
                // The stack follows inputs upstream from u to v, and v reads
                // u: reversed, the loop in the direction records flow.
                let mut path: Vec<usize> = stack[pos..].iter().rev().copied().collect();
                path.push(path[0]);
                return Some(Cycle {
                    path,
                    closing_input: (v, j),
                });
            }
            if !done[u] {
                if let Some(c) = visit(u, ops, index, stack, done) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        done[v] = true;
        None
    }
    let mut done = vec![false; operators.len()];
    (0..operators.len()).find_map(|v| {
        if done[v] {
            return None;
        }
        visit(v, operators, &index, &mut Vec::new(), &mut done)
    })
}
#[cfg(test)]
mod tests;
