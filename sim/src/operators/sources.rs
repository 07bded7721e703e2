//! The sources of a job as data: which partitions of the source log each
//! source reads (its topic's, for NexMark events), which events it may
//! name, and how a NexMark topic is projected onto keys and values.

use std::collections::BTreeMap;

use super::{at, either_str, KindName, OperatorSpec};
use crate::nexmark::{EventKind, Field, Projection};
use crate::scenario::{ScenarioError, Workload};

/// Each source's first partition and partition count. Sources share the
/// partitions of their topic (a `nexmark` workload's events) or of the
/// whole log.
pub(super) fn source_ranges(
    operators: &[OperatorSpec],
    partitions: u32,
) -> Result<BTreeMap<usize, (u32, u32)>, ScenarioError> {
    let sources: Vec<usize> = (0..operators.len())
        .filter(|i| operators[*i].kind == KindName::Source)
        .collect();
    if sources.is_empty() {
        return Err(ScenarioError {
            path: "job.operators".into(),
            message: "the job has no source".into(),
            fallback: None,
        });
    }
    let mut topics: BTreeMap<Option<EventKind>, Vec<usize>> = BTreeMap::new();
    for i in sources {
        topics.entry(operators[i].events).or_default().push(i);
    }
    let mut ranges = BTreeMap::new();
    for (events, sources) in topics {
        let first = events.map_or(0, |k| k.topic() as u32 * partitions);
        ranges.extend(topic_ranges(operators, &sources, partitions, first)?);
    }
    Ok(ranges)
}

/// The ranges of `sources`, which share `partitions` partitions from
/// `first` on.
fn topic_ranges(
    operators: &[OperatorSpec],
    sources: &[usize],
    partitions: u32,
    mut first: u32,
) -> Result<BTreeMap<usize, (u32, u32)>, ScenarioError> {
    let last = *sources.last().expect("invariant: a topic has a source");
    let named = sources.iter().filter(|i| operators[**i].partitions.is_some()).count();
    let counts: Vec<u32> = if named == 0 {
        let share = partitions / sources.len() as u32;
        let rest = partitions - share * (sources.len() as u32 - 1);
        sources.iter().map(|i| if *i == last { rest } else { share }).collect()
    } else if named < sources.len() {
        let i = *sources
            .iter()
            .find(|i| operators[**i].partitions.is_none())
            .expect("invariant: some source names no partitions");
        return Err(at(
            i,
            "id",
            "names no `partitions` while another source does: name them for every source or for none",
        ));
    } else {
        sources
            .iter()
            .map(|i| {
                operators[*i]
                    .partitions
                    .expect("invariant: every source names its partitions")
            })
            .collect()
    };
    let total: u64 = counts.iter().map(|c| u64::from(*c)).sum();
    if total != u64::from(partitions) {
        return Err(at(
            sources[0],
            "partitions",
            match operators[sources[0]].events {
                None => format!("the sources read {total} partitions but job.source-partitions is {partitions}"),
                Some(k) => format!(
                    "the {k} sources read {total} partitions but each topic has job.source-partitions, {partitions}"
                ),
            },
        ));
    }
    let mut ranges = BTreeMap::new();
    for (i, n) in sources.iter().copied().zip(counts) {
        let op = &operators[i];
        if n == 0 {
            return Err(at(i, "partitions", "a source reads at least one partition"));
        }
        if op.parallelism > n {
            return Err(at(
                i,
                "parallelism",
                format!(
                    "{} exceeds the {n} partitions source `{}` reads: some subtasks would read nothing",
                    op.parallelism, op.id
                ),
            ));
        }
        ranges.insert(i, (first, n));
        first += n;
    }
    Ok(ranges)
}

/// Entry `i` names its events exactly when it is a source of a `nexmark`
/// workload, and projects them onto fields they have.
pub(super) fn check_events(i: usize, op: &OperatorSpec, workload: Workload) -> Result<(), ScenarioError> {
    let nexmark_source = op.kind == KindName::Source && workload == Workload::Nexmark;
    for (key, given) in [
        ("events", op.events.is_some()),
        ("key", op.key.is_some()),
        ("value", op.value.is_some()),
    ] {
        if given && !nexmark_source {
            return Err(at(
                i,
                key,
                "only a source of a `workload = \"nexmark\"` job has `events`, `key` and `value`",
            ));
        }
    }
    if !nexmark_source {
        return Ok(());
    }
    let needs = |key: &str| {
        at(
            i,
            "kind",
            format!("a source of NexMark events needs `events`, `key` and `value`; `{key}` is missing"),
        )
    };
    let kind = op.events.ok_or_else(|| needs("events"))?;
    for (key, field) in [("key", op.key), ("value", op.value)] {
        let field = field.ok_or_else(|| needs(key))?;
        if !kind.fields().contains(&field) {
            let fields: Vec<String> = kind.fields().iter().map(Field::to_string).collect();
            return Err(at(
                i,
                key,
                format!(
                    "a {kind} has no field `{field}`; its fields are {}",
                    either_str(&fields)
                ),
            ));
        }
    }
    Ok(())
}

/// What each NexMark topic read is projected onto: its sources'
/// `key` and `value`; every source of a topic must agree (they read the
/// same log, which projects each topic one way).
pub fn projections(operators: &[OperatorSpec]) -> BTreeMap<EventKind, Projection> {
    check_projections(operators).expect("invariant: validation refuses sources of one topic that disagree")
}

/// [`projections`], or the source that disagrees with an earlier one.
pub(super) fn check_projections(operators: &[OperatorSpec]) -> Result<BTreeMap<EventKind, Projection>, ScenarioError> {
    let mut out: BTreeMap<EventKind, (usize, Projection)> = BTreeMap::new();
    for (i, op) in operators.iter().enumerate() {
        let (Some(kind), Some(key), Some(value)) = (op.events, op.key, op.value) else {
            continue;
        };
        let p = Projection { key, value };
        match out.get(&kind) {
            Some((first, q)) if *q != p => {
                return Err(at(
                    i,
                    "key",
                    format!(
                        "`{}` reads the {kind} events as ({key}, {value}), but `{}` reads them as ({}, {}): sources of one topic project it alike",
                        op.id, operators[*first].id, q.key, q.value
                    ),
                ));
            }
            _ => {
                out.entry(kind).or_insert((i, p));
            }
        }
    }
    Ok(out.into_iter().map(|(k, (_, p))| (k, p)).collect())
}
