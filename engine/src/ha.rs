//! JobManager high availability: the configuration, the coordination
//! service's protocol, and the leader's own view of its lease.
//!
//! The coordination service (a node of the simulated world, in the spirit of
//! ZooKeeper or etcd; Flink's `high-availability.type: kubernetes` works the
//! same way with a ConfigMap lease) grants one leader per job a lease with a
//! TTL and a strictly increasing epoch, the fencing token. It also keeps what
//! must survive a JobManager crash (`flink-semantics.md` §4.2) under
//! versioned keys, changed by compare-and-set that only the current leader's
//! epoch may do: the job graph, the checkpoint id counter, the retained
//! completed checkpoints and the job result.
//!
//! [`LeaderLease`] is the leader's own clock-based view: it acts only while
//! `now < sent + renew-deadline`, where `sent` is when the newest successful
//! renewal was sent. The service expires the lease at `received +
//! lease-duration` and `received ≥ sent`, so with `renew-deadline ≤
//! lease-duration` the leader stops acting before anyone else can be elected.

use std::sync::Arc;
use std::time::Duration;

use crate::checkpoint::CheckpointId;
use crate::graph::JobGraph;
use crate::status::JobStatus;

/// `high-availability.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HighAvailabilityType {
    /// One JobManager, no leader election (Flink's `NONE`): epoch 0.
    None,
    /// Leader election and job state in the coordination service, with
    /// Kubernetes-style leases (Flink's `kubernetes`).
    Kubernetes,
}

/// The lease settings (Flink's `high-availability.kubernetes.leader-election.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// `lease-duration`: how long the service keeps a lease without renewal.
    pub lease_duration: Duration,
    /// `renew-deadline`: how long the leader keeps acting after sending its
    /// newest successful renewal (must not exceed `lease-duration`).
    pub renew_deadline: Duration,
    /// `retry-period`: how often the leader renews and standbys campaign.
    pub retry_period: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(15),
            retry_period: Duration::from_secs(5),
        }
    }
}

/// Keys of the job's entries in the coordination service.
pub mod keys {
    pub const JOB_GRAPH: &str = "job/graph";
    pub const CHECKPOINT_ID_COUNTER: &str = "job/checkpoint-id-counter";
    pub const COMPLETED_CHECKPOINTS: &str = "job/completed-checkpoints";
    pub const JOB_RESULT: &str = "job/result";
}

/// A value stored in the coordination service.
#[derive(Clone, Debug)]
pub enum CoordValue {
    JobGraph(Arc<JobGraph>),
    /// The next checkpoint id to hand out (Flink's CheckpointIDCounter).
    Counter(CheckpointId),
    /// Pointers to the retained completed checkpoints, oldest first.
    Checkpoints(Vec<CheckpointId>),
    /// The job reached a globally terminal state.
    JobResult(JobStatus),
}

/// Who leads: a JobManager's index and its epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leader {
    pub candidate: u32,
    pub epoch: u64,
}

/// Requests to the coordination service.
#[derive(Clone, Debug)]
pub enum CoordinationRequest {
    /// Become leader if no lease is alive; the grant carries a new epoch.
    Campaign {
        candidate: u32,
        lease: Duration,
    },
    /// Renew the lease of `epoch`.
    KeepAlive {
        candidate: u32,
        epoch: u64,
        lease: Duration,
    },
    /// Who leads now (Flink's leader retrieval).
    GetLeader,
    Get {
        key: String,
    },
    /// Set `key` if its version is `expected` (0 = absent) and `epoch` is the
    /// current leader's.
    CompareAndSet {
        key: String,
        expected: u64,
        value: CoordValue,
        epoch: u64,
    },
}

#[derive(Clone, Debug)]
pub enum CoordinationResponse {
    Elected {
        epoch: u64,
    },
    NotElected {
        leader: Option<Leader>,
    },
    Renewed,
    /// The lease of the requester's epoch is gone.
    LeaseLost {
        leader: Option<Leader>,
    },
    Leader(Option<Leader>),
    /// The value and its version (0 = absent).
    Value {
        version: u64,
        value: Option<CoordValue>,
    },
    Set {
        version: u64,
    },
    /// The version did not match.
    Conflict {
        version: u64,
    },
    /// The epoch is not the current leader's.
    Fenced {
        leader: Option<Leader>,
    },
}

/// The leader's own view of its lease, on its own clock (pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderLease {
    pub epoch: u64,
    renew_deadline_ms: i64,
    /// When the newest successful renewal (or the campaign) was sent.
    sent_ms: i64,
}

impl LeaderLease {
    /// A lease granted to a campaign sent at `sent_ms`.
    pub fn granted(epoch: u64, sent_ms: i64, cfg: &LeaseConfig) -> LeaderLease {
        // Epoch 0 is the leadership without HA, which has no lease.
        assert!(epoch >= 1, "invariant: a lease in epoch {epoch}");
        // The leader renews before it must stop, and stops before the service
        // can grant the lease to another.
        let ordered = cfg.retry_period < cfg.renew_deadline && cfg.renew_deadline <= cfg.lease_duration;
        assert!(
            ordered,
            "invariant: not retry-period < renew-deadline <= lease-duration: {cfg:?}"
        );
        LeaderLease {
            epoch,
            renew_deadline_ms: cfg.renew_deadline.as_millis() as i64,
            sent_ms,
        }
    }

    /// A renewal sent at `sent_ms` succeeded. Renewals may be answered out of
    /// order; the newest send time counts.
    pub fn renewed(&mut self, sent_ms: i64) {
        self.sent_ms = self.sent_ms.max(sent_ms);
    }

    /// The first instant at which the leader must no longer act.
    pub fn acts_until_ms(&self) -> i64 {
        self.sent_ms + self.renew_deadline_ms
    }

    pub fn valid_at(&self, now_ms: i64) -> bool {
        now_ms < self.acts_until_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(lease: u64, renew: u64) -> LeaseConfig {
        LeaseConfig {
            lease_duration: Duration::from_millis(lease),
            renew_deadline: Duration::from_millis(renew),
            retry_period: Duration::from_millis(renew / 3),
        }
    }

    #[test]
    fn the_leader_acts_until_its_renew_deadline_after_the_newest_successful_renewal() {
        let mut l = LeaderLease::granted(3, 1_000, &cfg(3_000, 2_000));
        assert!(l.valid_at(2_999));
        assert!(!l.valid_at(3_000), "exactly at the deadline it stops");
        l.renewed(2_500);
        assert_eq!(l.acts_until_ms(), 4_500);
        l.renewed(2_000);
        assert_eq!(
            l.acts_until_ms(),
            4_500,
            "a late answer to an older renewal does not shorten it"
        );
    }

    #[test]
    fn the_leader_stops_before_the_service_can_expire_its_lease() {
        // The service counts from reception, which is never before sending.
        let c = cfg(3_000, 3_000);
        let sent = 10_000;
        let received = sent + 1;
        let l = LeaderLease::granted(1, sent, &c);
        assert!(l.acts_until_ms() <= received + c.lease_duration.as_millis() as i64);
    }
}
