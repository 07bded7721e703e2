//! A transfer channel with a bandwidth: a NIC direction, a TaskManager's
//! connection to checkpoint storage, a local disk.
//!
//! Sharing rule: transfers on one link are served one after another in the
//! order they were requested (FIFO), each at the full bandwidth. A set of
//! transfers started together therefore ends when their total bytes over
//! the bandwidth has passed, as under fair sharing; the difference is
//! only in which of them finishes first (FIFO lets the earliest request
//! finish earliest). The per-request latency is paid once per transfer
//! and does not occupy the link (requests are pipelined).
//!
//! Time is in nanoseconds on the run's clock; the caller sleeps until the
//! returned instant.

use super::units::Bandwidth;

#[derive(Clone, Debug)]
pub struct Link {
    bandwidth: Bandwidth,
    latency_ns: u64,
    /// When the last accepted transfer leaves the link.
    busy_until_ns: u64,
    /// Bytes moved so far (a figure for the RunRecord and tests).
    bytes_moved: u64,
}

impl Link {
    pub fn new(bandwidth: Bandwidth, latency_ns: u64) -> Link {
        Link {
            bandwidth,
            latency_ns,
            busy_until_ns: 0,
            bytes_moved: 0,
        }
    }

    pub fn bandwidth(&self) -> Bandwidth {
        self.bandwidth
    }

    pub fn latency_ns(&self) -> u64 {
        self.latency_ns
    }

    /// Queue a transfer of `bytes` requested at `now_ns`; returns when it
    /// has arrived: after the transfers before it, its own bytes over the
    /// bandwidth, and the latency.
    pub fn transfer(&mut self, now_ns: u64, bytes: u64) -> u64 {
        let start = self.busy_until_ns.max(now_ns);
        let end = start.saturating_add(self.bandwidth.transfer_ns(bytes));
        assert!(
            end >= start && start >= now_ns,
            "invariant: a transfer ends after it starts"
        );
        self.busy_until_ns = end;
        self.bytes_moved = self.bytes_moved.saturating_add(bytes);
        end.saturating_add(self.latency_ns)
    }

    pub fn bytes_moved(&self) -> u64 {
        self.bytes_moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn one_transfer_takes_bytes_over_bandwidth_plus_latency() {
        let mut l = Link::new(Bandwidth::bytes_per_sec(100e6), 20 * MS);
        // 100 MB at 100 MB/s: 1 s, plus 20 ms.
        assert_eq!(l.transfer(5 * MS, 100_000_000), 5 * MS + 1000 * MS + 20 * MS);
        assert_eq!(l.bytes_moved(), 100_000_000);
    }

    #[test]
    fn concurrent_transfers_share_the_link_first_come_first_served() {
        let mut l = Link::new(Bandwidth::bytes_per_sec(1e6), 0);
        let a = l.transfer(0, 500_000);
        let b = l.transfer(0, 500_000);
        assert_eq!(a, 500 * MS);
        assert_eq!(
            b,
            1000 * MS,
            "the second waits for the first: together 1 MB over 1 MB/s"
        );
        // An idle gap is not banked.
        let c = l.transfer(5000 * MS, 1_000);
        assert_eq!(c, 5001 * MS);
    }
}
