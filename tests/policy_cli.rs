//! `halab policy`: scripts in, decisions out, matching Flink's semantics.

use std::io::Write;
use std::process::{Command, Stdio};

fn policy(args: &[&str], script: &str) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_halab"))
        .arg("policy")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const FAILURE_RATE: &[&str] = &[
    "--set",
    "restart-strategy.type=failure-rate",
    "--set",
    "restart-strategy.failure-rate.max-failures-per-interval=3",
    "--set",
    "restart-strategy.failure-rate.failure-rate-interval=60s",
];

fn failure_rate_script(last_at: u64) -> String {
    let mut s = String::new();
    for gap in [0, 10_000, 10_000, last_at - 20_000] {
        s.push_str(&format!(
            "{{\"op\":\"advance\",\"ms\":{gap}}}\n{{\"op\":\"notify_failure\"}}\n"
        ));
    }
    s.push_str("{\"op\":\"can_restart\"}\n");
    s
}

#[test]
fn failure_rate_boundary_is_strict() {
    let (code, at_60000, _) = policy(FAILURE_RATE, &failure_rate_script(60_000));
    assert_eq!(code, Some(0));
    let last = at_60000.last().expect("answers");
    assert_eq!(
        (last["op"].as_str(), last["now_ms"].as_i64()),
        (Some("can_restart"), Some(60_000))
    );
    assert_eq!(
        last["result"], false,
        "4 failures within a closed 60s window fail the job"
    );
    let (_, at_60001, _) = policy(FAILURE_RATE, &failure_rate_script(60_001));
    assert_eq!(
        at_60001.last().expect("answers")["result"],
        true,
        "(now - oldest) > interval is strict"
    );
}

#[test]
fn exponential_delay_merges_and_counts_down() {
    let args = [
        "--set",
        "restart-strategy.type=exponential-delay",
        "--set",
        "restart-strategy.exponential-delay.jitter-factor=0",
    ];
    let script = [
        r#"{"op":"backoff_ms"}"#,
        r#"{"op":"notify_failure"}"#,
        r#"{"op":"advance","ms":300}"#,
        r#"{"op":"backoff_ms"}"#,
        r#"{"op":"notify_failure"}"#,
        r#"{"op":"advance","ms":700}"#,
        r#"{"op":"notify_failure"}"#,
        r#"{"op":"advance","ms":1}"#,
        r#"{"op":"notify_failure"}"#,
        r#"{"op":"backoff_ms"}"#,
    ]
    .join("\n");
    let (code, a, _) = policy(&args, &script);
    assert_eq!(code, Some(0));
    assert_eq!(a.len(), 10, "one answer per line");
    assert_eq!(a[0]["result"]["error"], "Please call notifyFailure first.");
    assert_eq!(a[1]["result"], true, "first failure schedules a restart");
    assert_eq!(a[3]["result"], 700, "the backoff counts down with the clock");
    assert_eq!(a[4]["result"], false, "merged into the scheduled restart");
    assert_eq!(a[6]["result"], false, "now == next restart time still merges");
    assert_eq!(a[8]["result"], true, "after the scheduled restart: a new attempt");
    assert_eq!(a[9]["result"], 1500, "second attempt: 1000 * 1.5");
}

#[test]
fn failures_table_shows_when_the_policy_gives_up() {
    let mut args: Vec<&str> = FAILURE_RATE.to_vec();
    args.extend(["--failures", "0s,10s,20s,60s"]);
    let out = Command::new(env!("CARGO_BIN_EXE_halab"))
        .arg("policy")
        .args(&args)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text.lines().filter(|l| l.contains("restart at")).count(), 3);
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("60000ms") && l.contains("job FAILED")),
        "{text}"
    );
}

#[test]
fn bad_input_exits_2() {
    let (code, _, err) = policy(FAILURE_RATE, "{\"op\":\"explode\"}\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown op `explode`"), "{err}");
    let (code, _, err) = policy(FAILURE_RATE, "not json\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("line 1"), "{err}");
    let (code, _, err) = policy(&["--set", "restart-strategy.type=sometimes"], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("sometimes"), "{err}");
    let (code, _, _) = policy(&["--set", "heartbeat.timeout=5s"], "");
    assert_eq!(code, Some(2));
}

/// Times never wrap: a failure time or a clock advance beyond 365 days (the
/// limit of any time in halab) is refused, and a misspelled key is refused
/// as scenario files refuse it.
#[test]
fn times_that_would_wrap_and_misspelled_keys_exit_2() {
    let (code, _, err) = policy(&["--failures", "0s,999999999999999h"], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("limit of 365d"), "{err}");
    let max = i64::MAX;
    let script = format!("{{\"op\":\"advance\",\"ms\":{max}}}\n{{\"op\":\"advance\",\"ms\":{max}}}\n");
    let (code, lines, err) = policy(FAILURE_RATE, &script);
    assert_eq!(code, Some(2), "{lines:?}");
    assert!(lines.is_empty(), "the clock never wraps to a negative time: {lines:?}");
    assert!(err.contains("stdin line 1") && err.contains("past"), "{err}");
    let at_limit = "{\"op\":\"advance\",\"ms\":31536000000}\n{\"op\":\"can_restart\"}\n";
    let (code, lines, err) = policy(FAILURE_RATE, at_limit);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines[1]["now_ms"], 31_536_000_000_i64, "365 days is allowed");
    let (code, _, err) = policy(&["--set", "restart-strategy.fixed-delay.atempts=3"], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown configuration key"), "{err}");
}
