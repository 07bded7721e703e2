//! Results keep their identity and are never lost (issue 20): every record
//! names its scenario's fingerprint and the halab version that ran it;
//! `sweep --resume` and `report --resume` match finished runs on
//! (fingerprint, seed) and refuse a file of another scenario or binary;
//! `report --from` drops identical duplicates and refuses conflicting ones;
//! a report never truncates records it was not asked about; seed ranges
//! are lazy and `--jobs` is capped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn halab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .output()
        .expect("halab runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("results-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
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
