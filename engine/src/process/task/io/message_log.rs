//! Sender-side message logging for uncoordinated checkpoints: every record
//! a task sends, per output channel, counted and kept until no recovery can
//! need it again. A snapshot persists the log with the counts; a recovery
//! replays to each receiver, from the sender's snapshot at the recovery
//! line, the records that were in flight there (sent, not yet processed).
//!
//! A record is *sent* when the task emits it into the channel (its state
//! then reflects having sent it), whether or not the network has taken it
//! yet. Records below a channel's *floor* (what the receiver's snapshot at
//! the latest recovery line had processed) are dropped: recovery lines
//! only move forward, so no later restore replays them.

use std::collections::VecDeque;

use crate::record::Record;

/// One output channel's log: the records from `first` on.
#[derive(Clone, Debug, Default)]
struct ChannelLog {
    first: u64,
    records: VecDeque<Record>,
}

impl ChannelLog {
    fn sent(&self) -> u64 {
        self.first + self.records.len() as u64
    }
}

/// The logs of a task's output channels.
#[derive(Clone, Debug, Default)]
pub struct MessageLog {
    channels: Vec<ChannelLog>,
}

impl MessageLog {
    /// Empty logs for `channels` output channels.
    pub fn new(channels: usize) -> Self {
        MessageLog {
            channels: vec![ChannelLog::default(); channels],
        }
    }

    /// The logs a snapshot persisted: per channel its first record's
    /// number and the records from there.
    pub fn restore(first: &[u64], logs: Vec<Vec<Record>>) -> Self {
        assert_eq!(first.len(), logs.len(), "invariant: a first record per channel log");
        MessageLog {
            channels: first
                .iter()
                .zip(logs)
                .map(|(first, records)| ChannelLog {
                    first: *first,
                    records: records.into(),
                })
                .collect(),
        }
    }

    pub fn num_channels(&self) -> usize {
        self.channels.len()
    }

    /// `record` was sent on `channel`.
    pub fn record(&mut self, channel: usize, record: Record) {
        self.channels[channel].records.push_back(record);
    }

    /// Per channel: records sent.
    pub fn sent(&self) -> Vec<u64> {
        self.channels.iter().map(ChannelLog::sent).collect()
    }

    /// Per channel: the first record the log holds.
    pub fn first(&self) -> Vec<u64> {
        self.channels.iter().map(|c| c.first).collect()
    }

    /// Per channel: the records it holds (what a snapshot persists).
    pub fn records(&self) -> Vec<Vec<Record>> {
        self.channels
            .iter()
            .map(|c| c.records.iter().copied().collect())
            .collect()
    }

    /// Records held over all channels.
    pub fn len(&self) -> usize {
        self.channels.iter().map(|c| c.records.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop the records below each channel's `floors` entry (no recovery
    /// replays them again).
    pub fn truncate(&mut self, floors: &[u64]) {
        assert_eq!(floors.len(), self.channels.len(), "invariant: a floor per channel");
        for (c, floor) in self.channels.iter_mut().zip(floors) {
            assert!(*floor <= c.sent(), "invariant: floor {floor} above {} sent", c.sent());
            while c.first < *floor {
                c.records.pop_front();
                c.first += 1;
            }
        }
    }
}

/// Records `from..to` of a channel whose persisted log starts at `first`.
pub fn slice(first: u64, records: &[Record], from: u64, to: u64) -> &[Record] {
    assert!(
        first <= from && from <= to && to <= first + records.len() as u64,
        "invariant: records {from}..{to} within the log {first}..{}",
        first + records.len() as u64
    );
    &records[(from - first) as usize..(to - first) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Origin;

    fn r(offset: u64) -> Record {
        Record {
            key: 0,
            value: 1,
            origin: Origin { partition: 0, offset },
            timestamp_ms: 0,
        }
    }

    #[test]
    fn a_log_counts_keeps_and_drops_below_the_floor() {
        let mut log = MessageLog::new(2);
        for o in 0..5 {
            log.record(0, r(o));
        }
        log.record(1, r(9));
        assert_eq!((log.sent(), log.first(), log.len()), (vec![5, 1], vec![0, 0], 6));
        log.truncate(&[3, 0]);
        assert_eq!((log.sent(), log.first()), (vec![5, 1], vec![3, 0]));
        let persisted = log.records();
        let back = MessageLog::restore(&log.first(), persisted.clone());
        assert_eq!((back.sent(), back.first()), (vec![5, 1], vec![3, 0]));
        let replay: Vec<u64> = slice(3, &persisted[0], 4, 5).iter().map(|x| x.origin.offset).collect();
        assert_eq!(replay, [4], "record 4 of channel 0");
    }
}
