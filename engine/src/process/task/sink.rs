//! The two-phase-commit sink task.
//!
//! Records go into the current transaction in the sink store, one batch per
//! request (a slow store backpressures the pipeline). At a checkpoint's snapshot the
//! transaction is pre-committed and recorded in the snapshot; when the
//! checkpoint completes it is committed. On start, the restored pre-committed
//! transactions are committed again and the restored open one aborted (see
//! [`crate::sink`]), then persisted in-flight data is replayed. Every request
//! carries this attempt's number, and the store rejects older attempts once a
//! newer one has fenced them.

use super::input::{CheckpointedInput, InputEvent};
use super::{sleep_until_ms, TaskControl, TaskEnv, TaskError};
use crate::checkpoint::{OperatorState, TaskStateSnapshot};
use crate::config::Sabotage;
use crate::net::RpcClient;
use crate::protocol::{SinkRequest, SinkResponse};
use crate::record::Record;
use crate::sink::{TwoPhaseCommitSink, TxnId};

struct Store {
    client: RpcClient,
    by: u32,
}

impl Store {
    async fn call(&mut self, req: SinkRequest) -> Result<(), TaskError> {
        match self.client.call::<_, SinkResponse>(req).await {
            Ok(SinkResponse::Ok) => Ok(()),
            Ok(SinkResponse::Rejected(why)) => Err(TaskError::Service(format!("sink store rejected: {why}"))),
            Err(e) => Err(TaskError::Service(e.to_string())),
        }
    }

    async fn write(&mut self, txn: TxnId, records: Vec<Record>) -> Result<(), TaskError> {
        if records.is_empty() {
            return Ok(());
        }
        self.call(SinkRequest::Write {
            txn,
            by: self.by,
            records,
        })
        .await
    }

    async fn commit(&mut self, txn: TxnId) -> Result<(), TaskError> {
        self.call(SinkRequest::Commit { txn, by: self.by }).await
    }
}

pub async fn run(mut env: TaskEnv) -> Result<(), TaskError> {
    let id = env.tdd.id;
    let restored = env.restored_state().await?;
    let restored_sink = restored.iter().find_map(|s| match &s.operator {
        OperatorState::Sink(s) => Some(s.clone()),
        _ => None,
    });
    let (replay_in, _) = env.in_flight_to_replay(&restored);
    let (mut tpc, plan) =
        TwoPhaseCommitSink::initialize(id.vertex.vertex, id.vertex.subtask, id.attempt, restored_sink.as_ref());
    let mut store = Store {
        client: RpcClient::new(
            env.endpoint.clone(),
            env.tdd.services.sink_store,
            env.config.rpc_timeout,
        ),
        by: id.attempt,
    };
    store
        .call(SinkRequest::Fence {
            vertex: id.vertex.vertex,
            subtask: id.vertex.subtask,
            by: id.attempt,
        })
        .await?;
    for txn in plan.commit {
        store.commit(txn).await?;
    }
    if let Some(txn) = plan.abort {
        store.call(SinkRequest::Abort { txn, by: id.attempt }).await?;
    }

    let gate = env.connect_inputs().await?;
    let mut input = CheckpointedInput::new(
        gate,
        env.config.barrier_config(),
        env.sabotage == Sabotage::NoBarrierAlignment,
    );
    let (mut snapshots, _writer) = env.spawn_snapshot_writer();
    let batch_size = env.config.batch_size;
    // Persisted in-flight input first.
    let mut buffer: Vec<Record> = replay_in;
    env.report_running();

    let clock = env.tracer.clone();
    let tracer = env.tracer.clone();
    let now = move || tracer.now_ms() as i64;
    loop {
        let deadline = input.deadline_ms();
        tokio::select! {
            biased;
            c = env.control.recv() => match c {
                Some(TaskControl::NotifyCheckpointComplete(checkpoint)) => {
                    for txn in tpc.notify_checkpoint_complete(checkpoint) {
                        store.commit(txn).await?;
                    }
                }
                Some(TaskControl::TriggerCheckpoint(_)) => {
                    return Err(TaskError::Network("trigger sent to a non-source task".into()));
                }
                None => return Ok(()),
            },
            _ = sleep_until_ms(&clock, deadline.unwrap_or(0)), if deadline.is_some() => input.on_timer(now()),
            ev = input.next(&now) => match ev? {
                InputEvent::Records { channel, batch } => {
                    let n = batch.len();
                    buffer.extend(batch);
                    if buffer.len() >= batch_size {
                        let full = std::mem::replace(&mut buffer, Vec::with_capacity(batch_size));
                        store.write(tpc.current(), full).await?;
                    }
                    input.processed(channel, n).await?;
                }
                InputEvent::Snapshot { barrier, unaligned, alignment_ms } => {
                    let (pre, state) = tpc.snapshot(barrier.id);
                    let rest = std::mem::replace(&mut buffer, Vec::with_capacity(batch_size));
                    store.write(pre, rest).await?;
                    store.call(SinkRequest::PreCommit { txn: pre, by: id.attempt }).await?;
                    if env.sabotage == Sabotage::SinkCommitsAtPreCommit {
                        store.commit(pre).await?;
                    }
                    snapshots.taken(barrier.id, TaskStateSnapshot::new(OperatorState::Sink(state)), unaligned, alignment_ms);
                }
                // Watermarks matter to event-time operators only.
                InputEvent::Watermark { .. } => {}
                InputEvent::InFlightComplete { id: checkpoint, records } => snapshots.in_flight_complete(checkpoint, records),
                InputEvent::Abort { id: checkpoint, reason } => {
                    snapshots.aborted(checkpoint);
                    env.decline(checkpoint, reason);
                }
            }
        }
    }
}
