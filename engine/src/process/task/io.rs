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

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{SelectAll, Stream, StreamExt};

use crate::checkpoint::barrier::{is_timed_out, AlignmentType};
use crate::checkpoint::{CheckpointBarrier, CheckpointId};
use crate::graph::ShipStrategy;
use crate::net::{ConnRx, ConnTx};
use crate::partition::Partitioner;
use crate::protocol::{Credit, DataMsg};
use crate::record::Record;

use super::TaskError;

/// Flink's output flushing (`execution.buffer-timeout.interval`, 100 ms by
/// default): a channel's buffer is sent when it is full, before a barrier or
/// watermark, and at the latest this long after records went into an empty
/// output. Sending each operator's output after every input batch instead
/// made batches of a few records and a message per few records.
pub const BUFFER_TIMEOUT_MS: u64 = 100;

type Tagged<T> = Pin<Box<dyn Stream<Item = (usize, io::Result<T>)> + Send>>;

fn tagged<T: std::any::Any + Send>(idx: usize, rx: ConnRx) -> Tagged<T> {
    Box::pin(rx.into_stream::<T>().map(move |m| (idx, m)))
}

/// What waits in an output channel's queue, in order: full record buffers
/// waiting for credit, and the watermarks and barriers behind them (they
/// need no credit, but go out in order).
enum Queued {
    Records(Vec<Record>),
    Watermark(u64),
    Barrier(CheckpointBarrier),
}

struct OutChannel {
    tx: ConnTx,
    credits: u32,
    buffer: Vec<Record>,
    /// Flink's subpartition queue: what was produced but not sent yet.
    queue: VecDeque<Queued>,
}

/// An aligned barrier that may time out (alternating checkpoints) while it
/// is still queued in some channels: once `timeout < now − timestamp` it is
/// converted to an unaligned one, as Flink's
/// `PipelinedSubpartition.alignedBarrierTimeout`.
struct PendingBarrier {
    barrier: CheckpointBarrier,
    timeout_ms: i64,
    /// Channels whose queue still holds the barrier.
    queued_in: BTreeSet<usize>,
    /// Records the barrier overtook where it was converted.
    overtaken: Vec<Record>,
}

/// A barrier forwarded by [`OutputGate::forward_barrier`].
#[derive(Debug, Default)]
pub struct Forwarded {
    /// The output in-flight data known now: records an unaligned barrier
    /// overtook.
    pub in_flight: Vec<Record>,
    /// An aligned barrier that may time out is still queued: the snapshot's
    /// output in-flight data comes later ([`OutputGate::take_completed`]).
    pub output_pending: bool,
}

struct OutputEdge {
    ship: ShipStrategy,
    parallelism: u32,
    first: usize,
    len: usize,
    next_rr: usize,
    /// Hash edges: owners looked up so far (at `parallelism`).
    owners: OwnerCache,
}

/// Remembers [`Partitioner::owner`] per key, for one partitioner and one
/// parallelism: `owner` is a pure function of key and parallelism, so
/// remembering it changes nothing but the time per record. Keys below
/// 65,536 are remembered (a `Vec`, at most 256 KiB); larger keys are looked
/// up every time.
#[derive(Debug, Default)]
pub struct OwnerCache {
    owners: Vec<u32>,
    /// The parallelism of the first lookup (0 before it): every lookup
    /// must use it.
    parallelism: u32,
}

impl OwnerCache {
    const KEYS: u64 = 1 << 16;
    const UNKNOWN: u32 = u32::MAX;

    /// `partitioner.owner(key, parallelism)`; the caller passes the same
    /// partitioner and parallelism on every call.
    pub fn owner(&mut self, partitioner: &dyn Partitioner, key: u64, parallelism: u32) -> u32 {
        if self.parallelism == 0 {
            self.parallelism = parallelism;
        }
        assert_eq!(
            self.parallelism, parallelism,
            "invariant: owners cached at one parallelism"
        );
        if key >= Self::KEYS {
            return Self::checked(partitioner, key, parallelism);
        }
        let k = key as usize;
        if k >= self.owners.len() {
            self.owners.resize(k + 1, Self::UNKNOWN);
        }
        if self.owners[k] == Self::UNKNOWN {
            self.owners[k] = Self::checked(partitioner, key, parallelism);
        }
        self.owners[k]
    }

    /// The owner, asserted in range: a plug-in partitioner that places a
    /// key outside `0..parallelism` stops the run here, where it happened.
    fn checked(partitioner: &dyn Partitioner, key: u64, parallelism: u32) -> u32 {
        let owner = partitioner.owner(key, parallelism);
        assert!(
            owner < parallelism,
            "partitioner `{}` placed key {key} on owner {owner} of {parallelism}",
            partitioner.name()
        );
        owner
    }
}

/// All output channels of a task.
///
/// Emitting never waits for credit: a full buffer goes into its channel's
/// queue and leaves when the consumer grants credit
/// ([`OutputGate::recv_credit`], [`OutputGate::pump`]). The task takes
/// new input only while the output [`is_available`](OutputGate::is_available)
/// (no queue holds anything), as Flink suspends its default action while
/// no output buffer is free; barriers are still handled meanwhile, and an
/// unaligned barrier overtakes the queues (Flink's priority events).
pub struct OutputGate {
    edges: Vec<OutputEdge>,
    channels: Vec<OutChannel>,
    credit_rx: SelectAll<Tagged<Credit>>,
    partitioner: Arc<dyn Partitioner>,
    batch_size: usize,
    pub records_out: u64,
    /// The last barrier forwarded and watermark broadcast: both go out in
    /// order.
    last_barrier: Option<CheckpointId>,
    last_watermark: u64,
    /// The timeoutable aligned barrier still queued somewhere (at most one).
    pending: Option<PendingBarrier>,
    /// Timeoutable barriers sent or converted on every channel, with the
    /// records they overtook, for the task to complete their snapshots.
    completed: VecDeque<(CheckpointId, Vec<Record>)>,
}

/// One output edge's connected channels, in channel-selection order.
pub struct ConnectedEdge {
    pub ship: ShipStrategy,
    pub parallelism: u32,
    pub channels: Vec<(ConnTx, ConnRx)>,
}

impl OutputGate {
    pub fn new(edges: Vec<ConnectedEdge>, partitioner: Arc<dyn Partitioner>, batch_size: usize) -> Self {
        let mut out = OutputGate {
            edges: Vec::new(),
            channels: Vec::new(),
            credit_rx: SelectAll::new(),
            partitioner,
            batch_size,
            records_out: 0,
            last_barrier: None,
            last_watermark: 0,
            pending: None,
            completed: VecDeque::new(),
        };
        for e in edges {
            let first = out.channels.len();
            let len = e.channels.len();
            // `push` picks a channel by owner (hash), by turn (rebalance)
            // or the only one (forward).
            let expected = match e.ship {
                ShipStrategy::Forward => 1,
                ShipStrategy::Hash | ShipStrategy::Rebalance => e.parallelism as usize,
            };
            assert!(
                len == expected && len > 0,
                "invariant: an edge with {len} channels, not {expected}"
            );
            for (tx, rx) in e.channels {
                let idx = out.channels.len();
                out.credit_rx.push(tagged::<Credit>(idx, rx));
                out.channels.push(OutChannel {
                    tx,
                    credits: 0,
                    buffer: Vec::new(),
                    queue: VecDeque::new(),
                });
            }
            out.edges.push(OutputEdge {
                ship: e.ship,
                parallelism: e.parallelism,
                first,
                len,
                next_rr: 0,
                owners: OwnerCache::default(),
            });
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Whether any channel holds records not yet in its queue.
    pub fn has_buffered(&self) -> bool {
        self.channels.iter().any(|c| !c.buffer.is_empty())
    }

    /// Whether the task may take more input: nothing waits for credit.
    pub fn is_available(&self) -> bool {
        self.channels.iter().all(|c| c.queue.is_empty())
    }

    /// Route one record to a channel of every output edge; a full buffer
    /// is queued (and sent if there is credit). Never waits for credit.
    pub async fn emit(&mut self, record: Record) -> Result<(), TaskError> {
        if self.push(record) {
            self.queue_full();
            self.pump().await?;
        }
        Ok(())
    }

    /// [`OutputGate::emit`] for each record in turn.
    pub async fn emit_all(&mut self, records: impl IntoIterator<Item = Record> + Send) -> Result<(), TaskError> {
        let mut full = false;
        for record in records {
            if self.push(record) {
                self.queue_full();
                full = true;
            }
        }
        if full {
            self.pump().await?;
        }
        Ok(())
    }

    /// Append `record` to its channel's buffer on every edge; true if a
    /// buffer is now full.
    fn push(&mut self, record: Record) -> bool {
        self.records_out += 1;
        let mut full = false;
        for edge in &mut self.edges {
            let ch = match edge.ship {
                ShipStrategy::Forward => 0,
                ShipStrategy::Hash => {
                    edge.owners
                        .owner(self.partitioner.as_ref(), record.key, edge.parallelism) as usize
                }
                ShipStrategy::Rebalance => {
                    let c = edge.next_rr;
                    edge.next_rr = (edge.next_rr + 1) % edge.len;
                    c
                }
            };
            assert!(ch < edge.len, "invariant: a record goes to a channel of its edge");
            let buffer = &mut self.channels[edge.first + ch].buffer;
            buffer.push(record);
            full |= buffer.len() >= self.batch_size;
        }
        full
    }

    /// Queue every full buffer.
    fn queue_full(&mut self) {
        let size = self.batch_size;
        for ch in &mut self.channels {
            if ch.buffer.len() >= size {
                let batch = std::mem::replace(&mut ch.buffer, Vec::with_capacity(size));
                ch.queue.push_back(Queued::Records(batch));
            }
        }
    }

    /// Queue every non-empty buffer.
    fn queue_all(&mut self) {
        let size = self.batch_size;
        for ch in &mut self.channels {
            if !ch.buffer.is_empty() {
                let batch = std::mem::replace(&mut ch.buffer, Vec::with_capacity(size));
                ch.queue.push_back(Queued::Records(batch));
            }
        }
    }

    /// Queue every non-empty buffer and send what credit allows.
    pub async fn flush(&mut self) -> Result<(), TaskError> {
        self.queue_all();
        self.pump().await
    }

    /// Flush, then queue a watermark on every channel.
    pub async fn broadcast_watermark(&mut self, watermark: u64) -> Result<(), TaskError> {
        let last = std::mem::replace(&mut self.last_watermark, watermark);
        assert!(last < watermark, "invariant: watermark {watermark} after {last}");
        self.queue_all();
        for ch in &mut self.channels {
            ch.queue.push_back(Queued::Watermark(watermark));
        }
        self.pump().await
    }

    /// Wait for a credit from any consumer and count it; cancel-safe. Call
    /// [`OutputGate::pump`] afterwards.
    pub async fn recv_credit(&mut self) -> Result<(), TaskError> {
        match self.credit_rx.next().await {
            Some((c, Ok(Credit(n)))) => {
                assert!(n > 0, "invariant: a credit of no batches on channel {c}");
                self.channels[c].credits += n;
                Ok(())
            }
            Some((_, Err(e))) => Err(TaskError::Network(format!("downstream channel broke: {e}"))),
            None => Err(TaskError::Network("all downstream channels closed".into())),
        }
    }

    /// Send from every queue what its credit allows: a record buffer takes
    /// a credit, watermarks and barriers go when they reach the head.
    pub async fn pump(&mut self) -> Result<(), TaskError> {
        for idx in 0..self.channels.len() {
            loop {
                let ch = &mut self.channels[idx];
                let item = match ch.queue.front() {
                    None => break,
                    Some(Queued::Records(_)) if ch.credits == 0 => break,
                    Some(_) => ch.queue.pop_front().expect("invariant: queue not empty"),
                };
                let msg = match item {
                    Queued::Records(batch) => {
                        assert!(!batch.is_empty(), "invariant: a batch holds records");
                        ch.credits -= 1;
                        DataMsg::Records(batch)
                    }
                    Queued::Watermark(w) => DataMsg::Watermark(w),
                    Queued::Barrier(b) => {
                        self.barrier_left(idx, b.id);
                        DataMsg::Barrier(b)
                    }
                };
                send_on(&self.channels[idx].tx, idx, msg).await?;
            }
        }
        self.settle_pending();
        Ok(())
    }

    /// The barrier of checkpoint `id` left channel `idx`'s queue.
    fn barrier_left(&mut self, idx: usize, id: CheckpointId) {
        if let Some(p) = self.pending.as_mut().filter(|p| p.barrier.id == id) {
            let was_queued = p.queued_in.remove(&idx);
            assert!(was_queued, "invariant: barrier {id} left channel {idx} once");
        }
    }

    /// A pending barrier that left every queue is complete.
    fn settle_pending(&mut self) {
        if self.pending.as_ref().is_some_and(|p| p.queued_in.is_empty()) {
            let p = self.pending.take().expect("invariant: pending barrier");
            self.completed.push_back((p.barrier.id, p.overtaken));
        }
    }

    /// A timeoutable barrier that left every queue, with the records it
    /// overtook: its snapshot's output in-flight data is complete.
    pub fn take_completed(&mut self) -> Option<(CheckpointId, Vec<Record>)> {
        self.completed.pop_front()
    }

    /// When [`OutputGate::on_timer`] should convert the pending barrier.
    pub fn barrier_deadline_ms(&self) -> Option<i64> {
        self.pending.as_ref().map(|p| p.barrier.timestamp_ms + p.timeout_ms + 1)
    }

    /// Convert the pending aligned barrier to unaligned once it timed out.
    pub async fn on_timer(&mut self, now_ms: i64) -> Result<(), TaskError> {
        let timed_out = self
            .pending
            .as_ref()
            .is_some_and(|p| is_timed_out(p.barrier.timestamp_ms, p.timeout_ms, now_ms));
        if timed_out {
            self.convert_pending().await?;
        }
        Ok(())
    }

    /// The pending barrier overtakes what is queued ahead of it on every
    /// channel that still holds it; those records become its output
    /// in-flight data and follow it.
    async fn convert_pending(&mut self) -> Result<(), TaskError> {
        let Some(mut p) = self.pending.take() else {
            return Ok(());
        };
        for idx in std::mem::take(&mut p.queued_in) {
            let queue = &mut self.channels[idx].queue;
            let pos = queue
                .iter()
                .position(|q| matches!(q, Queued::Barrier(b) if b.id == p.barrier.id))
                .expect("invariant: a pending barrier is queued where recorded");
            queue.remove(pos);
            for q in queue.iter().take(pos) {
                if let Queued::Records(r) = q {
                    p.overtaken.extend_from_slice(r);
                }
            }
            send_on(&self.channels[idx].tx, idx, DataMsg::Barrier(p.barrier)).await?;
        }
        self.completed.push_back((p.barrier.id, p.overtaken));
        Ok(())
    }

    /// Forward a checkpoint's barrier. Aligned: queued after all records
    /// before it; with `timeout_ms` (alternating) it is converted to
    /// unaligned if still queued `timeout_ms` after the checkpoint started.
    /// Unaligned: sent at once on every channel, ahead of the queues and
    /// buffers, whose records are the output in-flight data. An older
    /// barrier still pending is converted first.
    pub async fn forward_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        alignment: AlignmentType,
        timeout_ms: Option<i64>,
    ) -> Result<Forwarded, TaskError> {
        // A consumer ignores a barrier older than one it has seen.
        let last = self.last_barrier.replace(barrier.id);
        assert!(
            last.is_none_or(|l| l < barrier.id),
            "invariant: {barrier:?} after {last:?}"
        );
        self.convert_pending().await?;
        match alignment {
            AlignmentType::Unaligned => {
                let in_flight = self.broadcast_barrier_unaligned(barrier).await?;
                Ok(Forwarded {
                    in_flight,
                    output_pending: false,
                })
            }
            AlignmentType::Aligned => self.queue_barrier(barrier, timeout_ms).await,
        }
    }

    /// Aligned: queue the barrier behind everything before it.
    async fn queue_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        timeout_ms: Option<i64>,
    ) -> Result<Forwarded, TaskError> {
        self.queue_all();
        for ch in &mut self.channels {
            ch.queue.push_back(Queued::Barrier(barrier));
        }
        if let Some(timeout_ms) = timeout_ms {
            self.pending = Some(PendingBarrier {
                barrier,
                timeout_ms,
                queued_in: (0..self.channels.len()).collect(),
                overtaken: Vec::new(),
            });
        }
        self.pump().await?;
        assert!(
            self.channels.iter().all(|c| c.buffer.is_empty()),
            "invariant: an aligned barrier follows all data before it"
        );
        // Sent on every channel at once: complete, nothing overtaken.
        let done = self.completed.back().is_some_and(|(id, _)| *id == barrier.id);
        if done {
            let (_, overtaken) = self.completed.pop_back().expect("invariant: completed");
            assert!(
                overtaken.is_empty(),
                "invariant: a barrier sent in order overtook nothing"
            );
        }
        Ok(Forwarded {
            in_flight: Vec::new(),
            output_pending: timeout_ms.is_some() && !done,
        })
    }

    /// Unaligned: send the barrier at once on every channel, ahead of the
    /// queued and buffered records (they follow it). Returns those overtaken
    /// records: the output in-flight data of the checkpoint.
    async fn broadcast_barrier_unaligned(&mut self, barrier: CheckpointBarrier) -> Result<Vec<Record>, TaskError> {
        let mut overtaken = Vec::new();
        for idx in 0..self.channels.len() {
            let ch = &self.channels[idx];
            for q in &ch.queue {
                match q {
                    Queued::Records(r) => overtaken.extend_from_slice(r),
                    Queued::Watermark(_) => {}
                    Queued::Barrier(b) => panic!("invariant: unaligned {barrier:?} overtakes aligned {b:?}"),
                }
            }
            overtaken.extend_from_slice(&ch.buffer);
            send_on(&self.channels[idx].tx, idx, DataMsg::Barrier(barrier)).await?;
        }
        Ok(overtaken)
    }
}

/// Send `msg` on output channel `idx`.
async fn send_on(tx: &ConnTx, idx: usize, msg: DataMsg) -> Result<(), TaskError> {
    tx.send(msg)
        .await
        .map_err(|e| TaskError::Network(format!("sending on output channel {idx}: {e}")))
}

/// All input channels of a task, merged.
pub struct InputGate {
    credit_tx: Vec<ConnTx>,
    gate_of: Vec<usize>,
    stream: SelectAll<Tagged<DataMsg>>,
    held: Vec<VecDeque<DataMsg>>,
    pub records_in: u64,
    /// Credits granted per channel (`credits` up front).
    window: u32,
    /// Per channel, credits granted and not yet used by a batch: at most
    /// `window`, and a batch arrives only on one.
    unused_credits: Vec<u32>,
}

impl InputGate {
    /// `channels[i]` = (gate, connection); `credits` batches granted up front.
    pub async fn new(channels: Vec<(usize, ConnTx, ConnRx)>, credits: u32) -> Result<Self, TaskError> {
        assert!(
            credits > 0,
            "invariant: every channel gets credit (EngineConfig checks it)"
        );
        let mut g = InputGate {
            credit_tx: Vec::new(),
            gate_of: Vec::new(),
            stream: SelectAll::new(),
            held: Vec::new(),
            records_in: 0,
            window: credits,
            unused_credits: Vec::new(),
        };
        for (idx, (gate, tx, rx)) in channels.into_iter().enumerate() {
            tx.send(Credit(credits))
                .await
                .map_err(|e| TaskError::Network(format!("granting credit: {e}")))?;
            g.stream.push(tagged::<DataMsg>(idx, rx));
            g.credit_tx.push(tx);
            g.gate_of.push(gate);
            g.held.push(VecDeque::new());
            g.unused_credits.push(credits);
        }
        Ok(g)
    }

    pub fn num_channels(&self) -> usize {
        self.credit_tx.len()
    }

    pub fn gate_of(&self, channel: usize) -> usize {
        self.gate_of[channel]
    }

    /// The next message from a channel that `is_blocked` does not block.
    /// Messages of blocked channels are held back, in order, and their
    /// credits are not returned, so their producers stall. Cancel-safe.
    pub async fn next(&mut self, is_blocked: impl Fn(usize) -> bool) -> Result<(usize, DataMsg), TaskError> {
        for (c, q) in self.held.iter_mut().enumerate() {
            if !q.is_empty() && !is_blocked(c) {
                let m = q.pop_front().expect("invariant: queue not empty");
                return Ok((c, m));
            }
        }
        loop {
            match self.stream.next().await {
                Some((c, Ok(m))) => {
                    self.arrived(c, &m);
                    if is_blocked(c) {
                        self.held[c].push_back(m);
                    } else {
                        return Ok((c, m));
                    }
                }
                Some((c, Err(e))) => return Err(TaskError::Network(format!("upstream channel {c} broke: {e}"))),
                None => return Err(TaskError::Network("all upstream channels closed".into())),
            }
        }
    }

    /// Move every message that has already arrived into the per-channel
    /// queues, without waiting.
    pub fn poll_ready(&mut self) -> Result<(), TaskError> {
        use futures::FutureExt;
        while let Some(item) = self.stream.next().now_or_never() {
            match item {
                Some((c, Ok(m))) => {
                    self.arrived(c, &m);
                    self.held[c].push_back(m);
                }
                Some((c, Err(e))) => return Err(TaskError::Network(format!("upstream channel {c} broke: {e}"))),
                None => return Err(TaskError::Network("all upstream channels closed".into())),
            }
        }
        Ok(())
    }

    /// Wait for the next message of any channel and queue it with the
    /// held ones (delivered later by [`InputGate::next`], in order); true
    /// if it was a barrier. Cancel-safe.
    pub async fn wait_arrival(&mut self) -> Result<bool, TaskError> {
        match self.stream.next().await {
            Some((c, Ok(m))) => {
                self.arrived(c, &m);
                let barrier = matches!(m, DataMsg::Barrier(_));
                self.held[c].push_back(m);
                Ok(barrier)
            }
            Some((c, Err(e))) => Err(TaskError::Network(format!("upstream channel {c} broke: {e}"))),
            None => Err(TaskError::Network("all upstream channels closed".into())),
        }
    }

    /// A message arrived on channel `c`: a record batch uses a credit.
    fn arrived(&mut self, c: usize, m: &DataMsg) {
        if let DataMsg::Records(_) = m {
            let unused = &mut self.unused_credits[c];
            assert!(*unused > 0, "invariant: a batch arrived on channel {c} without credit");
            *unused -= 1;
        }
    }

    /// Unaligned: take a barrier that has arrived but is queued behind
    /// records, letting it overtake them. Returns the channel, the barrier and
    /// the records it overtook (they stay queued, to be processed later).
    pub fn take_queued_barrier(
        &mut self,
        may_overtake: impl Fn(&CheckpointBarrier) -> bool,
    ) -> Option<(usize, CheckpointBarrier, Vec<Record>)> {
        for (c, q) in self.held.iter_mut().enumerate() {
            let first = q.iter().position(|m| matches!(m, DataMsg::Barrier(_)));
            let allowed = first.is_some_and(|pos| matches!(&q[pos], DataMsg::Barrier(b) if may_overtake(b)));
            if let Some(pos) = first.filter(|_| allowed) {
                let Some(DataMsg::Barrier(b)) = q.remove(pos) else {
                    unreachable!("invariant: position found a barrier")
                };
                let overtaken = q
                    .iter()
                    .take(pos)
                    .flat_map(|m| match m {
                        DataMsg::Records(r) => r.clone(),
                        DataMsg::Barrier(_) | DataMsg::Watermark(_) => Vec::new(),
                    })
                    .collect();
                return Some((c, b, overtaken));
            }
        }
        None
    }

    /// The barriers that arrived and wait in the per-channel queues.
    pub fn queued_barriers(&self) -> impl Iterator<Item = CheckpointBarrier> + '_ {
        self.held.iter().flatten().filter_map(|m| match m {
            DataMsg::Barrier(b) => Some(*b),
            DataMsg::Records(_) | DataMsg::Watermark(_) => None,
        })
    }

    /// A record batch from `channel` was processed: return its credit.
    pub async fn processed(&mut self, channel: usize, records: usize) -> Result<(), TaskError> {
        assert!(channel < self.credit_tx.len(), "invariant: channel index in range");
        assert!(records > 0, "invariant: an empty batch on channel {channel}");
        let unused = &mut self.unused_credits[channel];
        *unused += 1;
        assert!(
            *unused <= self.window,
            "invariant: {unused} credits on channel {channel}"
        );
        self.records_in += records as u64;
        self.credit_tx[channel]
            .send(Credit(1))
            .await
            .map_err(|e| TaskError::Network(format!("returning credit: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use madsim::net::Endpoint;
    use madsim::runtime::Handle;

    use super::*;
    use crate::net;
    use crate::partition::KeyGroupPartitioner;
    use crate::record::Origin;

    fn rec(i: u64) -> Record {
        Record {
            key: i % 7,
            value: i,
            origin: Origin {
                partition: 0,
                offset: i,
            },
            timestamp_ms: i,
        }
    }

    /// The remembered owner of a key is the partitioner's, below and above
    /// the cache's key bound.
    #[test]
    fn remembered_owners_match_the_partitioner() {
        let p = KeyGroupPartitioner::new(128);
        let mut cache = OwnerCache::default();
        let keys = (0..2000u64).chain([OwnerCache::KEYS - 1, OwnerCache::KEYS, u64::MAX]);
        for key in keys.clone().chain(keys) {
            assert_eq!(cache.owner(&p, key, 5), p.owner(key, 5), "key {key}");
        }
        assert_eq!(
            cache.owners.len() as u64,
            OwnerCache::KEYS,
            "only keys below the bound are kept"
        );
    }

    /// A consumer that does not read holds its producer's output in the
    /// producer's queue after `credits` batches (emitting never waits, the
    /// output is just unavailable); once it reads, every record arrives, in
    /// order.
    #[madsim::test]
    async fn credits_bound_in_flight_batches_and_order_is_kept() {
        let h = Handle::current();
        let consumer_ip = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 2));
        let addr = SocketAddr::new(consumer_ip, 7000);
        let consumer = h.create_node().name("consumer").ip(consumer_ip).build();
        let producer = h
            .create_node()
            .name("producer")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1)))
            .build();
        let (conn_tx, conn_rx) = tokio::sync::oneshot::channel();
        consumer.spawn(async move {
            let ep = Endpoint::bind(addr).await.expect("bind");
            let (tx, rx, _) = net::accept(&ep).await.expect("accept");
            let _ = conn_tx.send((ep, tx, rx));
        });
        let emitted = Arc::new(AtomicU64::new(0));
        let counter = emitted.clone();
        producer.spawn(async move {
            let ep = Endpoint::bind("0.0.0.0:0").await.expect("bind");
            let (tx, rx) = net::connect(&ep, addr).await.expect("connect");
            let edge = ConnectedEdge {
                ship: ShipStrategy::Forward,
                parallelism: 1,
                channels: vec![(tx, rx)],
            };
            let mut out = OutputGate::new(vec![edge], Arc::new(KeyGroupPartitioner::new(128)), 10);
            for i in 0..100 {
                out.emit(rec(i)).await.expect("emit");
                counter.store(i + 1, Ordering::SeqCst);
            }
            out.flush().await.expect("flush");
            while !out.is_available() {
                out.recv_credit().await.expect("credit");
                out.pump().await.expect("pump");
            }
            std::future::pending::<()>().await;
        });
        let (_ep, tx, rx) = conn_rx.await.expect("connected");
        let mut input = InputGate::new(vec![(0, tx, rx)], 2).await.expect("gate");
        madsim::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(emitted.load(Ordering::SeqCst), 100, "emitting never waits for credit");
        // Two batches went out on the two credits, and no third.
        let mut got = Vec::new();
        for _ in 0..2 {
            let (_, msg) = input.next(|_| false).await.expect("data");
            let DataMsg::Records(batch) = msg else {
                panic!("a batch first")
            };
            got.extend(batch.into_iter().map(|r| r.value));
        }
        let third = madsim::time::timeout(Duration::from_secs(1), input.next(|_| false)).await;
        assert!(third.is_err(), "a third batch needs credit");
        for _ in 0..2 {
            input.processed(0, 10).await.expect("credit");
        }
        while got.len() < 100 {
            let (ch, msg) = input.next(|_| false).await.expect("data");
            if let DataMsg::Records(batch) = msg {
                let n = batch.len();
                got.extend(batch.into_iter().map(|r| r.value));
                input.processed(ch, n).await.expect("credit");
            }
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "nothing dropped or reordered");
    }

    /// An aligned barrier that may time out waits behind the queued output;
    /// once `timeout < now − timestamp` it is converted: sent ahead of the
    /// queue, whose records become its output in-flight data. An unaligned
    /// barrier overtakes queue and buffer at once.
    #[madsim::test]
    async fn queued_aligned_barrier_is_converted_after_the_timeout() {
        let h = Handle::current();
        let consumer_ip = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 4));
        let addr = SocketAddr::new(consumer_ip, 7000);
        let consumer = h.create_node().name("consumer").ip(consumer_ip).build();
        let (conn_tx, conn_rx) = tokio::sync::oneshot::channel();
        consumer.spawn(async move {
            let ep = Endpoint::bind(addr).await.expect("bind");
            let (tx, rx, _) = net::accept(&ep).await.expect("accept");
            let _ = conn_tx.send((ep, tx, rx));
        });
        let producer = h
            .create_node()
            .name("producer")
            .ip(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 3)))
            .build();
        let checks = producer.spawn(async move {
            madsim::time::sleep(Duration::from_millis(100)).await;
            let ep = Endpoint::bind("0.0.0.0:0").await.expect("bind");
            let (tx, rx) = net::connect(&ep, addr).await.expect("connect");
            let (_cep, _ctx, _crx) = conn_rx.await.expect("connected");
            let edge = ConnectedEdge {
                ship: ShipStrategy::Forward,
                parallelism: 1,
                channels: vec![(tx, rx)],
            };
            // No credit granted: everything stays queued.
            let mut out = OutputGate::new(vec![edge], Arc::new(KeyGroupPartitioner::new(128)), 10);
            out.emit_all((0..25).map(rec)).await.expect("emit");
            let barrier = CheckpointBarrier {
                id: 1,
                timestamp_ms: 1000,
            };
            let fwd = out
                .forward_barrier(barrier, AlignmentType::Aligned, Some(100))
                .await
                .expect("forward");
            assert!(fwd.output_pending && fwd.in_flight.is_empty(), "{fwd:?}");
            assert!(!out.is_available());
            assert_eq!(out.barrier_deadline_ms(), Some(1101));
            out.on_timer(1100).await.expect("timer");
            assert!(out.take_completed().is_none(), "not timed out at 1100 (strict)");
            out.on_timer(1101).await.expect("timer");
            let (id, overtaken) = out.take_completed().expect("converted");
            assert_eq!((id, overtaken.len()), (1, 25), "the queued records are in flight");
            assert_eq!(out.barrier_deadline_ms(), None);
            // Unaligned: ahead of the (still queued) records and a new buffer.
            out.emit_all((25..28).map(rec)).await.expect("emit");
            let next = CheckpointBarrier {
                id: 2,
                timestamp_ms: 2000,
            };
            let fwd = out
                .forward_barrier(next, AlignmentType::Unaligned, None)
                .await
                .expect("forward");
            assert!(!fwd.output_pending);
            assert_eq!(fwd.in_flight.len(), 28, "queued and buffered records overtaken");
        });
        checks.await.expect("the checks ran");
    }
}
