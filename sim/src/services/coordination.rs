//! The coordination service: leader leases with epochs, and versioned keys
//! changed by compare-and-set (see `halab_engine::ha`).
//!
//! Leases are measured on the service's own clock from when a request
//! arrives. A campaign is granted only when no lease is alive, and each
//! grant gets the next epoch, so epochs strictly increase and at most one
//! lease is alive at any instant. Compare-and-set requires the version the
//! writer read and the epoch of the live lease: a leader that lost its lease
//! can change nothing. Like the other services its state lives outside its
//! node: killing the node makes it unreachable, not forgetful.
//!
//! The test-only variant without fencing renews any lease it is asked to
//! (handing leadership back to whoever asks last) and ignores epochs on
//! compare-and-set.
//!
//! Asserted: each grant's epoch is newer than all before; with fencing the
//! live lease is always the newest grant's, only it is renewed, and a key is
//! written only by the live leader, never by an older epoch than its last
//! writer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use halab_engine::ha::{CoordValue, CoordinationRequest, CoordinationResponse, Leader};
use halab_engine::trace::{TraceEvent, Tracer};
use madsim::time::Instant;

use super::Fencing;

#[derive(Debug)]
struct Lease {
    leader: Leader,
    expires: Instant,
}

/// A key's value, its version (the number of writes) and the epoch of its
/// last writer.
#[derive(Debug)]
struct Versioned {
    version: u64,
    value: CoordValue,
    epoch: u64,
}

#[derive(Debug, Default)]
struct Inner {
    lease: Option<Lease>,
    last_epoch: u64,
    values: BTreeMap<String, Versioned>,
}

/// The coordination service's state.
#[derive(Debug)]
pub struct Coordination {
    inner: Mutex<Inner>,
    tracer: Tracer,
    /// Ignored only in the test-only variant that must be caught.
    fencing: Fencing,
}

impl Coordination {
    pub fn new(tracer: Tracer, fencing: Fencing) -> Arc<Self> {
        Arc::new(Coordination {
            inner: Mutex::new(Inner::default()),
            tracer,
            fencing,
        })
    }

    /// The holder of the live lease at `now` (an expired lease is dropped).
    fn live(&self, inner: &mut Inner, now: Instant) -> Option<Leader> {
        if inner.lease.as_ref().is_some_and(|l| l.expires <= now) {
            inner.lease = None;
        }
        let leader = inner.lease.as_ref().map(|l| l.leader);
        assert!(
            !self.fencing.is_checked() || leader.is_none_or(|l| l.epoch == inner.last_epoch),
            "invariant: with fencing the live lease is the newest grant's"
        );
        leader
    }

    fn trace(&self, event: TraceEvent) {
        self.tracer.record("coordination", event);
    }

    pub fn handle(&self, req: CoordinationRequest) -> Option<CoordinationResponse> {
        let now = Instant::now();
        let mut g = self.inner.lock().expect("invariant: lock not poisoned");
        let inner = &mut *g;
        let leader = self.live(inner, now);
        Some(match req {
            CoordinationRequest::Campaign { candidate, lease } => match leader {
                Some(l) => CoordinationResponse::NotElected { leader: Some(l) },
                None => self.grant(inner, candidate, now + lease),
            },
            CoordinationRequest::KeepAlive {
                candidate,
                epoch,
                lease,
            } => self.keep_alive(inner, leader, Leader { candidate, epoch }, now + lease),
            CoordinationRequest::GetLeader => CoordinationResponse::Leader(leader),
            CoordinationRequest::Get { key } => match inner.values.get(&key) {
                Some(v) => CoordinationResponse::Value {
                    version: v.version,
                    value: Some(v.value.clone()),
                },
                None => CoordinationResponse::Value {
                    version: 0,
                    value: None,
                },
            },
            CoordinationRequest::CompareAndSet {
                key,
                expected,
                value,
                epoch,
            } => self.compare_and_set(inner, leader, key, expected, value, epoch),
        })
    }

    /// Grant `candidate` a lease until `expires`, under the next epoch. Only
    /// when no lease is live.
    fn grant(&self, inner: &mut Inner, candidate: u32, expires: Instant) -> CoordinationResponse {
        assert!(
            inner.lease.is_none(),
            "invariant: a lease is granted only when none is live"
        );
        let previous = inner.last_epoch;
        inner.last_epoch += 1;
        let leader = Leader {
            candidate,
            epoch: inner.last_epoch,
        };
        assert!(
            leader.epoch > previous,
            "invariant: each grant's epoch is newer than every epoch granted before"
        );
        inner.lease = Some(Lease { leader, expires });
        self.trace(TraceEvent::LeaseGranted {
            candidate,
            epoch: leader.epoch,
        });
        CoordinationResponse::Elected { epoch: leader.epoch }
    }

    /// Renew the lease of `asker` until `expires` if it holds the live lease
    /// (or, without fencing, whoever asks).
    fn keep_alive(
        &self,
        inner: &mut Inner,
        leader: Option<Leader>,
        asker: Leader,
        expires: Instant,
    ) -> CoordinationResponse {
        let holds = leader == Some(asker);
        assert!(
            asker.epoch <= inner.last_epoch,
            "invariant: a renewal names an epoch this service granted"
        );
        if holds || !self.fencing.is_checked() {
            assert!(
                !self.fencing.is_checked() || asker.epoch == inner.last_epoch,
                "invariant: with fencing only the newest grant's lease is renewed"
            );
            inner.lease = Some(Lease { leader: asker, expires });
            CoordinationResponse::Renewed
        } else {
            CoordinationResponse::LeaseLost { leader }
        }
    }

    /// Set `key` to `value` if its version is `expected` and, with fencing,
    /// `epoch` holds the live lease.
    fn compare_and_set(
        &self,
        inner: &mut Inner,
        leader: Option<Leader>,
        key: String,
        expected: u64,
        value: CoordValue,
        epoch: u64,
    ) -> CoordinationResponse {
        let (version, last_writer) = inner.values.get(&key).map_or((0, 0), |v| (v.version, v.epoch));
        if self.fencing.is_checked() && leader.is_none_or(|l| l.epoch != epoch) {
            self.trace(TraceEvent::RequestRejected {
                service: "coordination".into(),
                reason: format!("write of {key} by stale epoch {epoch}"),
            });
            CoordinationResponse::Fenced { leader }
        } else if version != expected {
            CoordinationResponse::Conflict { version }
        } else {
            assert!(
                !self.fencing.is_checked() || leader.is_some_and(|l| l.epoch == epoch && epoch == inner.last_epoch),
                "invariant: with fencing only the newest epoch's live leader writes"
            );
            assert!(
                !self.fencing.is_checked() || last_writer <= epoch,
                "invariant: with fencing {key} is never written by an older epoch than its last writer"
            );
            let version = version + 1;
            inner.values.insert(key, Versioned { version, value, epoch });
            CoordinationResponse::Set { version }
        }
    }

    /// The retained completed checkpoints (for checkers and tests).
    pub fn completed_checkpoints(&self) -> Vec<u64> {
        let g = self.inner.lock().expect("invariant: lock not poisoned");
        match g
            .values
            .get(halab_engine::ha::keys::COMPLETED_CHECKPOINTS)
            .map(|v| &v.value)
        {
            Some(CoordValue::Checkpoints(ids)) => ids.clone(),
            _ => Vec::new(),
        }
    }

    /// The newest epoch granted.
    pub fn last_epoch(&self) -> u64 {
        self.inner.lock().expect("invariant: lock not poisoned").last_epoch
    }
}

/// Lease length for tests of this module.
#[cfg(test)]
const LEASE: std::time::Duration = std::time::Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;
    use halab_engine::ha::keys;

    fn run<F: std::future::Future<Output = ()> + 'static>(f: F) {
        let rt = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
        rt.block_on(f);
    }

    fn campaign(c: &Coordination, candidate: u32) -> CoordinationResponse {
        c.handle(CoordinationRequest::Campaign {
            candidate,
            lease: LEASE,
        })
        .expect("answered")
    }

    fn cas(c: &Coordination, expected: u64, epoch: u64) -> CoordinationResponse {
        c.handle(CoordinationRequest::CompareAndSet {
            key: keys::CHECKPOINT_ID_COUNTER.into(),
            expected,
            value: CoordValue::Counter(7),
            epoch,
        })
        .expect("answered")
    }

    #[test]
    fn one_lease_at_a_time_and_epochs_increase() {
        run(async {
            let c = Coordination::new(Tracer::new(), Fencing::Checked);
            assert!(matches!(campaign(&c, 0), CoordinationResponse::Elected { epoch: 1 }));
            assert!(matches!(campaign(&c, 1), CoordinationResponse::NotElected { .. }));
            madsim::time::sleep(LEASE).await;
            assert!(matches!(campaign(&c, 1), CoordinationResponse::Elected { epoch: 2 }));
            let renew = c.handle(CoordinationRequest::KeepAlive {
                candidate: 0,
                epoch: 1,
                lease: LEASE,
            });
            assert!(matches!(renew, Some(CoordinationResponse::LeaseLost { .. })));
        });
    }

    #[test]
    fn compare_and_set_needs_the_version_and_the_live_epoch() {
        run(async {
            let c = Coordination::new(Tracer::new(), Fencing::Checked);
            campaign(&c, 0);
            assert!(matches!(cas(&c, 0, 1), CoordinationResponse::Set { version: 1 }));
            assert!(matches!(cas(&c, 0, 1), CoordinationResponse::Conflict { version: 1 }));
            assert!(matches!(cas(&c, 1, 2), CoordinationResponse::Fenced { .. }));
            madsim::time::sleep(LEASE).await;
            assert!(
                matches!(cas(&c, 1, 1), CoordinationResponse::Fenced { leader: None }),
                "an expired lease writes nothing"
            );
        });
    }

    #[test]
    fn without_fencing_a_stale_leader_takes_the_lease_back() {
        run(async {
            let c = Coordination::new(Tracer::new(), Fencing::Ignored);
            campaign(&c, 0);
            madsim::time::sleep(LEASE).await;
            campaign(&c, 1);
            let renew = c.handle(CoordinationRequest::KeepAlive {
                candidate: 0,
                epoch: 1,
                lease: LEASE,
            });
            assert!(matches!(renew, Some(CoordinationResponse::Renewed)));
            let now = c.handle(CoordinationRequest::GetLeader);
            assert!(matches!(
                now,
                Some(CoordinationResponse::Leader(Some(Leader { candidate: 0, epoch: 1 })))
            ));
        });
    }
}
