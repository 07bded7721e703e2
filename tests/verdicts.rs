//! The five verdicts and their exit codes (0 pass, 1 violation, 3 liveness,
//! 4 crash, 5 nondeterminism; 2 is bad input), each shown from a test-only
//! broken variant: a failed engine assertion is a `crash`, and a run that
//! does not reproduce its trace is `nondeterminism`, printed with the first
//! event where the two runs parted.

use std::process::{Command, Output};

use halab_engine::config::Sabotage;
use halab_scenarios::catalogue;
use halab_sim::{run_seed, Scenario, Verdict};

fn halab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .output()
        .expect("runs")
}

fn sabotaged(name: &str, sabotage: Sabotage) -> Scenario {
    let mut s = catalogue::load(name).expect("built-in").expect("valid");
    s.sabotage = sabotage;
    s
}

/// A scenario file in a fresh directory, removed when dropped.
struct ScenarioFile {
    dir: std::path::PathBuf,
    path: String,
}

impl ScenarioFile {
    fn new(s: &Scenario, tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("halab-verdicts-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{tag}.toml"));
        std::fs::write(&path, s.to_toml().expect("toml")).expect("written");
        let path = path.to_string_lossy().into_owned();
        ScenarioFile { dir, path }
    }
}

impl Drop for ScenarioFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn exit_codes_are_distinct_and_the_worst_verdict_wins() {
    let codes: Vec<i32> = Verdict::ALL.iter().map(|v| v.exit_code()).collect();
    assert_eq!(codes, [0, 3, 1, 4, 5]);
    let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
    assert_eq!(names, ["pass", "liveness", "violation", "crash", "nondeterminism"]);
    use Verdict::*;
    assert_eq!(Verdict::worst([]), Pass);
    assert_eq!(Verdict::worst([Liveness, Pass]), Liveness);
    assert_eq!(Verdict::worst([Liveness, Violation]), Violation);
    assert_eq!(Verdict::worst([Crash, Violation, Liveness]), Crash);
    assert_eq!(Verdict::worst([Crash, Nondeterminism]), Nondeterminism);
}

#[test]
fn a_failed_engine_assertion_is_a_crash_with_its_message_and_exit_4() {
    let s = sabotaged("steady", Sabotage::CheckpointIdRepeats);
    let r = run_seed(&s, 1).expect("valid");
    assert_eq!(r.verdict, Verdict::Crash, "{:?}", r.message);
    let message = r.message.as_deref().unwrap_or("");
    assert!(message.contains("invariant: checkpoint ids only increase"), "{message}");
    let file = ScenarioFile::new(&s, "crash");
    let path = file.path.clone();
    let out = halab(&["run", &path, "--seed", "1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("verdict: crash"), "{stdout}");
    assert!(stdout.contains(&format!("repro {path} --seed 1")), "{stdout}");
    let out = halab(&["sweep", &path, "--seeds", "1..2"]);
    assert_eq!(out.status.code(), Some(4), "a sweep exits with its worst verdict");
}

#[test]
fn a_run_that_does_not_reproduce_is_nondeterminism_with_the_first_differing_event() {
    let s = sabotaged("steady", Sabotage::LeaksStateAcrossRuns);
    let file = ScenarioFile::new(&s, "nondeterminism");
    let path = file.path.clone();
    let out = halab(&["run", &path, "--seed", "3", "--check-determinism"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("verdict: nondeterminism"), "{stdout}");
    assert!(stdout.contains("first difference at trace event"), "{stdout}");
    assert!(stdout.contains("run 1: ") && stdout.contains("run 2: "), "{stdout}");
    assert!(stdout.contains("reproduce: "), "{stdout}");
    let out = halab(&["sweep", &path, "--seeds", "1..2", "--check-determinism"]);
    assert_eq!(out.status.code(), Some(5));
    // Without the sabotage the same check passes.
    let out = halab(&["run", "steady", "--seed", "3", "--check-determinism"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn every_failing_checker_reports_in_one_shape_and_the_first_by_precedence_is_the_message() {
    let r = run_seed(&catalogue::load("tm-crash").expect("built-in").expect("valid"), 1).expect("valid");
    assert_eq!((r.verdict, r.checks.len()), (Verdict::Pass, 0));
    // Dropping moved state on a rescale breaks the keyed-state placement and
    // the output: both report, keyed state first.
    let s = sabotaged("rescale-scale-out", Sabotage::RescaleDropsMovedState);
    let r = run_seed(&s, 1).expect("valid");
    let names: Vec<&str> = r.checks.iter().map(|c| c.checker.as_str()).collect();
    assert_eq!(r.verdict, Verdict::Violation, "{:?}", r.message);
    assert!(names.len() >= 2 && names[0] == "keyed-state", "{names:?}");
    assert!(names.contains(&"output"), "{names:?}");
    assert_eq!(r.message, r.checks[0].message, "the message is the first check's");
    assert!(r
        .checks
        .iter()
        .all(|c| c.verdict != Verdict::Pass && c.message.is_some()));
    let output = r.checks.iter().find(|c| c.checker == "output").expect("output failed");
    assert_eq!(output.examples, r.examples, "the output check's examples");
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["checks"][0]["checker"], "keyed-state");
    assert_eq!(json["checks"][0]["verdict"], "violation");
}
