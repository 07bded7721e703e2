//! `halab compare`: every combination of the varied keys on the same seeds,
//! one table, the best of each column marked; `--set` on `run`, `sweep` and
//! `compare`; bad overrides exit 2 naming themselves.

use std::process::Output;

#[path = "common/cli.rs"]
mod cli;
use cli::{halab, stderr, stdout};

/// The first table's rows: lines before the checkpointing costs that
/// start with the base scenario's name.
fn rows<'a>(text: &'a str, base: &str) -> Vec<&'a str> {
    table(text, base, 0)
}

/// Table `n` (0: recovery and throughput, 1: checkpointing costs) of
/// `base`'s variants.
fn table<'a>(text: &'a str, base: &str, n: usize) -> Vec<&'a str> {
    let after_base = text.find(&format!("\n{base}:\n")).map_or(text, |i| &text[i..]);
    let part = after_base.split("checkpointing costs:").nth(n).expect("the table");
    part.lines().filter(|l| l.starts_with(&format!("{base}--"))).collect()
}

#[test]
fn the_costs_table_compares_protocols_and_values_may_hold_commas_in_parentheses() {
    let o = halab(&[
        "compare",
        "chaos",
        "skew-uniform",
        "--vary",
        "halab.checkpointing.protocol=coordinated,communication-induced",
        "--vary",
        "job.key-distribution=uniform,hot(0.8, 10)",
        "--seeds",
        "1..2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    for base in ["chaos", "skew-uniform"] {
        assert!(text.contains(&format!("\n{base}:\n")), "a heading per scenario: {text}");
        assert_eq!(rows(&text, base).len(), 4, "{text}");
        let costs = table(&text, base, 1);
        assert_eq!(costs.len(), 4, "{text}");
        let forced = |protocol: &str| -> String {
            let line = costs
                .iter()
                .find(|l| l.contains(protocol) && l.contains("hot_0.8__10_"))
                .expect("row");
            line.split_whitespace()
                .last()
                .expect("forced")
                .trim_start_matches('*')
                .to_string()
        };
        assert_eq!(forced("=coordinated"), "0", "{text}");
        assert_ne!(forced("=communication-induced"), "0", "{text}");
    }
    assert!(text.contains("ckpt msgs") && text.contains("lat p99"), "{text}");
    // Each variant's latency p99 lies above its p50 (chaos runs spread).
    let seconds = |cell: &str| -> f64 {
        cell.trim_start_matches('*')
            .trim_end_matches('s')
            .parse()
            .expect("seconds")
    };
    for (first, cost) in rows(&text, "chaos").iter().zip(table(&text, "chaos", 1)) {
        let p50 = seconds(first.split_whitespace().nth(8).expect("latency"));
        let p99 = seconds(cost.split_whitespace().nth(2).expect("lat p99"));
        assert!(p99 > p50, "{first}\n{cost}");
    }
}

#[test]
fn one_key_gives_one_row_per_value_and_two_keys_their_product() {
    let o = halab(&[
        "compare",
        "tm-crash",
        "--vary",
        "restart-strategy.type=fixed-delay,exponential-delay,failure-rate",
        "--seeds",
        "1..6",
        "--jobs",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    let r = rows(&text, "tm-crash");
    assert_eq!(r.len(), 3, "{text}");
    for v in ["fixed-delay", "exponential-delay", "failure-rate"] {
        assert!(
            r.iter()
                .any(|l| l.starts_with(&format!("tm-crash--restart-strategy.type={v} "))),
            "{v}: {text}"
        );
    }
    assert!(r.iter().all(|l| l.contains("6/6")), "{text}");
    assert!(text.contains("* marks the best"), "{text}");

    let o = halab(&[
        "compare",
        "tm-crash",
        "--vary",
        "restart-strategy.type=fixed-delay,exponential-delay",
        "--vary",
        "execution.checkpointing.interval=500ms,2s,5s",
        "--seeds",
        "1..3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(rows(&text, "tm-crash").len(), 6, "{text}");
    assert!(text.contains("tm-crash--restart-strategy.type=exponential-delay--execution.checkpointing.interval=5s "));
    // The shorter interval commits sooner: its latency is marked best.
    let best_latency = |name: &str| {
        let line = rows(&text, "tm-crash")
            .into_iter()
            .find(|l| l.starts_with(name))
            .expect("row");
        line.split_whitespace().nth(8).expect("latency").starts_with('*')
    };
    assert!(best_latency(
        "tm-crash--restart-strategy.type=fixed-delay--execution.checkpointing.interval=500ms "
    ));
    assert!(!best_latency(
        "tm-crash--restart-strategy.type=fixed-delay--execution.checkpointing.interval=5s "
    ));
}

#[test]
fn out_writes_records_variant_files_and_a_report() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare-out");
    let _ = std::fs::remove_dir_all(&dir);
    let o = halab(&[
        "compare",
        "tm-crash",
        "--vary",
        "job.state-bytes-per-key=1KB,100KB",
        "--seeds",
        "1..2",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read_to_string(dir.join("index.html")).expect("the report");
    assert!(page.contains("tm-crash--job.state-bytes-per-key=100KB"));
    let records = std::fs::read_to_string(dir.join("records.jsonl")).expect("records");
    assert_eq!(records.lines().count(), 4);
    let file = dir.join("scenarios/tm-crash--job.state-bytes-per-key=100KB.toml");
    let toml = std::fs::read_to_string(&file).expect("variant file");
    assert!(toml.contains("state-bytes-per-key = \"100KB\""), "{toml}");
    // The variant file replays one of its runs exactly.
    let r = halab(&["run", file.to_str().expect("utf-8"), "--seed", "2", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).expect("json");
    let hash = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("record"))
        .find(|x| x["seed"] == 2 && x["scenario"] == "tm-crash--job.state-bytes-per-key=100KB")
        .map(|x| x["trace_hash"].clone())
        .expect("the record");
    assert_eq!(v["trace_hash"], hash);
}

#[test]
fn set_overrides_a_key_on_run_and_sweep() {
    let plain = halab(&["run", "tm-crash", "--seed", "4", "--format", "json"]);
    let set = halab(&[
        "run",
        "tm-crash",
        "--seed",
        "4",
        "--format",
        "json",
        "--set",
        "execution.checkpointing.interval=300ms",
    ]);
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let count = |o: &Output| {
        let v: serde_json::Value = serde_json::from_str(&stdout(o)).expect("json");
        v["checkpoints"].as_array().expect("checkpoints").len()
    };
    assert!(
        count(&set) > 2 * count(&plain),
        "a 300 ms interval checkpoints more often than 1 s"
    );
    let sweep = halab(&["sweep", "tm-crash", "--seeds", "1..2", "--set", "job.keys=50"]);
    assert_eq!(sweep.status.code(), Some(0), "{}", stderr(&sweep));
}

#[test]
fn bad_overrides_exit_2_naming_the_problem() {
    for (args, mention) in [
        (vec!["compare", "tm-crash", "--vary", "novalue"], "expected KEY=VALUE"),
        (vec!["compare", "tm-crash", "--vary", "job.keys=1,,2"], "empty value"),
        (vec!["compare", "tm-crash", "--vary", "job.keys=1,1"], "listed twice"),
        (
            vec!["compare", "tm-crash", "--vary", "job.keys=1", "--vary", "job.keys=2"],
            "given twice",
        ),
        (
            vec!["compare", "tm-crash", "--vary", "job.no-such-key=1"],
            "no-such-key",
        ),
        (
            vec!["compare", "tm-crash", "--vary", "cluster.task-managers=0,2"],
            "task-managers",
        ),
        (
            vec!["run", "tm-crash", "--set", "resources.network-bandwidth=fast"],
            "fast",
        ),
        (vec!["sweep", "tm-crash", "--set", "=3"], "expected KEY=VALUE"),
        (
            vec!["compare", "no-such-scenario", "--vary", "job.keys=1"],
            "unknown built-in scenario",
        ),
    ] {
        let o = halab(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains(mention), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn a_failing_variant_prints_a_repro_line_that_fails_the_same_way() {
    let o = halab(&[
        "compare",
        "tests/fixtures/shrink-me.toml",
        "--vary",
        "job.keys=300,301",
        "--seeds",
        "1..2",
    ]);
    assert_eq!(o.status.code(), Some(1), "a sabotaged engine: {}", stdout(&o));
    let text = stdout(&o);
    let line = "cargo run --release -- run tests/fixtures/shrink-me.toml --set job.keys=301 --seed 2";
    assert!(text.contains(&format!("reproduce: {line}")), "{text}");
    let again = halab(&[
        "run",
        "tests/fixtures/shrink-me.toml",
        "--set",
        "job.keys=301",
        "--seed",
        "2",
    ]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    // The comparison of its records alone gives the same table.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare-failing");
    let _ = std::fs::remove_dir_all(&dir);
    let o = halab(&[
        "compare",
        "tests/fixtures/shrink-me.toml",
        "--vary",
        "job.keys=300,301",
        "--seeds",
        "1..2",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let records = dir.join("records.jsonl");
    let from = halab(&["compare", "shrink-me", "--from", records.to_str().expect("utf-8")]);
    assert_eq!(from.status.code(), Some(1), "{}", stderr(&from));
    let table = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("shrink-me--"))
            .map(String::from)
            .collect()
    };
    assert_eq!(table(&stdout(&from)), table(&text));
}
