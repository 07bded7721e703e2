//! Partitioners: which subtask owns a key.
//!
//! The same function routes records on a `Hash` edge and places keyed state, so
//! a record always reaches the subtask that holds its key's state.
//! [`KeyGroupPartitioner`] is Flink's scheme (key → key group → contiguous
//! key-group range per subtask), built on the exact ports in [`key_groups`].
//! The others are the classic alternatives, one file each, compared by
//! [`compare`]:
//!
//! | name            | type                        | file                       |
//! |-----------------|-----------------------------|----------------------------|
//! | `key-groups`    | [`KeyGroupPartitioner`]     | `key_group_partitioner.rs` |
//! | `ring`          | [`RingPartitioner`]         | `ring.rs`                  |
//! | `rendezvous`    | [`RendezvousPartitioner`]   | `rendezvous.rs`            |
//! | `jump`          | [`JumpPartitioner`]         | `jump.rs`                  |
//! | `maglev`        | [`MaglevPartitioner`]       | `maglev.rs`                |
//! | `bounded-loads` | [`BoundedLoadsPartitioner`] | `bounded_loads.rs`         |
//!
//! [`PartitionerKind`] names the built-ins and builds them from
//! [`PartitionerParams`]; [`registry`] resolves `halab.partitioner` to a
//! built-in or to a plug-in a user's crate registered.
//!
//! Two APIs, one answer: [`Partitioner::owner`] places a single key and is a
//! pure function of `(key, parallelism)`; [`Partitioner::assign`] places a
//! whole key set. For every partitioner except bounded loads `assign` is just
//! `owner` per key. Consistent hashing with bounded loads depends on the keys
//! placed before (an owner that is full is skipped), so it is only defined
//! over a key set; comparisons use `assign` for every partitioner so they
//! treat all of them the same.
//!
//! Everything here is deterministic: the hashes are fixed functions
//! ([`hash`]), nothing reads a clock or a random source.

pub mod bounded_loads;
mod cache;
pub mod compare;
pub mod hash;
pub mod jump;
pub mod key_group_partitioner;
pub mod key_groups;
pub mod kind;
pub mod maglev;
pub mod registry;
pub mod rendezvous;
pub mod ring;

#[cfg(test)]
mod properties;

use std::fmt;

pub use bounded_loads::BoundedLoadsPartitioner;
pub use jump::JumpPartitioner;
pub use key_group_partitioner::KeyGroupPartitioner;
pub use kind::{PartitionerKind, PartitionerParams};
pub use maglev::MaglevPartitioner;
pub use rendezvous::RendezvousPartitioner;
pub use ring::RingPartitioner;

/// Maps keys to owning subtasks.
pub trait Partitioner: Send + Sync + fmt::Debug {
    /// The subtask in `0..parallelism` that owns `key`.
    ///
    /// `parallelism` must satisfy [`Partitioner::check_parallelism`]; callers
    /// validate it once (at configuration time), not per key.
    fn owner(&self, key: u64, parallelism: u32) -> u32;

    /// A short name for reports and the trace.
    fn name(&self) -> &'static str;

    /// The partitioner's parameters as `key=value` pairs separated by spaces,
    /// for reports (empty when it has none).
    fn params(&self) -> String {
        String::new()
    }

    /// Whether this partitioner can place keys on `parallelism` owners.
    /// Every partitioner needs at least one owner; some have an upper bound
    /// (the maximum parallelism of key groups, Maglev's table size).
    fn check_parallelism(&self, parallelism: u32) -> Result<(), PartitionError> {
        if parallelism == 0 {
            Err(PartitionError::ZeroParallelism)
        } else {
            Ok(())
        }
    }

    /// The assignment API: the owner of each key of a key set, in order.
    ///
    /// The default places each key with [`Partitioner::owner`]; partitioners
    /// with a per-parallelism table override it to look the table up once,
    /// and bounded loads overrides it with its stateful placement.
    fn assign(&self, keys: &[u64], parallelism: u32) -> Result<Vec<u32>, PartitionError> {
        self.check_parallelism(parallelism)?;
        Ok(keys.iter().map(|&k| self.owner(k, parallelism)).collect())
    }
}

/// A partitioner that cannot be built or cannot serve a parallelism.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartitionError {
    /// A name that is neither built in nor registered.
    #[error("unknown partitioner `{name}` (known: {known})")]
    UnknownPartitioner {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A partitioner placed a key outside `0..parallelism`.
    #[error("partitioner `{partitioner}` placed key {key} on owner {owner} of {parallelism}")]
    OwnerOutOfRange {
        /// The partitioner's name.
        partitioner: &'static str,
        /// The key.
        key: u64,
        /// The owner it chose.
        owner: u32,
        /// The number of owners.
        parallelism: u32,
    },
    /// A plug-in partitioner refused its configuration.
    #[error("{0}")]
    Plugin(String),
    /// A parameter name that no partitioner takes.
    #[error("unknown partitioner parameter `{key}` (known: max-parallelism, vnodes, table-size, epsilon)")]
    UnknownParameter {
        /// The name given.
        key: String,
    },
    /// A parameter value that does not parse.
    #[error("partitioner parameter `{key}`: cannot parse `{value}`")]
    BadParameterValue {
        /// The parameter.
        key: String,
        /// The text given.
        value: String,
    },
    /// A comparison over no keys.
    #[error("the key set is empty")]
    NoKeys,
    /// Zero owners.
    #[error("parallelism must be at least 1")]
    ZeroParallelism,
    /// More owners than the partitioner supports.
    #[error("{partitioner}: parallelism {parallelism} exceeds the maximum of {max}")]
    ParallelismTooLarge {
        /// The partitioner's name.
        partitioner: &'static str,
        /// The parallelism asked for.
        parallelism: u32,
        /// The largest parallelism it supports.
        max: u64,
    },
    /// Key groups: the maximum parallelism is outside Flink's bounds.
    #[error("key groups: {0}")]
    KeyGroup(#[from] key_groups::KeyGroupError),
    /// Ring and bounded loads: virtual nodes per owner out of range.
    #[error("vnodes must be in 1..={max}, got {vnodes}")]
    BadVnodes {
        /// The value given.
        vnodes: u32,
        /// The largest value accepted.
        max: u32,
    },
    /// Maglev: the lookup table size must be a prime in range.
    #[error("maglev table size must be a prime in 3..={max}, got {size}")]
    BadTableSize {
        /// The value given.
        size: u64,
        /// The largest value accepted.
        max: u64,
    },
    /// Bounded loads: ε must be finite and positive.
    #[error("epsilon must be a finite number greater than 0, got {0}")]
    BadEpsilon(f64),
}
