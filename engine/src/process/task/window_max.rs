//! The max-per-window task ([`crate::window_max`]): keeps each window's
//! best results and emits them once the watermark passes the window.

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::config::Sabotage;
use crate::record::Record;
use crate::resources::CostedOperator;
use crate::window_max::WindowMax;

struct MaxPerWindow {
    state: WindowMax,
    /// The watermark windows last fired at (0 before any).
    watermark: u64,
}

impl Operator for MaxPerWindow {
    async fn process(&mut self, batch: Vec<Record>, _out: &mut OutputGate) -> Result<(), TaskError> {
        for r in batch {
            // A window result is never behind the watermark that fired it.
            let (time, watermark) = (r.timestamp_ms, self.watermark);
            assert!(
                time >= watermark,
                "invariant: a window result at {time} behind {watermark}"
            );
            self.state.add(r);
        }
        Ok(())
    }

    async fn on_watermark(&mut self, watermark: u64, out: &mut OutputGate) -> Result<(), TaskError> {
        let previous = std::mem::replace(&mut self.watermark, watermark);
        assert!(
            previous < watermark,
            "invariant: watermark {watermark} after {previous}"
        );
        out.emit_all(self.state.fire(watermark)).await?;
        out.flush().await
    }

    async fn snapshot(&mut self, _checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        Ok(OperatorState::WindowMax(self.state.snapshot()))
    }
}

pub async fn run(env: TaskEnv) -> Result<(), TaskError> {
    assert_eq!(
        env.tdd.parallelism, 1,
        "invariant: one subtask sees every result of a window"
    );
    let restored = env.restored_state().await?;
    let mut state = WindowMax::default();
    if env.sabotage != Sabotage::CountIgnoresRestoredState {
        for s in &restored {
            if let OperatorState::WindowMax(records) = &s.operator {
                assert_eq!(state, WindowMax::default(), "invariant: one subtask's snapshot");
                state = WindowMax::restore(records);
            }
        }
    }
    let kept = state.snapshot().len() as u64;
    let ready = env.restore_and_connect(&restored, |m| m.records_bytes(kept)).await?;
    run_operator(
        env,
        (MaxPerWindow { state, watermark: 0 }, CostedOperator::Window),
        ready,
    )
    .await
}
