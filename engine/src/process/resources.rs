//! A TaskManager's resources at run time: its cores and its transfer links
//! (to checkpoint storage, each direction, and to its local disk), shared by
//! the tasks it runs. The pure model is in [`crate::resources`]; this file
//! holds it behind locks and turns its answers into sleeps on the run's
//! clock. A restarted TaskManager process starts with idle resources.
//!
//! Without a model (a scenario with `[resources] enabled = false`) every charge is
//! free and nothing sleeps, so such runs keep the timing they had before
//! the model existed.

use std::sync::{Arc, Mutex};

use crate::resources::cpu::{CorePool, CpuDebt};
use crate::resources::link::Link;
use crate::resources::{CostedOperator, ResourceModel};
use crate::trace::Tracer;

/// Whether a transfer goes to checkpoint storage (through its aggregate
/// link) or stays on the TaskManager's disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    Remote,
    Local,
}

pub struct TaskManagerResources {
    clock: Tracer,
    metered: Option<Metered>,
}

/// The model and the shared state it charges.
struct Metered {
    model: ResourceModel,
    cores: Mutex<CorePool>,
    /// The NIC's outgoing direction, as one server whose work is each
    /// batch's bytes over the bandwidth (FIFO, like a [`Link`]).
    nic_out: Mutex<CorePool>,
    storage_up: Mutex<Link>,
    storage_down: Mutex<Link>,
    local_disk: Mutex<Link>,
    /// Task-local state copies on this process's disk, by state handle key
    /// (`chk-<id>/<vertex>-<subtask>`), with their bytes. A killed
    /// TaskManager's process takes them along.
    local_copies: Mutex<std::collections::BTreeMap<String, u64>>,
    /// Checkpoint storage's total throughput, shared with every other
    /// TaskManager (both directions).
    storage_aggregate: Option<Arc<Mutex<Link>>>,
}

impl TaskManagerResources {
    pub fn new(
        model: Option<ResourceModel>,
        slots: u32,
        clock: Tracer,
        storage_aggregate: Option<Arc<Mutex<Link>>>,
    ) -> Arc<TaskManagerResources> {
        let metered = model.map(|model| {
            let storage = || Link::new(model.checkpoint_storage_bandwidth, model.checkpoint_storage_latency_ns);
            Metered {
                cores: Mutex::new(CorePool::new(model.cores(slots))),
                nic_out: Mutex::new(CorePool::new(1)),
                storage_up: Mutex::new(storage()),
                storage_down: Mutex::new(storage()),
                local_disk: Mutex::new(Link::new(model.local_disk_bandwidth, 0)),
                local_copies: Mutex::new(std::collections::BTreeMap::new()),
                storage_aggregate,
                model,
            }
        });
        Arc::new(TaskManagerResources { clock, metered })
    }

    /// The model, if work costs time in this run.
    pub fn model(&self) -> Option<&ResourceModel> {
        self.metered.as_ref().map(|m| &m.model)
    }

    async fn sleep_until_ns(&self, ns: u64) {
        madsim::time::sleep_until(self.clock.instant_at_ns(ns)).await;
    }

    /// Charge `records` records of `op` to the task's debt and, once it
    /// reaches a quantum, wait for a core to do that work.
    pub async fn process_records(&self, debt: &mut CpuDebt, op: CostedOperator, records: u64) {
        let Some(m) = &self.metered else { return };
        self.pay(&m.cores, debt, m.model.cpu_ns(op, records)).await;
    }

    /// Charge the bytes of `records` sent records to the task's network
    /// debt and, once it reaches a quantum, wait for the TaskManager's NIC
    /// to send them (shared with its other tasks). Network latency is the
    /// simulator's own.
    pub async fn send_records(&self, debt: &mut CpuDebt, records: u64) {
        let Some(m) = &self.metered else { return };
        let ns = m.model.network_bandwidth.transfer_ns(m.model.records_bytes(records));
        self.pay(&m.nic_out, debt, ns).await;
    }

    /// Add `work_ns` to `debt`; once it reaches a quantum, run that slice
    /// on `pool` and sleep until it is done.
    async fn pay(&self, pool: &Mutex<CorePool>, debt: &mut CpuDebt, work_ns: u64) {
        debt.charge(work_ns);
        if let Some(work) = debt.due() {
            let now = self.clock.now_ns();
            let at = debt.requested_at(now);
            assert!(at <= now, "invariant: work requested at {at}, after now {now}");
            let done = pool.lock().expect("invariant: lock not poisoned").run(at, work);
            assert!(done >= at + work, "invariant: work takes its time");
            debt.paid_until(done);
            self.sleep_until_ns(done).await;
        }
    }

    /// Move `bytes` over `link` (and, to or from checkpoint storage,
    /// through its aggregate link too: the transfer ends when both are
    /// done); returns the milliseconds it took.
    async fn transfer(&self, link: impl Fn(&Metered) -> &Mutex<Link>, bytes: u64, storage: Storage) -> u64 {
        let Some(m) = &self.metered else { return 0 };
        let start = self.clock.now_ns();
        let mut done = link(m)
            .lock()
            .expect("invariant: lock not poisoned")
            .transfer(start, bytes);
        assert!(done >= start, "invariant: a transfer ends at {done}, before {start}");
        if let (Storage::Remote, Some(aggregate)) = (storage, &m.storage_aggregate) {
            let shared = aggregate
                .lock()
                .expect("invariant: lock not poisoned")
                .transfer(start, bytes);
            assert!(
                shared >= start,
                "invariant: a transfer ends at {shared}, before {start}"
            );
            done = done.max(shared);
        }
        self.sleep_until_ns(done).await;
        (done - start) / 1_000_000
    }

    /// Upload `bytes` to checkpoint storage (a snapshot's asynchronous phase).
    pub async fn upload(&self, bytes: u64) {
        self.transfer(|m| &m.storage_up, bytes, Storage::Remote).await;
    }

    /// Download `bytes` from checkpoint storage; returns the milliseconds it took.
    pub async fn download(&self, bytes: u64) -> u64 {
        self.transfer(|m| &m.storage_down, bytes, Storage::Remote).await
    }

    /// Write a task-local copy of a snapshot (`key`, `bytes`) to the local
    /// disk; keeps it for a restore on this process.
    pub async fn write_local_copy(&self, key: String, bytes: u64) {
        self.transfer(|m| &m.local_disk, bytes, Storage::Local).await;
        if let Some(m) = &self.metered {
            m.local_copies
                .lock()
                .expect("invariant: lock not poisoned")
                .insert(key, bytes);
        }
    }

    /// Whether this process holds a task-local copy of the state `key`.
    pub fn has_local_copy(&self, key: &str) -> bool {
        self.metered.as_ref().is_some_and(|m| {
            m.local_copies
                .lock()
                .expect("invariant: lock not poisoned")
                .contains_key(key)
        })
    }

    /// Read `bytes` of a task-local copy from the local disk; returns the
    /// milliseconds it took.
    pub async fn read_local(&self, bytes: u64) -> u64 {
        self.transfer(|m| &m.local_disk, bytes, Storage::Local).await
    }

    /// Write `bytes` to the local disk (RocksDB's flush in the synchronous
    /// snapshot phase).
    pub async fn write_local(&self, bytes: u64) {
        self.transfer(|m| &m.local_disk, bytes, Storage::Local).await;
    }
}
