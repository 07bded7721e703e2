//! The two-phase-commit sink task.
//!
//! Records go into the current transaction in the sink store, one batch per
//! request (a slow store backpressures the pipeline). At a checkpoint's snapshot the
//! transaction is pre-committed and recorded in the snapshot; when the
//! checkpoint completes it is committed. On start, the restored pre-committed
//! transactions are committed again and the restored open one aborted (see
//! [`crate::sink`]), then persisted in-flight data is replayed. Every request
//! carries this attempt's fencing token (leader epoch and attempt), and the
//! store rejects older tokens once a newer one has fenced them.

use super::driver::{run_operator, Operator};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::{CheckpointId, OperatorState};
use crate::config::Sabotage;
use crate::net::RpcClient;
use crate::protocol::{FencingToken, SinkRequest, SinkResponse};
use crate::record::Record;
use crate::resources::CostedOperator;
use crate::sink::{TwoPhaseCommitSink, TxnId};

struct Store {
    client: RpcClient,
    by: FencingToken,
    /// Records written to transactions by this attempt.
    written: u64,
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
        self.written += records.len() as u64;
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

struct Sink {
    tpc: TwoPhaseCommitSink,
    store: Store,
    buffer: Vec<Record>,
    batch_size: usize,
    commit_at_pre_commit: bool,
    /// Records received by this attempt: written, or in `buffer`.
    received: u64,
}

impl Operator for Sink {
    async fn process(&mut self, batch: Vec<Record>, _out: &mut OutputGate) -> Result<(), TaskError> {
        self.received += batch.len() as u64;
        self.buffer.extend(batch);
        assert_eq!(
            self.received,
            self.store.written + self.buffer.len() as u64,
            "invariant: every record received is written or buffered"
        );
        if self.buffer.len() >= self.batch_size {
            let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.batch_size));
            self.store.write(self.tpc.current(), full).await?;
        }
        Ok(())
    }

    async fn snapshot(&mut self, checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        let (pre, state) = self.tpc.snapshot(checkpoint);
        let rest = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.batch_size));
        self.store.write(pre, rest).await?;
        // Pre-committed with everything before the barrier.
        assert_eq!(
            self.received, self.store.written,
            "invariant: records before barrier {checkpoint} left out of {pre}"
        );
        self.store
            .call(SinkRequest::PreCommit {
                txn: pre,
                by: self.store.by,
            })
            .await?;
        if self.commit_at_pre_commit {
            self.store.commit(pre).await?;
        }
        Ok(OperatorState::Sink(state))
    }

    async fn checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<(), TaskError> {
        for txn in self.tpc.notify_checkpoint_complete(checkpoint) {
            assert!(
                txn.seq < self.tpc.current().seq,
                "invariant: checkpoint {checkpoint} commits {txn}, not pre-committed before {}",
                self.tpc.current()
            );
            self.store.commit(txn).await?;
        }
        Ok(())
    }
}

pub async fn run(env: TaskEnv) -> Result<(), TaskError> {
    let id = env.tdd.id;
    let restored = env.restored_state().await?;
    let restored_sink = restored.iter().find_map(|s| match &s.operator {
        OperatorState::Sink(s) => Some(s.clone()),
        _ => None,
    });
    let (replay_in, _) = env.in_flight_to_replay(&restored);
    env.download_restored_state(env.restored_bytes(&restored)).await;
    let (tpc, plan) = TwoPhaseCommitSink::initialize(id.vertex.vertex, id.vertex.subtask, restored_sink.as_ref());
    let mut store = Store {
        client: RpcClient::new(
            env.endpoint.clone(),
            env.tdd.services.sink_store,
            env.config.rpc_timeout,
        ),
        by: id.fencing_token(),
        written: 0,
    };
    assert!(
        plan.abort.is_none_or(|a| plan.commit.iter().all(|c| c.seq < a.seq)),
        "invariant: the restored open transaction follows every pre-committed one: {plan:?}"
    );
    store
        .call(SinkRequest::Fence {
            vertex: id.vertex.vertex,
            subtask: id.vertex.subtask,
            by: id.fencing_token(),
        })
        .await?;
    for txn in plan.commit {
        store.commit(txn).await?;
    }
    if let Some(txn) = plan.abort {
        store
            .call(SinkRequest::Abort {
                txn,
                by: id.fencing_token(),
            })
            .await?;
    }

    let out = env.connect_outputs().await?;
    let sink = Sink {
        tpc,
        store,
        buffer: Vec::with_capacity(env.config.batch_size),
        batch_size: env.config.batch_size,
        commit_at_pre_commit: env.sabotage == Sabotage::SinkCommitsAtPreCommit,
        received: 0,
    };
    run_operator(env, (sink, CostedOperator::Sink), out, replay_in, Vec::new()).await
}
