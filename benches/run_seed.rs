//! Criterion benchmark of the cost of one `run_seed`: a short fault-free
//! scenario (`steady` cut to 1 s of input, 8,000 records), the whole
//! `steady` scenario, and one seed of the standard `chaos` scenario, each
//! under a fixed seed (thread start, runtime, simulation, checkers).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use halab_scenarios::catalogue;
use halab_sim::human::HumanDuration;
use halab_sim::run_seed;

fn bench_run_seed(c: &mut Criterion) {
    let steady = catalogue::load("steady").expect("built-in").expect("valid");
    let mut short = steady.clone();
    short.name = "steady-1s".into();
    short.duration = HumanDuration::from_millis(1000);
    let chaos = catalogue::load("chaos").expect("built-in").expect("valid");
    let mut g = c.benchmark_group("run_seed");
    g.sample_size(20);
    for s in [short, steady, chaos] {
        g.bench_function(BenchmarkId::from_parameter(&s.name), |b| {
            b.iter(|| run_seed(&s, 1).expect("valid"))
        });
    }
    g.finish();
}

// No plots: criterion's plotters backend finds no font here (the workspace
// builds plotters without font-kit), and the numbers are what matters.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_run_seed
}
criterion_main!(benches);
