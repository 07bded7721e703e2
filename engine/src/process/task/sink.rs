//! The two-phase-commit sink task.
//!
//! Records go into the current transaction in the sink store, one batch per
//! request, sent by the sink's own store client ([`StoreWriter`]) so the task
//! keeps taking barriers while a write is out; the batch's credit waits for
//! the write's answer, so a slow store still backpressures the pipeline. At a checkpoint's snapshot the
//! transaction is flushed and pre-committed in one request (the records still
//! buffered go with the pre-commit, as a KafkaSink's pre-commit is one
//! producer flush) and recorded in the snapshot; when the
//! checkpoint completes it is committed. On start, the restored pre-committed
//! transactions are committed again and the restored open one aborted (see
//! [`crate::sink`]), then persisted in-flight data is replayed. Every request
//! carries this attempt's fencing token (leader epoch and attempt), and the
//! store rejects older tokens once a newer one has fenced them.

use tokio::sync::{mpsc, oneshot};

use super::driver::{run_operator, Operator, OutputInFlight};
use super::io::OutputGate;
use super::{AbortOnDrop, Restored, TaskEnv, TaskError};
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
}

impl Store {
    async fn call(&mut self, req: SinkRequest) -> Result<(), TaskError> {
        match self.client.call::<_, SinkResponse>(req).await {
            Ok(SinkResponse::Ok) => Ok(()),
            Ok(SinkResponse::Rejected(why)) => Err(TaskError::Service(format!("sink store rejected: {why}"))),
            Err(e) => Err(TaskError::Service(e.to_string())),
        }
    }

    async fn commit(&mut self, txn: TxnId) -> Result<(), TaskError> {
        self.call(SinkRequest::Commit { txn, by: self.by }).await
    }
}

/// A request on its way to the sink store, and where its answer goes.
type StoreCall = (SinkRequest, oneshot::Sender<Result<(), TaskError>>);

/// The sink's client of its store, run as its own task (as a KafkaSink's
/// producer sends from its own thread): requests go out in the order they
/// were made, one at a time, so a pre-commit follows every write before it.
/// The operator never waits for a write; the driver holds the batch's credit
/// until its write is answered, so a slow store still backpressures.
struct StoreWriter {
    calls: mpsc::UnboundedSender<StoreCall>,
    by: FencingToken,
    /// Records sent to transactions by this attempt.
    written: u64,
    /// The answer to the last write, until the driver takes it.
    in_flight: Option<oneshot::Receiver<Result<(), TaskError>>>,
    /// Stops the client task when the sink ends.
    _client: AbortOnDrop,
}

impl StoreWriter {
    fn spawn(mut store: Store) -> StoreWriter {
        let by = store.by;
        let (calls, mut rx) = mpsc::unbounded_channel::<StoreCall>();
        let handle = madsim::task::spawn(async move {
            while let Some((req, answer)) = rx.recv().await {
                // The operator may have ended and dropped the receiver.
                let _ = answer.send(store.call(req).await);
            }
        });
        StoreWriter {
            calls,
            by,
            written: 0,
            in_flight: None,
            _client: AbortOnDrop(handle),
        }
    }

    fn send(&self, req: SinkRequest) -> oneshot::Receiver<Result<(), TaskError>> {
        let (answer, rx) = oneshot::channel();
        // The client task lives as long as `self` (it is only aborted on drop).
        self.calls
            .send((req, answer))
            .expect("invariant: the sink store client runs while the sink does");
        rx
    }

    /// Wait for the answer to a request.
    async fn answer(rx: oneshot::Receiver<Result<(), TaskError>>) -> Result<(), TaskError> {
        rx.await
            .unwrap_or_else(|_| Err(TaskError::Service("sink store client stopped".into())))
    }

    /// Send `records` to `txn` without waiting; the answer waits in
    /// `in_flight` for the driver.
    fn write(&mut self, txn: TxnId, records: Vec<Record>) {
        assert!(!records.is_empty(), "invariant: only full batches are written");
        assert!(self.in_flight.is_none(), "invariant: the driver took the last write");
        self.written += records.len() as u64;
        let req = SinkRequest::Write {
            txn,
            by: self.by,
            records,
        };
        self.in_flight = Some(self.send(req));
    }

    /// Write what is still buffered and pre-commit `txn`, in one request
    /// queued behind every write before it.
    async fn pre_commit(&mut self, txn: TxnId, last: Vec<Record>) -> Result<(), TaskError> {
        self.written += last.len() as u64;
        Self::answer(self.send(SinkRequest::PreCommit { txn, by: self.by, last })).await
    }

    async fn commit(&mut self, txn: TxnId) -> Result<(), TaskError> {
        Self::answer(self.send(SinkRequest::Commit { txn, by: self.by })).await
    }
}

struct Sink {
    tpc: TwoPhaseCommitSink,
    store: StoreWriter,
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
        if self.buffer.len() >= self.batch_size {
            let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.batch_size));
            self.store.write(self.tpc.current(), full);
        }
        assert_eq!(
            self.received,
            self.store.written + self.buffer.len() as u64,
            "invariant: every record received is written or buffered"
        );
        Ok(())
    }

    fn take_output_in_flight(&mut self) -> Option<OutputInFlight> {
        let rx = self.store.in_flight.take()?;
        Some(Box::pin(StoreWriter::answer(rx)))
    }

    async fn snapshot(&mut self, checkpoint: CheckpointId) -> Result<OperatorState, TaskError> {
        let (pre, state) = self.tpc.snapshot(checkpoint);
        let last = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.batch_size));
        self.store.pre_commit(pre, last).await?;
        // Pre-committed with everything before the barrier.
        assert_eq!(
            self.received, self.store.written,
            "invariant: records before barrier {checkpoint} left out of {pre}"
        );
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

    let mut out = env.connect_outputs().await?;
    let (local, logged) = env.restore_uncoordinated(&restored, &mut out).await?;
    let mut replay_in = replay_in;
    replay_in.extend(logged);
    let sink = Sink {
        tpc,
        store: StoreWriter::spawn(store),
        buffer: Vec::with_capacity(env.config.batch_size),
        batch_size: env.config.batch_size,
        commit_at_pre_commit: env.sabotage == Sabotage::SinkCommitsAtPreCommit,
        received: 0,
    };
    // A sink has no output channels: no output in-flight data.
    let ready = Restored {
        out,
        replay_in,
        replay_out: Vec::new(),
        local,
    };
    run_operator(env, (sink, CostedOperator::Sink), ready).await
}
