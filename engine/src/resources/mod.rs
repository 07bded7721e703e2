//! The resource model: what work costs in simulated time.
//!
//! Pure core (time in, time out): [`cpu`] (a TaskManager's cores and each
//! task's debt of work), [`link`] (transfers over a bandwidth, FIFO), and
//! [`units`] (byte sizes and rates as scenario files write them). The
//! processes charge it: tasks pay CPU per record and bytes when they upload
//! snapshots or download state to restore; [`ResourceModel`] holds the
//! settings (`[resources]` and the `[job]` cost keys of a scenario), with
//! defaults whose public sources `docs/cost-model.md` names.
//!
//! Bytes are virtual where they would not fit: keyed state has a size per
//! key and records a size and a weight; sizes drive transfer times and
//! nothing is allocated for them.

pub mod cpu;
pub mod link;
pub mod units;

use units::Bandwidth;

/// The operator kinds that have their own cost per record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CostedOperator {
    Source,
    Count,
    Window,
    Sink,
    /// Map and filter.
    Stateless,
}

/// CPU nanoseconds per record, per operator kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorCosts {
    pub source_ns: u64,
    pub count_ns: u64,
    pub window_ns: u64,
    pub sink_ns: u64,
    pub stateless_ns: u64,
}

impl OperatorCosts {
    pub fn uniform(ns: u64) -> OperatorCosts {
        OperatorCosts {
            source_ns: ns,
            count_ns: ns,
            window_ns: ns,
            sink_ns: ns,
            stateless_ns: ns,
        }
    }

    pub fn of(&self, op: CostedOperator) -> u64 {
        match op {
            CostedOperator::Source => self.source_ns,
            CostedOperator::Count => self.count_ns,
            CostedOperator::Window => self.window_ns,
            CostedOperator::Sink => self.sink_ns,
            CostedOperator::Stateless => self.stateless_ns,
        }
    }
}

/// Flink's `state.backend.type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StateBackendKind {
    /// `hashmap`: state on the heap; the synchronous snapshot phase
    /// copies on write and costs little.
    #[default]
    HashMap,
    /// `rocksdb`: the synchronous phase flushes the memtable to local disk.
    RocksDb,
}

/// Every setting of the resource model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResourceModel {
    /// Cores per TaskManager; `None`: one per slot.
    pub task_manager_cores: Option<u32>,
    /// Each node's NIC, each direction.
    pub network_bandwidth: Bandwidth,
    /// Per TaskManager, each direction.
    pub checkpoint_storage_bandwidth: Bandwidth,
    /// Per request to checkpoint storage.
    pub checkpoint_storage_latency_ns: u64,
    /// The store's total throughput, shared by every TaskManager's uploads
    /// and downloads; `None`: no cap beyond each TaskManager's own.
    pub checkpoint_storage_aggregate_bandwidth: Option<Bandwidth>,
    pub local_disk_bandwidth: Bandwidth,
    /// Bytes of one record on the wire and in persisted in-flight data.
    pub record_bytes: u64,
    /// Bytes of keyed state per key.
    pub state_bytes_per_key: u64,
    pub costs: OperatorCosts,
    /// How many real records one simulated record stands for, in every cost.
    pub record_weight: u64,
}

/// The defaults (sources in docs/cost-model.md).
pub const DEFAULT_NETWORK_BANDWIDTH_BYTES_PER_SEC: f64 = 1.25e9; // 10 Gbit/s
pub const DEFAULT_CHECKPOINT_STORAGE_BYTES_PER_SEC: f64 = 200e6; // 200 MB/s
pub const DEFAULT_CHECKPOINT_STORAGE_LATENCY_NS: u64 = 20_000_000; // 20 ms
pub const DEFAULT_LOCAL_DISK_BYTES_PER_SEC: f64 = 1e9; // 1 GB/s
pub const DEFAULT_RECORD_BYTES: u64 = 100;
pub const DEFAULT_STATE_BYTES_PER_KEY: u64 = 64;
pub const DEFAULT_COST_PER_RECORD_NS: u64 = 2_000; // 2 us

impl Default for ResourceModel {
    fn default() -> Self {
        ResourceModel {
            task_manager_cores: None,
            network_bandwidth: Bandwidth::bytes_per_sec(DEFAULT_NETWORK_BANDWIDTH_BYTES_PER_SEC),
            checkpoint_storage_bandwidth: Bandwidth::bytes_per_sec(DEFAULT_CHECKPOINT_STORAGE_BYTES_PER_SEC),
            checkpoint_storage_latency_ns: DEFAULT_CHECKPOINT_STORAGE_LATENCY_NS,
            checkpoint_storage_aggregate_bandwidth: None,
            local_disk_bandwidth: Bandwidth::bytes_per_sec(DEFAULT_LOCAL_DISK_BYTES_PER_SEC),
            record_bytes: DEFAULT_RECORD_BYTES,
            state_bytes_per_key: DEFAULT_STATE_BYTES_PER_KEY,
            costs: OperatorCosts::uniform(DEFAULT_COST_PER_RECORD_NS),
            record_weight: 1,
        }
    }
}

impl ResourceModel {
    /// The cores of a TaskManager with `slots` slots.
    pub fn cores(&self, slots: u32) -> u32 {
        // The scenario refuses 0 cores; `max(1)` covers a TaskManager of no slots.
        assert!(self.task_manager_cores != Some(0), "invariant: 0 cores configured");
        self.task_manager_cores.unwrap_or(slots).max(1)
    }

    /// CPU nanoseconds for `records` simulated records through `op`.
    pub fn cpu_ns(&self, op: CostedOperator, records: u64) -> u64 {
        // The scenario refuses weight 0: a simulated record stands for at least one.
        assert!(self.record_weight >= 1, "invariant: record weight 0");
        self.costs
            .of(op)
            .saturating_mul(records)
            .saturating_mul(self.record_weight)
    }

    /// Virtual bytes of `records` simulated records.
    pub fn records_bytes(&self, records: u64) -> u64 {
        assert!(self.record_weight >= 1, "invariant: record weight 0");
        self.record_bytes
            .saturating_mul(records)
            .saturating_mul(self.record_weight)
    }

    /// Virtual bytes of the keyed state of `keys` keys.
    pub fn state_bytes(&self, keys: u64) -> u64 {
        self.state_bytes_per_key.saturating_mul(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_scale_with_weight_and_sizes_with_keys() {
        let m = ResourceModel {
            record_weight: 100,
            ..ResourceModel::default()
        };
        assert_eq!(m.cpu_ns(CostedOperator::Count, 10), 10 * 100 * 2_000);
        assert_eq!(m.records_bytes(10), 10 * 100 * 100);
        assert_eq!(m.state_bytes(1_000_000), 64_000_000);
        assert_eq!(m.cores(4), 4, "one core per slot by default");
        let two = ResourceModel {
            task_manager_cores: Some(2),
            ..m
        };
        assert_eq!(two.cores(4), 2);
    }
}
