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

/// One stream record: a key, a value, its origin and its event time.
///
/// Sources emit `value = 1`; the keyed running count emits the key's count
/// after this record; the tumbling window emits a window's count (its origin
/// is then the window, see [`Origin::window`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    pub key: u64,
    pub value: u64,
    pub origin: Origin,
    /// Event time in ms (when the record arrived in the source log).
    pub timestamp_ms: u64,
}

/// Origins of window results use this partition number; their offset is
/// the window's start time.
pub const WINDOW_PARTITION: u32 = u32::MAX;
/// Origins of processing-time window results use this partition number;
/// their offset is the window's start (processing time).
pub const PROCESSING_WINDOW_PARTITION: u32 = u32::MAX - 1;

impl Origin {
    /// The origin of the result of the window starting at `start_ms`.
    pub fn window(start_ms: u64) -> Origin {
        Origin {
            partition: WINDOW_PARTITION,
            offset: start_ms,
        }
    }

    /// The window start, if this is a window result's origin.
    pub fn window_start(&self) -> Option<u64> {
        (self.partition == WINDOW_PARTITION).then_some(self.offset)
    }

    /// The origin of the result of the processing-time window starting at
    /// `start_ms`.
    pub fn processing_window(start_ms: u64) -> Origin {
        Origin {
            partition: PROCESSING_WINDOW_PARTITION,
            offset: start_ms,
        }
    }

    /// The window start, if this is a processing-time window result's origin.
    pub fn processing_window_start(&self) -> Option<u64> {
        (self.partition == PROCESSING_WINDOW_PARTITION).then_some(self.offset)
    }
}

/// A record of in-flight data with its channel: the index among all of the
/// task's output channels (output in-flight data), or among all of its
/// input channels (input in-flight data). A restore puts an output record
/// back into the same channel, as Flink restores a subpartition's buffers
/// (routing it again would send a broadcast record to every consumer a
/// second time, and a record of a task with several outputs down each of
/// them), and hands an input record to the operator as coming from the
/// same input (a join's two sides differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub channel: u32,
    pub record: Record,
}

impl ChannelRecord {
    /// `records`, all of channel `channel`.
    pub fn tag(channel: usize, records: &[Record]) -> impl Iterator<Item = ChannelRecord> + '_ {
        let channel = u32::try_from(channel).expect("invariant: fewer than 2^32 channels");
        records.iter().map(move |&record| ChannelRecord { channel, record })
    }
}

/// A batch of records, the unit that crosses the network (like a Flink network
/// buffer): every simulated message costs at least 1 ms of simulated time, so
/// records never travel alone.
pub type RecordBatch = Vec<Record>;
