//! Run histories (docs/history.md): `halab check` reaches the run's verdict
//! from a history alone, on passing runs, violations and liveness failures;
//! a history edited to drop or repeat a committed record is caught.

use std::process::Command;

use halab_scenarios::catalogue;
use halab_scenarios::overrides::set_key;
use halab_scenarios::parse_scenario;
use halab_sim::harness::run_seed_with_history;
use halab_sim::history::History;
use halab_sim::{Scenario, Verdict};

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

#[test]
fn a_history_alone_gives_the_runs_verdict_on_100_runs() {
    let broken = parse_scenario(
        &std::fs::read_to_string("tests/fixtures/shrink-me.toml").expect("fixture"),
        "shrink-me.toml",
    )
    .expect("valid");
    let slow = set_key(&scenario("tm-crash"), "expect.recovery-bound", "50ms").expect("valid");
    let cases: Vec<(Scenario, std::ops::RangeInclusive<u64>)> = vec![
        (scenario("tm-crash"), 1..=30),
        (scenario("chaos"), 1..=30),
        (scenario("window-crash"), 1..=10),
        (scenario("jm-crash"), 1..=10),
        (broken, 1..=10),
        (slow, 1..=10),
    ];
    let mut seen = std::collections::BTreeMap::new();
    for (s, seeds) in cases {
        for seed in seeds {
            let (record, history) = run_seed_with_history(&s, seed).expect("valid");
            let history = history.expect("a history");
            let text = history.to_jsonl().expect("written");
            let read = History::from_jsonl(&text).expect("read back");
            assert_eq!(read, history, "{} seed {seed}: the file holds the history", s.name);
            let found = read.check();
            assert_eq!(
                (found.verdict, &found.message),
                (record.verdict, &record.message),
                "{} seed {seed}",
                s.name
            );
            *seen.entry(record.verdict.as_str()).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.values().sum::<i32>(), 100);
    for v in ["pass", "violation", "liveness"] {
        assert!(seen.get(v).is_some_and(|n| *n > 0), "some {v}: {seen:?}");
    }
}

#[test]
fn a_dropped_or_repeated_record_is_caught() {
    let (record, history) = run_seed_with_history(&scenario("tm-crash"), 2).expect("valid");
    assert_eq!(record.verdict, Verdict::Pass);
    let history = history.expect("a history");
    assert_eq!(history.check().verdict, Verdict::Pass);

    let mut dropped = history.clone();
    let t = dropped
        .commits
        .iter_mut()
        .find(|t| t.records.len() > 1)
        .expect("a commit");
    t.records.remove(0);
    let found = dropped.check();
    assert_eq!(found.verdict, Verdict::Violation, "{:?}", found.message);
    assert!(
        found.message.as_deref().is_some_and(|m| m.contains("lost 1")),
        "{found:?}"
    );

    let mut repeated = history.clone();
    let again = repeated.commits[0].records[0];
    repeated.commits[1].records.push(again);
    let found = repeated.check();
    assert_eq!(found.verdict, Verdict::Violation);
    assert!(
        found.message.as_deref().is_some_and(|m| m.contains("duplicated 1")),
        "{found:?}"
    );
}

#[test]
fn halab_run_writes_a_history_and_halab_check_reads_it() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("history-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("h.jsonl");
    let halab = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_halab"))
            .args(args)
            .output()
            .expect("runs")
    };
    let path = file.to_str().expect("utf-8");
    let run = halab(&["run", "tests/fixtures/shrink-me.toml", "--seed", "1", "--history", path]);
    assert_eq!(run.status.code(), Some(1), "a violation");
    let check = halab(&["check", path]);
    assert_eq!(check.status.code(), Some(1));
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        out.contains("verdict: violation") && out.contains("the run's verdict was the same"),
        "{out}"
    );

    std::fs::write(dir.join("bad.jsonl"), "{\"kind\":\"header\"}\nnot json\n").expect("write");
    let bad = halab(&["check", dir.join("bad.jsonl").to_str().expect("utf-8")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 2"));
}

#[test]
fn a_sweep_writes_one_history_per_run_and_each_checks() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("history-sweep");
    let _ = std::fs::remove_dir_all(&dir);
    let halab = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_halab"))
            .args(args)
            .output()
            .expect("runs")
    };
    let d = dir.to_str().expect("utf-8");
    let o = halab(&[
        "sweep",
        "tests/fixtures/shrink-me.toml",
        "steady",
        "--seeds",
        "1..2",
        "--history-dir",
        d,
    ]);
    assert_eq!(o.status.code(), Some(1), "shrink-me fails");
    for (name, seed, code) in [
        ("shrink-me", 1, 1),
        ("shrink-me", 2, 1),
        ("steady", 1, 0),
        ("steady", 2, 0),
    ] {
        let file = dir.join(format!("{name}-seed-{seed}.jsonl"));
        let check = halab(&["check", file.to_str().expect("utf-8")]);
        assert_eq!(check.status.code(), Some(code), "{name} seed {seed}");
        assert!(String::from_utf8_lossy(&check.stdout).contains("the run's verdict was the same"));
    }
}

#[test]
fn a_history_holds_a_load_sample_a_second_and_a_state_sample_a_checkpoint() {
    let s = scenario("tm-crash");
    let (r, h) = run_seed_with_history(&s, 3).expect("runs");
    let h = h.expect("a history");
    let seconds = r.simulated_ms / 1000;
    assert!(
        h.load.len() as u64 + 1 >= seconds && h.load.len() as u64 <= seconds,
        "{} samples over {} ms",
        h.load.len(),
        r.simulated_ms
    );
    for pair in h.load.windows(2) {
        assert!((900..=1100).contains(&(pair[1].t_ms - pair[0].t_ms)), "a second apart");
        for (a, b) in pair[0].subtasks.iter().zip(&pair[1].subtasks) {
            assert!(a.task == b.task && a.busy_ns <= b.busy_ns, "totals only grow");
        }
    }
    let completed = r.checkpoints.iter().filter(|c| c.outcome == "completed").count();
    assert_eq!(h.state.len(), completed, "a state sample per completed checkpoint");
    let parallelism = s
        .job_graph()
        .vertex_ids()
        .map(|v| s.job_graph().vertex(v).parallelism as usize)
        .sum::<usize>();
    assert!(h.state.iter().all(|c| c.subtasks.len() == parallelism));
    let back = History::from_jsonl(&h.to_jsonl().expect("json")).expect("reads back");
    assert_eq!((back.load, back.state), (h.load, h.state));
}
