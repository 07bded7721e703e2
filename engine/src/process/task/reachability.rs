//! The reachability task ([`crate::reachability`]), the iteration head of a
//! cyclic job: input gate 0 is the graph's edges, gate 1 its own feedback
//! edge. Its output goes downstream and round the feedback edge alike.
//!
//! The feedback edge is what makes the job cyclic. Its channels are not
//! flow-controlled (a bounded channel in a cycle can deadlock: every task
//! waiting for credit from the next), and its records that arrive after a
//! checkpoint's snapshot and before that checkpoint's barrier comes round
//! are logged with the snapshot and replayed on restore: the back-edge
//! logging of asynchronous barrier snapshots for cyclic graphs
//! ([`crate::checkpoint::barrier`]).

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::config::Sabotage;
use crate::reachability::ReachabilityState;
use crate::record::Record;
use crate::resources::CostedOperator;

/// Input gate of the feedback edge.
pub const FEEDBACK_GATE: usize = 1;

struct Reachability {
    state: ReachabilityState,
}

impl Operator for Reachability {
    async fn process(&mut self, _batch: Vec<Record>, _out: &mut OutputGate) -> Result<(), TaskError> {
        unreachable!("invariant: the driver names an iteration head's input (process_input)")
    }

    async fn process_input(&mut self, input: usize, batch: Vec<Record>, out: &mut OutputGate) -> Result<(), TaskError> {
        let results: Vec<Record> = match input {
            FEEDBACK_GATE => batch.into_iter().flat_map(|r| self.state.on_reached(r)).collect(),
            _ => batch.into_iter().filter_map(|r| self.state.on_edge(r)).collect(),
        };
        out.emit_all(results).await
    }

    async fn snapshot(&mut self, _checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        Ok(OperatorState::Reachability(self.state.snapshot()))
    }
}

pub async fn run(env: TaskEnv, root: u64) -> Result<(), TaskError> {
    assert_eq!(
        env.tdd.input_gates.len(),
        2,
        "invariant: an iteration head has its input and its feedback edge"
    );
    let restored = env.restored_state().await?;
    let state = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        ReachabilityState::new(root)
    } else {
        let snaps = restored.iter().filter_map(|s| match &s.operator {
            OperatorState::Reachability(r) => Some(r),
            _ => None,
        });
        ReachabilityState::restore(
            root,
            snaps,
            env.partitioner().as_ref(),
            env.tdd.id.vertex.subtask,
            env.tdd.parallelism,
        )
    };
    let kept = state.snapshot().len() as u64;
    let ready = env.restore_and_connect(&restored, |m| m.records_bytes(kept)).await?;
    run_operator(env, (Reachability { state }, CostedOperator::Count), ready).await
}
