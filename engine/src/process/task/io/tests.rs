//! Tests of the output and input gates over simulated connections.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use madsim::net::Endpoint;
use madsim::runtime::Handle;

use std::sync::Arc;

use super::*;
use crate::checkpoint::barrier::AlignmentType;
use crate::checkpoint::CheckpointBarrier;
use crate::graph::ShipStrategy;
use crate::net;
use crate::partition::{KeyGroupPartitioner, Partitioner};
use crate::protocol::DataMsg;
use crate::record::{Origin, Record};

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
    let mut input = InputGate::new(vec![(0, tx, rx)], 2, None).await.expect("gate");
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
