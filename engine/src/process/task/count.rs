//! The keyed running count: per key, the number of records seen so far.
//!
//! Emits `(key, count)` for every input record, keeping the record's origin.
//! With several input channels it aligns barriers (a channel that delivered the
//! barrier is blocked until all have) and then snapshots its keyed state.

use super::{TaskControl, TaskEnv, TaskError};
use crate::checkpoint::barrier::{BarrierAligner, BarrierOutcome};
use crate::checkpoint::TaskStateSnapshot;
use crate::config::Sabotage;
use crate::protocol::DataMsg;
use crate::record::Record;
use crate::state::KeyedCountState;

pub async fn run(mut env: TaskEnv) -> Result<(), TaskError> {
    let sub = env.tdd.id.vertex.subtask;
    let restored = env.restored_state().await?;
    let partitioner = env.partitioner();
    let mut state = if env.sabotage == Sabotage::CountIgnoresRestoredState {
        KeyedCountState::default()
    } else {
        let snaps = restored.iter().filter_map(|s| match s.as_ref() {
            TaskStateSnapshot::Keyed(k) => Some(k),
            _ => None,
        });
        KeyedCountState::restore(snaps, partitioner.as_ref(), sub, env.tdd.parallelism)
    };
    let mut out = env.connect_outputs().await?;
    let mut input = env.connect_inputs().await?;
    let mut aligner = BarrierAligner::new(input.num_channels());
    let (snapshots, _writer) = env.spawn_snapshot_writer();
    env.report_running();

    loop {
        tokio::select! {
            biased;
            c = env.control.recv() => match c {
                Some(TaskControl::NotifyCheckpointComplete(_)) => {}
                Some(TaskControl::TriggerCheckpoint(_)) => {
                    return Err(TaskError::Network("trigger sent to a non-source task".into()));
                }
                None => return Ok(()),
            },
            m = input.next(|c| aligner.is_blocked(c)) => match m? {
                (ch, DataMsg::Records(batch)) => {
                    let n = batch.len();
                    for r in batch {
                        let count = state.increment(r.key);
                        out.emit(Record { value: count, ..r }).await?;
                    }
                    out.flush().await?;
                    input.processed(ch, n).await?;
                }
                (ch, DataMsg::Barrier(barrier)) => {
                    if let BarrierOutcome::Aligned { id, .. } = aligner.on_barrier(ch, barrier.id) {
                        out.broadcast_barrier(barrier).await?;
                        let _ = snapshots.send((id, TaskStateSnapshot::Keyed(state.snapshot())));
                    }
                }
            }
        }
    }
}
