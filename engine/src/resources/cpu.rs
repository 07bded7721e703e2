//! CPU in simulated time: a TaskManager's cores, shared by the tasks it
//! runs, and each task's debt of work not yet paid for.
//!
//! A task charges its work (nanoseconds per record) into its own
//! [`CpuDebt`]. Only once the debt reaches [`CPU_QUANTUM_NS`] (madsim's
//! timer granularity, 1 ms) does it ask the TaskManager's [`CorePool`] for
//! a core and sleep until that slice of work is done, so there is no timer
//! per record. The pool serves slices first come, first served on its
//! cores: with more runnable work than cores, tasks wait for a free core,
//! and a TaskManager's throughput is at most `cores` seconds of work per
//! second.

/// Work is paid in slices of this size (1 ms): madsim's timer granularity.
pub const CPU_QUANTUM_NS: u64 = 1_000_000;

/// A task asking for CPU again within this gap after its last slice was
/// busy meanwhile (doing I/O), not idle: 10 ms, the largest default
/// network latency.
pub const BUSY_GAP_NS: u64 = 10_000_000;

/// The cores of one TaskManager.
#[derive(Clone, Debug)]
pub struct CorePool {
    /// When each core is next free, in ns on the run's clock.
    free_at_ns: Vec<u64>,
    /// Work done so far (a figure for load reports and tests).
    busy_ns: u64,
}

impl CorePool {
    pub fn new(cores: u32) -> CorePool {
        assert!(cores > 0, "invariant: a TaskManager has a core");
        CorePool {
            free_at_ns: vec![0; cores as usize],
            busy_ns: 0,
        }
    }

    pub fn cores(&self) -> usize {
        self.free_at_ns.len()
    }

    /// Run `work_ns` of work requested at `now_ns` on the core free first;
    /// returns when it is done.
    pub fn run(&mut self, now_ns: u64, work_ns: u64) -> u64 {
        // A `CpuDebt` pays whole quanta only.
        let whole = work_ns > 0 && work_ns.is_multiple_of(CPU_QUANTUM_NS);
        assert!(whole, "invariant: a slice of {work_ns} ns");
        let (core, free) = self
            .free_at_ns
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|(i, t)| (*t, *i))
            .expect("invariant: a TaskManager has a core");
        let start = free.max(now_ns);
        let end = start.saturating_add(work_ns);
        self.free_at_ns[core] = end;
        self.busy_ns = self.busy_ns.saturating_add(work_ns);
        // Each core's work lies before it is next free: busy time never
        // exceeds the time the cores have been running.
        let capacity = self.free_at_ns.iter().fold(0u64, |sum, t| sum.saturating_add(*t));
        let busy = self.busy_ns;
        assert!(busy <= capacity, "invariant: {busy} ns busy, cores ran {capacity}");
        end
    }

    pub fn busy_ns(&self) -> u64 {
        self.busy_ns
    }
}

/// One task's work not yet paid for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuDebt {
    owed_ns: u64,
    /// When the task's last slice of work ended.
    last_end_ns: u64,
}

impl CpuDebt {
    /// Add `work_ns` of work.
    pub fn charge(&mut self, work_ns: u64) {
        self.owed_ns = self.owed_ns.saturating_add(work_ns);
    }

    /// The work to pay now, if the debt reached a quantum (whole quanta
    /// only; the rest stays owed).
    pub fn due(&mut self) -> Option<u64> {
        if self.owed_ns < CPU_QUANTUM_NS {
            return None;
        }
        let pay = self.owed_ns - self.owed_ns % CPU_QUANTUM_NS;
        self.owed_ns -= pay;
        assert!(
            self.owed_ns < CPU_QUANTUM_NS,
            "invariant: less than a quantum stays owed"
        );
        Some(pay)
    }

    pub fn owed_ns(&self) -> u64 {
        self.owed_ns
    }

    /// When a slice requested at `now_ns` starts to wait for a core. A
    /// task that asks again less than [`BUSY_GAP_NS`] after its last slice
    /// ended has been busy all along: the gap is its own network I/O
    /// (each simulated message costs the sender and the receiver about a
    /// millisecond) or the simulator's timer granularity, which Flink's
    /// network threads overlap with processing. So it is not lost
    /// capacity, and the new slice continues where the last one ended.
    pub fn requested_at(&self, now_ns: u64) -> u64 {
        if now_ns >= self.last_end_ns && now_ns - self.last_end_ns < BUSY_GAP_NS {
            self.last_end_ns
        } else {
            now_ns
        }
    }

    /// The slice ended at `end_ns`.
    pub fn paid_until(&mut self, end_ns: u64) {
        // A task pays its slices one after another, each of at least a quantum.
        let last = self.last_end_ns;
        assert!(end_ns > last, "invariant: slice ends at {end_ns}, the last at {last}");
        self.last_end_ns = end_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn debt_is_paid_in_whole_quanta() {
        let mut d = CpuDebt::default();
        d.charge(400_000);
        assert_eq!(d.due(), None);
        d.charge(700_000);
        assert_eq!(d.due(), Some(MS));
        assert_eq!(d.owed_ns(), 100_000);
        d.charge(5 * MS);
        assert_eq!(d.due(), Some(5 * MS));
    }

    #[test]
    fn a_busy_task_loses_no_time_to_timer_rounding() {
        let mut d = CpuDebt::default();
        assert_eq!(d.requested_at(70 * MS), 70 * MS, "nothing before: now");
        d.paid_until(10 * MS + 300);
        assert_eq!(
            d.requested_at(11 * MS),
            10 * MS + 300,
            "woke late by rounding: continues"
        );
        assert_eq!(
            d.requested_at(13 * MS),
            10 * MS + 300,
            "a few ms of its own I/O: continues"
        );
        assert_eq!(d.requested_at(21 * MS), 21 * MS, "idle for longer than the gap: now");
        assert_eq!(d.requested_at(5 * MS), 5 * MS, "never before now");
    }

    #[test]
    fn tasks_share_the_cores_first_come_first_served() {
        let mut p = CorePool::new(2);
        assert_eq!(p.run(0, 10 * MS), 10 * MS);
        assert_eq!(p.run(0, 10 * MS), 10 * MS, "a second core");
        assert_eq!(p.run(0, 10 * MS), 20 * MS, "a third slice waits for a core");
        assert_eq!(p.run(50 * MS, MS), 51 * MS, "idle cores start at once");
        assert_eq!(p.busy_ns(), 31 * MS);
    }

    #[test]
    fn throughput_is_bounded_by_cores_over_cost() {
        // Three tasks, each with 1,000 records of 2 us per simulated
        // millisecond offered, on one core: 6 ms of work per ms cannot be
        // done; the pool finishes 3,000 records' work after 6 ms.
        let mut p = CorePool::new(1);
        let mut end = 0;
        for _ in 0..3 {
            end = p.run(0, 1000 * 2_000);
        }
        assert_eq!(end, 6 * MS);
    }
}
