//! The source task: reads its source-log partitions by offset and emits records.
//!
//! Subtask i of parallelism p reads the partitions of its range whose index
//! within the range is i modulo p, round robin.
//! On a checkpoint trigger (between two fetches, so the offsets match exactly
//! the records already emitted) it broadcasts the barrier and snapshots its
//! offsets. On restore it continues from the restored offsets, so records read
//! after the checkpoint are read again (and their effects rolled back).
//!
//! Records carry their event time (arrival in the source log). After a fetch
//! the source emits a watermark, at most one every 200 ms as Flink's
//! periodic watermarks: the earliest event time any of its partitions can
//! still produce (a finished partition produces none).
//!
//! A source that has caught up (no partition had a full batch waiting in a
//! round) waits `halab.source.poll-interval` before the next round, so that
//! records travel in batches rather than a few at a time.

use std::collections::BTreeMap;

use tokio::sync::mpsc::error::TryRecvError;

use super::io::{OutputGate, BUFFER_TIMEOUT_MS};
use super::{Snapshots, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::{CheckpointBarrier, OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::net::RpcClient;
use crate::protocol::{SourceLogRequest, SourceLogResponse, TaskCheckpointMetrics};
use crate::record::{Origin, Record};
use crate::resources::cpu::CpuDebt;
use crate::resources::CostedOperator;

/// Least time between two watermarks of a source (ms): Flink's default
/// `pipeline.auto-watermark-interval`.
const WATERMARK_INTERVAL_MS: u64 = 200;

pub async fn run(mut env: TaskEnv, first_partition: u32, partitions: u32) -> Result<(), TaskError> {
    let sub = env.tdd.id.vertex.subtask;
    let p = env.tdd.parallelism;
    let mut offsets: BTreeMap<u32, u64> = (0..partitions)
        .filter(|q| q % p == sub)
        .map(|q| (first_partition + q, 0))
        .collect();
    let restored = env.restored_state().await?;
    let (_, replay_out) = env.in_flight_to_replay(&restored);
    let mut restored_partitions = std::collections::BTreeSet::new();
    for s in &restored {
        if let OperatorState::Source { offsets: restored } = &s.operator {
            if env.sabotage != Sabotage::SourceIgnoresRestoredOffsets {
                for (q, o) in restored {
                    if let Some(cur) = offsets.get_mut(q) {
                        *cur = *o;
                        // A partition was read by one old subtask.
                        let once = restored_partitions.insert(*q);
                        assert!(once, "invariant: partition {q} restored from two snapshots");
                    }
                }
            }
        }
    }
    // Output channels first, as Flink sets up partitions before restoring:
    // consumers can connect while the state downloads.
    let mut out = env.connect_outputs().await?;
    env.download_restored_state(env.restored_bytes(&restored)).await;
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
    let resources = env.resources.clone();
    let mut cpu = CpuDebt::default();
    let mut nic = CpuDebt::default();

    let parts: Vec<u32> = offsets.keys().copied().collect();
    assert!(
        !parts.is_empty(),
        "invariant: source subtask {sub} of {p} has none of {partitions} partitions"
    );
    // Every record emitted is a replayed one or one fetched since the start.
    let replayed = out.records_out;
    let mut fetched = 0u64;
    let mut rates: BTreeMap<u32, u64> = BTreeMap::new();
    let mut finished: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
    let mut watermark = 0u64;
    let mut last_watermark_at: Option<u64> = None;
    let max = env.config.batch_size as u32;
    let mut next = 0usize;
    let mut backlog = false;
    let mut round_done = false;
    let mut flush_at: Option<u64> = None;
    loop {
        if round_done {
            // A round over every partition ended. If none had a full batch
            // waiting, the source has caught up: wait one poll interval
            // (waking for control messages) so that the next round fetches
            // what arrived meanwhile in one batch, instead of polling back to
            // back for a few records at a time (every message costs
            // simulated and wall time). A source behind fetches on at once.
            if !backlog {
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
            backlog = false;
        }
        // Partly filled output buffers go out after the buffer timeout
        // (full ones at once, all of them ahead of barriers and watermarks).
        if !out.has_buffered() {
            flush_at = None;
        } else {
            let now = env.tracer.now_ms();
            match flush_at {
                None => flush_at = Some(now + BUFFER_TIMEOUT_MS),
                Some(t) if now >= t => {
                    out.flush().await?;
                    flush_at = None;
                }
                Some(_) => {}
            }
        }
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
        round_done = next == 0;
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
        assert!(
            keys.len() as u64 <= u64::from(max),
            "invariant: a fetch returns at most what was asked"
        );
        assert!(
            !finished.contains(&q) || keys.is_empty(),
            "invariant: a finished partition has nothing more"
        );
        if end {
            finished.insert(q);
        }
        let known = rates.insert(q, rate);
        // Event times and watermarks assume a fixed rate per partition.
        assert!(
            known.is_none_or(|r| r == rate),
            "invariant: partition {q} rate {rate} was {known:?}"
        );
        backlog |= keys.len() as u64 >= u64::from(max);
        if keys.is_empty() {
            continue;
        }
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
        fetched += n;
        assert_eq!(
            out.records_out,
            replayed + fetched,
            "invariant: every fetched record emitted once"
        );
        let read = offsets.get_mut(&q).expect("invariant: own partition");
        assert_eq!(*read, offset, "invariant: only this loop advances a partition's offset");
        *read += n;
        resources.process_records(&mut cpu, CostedOperator::Source, n).await;
        resources.send_records(&mut nic, n).await;
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
        // Offsets only grow at a fixed rate per partition: no record
        // earlier than a watermark sent can follow it.
        assert!(wm >= watermark, "invariant: watermark fell from {watermark} to {wm}");
        assert_eq!(
            wm == u64::MAX,
            finished.len() == parts.len(),
            "invariant: the final watermark once every partition finished"
        );
        // Periodic, as Flink's auto-watermark interval: a watermark goes out
        // when it advanced and the previous one is WATERMARK_INTERVAL_MS old
        // (a broadcast is a message per channel); the final one (all
        // partitions finished) goes out at once.
        let now = env.tracer.now_ms();
        let due = wm == u64::MAX || last_watermark_at.is_none_or(|t| now >= t + WATERMARK_INTERVAL_MS);
        if wm > watermark && due {
            watermark = wm;
            last_watermark_at = Some(now);
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
            snapshots.taken(id, snap, false, TaskCheckpointMetrics::default());
        }
        TaskControl::NotifyCheckpointComplete(_) => {}
        TaskControl::Finish => return Ok(true),
    }
    Ok(false)
}
