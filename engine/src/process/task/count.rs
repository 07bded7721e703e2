//! The keyed running count: per key, the number of records seen so far.
//! Emits `(key, count)` for every input record, keeping the record's origin.

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::config::Sabotage;
use crate::record::Record;
use crate::state::KeyedCountState;

struct KeyedCount {
    state: KeyedCountState,
}

impl Operator for KeyedCount {
    async fn process(&mut self, batch: Vec<Record>, out: &mut OutputGate) -> Result<(), TaskError> {
        for r in batch {
            let count = self.state.increment(r.key);
            out.emit(Record { value: count, ..r }).await?;
        }
        out.flush().await
    }

    async fn snapshot(&mut self, _checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        Ok(OperatorState::Keyed(self.state.snapshot()))
    }
}

pub async fn run(env: TaskEnv) -> Result<(), TaskError> {
    let restored = env.restored_state().await?;
    let state = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        KeyedCountState::default()
    } else {
        let snaps = restored.iter().filter_map(|s| match &s.operator {
            OperatorState::Keyed(k) => Some(k),
            _ => None,
        });
        KeyedCountState::restore(
            snaps,
            env.partitioner().as_ref(),
            env.tdd.id.vertex.subtask,
            env.tdd.parallelism,
        )
    };
    let (replay_in, replay_out) = env.in_flight_to_replay(&restored);
    let out = env.connect_outputs().await?;
    run_operator(env, KeyedCount { state }, out, replay_in, replay_out).await
}
