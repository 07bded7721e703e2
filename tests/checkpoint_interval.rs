//! The best checkpoint interval against Young's √(2·C·M) (docs/cost-model.md,
//! "Model against theory").
//!
//! The catalogue's `interval-tradeoff` job is CPU-bound and bounded; each
//! checkpoint holds its keyed task for C (RocksDB flushes the whole state to
//! local disk), and TaskManager crashes come every M on average, each one
//! replaying the work since the last completed checkpoint. Its throughput
//! (records over makespan) therefore has a maximum, which first-order
//! theory puts at Young's √(2·C·M). For three (C, M) pairs, every interval
//! of a grid around that value runs the same seeds with the same fault
//! plans; the measured optimum (the maximum of the fitted first-order curve,
//! as the report draws it) must fall within 25% of Young's.

use std::sync::Mutex;

use halab_reports::IntervalGroup;
use halab_reports::IntervalSweep;
use halab_scenarios::parse_scenario;
use halab_sim::{run_seed, Verdict};

const BASE: &str = include_str!("../scenarios/catalogue/interval-tradeoff.toml");
/// Each key's state: the flush writes 5 keys at 1 GB/s.
const KEYS: f64 = 5.0;
const DISK_BYTES_PER_MS: f64 = 1e6;
/// The grid, as multiples of Young's optimum.
const GRID: [f64; 7] = [0.3, 0.45, 0.7, 1.0, 1.5, 2.2, 3.3];
const SEEDS: u64 = 20;

/// `interval-tradeoff` with `bytes_per_key` of state per key, crashes at
/// `rate` per second, and the given checkpoint interval.
fn variant(bytes_per_key: u64, rate: f64, interval_ms: u64) -> String {
    let replace = |text: String, from: &str, to: String| {
        assert!(text.contains(from), "the catalogue scenario has `{from}`");
        text.replace(from, &to)
    };
    let t = replace(
        BASE.to_string(),
        "state-bytes-per-key = \"20MB\"",
        format!("state-bytes-per-key = {bytes_per_key}"),
    );
    let t = replace(t, "rate = 0.1", format!("rate = {rate}"));
    // Faults go on past the slowest variant's makespan.
    let t = replace(t, "window = [\"0s\", \"150s\"]", "window = [\"0s\", \"300s\"]".into());
    replace(
        t,
        "\"execution.checkpointing.interval\" = \"1400ms\"",
        format!("\"execution.checkpointing.interval\" = \"{interval_ms}ms\""),
    )
}

/// Run every (interval, seed) on two threads; records as the report reads
/// them.
fn sweep(bytes_per_key: u64, rate: f64, intervals: &[u64]) -> Vec<IntervalGroup> {
    let jobs: Vec<(u64, u64)> = intervals
        .iter()
        .flat_map(|i| (1..=SEEDS).map(move |s| (*i, s)))
        .collect();
    let next = Mutex::new(jobs.into_iter());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some((interval_ms, seed)) = next.lock().expect("lock").next() else {
                    return;
                };
                let s = parse_scenario(&variant(bytes_per_key, rate, interval_ms), "interval-tradeoff")
                    .expect("valid variant");
                let r = run_seed(&s, seed).expect("valid");
                assert_eq!(
                    r.verdict,
                    Verdict::Pass,
                    "interval {interval_ms}ms seed {seed}: {:?}",
                    r.message
                );
                let json = serde_json::to_string(&r).expect("json");
                let record: halab_reports::RunRecord = serde_json::from_str(&json).expect("the report reads it");
                done.lock().expect("lock").push((interval_ms, seed, record));
            });
        }
    });
    let mut runs = done.into_inner().expect("lock");
    runs.sort_by_key(|(i, s, _)| (*i, *s));
    intervals
        .iter()
        .map(|i| IntervalGroup {
            interval_ms: *i,
            records: runs.iter().filter(|r| r.0 == *i).map(|r| r.2.clone()).collect(),
        })
        .collect()
}

#[test]
fn the_best_checkpoint_interval_is_youngs() {
    // (state bytes per key, crashes per second): C = 25, 100 and 400 ms
    // against M = 10, 20 and 10 s.
    for (bytes_per_key, rate) in [(5_000_000u64, 0.1), (20_000_000, 0.05), (80_000_000, 0.1)] {
        let cost_ms = KEYS * bytes_per_key as f64 / DISK_BYTES_PER_MS;
        let mtbf_ms = 1000.0 / rate;
        let young = (2.0 * cost_ms * mtbf_ms).sqrt();
        let intervals: Vec<u64> = GRID.iter().map(|f| (f * young / 10.0).round() as u64 * 10).collect();
        let sweep = IntervalSweep {
            groups: sweep(bytes_per_key, rate, &intervals),
            mtbf_ms,
            checkpoint_cost_ms: None,
        };
        // The cost the runs measured is the modelled flush: bytes / bandwidth.
        let measured_cost = sweep.checkpoint_cost_ms().expect("checkpoints held the task");
        assert!(
            (measured_cost - cost_ms).abs() / cost_ms <= 0.05,
            "C: measured {measured_cost:.1} ms, model {cost_ms} ms"
        );
        let points = sweep.points();
        let best = points
            .iter()
            .max_by(|a, b| a.throughput_per_s.partial_cmp(&b.throughput_per_s).expect("finite"))
            .expect("points");
        assert!(
            best.interval_ms != intervals[0] && best.interval_ms != intervals[intervals.len() - 1],
            "C = {cost_ms} ms: the throughput has an interior maximum: {points:?}"
        );
        let measured = sweep.measured_optimum_ms().expect("the fit has a maximum");
        let error = (measured - young).abs() / young;
        let daly = sweep.daly_ms().expect("Daly");
        println!(
            "C = {cost_ms} ms, M = {mtbf_ms} ms: measured optimum {measured:.0} ms, Young {young:.0} ms ({:+.1}%), Daly {daly:.0} ms",
            (measured / young - 1.0) * 100.0
        );
        assert!(
            error <= 0.25,
            "C = {cost_ms} ms, M = {mtbf_ms} ms: measured optimum {measured:.0} ms, Young {young:.0} ms ({:.1}% off); points {points:?}",
            error * 100.0
        );
    }
}
