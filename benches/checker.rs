//! Criterion benchmark of the exactly-once checker
//! (`halab_sim::checkers::exactly_once::check`) over N committed records:
//! the fault-free reference output of N source records over 4 partitions
//! and 500 keys, as a run commits it when nothing went wrong.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use halab_sim::checkers::exactly_once;
use halab_sim::reference::SourceContent;

fn bench_checker(c: &mut Criterion) {
    let mut g = c.benchmark_group("exactly_once_check");
    g.sample_size(20);
    for n in [10_000u64, 100_000, 1_000_000] {
        let content = SourceContent {
            seed: 1,
            partitions: 4,
            records_per_partition: n / 4,
            keys: 500,
            distribution: halab_sim::keys::KeyDistribution::Uniform,
            records_per_second: 2000,
            nexmark: None,
            edge_targets: halab_sim::reference::EdgeTargets::None,
        };
        let committed = content.reference_output();
        g.throughput(Throughput::Elements(committed.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let r = exactly_once::check(&content, None, &committed);
                assert!(r.exactly_once());
                r
            })
        });
    }
    g.finish();
}

// No plots: criterion's plotters backend finds no font here (the workspace
// builds plotters without font-kit), and the numbers are what matters.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_checker
}
criterion_main!(benches);
