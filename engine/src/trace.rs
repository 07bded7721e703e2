//! The trace: every meaningful event with simulated time, in a deterministic
//! order. Its hash identifies a run: same scenario + seed + binary ⇒ same hash.
//!
//! Engine processes, the simulated services and the fault injector all append
//! to one [`Tracer`]. Only rare events go here (checkpoints, failures,
//! restarts, commits, faults), never per-record events.
//!
//! The checkers read the trace, so appending asserts what they rely on:
//! entries in time order, legal job status changes, lease epochs that only
//! increase and leaders of granted epochs, and the consistency of an
//! event's own fields.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::graph::ExecutionVertexId;
use crate::protocol::ExecutionAttemptId;
use crate::status::JobStatus;

/// Ids in the trace are typed in Rust and written as their text
/// (`v3[1]#2`): serialized with `Display`, read back with `FromStr`.
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// How a cancellation finished (Flink's `Execution.completeCancelling`
/// callers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationEnd {
    /// The TaskManager reported the task CANCELED once it had stopped
    /// (`updateTaskExecutionState`).
    Reported,
    /// No cancel call was accepted: after the last try the execution is
    /// failed, which completes the cancellation (`sendCancelRpcCall`).
    CancelCallsTimedOut,
    /// The TaskManager was declared lost (its slots were released).
    TaskManagerLost,
    /// The task failed, or finished, while it was being cancelled.
    EndedOnItsOwn,
}

/// One trace event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    TaskManagerRegistered {
        tm: u32,
        slots: u32,
    },
    TaskManagerLost {
        tm: u32,
        reason: String,
    },
    JobStatusChanged {
        from: JobStatus,
        to: JobStatus,
    },
    TasksDeployed {
        attempt: u32,
        tasks: u32,
        restored_from: Option<u64>,
    },
    TaskFailed {
        #[serde(with = "as_text")]
        task: ExecutionVertexId,
        attempt: u32,
        reason: String,
    },
    /// The JobManager sent a cancel call for an attempt (Flink's
    /// `Execution.cancel`: the attempt is CANCELING). `try_number` counts
    /// the calls: a call the TaskManager does not accept within
    /// `pekko.ask.timeout` is sent again, 3 calls in all.
    TaskCanceling {
        #[serde(with = "as_text")]
        task: ExecutionVertexId,
        attempt: u32,
        try_number: u32,
    },
    /// A cancelling attempt is CANCELED: its cancellation finished, and how.
    TaskCanceled {
        #[serde(with = "as_text")]
        task: ExecutionVertexId,
        attempt: u32,
        how: CancellationEnd,
    },
    /// A failure of the whole job (e.g. too many failed checkpoints).
    GlobalFailure {
        reason: String,
    },
    RestartScheduled {
        delay_ms: i64,
        num_restarts: u32,
    },
    WaitingForSlots {
        needed: u32,
        available: u32,
    },
    /// A due restart waits until checkpoint `id`, fully acknowledged, is
    /// either in the completed checkpoint store or known not to be: the
    /// restore must use what the store will hold.
    WaitingForCheckpoint {
        id: u64,
    },
    JobFailed {
        reason: String,
    },
    CheckpointTriggered {
        id: u64,
    },
    CheckpointCompleted {
        id: u64,
        duration_ms: i64,
        size_bytes: u64,
        /// Bytes uploaded for it: `size_bytes`, or less when incremental
        /// (Flink's checkpointed size against its full size).
        #[serde(default)]
        uploaded_bytes: u64,
        /// Largest `checkpointAlignmentTime` of the tasks.
        alignment_ms: i64,
        /// Largest synchronous phase of the tasks (Flink's `sync_duration`).
        #[serde(default)]
        sync_ms: i64,
        /// `lastCheckpointPersistedData`: in-flight data persisted.
        persisted_bytes: u64,
    },
    CheckpointAborted {
        id: u64,
        reason: String,
    },
    CheckpointTriggerFailed {
        reason: String,
    },
    TxnCommitted {
        txn: String,
        records: u64,
    },
    TxnAborted {
        txn: String,
    },
    RequestRejected {
        service: String,
        reason: String,
    },
    Fault {
        description: String,
    },
    /// The coordination service granted a lease with a new epoch.
    LeaseGranted {
        candidate: u32,
        epoch: u64,
    },
    /// A JobManager recovered the job's state and acts as leader of `epoch`.
    LeadershipGranted {
        epoch: u64,
        restored_from: Option<u64>,
    },
    /// A JobManager stopped acting as leader of `epoch`.
    LeadershipRevoked {
        epoch: u64,
        reason: String,
    },
    /// A keyed task restored its state: the keys it kept (and of those, the
    /// ones that moved from another subtask) out of all keys offered, with
    /// XOR fingerprints of `(key, count)` entries kept and offered.
    KeyedStateRestored {
        #[serde(with = "as_text")]
        task: ExecutionAttemptId,
        parallelism: u32,
        keys: u64,
        moved_keys: u64,
        total_keys: u64,
        fingerprint: u64,
        total_fingerprint: u64,
        /// Snapshots offered: 1 (its own, same parallelism) or all of the
        /// old subtasks' (a rescale).
        offered: u32,
    },
    /// Reactive mode changed an operator's parallelism (a rescale).
    Rescaled {
        vertex: String,
        /// The job vertex index (tasks are named `v<id>[subtask]`).
        id: u32,
        from: u32,
        to: u32,
    },
    /// A keyed task received a record of a key another subtask owns.
    OwnershipViolation {
        #[serde(with = "as_text")]
        task: ExecutionAttemptId,
        key: u64,
        owner: u32,
    },
    /// A task downloaded the state it restores (`bytes` over the
    /// TaskManager's checkpoint-storage bandwidth, plus latency) and is
    /// about to run: the end of the restore phase.
    StateRestored {
        #[serde(with = "as_text")]
        task: ExecutionAttemptId,
        bytes: u64,
        download_ms: u64,
        /// Read from a task-local copy on the TaskManager's disk.
        #[serde(default)]
        local: bool,
    },
    /// A TaskManager accepted a deployment from JobManager `jm` of `epoch`.
    DeploymentAccepted {
        #[serde(with = "as_text")]
        task: ExecutionAttemptId,
        jm: u32,
        epoch: u64,
    },
    Note {
        text: String,
    },
    /// Uncoordinated checkpoints: a deployment restores recovery line
    /// `checkpoint` (none: every task's initial state), forgetting the
    /// restarted tasks' snapshots after it (the domino effect's measure).
    RecoveryLineRestored {
        checkpoint: Option<u64>,
        snapshots_rolled_back: u64,
    },
}

/// A trace line: simulated milliseconds, node name, event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub t_ms: u64,
    pub node: String,
    #[serde(flatten)]
    pub event: TraceEvent,
}

impl std::fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ev = serde_json::to_string(&self.event).unwrap_or_else(|_| format!("{:?}", self.event));
        write!(f, "{:>9.3}s {:<18} {}", self.t_ms as f64 / 1000.0, self.node, ev)
    }
}

/// A shared, append-only trace. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Tracer {
    inner: Arc<Mutex<TraceLog>>,
    /// Counted beside the trace, not in it.
    traffic: crate::checkpoint::traffic::CheckpointTraffic,
}

#[derive(Debug)]
struct TraceLog {
    start: madsim::time::Instant,
    entries: Vec<TraceEntry>,
    /// The newest epoch the coordination service granted (0 before any).
    last_lease_epoch: u64,
}

impl TraceLog {
    /// Append `entry` after asserting it against the entries before it.
    fn append(&mut self, entry: TraceEntry) {
        let last_ms = self.entries.last().map_or(0, |e| e.t_ms);
        assert!(
            entry.t_ms >= last_ms,
            "invariant: trace time goes back from {last_ms} to {} ms (madsim's clock is monotone)",
            entry.t_ms
        );
        match entry.event {
            TraceEvent::LeaseGranted { epoch, .. } => {
                assert!(
                    epoch > self.last_lease_epoch,
                    "invariant: lease epoch {epoch} granted after epoch {}",
                    self.last_lease_epoch
                );
                self.last_lease_epoch = epoch;
            }
            TraceEvent::LeadershipGranted { epoch, .. }
            | TraceEvent::LeadershipRevoked { epoch, .. }
            | TraceEvent::DeploymentAccepted { epoch, .. } => assert!(
                epoch <= self.last_lease_epoch,
                "invariant: {} acts for epoch {epoch}, newer than the last granted {}",
                entry.node,
                self.last_lease_epoch
            ),
            _ => {}
        }
        entry.event.assert_consistent();
        self.entries.push(entry);
    }
}

impl TraceEvent {
    /// The invariants of an event's own fields, asserted as it is recorded.
    fn assert_consistent(&self) {
        match self {
            TraceEvent::JobStatusChanged { from, to } => {
                assert!(
                    from.can_transition_to(*to),
                    "invariant: illegal job status change {from:?} -> {to:?}"
                );
            }
            TraceEvent::TasksDeployed { attempt, tasks, .. } => {
                assert!(
                    *attempt >= 1 && *tasks >= 1,
                    "invariant: attempt {attempt} deploys {tasks} tasks"
                );
            }
            TraceEvent::TaskCanceling { task, try_number, .. } => {
                assert!(
                    (1..=3).contains(try_number),
                    "invariant: cancel call {try_number} of 3 for {task}"
                );
            }
            TraceEvent::RestartScheduled { delay_ms, .. } => {
                assert!(*delay_ms >= 0, "invariant: restart delay {delay_ms} ms is negative");
            }
            TraceEvent::CheckpointCompleted { id, duration_ms, .. } => {
                assert!(*duration_ms >= 0, "invariant: checkpoint {id} took {duration_ms} ms");
            }
            TraceEvent::KeyedStateRestored {
                task,
                keys,
                moved_keys,
                total_keys,
                offered,
                ..
            } => {
                assert!(
                    moved_keys <= keys && keys <= total_keys,
                    "invariant: {task} kept {keys} keys ({moved_keys} moved) of {total_keys}"
                );
                assert!(*offered >= 1, "invariant: {task} restored from no snapshot");
            }
            TraceEvent::Rescaled { vertex, from, to, .. } => {
                assert!(
                    from != to && *from >= 1 && *to >= 1,
                    "invariant: rescale of {vertex} from {from} to {to}"
                );
            }
            _ => {}
        }
    }
}

impl Tracer {
    /// Create a tracer; must be called inside the simulation (time zero is now).
    pub fn new() -> Self {
        Tracer {
            inner: Arc::new(Mutex::new(TraceLog {
                start: madsim::time::Instant::now(),
                entries: Vec::new(),
                last_lease_epoch: 0,
            })),
            traffic: Default::default(),
        }
    }

    /// The run's checkpoint traffic counters (not traced).
    pub fn traffic(&self) -> &crate::checkpoint::traffic::CheckpointTraffic {
        &self.traffic
    }

    /// Simulated milliseconds since the tracer was created.
    pub fn now_ms(&self) -> u64 {
        let log = self.inner.lock().expect("invariant: trace lock not poisoned");
        madsim::time::Instant::now().duration_since(log.start).as_millis() as u64
    }

    /// Simulated nanoseconds since the tracer was created (the resource
    /// model's clock).
    pub fn now_ns(&self) -> u64 {
        let log = self.inner.lock().expect("invariant: trace lock not poisoned");
        madsim::time::Instant::now().duration_since(log.start).as_nanos() as u64
    }

    /// The simulated instant `ns` nanoseconds after the tracer's origin.
    pub fn instant_at_ns(&self, ns: u64) -> madsim::time::Instant {
        let log = self.inner.lock().expect("invariant: trace lock not poisoned");
        log.start + std::time::Duration::from_nanos(ns)
    }

    /// The simulated instant `ms` milliseconds after the tracer's origin
    /// (the clock every process reads through [`Tracer::now_ms`]).
    pub fn instant_at(&self, ms: u64) -> madsim::time::Instant {
        let log = self.inner.lock().expect("invariant: trace lock not poisoned");
        log.start + std::time::Duration::from_millis(ms)
    }

    pub fn record(&self, node: &str, event: TraceEvent) {
        let mut log = self.inner.lock().expect("invariant: trace lock not poisoned");
        let t_ms = madsim::time::Instant::now().duration_since(log.start).as_millis() as u64;
        log.append(TraceEntry {
            t_ms,
            node: node.to_string(),
            event,
        });
    }

    /// Entries from index `from` on (a caller polling for new events).
    pub fn entries_from(&self, from: usize) -> Vec<TraceEntry> {
        let log = self.inner.lock().expect("invariant: trace lock not poisoned");
        // Append-only: a poller's cursor is a length the trace had.
        assert!(
            from <= log.entries.len(),
            "invariant: trace cursor {from} past its {} entries",
            log.entries.len()
        );
        log.entries.get(from..).map(<[TraceEntry]>::to_vec).unwrap_or_default()
    }

    pub fn entries(&self) -> Vec<TraceEntry> {
        self.inner
            .lock()
            .expect("invariant: trace lock not poisoned")
            .entries
            .clone()
    }
}

impl Default for Tracer {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a 64: a stable, platform-independent hash of bytes (the trace
/// hash, the scenario fingerprint).
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a64 {
    /// Hash `bytes` after what was hashed so far.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// FNV-1a 64 over the entries' canonical text: stable across runs of one binary.
pub fn trace_hash(entries: &[TraceEntry]) -> u64 {
    let mut h = Fnv1a64::default();
    for e in entries {
        h.write(e.to_string().as_bytes());
        h.write(b"\n");
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_64_matches_the_reference_vectors() {
        let hash = |s: &str| {
            let mut h = Fnv1a64::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn typed_ids_are_written_as_text_and_read_back() {
        let task: ExecutionAttemptId = "v3[1]#4.2".parse().expect("an attempt");
        assert_eq!(
            (task.vertex.vertex, task.vertex.subtask, task.epoch, task.attempt),
            (3, 1, 4, 2)
        );
        let event = TraceEvent::DeploymentAccepted { task, jm: 1, epoch: 4 };
        let json = serde_json::to_string(&event).expect("json");
        assert_eq!(
            json,
            r#"{"event":"deployment_accepted","task":"v3[1]#4.2","jm":1,"epoch":4}"#
        );
        assert_eq!(serde_json::from_str::<TraceEvent>(&json).expect("read back"), event);
        let failed = TraceEvent::TaskFailed {
            task: "v0[2]".parse().expect("a subtask"),
            attempt: 1,
            reason: "x".into(),
        };
        let json = serde_json::to_string(&failed).expect("json");
        assert!(json.contains(r#""task":"v0[2]""#), "{json}");
        assert_eq!(serde_json::from_str::<TraceEvent>(&json).expect("read back"), failed);
        for bad in [
            "v3[1]",
            "v3[1]#",
            "v3[1]#x",
            "3[1]#2",
            "v3[1]#0.2",
            "v3[1#2",
            "v3[1]#2.3.4",
        ] {
            assert!(bad.parse::<ExecutionAttemptId>().is_err(), "{bad}");
        }
        assert_eq!("v3[1]#2".parse::<ExecutionAttemptId>().map(|t| t.epoch), Ok(0));
        assert!(
            serde_json::from_str::<TraceEvent>(r#"{"event":"deployment_accepted","task":"v3","jm":1,"epoch":4}"#)
                .is_err()
        );
    }
}
