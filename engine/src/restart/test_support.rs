//! Helpers shared by the tests of the restart strategies and the loader: a
//! fixed-seed RNG and the proptest generator of `(time step, failure?)`
//! operations.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The fixed-seed RNG every deterministic test uses.
pub(super) fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5eed)
}

/// Random operations for the property tests: advance the clock by `dt`,
/// then notify a failure if the flag is set.
pub(super) fn ops() -> impl Strategy<Value = Vec<(i64, bool)>> {
    prop::collection::vec((0_i64..120, any::<bool>()), 1..80)
}
