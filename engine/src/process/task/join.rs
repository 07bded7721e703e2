//! The keyed join task ([`crate::join`]): two input gates, the first the
//! left input and the second the right; each record is joined with what
//! the other side holds for its key, and kept.

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::config::Sabotage;
use crate::join::{JoinState, Side};
use crate::record::Record;
use crate::resources::CostedOperator;

struct KeyedJoin {
    state: JoinState,
}

impl Operator for KeyedJoin {
    async fn process(&mut self, _batch: Vec<Record>, _out: &mut OutputGate) -> Result<(), TaskError> {
        unreachable!("invariant: the driver names a join's input (process_input)")
    }

    async fn process_input(&mut self, input: usize, batch: Vec<Record>, out: &mut OutputGate) -> Result<(), TaskError> {
        let side = Side::of_gate(input);
        let (kept, n) = (self.state.len(), batch.len());
        let results: Vec<Record> = batch.into_iter().flat_map(|r| self.state.add(side, r)).collect();
        assert_eq!(
            self.state.len(),
            kept + n,
            "invariant: a join keeps every record it takes"
        );
        out.emit_all(results).await
    }

    async fn on_watermark(&mut self, watermark: u64, _out: &mut OutputGate) -> Result<(), TaskError> {
        let (kept, dropped) = (self.state.len(), self.state.prune(watermark));
        assert_eq!(self.state.len() + dropped, kept, "invariant: pruning only drops");
        Ok(())
    }

    async fn snapshot(&mut self, _checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        Ok(OperatorState::Join(self.state.snapshot()))
    }
}

pub async fn run(env: TaskEnv, window_ms: Option<u64>) -> Result<(), TaskError> {
    // Its two inputs: which side a record is on depends on its gate.
    assert_eq!(env.tdd.input_gates.len(), 2, "invariant: a join has two inputs");
    let restored = env.restored_state().await?;
    let state = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        JoinState::new(window_ms)
    } else {
        let snaps = restored.iter().filter_map(|s| match &s.operator {
            OperatorState::Join(j) => Some(j),
            _ => None,
        });
        JoinState::restore(
            window_ms,
            snaps,
            env.partitioner().as_ref(),
            env.tdd.id.vertex.subtask,
            env.tdd.parallelism,
        )
    };
    let kept = state.len() as u64;
    let ready = env.restore_and_connect(&restored, |m| m.records_bytes(kept)).await?;
    run_operator(env, (KeyedJoin { state }, CostedOperator::Count), ready).await
}
