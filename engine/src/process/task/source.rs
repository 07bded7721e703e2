//! The source task: reads its source-log partitions by offset and emits records.
//!
//! Subtask i of parallelism p reads the partitions of its range whose index
//! within the range is i modulo p, round robin.
//! On a checkpoint trigger (between two fetches, so the offsets match exactly
//! the records already emitted) it broadcasts the barrier and snapshots its
//! offsets. On restore it continues from the restored offsets, so records read
//! after the checkpoint are read again (and their effects rolled back).
//!
//! Records carry their event time (arrival in the source log). After each
//! fetch the source emits a watermark: the earliest event time any of its
//! partitions can still produce (a finished partition produces none).

use std::collections::BTreeMap;

use tokio::sync::mpsc::error::TryRecvError;

use super::io::OutputGate;
use super::{Snapshots, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::{CheckpointBarrier, OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::net::RpcClient;
use crate::protocol::{SourceLogRequest, SourceLogResponse};
use crate::record::{Origin, Record};

pub async fn run(mut env: TaskEnv, first_partition: u32, partitions: u32) -> Result<(), TaskError> {
    let sub = env.tdd.id.vertex.subtask;
    let p = env.tdd.parallelism;
    let mut offsets: BTreeMap<u32, u64> = (0..partitions)
        .filter(|q| q % p == sub)
        .map(|q| (first_partition + q, 0))
        .collect();
    let restored = env.restored_state().await?;
    let (_, replay_out) = env.in_flight_to_replay(&restored);
    for s in &restored {
        if let OperatorState::Source { offsets: restored } = &s.operator {
            if env.sabotage != Sabotage::SourceIgnoresRestoredOffsets {
                for (q, o) in restored {
                    if let Some(cur) = offsets.get_mut(q) {
                        *cur = *o;
                    }
                }
            }
        }
    }
    let mut out = env.connect_outputs().await?;
    let (mut snapshots, _writer) = env.spawn_snapshot_writer();
    let mut log = RpcClient::new(
        env.endpoint.clone(),
        env.tdd.services.source_log,
        env.config.rpc_timeout,
    );
    env.report_running();
    // Output that an unaligned barrier overtook goes out first.
    for r in replay_out {
        out.emit(r).await?;
    }
    out.flush().await?;
    let unaligned = env.config.barrier_config().unaligned;

    let parts: Vec<u32> = offsets.keys().copied().collect();
    let mut rates: BTreeMap<u32, u64> = BTreeMap::new();
    let mut finished: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
    let mut watermark = 0u64;
    let max = env.config.batch_size as u32;
    let mut next = 0usize;
    let mut idle_rounds = 0usize;
    loop {
        // Control first: a trigger is taken between fetches.
        loop {
            match env.control.try_recv() {
                Ok(c) => {
                    let all_read = finished.len() == parts.len();
                    if handle_control(c, &mut out, &offsets, all_read, &mut snapshots, unaligned).await? {
                        env.finish().await;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
        }
        let q = parts[next];
        next = (next + 1) % parts.len();
        let offset = offsets[&q];
        let resp: SourceLogResponse = log
            .call(SourceLogRequest::Fetch {
                partition: q,
                offset,
                max,
            })
            .await
            .map_err(|e| TaskError::Service(e.to_string()))?;
        let (keys, rate, end) = match resp {
            SourceLogResponse::Records {
                partition,
                offset: o,
                keys,
                records_per_second,
                end,
            } if partition == q && o == offset => (keys, records_per_second.max(1), end),
            other => return Err(TaskError::Service(format!("unexpected source-log answer {other:?}"))),
        };
        if end {
            finished.insert(q);
        }
        rates.insert(q, rate);
        if keys.is_empty() {
            idle_rounds += 1;
            if idle_rounds >= parts.len() {
                idle_rounds = 0;
                // Nothing new anywhere: wait, but wake for control messages.
                tokio::select! {
                    biased;
                    c = env.control.recv() => match c {
                        Some(c) => {
                            let all_read = finished.len() == parts.len();
                            if handle_control(c, &mut out, &offsets, all_read, &mut snapshots, unaligned).await? {
                                env.finish().await;
                            }
                        }
                        None => return Ok(()),
                    },
                    _ = madsim::time::sleep(env.config.source_poll_interval) => {}
                }
            }
            continue;
        }
        idle_rounds = 0;
        let n = keys.len() as u64;
        out.emit_all(keys.into_iter().zip(offset..).map(|(key, o)| Record {
            key,
            value: 1,
            origin: Origin {
                partition: q,
                offset: o,
            },
            timestamp_ms: o * 1000 / rate,
        }))
        .await?;
        *offsets.get_mut(&q).expect("invariant: own partition") += n;
        out.flush().await?;
        // Watermark: the earliest event time still to come from any partition.
        let wm = offsets
            .iter()
            .map(|(p, o)| {
                match (finished.contains(p), rates.get(p)) {
                    (true, _) => u64::MAX,
                    (false, Some(rate)) => o * 1000 / rate,
                    // Not fetched yet: its event times are unknown.
                    (false, None) => 0,
                }
            })
            .min()
            .unwrap_or(u64::MAX);
        if wm > watermark {
            watermark = wm;
            out.broadcast_watermark(wm).await?;
        }
    }
}

/// Handle one control message; true when the task must finish.
async fn handle_control(
    c: TaskControl,
    out: &mut OutputGate,
    offsets: &BTreeMap<u32, u64>,
    all_read: bool,
    snapshots: &mut Snapshots,
    unaligned: bool,
) -> Result<bool, TaskError> {
    match c {
        TaskControl::TriggerCheckpoint(barrier @ CheckpointBarrier { id, .. }) => {
            let mut snap = TaskStateSnapshot::new(OperatorState::Source {
                offsets: offsets.clone(),
            });
            // Every own partition reported its end and everything fetched
            // was emitted: this snapshot covers all input.
            snap.end_of_input = all_read;
            snap.in_flight_output = out.forward_barrier(barrier, unaligned).await?;
            // A source has no input: its snapshot is complete at once.
            snapshots.taken(id, snap, false, 0);
        }
        TaskControl::NotifyCheckpointComplete(_) => {}
        TaskControl::Finish => return Ok(true),
    }
    Ok(false)
}
