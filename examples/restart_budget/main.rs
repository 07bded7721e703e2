//! A plug-in restart strategy run beside Flink's through the standard
//! restart storm (`storm-fixed-delay`'s six TaskManager crashes, 3 s apart),
//! on the same seeds and fault plans:
//!
//! ```sh
//! cargo run --release --example restart_budget
//! ```
//!
//! It registers the strategy, sets `restart-strategy.type` by name as a
//! scenario file would, and compares with the library API
//! (docs/library.md); the conformance checker replays the plug-in as it
//! replays Flink's strategies. Given arguments, it is `halab` with the
//! plug-in registered:
//!
//! ```sh
//! cargo run --release --example restart_budget -- compare tm-crash \
//!     --vary restart-strategy.type=fixed-delay,restart-budget --seeds 1..100
//! ```

mod strategy;

use halab_scenarios::catalogue;
use halab_scenarios::overrides::set_key;
use halab_scenarios::testing::run_seeds;

fn main() {
    strategy::register().expect("registered once");
    if std::env::args_os().len() > 1 {
        std::process::exit(halab::cli::main_with(std::env::args_os()));
    }
    let storm = catalogue::load("storm-fixed-delay").expect("built-in").expect("valid");
    println!(
        "{:<20} {:>10} {:>9} {:>8} {:>10}",
        "restart strategy", "violations", "restarts", "gave up", "committed"
    );
    for kind in ["fixed-delay", "failure-rate", "exponential-delay", strategy::NAME] {
        let mut s = set_key(&storm, "restart-strategy.type", kind).expect("valid");
        if kind == strategy::NAME {
            s = set_key(&s, "restart-budget.tokens", "3").expect("valid");
            s = set_key(&s, "restart-budget.refill", "5s").expect("valid");
        }
        let records = run_seeds(&s, 1..=20, 2);
        // Violations: output, restart-policy conformance, split brain. Whether
        // the job survives the storm is what the strategies differ in, so it
        // is counted (gave up), not judged.
        let violations = records
            .iter()
            .filter(|r| r.verdict == halab_sim::Verdict::Violation)
            .count();
        let gave_up = records.iter().filter(|r| r.final_job_status == "FAILED").count();
        let restarts: u32 = records.iter().map(|r| r.restarts).sum();
        let committed: u64 = records.iter().map(|r| r.records_committed).sum();
        println!(
            "{kind:<20} {violations:>7}/{:<2} {:>9.1} {gave_up:>8} {:>10}",
            records.len(),
            f64::from(restarts) / records.len() as f64,
            committed / records.len() as u64
        );
    }
}
