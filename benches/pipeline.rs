//! Criterion benchmarks of engine throughput inside the simulation: one
//! fault-free `run_seed` of the source → key-by → count → 2PC sink pipeline
//! with checkpoints, as records per second of wall time. `steady` is the
//! catalogue scenario (80,000 records); `steady-saturated` offers 50,000
//! records/s per partition (2,000,000 records), more than the simulated
//! pipeline carries, so batches fill up. Each run includes set-up and the
//! checkers, as in `halab bench`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use halab_scenarios::catalogue;
use halab_sim::{run_seed, Scenario};

fn steady() -> Scenario {
    catalogue::load("steady").expect("built-in").expect("valid")
}

fn bench_pipeline(c: &mut Criterion) {
    let mut saturated = steady();
    saturated.name = "steady-saturated".into();
    saturated.job.records_per_second = 50_000;
    let mut g = c.benchmark_group("pipeline");
    for (s, samples) in [(steady(), 20), (saturated, 10)] {
        g.sample_size(samples);
        g.throughput(Throughput::Elements(s.total_records()));
        g.bench_function(BenchmarkId::from_parameter(&s.name), |b| {
            b.iter(|| {
                let r = run_seed(&s, 1).expect("valid");
                assert_eq!(r.records_committed, s.total_records());
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
    targets = bench_pipeline
}
criterion_main!(benches);
