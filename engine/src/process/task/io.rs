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

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{SelectAll, Stream, StreamExt};

use crate::checkpoint::barrier::AlignmentType;
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

struct OutChannel {
    tx: ConnTx,
    credits: u32,
    buffer: Vec<Record>,
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

    /// Whether any channel holds records not sent yet.
    pub fn has_buffered(&self) -> bool {
        self.channels.iter().any(|c| !c.buffer.is_empty())
    }

    /// Route one record to a channel of every output edge; sends a batch
    /// when a channel's buffer is full.
    pub async fn emit(&mut self, record: Record) -> Result<(), TaskError> {
        if self.push(record) {
            self.send_full().await?;
        }
        Ok(())
    }

    /// [`OutputGate::emit`] for each record in turn, in one future: the
    /// per-record work is synchronous and only a full buffer awaits.
    pub async fn emit_all(&mut self, records: impl IntoIterator<Item = Record> + Send) -> Result<(), TaskError> {
        for record in records {
            if self.push(record) {
                self.send_full().await?;
            }
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

    /// Send every full buffer.
    async fn send_full(&mut self) -> Result<(), TaskError> {
        for idx in 0..self.channels.len() {
            if self.channels[idx].buffer.len() >= self.batch_size {
                self.send_buffer(idx).await?;
            }
        }
        Ok(())
    }

    /// Send every non-empty buffer.
    pub async fn flush(&mut self) -> Result<(), TaskError> {
        for idx in 0..self.channels.len() {
            if !self.channels[idx].buffer.is_empty() {
                self.send_buffer(idx).await?;
            }
        }
        Ok(())
    }

    /// Flush, then send the barrier on every channel (after all data before it).
    pub async fn broadcast_barrier(&mut self, barrier: CheckpointBarrier) -> Result<(), TaskError> {
        self.flush().await?;
        assert!(
            self.channels.iter().all(|c| c.buffer.is_empty()),
            "invariant: an aligned barrier follows all data before it"
        );
        for ch in &self.channels {
            ch.tx
                .send(DataMsg::Barrier(barrier))
                .await
                .map_err(|e| TaskError::Network(format!("sending barrier: {e}")))?;
        }
        Ok(())
    }

    /// Flush, then send a watermark on every channel.
    pub async fn broadcast_watermark(&mut self, watermark: u64) -> Result<(), TaskError> {
        let last = std::mem::replace(&mut self.last_watermark, watermark);
        assert!(last < watermark, "invariant: watermark {watermark} after {last}");
        self.flush().await?;
        for ch in &self.channels {
            ch.tx
                .send(DataMsg::Watermark(watermark))
                .await
                .map_err(|e| TaskError::Network(format!("sending watermark: {e}")))?;
        }
        Ok(())
    }

    /// Forward a checkpoint's barrier: aligned, after all buffered records;
    /// unaligned, ahead of them. Returns the output in-flight data (records the
    /// barrier overtook), empty for aligned checkpoints.
    pub async fn forward_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        alignment: AlignmentType,
    ) -> Result<Vec<Record>, TaskError> {
        // A consumer ignores a barrier older than one it has seen.
        let last = self.last_barrier.replace(barrier.id);
        assert!(
            last.is_none_or(|l| l < barrier.id),
            "invariant: {barrier:?} after {last:?}"
        );
        match alignment {
            AlignmentType::Unaligned => self.broadcast_barrier_unaligned(barrier).await,
            AlignmentType::Aligned => {
                self.broadcast_barrier(barrier).await?;
                Ok(Vec::new())
            }
        }
    }

    /// Unaligned: send the barrier at once on every channel, ahead of records
    /// still buffered (they follow it). Returns those overtaken records: the
    /// output in-flight data of the checkpoint.
    pub async fn broadcast_barrier_unaligned(&mut self, barrier: CheckpointBarrier) -> Result<Vec<Record>, TaskError> {
        let mut overtaken = Vec::new();
        for ch in &self.channels {
            overtaken.extend_from_slice(&ch.buffer);
            ch.tx
                .send(DataMsg::Barrier(barrier))
                .await
                .map_err(|e| TaskError::Network(format!("sending barrier: {e}")))?;
        }
        Ok(overtaken)
    }

    async fn send_buffer(&mut self, idx: usize) -> Result<(), TaskError> {
        while self.channels[idx].credits == 0 {
            match self.credit_rx.next().await {
                Some((c, Ok(Credit(n)))) => {
                    assert!(n > 0, "invariant: a credit of no batches on channel {c}");
                    self.channels[c].credits += n;
                }
                Some((_, Err(e))) => return Err(TaskError::Network(format!("downstream channel broke: {e}"))),
                None => return Err(TaskError::Network("all downstream channels closed".into())),
            }
        }
        let ch = &mut self.channels[idx];
        assert!(ch.credits > 0, "invariant: a batch goes out only on credit");
        ch.credits -= 1;
        let batch = std::mem::replace(&mut ch.buffer, Vec::with_capacity(self.batch_size));
        assert!(!batch.is_empty(), "invariant: a batch holds records");
        ch.tx
            .send(DataMsg::Records(batch))
            .await
            .map_err(|e| TaskError::Network(format!("sending records: {e}")))
    }
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
    pub fn take_queued_barrier(&mut self) -> Option<(usize, CheckpointBarrier, Vec<Record>)> {
        for (c, q) in self.held.iter_mut().enumerate() {
            if let Some(pos) = q.iter().position(|m| matches!(m, DataMsg::Barrier(_))) {
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

    /// A consumer that does not read stalls its producer after `credits`
    /// batches; once it reads, every record arrives, in order.
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
            std::future::pending::<()>().await;
        });
        let (_ep, tx, rx) = conn_rx.await.expect("connected");
        let mut input = InputGate::new(vec![(0, tx, rx)], 2).await.expect("gate");
        madsim::time::sleep(Duration::from_secs(2)).await;
        // Two batches went out on the two credits; the 30th emit filled the
        // third batch and waits for credit, so 29 emits have returned.
        assert_eq!(
            emitted.load(Ordering::SeqCst),
            29,
            "the producer is held back by missing credit"
        );
        let mut got = Vec::new();
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
}
