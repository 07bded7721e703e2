//! Where a task's time goes, as Flink's task metrics divide it: busy
//! (working on records or checkpoints), back-pressured (waiting for output
//! credit) and idle (waiting for input), with the records it took in
//! (`numRecordsIn`). Flink reports the three as `busyTimeMsPerSecond`,
//! `backPressuredTimeMsPerSecond` and `idleTimeMsPerSecond`.
//!
//! A task charges its time to a [`LoadMeter`] as it goes; the meter adds it
//! to its attempt's own counters (no lock, no lookup: it is charged on every
//! turn of the task's loop), which the run's [`LoadRegistry`] holds and sums
//! by subtask when it is read, once the run ends. Nothing here is
//! traced, so metering changes no trace.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::graph::ExecutionVertexId;
use crate::trace::Tracer;

/// What a task spent a stretch of time on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Processing records, paying their CPU time, snapshotting.
    Busy,
    /// Waiting for output credit.
    BackPressured,
    /// Waiting for input.
    Idle,
}

/// One subtask's totals over all its attempts (simulated nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubtaskLoad {
    pub busy_ns: u64,
    pub back_pressured_ns: u64,
    pub idle_ns: u64,
    /// Records the subtask took in (a source: records it read).
    pub records_in: u64,
}

impl SubtaskLoad {
    /// The time the subtask ran, in all activities.
    pub fn running_ns(&self) -> u64 {
        self.busy_ns + self.back_pressured_ns + self.idle_ns
    }
}

/// One task attempt's running totals: counters only its meter adds to, so
/// charging takes no lock and looks nothing up.
#[derive(Debug, Default)]
struct AttemptCounters {
    busy_ns: AtomicU64,
    back_pressured_ns: AtomicU64,
    idle_ns: AtomicU64,
    records_in: AtomicU64,
}

impl AttemptCounters {
    fn load(&self) -> SubtaskLoad {
        SubtaskLoad {
            busy_ns: self.busy_ns.load(Ordering::Relaxed),
            back_pressured_ns: self.back_pressured_ns.load(Ordering::Relaxed),
            idle_ns: self.idle_ns.load(Ordering::Relaxed),
            records_in: self.records_in.load(Ordering::Relaxed),
        }
    }
}

/// Every subtask's load in a run, shared by all TaskManagers: the counters
/// of every attempt, summed by subtask when read.
#[derive(Clone, Debug, Default)]
pub struct LoadRegistry(Arc<Mutex<Vec<Attempt>>>);

/// An attempt's subtask, the TaskManager it ran on, and its counters.
type Attempt = (ExecutionVertexId, Arc<str>, Arc<AttemptCounters>);

impl LoadRegistry {
    /// The totals so far, by subtask.
    pub fn totals(&self) -> BTreeMap<ExecutionVertexId, SubtaskLoad> {
        let attempts = self.0.lock().expect("invariant: lock not poisoned");
        let mut totals: BTreeMap<ExecutionVertexId, SubtaskLoad> = BTreeMap::new();
        for (id, _, counters) in attempts.iter() {
            let (sum, one) = (totals.entry(*id).or_default(), counters.load());
            sum.busy_ns += one.busy_ns;
            sum.back_pressured_ns += one.back_pressured_ns;
            sum.idle_ns += one.idle_ns;
            sum.records_in += one.records_in;
        }
        totals
    }

    /// Counters for a new attempt of `id`.
    /// The totals so far of the attempts each TaskManager ran, by its
    /// node name.
    pub fn totals_by_task_manager(&self) -> BTreeMap<String, SubtaskLoad> {
        let attempts = self.0.lock().expect("invariant: lock not poisoned");
        let mut totals: BTreeMap<String, SubtaskLoad> = BTreeMap::new();
        for (_, node, counters) in attempts.iter() {
            let (sum, one) = (totals.entry(node.to_string()).or_default(), counters.load());
            sum.busy_ns += one.busy_ns;
            sum.back_pressured_ns += one.back_pressured_ns;
            sum.idle_ns += one.idle_ns;
            sum.records_in += one.records_in;
        }
        totals
    }

    fn register(&self, id: ExecutionVertexId, node: &str) -> Arc<AttemptCounters> {
        let counters = Arc::new(AttemptCounters::default());
        self.0
            .lock()
            .expect("invariant: lock not poisoned")
            .push((id, Arc::from(node), counters.clone()));
        counters
    }
}

/// One task attempt's meter: charges the time since its last charge.
pub struct LoadMeter {
    counters: Arc<AttemptCounters>,
    clock: Tracer,
    since_ns: u64,
}

impl LoadMeter {
    /// A meter for a new attempt of `id` on the TaskManager `node`, whose
    /// first charge counts from now.
    pub fn new(registry: LoadRegistry, id: ExecutionVertexId, node: &str, clock: Tracer) -> LoadMeter {
        let since_ns = clock.now_ns();
        LoadMeter {
            counters: registry.register(id, node),
            clock,
            since_ns,
        }
    }

    /// The time since the last charge went to `activity`.
    pub fn spent(&mut self, activity: Activity) {
        let now = self.clock.now_ns();
        assert!(now >= self.since_ns, "invariant: the run's clock is monotone");
        let ns = now - self.since_ns;
        self.since_ns = now;
        let counter = match activity {
            Activity::Busy => &self.counters.busy_ns,
            Activity::BackPressured => &self.counters.back_pressured_ns,
            Activity::Idle => &self.counters.idle_ns,
        };
        counter.fetch_add(ns, Ordering::Relaxed);
    }

    /// The task took in `records`.
    pub fn took_in(&mut self, records: u64) {
        self.counters.records_in.fetch_add(records, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[madsim::test]
    async fn time_goes_to_the_activity_charged_and_attempts_add_up() {
        let (totals, by_tm) = {
            let registry = LoadRegistry::default();
            let id = ExecutionVertexId { vertex: 1, subtask: 0 };
            let tracer = Tracer::new();
            let sleep = |ms| madsim::time::sleep(std::time::Duration::from_millis(ms));
            let mut first = LoadMeter::new(registry.clone(), id, "tm-0", tracer.clone());
            sleep(30).await;
            first.spent(Activity::Busy);
            sleep(20).await;
            first.spent(Activity::BackPressured);
            first.took_in(7);
            let mut second = LoadMeter::new(registry.clone(), id, "tm-1", tracer);
            sleep(5).await;
            second.spent(Activity::Idle);
            second.spent(Activity::Busy);
            second.took_in(3);
            (registry.totals(), registry.totals_by_task_manager())
        };
        let load = totals[&ExecutionVertexId { vertex: 1, subtask: 0 }];
        // madsim wakes a sleeper a few dozen nanoseconds late.
        let about_ms = |ns: u64, ms: u64| (ms * 1_000_000..ms * 1_000_000 + 1_000).contains(&ns);
        assert!(about_ms(load.busy_ns, 30), "{load:?}");
        assert!(about_ms(load.back_pressured_ns, 20), "{load:?}");
        assert!(about_ms(load.idle_ns, 5), "{load:?}");
        assert_eq!(load.records_in, 10);
        assert_eq!(load.running_ns(), load.busy_ns + load.back_pressured_ns + load.idle_ns);
        // By TaskManager: each attempt where it ran.
        assert_eq!(by_tm.keys().collect::<Vec<_>>(), ["tm-0", "tm-1"]);
        assert!(about_ms(by_tm["tm-0"].busy_ns, 30) && about_ms(by_tm["tm-0"].back_pressured_ns, 20));
        assert_eq!((by_tm["tm-0"].records_in, by_tm["tm-1"].records_in), (7, 3));
        assert!(about_ms(by_tm["tm-1"].idle_ns, 5), "{by_tm:?}");
    }
}
