//! The input side of a task: its channels merged into one stream, credit
//! granted back per batch, and channels held while a barrier aligns.

use std::collections::VecDeque;

use futures::stream::{SelectAll, StreamExt};

use crate::checkpoint::CheckpointBarrier;
use crate::net::{ConnRx, ConnTx};
use crate::protocol::{Credit, DataMsg};
use crate::record::Record;

use crate::process::task::TaskError;

use super::{tagged, Tagged};

/// Credits a feedback edge's channel grants: more batches than any run
/// sends, so a cycle never waits for credit (bounded channels in a cycle
/// can deadlock, each task waiting for the next to take its output).
pub const FEEDBACK_CREDITS: u32 = 1 << 24;

/// All input channels of a task, merged.
pub struct InputGate {
    credit_tx: Vec<ConnTx>,
    gate_of: Vec<usize>,
    stream: SelectAll<Tagged<DataMsg>>,
    held: Vec<VecDeque<DataMsg>>,
    pub records_in: u64,
    /// Credits granted per channel up front: `credits`, or
    /// [`FEEDBACK_CREDITS`] on a feedback edge.
    window: Vec<u32>,
    /// Per channel, credits granted and not yet used by a batch: at most
    /// its `window`, and a batch arrives only on one.
    unused_credits: Vec<u32>,
}

impl InputGate {
    /// `channels[i]` = (gate, connection); `credits` batches granted up
    /// front, but [`FEEDBACK_CREDITS`] on the channels of gate `feedback`.
    pub async fn new(
        channels: Vec<(usize, ConnTx, ConnRx)>,
        credits: u32,
        feedback: Option<usize>,
    ) -> Result<Self, TaskError> {
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
            window: Vec::new(),
            unused_credits: Vec::new(),
        };
        for (idx, (gate, tx, rx)) in channels.into_iter().enumerate() {
            let credits = if Some(gate) == feedback {
                FEEDBACK_CREDITS
            } else {
                credits
            };
            tx.send(Credit(credits))
                .await
                .map_err(|e| TaskError::Network(format!("granting credit: {e}")))?;
            g.stream.push(tagged::<DataMsg>(idx, rx));
            g.credit_tx.push(tx);
            g.gate_of.push(gate);
            g.held.push(VecDeque::new());
            g.unused_credits.push(credits);
            g.window.push(credits);
        }
        Ok(g)
    }

    pub fn num_channels(&self) -> usize {
        self.credit_tx.len()
    }

    /// Input gates: one past the highest a channel belongs to.
    pub fn num_gates(&self) -> usize {
        self.gate_of.iter().max().map_or(0, |g| g + 1)
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
                        DataMsg::Barrier(_) | DataMsg::Watermark(_) | DataMsg::CheckpointIndex(_) => Vec::new(),
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
            DataMsg::Records(_) | DataMsg::Watermark(_) | DataMsg::CheckpointIndex(_) => None,
        })
    }

    /// A record batch from `channel` was processed: return its credit.
    pub async fn processed(&mut self, channel: usize, records: usize) -> Result<(), TaskError> {
        assert!(channel < self.credit_tx.len(), "invariant: channel index in range");
        assert!(records > 0, "invariant: an empty batch on channel {channel}");
        let unused = &mut self.unused_credits[channel];
        *unused += 1;
        assert!(
            *unused <= self.window[channel],
            "invariant: {unused} credits on channel {channel}"
        );
        self.records_in += records as u64;
        self.credit_tx[channel]
            .send(Credit(1))
            .await
            .map_err(|e| TaskError::Network(format!("returning credit: {e}")))
    }
}
