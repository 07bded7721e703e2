//! Records and the batches they travel in.
//!
//! Every record remembers where it came from (`Origin`: source-log partition and
//! offset). The exactly-once checker uses the origin to tell a lost record from a
//! duplicated one; operators carry it through unchanged.

use serde::{Deserialize, Serialize};

/// Where a record was read: source-log partition and offset within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Origin {
    pub partition: u32,
    pub offset: u64,
}

/// One stream record: a key, a value, and its origin.
///
/// Sources emit `value = 1`; the keyed running count emits the key's count after
/// this record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    pub key: u64,
    pub value: u64,
    pub origin: Origin,
}

/// A batch of records, the unit that crosses the network (like a Flink network
/// buffer): every simulated message costs at least 1 ms of simulated time, so
/// records never travel alone.
pub type RecordBatch = Vec<Record>;
