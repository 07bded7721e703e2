//! The two-phase-commit sink task.
//!
//! Records go into the current transaction in the sink store (writes are
//! pipelined; the store answers at pre-commit). At an aligned barrier the
//! transaction is pre-committed and recorded in the snapshot; when the
//! checkpoint completes it is committed. On start, the restored pre-committed
//! transactions are committed again and the restored open one aborted (see
//! [`crate::sink`]). Every request carries this attempt's number, and the store
//! rejects older attempts once a newer one has fenced them.

use super::{TaskControl, TaskEnv, TaskError};
use crate::checkpoint::barrier::{BarrierAligner, BarrierOutcome};
use crate::checkpoint::TaskStateSnapshot;
use crate::config::Sabotage;
use crate::net::RpcClient;
use crate::protocol::{DataMsg, SinkRequest, SinkResponse};
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
        self.client
            .send_oneway(SinkRequest::Write {
                txn,
                by: self.by,
                records,
            })
            .await
            .map_err(|e| TaskError::Service(e.to_string()))
    }

    async fn commit(&mut self, txn: TxnId) -> Result<(), TaskError> {
        self.call(SinkRequest::Commit { txn, by: self.by }).await
    }
}

pub async fn run(mut env: TaskEnv) -> Result<(), TaskError> {
    let id = env.tdd.id;
    let restored = env.restored_state().await?;
    let restored_sink = restored.iter().find_map(|s| match s.as_ref() {
        TaskStateSnapshot::Sink(s) => Some(s.clone()),
        _ => None,
    });
    let (mut tpc, plan) = TwoPhaseCommitSink::initialize(id.vertex.subtask, id.attempt, restored_sink.as_ref());
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

    let mut input = env.connect_inputs().await?;
    let mut aligner = BarrierAligner::new(input.num_channels());
    let (snapshots, _writer) = env.spawn_snapshot_writer();
    let batch_size = env.config.batch_size;
    let mut buffer: Vec<Record> = Vec::with_capacity(batch_size);
    env.report_running();

    loop {
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
            m = input.next(|c| aligner.is_blocked(c)) => match m? {
                (ch, DataMsg::Records(batch)) => {
                    let n = batch.len();
                    buffer.extend(batch);
                    if buffer.len() >= batch_size {
                        let full = std::mem::replace(&mut buffer, Vec::with_capacity(batch_size));
                        store.write(tpc.current(), full).await?;
                    }
                    input.processed(ch, n).await?;
                }
                (ch, DataMsg::Barrier(barrier)) => {
                    if let BarrierOutcome::Aligned { id: checkpoint, .. } = aligner.on_barrier(ch, barrier.id) {
                        let (pre, state) = tpc.snapshot(checkpoint);
                        let rest = std::mem::replace(&mut buffer, Vec::with_capacity(batch_size));
                        store.write(pre, rest).await?;
                        store.call(SinkRequest::PreCommit { txn: pre, by: id.attempt }).await?;
                        if env.sabotage == Sabotage::SinkCommitsAtPreCommit {
                            store.commit(pre).await?;
                        }
                        let _ = snapshots.send((checkpoint, TaskStateSnapshot::Sink(state)));
                    }
                }
            }
        }
    }
}
