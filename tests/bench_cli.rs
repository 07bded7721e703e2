//! `halab bench`: one table of the headline figures against their targets,
//! or one JSON object with the same figures and the measurements behind
//! them. Run here with one repetition and a short sweep; the figures' values
//! depend on the machine, so only their presence and sanity are checked.

use std::process::{Command, Output};

fn halab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .output()
        .expect("halab runs")
}

/// Every figure, in table order, with its target (`-` for none).
const FIGURES: [(&str, &str); 17] = [
    ("pipeline_steady", ">= 5M"),
    ("checker_ms_steady", "-"),
    ("pipeline_without_checker_steady", "-"),
    ("fold_steady", "-"),
    ("pipeline_over_fold_steady", "within 5x"),
    ("check_over_fold_steady", "-"),
    ("pipeline_saturated", ">= 5M"),
    ("checker_ms_saturated", "-"),
    ("pipeline_without_checker_saturated", "-"),
    ("fold_saturated", "-"),
    ("pipeline_over_fold_saturated", "within 5x"),
    ("check_over_fold_saturated", "-"),
    ("chaos_sim_over_wall", ">= 1000x"),
    ("large_state_wall_ms", "<= 2000 ms"),
    ("chaos_seeds_per_s", ">= 50 on 2 cores"),
    ("peak_rss_mib", "-"),
    ("rss_growth", "flat (< 10% growth)"),
];

#[test]
fn json_has_every_figure_with_its_target_and_the_measurements() {
    let o = halab(&["bench", "--reps", "1", "--sweep-seeds", "30", "--format", "json"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object");
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("valid JSON");
    let figures = v["figures"].as_array().expect("figures");
    let keys: Vec<&str> = figures.iter().map(|f| f["key"].as_str().expect("key")).collect();
    assert_eq!(keys, FIGURES.map(|(k, _)| k));
    for (f, (key, target)) in figures.iter().zip(FIGURES) {
        assert_eq!(f["target"], target, "{key}");
        // A figure with a target says whether it is met; one without, not.
        assert_eq!(f["met"].is_boolean(), target != "-", "{key}: {f}");
        let value = f["value"].as_f64().unwrap_or_else(|| panic!("{key} has a value: {f}"));
        assert!(value.is_finite(), "{key}: {value}");
        if key != "rss_growth" {
            assert!(value > 0.0, "{key}: {value}");
        }
    }
    let value = |key: &str| {
        figures.iter().find(|f| f["key"] == key).expect(key)["value"]
            .as_f64()
            .expect("value")
    };
    // The ratios are the rates they are made of.
    let ratio = value("pipeline_steady") / value("fold_steady");
    assert!((value("pipeline_over_fold_steady") / ratio - 1.0).abs() < 1e-9);
    assert!(value("pipeline_without_checker_saturated") > value("pipeline_saturated"));
    // The measurements behind the figures.
    let d = &v["details"];
    assert_eq!(d["pipeline_steady"]["repetitions"], 1);
    assert_eq!(
        d["pipeline_saturated"]["repetitions"], 3,
        "at least three saturated runs"
    );
    assert_eq!(d["sweep"]["seeds"], 30);
    assert_eq!(d["sweep"]["not_passed"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(0));
}

#[test]
fn text_prints_one_table_line_per_figure() {
    let o = halab(&["bench", "--reps", "1", "--sweep-seeds", "20", "--jobs", "1"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("halab bench ("), "{text}");
    assert!(
        lines[1].starts_with("figure") && lines[1].trim_end().ends_with("met"),
        "{text}"
    );
    assert_eq!(lines.len(), 2 + FIGURES.len(), "{text}");
    for label in [
        "pipeline steady (records/wall-s)",
        "pipeline steady-saturated (records/wall-s)",
        "pipeline / fold",
        "exactly-once check alone / fold",
        "chaos simulated/wall time (seeds 1..20)",
        "chaos seeds/s on 1 threads",
        "memory over 20 chaos seeds",
    ] {
        assert!(text.contains(label), "{label} in\n{text}");
    }
    // Every line with a target ends in its verdict.
    for line in &lines[2..] {
        let last = line.split_whitespace().last().expect("not empty");
        assert!(["yes", "NO", "-"].contains(&last), "{line}");
    }
}
