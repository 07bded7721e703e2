//! The processing-time window count task: counts records per key and
//! tumbling window of the time the task takes them, and emits each
//! window's count once processing time passes its end (a timer, as
//! Flink's `TumblingProcessingTimeWindows`). Open windows are keyed state:
//! a restore brings them back, and those whose end has passed fire at once.
//! Results carry the window as their origin ([`Origin::processing_window`]).
//!
//! Which window a record lands in depends on when it is processed, so no
//! reference fixes the windows: the simulator checks that every record is
//! counted exactly once (per key, committed counts sum to the records that
//! reached the window) and that no window is committed twice.

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::record::{Origin, Record};
use crate::resources::CostedOperator;
use crate::trace::Tracer;
use crate::window::WindowCounts;

struct ProcessingWindow {
    windows: WindowCounts,
    size_ms: u64,
    /// The task's clock.
    clock: Tracer,
}

impl Operator for ProcessingWindow {
    async fn process(&mut self, batch: Vec<Record>, _out: &mut OutputGate) -> Result<(), TaskError> {
        let now = self.clock.now_ms();
        for r in batch {
            self.windows.add(r.key, now);
        }
        Ok(())
    }

    fn next_timer_ms(&self) -> Option<u64> {
        self.windows.next_end_ms()
    }

    async fn on_processing_time(&mut self, now_ms: u64, out: &mut OutputGate) -> Result<(), TaskError> {
        let fired = self.windows.fire(now_ms);
        // The timer was due: its window ended at or before now.
        assert!(
            !fired.is_empty(),
            "invariant: a processing-time timer at {now_ms} fires a window"
        );
        for w in fired {
            assert!(
                w.start_ms + self.size_ms <= now_ms && w.count > 0,
                "invariant: window {w:?} of {}ms fired at {now_ms}",
                self.size_ms
            );
            out.emit(Record {
                key: w.key,
                value: w.count,
                origin: Origin::processing_window(w.start_ms),
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

pub async fn run(env: TaskEnv, size_ms: u64) -> Result<(), TaskError> {
    let restored = env.restored_state().await?;
    let empty = WindowCounts::tumbling(size_ms);
    let windows = super::window::restore_windows(&env, &restored, empty);
    let open = windows.open_windows() as u64;
    let ready = env.restore_and_connect(&restored, |m| m.state_bytes(open)).await?;
    let op = ProcessingWindow {
        windows,
        size_ms,
        clock: env.tracer.clone(),
    };
    run_operator(env, (op, CostedOperator::Window), ready).await
}
