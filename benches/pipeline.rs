//! Criterion benchmarks: the cost of one simulated run (`run_seed`) of the
//! built-in scenarios, and of the exactly-once checker on a run's output.
//!
//! Figures for the issue notes come from `cargo bench` (release profile).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use halab_scenarios::catalogue;
use halab_sim::checkers::exactly_once;
use halab_sim::reference::SourceContent;
use halab_sim::run_seed;

fn bench_run_seed(c: &mut Criterion) {
    let mut g = c.benchmark_group("run_seed");
    g.sample_size(20);
    for name in ["steady", "tm-crash"] {
        let s = catalogue::load(name).expect("built-in").expect("valid");
        g.throughput(Throughput::Elements(s.total_records()));
        let mut seed = 0;
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                seed += 1;
                run_seed(&s, seed).expect("valid")
            })
        });
    }
    g.finish();
}

fn bench_checker(c: &mut Criterion) {
    let content = SourceContent {
        seed: 1,
        partitions: 4,
        records_per_partition: 20_000,
        keys: 500,
        records_per_second: 2000,
    };
    let out = content.reference_output();
    let mut g = c.benchmark_group("checker");
    g.throughput(Throughput::Elements(out.len() as u64));
    g.bench_function("exactly_once_80k", |b| {
        b.iter(|| exactly_once::check(&content, None, &out))
    });
    g.finish();
}

criterion_group!(benches, bench_run_seed, bench_checker);
criterion_main!(benches);
