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
