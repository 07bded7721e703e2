//! Task network I/O: output gates (partitioning, batching, credit-based flow
//! control) and input gates (merging channels, blocking channels during
//! barrier alignment).
//!
//! An output buffer goes out when it is full, ahead of a barrier or
//! watermark, or after [`BUFFER_TIMEOUT_MS`] (the caller's timer), as
//! Flink's buffer timeout: records travel many to a message.
//!
//! Flow control follows Flink's credit-based scheme: a consumer grants each
//! channel `credits` batches up front and one more after processing each
//! batch, so a slow consumer slows its producer and nothing is dropped.
//! Within a channel order is preserved (the connection is ordered).
//!
//! `output_gate.rs` holds the output side, `input_gate.rs` the input side,
//! `message_log.rs` the sender-side log of uncoordinated checkpoints.

use std::io;
use std::pin::Pin;

use futures::stream::{Stream, StreamExt};

use crate::net::ConnRx;

mod input_gate;
pub mod message_log;
mod output_gate;

pub use input_gate::InputGate;
pub use output_gate::{ConnectedEdge, Forwarded, OutputGate, OwnerCache};

/// Flink's output flushing (`execution.buffer-timeout.interval`, 100 ms by
/// default): a channel's buffer is sent when it is full, before a barrier or
/// watermark, and at the latest this long after records went into an empty
/// output. Sending each operator's output after every input batch instead
/// made batches of a few records and a message per few records.
pub const BUFFER_TIMEOUT_MS: u64 = 100;

pub(crate) type Tagged<T> = Pin<Box<dyn Stream<Item = (usize, io::Result<T>)> + Send>>;

pub(crate) fn tagged<T: std::any::Any + Send>(idx: usize, rx: ConnRx) -> Tagged<T> {
    Box::pin(rx.into_stream::<T>().map(move |m| (idx, m)))
}

#[cfg(test)]
mod tests;
