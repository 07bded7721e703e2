//! The keyed running count: per key, the number of records seen so far.
//!
//! Emits `(key, count)` for every input record, keeping the record's origin.
//! Barriers are handled by [`CheckpointedInput`] (aligned, unaligned,
//! alternating or at-least-once); a restore replays persisted in-flight data
//! before reading new input.

use super::input::{CheckpointedInput, InputEvent};
use super::{sleep_until_ms, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::{OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::record::Record;
use crate::state::KeyedCountState;

pub async fn run(mut env: TaskEnv) -> Result<(), TaskError> {
    let sub = env.tdd.id.vertex.subtask;
    let restored = env.restored_state().await?;
    let partitioner = env.partitioner();
    let mut state = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        KeyedCountState::default()
    } else {
        let snaps = restored.iter().filter_map(|s| match &s.operator {
            OperatorState::Keyed(k) => Some(k),
            _ => None,
        });
        KeyedCountState::restore(snaps, partitioner.as_ref(), sub, env.tdd.parallelism)
    };
    let (replay_in, replay_out) = env.in_flight_to_replay(&restored);
    let mut out = env.connect_outputs().await?;
    let gate = env.connect_inputs().await?;
    let mut input = CheckpointedInput::new(
        gate,
        env.config.barrier_config(),
        env.sabotage == Sabotage::NoBarrierAlignment,
    );
    let (mut snapshots, _writer) = env.spawn_snapshot_writer();
    env.report_running();

    // Persisted in-flight data first: output as it was, input reprocessed.
    for r in replay_out {
        out.emit(r).await?;
    }
    for r in replay_in {
        let count = state.increment(r.key);
        out.emit(Record { value: count, ..r }).await?;
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
                        let count = state.increment(r.key);
                        out.emit(Record { value: count, ..r }).await?;
                    }
                    out.flush().await?;
                    input.processed(channel, n).await?;
                }
                InputEvent::Snapshot {
                    barrier,
                    unaligned,
                    alignment_ms,
                } => {
                    let mut snap = TaskStateSnapshot::new(OperatorState::Keyed(state.snapshot()));
                    snap.in_flight_output = out.forward_barrier(barrier, unaligned).await?;
                    snapshots.taken(barrier.id, snap, unaligned, alignment_ms);
                }
                // Watermarks matter to event-time operators only.
                InputEvent::Watermark { .. } => {}
                InputEvent::InFlightComplete { id, records } => snapshots.in_flight_complete(id, records),
                InputEvent::Abort { id, reason } => {
                    snapshots.aborted(id);
                    env.decline(id, reason);
                }
            }
        }
    }
}
