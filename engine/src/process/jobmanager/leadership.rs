//! High availability of the JobManager: campaigning for leadership, recovering
//! the job's state when elected, keeping the lease, and the writes that only a
//! leader may make (the checkpoint id counter, the completed-checkpoint
//! pointers, the job result), each a compare-and-set carrying the epoch.
//!
//! Follows Flink's failover sequence (`flink-semantics.md` §4.2): the new
//! leader reads the job graph, skips a job that has a result, builds its
//! checkpoint coordinator from the recovered counter and completed
//! checkpoints, and restores the latest one to all tasks. Pending
//! checkpoints, the failure manager's count, the restart strategy's state and
//! `numRestarts` start fresh, because they live in the JobMaster.

use super::*;
use crate::ha::{keys, CoordValue, CoordinationRequest, CoordinationResponse, LeaderLease};

/// What a leader knows about its leadership.
pub(super) struct Leadership {
    pub epoch: u64,
    /// `None` without HA.
    pub lease: Option<LeaderLease>,
    pub recovered: Option<RecoveredJob>,
}

impl Leadership {
    pub fn without_ha() -> Leadership {
        Leadership {
            epoch: 0,
            lease: None,
            recovered: None,
        }
    }
}

/// The job's state as found in the coordination service and checkpoint
/// storage by a new leader.
pub(super) struct RecoveredJob {
    pub graph: JobGraph,
    pub next_checkpoint_id: CheckpointId,
    pub counter_version: u64,
    /// Retained completed checkpoints, oldest first.
    pub completed: Vec<CompletedCheckpoint>,
    pub pointers: Vec<CheckpointId>,
    pub pointers_version: u64,
    pub result: Option<JobStatus>,
}

/// The start-up delay between the JobManagers' first campaigns.
const STAGGER: std::time::Duration = std::time::Duration::from_millis(100);

fn coordination_client(ep: &Arc<Endpoint>, cfg: &JobManagerConfig) -> Option<RpcClient> {
    cfg.coordination
        .map(|addr| RpcClient::new(ep.clone(), addr, cfg.engine.rpc_timeout))
}

/// Campaign until elected; meanwhile refuse TaskManagers (their connections
/// are dropped). Returns `None` when the event channel closed.
pub(super) async fn campaign(
    cfg: &JobManagerConfig,
    ep: &Arc<Endpoint>,
    events: &mut mpsc::UnboundedReceiver<JmEvent>,
) -> Option<Leadership> {
    let mut coord = coordination_client(ep, cfg).expect("invariant: HA has a coordination service");
    let lease_cfg = cfg.engine.lease;
    // At start-up JobManager i campaigns i × 100 ms late, so `jm-0` leads
    // first and scenarios can aim faults at the first leader.
    madsim::time::sleep(STAGGER * cfg.index).await;
    loop {
        let sent = cfg.tracer.now_ms() as i64;
        let answer = coord
            .call::<_, CoordinationResponse>(CoordinationRequest::Campaign {
                candidate: cfg.index,
                lease: lease_cfg.lease_duration,
            })
            .await;
        if let Ok(CoordinationResponse::Elected { epoch }) = answer {
            assert!(epoch >= 1, "invariant: elected in epoch {epoch}, below 1");
            let lease = LeaderLease::granted(epoch, sent, &lease_cfg);
            match recover(cfg, ep, &mut coord, epoch).await {
                // Recovery takes time (a pause may even fall into it): lead
                // only if the lease is still valid on this clock.
                Ok(recovered) if lease.valid_at(cfg.tracer.now_ms() as i64) || cfg.ignores_lease() => {
                    return Some(Leadership {
                        epoch,
                        lease: Some(lease),
                        recovered: Some(recovered),
                    })
                }
                Ok(_) => cfg.tracer.record(
                    &cfg.node,
                    TraceEvent::LeadershipRevoked {
                        epoch,
                        reason: "the lease ran out during recovery".into(),
                    },
                ),
                Err(e) => cfg.tracer.record(
                    &cfg.node,
                    TraceEvent::LeadershipRevoked {
                        epoch,
                        reason: format!("recovery failed: {e}"),
                    },
                ),
            }
        }
        let next = madsim::time::Instant::now() + lease_cfg.retry_period;
        loop {
            tokio::select! {
                biased;
                ev = events.recv() => match ev {
                    // A standby takes no TaskManagers: dropping the
                    // connection tells the TaskManager to look again.
                    Some(_) => {}
                    None => return None,
                },
                _ = madsim::time::sleep_until(next) => break,
            }
        }
    }
}

async fn get(coord: &mut RpcClient, key: &str) -> Result<(u64, Option<CoordValue>), String> {
    match coord
        .call::<_, CoordinationResponse>(CoordinationRequest::Get { key: key.into() })
        .await
    {
        Ok(CoordinationResponse::Value { version, value }) => Ok((version, value)),
        Ok(other) => Err(format!("unexpected answer {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Read what survives a JobManager crash; submit the job graph if this is
/// the first leader.
async fn recover(
    cfg: &JobManagerConfig,
    ep: &Arc<Endpoint>,
    coord: &mut RpcClient,
    epoch: u64,
) -> Result<RecoveredJob, String> {
    let graph = job_graph(cfg, coord, epoch).await?;
    let ((pointers_version, pointers), (counter_version, next_checkpoint_id)) = checkpoint_ids(coord).await?;
    let result = match get(coord, keys::JOB_RESULT).await? {
        (_, Some(CoordValue::JobResult(s))) => Some(s),
        _ => None,
    };
    let mut storage = RpcClient::new(ep.clone(), cfg.services.checkpoint_storage, cfg.engine.rpc_timeout);
    let mut completed = Vec::new();
    for id in &pointers {
        let key = CompletedCheckpoint::metadata_key(*id);
        match storage.call::<_, StorageResponse>(StorageRequest::Get { key }).await {
            Ok(StorageResponse::Found(Some(StoredBlob::Metadata(m)))) => {
                assert_eq!(m.id, *id, "invariant: checkpoint {id}'s metadata key holds it");
                completed.push((*m).clone());
            }
            other => return Err(format!("reading checkpoint {id}: {other:?}")),
        }
    }
    Ok(RecoveredJob {
        graph,
        next_checkpoint_id,
        counter_version,
        completed,
        pointers,
        pointers_version,
        result,
    })
}

/// The job graph the coordination service holds, or this JobManager's,
/// submitted now (the first leader).
async fn job_graph(cfg: &JobManagerConfig, coord: &mut RpcClient, epoch: u64) -> Result<JobGraph, String> {
    match get(coord, keys::JOB_GRAPH).await? {
        (_, Some(CoordValue::JobGraph(g))) => Ok((*g).clone()),
        (version, _) => {
            let submit = CoordinationRequest::CompareAndSet {
                key: keys::JOB_GRAPH.into(),
                expected: version,
                value: CoordValue::JobGraph(Arc::new(cfg.job.clone())),
                epoch,
            };
            match coord.call::<_, CoordinationResponse>(submit).await {
                Ok(CoordinationResponse::Set { .. }) => Ok(cfg.job.clone()),
                other => Err(format!("submitting the job graph: {other:?}")),
            }
        }
    }
}

/// A value of the coordination service with its version.
type Versioned<T> = (u64, T);

/// The completed-checkpoint pointers and the checkpoint id counter, each
/// with its version. The pointers are read first: both only grow, and a
/// pointer is added only below a counter already written, so read in this
/// order they satisfy `pointers < counter` even if another leader writes
/// between the reads (it can, when this one's lease runs out during
/// recovery; such a leadership is then given up). Read the other way round,
/// such a torn read could see a pointer beyond the counter
/// (ha-chaos-concurrent-checkpoints seed 28).
async fn checkpoint_ids(
    coord: &mut RpcClient,
) -> Result<(Versioned<Vec<CheckpointId>>, Versioned<CheckpointId>), String> {
    let pointers = match get(coord, keys::COMPLETED_CHECKPOINTS).await? {
        (v, Some(CoordValue::Checkpoints(ids))) => (v, ids),
        (v, _) => (v, Vec::new()),
    };
    let counter = match get(coord, keys::CHECKPOINT_ID_COUNTER).await? {
        (v, Some(CoordValue::Counter(n))) => (v, n),
        (v, _) => (v, crate::checkpoint::INITIAL_CHECKPOINT_ID),
    };
    Ok((pointers, counter))
}

/// Renew the lease every retry period; report renewals and loss.
pub(super) async fn keep_lease(
    cfg: JobManagerConfig,
    ep: Arc<Endpoint>,
    epoch: u64,
    events: mpsc::UnboundedSender<JmEvent>,
) {
    let Some(mut coord) = coordination_client(&ep, &cfg) else {
        return;
    };
    let lease = cfg.engine.lease;
    loop {
        madsim::time::sleep(lease.retry_period).await;
        let sent_ms = cfg.tracer.now_ms() as i64;
        let renew = CoordinationRequest::KeepAlive {
            candidate: cfg.index,
            epoch,
            lease: lease.lease_duration,
        };
        let event = match coord.call::<_, CoordinationResponse>(renew).await {
            Ok(CoordinationResponse::Renewed) => LeaderTaskEvent::LeaseRenewed { sent_ms },
            Ok(CoordinationResponse::LeaseLost { leader }) => LeaderTaskEvent::LeaseLost {
                reason: format!("the coordination service refused the renewal (leader now {leader:?})"),
            },
            // Unreachable or slow: the own-clock deadline decides.
            _ => continue,
        };
        if events.send(JmEvent::FromLeaderTask { epoch, event }).is_err() {
            return;
        }
    }
}

/// Leader-only writes to the coordination service, in order.
pub(super) enum HaWrite {
    /// Persist the counter past `id` before its barriers go out.
    ReserveCheckpointId(CheckpointId),
    /// Add a completed checkpoint's pointer, dropping the oldest beyond
    /// `num-retained` in the same atomic write (so the new one is persisted
    /// before any old one is removed).
    AddCompletedCheckpoint(CheckpointId),
    JobResult(JobStatus),
}

/// The writer task's versions of the keys it changes.
pub(super) struct HaWriterState {
    pub epoch: u64,
    /// The next checkpoint id as the counter holds it (or will, once the
    /// write in flight lands): reserved ids only increase.
    pub next_checkpoint_id: CheckpointId,
    pub counter_version: u64,
    pub pointers: Vec<CheckpointId>,
    pub pointers_version: u64,
    pub num_retained: usize,
}

impl HaWriterState {
    /// The key, expected version and new value of `write`'s compare-and-set.
    fn compare_and_set(&mut self, write: &HaWrite) -> (&'static str, u64, CoordValue) {
        match write {
            HaWrite::ReserveCheckpointId(id) => {
                let next = self.next_checkpoint_id;
                assert!(*id >= next, "invariant: id {id} reserved below the counter {next}");
                self.next_checkpoint_id = id + 1;
                (
                    keys::CHECKPOINT_ID_COUNTER,
                    self.counter_version,
                    CoordValue::Counter(id + 1),
                )
            }
            HaWrite::AddCompletedCheckpoint(id) => {
                let next = self.next_checkpoint_id;
                assert!(*id < next, "invariant: checkpoint {id} completes unreserved ({next})");
                let mut ids = self.pointers.clone();
                ids.push(*id);
                let excess = ids.len().saturating_sub(self.num_retained);
                ids.drain(..excess);
                let retained = self.num_retained;
                assert!(ids.len() <= retained, "invariant: {ids:?} retained, at most {retained}");
                assert!(
                    ids.is_sorted_by(|a, b| a < b),
                    "invariant: pointers {ids:?} out of order"
                );
                (
                    keys::COMPLETED_CHECKPOINTS,
                    self.pointers_version,
                    CoordValue::Checkpoints(ids),
                )
            }
            HaWrite::JobResult(s) => (keys::JOB_RESULT, 0, CoordValue::JobResult(*s)),
        }
    }
}

pub(super) async fn write_ha(
    mut coord: RpcClient,
    mut state: HaWriterState,
    mut rx: mpsc::UnboundedReceiver<HaWrite>,
    events: mpsc::UnboundedSender<JmEvent>,
) {
    assert!(state.epoch >= 1, "invariant: leader-only writes carry an epoch of HA");
    while let Some(w) = rx.recv().await {
        let (key, expected, value) = state.compare_and_set(&w);
        let req = CoordinationRequest::CompareAndSet {
            key: key.into(),
            expected,
            value: value.clone(),
            epoch: state.epoch,
        };
        let result = match coord.call::<_, CoordinationResponse>(req).await {
            Ok(CoordinationResponse::Set { version }) => {
                assert!(version > expected, "invariant: {key} set to {version} from {expected}");
                match (&w, value) {
                    (HaWrite::ReserveCheckpointId(_), _) => state.counter_version = version,
                    (HaWrite::AddCompletedCheckpoint(_), CoordValue::Checkpoints(ids)) => {
                        state.pointers = ids;
                        state.pointers_version = version;
                    }
                    _ => {}
                }
                Ok(())
            }
            Ok(CoordinationResponse::Fenced { leader }) => Err(HaWriteError::Fenced(format!("{leader:?}"))),
            Ok(CoordinationResponse::Conflict { version }) => Err(HaWriteError::Fenced(format!(
                "{key} changed under us (version {version})"
            ))),
            Ok(other) => Err(HaWriteError::Failed(format!("{other:?}"))),
            Err(e) => match &w {
                HaWrite::AddCompletedCheckpoint(id) => settle_pointer_write(&mut coord, &mut state, *id).await,
                _ => Err(HaWriteError::Failed(e.to_string())),
            },
        };
        let event = LeaderTaskEvent::HaWritten { write: w, result };
        if events
            .send(JmEvent::FromLeaderTask {
                epoch: state.epoch,
                event,
            })
            .is_err()
        {
            return;
        }
    }
}

/// How long the writer waits before asking again while it settles a write.
const SETTLE_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// A pointer write whose answer never came may still take effect (the
/// request can be in the network). Settle it before reporting: read the
/// pointers, and if the checkpoint is not there, write them back unchanged
/// with compare-and-set, which makes the lost request fail should it still
/// arrive. Gives up only when fenced; the leader's own lease deadline ends
/// the attempt otherwise (the writer dies with the JobMaster).
async fn settle_pointer_write(
    coord: &mut RpcClient,
    state: &mut HaWriterState,
    id: CheckpointId,
) -> Result<(), HaWriteError> {
    loop {
        madsim::time::sleep(SETTLE_RETRY).await;
        let Ok((version, value)) = get(coord, keys::COMPLETED_CHECKPOINTS).await else {
            continue;
        };
        let ids = match value {
            Some(CoordValue::Checkpoints(ids)) => ids,
            _ => Vec::new(),
        };
        assert!(
            ids.is_sorted_by(|a, b| a < b),
            "invariant: pointers {ids:?} out of order"
        );
        if ids.contains(&id) {
            state.pointers = ids;
            state.pointers_version = version;
            return Ok(());
        }
        let fence = CoordinationRequest::CompareAndSet {
            key: keys::COMPLETED_CHECKPOINTS.into(),
            expected: version,
            value: CoordValue::Checkpoints(ids.clone()),
            epoch: state.epoch,
        };
        match coord.call::<_, CoordinationResponse>(fence).await {
            Ok(CoordinationResponse::Set { version: set }) => {
                assert!(set > version, "invariant: pointers set to {set} from {version}");
                state.pointers = ids;
                state.pointers_version = set;
                return Err(HaWriteError::Failed(format!(
                    "checkpoint {id}'s pointer was not added (settled after no answer)"
                )));
            }
            Ok(CoordinationResponse::Fenced { leader }) => return Err(HaWriteError::Fenced(format!("{leader:?}"))),
            // The lost write landed meanwhile, or no answer: look again.
            _ => continue,
        }
    }
}

/// Why a leader-only write failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum HaWriteError {
    /// Another leader exists (or wrote meanwhile): this one must stop.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The service did not answer or refused.
    #[error("failed: {0}")]
    Failed(String),
}
