//! Broken scenario files: each gets `file:line:col` and never a panic, also
//! under random mutation (property test).

use halab_scenarios::parse_scenario;
use proptest::prelude::*;

const GOOD: &str = include_str!("../scenarios/catalogue/chaos.toml");

/// The count operator's parallelism in `GOOD`, and ten times it.
const COUNT_5: &str = "kind = \"count\"\nparallelism = 5";
const COUNT_50: &str = "kind = \"count\"\nparallelism = 50";

/// `GOOD` without its `[job]` table and operators: the job's defaults.
fn without_job() -> String {
    let (job, config) = (
        GOOD.find("[job]").expect("present"),
        GOOD.find("[config]").expect("present"),
    );
    format!("{}{}", &GOOD[..job], &GOOD[config..])
}

/// (mutation, text the error must mention, line it must point at or 0 for "any")
fn broken_cases() -> Vec<(String, &'static str, usize)> {
    let line_of = |needle: &str| GOOD.lines().position(|l| l.contains(needle)).expect("present") + 1;
    vec![
        (GOOD.replace("name = \"chaos\"", "name = chaos"), "", 1),
        (
            GOOD.replace("duration = \"12s\"", "duration = \"12 parsecs\""),
            "12 parsecs",
            line_of("duration"),
        ),
        (
            GOOD.replace("duration = \"12s\"", "duration = 12"),
            "duration: the duration `12` has no unit: write \"12ms\", \"12s\" or \"12min\"",
            line_of("duration"),
        ),
        (
            GOOD.replace("duration = \"12s\"", "duration = \"12\""),
            "has no unit",
            line_of("duration"),
        ),
        (
            GOOD.replace("keys = 300", "keys = 1.5"),
            "job.keys: invalid type: decimal number `1.5`, expected a whole number, 0 or more",
            line_of("keys = 300"),
        ),
        (
            GOOD.replace(COUNT_5, "kind = \"count\"\nparallelism = [5]"),
            "parallelism: invalid type: array, expected a whole number from 0 to 4294967295",
            line_of("parallelism = 5"),
        ),
        (
            GOOD.replace("duration = \"12s\"", "duration = -5"),
            "has no unit",
            line_of("duration"),
        ),
        (
            GOOD.replace("task-managers = 3", "task-managers = \"three\""),
            "",
            line_of("task-managers"),
        ),
        (
            GOOD.replace("task-managers = 3", "task-managers = 0"),
            "task-managers",
            line_of("task-managers"),
        ),
        (
            GOOD.replace("keys = 300", "keys = 0"),
            "job.keys",
            line_of("keys = 300"),
        ),
        (
            GOOD.replace("keys = 300", "keys = 1000001"),
            "above the limit 1000000",
            line_of("keys = 300"),
        ),
        (GOOD.replace("keys = 300", "keyz = 300"), "keyz", line_of("keys = 300")),
        (
            GOOD.replace("kind = \"source\"\nparallelism = 2", "kind = \"source\"\nparallelism = 9"),
            "job.operators[0].parallelism: 9 exceeds the 4 partitions source `source` reads",
            line_of("parallelism = 2"),
        ),
        // Too few slots: at the parallelism that needs them, the cluster's
        // keys stated; at the cluster when the file does not write the job.
        (
            GOOD.replace("task-managers = 3", "task-managers = 2"),
            "job.operators[1].parallelism: the job needs 5 slots but the cluster has only 4 (task-managers = 2, slots-per-task-manager = 2)",
            line_of("parallelism = 5"),
        ),
        (
            GOOD.replace(COUNT_5, COUNT_50),
            "needs 50 slots",
            line_of("parallelism = 5"),
        ),
        (
            GOOD.replace("[cluster]\ntask-managers = 3\nslots-per-task-manager = 2\n", "")
                .replace(COUNT_5, COUNT_50),
            "needs 50 slots",
            line_of("parallelism = 5") - 3,
        ),
        (
            without_job()
                .replace("task-managers = 3", "task-managers = 1")
                .replace("slots-per-task-manager = 2", "slots-per-task-manager = 1"),
            "the cluster has only 1",
            line_of("[cluster]"),
        ),
        (
            GOOD.replace("\"heartbeat.timeout\" = \"3s\"", "\"heartbeat.timeout\" = \"100ms\""),
            "heartbeat.timeout",
            line_of("heartbeat.timeout"),
        ),
        (
            GOOD.replace("\"heartbeat.interval\"", "\"heartbeat.intervall\""),
            "unknown configuration key",
            line_of("heartbeat.interval"),
        ),
        // A restart strategy's key is named where it is written, with the
        // value as written (not `restart-strategy` at `[config]`).
        (
            GOOD.replace(
                "\"halab.rpc.timeout\" = \"2s\"",
                "\"halab.rpc.timeout\" = \"2s\"\n\"restart-strategy.type\" = \"fixed-delay\"\n\"restart-strategy.fixed-delay.attempts\" = \"three\"",
            ),
            "config.\"restart-strategy.fixed-delay.attempts\": `three`: not a 32-bit integer",
            line_of("halab.rpc.timeout") + 2,
        ),
        (
            GOOD.replace(
                "\"halab.rpc.timeout\" = \"2s\"",
                "\"halab.rpc.timeout\" = \"2s\"\n\"restart-strategy.type\" = \"fixed-delay\"\n\"restart-strategy.fixed-delay.attempts\" = -3",
            ),
            "config.\"restart-strategy.fixed-delay.attempts\": `-3`",
            line_of("halab.rpc.timeout") + 2,
        ),
        (
            GOOD.replace(
                "\"halab.rpc.timeout\" = \"2s\"",
                "\"halab.rpc.timeout\" = \"2s\"\n\"restart-strategy.type\" = \"sometimes\"",
            ),
            "config.\"restart-strategy.type\": `sometimes`: unknown restart strategy",
            line_of("halab.rpc.timeout") + 1,
        ),
        // A value that is no configuration value, in the user's words.
        (
            GOOD.replace("\"heartbeat.timeout\" = \"3s\"", "\"heartbeat.timeout\" = { s = 3 }"),
            "not a Flink configuration value: write a string, a number or a boolean",
            line_of("heartbeat.timeout"),
        ),
        (GOOD.replace("rate = 0.5", "rate = 0.5\ncount = 3"), "count or rate", 0),
        (
            GOOD.replace("\"tm-crash\", ", "\"tm-explode\", "),
            "tm-explode",
            line_of("kinds"),
        ),
        (
            GOOD.replace("window = [\"1s\", \"10s\"]", "window = [\"10s\", \"1s\"]"),
            "window",
            line_of("window"),
        ),
        // A fault's problem is at its verb's key.
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nkill = \"tm-9\"\n"),
            "faults.scripted[0].kill: unknown node `tm-9`",
            GOOD.lines().count() + 4,
        ),
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nkill = \"jm\"\n"),
            "high availability",
            GOOD.lines().count() + 4,
        ),
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nkill = \"tm-0\"\npause = \"tm-1\"\n"),
            "exactly one verb",
            0,
        ),
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\n"),
            "needs one verb",
            0,
        ),
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\npartition = [[\"tm-0\"], [\"tm-0\"]]\n"),
            "faults.scripted[0].partition: node `tm-0` is in both groups",
            GOOD.lines().count() + 4,
        ),
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nrestart = \"tm-1\"\n"),
            "faults.scripted[0].restart: `restart` cannot take effect",
            GOOD.lines().count() + 4,
        ),
        (
            format!(
                "{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nnetwork = {{ loss = 1.5, latency = [\"1ms\", \"2ms\"] }}\n"
            ),
            "loss",
            0,
        ),
        (
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nslow = \"database\"\n"),
            "database",
            0,
        ),
        (
            GOOD.replace("recovery-bound", "recovery-bund"),
            "recovery-bund",
            line_of("recovery-bound"),
        ),
        (GOOD.replace("[expect]", "[expect\n"), "", line_of("[expect]")),
        (String::new(), "name", 1),
        ("\u{0}\u{1}binary".to_string(), "", 1),
        // The resource model's keys.
        (
            format!("{GOOD}\n[resources]\ntask-manager-cores = 0\n"),
            "task-manager-cores",
            GOOD.lines().count() + 3,
        ),
        (
            format!("{GOOD}\n[resources]\nnetwork-bandwidth = \"10\"\n"),
            "not a rate",
            GOOD.lines().count() + 3,
        ),
        (
            format!("{GOOD}\n[resources]\ncheckpoint-storage-bandwidth = \"-5MB/s\"\n"),
            "negative",
            GOOD.lines().count() + 3,
        ),
        (
            format!("{GOOD}\n[resources]\nlocal-disk-bandwidth = 100\n"),
            "unit",
            GOOD.lines().count() + 3,
        ),
        (
            format!("{GOOD}\n[resources]\nenabled = false\ntask-manager-cores = 2\n"),
            "resource keys are set",
            GOOD.lines().count() + 3,
        ),
        (
            format!("{GOOD}\n[resources]\nenabled = \"no\"\n"),
            "bool",
            GOOD.lines().count() + 3,
        ),
        (
            GOOD.replace("keys = 300", "keys = 300\nrecord-weight = 0"),
            "record-weight",
            line_of("keys = 300") + 1,
        ),
        (
            GOOD.replace("keys = 300", "keys = 300\nstate-bytes-per-key = \"12 parsecs\""),
            "parsecs",
            line_of("keys = 300") + 1,
        ),
    ]
}

#[test]
fn many_broken_files_are_refused_with_position() {
    for (i, (text, mention, line)) in broken_cases().into_iter().enumerate() {
        let e = parse_scenario(&text, "broken.toml").expect_err(&format!("case {i} must be refused"));
        let shown = e.to_string();
        assert!(!shown.contains("untagged enum"), "case {i}: {shown}");
        for rust in [
            "expected u",
            "expected i",
            "expected f",
            "sequence",
            "floating point",
            "target type",
        ] {
            assert!(!shown.contains(rust), "case {i} speaks Rust (`{rust}`): {shown}");
        }
        assert!(
            shown.starts_with(&format!("broken.toml:{}:{}: ", e.line, e.col)),
            "case {i}: {shown}"
        );
        assert!(e.line >= 1 && e.col >= 1, "case {i}: {shown}");
        if !mention.is_empty() {
            assert!(
                shown.contains(mention),
                "case {i}: `{shown}` should mention `{mention}`"
            );
        }
        if line > 0 {
            assert_eq!(e.line, line, "case {i}: {shown}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any edit of a valid file either parses into a valid scenario or is
    /// refused with a position inside the file — never a panic.
    #[test]
    fn mutated_files_never_panic(pos in 0usize..2000, len in 0usize..40, insert in "[ -~\n]{0,12}") {
        let mut text = GOOD.to_string();
        let start = pos.min(text.len());
        let start = (0..=start).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        text.replace_range(start..end, &insert);
        match parse_scenario(&text, "m.toml") {
            Ok(s) => prop_assert!(s.validate().is_ok()),
            Err(e) => {
                prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1) + 1, "{}", e);
                prop_assert!(e.col >= 1);
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}
