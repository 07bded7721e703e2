//! The tumbling-window count task: counts records per key and event-time
//! window, and emits each window's count once the watermark passes its end.
//! Window results carry the window as their origin ([`Origin::window`]).

use super::input::{CheckpointedInput, InputEvent};
use super::{sleep_until_ms, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::{OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::record::{Origin, Record};
use crate::window::{TumblingWindowCounts, WatermarkTracker};

pub async fn run(mut env: TaskEnv, size_ms: u64) -> Result<(), TaskError> {
    let sub = env.tdd.id.vertex.subtask;
    let restored = env.restored_state().await?;
    let partitioner = env.partitioner();
    let snaps = restored.iter().filter_map(|s| match &s.operator {
        OperatorState::Window(w) => Some(w),
        _ => None,
    });
    let mut windows = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        TumblingWindowCounts::new(size_ms)
    } else {
        TumblingWindowCounts::restore(size_ms, snaps, partitioner.as_ref(), sub, env.tdd.parallelism)
    };
    let (replay_in, replay_out) = env.in_flight_to_replay(&restored);
    let mut out = env.connect_outputs().await?;
    let gate = env.connect_inputs().await?;
    let mut watermarks = WatermarkTracker::new(gate.num_channels());
    let mut input = CheckpointedInput::new(
        gate,
        env.config.barrier_config(),
        env.sabotage == Sabotage::NoBarrierAlignment,
    );
    let (mut snapshots, _writer) = env.spawn_snapshot_writer();
    env.report_running();
    for r in replay_out {
        out.emit(r).await?;
    }
    for r in replay_in {
        windows.add(r.key, r.timestamp_ms);
    }
    out.flush().await?;

    let clock = env.tracer.clone();
    let tracer = env.tracer.clone();
    let now = move || tracer.now_ms() as i64;
    loop {
        let deadline = input.deadline_ms();
        tokio::select! {
            biased;
            c = env.control.recv() => match c {
                Some(TaskControl::NotifyCheckpointComplete(_)) => {}
                Some(TaskControl::TriggerCheckpoint(_)) => {
                    return Err(TaskError::Network("trigger sent to a non-source task".into()));
                }
                None => return Ok(()),
            },
            _ = sleep_until_ms(&clock, deadline.unwrap_or(0)), if deadline.is_some() => input.on_timer(now()),
            ev = input.next(&now) => match ev? {
                InputEvent::Records { channel, batch } => {
                    let n = batch.len();
                    for r in batch {
                        windows.add(r.key, r.timestamp_ms);
                    }
                    input.processed(channel, n).await?;
                }
                InputEvent::Watermark { channel, watermark } => {
                    if let Some(wm) = watermarks.update(channel, watermark) {
                        for w in windows.fire(wm) {
                            out.emit(Record {
                                key: w.key,
                                value: w.count,
                                origin: Origin::window(w.start_ms),
                                timestamp_ms: w.start_ms + size_ms - 1,
                            })
                            .await?;
                        }
                        out.flush().await?;
                    }
                }
                InputEvent::Snapshot {
                    barrier,
                    unaligned,
                    alignment_ms,
                } => {
                    let mut snap = TaskStateSnapshot::new(OperatorState::Window(windows.snapshot()));
                    snap.in_flight_output = out.forward_barrier(barrier, unaligned).await?;
                    snapshots.taken(barrier.id, snap, unaligned, alignment_ms);
                }
                InputEvent::InFlightComplete { id, records } => snapshots.in_flight_complete(id, records),
                InputEvent::Abort { id, reason } => {
                    snapshots.aborted(id);
                    env.decline(id, reason);
                }
            }
        }
    }
}
