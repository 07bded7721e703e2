//! Results keep their identity and are never lost (issue 20): every record
//! names its scenario's fingerprint and the halab version that ran it;
//! `sweep --resume` and `report --resume` match finished runs on
//! (fingerprint, seed) and refuse a file of another scenario or binary;
//! `report --from` drops identical duplicates and refuses conflicting ones;
//! a report never truncates records it was not asked about, and writes
//! each record exactly as the simulator did; seed ranges are lazy and
//! `--jobs` is capped.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/cli.rs"]
mod cli;
use cli::{halab, path_str, stderr, stdout};

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    cli::fresh_dir(&format!("results-cli-{name}"))
}

#[test]
fn records_carry_the_scenario_fingerprint_and_the_halab_version() {
    let run = |args: &[&str]| {
        let o = halab(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(stdout(&o).trim()).expect("one JSON object")
    };
    let v = run(&["run", "steady", "--seed", "1", "--format", "json"]);
    let fp = v["scenario_fingerprint"].as_str().expect("a fingerprint").to_string();
    assert_eq!(fp.len(), 16, "{fp}");
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()), "{fp}");
    assert_eq!(v["schema"], 2);
    let version = stdout(&halab(&["--version"]));
    assert_eq!(
        version.trim(),
        format!("halab {}", v["halab_version"].as_str().expect("a version"))
    );

    // The same scenario from a file: the same fingerprint; another seed
    // too; a changed key: another.
    let dir = tmp("fingerprint");
    let file = dir.join("steady.toml");
    let steady = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/catalogue/steady.toml"))
        .expect("the catalogue's steady");
    std::fs::write(&file, &steady).expect("write");
    let from_file = run(&["run", path_str(&file), "--seed", "2", "--format", "json"]);
    assert_eq!(from_file["scenario_fingerprint"], v["scenario_fingerprint"]);
    let changed = run(&[
        "run",
        "steady",
        "--seed",
        "1",
        "--format",
        "json",
        "--set",
        "job.keys=501",
    ]);
    assert_ne!(changed["scenario_fingerprint"], v["scenario_fingerprint"]);
}

/// Every line of a JSON Lines file, parsed.
fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("records")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a whole record per line"))
        .collect()
}

/// `path`'s records with `edit` applied to each, written back.
fn edit_records(path: &Path, edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) {
    let lines: Vec<String> = records(path)
        .into_iter()
        .map(|mut v| {
            edit(v.as_object_mut().expect("a record is an object"));
            v.to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").expect("write");
}

/// The catalogue's `steady` renamed `chaos`, as a file in `dir`.
fn steady_named_chaos(dir: &Path) -> PathBuf {
    let steady = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/catalogue/steady.toml"))
        .expect("the catalogue's steady");
    let file = dir.join("c12-chaos.toml");
    std::fs::write(&file, steady.replace("name = \"steady\"", "name = \"chaos\"")).expect("write");
    file
}

fn fingerprint_of(scenario: &str) -> String {
    let o = halab(&["run", scenario, "--seed", "1", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    v["scenario_fingerprint"].as_str().expect("a fingerprint").to_string()
}

/// Issue 20, case 12: a resumed sweep matches runs on (fingerprint, seed),
/// not on the scenario's name.
#[test]
fn sweep_resume_refuses_records_of_another_scenario_or_binary() {
    let dir = tmp("resume");
    let out = dir.join("c12.jsonl");
    let o = halab(&[
        "sweep",
        "chaos",
        "--seeds",
        "1..3",
        "--jobs",
        "1",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let impostor = steady_named_chaos(&dir);
    let resume = |scenario: &str| {
        halab(&[
            "sweep",
            scenario,
            "--seeds",
            "1..5",
            "--jobs",
            "1",
            "--out",
            path_str(&out),
            "--resume",
        ])
    };
    let o = resume(path_str(&impostor));
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("holds records of another scenario named `chaos`"), "{err}");
    assert!(err.contains(&fingerprint_of("chaos")), "{err}");
    assert!(err.contains(&fingerprint_of(path_str(&impostor))), "{err}");
    assert_eq!(records(&out).len(), 3, "nothing appended");

    let o = resume("chaos");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 to run (3 already done)"), "{}", stdout(&o));
    assert_eq!(records(&out).len(), 5);

    // Records of another halab version, and records from before the
    // fingerprint existed.
    edit_records(&out, |r| {
        r.insert("halab_version".into(), "0.0.1".into());
    });
    let o = resume("chaos");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("run by halab 0.0.1; this is halab"),
        "{}",
        stderr(&o)
    );
    edit_records(&out, |r| {
        r.remove("halab_version");
        r.remove("scenario_fingerprint");
    });
    let o = resume("chaos");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("before records carried a scenario fingerprint"), "{err}");
    assert!(err.contains("choose another --out file"), "{err}");
    assert_eq!(records(&out).len(), 5, "nothing appended");
}

/// Issue 20, case 13.
#[test]
fn sweep_refuses_a_scenario_twice_and_two_scenarios_of_one_name() {
    let dir = tmp("twice");
    let o = halab(&["sweep", "chaos", "chaos", "--seeds", "1..3", "--jobs", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("scenario `chaos` is given twice (`chaos` and `chaos`)"),
        "{}",
        stderr(&o)
    );
    let impostor = steady_named_chaos(&dir);
    let o = halab(&["sweep", "chaos", path_str(&impostor), "--seeds", "1..3", "--jobs", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("are two different scenarios named `chaos`"), "{err}");
    assert!(!stdout(&o).contains("runs in"), "nothing ran: {}", stdout(&o));
}

/// Issue 20, case 14: a records file concatenated twice renders once, with
/// a note; the same run with two trace hashes is refused.
#[test]
fn report_from_drops_identical_duplicates_and_refuses_conflicting_ones() {
    let dir = tmp("duplicates");
    let once = dir.join("c14.jsonl");
    let o = halab(&[
        "sweep",
        "tm-crash",
        "--seeds",
        "1..3",
        "--jobs",
        "1",
        "--out",
        path_str(&once),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&once).expect("records");
    let twice = dir.join("c14x2.jsonl");
    std::fs::write(&twice, format!("{text}{text}")).expect("write");
    let out = dir.join("rep");
    let o = halab(&["report", "--from", path_str(&twice), "--out", path_str(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dropped 3 duplicate record(s)")
            && stderr(&o).contains("the first: tm-crash seed 1 at")
            && stderr(&o).contains("c14x2.jsonl:4, first at"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("(3 records,"), "{}", stdout(&o));
    assert_eq!(records(&out.join("records.jsonl")).len(), 3);

    // One file given twice (under two names): the note tells its two
    // readings apart.
    let again = dir.join(".").join("c14.jsonl");
    let out = dir.join("rep-again");
    let o = halab(&[
        "report",
        "--from",
        path_str(&once),
        path_str(&again),
        "--out",
        path_str(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dropped 3 duplicate record(s)")
            && stderr(&o).contains("c14.jsonl:1 (the file given again), first at"),
        "{}",
        stderr(&o)
    );
    assert_eq!(records(&out.join("records.jsonl")).len(), 3);

    // The same scenario and seed with another trace hash.
    let conflicting = dir.join("conflicting.jsonl");
    std::fs::copy(&once, &conflicting).expect("copy");
    edit_records(&conflicting, |r| {
        r.insert("trace_hash".into(), "0123456789abcdef".into());
    });
    let o = halab(&[
        "report",
        "--from",
        path_str(&once),
        path_str(&conflicting),
        "--out",
        path_str(&dir.join("rep2")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("tm-crash seed 1 is at"), "{err}");
    assert!(
        err.contains("conflicting.jsonl:1 with trace hash 0123456789abcdef"),
        "{err}"
    );
    assert!(
        err.contains("nondeterminism, or records of different halab binaries mixed"),
        "{err}"
    );
    assert!(!dir.join("rep2").exists(), "nothing written");
}

/// A small suite of two scenarios over 3 seeds.
const SUITE: &str = r#"
name = "small"
seeds = 3

[[group]]
title = "baseline"
scenarios = ["steady", "tm-crash"]
"#;

/// Issue 20, cases 16 and 17: a report never drops records it was not asked
/// about, and never overwrites finished runs.
#[test]
fn a_report_keeps_every_record_of_its_directory() {
    let dir = tmp("keep");
    let suite = dir.join("suite.toml");
    std::fs::write(&suite, SUITE).expect("write");
    let out = dir.join("rep");
    let jsonl = out.join("records.jsonl");
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--suite", path_str(&suite), "--out", path_str(&out)];
        args.extend(extra);
        halab(&args)
    };
    let o = report(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = std::fs::read_to_string(&jsonl).expect("records");
    assert_eq!(before.lines().count(), 6);

    // Case 16: fewer seeds, resumed: the other seeds' records stay.
    let o = report(&["--seeds", "1", "--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("0 runs to do (2 already done)"), "{text}");
    assert!(
        text.contains("keeping 4 record(s) of other scenarios or seeds"),
        "{text}"
    );
    assert!(text.contains("(2 records,"), "{text}");
    assert_eq!(std::fs::read_to_string(&jsonl).expect("records"), before, "untouched");
    let csv = std::fs::read_to_string(out.join("records.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 1 + 6, "the CSV holds the same records");

    // Case 17: without --resume, refused, and nothing changes.
    let o = report(&["--seeds", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("records.jsonl already holds run records; continue them with --resume"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&jsonl).expect("records"), before);

    // Re-rendering records into a directory that holds others is refused
    // as well; the directory's own records render in place.
    let one = dir.join("one.jsonl");
    std::fs::write(&one, before.lines().next().expect("a record").to_string() + "\n").expect("write");
    let o = halab(&["report", "--from", path_str(&one), "--out", path_str(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("already holds 5 run record(s) that the new records lack"),
        "{}",
        stderr(&o)
    );
    let o = halab(&["report", "--from", path_str(&jsonl), "--out", path_str(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(records(&jsonl).len(), 6);
}

/// A resumed report, as a resumed sweep, refuses records of another
/// scenario of the same name or of another halab version.
#[test]
fn report_resume_refuses_records_of_another_binary() {
    let dir = tmp("report-resume");
    let suite = dir.join("suite.toml");
    std::fs::write(&suite, SUITE).expect("write");
    let out = dir.join("rep");
    let args = [
        "report",
        "--suite",
        path_str(&suite),
        "--seeds",
        "1",
        "--out",
        path_str(&out),
    ];
    let o = halab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let jsonl = out.join("records.jsonl");
    edit_records(&jsonl, |r| {
        r.insert("halab_version".into(), "0.0.1".into());
    });
    let o = halab(&[&args[..], &["--resume"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("run by halab 0.0.1; this is halab"), "{err}");
    assert!(err.contains("choose another --out directory"), "{err}");
    assert_eq!(records(&jsonl).len(), 2, "untouched");
}

/// `compare --out` does not replace the records of another comparison.
#[test]
fn compare_out_keeps_the_records_of_another_comparison() {
    let dir = tmp("compare");
    let out = dir.join("cmp");
    let compare = |values: &str| {
        halab(&[
            "compare",
            "steady",
            "--vary",
            values,
            "--seeds",
            "1..2",
            "--out",
            path_str(&out),
        ])
    };
    let o = compare("job.keys=10,20");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = compare("job.keys=10,20");
    assert_eq!(o.status.code(), Some(0), "the same comparison again: {}", stderr(&o));
    let before = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    let o = compare("job.keys=30");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("already holds 4 run record(s) that the new records lack"),
        "{}",
        stderr(&o)
    );
    let after = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert!(after == before, "records.jsonl changed");
}

/// `halab run ARGS --format json`'s record line; `code` is the exit code
/// its verdict gives.
fn record_line(args: &[&str], code: i32) -> String {
    let o = halab(&[args, &["--format", "json"]].concat());
    assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1, "one record: {text}");
    text.trim_end().to_string()
}

/// The lines of `path`, sorted (a report writes its records by scenario
/// and seed).
fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .expect("records")
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// Issue 20: `records.jsonl` of a report or comparison holds each record
/// exactly as the simulator wrote it (fields the report does not read,
/// fault times, key order), also when a report is re-rendered from
/// another's records; a failing run and runs with faults, checks and
/// leaderships among them.
#[test]
fn records_jsonl_holds_each_record_as_the_simulator_wrote_it() {
    let dir = tmp("as-written");
    let no_fencing = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/no-fencing.toml");
    let lines = [
        record_line(&["run", "tm-crash", "--seed", "1"], 0),
        record_line(&["run", no_fencing, "--seed", "17"], 1),
        record_line(&["run", "jm-crash", "--seed", "1"], 0),
    ];
    let failing: serde_json::Value = serde_json::from_str(&lines[1]).expect("a record");
    assert_eq!(failing["verdict"], "violation");
    assert!(failing["checks"].as_array().is_some_and(|c| !c.is_empty()), "{failing}");
    assert!(lines.iter().all(|l| l.contains("\"fault_plan\":[{\"at\":")));
    let x = dir.join("x.jsonl");
    std::fs::write(&x, lines.join("\n") + "\n").expect("write");
    let mut expected = lines.to_vec();
    expected.sort();

    let out = dir.join("rep");
    let o = halab(&["report", "--from", path_str(&x), "--out", path_str(&out)]);
    assert_eq!(o.status.code(), Some(1), "the violation's code: {}", stderr(&o));
    assert_eq!(sorted_lines(&out.join("records.jsonl")), expected);

    // A report of the report's records: the same file again.
    let again = dir.join("rep2");
    let o = halab(&[
        "report",
        "--from",
        path_str(&out.join("records.jsonl")),
        "--out",
        path_str(&again),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(again.join("records.jsonl")).expect("records"),
        std::fs::read_to_string(out.join("records.jsonl")).expect("records")
    );

    // `compare --from` writes them the same way.
    let cmp = dir.join("cmp");
    let o = halab(&["compare", "x", "--from", path_str(&x), "--out", path_str(&cmp)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(sorted_lines(&cmp.join("records.jsonl")), expected);
}

/// Issue 20: a comparison that runs its variants writes their records with
/// every field the simulator writes, those the report does not read too.
#[test]
fn compare_writes_every_field_of_its_runs() {
    let dir = tmp("compare-fields");
    let out = dir.join("cmp");
    let o = halab(&[
        "compare",
        "tm-crash",
        "--vary",
        "job.keys=10,20",
        "--seeds",
        "1..1",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let direct = record_line(&["run", "tm-crash", "--seed", "1"], 0);
    let keys = |line: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(line).expect("a record");
        let mut keys: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        keys
    };
    let written = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert_eq!(written.lines().count(), 2);
    for line in written.lines() {
        assert_eq!(keys(line), keys(&direct));
        for field in [
            "\"checks\":",
            "\"leaderships\":",
            "\"uploaded_bytes\":",
            "\"lastCheckpointFullSize\":",
        ] {
            assert!(line.contains(field), "{field} in {line}");
        }
    }
}

/// Complete lines in `path` (none when it does not exist yet).
fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.matches('\n').count())
}

/// The resident memory of process `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// Start `halab args`, wait (up to a minute) until `out` holds more than
/// `lines` records, and return the first line the sweep printed and its
/// memory then; the sweep is killed.
fn start_and_watch(args: &[&str], out: &Path, lines: usize) -> (String, u64) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("halab starts");
    let mut banner = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut banner)
        .expect("a banner");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while lines_in(out) <= lines && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let rss = rss_kib(child.id());
    child.kill().expect("kill the sweep");
    child.wait().expect("the sweep ends");
    assert!(lines_in(out) > lines, "no record within a minute: {banner}");
    (banner, rss)
}

/// Issue 20, case 22: a range of 2^64 seeds starts at once, streams its
/// records, and resumes, sharded too, without building the seed list.
#[test]
fn an_endless_seed_range_starts_at_once_and_streams_records() {
    let dir = tmp("endless");
    let out = dir.join("c22.jsonl");
    let endless = ["sweep", "steady", "--seeds", "1..18446744073709551615", "--jobs", "1"];
    let args = [&endless[..], &["--out", path_str(&out)]].concat();
    let (banner, rss) = start_and_watch(&args, &out, 0);
    assert!(banner.contains("x 18446744073709551615 seed(s)"), "{banner}");
    // The seed list alone would be 128 EiB; building even a part of it
    // took gigabytes before the seeds were produced lazily.
    assert!(rss < 300 * 1024, "{rss} KiB resident");

    let first = lines_in(&out);
    let resumed = [&args[..], &["--resume"]].concat();
    let (banner, _) = start_and_watch(&resumed, &out, first);
    assert!(banner.contains(&format!("({first} already done)")), "{banner}");
    let sharded = [&resumed[..], &["--shard", "1/2"]].concat();
    let before = lines_in(&out);
    let (banner, _) = start_and_watch(&sharded, &out, before);
    assert!(banner.contains("x 9223372036854775807 seed(s)"), "{banner}");

    // Interrupted three times: no seed twice (the last kill may have cut
    // the last line short; a resume cuts such a line off).
    let text = std::fs::read_to_string(&out).expect("records");
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let seeds: Vec<u64> = whole
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("a whole record")["seed"]
                .as_u64()
                .expect("seed")
        })
        .collect();
    let distinct: std::collections::BTreeSet<u64> = seeds.iter().copied().collect();
    assert_eq!(distinct.len(), seeds.len(), "{seeds:?}");
}

/// Issue 20, case 24: `--jobs` is capped at four threads per core.
#[test]
fn jobs_beyond_four_per_core_are_refused() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = (4 * cores).to_string();
    let over = (4 * cores + 1).to_string();
    let dir = tmp("jobs");
    let out = dir.join("rep");
    for args in [
        &["sweep", "steady", "--seeds", "1..3", "--jobs", "100000"][..],
        &["sweep", "steady", "--seeds", "1..3", "--jobs", &over],
        &[
            "compare",
            "steady",
            "--vary",
            "job.keys=10,20",
            "--seeds",
            "1..2",
            "--jobs",
            &over,
        ],
        &[
            "report",
            "--scenarios",
            "steady",
            "--seeds",
            "1",
            "--jobs",
            &over,
            "--out",
            path_str(&out),
        ],
    ] {
        let o = halab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("at most {cap} (4 per core; this machine has {cores} cores)")),
            "{args:?}: {err}"
        );
    }
    assert!(!out.exists(), "nothing written");
    let o = halab(&["sweep", "steady", "--seeds", "1..1", "--jobs", &cap]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
