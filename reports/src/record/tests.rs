//! Reading and writing run records: every field, fault entries, and the
//! JSON text kept as it was read.

use super::*;

#[test]
fn parses_lines_and_names_the_bad_one() {
    let good = r#"{"scenario":"steady","seed":1,"verdict":"pass","trace_hash":"ab","restarts":0,"extra":1}"#;
    let recs = parse_records(&format!("{good}\n\n{good}\n")).expect("valid");
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].scenario, "steady");
    assert!(recs[0].buckets.is_empty());
    assert_eq!(recs[0].scenario_fingerprint, "", "schema 1: no fingerprint");
    let numbered = parse_numbered_records(&format!("{good}\n\n{good}\n")).expect("valid");
    assert_eq!(numbered.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 3]);
    let err = parse_records(&format!("{good}\nnot json\n")).expect_err("bad line");
    assert_eq!(err.line, 2);
}

#[test]
fn a_record_read_from_several_lines_is_written_on_one() {
    let pretty = "{\n  \"scenario\": \"a \\\"b\\\" c\",\n\t\"seed\": 1, \"verdict\": \"pass\",\r\n  \"message\": \"x\\\\\",\n  \"new\": [ 1, \" \" ]\n}";
    let r: RunRecord = serde_json::from_str(pretty).expect("a record");
    assert_eq!(r.json(), Some(pretty));
    assert_eq!(r.message.as_deref(), Some("x\\"));
    let line = to_jsonl(&[r]).expect("JSON Lines");
    assert_eq!(
        line,
        r#"{"scenario":"a \"b\" c","seed":1,"verdict":"pass","message":"x\\","new":[1," "]}"#.to_string() + "\n"
    );
}

#[test]
fn fault_entries_keep_verb_target_and_time() {
    let plan: Vec<FaultEntry> = serde_json::from_str(
        r#"[{"at":"6966ms","kill":"tm-2"},{"at":"2s","slow":"sink-store","factor":40},
            {"at":"3s","partition":[["jm"],["tm-0","tm-1"]]},{"at":"4s","clog":["tm-0","tm-1"]},
            {"at":"5s","network":{"loss":0.1,"latency":["1ms","20ms"]}},{"at":"6s","restore-network":true}]"#,
    )
    .expect("valid plan");
    assert_eq!(plan[0].at_ms, 6966);
    assert_eq!(plan[0].to_string(), "kill tm-2");
    assert_eq!(plan[1].to_string(), "slow sink-store x40");
    assert_eq!(plan[2].to_string(), "partition [jm] | [tm-0,tm-1]");
    assert_eq!(plan[3].to_string(), "clog tm-0 <-> tm-1");
    assert_eq!(plan[4].to_string(), "network loss 0.1 latency 1ms..20ms");
    assert_eq!(plan[5].to_string(), "restore-network");
    assert!(plan[4].is_healed_by(&plan[5]));
    let back: Vec<FaultEntry> =
        serde_json::from_str(&serde_json::to_string(&plan).expect("serialises")).expect("round trip");
    assert_eq!(back, plan);
}

#[test]
fn episode_phases_and_give_up() {
    let mut r = RunRecord::empty("storm", 1);
    r.final_job_status = "FAILED".into();
    r.simulated_ms = 11_001;
    r.job_metrics.restarting_time_total = 3000;
    r.fault_plan = vec![FaultEntry::new(2000, "kill", "tm-0".into())];
    r.recovery = vec![
        RecoveryEpisode {
            fault: "kill tm-0".into(),
            fault_ms: 2000,
            detected_ms: Some(2100),
            restarted_ms: Some(3000),
            first_commit_ms: Some(3754),
            ..Default::default()
        },
        RecoveryEpisode {
            fault: "kill tm-1".into(),
            fault_ms: 11_000,
            detected_ms: Some(11_000),
            ..Default::default()
        },
    ];
    let e = &r.recovery[0];
    assert_eq!(e.kind(), "kill");
    assert_eq!(
        (e.detection_ms(), e.restart_delay_ms(), e.recovery_ms()),
        (Some(100), Some(900), Some(1754))
    );
    assert_eq!(e.cancellation_ms(), Some(0), "nothing was cancelled");
    // The restart waited for a cancellation that ended at 2600, or at
    // 3000 (as it deployed): the rest of the 900 ms is restart delay.
    for (cancelled, phases) in [(2600, (500, 400)), (3000, (900, 0)), (2050, (0, 900))] {
        let c = RecoveryEpisode {
            cancelled_ms: Some(cancelled),
            ..e.clone()
        };
        assert_eq!(
            (c.cancellation_ms(), c.restart_delay_ms()),
            (Some(phases.0), Some(phases.1))
        );
    }
    // No restore and no catch-up recorded: nothing to download, and the
    // catch-up is unknown.
    assert_eq!((e.download_ms(), e.catch_up_ms()), (Some(0), None));
    let phased = RecoveryEpisode {
        restored_ms: Some(3400),
        caught_up_ms: Some(4100),
        ..e.clone()
    };
    assert_eq!((phased.download_ms(), phased.catch_up_ms()), (Some(400), Some(700)));
    let unrestored = RecoveryEpisode {
        caught_up_ms: Some(3500),
        ..e.clone()
    };
    assert_eq!(unrestored.catch_up_ms(), Some(500), "caught up from the redeploy");
    assert_eq!(r.recovery[1].download_ms(), None, "never redeployed");
    assert_eq!(r.give_up_ms(), Some(11_000));
    assert_eq!(r.time_to_give_up_ms(), Some(9000));
    assert_eq!(r.total_downtime_ms(), 3000 + 1);
    // Faults that strike the FAILED job later leave episodes without a
    // redeploy too; the job gave up at the first of them.
    r.simulated_ms = 17_501;
    r.recovery.push(RecoveryEpisode {
        fault: "kill tm-2".into(),
        fault_ms: 17_000,
        detected_ms: Some(17_000),
        ..Default::default()
    });
    assert_eq!(r.give_up_ms(), Some(11_000));
    assert_eq!(r.time_to_give_up_ms(), Some(9000));
    assert_eq!(r.total_downtime_ms(), 3000 + 6501);
    // A failure during the backoff of the last restart, which the
    // strategy then gave up at: the job gave up at the second failure.
    r.restart_events = vec![RestartEvent {
        t_ms: 11_000,
        delay_ms: 3000,
        num_restarts: 2,
    }];
    assert_eq!(
        r.give_up_ms(),
        Some(17_000),
        "not the failure whose restart was scheduled"
    );
    r.final_job_status = "RUNNING".into();
    assert_eq!(r.time_to_give_up_ms(), None);
    assert_eq!(r.total_downtime_ms(), 3000);
}

#[test]
fn repro_line_matches_the_simulators_form() {
    let r = RunRecord::empty("tm-crash", 7);
    assert_eq!(
        r.repro_line("tm-crash"),
        "cargo run --release -- repro tm-crash --seed 7 --trace"
    );
    assert_eq!(
        r.repro_line("my dir/it's.toml"),
        "cargo run --release -- repro 'my dir/it'\\''s.toml' --seed 7 --trace"
    );
    assert_eq!(
        repro_line_needing_file("x", 7),
        "cargo run --release -- repro <file of scenario `x`> --seed 7 --trace"
    );
}
