//! A record read from JSON is written back as exactly the text it was read
//! from: real records of the current simulator (every field it writes,
//! including those the mirror does not know) go through `parse_records`,
//! `serde_json`, `to_jsonl` and `render_report` unchanged, byte for byte.
//! A record built in code is written from its fields; a read record changed
//! in code is refused rather than written either way, unless it forgets its
//! text.

mod common;

use common::out_dir;
use halab_reports::record::to_jsonl;
use halab_reports::report::RECORDS_JSONL;
use halab_reports::{parse_records, render_report, ReportError, ReportInputs, RunRecord, Verdict};
use serde_json::Value;

/// Five records as `halab run --format json` prints them (fixtures/README.md).
const SIMULATOR: &str = include_str!("fixtures/simulator-records.jsonl");

fn lines() -> Vec<&'static str> {
    SIMULATOR.lines().collect()
}

/// The fixture holds what the mirror would lose: fields it does not know,
/// with values, and fault plans of many verbs.
#[test]
fn the_fixture_holds_what_the_mirror_lacks() {
    let values: Vec<Value> = lines().iter().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let any = |f: &dyn Fn(&Value) -> bool| values.iter().any(f);
    assert!(any(&|v| v["checks"].as_array().is_some_and(|c| !c.is_empty())));
    assert!(any(&|v| v["leaderships"].as_u64() > Some(0)));
    assert!(any(&|v| v["rescales"].as_array().is_some_and(|r| !r.is_empty())));
    assert!(any(&|v| {
        v["checkpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["uploaded_bytes"].as_u64().is_some() && c["uploaded_bytes"].as_u64() < c["size_bytes"].as_u64())
    }));
    assert!(any(&|v| {
        v["checkpoint_metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["lastCheckpointFullSize"] != m["lastCheckpointSize"])
    }));
    assert!(any(&|v| v["fault_plan"].as_array().is_some_and(|p| p.len() >= 8)));
    assert!(values.iter().all(|v| v["halab_version"].as_str().is_some()));
    let records = parse_records(SIMULATOR).expect("records");
    assert!(records.iter().any(|r| r.verdict == Verdict::Violation));
    assert!(records.iter().all(|r| !r.fault_plan.is_empty()));
}

#[test]
fn each_record_serialises_as_the_line_it_was_read_from() {
    for line in lines() {
        let r: RunRecord = serde_json::from_str(line).expect("a record");
        assert_eq!(r.json(), Some(line));
        assert_eq!(
            serde_json::to_string(&r).expect("JSON"),
            line,
            "{} seed {}",
            r.scenario,
            r.seed
        );
        let again: RunRecord = serde_json::from_str(&serde_json::to_string(&r).expect("JSON")).expect("again");
        assert_eq!(again, r);
    }
    // Read from a `Value`, a record's text is the value's.
    let value: Value = serde_json::from_str(lines()[0]).expect("JSON");
    let r: RunRecord = serde_json::from_value(value.clone()).expect("a record");
    assert_eq!(r.json(), Some(value.to_string().as_str()));
    // Spacing around a line is not part of the record; inside it, it is.
    let spaced = format!("  {}  ", lines()[0].replacen(':', ": ", 1));
    let r: RunRecord = serde_json::from_str(&spaced).expect("a record");
    assert_eq!(r.json(), Some(spaced.trim()));
}

#[test]
fn to_jsonl_writes_the_records_as_read() {
    let records = parse_records(SIMULATOR).expect("records");
    assert_eq!(to_jsonl(&records).expect("JSON Lines"), SIMULATOR);
}

#[test]
fn a_report_writes_records_jsonl_as_read() {
    let dir = out_dir("records-as-read");
    let records = parse_records(SIMULATOR).expect("records");
    render_report(&records, &ReportInputs::default(), &dir).expect("report");
    let written = std::fs::read_to_string(dir.join(RECORDS_JSONL)).expect("records.jsonl");
    assert_eq!(written, SIMULATOR);
}

#[test]
fn a_record_built_in_code_is_written_from_its_fields() {
    let mut r = RunRecord::empty("steady", 4);
    r.lost = 3;
    assert_eq!(r.json(), None);
    let text = to_jsonl(std::slice::from_ref(&r)).expect("JSON Lines");
    let back = parse_records(&text).expect("reads back");
    assert_eq!(back[0].json(), Some(text.trim_end()));
    assert_eq!(
        (back[0].scenario.as_str(), back[0].seed, back[0].lost),
        ("steady", 4, 3)
    );
}

#[test]
fn a_read_record_changed_in_code_is_refused() {
    let mut records = parse_records(SIMULATOR).expect("records");
    records[2].lost += 1;
    match to_jsonl(&records) {
        Err(ReportError::Changed { scenario, seed }) => assert_eq!((scenario.as_str(), seed), ("no-fencing", 17)),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Changed on purpose: written from its fields, the change with them.
    records[2].forget_json();
    let text = to_jsonl(&records).expect("JSON Lines");
    let back = parse_records(&text).expect("reads back");
    assert_eq!(back[2].lost, records[2].lost);
    assert!(
        !text.lines().nth(2).expect("line 3").contains("\"checks\""),
        "only the fields"
    );
    assert_eq!(text.lines().nth(1), SIMULATOR.lines().nth(1), "the others as read");
}

#[test]
fn a_bad_field_is_named_with_its_line_and_column() {
    let err =
        parse_records("{\"scenario\":\"x\",\"seed\":1,\"verdict\":\"pass\"}\n{\"scenario\":\"x\",\"seed\":\"one\"}\n")
            .expect_err("a string seed");
    assert_eq!(err.line, 2);
    let text = err.to_string();
    assert!(text.contains("invalid type") && text.contains("column"), "{text}");
}
