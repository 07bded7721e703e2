//! Guard rails of a single run (issue 20, item 6): a long run shows its
//! progress, and a run that records more trace events than
//! `expect.max-trace-events` stops with exit 2 at the key's position, in
//! `run` and in `sweep` (which keeps the records of finished runs). Every
//! test runs the built binary.

use std::path::{Path, PathBuf};

#[path = "common/cli.rs"]
mod cli;
use cli::{halab_in, stderr};

const STEADY: &str = include_str!("../scenarios/catalogue/steady.toml");

/// A fresh directory for one test.
fn fresh_dir(tag: &str) -> PathBuf {
    cli::fresh_dir(&format!("guard-rails-{tag}"))
}

/// `steady` with `[expect] max-trace-events = limit`, as `busy.toml` in
/// `dir`; the key's line.
fn busy_file(dir: &Path, limit: u64) -> usize {
    let text = STEADY
        .replacen("[expect]\n", &format!("[expect]\nmax-trace-events = {limit}\n"), 1)
        .replacen("name = \"steady\"", "name = \"busy\"", 1);
    assert!(text.contains("name = \"busy\"") && text.contains("max-trace-events"));
    std::fs::write(dir.join("busy.toml"), &text).expect("write");
    text.lines()
        .position(|l| l.starts_with("max-trace-events"))
        .expect("set")
        + 1
}

#[test]
fn a_run_past_its_trace_event_limit_stops_with_exit_2_at_the_key() {
    let dir = fresh_dir("run");
    let line = busy_file(&dir, 20);
    let o = halab_in(&dir, &["run", "busy.toml", "--seed", "1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "error: busy.toml:{line}:1: expect.max-trace-events: the run recorded more than 20 trace events"
        )),
        "{err}"
    );
    // Under the limit the same file runs to its verdict.
    busy_file(&dir, 10_000);
    let ok = halab_in(&dir, &["run", "busy.toml", "--seed", "1"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
}

#[test]
fn a_trace_event_limit_beyond_the_cap_is_refused_before_running() {
    let dir = fresh_dir("cap");
    for bad in [0, 5_000_001] {
        let line = busy_file(&dir, bad);
        let o = halab_in(&dir, &["run", "busy.toml", "--seed", "1"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "busy.toml:{line}:1: expect.max-trace-events: must be within 1..=5000000, got {bad}"
            )),
            "{err}"
        );
        assert!(o.stdout.is_empty(), "nothing ran");
    }
}

#[test]
fn a_sweep_stops_at_a_run_past_its_limit_and_keeps_finished_records() {
    let dir = fresh_dir("sweep");
    busy_file(&dir, 20);
    let o = halab_in(
        &dir,
        &[
            "sweep",
            "steady",
            "./busy.toml",
            "--seeds",
            "1..2",
            "--jobs",
            "1",
            "--out",
            "r.jsonl",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the sweep stopped"), "{err}");
    assert!(err.contains("expect.max-trace-events"), "{err}");
    // Seeds run in order, every scenario per seed: steady seed 1 finished
    // before busy seed 1 stopped the sweep; steady seed 2 may have been
    // taken by the worker before the stop. No busy run is recorded.
    let kept = std::fs::read_to_string(dir.join("r.jsonl")).expect("records");
    let seeds: Vec<u64> = kept
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a record"))
        .inspect(|r| assert_eq!(r["scenario"], "steady", "{r}"))
        .map(|r| r["seed"].as_u64().expect("seed"))
        .collect();
    assert!(seeds == [1] || seeds == [1, 2], "{seeds:?}");
}

#[test]
fn a_long_run_prints_its_progress_once_a_second_when_asked() {
    let dir = fresh_dir("progress");
    // The longest input phase: seconds of wall time, even optimised.
    let text = STEADY.replacen("duration = \"10s\"", "duration = \"1h\"", 1);
    std::fs::write(dir.join("long.toml"), &text).expect("write");
    let o = halab_in(&dir, &["run", "long.toml", "--progress", "always"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("progress: simulated ")).collect();
    assert!(!lines.is_empty(), "no progress line: {err}");
    assert!(lines.iter().all(|l| l.contains("of at most 3620.0s")), "{lines:?}");
    // Not by default when stderr is not a terminal (as here).
    let quiet = halab_in(&dir, &["run", "long.toml"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(!stderr(&quiet).contains("progress:"), "{}", stderr(&quiet));
}
