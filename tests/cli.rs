//! The `halab` command line: output formats, exit codes and error messages.

use std::process::Command;

#[path = "common/cli.rs"]
mod cli;
use cli::{halab, stderr, stdout};

#[test]
fn run_json_is_one_object_with_the_documented_fields() {
    let o = halab(&["run", "tm-crash", "--seed", "7", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object on stdout");
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("valid JSON");
    for key in [
        "scenario",
        "seed",
        "trace_hash",
        "verdict",
        "lost",
        "duplicated",
        "unexpected",
        "records_committed",
        "restarts",
        "fault_plan",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["seed"], 7);
    assert_eq!(
        (v["lost"].as_u64(), v["duplicated"].as_u64(), v["unexpected"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    assert!(v["restarts"].as_u64() >= Some(1));
    assert!(
        stderr(&o).starts_with("halab run: scenario tm-crash seed 7"),
        "banner first, on stderr"
    );
    let again = halab(&["run", "tm-crash", "--seed", "7", "--format", "json"]);
    let w: serde_json::Value = serde_json::from_str(stdout(&again).trim()).expect("valid JSON");
    assert_eq!(v["trace_hash"], w["trace_hash"]);
}

#[test]
fn run_text_has_banner_first_and_verdict_last() {
    let o = halab(&["run", "steady", "--seed", "3"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("halab run: scenario steady seed 3"));
    assert!(text.contains("fault plan (0 faults)"));
    assert_eq!(text.trim_end().lines().last(), Some("verdict: pass"));
}

#[test]
fn unknown_scenario_exits_2_and_lists_known_ones() {
    let o = halab(&["run", "no-such-scenario"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("no-such-scenario") && e.contains("steady") && e.contains("tm-crash"),
        "{e}"
    );
}

#[test]
fn bad_flags_exit_2() {
    assert_eq!(halab(&["run", "steady", "--seed", "seven"]).status.code(), Some(2));
    assert_eq!(halab(&["run", "steady", "--format", "yaml"]).status.code(), Some(2));
    assert_eq!(halab(&["frobnicate"]).status.code(), Some(2));
    for args in [
        &["sweep", "steady", "--jobs", "0"][..],
        &["bench", "--reps", "0"],
        &["bench", "--jobs", "0"],
        &["bench", "--sweep-seeds", "5"],
        &["bench", "--long", "--sweep-seeds", "100"],
    ] {
        let o = halab(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("error:"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn broken_scenario_file_exits_2_with_position() {
    let dir = std::env::temp_dir().join(format!("halab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broken.toml");
    std::fs::write(&path, "name = \"x\"\nduration = \"10 parsecs\"\n").expect("write");
    let o = halab(&["run", path.to_str().expect("utf-8 path")]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("broken.toml:2:"), "{e}");
    let missing = halab(&["run", "/nonexistent/dir/x.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scenario_file_runs_like_a_catalogue_name() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/catalogue/steady.toml");
    let by_file = halab(&["run", path, "--seed", "2", "--format", "json"]);
    let by_name = halab(&["run", "steady", "--seed", "2", "--format", "json"]);
    assert_eq!(by_file.status.code(), Some(0));
    let a: serde_json::Value = serde_json::from_str(stdout(&by_file).trim()).expect("json");
    let b: serde_json::Value = serde_json::from_str(stdout(&by_name).trim()).expect("json");
    assert_eq!(a["trace_hash"], b["trace_hash"]);
}

#[test]
fn list_shows_the_catalogue() {
    let o = halab(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.lines().any(|l| l.starts_with("steady ")));
    assert!(text.lines().any(|l| l.starts_with("tm-crash ")));
}

#[test]
#[cfg(unix)]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    // A pipe whose reading end is closed before halab starts (as in
    // `halab list | true`): its first write must end it by SIGPIPE, quietly.
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read_end);
    let mut child = Command::new(env!("CARGO_BIN_EXE_halab"))
        .arg("list")
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .spawn()
        .expect("halab starts");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut err)
        .expect("stderr");
    let status = child.wait().expect("halab ends");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
}

#[test]
fn sweep_all_runs_every_catalogue_scenario() {
    let dir = std::env::temp_dir().join(format!("halab-sweep-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("all.jsonl");
    let o = halab(&[
        "sweep",
        "--all",
        "--seeds",
        "1..1",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let names: std::collections::BTreeSet<String> = std::fs::read_to_string(&out)
        .expect("records")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a record per line");
            v["scenario"].as_str().expect("scenario").to_string()
        })
        .collect();
    let catalogue: std::collections::BTreeSet<String> = halab_scenarios::catalogue::names()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, catalogue, "one run of every catalogue scenario");
    assert!(names.contains("ha-storm"));
    std::fs::remove_dir_all(&dir).ok();
    let both = halab(&["sweep", "--all", "chaos"]);
    assert_eq!(both.status.code(), Some(2), "--all with names is a usage error");
    let neither = halab(&["sweep"]);
    assert_eq!(neither.status.code(), Some(2), "a sweep needs scenarios or --all");
}

#[test]
fn run_prints_the_load_line_of_its_record() {
    let text = stdout(&halab(&["run", "skew-hot", "--seed", "1"]));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&halab(&["run", "skew-hot", "--seed", "1", "--format", "json"]))).expect("json");
    let subtasks = json["subtasks"].as_array().expect("subtasks");
    let of = |vertex: &'static str| subtasks.iter().filter(move |s| s["vertex"] == vertex);
    let n = |s: &serde_json::Value, k: &str| s[k].as_u64().expect("a count");
    // The hottest count subtask: the most records in, the lower index on a tie.
    let hot = of("count")
        .max_by_key(|s| (n(s, "numRecordsIn"), std::cmp::Reverse(n(s, "subtask"))))
        .expect("a count subtask");
    let total: u64 = of("count").map(|s| n(s, "numRecordsIn")).sum();
    let sources: Vec<u64> = of("source").map(|s| n(s, "backPressuredTimeMsPerSecond")).collect();
    let want = format!(
        "  load: busiest count[{}] took {:.0}% of its vertex's records, busy {} ms/s; sources back-pressured {} ms/s",
        n(hot, "subtask"),
        n(hot, "numRecordsIn") as f64 * 100.0 / total as f64,
        n(hot, "busyTimeMsPerSecond"),
        sources.iter().sum::<u64>() / sources.len() as u64
    );
    assert!(text.lines().any(|l| l == want), "want `{want}` in:\n{text}");
    // Skew makes the hot subtask a bottleneck that back-pressures the sources.
    assert!(n(hot, "busyTimeMsPerSecond") >= 500, "{hot}");
    assert!(sources.iter().all(|b| *b > 0), "{sources:?}");
}
