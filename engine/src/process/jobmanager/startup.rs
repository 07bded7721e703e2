//! What a leadership starts: the tasks it runs beside its `JobMaster` and
//! the `JobMaster` itself, built from the job (and, with HA, from what the
//! new leader recovered), then its event loop until the leadership ends.

use super::*;

/// Run the job as leader until the leadership ends (never without HA).
pub(super) async fn lead(
    cfg: &JobManagerConfig,
    ep: &Arc<Endpoint>,
    ev_tx: &mpsc::UnboundedSender<JmEvent>,
    ev_rx: &mut mpsc::UnboundedReceiver<JmEvent>,
    l: leadership::Leadership,
) {
    let with_ha = cfg.coordination.is_some();
    assert_eq!(l.epoch > 0, with_ha, "invariant: epoch 0 is the leadership without HA");
    let lease_epoch = l.lease.map(|lease| lease.epoch);
    assert_eq!(
        lease_epoch,
        with_ha.then_some(l.epoch),
        "invariant: a lease with HA, of the epoch"
    );
    assert_eq!(
        l.recovered.is_some(),
        with_ha,
        "invariant: a leader with HA recovered the job"
    );
    let (meta_tx, ha, _tasks) = LeaderTasks::spawn(cfg, ep, ev_tx, &l);
    let Ok(mut jm) = JobMaster::new(cfg.clone(), meta_tx, ha, l) else {
        // A configuration the engine cannot run: the job failed (traced).
        std::future::pending::<()>().await;
        return;
    };
    jm.run(ev_rx).await;
}

/// Where completed checkpoints go to have their metadata stored.
pub(super) type MetadataSender = mpsc::UnboundedSender<CompletedCheckpoint>;

/// Where leader-only writes to the coordination service go (with HA).
pub(super) type HaSender = mpsc::UnboundedSender<leadership::HaWrite>;

/// The tasks a leadership runs beside its `JobMaster`: the metadata writer
/// and, with HA, the writer of leader-only keys and the lease keeper. They
/// end with the leadership.
struct LeaderTasks {
    /// With HA: the leader-only writer and the lease keeper.
    _background: Vec<AbortOnDrop>,
    _metadata_writer: AbortOnDrop,
}

impl LeaderTasks {
    /// Start the tasks; returns where completed checkpoints' metadata and
    /// (with HA) leader-only writes go.
    fn spawn(
        cfg: &JobManagerConfig,
        ep: &Arc<Endpoint>,
        ev_tx: &mpsc::UnboundedSender<JmEvent>,
        l: &leadership::Leadership,
    ) -> (MetadataSender, Option<HaSender>, LeaderTasks) {
        let (meta_tx, meta_rx) = mpsc::unbounded_channel::<CompletedCheckpoint>();
        let storage = RpcClient::new(ep.clone(), cfg.services.checkpoint_storage, cfg.engine.rpc_timeout);
        let metadata_writer = AbortOnDrop(madsim::task::spawn(checkpoints::write_metadata(
            storage,
            l.epoch,
            meta_rx,
            ev_tx.clone(),
        )));
        let mut background = Vec::new();
        let mut ha = None;
        if let (Some(addr), Some(r)) = (cfg.coordination, l.recovered.as_ref()) {
            let (ha_tx, ha_rx) = mpsc::unbounded_channel();
            let state = leadership::HaWriterState {
                epoch: l.epoch,
                next_checkpoint_id: r.next_checkpoint_id,
                counter_version: r.counter_version,
                pointers: r.pointers.clone(),
                pointers_version: r.pointers_version,
                num_retained: cfg.engine.num_retained,
            };
            let coord = RpcClient::new(ep.clone(), addr, cfg.engine.rpc_timeout);
            background.push(AbortOnDrop(madsim::task::spawn(leadership::write_ha(
                coord,
                state,
                ha_rx,
                ev_tx.clone(),
            ))));
            background.push(AbortOnDrop(madsim::task::spawn(leadership::keep_lease(
                cfg.clone(),
                ep.clone(),
                l.epoch,
                ev_tx.clone(),
            ))));
            ha = Some(ha_tx);
        }
        let tasks = LeaderTasks {
            _background: background,
            _metadata_writer: metadata_writer,
        };
        (meta_tx, ha, tasks)
    }
}

impl JobMaster {
    pub(super) fn new(
        mut cfg: JobManagerConfig,
        metadata: MetadataSender,
        ha: Option<HaSender>,
        l: leadership::Leadership,
    ) -> Result<Self, ()> {
        adopt_recovered_job(&mut cfg, &l);
        let (max_parallelism, restart_strategy) = match job_policies(&cfg) {
            Ok(policies) => policies,
            Err(reason) => {
                cfg.tracer.record(&cfg.node, TraceEvent::JobFailed { reason });
                return Err(());
            }
        };
        let coordinator = checkpoint_coordinator(&cfg, &l);
        trace_leadership_granted(&cfg, &l, coordinator.as_ref());
        let failover = create_failover_strategy(&cfg.engine.failover_strategy, &cfg.job);
        let vertices = cfg.job.execution_vertices();
        assert!(!vertices.is_empty(), "invariant: a job has a subtask");
        let desired_parallelism = submitted_parallelism(&cfg.job, max_parallelism);
        let now = cfg.tracer.now_ms() as i64;
        let result = l.recovered.as_ref().and_then(|r| r.result);
        let (status, pending) = initial_schedule(&cfg, result, &vertices, now);
        Ok(JobMaster {
            epoch: l.epoch,
            ha,
            lease: l.lease,
            awaiting_id: BTreeMap::new(),
            metadata_stored: BTreeSet::new(),
            revoked: None,
            slots_changed_ms: now,
            reactive_wait_until: None,
            desired_parallelism,
            finishing: false,
            first_checkpoint_id: coordinator
                .as_ref()
                .map_or(crate::checkpoint::INITIAL_CHECKPOINT_ID, |c| c.next_checkpoint_id()),
            max_parallelism,
            tms: BTreeMap::new(),
            executions: BTreeMap::new(),
            status,
            next_attempt: 1,
            coordinator,
            failure_manager: CheckpointFailureManager::new(cfg.engine.tolerable_failed_checkpoints),
            restart_strategy,
            restart_rng: rand::SeedableRng::seed_from_u64(cfg.restart_seed),
            failover,
            pending,
            deployment: scheduling::DeploymentPhase::WhenDue,
            cancel_calls: BTreeMap::new(),
            num_restarts: 0,
            task_metrics: BTreeMap::new(),
            local_checkpoints: cfg
                .engine
                .protocol
                .has_local_snapshots()
                .then(|| super::uncoordinated::LocalCheckpoints::new(&cfg.job, cfg.sabotage, cfg.engine.protocol)),
            next_heartbeat_ms: now + cfg.engine.heartbeat_interval.as_millis() as i64,
            vertices,
            metadata,
            cfg,
        })
    }
}

/// A new leader runs the job graph it recovered, whose checkpoints the
/// writer of leader-only keys (their pointers) and the coordinator (their
/// metadata) both continue from.
fn adopt_recovered_job(cfg: &mut JobManagerConfig, l: &leadership::Leadership) {
    if let Some(r) = &l.recovered {
        let next = r.next_checkpoint_id;
        assert!(
            next >= crate::checkpoint::INITIAL_CHECKPOINT_ID,
            "invariant: counter {next}"
        );
        let ids = r.completed.iter().map(|c| c.id);
        assert!(
            ids.eq(r.pointers.iter().copied()),
            "invariant: the pointers' checkpoints"
        );
        cfg.job = r.graph.clone();
    }
}

/// With HA, the leadership starts: its epoch and the checkpoint it restores.
fn trace_leadership_granted(cfg: &JobManagerConfig, l: &leadership::Leadership, c: Option<&CheckpointCoordinator>) {
    if l.lease.is_some() {
        let restored_from = c.and_then(|c| c.latest_completed()).map(|c| c.id);
        let granted = TraceEvent::LeadershipGranted {
            epoch: l.epoch,
            restored_from,
        };
        cfg.tracer.record(&cfg.node, granted);
    }
}

/// The job's max parallelism (its number of key groups) and its restart
/// strategy, or why the engine cannot run it.
fn job_policies(cfg: &JobManagerConfig) -> Result<(i32, Box<dyn RestartBackoffTimeStrategy>), String> {
    let max = cfg
        .engine
        .effective_max_parallelism(cfg.job.max_operator_parallelism())
        .map_err(|e| e.to_string())?;
    let bound = crate::partition::key_groups::UPPER_BOUND_MAX_PARALLELISM;
    assert!(
        (1..=bound).contains(&max),
        "invariant: max parallelism {max} beyond {bound}"
    );
    let restart =
        load_restart_strategy(&cfg.engine.raw, cfg.engine.checkpoint_interval.is_some()).map_err(|e| e.to_string())?;
    Ok((max, restart))
}

/// The checkpoint coordinator (with checkpointing), continuing the id
/// counter and the completed checkpoints a new leader recovered.
fn checkpoint_coordinator(cfg: &JobManagerConfig, l: &leadership::Leadership) -> Option<CheckpointCoordinator> {
    let next_id = l
        .recovered
        .as_ref()
        .map_or(crate::checkpoint::INITIAL_CHECKPOINT_ID, |r| r.next_checkpoint_id);
    cfg.engine.checkpoint_interval.map(|interval| {
        let mut c = CheckpointCoordinator::with_next_id(
            CoordinatorConfig {
                interval_ms: interval.as_millis() as i64,
                timeout_ms: cfg.engine.checkpoint_timeout.as_millis() as i64,
                min_pause_ms: cfg.engine.checkpoint_min_pause.as_millis() as i64,
                max_concurrent: cfg.engine.max_concurrent_checkpoints as usize,
                num_retained: cfg.engine.num_retained,
            },
            next_id,
        );
        if let Some(r) = &l.recovered {
            c.recover_completed(r.completed.clone());
        }
        c
    })
}

/// The parallelism each vertex was submitted with (each within the max).
fn submitted_parallelism(job: &JobGraph, max: i32) -> BTreeMap<crate::graph::JobVertexId, u32> {
    let submitted: BTreeMap<_, _> = job.vertex_ids().map(|v| (v, job.vertex(v).parallelism)).collect();
    let fits = |p: &u32| *p >= 1 && *p as i32 <= max;
    assert!(submitted.values().all(fits), "invariant: parallelism within 1..={max}");
    submitted
}

/// A new JobMaster's status and restart batches: the whole job due now, or
/// nothing when the job result store says the job is done (it is not run
/// again).
fn initial_schedule(
    cfg: &JobManagerConfig,
    result: Option<JobStatus>,
    vertices: &[ExecutionVertexId],
    now: i64,
) -> (JobStatus, Vec<(i64, BTreeSet<ExecutionVertexId>)>) {
    match result {
        Some(s) => {
            assert!(s.is_terminal(), "invariant: the job's result {s:?} is terminal");
            cfg.tracer.record(
                &cfg.node,
                TraceEvent::Note {
                    text: format!("the job result store says {s:?}: the job is not run again"),
                },
            );
            (s, Vec::new())
        }
        None => (JobStatus::Created, vec![(now, vertices.iter().copied().collect())]),
    }
}
