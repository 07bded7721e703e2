//! Criterion benchmarks of the partitioners: one `owner` lookup per key at
//! 11 owners (over a batch of keys, through `dyn Partitioner` as the engine
//! calls it), and the assignment of a whole key set, which is how bounded
//! loads places keys.
//!
//! Tables (ring, Maglev) are built before measuring; the lookups include the
//! per-call cache access that `owner` does.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use halab_engine::partition::compare::key_range;
use halab_engine::partition::{PartitionerKind, PartitionerParams};

const OWNERS: u32 = 11;

fn bench_owner(c: &mut Criterion) {
    let keys = key_range(1024);
    let params = PartitionerParams::default();
    let mut g = c.benchmark_group("partition_owner");
    g.throughput(Throughput::Elements(keys.len() as u64));
    for kind in PartitionerKind::ALL {
        let p = kind.build(&params).expect("default parameters are valid");
        p.owner(0, OWNERS); // build any table outside the measurement
        g.bench_function(BenchmarkId::from_parameter(kind.name()), |b| {
            b.iter(|| {
                let mut acc = 0u32;
                for &k in black_box(&keys) {
                    acc = acc.wrapping_add(p.owner(k, OWNERS));
                }
                acc
            })
        });
    }
    g.finish();
}

fn bench_assign(c: &mut Criterion) {
    let keys = key_range(100_000);
    let params = PartitionerParams::default();
    let mut g = c.benchmark_group("partition_assign_100k");
    g.sample_size(20);
    g.throughput(Throughput::Elements(keys.len() as u64));
    for kind in PartitionerKind::ALL {
        let p = kind.build(&params).expect("default parameters are valid");
        p.assign(&keys[..1], OWNERS).expect("valid");
        g.bench_function(BenchmarkId::from_parameter(kind.name()), |b| {
            b.iter(|| p.assign(black_box(&keys), OWNERS).expect("valid"))
        });
    }
    g.finish();
}

// No plots: criterion's plotters backend finds no font here (the workspace
// builds plotters without font-kit), and the numbers are what matters.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_owner, bench_assign
}
criterion_main!(benches);
