//! A task's side of uncoordinated checkpoints
//! (`halab.checkpointing.protocol = uncoordinated`): its own snapshot
//! timer, its count of the records it processed per input channel, its
//! message log (kept by the [`OutputGate`]), and on restore the records in
//! flight at the recovery line, fetched from the senders' snapshots.
//!
//! Each task snapshots every `execution.checkpointing.interval`, at a
//! phase of its own (drawn from its vertex, subtask and attempt): no two
//! tasks agree on when. A snapshot's id is the attempt in the high 32 bits
//! and its count in the low, so ids only grow for a subtask, across
//! restarts too (its sink's transactions are named by them).

use std::sync::Arc;

use super::io::message_log::{self, MessageLog};
use super::io::OutputGate;
use super::{TaskEnv, TaskError};
use crate::checkpoint::recovery_line::ChannelCut;
use crate::checkpoint::{CheckpointId, StoredBlob, TaskStateSnapshot};
use crate::protocol::{StorageRequest, StorageResponse};
use crate::record::ChannelRecord;

/// A task's snapshot timer and processed counts.
#[derive(Clone, Debug)]
pub struct LocalCheckpoints {
    interval_ms: u64,
    next_ms: u64,
    /// The attempt, in the high bits of every id.
    base: CheckpointId,
    taken: u64,
    /// Per input channel (across the input gates): records processed.
    pub received: Vec<u64>,
    /// Communication-induced checkpoints: the index of the latest
    /// snapshot (0 before the first).
    pub index: u64,
}

/// SplitMix64's finaliser: a well-spread phase from small numbers.
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl LocalCheckpoints {
    /// The timer of a task started at `now_ms`, with `inputs` input
    /// channels, continuing the counts of `restored` (its snapshot at the
    /// recovery line).
    fn new(env: &TaskEnv, now_ms: u64, inputs: usize, restored: Option<&ChannelCut>) -> Option<Self> {
        if !env.config.protocol.has_local_snapshots() {
            return None;
        }
        let interval_ms = env
            .config
            .checkpoint_interval
            .expect("invariant: uncoordinated checkpoints have an interval (validated)")
            .as_millis() as u64;
        let id = env.tdd.id;
        let seed = (u64::from(id.vertex.vertex) << 40) ^ (u64::from(id.vertex.subtask) << 20) ^ u64::from(id.attempt);
        let received = restored.map_or_else(|| vec![0; inputs], |c| c.received.clone());
        assert_eq!(received.len(), inputs, "invariant: a count per input channel");
        Some(LocalCheckpoints {
            interval_ms,
            next_ms: now_ms + mix(seed) % interval_ms.max(1),
            base: u64::from(id.attempt) << 32,
            taken: 0,
            received,
            index: restored.map_or(0, |c| c.index),
        })
    }

    /// Records replayed from the senders' logs are processed as any other.
    pub fn replayed(&mut self, records: &[ChannelRecord]) {
        for r in records {
            let channel = r.channel as usize;
            assert!(
                channel < self.received.len(),
                "invariant: replay into input channel {channel}"
            );
            self.received[channel] += 1;
        }
    }

    /// When the next snapshot is due.
    pub fn due_ms(&self) -> u64 {
        self.next_ms
    }

    /// A snapshot forced by a received checkpoint `index` above the own
    /// (communication-induced checkpoints): its id, at that index. The
    /// timer is left as it is.
    pub fn take_forced(&mut self, index: u64) -> CheckpointId {
        assert!(index > self.index, "invariant: only a higher index forces a snapshot");
        self.index = index;
        self.taken += 1;
        assert!(
            self.taken < 1 << 32,
            "invariant: an attempt's snapshot count fits its bits"
        );
        self.base | self.taken
    }

    /// The next snapshot's id (its index one above the last); the timer
    /// moves on by the interval.
    pub fn take(&mut self, now_ms: u64) -> CheckpointId {
        assert!(now_ms >= self.next_ms, "invariant: a snapshot taken when due");
        self.index += 1;
        self.taken += 1;
        // A snapshot held back (by a batch) does not make the next one late.
        self.next_ms = (self.next_ms + self.interval_ms).max(now_ms + 1);
        assert!(
            self.taken < 1 << 32,
            "invariant: an attempt's snapshot count fits its bits"
        );
        self.base | self.taken
    }

    /// The cut of snapshot `id`, with `log`'s counts.
    pub fn cut(&self, id: CheckpointId, log: &MessageLog) -> ChannelCut {
        assert!(
            id & !((1 << 32) - 1) == self.base && id & ((1 << 32) - 1) == self.taken,
            "invariant: snapshot {id} is this attempt's latest"
        );
        ChannelCut {
            local_id: id,
            received: self.received.clone(),
            sent: log.sent(),
            log_first: log.first(),
            index: self.index,
        }
    }
}

impl TaskEnv {
    /// Uncoordinated checkpoints: start the task's timer and message log
    /// (restored from its snapshot at the line, if any), and fetch the
    /// records in flight into it at the line. `None` and nothing to replay
    /// under the coordinated protocol.
    pub async fn restore_uncoordinated(
        &self,
        restored: &[Arc<TaskStateSnapshot>],
        out: &mut OutputGate,
    ) -> Result<(Option<LocalCheckpoints>, Vec<ChannelRecord>), TaskError> {
        let inputs: usize = self.tdd.input_gates.iter().map(|n| *n as usize).sum();
        let own = restored.iter().find_map(|s| s.cut.as_ref().map(|c| (c, s)));
        let now = self.tracer.now_ms();
        let Some(local) = LocalCheckpoints::new(self, now, inputs, own.map(|(c, _)| c)) else {
            return Ok((None, Vec::new()));
        };
        let log = match own {
            Some((cut, snap)) => MessageLog::restore(&cut.log_first, snap.sent_log.clone()),
            None => MessageLog::new(out.num_channels()),
        };
        out.log_into(log);
        // CIC: what the task sends after a restore carries the restored
        // index, as what it sent after that snapshot did.
        if self.config.protocol.is_communication_induced() {
            out.raise_index(local.index);
        }
        let replay = self.fetch_replay().await?;
        Ok((Some(local), replay))
    }

    /// The records in flight into this task at the restored line, from the
    /// senders' snapshots, channel by channel.
    async fn fetch_replay(&self) -> Result<Vec<ChannelRecord>, TaskError> {
        let Some(spec) = &self.tdd.restore else {
            return Ok(Vec::new());
        };
        let mut client = self.storage_client();
        let mut records = Vec::new();
        for slice in &spec.replay {
            let resp: StorageResponse = client
                .call(StorageRequest::Get {
                    key: slice.sender_key.clone(),
                })
                .await
                .map_err(|e| TaskError::Restore(e.to_string()))?;
            let StorageResponse::Found(Some(StoredBlob::Task(sender))) = resp else {
                return Err(TaskError::Restore(format!("log {} unavailable", slice.sender_key)));
            };
            let cut = sender.cut.as_ref().expect("invariant: a logged snapshot has its cut");
            let logged = message_log::slice(
                cut.log_first[slice.out],
                &sender.sent_log[slice.out],
                slice.from,
                slice.to,
            );
            records.extend(ChannelRecord::tag(slice.input, logged));
        }
        Ok(records)
    }
}
