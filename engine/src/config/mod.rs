//! Configuration with Flink's keys and defaults.
//!
//! A [`Configuration`] is the raw key/value map a scenario writes
//! (`execution.checkpointing.interval = "1s"`); [`EngineConfig`] is its typed,
//! validated view. Unknown keys are rejected so a typo never passes silently.
//! Keys Flink does not have are prefixed `halab.`.

use crate::resources::{ResourceModel, StateBackendKind};

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checkpoint::barrier::{BarrierConfig, CheckpointingMode};
use crate::checkpoint::protocol::CheckpointProtocol;
pub use crate::duration::{format_duration, parse_bounded_duration, parse_duration, DurationError, MAX_DURATION};
use crate::ha::{HighAvailabilityType, LeaseConfig};
use crate::partition::key_groups;
use crate::partition::{PartitionerKind, PartitionerParams};

mod sabotage;
pub use sabotage::Sabotage;

/// The raw configuration: Flink keys to string values.
pub type Configuration = BTreeMap<String, String>;

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}` = `{value}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: &str, value: &str, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.to_string(),
            value: value.to_string(),
            message: message.into(),
        }
    }
}

/// Every key the engine understands (Flink's, then halab's own).
pub const KNOWN_KEYS: &[&str] = &[
    "execution.checkpointing.interval",
    "execution.checkpointing.timeout",
    "execution.checkpointing.min-pause",
    "execution.checkpointing.max-concurrent-checkpoints",
    "execution.checkpointing.tolerable-failed-checkpoints",
    "execution.checkpointing.num-retained",
    "execution.checkpointing.mode",
    "execution.checkpointing.unaligned.enabled",
    "execution.checkpointing.aligned-checkpoint-timeout",
    "heartbeat.interval",
    "heartbeat.timeout",
    "pekko.ask.timeout",
    "jobmanager.execution.failover-strategy",
    "pipeline.max-parallelism",
    "restart-strategy",
    "restart-strategy.type",
    "restart-strategy.fixed-delay.attempts",
    "restart-strategy.fixed-delay.delay",
    "restart-strategy.failure-rate.max-failures-per-interval",
    "restart-strategy.failure-rate.failure-rate-interval",
    "restart-strategy.failure-rate.delay",
    "restart-strategy.exponential-delay.initial-backoff",
    "restart-strategy.exponential-delay.max-backoff",
    "restart-strategy.exponential-delay.backoff-multiplier",
    "restart-strategy.exponential-delay.reset-backoff-threshold",
    "restart-strategy.exponential-delay.jitter-factor",
    "restart-strategy.exponential-delay.attempts-before-reset-backoff",
    "restart-strategy.crash-loop-backoff.preset",
    "restart-strategy.crash-loop-backoff.initial-backoff",
    "restart-strategy.crash-loop-backoff.multiplier",
    "restart-strategy.crash-loop-backoff.max-backoff",
    "restart-strategy.crash-loop-backoff.reset-after",
    "restart-strategy.supervisor.intensity",
    "restart-strategy.supervisor.period",
    "restart-strategy.supervisor.delay",
    "high-availability.type",
    "high-availability.kubernetes.leader-election.lease-duration",
    "high-availability.kubernetes.leader-election.renew-deadline",
    "high-availability.kubernetes.leader-election.retry-period",
    "scheduler-mode",
    "jobmanager.adaptive-scheduler.resource-stabilization-timeout",
    "halab.partitioner",
    "halab.partitioner.vnodes",
    "halab.partitioner.table-size",
    "halab.network.batch-size",
    "halab.network.credits",
    "halab.failure-detection.connection-loss",
    "halab.source.poll-interval",
    "halab.rpc.timeout",
    "state.backend.type",
    "execution.checkpointing.incremental",
    "state.backend.incremental",
    "execution.checkpointing.local-backup.enabled",
    "execution.state-recovery.from-local",
    "state.backend.local-recovery",
    "taskmanager.load-balance.mode",
    "cluster.evenly-spread-out-slots",
    "halab.checkpointing.protocol",
];

/// The typed, validated engine configuration.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// `state.backend.type`: what the synchronous snapshot phase costs.
    pub state_backend: StateBackendKind,
    /// `execution.checkpointing.incremental` (Flink 1.20's deprecated
    /// spelling `state.backend.incremental` too; the new key wins). Only
    /// RocksDB checkpoints incrementally, as in Flink: the heap backend
    /// ignores it.
    pub incremental: bool,
    /// Task-local recovery: `execution.checkpointing.local-backup.enabled`
    /// writes a secondary copy of each snapshot to the TaskManager's local
    /// disk, `execution.state-recovery.from-local` restores from it when
    /// the task comes back to the same TaskManager process. Flink 1.20's
    /// deprecated `state.backend.local-recovery` sets both; the new keys win.
    pub local_backup: bool,
    pub recover_from_local: bool,
    /// Which TaskManager each slot goes to (`taskmanager.load-balance.mode`,
    /// [`crate::placement`]).
    pub slot_placement: crate::placement::SlotPlacement,
    /// What work costs in simulated time, from the scenario's
    /// `[resources]` and `[job]` cost keys; `None` when the scenario sets
    /// none of them: then work is free, as before the model existed.
    pub resources: Option<ResourceModel>,
    /// The raw map, kept for the restart-strategy loader and the run banner.
    pub raw: Configuration,
    /// `execution.checkpointing.interval`; `None` = checkpointing off.
    /// Under the uncoordinated protocol, each task's own period.
    pub checkpoint_interval: Option<Duration>,
    /// `halab.checkpointing.protocol`.
    pub protocol: CheckpointProtocol,
    /// `execution.checkpointing.mode`.
    pub checkpointing_mode: CheckpointingMode,
    /// `execution.checkpointing.unaligned.enabled`.
    pub unaligned: bool,
    /// `execution.checkpointing.aligned-checkpoint-timeout` (0 = none).
    pub aligned_checkpoint_timeout: Duration,
    pub checkpoint_timeout: Duration,
    pub checkpoint_min_pause: Duration,
    pub max_concurrent_checkpoints: u32,
    pub tolerable_failed_checkpoints: i32,
    pub num_retained: usize,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    /// `jobmanager.execution.failover-strategy`, lower case.
    pub failover_strategy: String,
    /// `pipeline.max-parallelism`; −1 = derived from the parallelism.
    pub max_parallelism: i32,
    /// Records per network batch.
    pub batch_size: usize,
    /// Batches in flight per channel (credit-based flow control).
    pub credits: u32,
    /// Treat a broken connection as a failure: the JobManager declares a
    /// TaskManager lost when its connection breaks, and a task fails when a
    /// data connection breaks. When false only heartbeat timeouts detect a
    /// lost TaskManager (tasks with broken channels stall until cancelled).
    pub detect_connection_loss: bool,
    /// How long an idle source waits before polling the source log again.
    pub source_poll_interval: Duration,
    /// Timeout of one request to an external service.
    pub rpc_timeout: Duration,
    /// `pekko.ask.timeout`: how long the JobManager waits for a TaskManager
    /// to accept a cancel call before it tries again (Flink's
    /// `Execution.sendCancelRpcCall`, 3 tries in all).
    pub ask_timeout: Duration,
    /// `high-availability.type`.
    pub high_availability: HighAvailabilityType,
    /// `high-availability.kubernetes.leader-election.*`.
    pub lease: LeaseConfig,
    /// `scheduler-mode: reactive` (Flink's reactive mode): keyed operators
    /// run at the parallelism the available slots allow, up to the job's
    /// configured parallelism, and the job rescales when TaskManagers come
    /// and go.
    pub reactive: bool,
    /// `jobmanager.adaptive-scheduler.resource-stabilization-timeout`: with
    /// fewer slots than the job wants, how long the slot count must stay
    /// unchanged before the job starts with what there is.
    pub resource_stabilization_timeout: Duration,
    /// `halab.partitioner`: which partitioner routes keyed exchanges and
    /// places keyed state (`key-groups`, `ring`, `rendezvous`, `jump`,
    /// `maglev` or a registered plug-in, `partition::registry`), with
    /// `halab.partitioner.vnodes` / `.table-size`.
    pub partitioner: String,
    pub partitioner_params: PartitionerParams,
}

fn get<'a>(conf: &'a Configuration, key: &str) -> Option<&'a str> {
    // `check_known_keys` refuses any other key: a key read must be known.
    assert!(KNOWN_KEYS.contains(&key), "invariant: reads unknown key {key}");
    conf.get(key).map(|s| s.trim())
}

fn duration_key(conf: &Configuration, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    match get(conf, key) {
        None => Ok(default),
        Some(v) => parse_bounded_duration(v).map_err(|e| ConfigError::new(key, v, e)),
    }
}

fn int_key<T: std::str::FromStr>(conf: &Configuration, key: &str, default: T) -> Result<T, ConfigError> {
    match get(conf, key) {
        None => Ok(default),
        Some(v) => v
            .parse::<T>()
            .map_err(|_| ConfigError::new(key, v, "not a valid integer in range")),
    }
}

fn bool_key(conf: &Configuration, key: &str, default: bool) -> Result<bool, ConfigError> {
    match get(conf, key) {
        None => Ok(default),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ConfigError::new(key, v, "expected true or false")),
        },
    }
}

/// `halab.partitioner` and its parameters, checked by building the
/// partitioner once through the registry.
fn partitioner_config(conf: &Configuration) -> Result<(String, PartitionerParams), ConfigError> {
    use crate::partition::registry::{build_partitioner, routing, Routing};
    const KEY: &str = "halab.partitioner";
    let name = get(conf, KEY).unwrap_or(PartitionerKind::KeyGroups.name());
    match routing(name) {
        Ok(Routing::PerKey) => {}
        Ok(Routing::KeySetOnly) => {
            return Err(ConfigError::new(
                KEY,
                name,
                "it places a known key set and cannot route an open stream; compare it with `halab partition`",
            ))
        }
        Err(e) => return Err(ConfigError::new(KEY, name, e.to_string())),
    }
    let mut params = PartitionerParams::default();
    for (key, param) in [
        ("halab.partitioner.vnodes", "vnodes"),
        ("halab.partitioner.table-size", "table-size"),
    ] {
        if let Some(v) = get(conf, key) {
            params
                .set(param, v)
                .map_err(|e| ConfigError::new(key, v, e.to_string()))?;
            // The built-in that uses the parameter checks its range.
            let user = if param == "vnodes" {
                PartitionerKind::Ring
            } else {
                PartitionerKind::Maglev
            };
            user.build(&params)
                .map_err(|e| ConfigError::new(key, v, e.to_string()))?;
        }
    }
    build_partitioner(name, &params, conf).map_err(|e| ConfigError::new(KEY, name, e.to_string()))?;
    Ok((name.to_string(), params))
}

/// Every key is Flink's, halab's, or a registered plug-in's.
/// Refuse any key halab does not know (Flink's, halab's and plug-ins').
pub fn check_known_keys(conf: &Configuration) -> Result<(), ConfigError> {
    for (k, v) in conf {
        if !KNOWN_KEYS.contains(&k.as_str())
            && !crate::restart::registry::is_plugin_key(k)
            && !crate::partition::registry::is_plugin_key(k)
        {
            return Err(ConfigError::new(k, v, "unknown configuration key"));
        }
    }
    Ok(())
}

/// `execution.checkpointing.interval`; `None` = checkpointing off.
fn checkpoint_interval(conf: &Configuration) -> Result<Option<Duration>, ConfigError> {
    Ok(match get(conf, "execution.checkpointing.interval") {
        None => None,
        Some(v) => {
            let d =
                parse_bounded_duration(v).map_err(|e| ConfigError::new("execution.checkpointing.interval", v, e))?;
            if d < Duration::from_millis(10) {
                return Err(ConfigError::new(
                    "execution.checkpointing.interval",
                    v,
                    "must be at least 10ms",
                ));
            }
            Some(d)
        }
    })
}

/// `jobmanager.execution.failover-strategy`: `region` (Flink's default),
/// `full`, or a registered plug-in (`failover::registry`).
fn failover_strategy(conf: &Configuration) -> Result<String, ConfigError> {
    use crate::failover::registry::failover_strategy_factory;
    let name = match get(conf, "jobmanager.execution.failover-strategy") {
        None => "region".to_string(),
        Some(v) if failover_strategy_factory(v).is_some() => v.trim().to_lowercase(),
        Some(v) => {
            return Err(ConfigError::new(
                "jobmanager.execution.failover-strategy",
                v,
                "expected `region`, `full` or a registered failover strategy",
            ))
        }
    };
    // `create_failover_strategy` builds it by this name, the default included.
    let known = failover_strategy_factory(&name).is_some();
    assert!(known, "invariant: failover strategy `{name}` unknown");
    Ok(name)
}

/// `execution.checkpointing.mode`.
fn checkpointing_mode(conf: &Configuration) -> Result<CheckpointingMode, ConfigError> {
    Ok(match get(conf, "execution.checkpointing.mode") {
        None => CheckpointingMode::ExactlyOnce,
        Some(v) => match v.to_ascii_uppercase().replace('-', "_").as_str() {
            "EXACTLY_ONCE" => CheckpointingMode::ExactlyOnce,
            "AT_LEAST_ONCE" => CheckpointingMode::AtLeastOnce,
            _ => {
                return Err(ConfigError::new(
                    "execution.checkpointing.mode",
                    v,
                    "expected EXACTLY_ONCE or AT_LEAST_ONCE",
                ))
            }
        },
    })
}

/// `high-availability.type`.
fn high_availability(conf: &Configuration) -> Result<HighAvailabilityType, ConfigError> {
    Ok(match get(conf, "high-availability.type") {
        None => HighAvailabilityType::None,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "none" => HighAvailabilityType::None,
            "kubernetes" => HighAvailabilityType::Kubernetes,
            "zookeeper" => {
                return Err(ConfigError::new(
                    "high-availability.type",
                    v,
                    "ZooKeeper sessions are not modelled; the coordination service models Kubernetes leases (use `kubernetes`)",
                ))
            }
            _ => {
                return Err(ConfigError::new(
                    "high-availability.type",
                    v,
                    "expected `NONE` or `kubernetes`",
                ))
            }
        },
    })
}

/// `taskmanager.load-balance.mode` (`NONE`, `SLOTS`, `TASKS`, or halab's
/// `LOAD`), or Flink's older `cluster.evenly-spread-out-slots` (true:
/// `SLOTS`, false: `NONE`). Unset: `SLOTS`, halab's placement before the
/// key existed (Flink's default is `NONE`).
fn slot_placement(conf: &Configuration) -> Result<crate::placement::SlotPlacement, ConfigError> {
    use crate::placement::SlotPlacement;
    let key = "taskmanager.load-balance.mode";
    Ok(match get(conf, key).map(|v| v.trim().to_ascii_uppercase()) {
        None if get(conf, "cluster.evenly-spread-out-slots").is_some() => {
            match bool_key(conf, "cluster.evenly-spread-out-slots", true)? {
                true => SlotPlacement::Spread,
                false => SlotPlacement::Fill,
            }
        }
        None => SlotPlacement::Spread,
        Some(v) if v == "NONE" => SlotPlacement::Fill,
        Some(v) if v == "SLOTS" => SlotPlacement::Spread,
        Some(v) if v == "TASKS" => SlotPlacement::Tasks,
        Some(v) if v == "LOAD" => SlotPlacement::Load,
        Some(v) => {
            return Err(ConfigError::new(
                key,
                &v,
                "must be NONE, SLOTS, TASKS (Flink's) or LOAD (halab's: by measured busy time)",
            ))
        }
    })
}

/// `scheduler-mode: reactive`.
fn reactive_mode(conf: &Configuration) -> Result<bool, ConfigError> {
    Ok(match get(conf, "scheduler-mode") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("reactive") => true,
        Some(v) => {
            return Err(ConfigError::new(
                "scheduler-mode",
                v,
                "expected `reactive` (or leave it unset)",
            ))
        }
    })
}

/// `state.backend.type`.
fn state_backend(conf: &Configuration) -> Result<StateBackendKind, ConfigError> {
    Ok(
        match get(conf, "state.backend.type").map(|v| v.trim().to_ascii_lowercase()) {
            None => StateBackendKind::HashMap,
            Some(v) if v == "hashmap" => StateBackendKind::HashMap,
            Some(v) if v == "rocksdb" => StateBackendKind::RocksDb,
            Some(v) => return Err(ConfigError::new("state.backend.type", &v, "must be hashmap or rocksdb")),
        },
    )
}

/// `execution.checkpointing.incremental`, or its older name.
fn incremental_checkpoints(conf: &Configuration) -> Result<bool, ConfigError> {
    Ok(match get(conf, "execution.checkpointing.incremental") {
        Some(_) => bool_key(conf, "execution.checkpointing.incremental", false)?,
        None => bool_key(conf, "state.backend.incremental", false)?,
    })
}

/// `execution.checkpointing.unaligned.enabled`, which needs EXACTLY_ONCE
/// and no reactive mode.
fn unaligned_checkpoints(conf: &Configuration, mode: CheckpointingMode) -> Result<bool, ConfigError> {
    let unaligned = bool_key(conf, "execution.checkpointing.unaligned.enabled", false)?;
    if unaligned && reactive_mode(conf)? {
        return Err(ConfigError::new(
            "scheduler-mode",
            "reactive",
            "rescaling restores keyed state only; persisted in-flight data of unaligned checkpoints is not redistributed, so reactive mode needs aligned checkpoints",
        ));
    }
    if unaligned && mode == CheckpointingMode::AtLeastOnce {
        return Err(ConfigError::new(
            "execution.checkpointing.unaligned.enabled",
            "true",
            "unaligned checkpoints need EXACTLY_ONCE mode",
        ));
    }
    Ok(unaligned)
}

/// `high-availability.kubernetes.leader-election.*`.
fn lease_config(conf: &Configuration) -> Result<LeaseConfig, ConfigError> {
    Ok(LeaseConfig {
        lease_duration: duration_key(
            conf,
            "high-availability.kubernetes.leader-election.lease-duration",
            LeaseConfig::default().lease_duration,
        )?,
        renew_deadline: duration_key(
            conf,
            "high-availability.kubernetes.leader-election.renew-deadline",
            LeaseConfig::default().renew_deadline,
        )?,
        retry_period: duration_key(
            conf,
            "high-availability.kubernetes.leader-election.retry-period",
            LeaseConfig::default().retry_period,
        )?,
    })
}

/// A restart strategy's refusal, at the key and value it names.
fn restart_error(e: crate::restart::RestartConfigError) -> ConfigError {
    use crate::restart::RestartConfigError::{InvalidValue, UnknownStrategy};
    match &e {
        InvalidValue { key, value, reason } => ConfigError::new(key, value, reason.clone()),
        UnknownStrategy { key, value } => ConfigError::new(key, value, e.to_string()),
    }
}

impl EngineConfig {
    /// Validate a raw configuration against Flink's keys and defaults.
    pub fn from_configuration(conf: &Configuration) -> Result<EngineConfig, ConfigError> {
        check_known_keys(conf)?;
        let checkpoint_interval = checkpoint_interval(conf)?;
        let failover_strategy = failover_strategy(conf)?;
        let checkpointing_mode = checkpointing_mode(conf)?;
        let high_availability = high_availability(conf)?;
        let reactive = reactive_mode(conf)?;
        let (partitioner, partitioner_params) = partitioner_config(conf)?;
        let unaligned = unaligned_checkpoints(conf, checkpointing_mode)?;
        let state_backend = state_backend(conf)?;
        let incremental = incremental_checkpoints(conf)?;
        let legacy_local = bool_key(conf, "state.backend.local-recovery", false)?;
        let local_backup = bool_key(conf, "execution.checkpointing.local-backup.enabled", legacy_local)?;
        let recover_from_local = bool_key(conf, "execution.state-recovery.from-local", legacy_local)?;
        let cfg = EngineConfig {
            raw: conf.clone(),
            state_backend,
            incremental,
            local_backup,
            recover_from_local,
            slot_placement: slot_placement(conf)?,
            resources: None,
            checkpoint_interval,
            protocol: CheckpointProtocol::checked(conf)?,
            checkpointing_mode,
            unaligned,
            aligned_checkpoint_timeout: duration_key(
                conf,
                "execution.checkpointing.aligned-checkpoint-timeout",
                Duration::ZERO,
            )?,
            checkpoint_timeout: duration_key(conf, "execution.checkpointing.timeout", Duration::from_secs(600))?,
            checkpoint_min_pause: duration_key(conf, "execution.checkpointing.min-pause", Duration::ZERO)?,
            max_concurrent_checkpoints: int_key(conf, "execution.checkpointing.max-concurrent-checkpoints", 1)?,
            tolerable_failed_checkpoints: int_key(conf, "execution.checkpointing.tolerable-failed-checkpoints", 0)?,
            num_retained: int_key(conf, "execution.checkpointing.num-retained", 1)?,
            heartbeat_interval: duration_key(conf, "heartbeat.interval", Duration::from_secs(10))?,
            heartbeat_timeout: duration_key(conf, "heartbeat.timeout", Duration::from_secs(50))?,
            failover_strategy,
            max_parallelism: int_key(conf, "pipeline.max-parallelism", -1)?,
            batch_size: int_key(conf, "halab.network.batch-size", 512)?,
            credits: int_key(conf, "halab.network.credits", 4)?,
            detect_connection_loss: bool_key(conf, "halab.failure-detection.connection-loss", true)?,
            source_poll_interval: duration_key(conf, "halab.source.poll-interval", Duration::from_millis(20))?,
            rpc_timeout: duration_key(conf, "halab.rpc.timeout", Duration::from_secs(10))?,
            ask_timeout: duration_key(conf, "pekko.ask.timeout", Duration::from_secs(10))?,
            high_availability,
            reactive,
            resource_stabilization_timeout: duration_key(
                conf,
                "jobmanager.adaptive-scheduler.resource-stabilization-timeout",
                Duration::from_secs(10),
            )?,
            partitioner,
            partitioner_params,
            lease: lease_config(conf)?,
        };
        cfg.validate()?;
        // The restart strategy is validated by building it once.
        crate::restart::load_restart_strategy(conf, cfg.checkpoint_interval.is_some()).map_err(restart_error)?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let raw = |k: &str| self.raw.get(k).cloned().unwrap_or_default();
        if self.heartbeat_interval.is_zero() {
            return Err(ConfigError::new(
                "heartbeat.interval",
                &raw("heartbeat.interval"),
                "must be positive",
            ));
        }
        if self.heartbeat_timeout <= self.heartbeat_interval {
            return Err(ConfigError::new(
                "heartbeat.timeout",
                &raw("heartbeat.timeout"),
                "must be larger than heartbeat.interval",
            ));
        }
        let lease = |k: &str| format!("high-availability.kubernetes.leader-election.{k}");
        if self.lease.retry_period.is_zero() {
            let k = lease("retry-period");
            return Err(ConfigError::new(&k, &raw(&k), "must be positive"));
        }
        if self.lease.renew_deadline > self.lease.lease_duration {
            let k = lease("renew-deadline");
            return Err(ConfigError::new(&k, &raw(&k), "must not exceed lease-duration"));
        }
        if self.lease.retry_period >= self.lease.renew_deadline {
            let k = lease("retry-period");
            return Err(ConfigError::new(&k, &raw(&k), "must be shorter than renew-deadline"));
        }
        if self.max_concurrent_checkpoints == 0 {
            let k = "execution.checkpointing.max-concurrent-checkpoints";
            return Err(ConfigError::new(k, &raw(k), "must be at least 1"));
        }
        if self.num_retained == 0 {
            let k = "execution.checkpointing.num-retained";
            return Err(ConfigError::new(k, &raw(k), "must be at least 1"));
        }
        if self.tolerable_failed_checkpoints < 0 {
            let k = "execution.checkpointing.tolerable-failed-checkpoints";
            return Err(ConfigError::new(k, &raw(k), "must not be negative"));
        }
        if self.checkpoint_timeout.is_zero() {
            let k = "execution.checkpointing.timeout";
            return Err(ConfigError::new(k, &raw(k), "must be positive"));
        }
        if self.max_parallelism != -1 && !(1..=key_groups::UPPER_BOUND_MAX_PARALLELISM).contains(&self.max_parallelism)
        {
            let k = "pipeline.max-parallelism";
            return Err(ConfigError::new(k, &raw(k), "must be -1 or within 1..=32768"));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 20 {
            let k = "halab.network.batch-size";
            return Err(ConfigError::new(k, &raw(k), "must be within 1..=1048576"));
        }
        if self.credits == 0 {
            let k = "halab.network.credits";
            return Err(ConfigError::new(k, &raw(k), "must be at least 1"));
        }
        for (k, value) in [
            ("halab.rpc.timeout", self.rpc_timeout),
            ("pekko.ask.timeout", self.ask_timeout),
            ("halab.source.poll-interval", self.source_poll_interval),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(k, &raw(k), "must be positive"));
            }
        }
        Ok(())
    }

    /// How tasks handle barriers.
    pub fn barrier_config(&self) -> BarrierConfig {
        // `unaligned_checkpoints` refuses unaligned checkpoints in AT_LEAST_ONCE mode.
        let exactly_once = self.checkpointing_mode == CheckpointingMode::ExactlyOnce;
        assert!(!self.unaligned || exactly_once, "invariant: unaligned, AT_LEAST_ONCE");
        BarrierConfig {
            mode: self.checkpointing_mode,
            unaligned: self.unaligned,
            aligned_timeout_ms: self.aligned_checkpoint_timeout.as_millis() as i64,
        }
    }

    /// The effective max parallelism (number of key groups) for a job whose
    /// largest operator parallelism is `parallelism`.
    pub fn effective_max_parallelism(&self, parallelism: u32) -> Result<i32, ConfigError> {
        const UPPER: i32 = key_groups::UPPER_BOUND_MAX_PARALLELISM;
        let m = self.max_parallelism;
        // `validate` admits -1 (derived) or a count of key groups Flink allows.
        assert!(m == -1 || (1..=UPPER).contains(&m), "invariant: max parallelism {m}");
        let p = i32::try_from(parallelism).unwrap_or(i32::MAX);
        let max_p = if self.max_parallelism == -1 {
            key_groups::compute_default_max_parallelism(p)
                .map_err(|e| ConfigError::new("pipeline.max-parallelism", "-1", e.to_string()))?
        } else {
            self.max_parallelism
        };
        if max_p < p {
            return Err(ConfigError::new(
                "pipeline.max-parallelism",
                &max_p.to_string(),
                format!("smaller than the operator parallelism {p}"),
            ));
        }
        assert!((1..=UPPER).contains(&max_p), "invariant: {max_p} key groups for {p}");
        Ok(max_p)
    }
}
#[cfg(test)]
mod tests;
