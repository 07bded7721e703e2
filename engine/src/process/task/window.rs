//! The event-time window count task (tumbling or sliding): counts records
//! per key and window, and emits each window's count once the watermark
//! passes its end.
//! Window results carry the window as their origin ([`Origin::window`]).

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::record::{Origin, Record};
use crate::resources::CostedOperator;
use crate::window::WindowCounts;
use std::sync::Arc;

struct WindowCount {
    windows: WindowCounts,
    size_ms: u64,
    slide_ms: u64,
    /// The operator watermark windows last fired at (0 before any).
    watermark: u64,
}

impl Operator for WindowCount {
    async fn process(&mut self, batch: Vec<Record>, _out: &mut OutputGate) -> Result<(), TaskError> {
        for r in batch {
            // No record is later than a watermark: a fired window stays shut.
            let (time, watermark) = (r.timestamp_ms, self.watermark);
            assert!(time >= watermark, "invariant: a record at {time} behind {watermark}");
            self.windows.add(r.key, r.timestamp_ms);
        }
        Ok(())
    }

    async fn on_watermark(&mut self, watermark: u64, out: &mut OutputGate) -> Result<(), TaskError> {
        let previous = std::mem::replace(&mut self.watermark, watermark);
        assert!(
            previous < watermark,
            "invariant: watermark {watermark} after {previous}"
        );
        let mut last_start = None;
        for w in self.windows.fire(watermark) {
            let end = w.start_ms + self.size_ms;
            // Fires once: its end passed now, and had not at the previous
            // watermark (no record is later than a watermark).
            assert!(
                previous < end && end <= watermark,
                "invariant: window [{}, {end}) fired at {watermark} after {previous}",
                w.start_ms
            );
            assert!(
                w.start_ms % self.slide_ms == 0 && w.count > 0,
                "invariant: fired window {w:?} on slide {}",
                self.slide_ms
            );
            // The results go out in end-time order.
            assert!(
                last_start.is_none_or(|s| s <= w.start_ms),
                "invariant: window at {} fired after one at {last_start:?}",
                w.start_ms
            );
            last_start = Some(w.start_ms);
            out.emit(Record {
                key: w.key,
                value: w.count,
                origin: Origin::window(w.start_ms),
                timestamp_ms: w.start_ms + self.size_ms - 1,
            })
            .await?;
        }
        out.flush().await
    }

    async fn snapshot(&mut self, _checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        Ok(OperatorState::Window(self.windows.snapshot()))
    }
}

/// `empty` with the open windows of `restored` this subtask owns (event or
/// processing time: the state is the same); empty under the test-only
/// variant that ignores restored state.
pub(super) fn restore_windows(env: &TaskEnv, restored: &[Arc<TaskStateSnapshot>], empty: WindowCounts) -> WindowCounts {
    if env.sabotage == Sabotage::CountIgnoresRestoredState {
        return empty;
    }
    let snaps = restored.iter().filter_map(|s| match &s.operator {
        OperatorState::Window(w) => Some(w),
        _ => None,
    });
    WindowCounts::restore(
        empty,
        snaps,
        env.partitioner().as_ref(),
        env.tdd.id.vertex.subtask,
        env.tdd.parallelism,
    )
}

/// Run a window task of `size_ms` every `slide_ms` (tumbling: equal).
pub async fn run(env: TaskEnv, size_ms: u64, slide_ms: u64) -> Result<(), TaskError> {
    let restored = env.restored_state().await?;
    let empty = WindowCounts::sliding(size_ms, slide_ms);
    let windows = restore_windows(&env, &restored, empty);
    let open = windows.open_windows() as u64;
    let ready = env.restore_and_connect(&restored, |m| m.state_bytes(open)).await?;
    run_operator(
        env,
        (
            WindowCount {
                windows,
                size_ms,
                slide_ms,
                watermark: 0,
            },
            CostedOperator::Window,
        ),
        ready,
    )
    .await
}
