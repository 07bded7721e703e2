//! The library API (`halab_scenarios::testing`, docs/library.md, whose
//! example runs as a doctest): seeds from the environment, and a failing
//! sweep that panics with every failure's repro lines.

use std::time::{Duration, Instant};

use halab_scenarios::parse_scenario;
use halab_scenarios::testing::{check_seeds, repro_lines, run_seeds, seeds, SEEDS_VAR, SEED_VAR};

#[test]
fn seeds_come_from_the_environment_and_failures_name_their_repro() {
    // One test function: the environment is the process's.
    std::env::remove_var(SEED_VAR);
    std::env::remove_var(SEEDS_VAR);
    let listed = || seeds(1..=3).map(Iterator::collect::<Vec<u64>>);
    assert_eq!(listed(), Ok(vec![1, 2, 3]));
    std::env::set_var(SEEDS_VAR, "5..7");
    assert_eq!(listed(), Ok(vec![5, 6, 7]));
    std::env::set_var(SEED_VAR, "42");
    assert_eq!(listed(), Ok(vec![42]), "one seed wins over a range");
    std::env::set_var(SEED_VAR, "x");
    assert!(seeds(1..=3).expect_err("refused").contains(SEED_VAR));
    std::env::remove_var(SEED_VAR);
    std::env::set_var(SEEDS_VAR, "9..2");
    assert!(seeds(1..=3).expect_err("refused").contains(SEEDS_VAR));

    // The whole u64 range: produced lazily, so it comes back at once and
    // gives its first seeds (collected, it would need 2^64 slots).
    std::env::set_var(SEEDS_VAR, "1..18446744073709551615");
    let start = Instant::now();
    let mut all = seeds(1..=3).expect("a range");
    assert_eq!(all.by_ref().take(3).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all.next_back(), Some(u64::MAX), "the range runs to the end");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    std::env::remove_var(SEEDS_VAR);

    // run_seeds takes the seeds one at a time: an endless iterator, cut
    // short, runs only the seeds taken.
    let steady = halab_scenarios::catalogue::load("steady")
        .expect("built-in")
        .expect("valid");
    let records = run_seeds(&steady, (7..).step_by(3).take(2), 2);
    assert_eq!(records.iter().map(|r| r.seed).collect::<Vec<_>>(), [7, 10]);

    // A sabotaged engine: both seeds fail, and the panic says how to
    // reproduce each.
    let text = std::fs::read_to_string("tests/fixtures/shrink-me.toml").expect("fixture");
    let broken = parse_scenario(&text, "shrink-me.toml").expect("valid");
    let panic = std::panic::catch_unwind(|| check_seeds(&broken, 1..=2)).expect_err("the sweep fails");
    let message = panic.downcast_ref::<String>().cloned().expect("a formatted message");
    assert!(message.starts_with("2 of 2 seeds of shrink-me failed"), "{message}");
    assert!(message.contains("reproduce: HALAB_TEST_SEED=1 cargo test"), "{message}");
    assert!(message.contains("reproduce: HALAB_TEST_SEED=2 cargo test"), "{message}");

    let builtin = halab_scenarios::catalogue::load("tm-crash")
        .expect("built-in")
        .expect("valid");
    assert_eq!(
        repro_lines(&builtin, 3)[1],
        "cargo run --release -- run tm-crash --seed 3"
    );
    assert_eq!(
        repro_lines(&broken, 3).len(),
        1,
        "no halab line for a file it cannot name"
    );
}
