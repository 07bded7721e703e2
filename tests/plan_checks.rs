//! Fault plans that cannot take effect are bad input (`file:line:col`,
//! exit 2): a lone heal, a heal whose groups match no partition, a restart
//! of a node never killed, a node twice in a group, a fault after the run
//! can have ended. Every plan halab draws itself, written out as a repro
//! file, passes the same check.

use std::process::Command;

use halab_scenarios::{catalogue, parse_scenario};

const BASE: &str = r#"name = "plan"
duration = "4s"

[cluster]
task-managers = 2
slots-per-task-manager = 2

[job]
source-partitions = 2
source-parallelism = 2
count-parallelism = 2
sink-parallelism = 2
records-per-second = 100
keys = 10

[config]
"execution.checkpointing.interval" = "500ms"

[expect]
recovery-bound = "20s"
"#;

fn with_faults(faults: &str) -> String {
    format!("{BASE}\n{faults}")
}

#[test]
fn drawn_plans_written_as_repro_files_are_valid() {
    for s in catalogue::all().expect("valid catalogue") {
        for seed in 1..=200 {
            let explicit = s.with_explicit_plan(&s.fault_plan(seed));
            if let Err(e) = explicit.validate() {
                panic!("{} seed {seed}: {e}\n{}", s.name, s.fault_plan(seed));
            }
        }
    }
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        parse_scenario(&text, &path.to_string_lossy()).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn plans_that_cannot_take_effect_are_refused_where_they_are_written() {
    let cases = [
        (
            "[[faults.scripted]]\nat = \"1s\"\nheal = [[\"tm-0\"], [\"jm\"]]\n",
            "no partition between these groups",
        ),
        (
            "[[faults.scripted]]\nat = \"1s\"\npartition = [[\"tm-0\"], [\"jm\"]]\n\n\
             [[faults.scripted]]\nat = \"2s\"\nheal = [[\"tm-1\"], [\"jm\"]]\n",
            "no partition between these groups",
        ),
        (
            "[[faults.scripted]]\nat = \"2s\"\npartition = [[\"tm-0\"], [\"jm\"]]\n\n\
             [[faults.scripted]]\nat = \"1s\"\nheal = [[\"tm-0\"], [\"jm\"]]\n",
            "no partition between these groups",
        ),
        (
            "[[faults.scripted]]\nat = \"1s\"\nrestart = \"tm-1\"\n",
            "no kill of `tm-1`",
        ),
        (
            "[[faults.scripted]]\nat = \"1s\"\nresume = \"tm-1\"\n",
            "no pause of `tm-1`",
        ),
        (
            "[[faults.scripted]]\nat = \"1s\"\npartition = [[\"tm-0\", \"tm-0\"], [\"jm\"]]\n",
            "listed twice",
        ),
        (
            "[[faults.scripted]]\nat = \"999999s\"\nkill = \"tm-1\"\n",
            "never take effect",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("halab-plan-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, (faults, expected)) in cases.iter().enumerate() {
        let text = with_faults(faults);
        let path = dir.join(format!("case-{i}.toml"));
        std::fs::write(&path, &text).expect("written");
        let path = path.to_string_lossy().into_owned();
        let e = parse_scenario(&text, &path).expect_err(expected).to_string();
        assert!(e.contains(expected), "case {i}: {e}");
        // The last [[faults.scripted]] table holds the mistake, except in
        // the case of a heal listed before its partition: the heal's line.
        let line = text
            .lines()
            .position(|l| {
                l.contains("heal")
                    || l.contains("restart")
                    || l.contains("resume")
                    || l.contains("\"tm-0\", \"tm-0\"")
                    || l.contains("999999s")
            })
            .expect("a fault")
            + 1;
        assert!(e.starts_with(&format!("{path}:")), "case {i}: {e}");
        let at = e[path.len() + 1..]
            .split(':')
            .next()
            .and_then(|n| n.parse::<usize>().ok());
        assert!(
            at.is_some_and(|n| n.abs_diff(line) <= 2),
            "case {i}: line {at:?}, fault near {line}: {e}"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_halab"))
            .args(["run", &path, "--seed", "1"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "case {i}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "case {i}: {stderr}");
    }
    let ok = with_faults(
        "[[faults.scripted]]\nat = \"1s\"\npartition = [[\"tm-0\"], [\"jm\"]]\n\n\
         [[faults.scripted]]\nat = \"2s\"\nheal = [[\"jm\"], [\"tm-0\"]]\n",
    );
    parse_scenario(&ok, "ok.toml").expect("a heal of the same groups, either order");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One entry of a random plan: (disturbance kind, first node, second node,
/// group shape, time in ms, length in ms, how it is written). Most entries
/// are valid; some name an unknown node, repeat a node, give three groups,
/// or leave out or misplace the heal.
type Entry = (u8, usize, usize, u8, u64, u64, u8);

const NODES: [&str; 7] = ["jm", "tm-0", "tm-1", "jm", "tm-0", "tm-1", "tm-9"];

/// The disturbance and the fault that heals it, as TOML lines.
fn verbs(kind: u8, a: &str, b: &str, shape: u8) -> (String, String) {
    let groups = match shape % 8 {
        5 => format!("[[\"{a}\", \"{a}\"], [\"{b}\"]]"),
        6 => format!("[[\"{a}\"], [\"{b}\"], [\"jm\"]]"),
        7 => format!("[[\"{a}\", \"{b}\"], [\"{b}\"]]"),
        _ => format!("[[\"{a}\"], [\"{b}\"]]"),
    };
    match kind % 6 {
        0 => (format!("kill = \"{a}\""), format!("restart = \"{a}\"")),
        1 => (format!("pause = \"{a}\""), format!("resume = \"{a}\"")),
        2 => (format!("partition = {groups}"), format!("heal = {groups}")),
        3 => (
            format!("partition-one-way = {groups}"),
            format!("heal-one-way = {groups}"),
        ),
        4 => (
            format!("clog = [\"{a}\", \"{b}\"]"),
            format!("unclog = [\"{a}\", \"{b}\"]"),
        ),
        _ => (
            "slow = \"sink-store\"\nfactor = 5".into(),
            "restore = \"sink-store\"".into(),
        ),
    }
}

fn entry_toml((kind, a, b, shape, at, len, written): Entry) -> String {
    let (a, b) = (NODES[a % NODES.len()], NODES[b % NODES.len()]);
    let (disturb, heal) = verbs(kind, a, b, shape);
    let fault = |ms: u64, what: &str| format!("[[faults.scripted]]\nat = \"{ms}ms\"\n{what}\n");
    match written % 5 {
        0 | 1 => fault(at, &disturb) + &fault(at + len, &heal),
        2 => fault(at, &disturb),
        3 => fault(at, &heal),
        _ => fault(at + len, &disturb) + &fault(at, &heal),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever plan is written, validation either refuses it at a place in
    /// the file, or the plan runs to a verdict (never a crash) within the
    /// run's bounds: the input phase, the recovery bound and the quiet
    /// period.
    #[test]
    fn a_plan_that_passes_validation_runs_to_a_verdict_in_bounds(
        entries in proptest::collection::vec(
            (0u8..6, 0usize..7, 0usize..7, 0u8..8, 0u64..8_000, 1u64..6_000, 0u8..5),
            0..4,
        ),
        seed in 1u64..1000,
    ) {
        let text = with_faults(&entries.iter().map(|e| entry_toml(*e)).collect::<String>());
        match parse_scenario(&text, "plan.toml") {
            Err(e) => {
                let lines = text.lines().count();
                proptest::prop_assert!(e.line >= 1 && e.line <= lines + 1, "{e}");
                proptest::prop_assert!(!e.message.is_empty());
            }
            Ok(s) => {
                let r = halab_sim::run_seed(&s, seed).expect("valid");
                proptest::prop_assert_ne!(r.verdict, halab_sim::Verdict::Crash, "{:?}\n{}", r.message, text);
                // 4 s of input, 20 s recovery bound, quiet period and slack.
                proptest::prop_assert!(r.simulated_ms <= 4_000 + 20_000 + 30_000, "{} ms\n{}", r.simulated_ms, text);
            }
        }
    }
}
