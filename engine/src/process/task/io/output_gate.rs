//! The output side of a task: partitioning records to channels, batching
//! them into buffers, credit-based flow control, and barriers and
//! watermarks queued in order behind the data.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use futures::stream::{SelectAll, StreamExt};

use crate::checkpoint::barrier::{is_timed_out, AlignmentType};
use crate::checkpoint::traffic::CheckpointTraffic;
use crate::checkpoint::{CheckpointBarrier, CheckpointId};
use crate::graph::ShipStrategy;
use crate::net::{ConnRx, ConnTx};
use crate::partition::Partitioner;
use crate::protocol::{Credit, DataMsg};
use crate::record::{ChannelRecord, Record};

use crate::process::task::TaskError;

use super::message_log::MessageLog;
use super::{tagged, Tagged};

/// What waits in an output channel's queue, in order: full record buffers
/// waiting for credit, and the watermarks and barriers behind them (they
/// need no credit, but go out in order).
enum Queued {
    Records(Vec<Record>),
    Watermark(u64),
    Barrier(CheckpointBarrier),
    /// The sender's checkpoint index, ahead of the first batch after it
    /// rose (communication-induced checkpoints).
    Index(u64),
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
    overtaken: Vec<ChannelRecord>,
}

/// A barrier forwarded by [`OutputGate::forward_barrier`].
#[derive(Debug, Default)]
pub struct Forwarded {
    /// The output in-flight data known now: records an unaligned barrier
    /// overtook.
    pub in_flight: Vec<ChannelRecord>,
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
    pub(super) owners: Vec<u32>,
    /// The parallelism of the first lookup (0 before it): every lookup
    /// must use it.
    parallelism: u32,
}

impl OwnerCache {
    pub(super) const KEYS: u64 = 1 << 16;
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
    completed: VecDeque<(CheckpointId, Vec<ChannelRecord>)>,
    /// Every record sent, per channel (uncoordinated checkpoints only).
    log: Option<MessageLog>,
    /// Communication-induced checkpoints: the task's checkpoint index, and
    /// per channel the last index sent on it.
    index: Option<u64>,
    index_sent: Vec<u64>,
    /// Counts the barriers and indexes sent.
    traffic: CheckpointTraffic,
}

/// One output edge's connected channels, in channel-selection order.
pub struct ConnectedEdge {
    pub ship: ShipStrategy,
    pub parallelism: u32,
    pub channels: Vec<(ConnTx, ConnRx)>,
}

impl OutputGate {
    /// Count the barriers and indexes this gate sends in `traffic`.
    pub fn with_traffic(mut self, traffic: CheckpointTraffic) -> Self {
        assert!(
            self.records_out == 0 && self.last_barrier.is_none() && self.last_watermark == 0,
            "invariant: the counters are attached before the gate sends"
        );
        self.traffic = traffic;
        self
    }

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
            log: None,
            index: None,
            index_sent: Vec::new(),
            traffic: CheckpointTraffic::default(),
        };
        for e in edges {
            let first = out.channels.len();
            let len = e.channels.len();
            // `push` picks a channel by owner (hash), by turn (rebalance)
            // or the only one (forward).
            let expected = match e.ship {
                ShipStrategy::Forward => 1,
                ShipStrategy::Hash | ShipStrategy::Rebalance | ShipStrategy::Broadcast => e.parallelism as usize,
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

    /// Output channels, across the output edges.
    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    /// Log every record sent from now on into `log` (uncoordinated
    /// checkpoints): a new log, or one restored from a snapshot.
    pub fn log_into(&mut self, log: MessageLog) {
        assert_eq!(
            log.num_channels(),
            self.channels.len(),
            "invariant: a log per output channel"
        );
        self.log = Some(log);
    }

    /// Communication-induced checkpoints: the task's checkpoint index is
    /// `index` from now on. What is buffered goes out first, with the index
    /// before; the next batch on each channel carries the new one.
    pub fn raise_index(&mut self, index: u64) {
        self.queue_all();
        assert!(
            self.index.is_none_or(|i| i <= index),
            "invariant: a checkpoint index only rises ({:?} to {index})",
            self.index
        );
        self.index_sent.resize(self.channels.len(), 0);
        self.index = Some(index);
    }

    /// Queue `batch` on channel `idx`, behind the checkpoint index if it
    /// rose since the channel last carried one.
    fn queue_batch(&mut self, idx: usize, batch: Vec<Record>) {
        if let Some(index) = self.index.filter(|i| self.index_sent[idx] < *i) {
            self.index_sent[idx] = index;
            self.channels[idx].queue.push_back(Queued::Index(index));
        }
        self.channels[idx].queue.push_back(Queued::Records(batch));
    }

    /// The log of sent records, if the task keeps one.
    pub fn message_log(&self) -> Option<&MessageLog> {
        self.log.as_ref()
    }

    pub fn message_log_mut(&mut self) -> Option<&mut MessageLog> {
        self.log.as_mut()
    }

    /// Whether any channel holds records not yet in its queue.
    pub fn has_buffered(&self) -> bool {
        self.channels.iter().any(|c| !c.buffer.is_empty())
    }

    /// Whether the task may take more input: nothing waits for credit.
    pub fn is_available(&self) -> bool {
        self.channels.iter().all(|c| c.queue.is_empty())
    }

    /// Put a record of restored output in-flight data back into the
    /// channel it was overtaken in ([`ChannelRecord`]).
    pub async fn replay(&mut self, r: ChannelRecord) -> Result<(), TaskError> {
        let idx = r.channel as usize;
        // The restored snapshot was written by this subtask at this layout.
        assert!(
            idx < self.channels.len(),
            "invariant: in-flight output of channel {idx} of {}",
            self.channels.len()
        );
        self.records_out += 1;
        let buffer = &mut self.channels[idx].buffer;
        buffer.push(r.record);
        if buffer.len() >= self.batch_size {
            self.queue_full();
            self.pump().await?;
        }
        Ok(())
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
                ShipStrategy::Broadcast => {
                    for (i, buffer) in self.channels[edge.first..edge.first + edge.len]
                        .iter_mut()
                        .map(|c| &mut c.buffer)
                        .enumerate()
                    {
                        buffer.push(record);
                        full |= buffer.len() >= self.batch_size;
                        if let Some(log) = &mut self.log {
                            log.record(edge.first + i, record);
                        }
                    }
                    continue;
                }
            };
            assert!(ch < edge.len, "invariant: a record goes to a channel of its edge");
            if let Some(log) = &mut self.log {
                log.record(edge.first + ch, record);
            }
            let buffer = &mut self.channels[edge.first + ch].buffer;
            buffer.push(record);
            full |= buffer.len() >= self.batch_size;
        }
        full
    }

    /// Queue every full buffer.
    fn queue_full(&mut self) {
        let size = self.batch_size;
        for idx in 0..self.channels.len() {
            if self.channels[idx].buffer.len() >= size {
                let batch = std::mem::replace(&mut self.channels[idx].buffer, Vec::with_capacity(size));
                self.queue_batch(idx, batch);
            }
        }
    }

    /// Queue every non-empty buffer.
    fn queue_all(&mut self) {
        let size = self.batch_size;
        for idx in 0..self.channels.len() {
            if !self.channels[idx].buffer.is_empty() {
                let batch = std::mem::replace(&mut self.channels[idx].buffer, Vec::with_capacity(size));
                self.queue_batch(idx, batch);
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
                    Queued::Index(i) => DataMsg::CheckpointIndex(i),
                    Queued::Barrier(b) => {
                        self.barrier_left(idx, b.id);
                        DataMsg::Barrier(b)
                    }
                };
                send_on(&self.channels[idx].tx, idx, msg, &self.traffic).await?;
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
    pub fn take_completed(&mut self) -> Option<(CheckpointId, Vec<ChannelRecord>)> {
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
                    p.overtaken.extend(ChannelRecord::tag(idx, r));
                }
            }
            send_on(&self.channels[idx].tx, idx, DataMsg::Barrier(p.barrier), &self.traffic).await?;
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
            // An iteration head's back-edge log is input-side: its barrier
            // goes out aligned.
            AlignmentType::Aligned | AlignmentType::AlignedWithBackEdgeLog => {
                self.queue_barrier(barrier, timeout_ms).await
            }
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
    async fn broadcast_barrier_unaligned(
        &mut self,
        barrier: CheckpointBarrier,
    ) -> Result<Vec<ChannelRecord>, TaskError> {
        let mut overtaken = Vec::new();
        for idx in 0..self.channels.len() {
            let ch = &self.channels[idx];
            for q in &ch.queue {
                match q {
                    Queued::Records(r) => overtaken.extend(ChannelRecord::tag(idx, r)),
                    Queued::Watermark(_) | Queued::Index(_) => {}
                    Queued::Barrier(b) => panic!("invariant: unaligned {barrier:?} overtakes aligned {b:?}"),
                }
            }
            overtaken.extend(ChannelRecord::tag(idx, &ch.buffer));
            send_on(&self.channels[idx].tx, idx, DataMsg::Barrier(barrier), &self.traffic).await?;
        }
        Ok(overtaken)
    }
}

/// Send `msg` on output channel `idx`, counting it in `traffic` if it is
/// the checkpoint protocol's (a barrier or an index).
async fn send_on(tx: &ConnTx, idx: usize, msg: DataMsg, traffic: &CheckpointTraffic) -> Result<(), TaskError> {
    if matches!(msg, DataMsg::Barrier(_) | DataMsg::CheckpointIndex(_)) {
        traffic.message();
    }
    tx.send(msg)
        .await
        .map_err(|e| TaskError::Network(format!("sending on output channel {idx}: {e}")))
}
