//! Proof that the checkers bite: deliberately broken engine variants
//! (selected only from tests) are reported as violations, while the correct
//! engine passes the very same seeds.

use halab_engine::config::Sabotage;
use halab_scenarios::catalogue;
use halab_sim::{run_seed, Scenario, Verdict};

/// The fixed seed list. A crash must land in a short window for some bugs to
/// show (e.g. between an early commit and the checkpoint's completion), so the
/// list is long; scans stop at the first violation.
const SEEDS: std::ops::RangeInclusive<u64> = 1..=64;

fn broken(sabotage: Sabotage) -> Scenario {
    let mut s = catalogue::load("tm-crash").expect("built-in").expect("valid");
    s.sabotage = sabotage;
    s
}

/// The first seed of the list whose run is a violation.
fn first_violation(s: &Scenario) -> Option<u64> {
    SEEDS
        .into_iter()
        .find(|&seed| run_seed(s, seed).expect("valid").verdict == Verdict::Violation)
}

#[test]
fn correct_engine_passes_the_same_seeds() {
    assert_eq!(first_violation(&broken(Sabotage::None)), None);
}

#[test]
fn sink_committing_at_pre_commit_is_caught() {
    let s = broken(Sabotage::SinkCommitsAtPreCommit);
    let seed = first_violation(&s).expect("early commits must produce duplicates for some seed");
    let r = run_seed(&s, seed).expect("valid");
    assert!(r.duplicated > 0, "{r:?}");
}

#[test]
fn source_not_restoring_offsets_is_caught() {
    let s = broken(Sabotage::SourceIgnoresRestoredOffsets);
    let seed = first_violation(&s).expect("caught for some seed");
    let r = run_seed(&s, seed).expect("valid");
    assert!(r.duplicated > 0, "{r:?}");
}

#[test]
fn count_not_restoring_state_is_caught() {
    let s = broken(Sabotage::CountIgnoresRestoredState);
    let seed = first_violation(&s).expect("caught for some seed");
    let r = run_seed(&s, seed).expect("valid");
    assert!(r.miscounted > 0, "{r:?}");
}
