//! Iterations in jobs as data: a `reachability` operator is an iteration
//! head, and its own output comes back as its last input, marked
//! `feedback = true`:
//!
//! ```toml
//! [[job.operators]]
//! id = "reach"
//! kind = "reachability"
//! root = 0
//! parallelism = 2
//! inputs = [
//!   { from = "edges", ship = "key-by" },
//!   { from = "reach", ship = "key-by", feedback = true },
//! ]
//! ```
//!
//! That feedback edge is the only cycle a job may have. Each refusal names
//! the key at fault.

use halab_engine::graph::{JobGraph, JobVertexId};

use super::{at, KindName, OperatorSpec, ShipName};
use crate::scenario::ScenarioError;

/// Input `j` of entry `i` is marked `feedback`: it must be the head's own
/// output, by key, its last input.
pub(super) fn check_feedback_input(i: usize, j: usize, op: &OperatorSpec) -> Result<(), ScenarioError> {
    let path = |k: &str| format!("inputs[{j}].{k}");
    let input = &op.inputs[j];
    if op.kind != KindName::Reachability {
        return Err(at(
            i,
            &path("feedback"),
            format!(
                "only an iteration head (a reachability operator) takes a feedback edge; `{}` is not one",
                op.id
            ),
        ));
    }
    if input.from != op.id {
        return Err(at(
            i,
            &path("from"),
            format!(
                "a feedback edge brings `{}`'s own output back: it is from `{}`, not `{}`",
                op.id, op.id, input.from
            ),
        ));
    }
    if input.ship.is_some_and(|s| s != ShipName::KeyBy) {
        return Err(at(
            i,
            &path("ship"),
            "a feedback edge brings each traversed edge to the subtask that owns its target: it is shipped `key-by`",
        ));
    }
    if j + 1 != op.inputs.len() {
        return Err(at(
            i,
            &path("feedback"),
            "the feedback edge is the iteration head's last input",
        ));
    }
    Ok(())
}

/// Every iteration head has one input besides its feedback edge, and no
/// event-time operator reads it (its feedback edge carries no
/// watermarks, so its own never advances).
pub(super) fn check_heads(g: &JobGraph, operators: &[OperatorSpec]) -> Result<(), ScenarioError> {
    for (i, op) in operators.iter().enumerate() {
        if op.kind != KindName::Reachability {
            continue;
        }
        let fed_back = op.inputs.last().is_some_and(|input| input.feedback);
        if op.inputs.len() != 2 || !fed_back {
            return Err(at(
                i,
                "inputs",
                format!(
                    "an iteration head has two inputs: its edges, then its own output with `feedback = true`; `{}` has {} input(s){}",
                    op.id,
                    op.inputs.len(),
                    if fed_back { "" } else { " and no feedback edge" }
                ),
            ));
        }
        if let Some(reader) = event_time_downstream(g, i as JobVertexId) {
            return Err(at(
                i,
                "id",
                format!(
                    "`{reader}` works in event time downstream of iteration head `{}`, whose feedback edge carries no watermarks: its windows would never fire",
                    op.id
                ),
            ));
        }
    }
    Ok(())
}

/// An event-time operator downstream of `head`, by name.
fn event_time_downstream(g: &JobGraph, head: JobVertexId) -> Option<String> {
    let mut seen = vec![false; g.num_vertices()];
    let mut stack = vec![head];
    while let Some(v) = stack.pop() {
        for (to, _) in g.outputs(v) {
            if std::mem::replace(&mut seen[to as usize], true) {
                continue;
            }
            if g.vertex(to).kind.is_event_time() {
                return Some(g.vertex(to).name.clone());
            }
            stack.push(to);
        }
    }
    None
}
