//! `halab partition`: one JSON row per partitioner, moved fractions where
//! each scheme puts them, and exit code 2 on bad flags.

use std::process::{Command, Output};

use serde_json::Value;

fn halab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .arg("partition")
        .args(args)
        .output()
        .expect("halab runs")
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let o = halab(&all);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON object on stdout");
    serde_json::from_str(text.trim()).expect("valid JSON")
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().expect("rows")
}

fn row<'a>(v: &'a Value, name: &str) -> &'a Value {
    rows(v)
        .iter()
        .find(|r| r["partitioner"] == name)
        .unwrap_or_else(|| panic!("no row for {name}"))
}

fn f(r: &Value, field: &str) -> f64 {
    r[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is a number in {r}"))
}

/// Fraction of Flink's key groups whose operator changes from `p` to `p + 1`
/// (`kg * p / maxP`, the formula of `computeOperatorIndexForKeyGroup`).
fn key_groups_moved(max_p: i64, p: i64) -> f64 {
    let moved = (0..max_p).filter(|kg| kg * p / max_p != kg * (p + 1) / max_p).count();
    moved as f64 / max_p as f64
}

#[test]
fn ten_to_eleven_owners() {
    let v = json(&["--keys", "100000", "--from", "10", "--to", "11"]);
    assert_eq!(
        (v["keys"].as_u64(), v["from"].as_u64(), v["to"].as_u64()),
        (Some(100_000), Some(10), Some(11))
    );
    let names: Vec<&str> = rows(&v)
        .iter()
        .map(|r| r["partitioner"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["key-groups", "ring", "rendezvous", "jump", "maglev", "bounded-loads"],
        "one row per partitioner"
    );
    let optimum = 1.0 / 11.0;
    assert!((f(&v, "optimum") - optimum).abs() < 1e-12);
    for r in rows(&v) {
        assert!((f(r, "optimum") - optimum).abs() < 1e-12, "{r}");
        assert!(f(r, "lookup_ns_per_key") > 0.0, "{r}");
        assert!(f(r, "max_over_mean") >= 1.0, "{r}");
        assert_eq!(f(r, "mean_load"), 100_000.0 / 11.0);
        let moved = r["moved"].as_u64().expect("moved") as f64;
        assert!((moved / 100_000.0 - f(r, "moved_fraction")).abs() < 1e-12, "{r}");
    }
    // The consistent-hash family moves about 1/11 of the keys, only to the new owner.
    for name in ["ring", "rendezvous", "jump", "bounded-loads"] {
        let r = row(&v, name);
        let moved = f(r, "moved_fraction");
        assert!((moved - optimum).abs() < 0.03, "{name} moved {moved}");
    }
    for name in ["ring", "rendezvous", "jump"] {
        assert_eq!(row(&v, name)["only_necessary_moves"], true, "{name}");
    }
    // Maglev: small disruption beyond the optimum.
    let maglev = f(row(&v, "maglev"), "moved_fraction");
    assert!(
        maglev >= optimum * 0.8 && maglev <= optimum * 1.5,
        "maglev moved {maglev}"
    );
    // Bounded loads never exceeds its capacity ceil(1.25 * 100000 / 11) = 11364.
    assert!(row(&v, "bounded-loads")["max_load"].as_u64().expect("max") <= 11_364);
    // Key groups: 128 key groups by default for parallelism 10, range
    // partitioning moves about half of them, and keys follow their groups.
    let kg = row(&v, "key-groups");
    assert_eq!(kg["params"], "max-parallelism=128");
    let expected = key_groups_moved(128, 10);
    assert!((expected - 63.0 / 128.0).abs() < 1e-12);
    let moved = f(kg, "moved_fraction");
    assert!(
        (moved - expected).abs() < 0.03,
        "key groups moved {moved}, Flink's ranges give {expected}"
    );
    assert_eq!(kg["only_necessary_moves"], false);
}

#[test]
fn selection_parameters_and_sampled_keys() {
    let v = json(&[
        "--keys",
        "20000",
        "--from",
        "4",
        "--to",
        "3",
        "--partitioner",
        "jump,maglev",
        "--partitioner",
        "key-groups",
        "--partitioner",
        "jump",
        "--max-parallelism",
        "256",
        "--table-size",
        "251",
        "--seed",
        "7",
    ]);
    let names: Vec<&str> = rows(&v)
        .iter()
        .map(|r| r["partitioner"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["jump", "maglev", "key-groups"]);
    assert_eq!(row(&v, "maglev")["params"], "table-size=251");
    assert_eq!(row(&v, "key-groups")["params"], "max-parallelism=256");
    assert_eq!(f(&v, "optimum"), 0.25);
    // Shrinking by one: jump moves only the removed owner's keys.
    assert_eq!(row(&v, "jump")["only_necessary_moves"], true);
    assert!((f(row(&v, "jump"), "moved_fraction") - 0.25).abs() < 0.03);
    assert!(v["key_set"].as_str().expect("key set").contains("seed 7"));
}

#[test]
fn table_output() {
    let o = halab(&["--keys", "5000", "--from", "2", "--to", "3", "--partitioner", "ring"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("optimum moved fraction 0.3333"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("ring ") && l.contains("vnodes=160")),
        "{text}"
    );
}

#[test]
fn bad_flags_exit_2() {
    for (args, message) in [
        (&["--keys", "0", "--from", "1", "--to", "2"][..], "--keys"),
        (&["--keys", "10", "--from", "0", "--to", "2"][..], "--from"),
        (&["--keys", "10", "--from", "1", "--to", "0"][..], "--to"),
        (
            &["--keys", "10", "--from", "1", "--to", "2", "--partitioner", "nope"][..],
            "unknown partitioner `nope`",
        ),
        (
            &["--keys", "10", "--from", "1", "--to", "2", "--epsilon", "0"][..],
            "epsilon",
        ),
        (
            &["--keys", "10", "--from", "1", "--to", "2", "--epsilon", "-1"][..],
            "epsilon",
        ),
        (
            &["--keys", "10", "--from", "1", "--to", "2", "--vnodes", "0"][..],
            "vnodes",
        ),
        (
            &["--keys", "10", "--from", "1", "--to", "2", "--table-size", "65536"][..],
            "prime",
        ),
        (
            &["--keys", "10", "--from", "10", "--to", "200"][..],
            "--max-parallelism",
        ),
        (
            &["--keys", "10", "--from", "1", "--to", "2", "--format", "xml"][..],
            "xml",
        ),
        (&["--keys", "10", "--from", "1"][..], "--to"),
    ] {
        let o = halab(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
