//! Key skew (issue 19, item 3): the `key-distribution` of a job's source
//! and the per-subtask load it causes, in the RunRecord and in the report.
//!
//! In the `skew-*` scenarios four counts pay 1 ms of CPU per record for
//! 3,000 records/s: 75% of their capacity when the keys spread evenly. Under
//! `hot(0.8, 10)` or `zipf(1.1)` the count holding the most frequent keys
//! takes over a third of the records, needs more CPU than it has, and
//! back-pressures the sources; the other counts starve.

use halab_scenarios::catalogue;
use halab_sim::record::SubtaskMetrics;
use halab_sim::{run_seed, RunRecord, Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

fn passing_runs(s: &Scenario, seeds: std::ops::RangeInclusive<u64>) -> Vec<RunRecord> {
    seeds
        .map(|seed| {
            let r = run_seed(s, seed).expect("valid");
            assert_eq!(r.verdict, Verdict::Pass, "{} seed {seed}: {:?}", r.scenario, r.message);
            r
        })
        .collect()
}

fn of<'a>(r: &'a RunRecord, vertex: &str) -> Vec<&'a SubtaskMetrics> {
    r.subtasks.iter().filter(|s| s.vertex == vertex).collect()
}

/// The count that took in the most records, and its share of them.
fn hottest_count(r: &RunRecord) -> (&SubtaskMetrics, f64) {
    let counts = of(r, "count");
    let total: u64 = counts.iter().map(|s| s.num_records_in).sum();
    let hot = counts.iter().max_by_key(|s| s.num_records_in).expect("four counts");
    (hot, hot.num_records_in as f64 / total as f64)
}

fn mean(values: impl Iterator<Item = u64>) -> f64 {
    let v: Vec<u64> = values.collect();
    v.iter().sum::<u64>() as f64 / v.len() as f64
}

/// Every subtask of the job reports its load once, and the figures add up:
/// each vertex took in every record once (the counts and sinks after a
/// restore, at least once), and a subtask's time is all accounted for.
#[test]
fn every_subtask_reports_its_load_and_the_figures_add_up() {
    for r in passing_runs(&scenario("skew-hot"), 1..=2) {
        let names: Vec<(String, u32)> = r.subtasks.iter().map(|s| (s.vertex.clone(), s.subtask)).collect();
        let want: Vec<(String, u32)> = [("source", 2), ("count", 4), ("sink", 2)]
            .into_iter()
            .flat_map(|(v, n)| (0..n).map(move |i| (v.to_string(), i)))
            .collect();
        assert_eq!(names, want, "one entry per subtask, in vertex and subtask order");
        for s in &r.subtasks {
            let sum = s.busy_time_ms_per_second + s.back_pressured_time_ms_per_second + s.idle_time_ms_per_second;
            assert!((998..=1000).contains(&sum), "{s:?}: the shares of a second add up");
            assert!(
                s.running_ms + 1000 >= r.simulated_ms.min(10_000),
                "{s:?} ran through the run"
            );
        }
        for vertex in ["source", "count", "sink"] {
            let took: u64 = of(&r, vertex).iter().map(|s| s.num_records_in).sum();
            assert!(
                took >= r.records_expected,
                "{vertex} took in {took} of {}",
                r.records_expected
            );
            if r.restarts == 0 {
                assert_eq!(took, r.records_expected, "{vertex}: each record once without a restore");
            }
        }
    }
}

/// Under skew the hot count is the busy one and the sources wait for it;
/// with uniform keys the same job keeps up.
#[test]
fn a_hot_key_makes_its_count_busy_and_back_pressures_the_sources() {
    let uniform = passing_runs(&scenario("skew-uniform"), 1..=8);
    for name in ["skew-hot", "skew-zipf"] {
        let skewed = passing_runs(&scenario(name), 1..=8);
        for r in &skewed {
            let (hot, share) = hottest_count(r);
            assert!(share > 0.33, "{name} seed {}: the hot count took {share}", r.seed);
            assert!(
                hot.busy_time_ms_per_second >= 780,
                "{name} seed {}: the hot count is busy nearly all the time: {hot:?}",
                r.seed
            );
        }
        let busiest = |rs: &[RunRecord]| mean(rs.iter().map(|r| hottest_count(r).0.busy_time_ms_per_second));
        let least_busy = |rs: &[RunRecord]| {
            mean(rs.iter().map(|r| {
                of(r, "count")
                    .iter()
                    .map(|s| s.busy_time_ms_per_second)
                    .min()
                    .expect("counts")
            }))
        };
        let sources = |rs: &[RunRecord]| {
            mean(
                rs.iter()
                    .flat_map(|r| of(r, "source"))
                    .map(|s| s.back_pressured_time_ms_per_second),
            )
        };
        assert!(
            busiest(&skewed) > busiest(&uniform) + 100.0,
            "{name}: the hot count is busier"
        );
        assert!(
            least_busy(&skewed) < least_busy(&uniform) - 150.0,
            "{name}: the cold counts starve"
        );
        assert!(
            sources(&skewed) > 2.0 * sources(&uniform) && sources(&skewed) > 150.0,
            "{name}: sources back-pressured {} ms/s, against {} with uniform keys",
            sources(&skewed),
            sources(&uniform)
        );
    }
}

/// Queueing theory: once the hot count is saturated, the job reads at its
/// capacity (1,000 records/s at 1 ms a record) over its share of the
/// records: `1000 / f` records/s, whatever is offered.
#[test]
fn throughput_under_skew_is_the_hot_counts_capacity_over_its_share() {
    for name in ["skew-zipf", "skew-hot"] {
        let mut s = scenario(name);
        s.faults.scripted.clear();
        s.duration = halab_sim::human::HumanDuration::from_millis(40_000);
        s.job.key_distribution = if name == "skew-hot" {
            Some("hot(0.9, 3)".parse().expect("valid"))
        } else {
            s.job.key_distribution
        };
        for r in passing_runs(&s, 1..=2) {
            let (_, share) = hottest_count(&r);
            let capacity = 1000.0 / share;
            // After the buffers between the sources and the hot count filled.
            let window: Vec<u64> = r
                .buckets
                .iter()
                .filter(|b| (20_000..38_000).contains(&b.t_ms))
                .map(|b| b.read)
                .collect();
            let rate = window.iter().sum::<u64>() as f64 / (window.len() as f64 * 0.1);
            assert!(
                (rate - capacity).abs() <= 0.05 * capacity,
                "{name} seed {}: read {rate:.0} records/s, capacity over share {capacity:.0}",
                r.seed
            );
            assert!(
                capacity < 3000.0 * 0.95,
                "{name}: the job cannot keep up with what is offered"
            );
        }
    }
}

/// The report shows the load of a skewed run, and says in words what its
/// plot shows: the figures of the record, not others. A run whose keys
/// spread evenly gets no load plot.
#[test]
fn the_report_shows_the_hot_count_and_the_back_pressured_sources() {
    let runs: Vec<RunRecord> = ["skew-uniform", "skew-hot"]
        .iter()
        .flat_map(|name| passing_runs(&scenario(name), 1..=1))
        .collect();
    let text: String = runs
        .iter()
        .map(|r| serde_json::to_string(r).expect("record") + "\n")
        .collect();
    let records = halab_reports::parse_records(&text).expect("records");
    let dir = std::env::temp_dir().join(format!("halab-skew-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let summary =
        halab_reports::render_report(&records, &halab_reports::ReportInputs::default(), &dir).expect("report");
    let load: Vec<_> = summary.plots.iter().filter(|p| p.name.starts_with("load-")).collect();
    assert_eq!(
        load.len(),
        1,
        "one load plot: {:?}",
        load.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    assert_eq!(load[0].title, "Subtask load: skew-hot seed 1");
    let hot = &runs[1];
    let (count, share) = hottest_count(hot);
    for s in &hot.subtasks {
        let category = format!("{}[{}] ({} in)", s.vertex, s.subtask, thousands(s.num_records_in));
        for (series, value) in [
            ("busy", s.busy_time_ms_per_second),
            ("back-pressured", s.back_pressured_time_ms_per_second),
            ("idle", s.idle_time_ms_per_second),
        ] {
            let bar = load[0]
                .bars
                .iter()
                .find(|b| b.category == category && b.series == series)
                .unwrap_or_else(|| panic!("a {series} bar for {category}"));
            assert_eq!(bar.value, Some(value as f64), "{category} {series}");
        }
    }
    let page = std::fs::read_to_string(&summary.index).expect("index.html");
    let sources = of(hot, "source");
    let back_pressured = sources.iter().map(|s| s.back_pressured_time_ms_per_second).sum::<u64>() / 2;
    let note = format!(
        "skew-hot seed 1: the hottest keyed subtask, count[{}], took {:.0}% of its vertex&#39;s records ({:.2}× the mean) \
         and was busy {} ms per second; the sources were back-pressured {} ms per second on average.",
        count.subtask,
        share * 100.0,
        share * 4.0,
        count.busy_time_ms_per_second,
        back_pressured
    );
    assert!(page.contains(&note), "the page says:\n{note}");
    let _ = std::fs::remove_dir_all(&dir);
    // Uneven shares alone are no bottleneck: with the hot count busy less
    // than half the time, the run gets no load plot.
    let mut idle = records.clone();
    for r in &mut idle {
        // Changed on purpose: written from its fields, not as it was read.
        r.forget_json();
        for s in &mut r.subtasks {
            s.busy_time_ms_per_second = s.busy_time_ms_per_second.min(499);
        }
    }
    let summary = halab_reports::render_report(&idle, &halab_reports::ReportInputs::default(), &dir).expect("report");
    assert!(
        summary.plots.iter().all(|p| !p.name.starts_with("load-")),
        "no load plot"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn thousands(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits.rchunks(3).rev().map(|g| g.iter().collect()).collect();
    groups.join(",")
}

/// The same metrics show where other backpressure comes from: a slow sink
/// store keeps the sinks busy (waiting for their writes) and leaves the
/// counts back-pressured, waiting for the sinks' credit; without the slow
/// store, neither.
#[test]
fn a_slow_sink_store_keeps_the_sinks_busy_and_back_pressures_the_counts() {
    let slow = passing_runs(&scenario("backpressure-aligned"), 1..=2);
    let mut quick = scenario("backpressure-aligned");
    quick.faults.scripted.clear();
    let quick = passing_runs(&quick, 1..=2);
    let figure = |rs: &[RunRecord], vertex: &str, f: fn(&SubtaskMetrics) -> u64| {
        mean(rs.iter().flat_map(|r| of(r, vertex)).map(f))
    };
    let sink_busy = |rs: &[RunRecord]| figure(rs, "sink", |s| s.busy_time_ms_per_second);
    let count_waits = |rs: &[RunRecord]| figure(rs, "count", |s| s.back_pressured_time_ms_per_second);
    assert!(sink_busy(&slow) > 600.0, "sinks busy {} ms/s", sink_busy(&slow));
    assert!(
        count_waits(&slow) > 250.0,
        "counts back-pressured {} ms/s",
        count_waits(&slow)
    );
    assert!(
        figure(&slow, "count", |s| s.busy_time_ms_per_second) < 50.0,
        "the counts have little to do"
    );
    assert!(
        sink_busy(&quick) < 300.0,
        "sinks busy {} ms/s with a quick store",
        sink_busy(&quick)
    );
    assert!(
        count_waits(&quick) < 50.0,
        "counts back-pressured {} ms/s",
        count_waits(&quick)
    );
}
