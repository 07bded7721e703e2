//! `halab report`: the page re-rendered from the reports fixture loads every
//! plot in a real (headless) browser and has one summary row per scenario; a
//! small suite runs in process, writes records (the same as `halab sweep`'s),
//! variant scenario files and the interval sweep, resumes without
//! re-running or touching its records, and re-rendered with `--from` writes
//! each record as the run did; bad input (a bad suite file too) exits 2
//! with a clear message.
//!
//! The browser check needs Chromium: Debian's `chromium` package (or
//! `chromium-browser`/`google-chrome` on PATH, or a binary named by the
//! `HALAB_CHROMIUM` environment variable). When none is there, the test
//! installs Debian's package itself where it can (as root, or with
//! passwordless sudo, through apt-get), so the README's plain `cargo test`
//! works on a fresh machine; where it cannot, it fails and says how to
//! install one. It is never skipped.

use std::collections::BTreeSet;
use std::path::PathBuf;

#[path = "common/browser.rs"]
mod browser;
#[path = "common/cli.rs"]
mod cli;
use browser::{browser, dump_dom};
use cli::{halab, path_str, stderr, stdout};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reports/tests/fixtures/records.jsonl");

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    cli::fresh_dir(&format!("report-cli-{name}"))
}

/// The value of `attr="..."` in the first tag that has it.
fn attribute<'a>(html: &'a str, attr: &str) -> Option<&'a str> {
    let start = html.find(&format!("{attr}=\""))? + attr.len() + 2;
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}

/// The distinct scenario names of a JSON Lines file.
fn scenarios_in(jsonl: &str) -> BTreeSet<String> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("record line");
            v["scenario"].as_str().expect("scenario name").to_string()
        })
        .collect()
}

#[test]
fn from_records_every_plot_loads_in_a_browser_and_each_scenario_has_one_row() {
    let browser = browser();
    let dir = tmp("from");
    let out = dir.join("out");
    let o = halab(&["report", "--from", FIXTURE, "--out", path_str(&out)]);
    // The fixture holds two violations (shrink-me): exit code 1, as `sweep`.
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let index = out.join("index.html");
    assert!(
        stdout(&o).contains(&format!("report: {}", index.display())),
        "{}",
        stdout(&o)
    );
    // shrink-me is no built-in and the records do not say which file it
    // came from: the repro line asks for the file.
    assert!(
        stdout(&o).contains("reproduce: cargo run --release -- repro <file of scenario `shrink-me`> --seed 1 --trace"),
        "{}",
        stdout(&o)
    );

    // The strategies side by side: the fixture's five restart policies ran
    // one storm, its two barrier modes one backpressure.
    assert_eq!(
        stdout(&o)
            .matches("side by side (the same fault plan under each of")
            .count(),
        2,
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("  storm-supervisor "), "{}", stdout(&o));

    let html = std::fs::read_to_string(&index).expect("index.html");
    let images = html.matches("<img ").count();
    assert!(images > 0, "the page shows plots");
    let dom = dump_dom(&browser, &index, &dir.join("browser-profile"));
    let loaded = attribute(&dom, "data-images-loaded").unwrap_or_else(|| {
        panic!(
            "no data-images-loaded on <body>: the page's image check did not run\n{}",
            &dom[..dom.len().min(2000)]
        )
    });
    let broken: Vec<&str> = dom
        .split("<img ")
        .skip(1)
        .filter(|t| t.split('>').next().is_some_and(|t| t.contains("data-loaded=\"no\"")))
        .filter_map(|t| attribute(t, "src"))
        .map(|s| &s[..s.len().min(80)])
        .collect();
    assert_eq!(loaded, format!("{images}/{images}"), "images not loaded: {broken:?}");

    // The summary table: exactly one row per scenario of the records.
    let table_start = dom.find("<table id=\"summary-table\">").expect("summary table");
    let table = &dom[table_start..];
    let table = &table[..table.find("</table>").expect("table closes")];
    let rows: Vec<&str> = table
        .split("<tr")
        .skip(1)
        .filter_map(|t| attribute(t.split('>').next().unwrap_or(""), "data-scenario"))
        .collect();
    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    let expected: Vec<String> = scenarios_in(&fixture).into_iter().collect();
    assert_eq!(rows, expected, "one row per scenario, in name order");
    assert_eq!(
        table.matches("<tr").count(),
        expected.len() + 1,
        "header plus one row per scenario"
    );
    // Nothing else in the table's body.
    assert_eq!(table.matches("<td class=\"name\">").count(), expected.len());

    // Self-contained: the page alone, copied elsewhere, shows every plot.
    let alone = dir.join("alone");
    std::fs::create_dir_all(&alone).expect("mkdir");
    std::fs::copy(&index, alone.join("index.html")).expect("copy");
    let dom = dump_dom(&browser, &alone.join("index.html"), &dir.join("browser-profile"));
    assert_eq!(
        attribute(&dom, "data-images-loaded"),
        Some(format!("{images}/{images}").as_str())
    );

    // The check bites: an undecodable plot and one missing from the page
    // (shown from a file that is not there) are counted.
    let srcs: Vec<&str> = html
        .split("<img ")
        .skip(1)
        .filter_map(|t| attribute(t, "src"))
        .collect();
    assert_eq!(srcs.len(), images);
    assert!(
        srcs.iter().all(|s| s.starts_with("data:image/svg+xml;base64,")),
        "embedded"
    );
    let broken = html
        .replacen(srcs[0], "data:image/svg+xml;base64,bm90IGFuIGltYWdl", 1)
        .replacen(srcs[1], "no-such-plot.svg", 1);
    std::fs::write(alone.join("index.html"), broken).expect("write");
    let dom = dump_dom(&browser, &alone.join("index.html"), &dir.join("browser-profile"));
    assert_eq!(
        attribute(&dom, "data-images-loaded"),
        Some(format!("{}/{images}", images - 2).as_str())
    );
}

/// A small suite: one catalogue scenario and a one-point interval sweep.
const SMALL_SUITE: &str = r#"
name = "small"
seeds = 1

[[group]]
title = "baseline"
scenarios = ["steady"]

[[sweep]]
title = "checkpoint interval"
variation = "checkpoint-interval"
bases = ["tm-crash"]
values = ["2s"]
"#;

/// The records of a JSON Lines file by scenario, every field but their
/// wall-clock time, the one field that differs between two runs of one
/// seed.
fn records_by_scenario(text: &str) -> Vec<serde_json::Value> {
    let mut records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("a run record");
            v.as_object_mut()
                .expect("an object")
                .remove("wall_ms")
                .expect("wall_ms");
            v
        })
        .collect();
    let key = |v: &serde_json::Value| (v["scenario"].to_string(), v["seed"].as_u64());
    records.sort_by_key(key);
    records
}

/// The lines of a JSON Lines text, sorted.
fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn a_small_suite_runs_in_process_writes_its_variants_and_resumes() {
    let dir = tmp("run");
    let out = dir.join("out");
    let suite = dir.join("small.toml");
    std::fs::write(&suite, SMALL_SUITE).expect("write the suite");
    let args = [
        "report",
        "--suite",
        path_str(&suite),
        "--jobs",
        "2",
        "--out",
        path_str(&out),
    ];
    let o = halab(&args);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("seeds 1..=1; 2 runs to do (0 already done)"), "{text}");
    assert!(
        text.contains("checkpoint interval sweep of tm-crash: 2s; MTBF 4.00 s"),
        "{text}"
    );
    assert!(
        text.contains(&format!("report: {}", out.join("index.html").display())),
        "{text}"
    );

    let jsonl = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert_eq!(jsonl.lines().count(), 2);
    let names = scenarios_in(&jsonl);
    assert_eq!(
        names.iter().map(String::as_str).collect::<Vec<_>>(),
        ["steady", "tm-crash-checkpoint-interval-2s"]
    );
    // The variant is a scenario file its repro line can name.
    let variant = out.join("scenarios/tm-crash-checkpoint-interval-2s.toml");
    let toml = std::fs::read_to_string(&variant).expect("variant file");
    assert!(toml.contains("\"execution.checkpointing.interval\" = \"2s\""), "{toml}");
    assert!(
        !out.join("scenarios/steady.toml").exists(),
        "the catalogue's own is named"
    );
    for f in [
        "index.html",
        "records.csv",
        "checkpoint-interval-sweep.svg",
        "checkpoint-interval-sweep.png",
        "rebalancing.svg",
        "throughput-steady-1.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    // Variants are drawn in the sweep plot, not one by one.
    assert!(!out.join("throughput-tm-crash-checkpoint-interval-2s-1.svg").exists());
    // The run drawn one by one has its timeline page, linked from the report.
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    let timeline = "timeline-steady-seed-1.html";
    assert!(out.join(timeline).is_file(), "{timeline} written");
    assert!(
        index.contains(&format!("<a href=\"{timeline}\">timeline of steady seed 1</a>")),
        "the report links it"
    );
    let page = std::fs::read_to_string(out.join(timeline)).expect("timeline");
    assert!(page.contains("halab timeline: steady seed 1"), "{page}");

    // The same records as `halab sweep` gives for the same seeds, trace
    // hashes included.
    let swept = dir.join("swept.jsonl");
    let o = halab(&[
        "sweep",
        "steady",
        path_str(&variant),
        "--seeds",
        "1..1",
        "--out",
        path_str(&swept),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let swept = std::fs::read_to_string(&swept).expect("sweep records");
    let (ours, theirs) = (records_by_scenario(&jsonl), records_by_scenario(&swept));
    assert_eq!(ours.len(), 2);
    assert_eq!(ours, theirs);

    // Resumed: nothing left to run, the same records.
    let mut resume = args.to_vec();
    resume.push("--resume");
    let again = halab(&resume);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("0 runs to do (2 already done)"),
        "{}",
        stdout(&again)
    );
    let after = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert_eq!(after, jsonl, "the records file is left as it was");

    // Re-rendered from the records with the suite: the sweep comes from the
    // suite. Without it (the standard suite), the name alone means nothing.
    let from = out.join("records.jsonl");
    let out2 = dir.join("again");
    let o = halab(&[
        "report",
        "--from",
        path_str(&from),
        "--suite",
        path_str(&suite),
        "--out",
        path_str(&out2),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("checkpoint interval sweep of tm-crash: 2s"),
        "{}",
        stdout(&o)
    );
    assert!(out2.join("checkpoint-interval-sweep.svg").is_file());
    let rerendered = std::fs::read_to_string(out2.join("records.jsonl")).expect("records");
    assert_eq!(
        sorted_lines(&rerendered),
        sorted_lines(&jsonl),
        "each record as the run wrote it"
    );
    assert!(out2.join("scenarios/tm-crash-checkpoint-interval-2s.toml").is_file());
    let out3 = dir.join("standard");
    let o = halab(&["report", "--from", path_str(&from), "--out", path_str(&out3)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("checkpoint interval sweep"), "{}", stdout(&o));
    assert!(out3.join("throughput-tm-crash-checkpoint-interval-2s-1.svg").is_file());
}

#[test]
fn a_bad_suite_file_exits_2_with_its_position() {
    let dir = tmp("bad-suite");
    let suite = dir.join("bad.toml");
    std::fs::write(&suite, SMALL_SUITE.replace("\"steady\"", "\"steady\", \"stedy\"")).expect("write");
    let o = halab(&[
        "report",
        "--suite",
        path_str(&suite),
        "--out",
        path_str(&dir.join("out")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}:7:24: unknown scenario `stedy`", suite.display())),
        "{err}"
    );
    assert!(!dir.join("out").exists(), "nothing written");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tmp("bad");
    let out = dir.join("out");
    let check = |args: &[&str], needle: &str| {
        let o = halab(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: expected `{needle}` in: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    };
    let missing = dir.join("missing.jsonl");
    check(
        &["report", "--from", path_str(&missing), "--out", path_str(&out)],
        "cannot read",
    );

    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    let first = fixture.lines().next().expect("a record");
    let malformed = dir.join("malformed.jsonl");
    std::fs::write(&malformed, format!("{first}\n{{\"scenario\": oops}}\n{first}\n")).expect("write");
    check(
        &["report", "--from", path_str(&malformed), "--out", path_str(&out)],
        "malformed.jsonl: line 2:",
    );

    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "\n").expect("write");
    check(
        &["report", "--from", path_str(&empty), "--out", path_str(&out)],
        "holds no run records",
    );

    check(&["report", "--seeds", "0", "--out", path_str(&out)], "--seeds");
    check(&["report", "--jobs", "0", "--out", path_str(&out)], "--jobs");
    check(
        &["report", "--from", FIXTURE, "--seeds", "3", "--out", path_str(&out)],
        "cannot be used with",
    );
    check(
        &[
            "report",
            "--scenarios",
            "no-such-scenario",
            "--seeds",
            "1",
            "--out",
            path_str(&out),
        ],
        "unknown scenario `no-such-scenario`",
    );

    // An output directory that cannot be created: its parent is a file.
    let file = dir.join("a-file");
    std::fs::write(&file, "").expect("write");
    let under_file = file.join("out");
    check(
        &["report", "--from", FIXTURE, "--out", path_str(&under_file)],
        "cannot create the output directory",
    );
    check(
        &[
            "report",
            "--scenarios",
            "steady",
            "--seeds",
            "1",
            "--out",
            path_str(&under_file),
        ],
        "cannot create the output directory",
    );
    assert!(!out.exists(), "nothing written on bad input");
}
