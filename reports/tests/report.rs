//! `render_report` end to end on the fixture: every file is written, the
//! page has one summary row per scenario, references every plot by a
//! relative path that exists beside it, and gives each failed run its repro
//! line; the CSV has a header and one row per record; the JSON Lines copy
//! is the records as read, byte for byte, or is left alone when it is the
//! caller's.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use common::{check_files, fixture, out_dir};
use halab_reports::csv::CSV_COLUMNS;
use halab_reports::report::{INDEX_HTML, RECORDS_CSV, RECORDS_JSONL};
use halab_reports::{parse_records, render_report, RebalanceStats, RecordsFile, ReportInputs, ReportSummary, Verdict};

fn inputs() -> ReportInputs {
    ReportInputs {
        title: "Fixture <report>".into(),
        scenario_args: BTreeMap::from([("shrink-me".to_string(), "tests/fixtures/shrink-me.toml".to_string())]),
        rebalancing: vec![RebalanceStats {
            partitioner: "key-groups".into(),
            moved_fraction: 0.4,
            optimal_moved_fraction: 0.25,
            max_over_mean_load: 1.1,
        }],
        ..Default::default()
    }
}

/// The fixture's report, rendered once for the tests of this file (drawing
/// some thirty PNGs in a debug build takes seconds).
fn report() -> &'static (PathBuf, ReportSummary) {
    static REPORT: OnceLock<(PathBuf, ReportSummary)> = OnceLock::new();
    REPORT.get_or_init(|| {
        let dir = out_dir("report");
        let summary = render_report(&fixture(), &inputs(), &dir).expect("report");
        (dir, summary)
    })
}

#[test]
fn the_report_directory_holds_data_plots_and_page() {
    let (dir, summary) = report();

    for f in &summary.files {
        assert!(f.is_file(), "{} written", f.display());
        assert_eq!(f.parent(), Some(dir.as_path()), "{} beside the page", f.display());
    }
    assert_eq!(summary.index, dir.join(INDEX_HTML));
    assert_eq!(summary.files.last(), Some(&summary.index));

    // Plots: a throughput and a checkpoint plot per scenario (first failed
    // seed, else first seed), recovery, policies (the storm-* scenarios),
    // alignment (backpressure-aligned/unaligned), rebalancing.
    let names: Vec<&str> = summary.plots.iter().map(|p| p.name.as_str()).collect();
    let scenarios = summary.scenarios.len();
    assert_eq!(scenarios, 10);
    assert_eq!(summary.plots.len(), 3 * scenarios + 5, "{names:?}");
    for expected in [
        "throughput-tm-crash-1",
        "checkpoints-shrink-me-1",
        "recovery-breakdown",
        "recovery-cdf",
        "restart-policies",
        "checkpoint-alignment",
        "rebalancing",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for p in &summary.plots {
        check_files(p);
    }
    let policies = summary
        .plots
        .iter()
        .find(|p| p.name == "restart-policies")
        .expect("policies plot");
    let mut storms: Vec<&str> = policies.bars.iter().map(|b| b.category.as_str()).collect();
    storms.dedup();
    assert_eq!(storms, STORMS);
}

/// The fixture's restart-policy scenarios (one storm, five policies).
const STORMS: [&str; 5] = [
    "storm-crash-loop-backoff",
    "storm-exponential-delay",
    "storm-failure-rate",
    "storm-fixed-delay",
    "storm-supervisor",
];

#[test]
fn the_page_summarises_scenarios_references_plots_and_repro_lines() {
    let records = fixture();
    let (dir, summary) = report();
    let html = std::fs::read_to_string(&summary.index).expect("page");

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Fixture &lt;report&gt;</title>"));
    // Self-contained: no script but the inline image check, nothing absolute.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains(halab_reports::html::IMAGE_CHECK_SCRIPT));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("src=\"/") && !html.contains("file:"));

    // One summary row per scenario, with its counts.
    let mut scenarios: Vec<&str> = records.iter().map(|r| r.scenario.as_str()).collect();
    scenarios.sort();
    scenarios.dedup();
    assert_eq!(
        html.matches("<tr data-scenario=").count() + html.matches("<tr class=\"bad\" data-scenario=").count(),
        scenarios.len()
    );
    for s in &scenarios {
        assert_eq!(html.matches(&format!("data-scenario=\"{s}\"")).count(), 1, "{s}");
    }
    assert!(html.contains(
        "<tr class=\"bad\" data-scenario=\"shrink-me\"><td class=\"name\">shrink-me</td><td>2</td><td>0</td><td>2</td><td>0</td>"
    ));
    assert!(html.contains("<tr data-scenario=\"tm-crash\"><td class=\"name\">tm-crash</td><td>3</td><td>3</td><td>0</td><td>0</td><td>0</td><td>1</td>"));

    // Every plot is embedded in the page as its SVG file's text, and links
    // that file and its PNG beside the page.
    for p in &summary.plots {
        let [svg, png] = p.file_names();
        let text = std::fs::read_to_string(dir.join(&svg)).expect("svg beside the page");
        let src = halab_reports::html::data_url(&text);
        assert!(html.contains(&format!("<img src=\"{src}\"")), "{svg} embedded");
        assert!(html.contains(&format!("href=\"{svg}\"")), "{svg} linked");
        assert!(html.contains(&format!("href=\"{png}\"")), "{png} linked");
        assert!(dir.join(&png).is_file());
    }
    for data in [RECORDS_JSONL, RECORDS_CSV] {
        assert!(html.contains(&format!("href=\"{data}\"")));
    }

    // Strategies side by side: the scenarios that ran identical fault plans
    // under every seed, one table each, before the failed runs.
    let groups: Vec<Vec<&str>> = summary
        .comparisons
        .iter()
        .map(|g| g.rows.iter().map(|r| r.scenario.as_str()).collect())
        .collect();
    assert_eq!(
        groups,
        vec![vec!["backpressure-aligned", "backpressure-unaligned"], STORMS.to_vec()]
    );
    assert_eq!(summary.comparisons[1].seeds, [1, 2]);
    let section = &html[html.find("<h2 id=\"comparisons\">").expect("comparison section")
        ..html.find("<h2 id=\"failures\">").expect("failures section")];
    assert_eq!(section.matches("<table class=\"comparison\"").count(), 2);
    for g in &summary.comparisons {
        for r in &g.rows {
            assert_eq!(
                section
                    .matches(&format!("<tr data-compared=\"{}\">", r.scenario))
                    .count(),
                1
            );
        }
    }
    assert!(section.contains("5 scenarios &times; 2 seeds"), "{section}");

    // Every failed run has its repro line; a scenario from a file by its path.
    let failed: Vec<_> = records.iter().filter(|r| r.verdict != Verdict::Pass).collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(summary.failed.len(), 2);
    assert_eq!(html.matches("<tr class=\"failed\">").count(), 2);
    for r in failed {
        let line = format!(
            "cargo run --release -- repro tests/fixtures/shrink-me.toml --seed {} --trace",
            r.seed
        );
        assert!(html.contains(&format!("<code class=\"repro\">{line}</code>")), "{line}");
    }
}

#[test]
fn csv_and_jsonl_hold_every_record() {
    let records = fixture();
    let (dir, _) = report();

    let csv = std::fs::read_to_string(dir.join(RECORDS_CSV)).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], CSV_COLUMNS.join(","));
    assert_eq!(lines.len(), 1 + records.len());
    // No field of the fixture needs quotes except fault plans with commas
    // (partition groups) and messages; count columns on a plain row.
    let tm = lines
        .iter()
        .find(|l| l.starts_with("1,tm-crash,1,pass,"))
        .expect("tm-crash seed 1 row");
    assert_eq!(tm.split(',').count(), CSV_COLUMNS.len());
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).expect("column");
    let fields: Vec<&str> = tm.split(',').collect();
    assert_eq!(fields[col("fault_plan")], "6966ms kill tm-2; 9106ms restart tm-2");
    assert_eq!(fields[col("recovery_median_ms")], "2459");
    let tm_run = records
        .iter()
        .find(|r| r.scenario == "tm-crash" && r.seed == 1)
        .expect("run");
    assert_eq!(
        tm_run.recovery[0].recovery_ms(),
        Some(2459),
        "one episode: its recovery is the median"
    );
    assert_eq!(fields[col("time_to_give_up_ms")], "");

    let written = std::fs::read_to_string(dir.join(RECORDS_JSONL)).expect("jsonl");
    assert_eq!(
        written,
        include_str!("fixtures/records.jsonl"),
        "the records as read, byte for byte"
    );
    let back = parse_records(&written).expect("parses");
    assert_eq!(back, records);
}

#[test]
fn a_kept_records_file_stays_as_it_is_and_the_csv_lists_the_others_too() {
    let records = fixture();
    let (shown, others) = records.split_at(3);
    let dir = out_dir("report-kept");
    let jsonl = dir.join(RECORDS_JSONL);
    std::fs::write(&jsonl, "the caller's\n").expect("write");
    let extra = ReportInputs {
        records_file: RecordsFile::Kept {
            others: others.to_vec(),
        },
        ..Default::default()
    };
    let summary = render_report(shown, &extra, &dir).expect("report");
    assert_eq!(std::fs::read_to_string(&jsonl).expect("jsonl"), "the caller's\n");
    assert!(!summary.files.contains(&jsonl), "not written");
    let csv = std::fs::read_to_string(dir.join(RECORDS_CSV)).expect("csv");
    assert_eq!(csv.lines().count(), 1 + records.len());
    assert!(!dir.join("records.csv.partial").exists(), "renamed into place");
}

#[test]
fn chosen_runs_must_exist() {
    let records = fixture();
    let extra = ReportInputs {
        runs: vec![("tm-crash".into(), 99)],
        ..Default::default()
    };
    let err = render_report(&records, &extra, &out_dir("report-missing")).expect_err("no such run");
    assert!(err.to_string().contains("tm-crash seed 99"));
}

#[test]
fn the_model_against_theory_section_states_the_optima() {
    let records = fixture();
    let group = |interval_ms: u64| halab_reports::IntervalGroup {
        interval_ms,
        records: records.iter().filter(|r| r.scenario == "tm-crash").cloned().collect(),
    };
    let sweep = halab_reports::IntervalSweep {
        groups: vec![group(500), group(1000), group(2000)],
        mtbf_ms: 20_000.0,
        checkpoint_cost_ms: Some(100.0),
    };
    let note = halab_reports::report::interval_note(&sweep);
    assert!(note.contains("Young's √(2·C·M) = 2.00 s"), "{note}");
    assert!(note.contains("C = 100 ms") && note.contains("M = 20.0 s"), "{note}");
    let extra = ReportInputs {
        interval_sweep: Some(sweep),
        ..inputs()
    };
    let dir = out_dir("report-theory");
    render_report(&records, &extra, &dir).expect("report");
    let html = std::fs::read_to_string(dir.join(INDEX_HTML)).expect("page");
    let section = &html[html.find("<h2>Model against theory</h2>").expect("the section")..];
    assert!(
        section.contains("Young&#39;s") || section.contains("Young's"),
        "the note is shown"
    );
    assert!(section.contains("<figure id=\"checkpoint-interval-sweep\">"));
}
