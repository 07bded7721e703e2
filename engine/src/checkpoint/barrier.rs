//! Barrier alignment on the task side, as a pure state machine.
//!
//! This is Flink's `SingleCheckpointBarrierHandler` in aligned exactly-once mode:
//! a channel that delivered the barrier of the current checkpoint is blocked (its
//! records wait) until every open channel has delivered it; then the task
//! snapshots and all channels are unblocked. A newer barrier while a checkpoint
//! is pending aborts the pending one (CHECKPOINT_DECLINED_SUBSUMED); a barrier of
//! an older or finished checkpoint is obsolete and ignored.

use std::collections::BTreeSet;

use super::CheckpointId;

/// What the task must do after a barrier arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarrierOutcome {
    /// The barrier is obsolete; nothing changes.
    Ignored,
    /// The channel is now blocked; keep collecting barriers.
    Blocked,
    /// Every channel delivered the barrier: take the snapshot now. All
    /// channels are unblocked. `subsumed` is a pending checkpoint that was
    /// aborted because this newer barrier arrived first.
    Aligned {
        id: CheckpointId,
        subsumed: Option<CheckpointId>,
    },
    /// A newer checkpoint started and aborted the pending one; the channel is blocked.
    SubsumedAndBlocked { aborted: CheckpointId },
}

/// Aligned barrier handling for a task with `num_channels` input channels.
#[derive(Clone, Debug)]
pub struct BarrierAligner {
    num_channels: usize,
    current: Option<CheckpointId>,
    last_done: Option<CheckpointId>,
    aligned: BTreeSet<usize>,
}

impl BarrierAligner {
    pub fn new(num_channels: usize) -> Self {
        assert!(
            num_channels > 0,
            "invariant: a task with inputs has at least one channel"
        );
        BarrierAligner {
            num_channels,
            current: None,
            last_done: None,
            aligned: BTreeSet::new(),
        }
    }

    /// A checkpoint is pending while alignment is in progress.
    pub fn is_pending(&self) -> bool {
        self.current.is_some() && self.current != self.last_done
    }

    pub fn is_blocked(&self, channel: usize) -> bool {
        self.is_pending() && self.aligned.contains(&channel)
    }

    pub fn current_checkpoint(&self) -> Option<CheckpointId> {
        self.current
    }

    /// A barrier with checkpoint `id` arrived on `channel`.
    pub fn on_barrier(&mut self, channel: usize, id: CheckpointId) -> BarrierOutcome {
        assert!(channel < self.num_channels, "invariant: channel index in range");
        let mut subsumed = None;
        match self.current {
            Some(cur) if id < cur || (id == cur && !self.is_pending()) => return BarrierOutcome::Ignored,
            Some(cur) if id > cur => {
                if self.is_pending() {
                    subsumed = Some(cur);
                }
                self.start(id);
            }
            None => self.start(id),
            Some(_) => {}
        }
        self.aligned.insert(channel);
        if self.aligned.len() == self.num_channels {
            self.last_done = self.current;
            self.aligned.clear();
            return BarrierOutcome::Aligned { id, subsumed };
        }
        match subsumed {
            Some(aborted) => BarrierOutcome::SubsumedAndBlocked { aborted },
            None => BarrierOutcome::Blocked,
        }
    }

    fn start(&mut self, id: CheckpointId) {
        self.current = Some(id);
        self.aligned.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_after_all_channels_and_blocks_meanwhile() {
        let mut a = BarrierAligner::new(3);
        assert_eq!(a.on_barrier(1, 1), BarrierOutcome::Blocked);
        assert!(a.is_blocked(1) && !a.is_blocked(0));
        assert_eq!(a.on_barrier(0, 1), BarrierOutcome::Blocked);
        assert_eq!(a.on_barrier(2, 1), BarrierOutcome::Aligned { id: 1, subsumed: None });
        assert!(!a.is_blocked(0) && !a.is_blocked(1) && !a.is_pending());
    }

    #[test]
    fn single_channel_aligns_at_once() {
        let mut a = BarrierAligner::new(1);
        assert_eq!(a.on_barrier(0, 4), BarrierOutcome::Aligned { id: 4, subsumed: None });
    }

    #[test]
    fn obsolete_barriers_are_ignored() {
        let mut a = BarrierAligner::new(2);
        a.on_barrier(0, 2);
        a.on_barrier(1, 2);
        assert_eq!(a.on_barrier(0, 2), BarrierOutcome::Ignored, "same id after completion");
        assert_eq!(a.on_barrier(0, 1), BarrierOutcome::Ignored, "older id");
        assert!(!a.is_blocked(0));
    }

    #[test]
    fn newer_barrier_subsumes_pending() {
        let mut a = BarrierAligner::new(2);
        a.on_barrier(0, 1);
        assert_eq!(a.on_barrier(1, 2), BarrierOutcome::SubsumedAndBlocked { aborted: 1 });
        assert!(a.is_blocked(1) && !a.is_blocked(0));
        assert_eq!(a.on_barrier(0, 2), BarrierOutcome::Aligned { id: 2, subsumed: None });
    }
}
