//! The one 64-bit hash every partitioner here uses (except key groups, which
//! keep Flink's Murmur-based scheme).
//!
//! [`splitmix64`] is the output function of Steele, Lea and Flood's SplitMix64
//! generator (state `x + golden gamma`, then Stafford's "Mix13" finaliser). It
//! is a bijection on `u64` with full avalanche, uses only wrapping integer
//! arithmetic, and so gives the same answer on every platform and every run:
//! no per-process random seed as in `std`'s `RandomState`.
//!
//! [`hash2`] combines two words (a key and an owner, or an owner and a
//! virtual-node index). The second word is hashed with a different salt first,
//! so `hash2(a, a)` does not collapse and the two arguments do not commute.

/// Golden-ratio increment of SplitMix64 (`2^64 / phi`, odd).
pub const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Salt applied to the second word of [`hash2`].
const SECOND_WORD_SALT: u64 = 0x5851_f42d_4c95_7f2d;

/// SplitMix64's output for state `x`: `mix13(x + GOLDEN_GAMMA)`.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of the pair `(a, b)`; for fixed `b` it is a bijection in `a`.
#[inline]
pub fn hash2(a: u64, b: u64) -> u64 {
    splitmix64(splitmix64(a) ^ splitmix64(b ^ SECOND_WORD_SALT))
}

/// Map a uniform 64-bit hash onto `0..n` without the bias of `%` for large
/// `n` (Lemire's multiply-shift). `n` must be non-zero (asserted: the
/// result is in `0..n`).
#[inline]
pub fn reduce(hash: u64, n: u64) -> u64 {
    let reduced = ((u128::from(hash) * u128::from(n)) >> 64) as u64;
    assert!(
        reduced < n,
        "invariant: hash {hash:#x} reduced to {reduced}, outside 0..{n}"
    );
    reduced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_sequence() {
        // The first outputs of SplitMix64 seeded with 0: the state advances by
        // the golden gamma, so output i is splitmix64(i * gamma).
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(splitmix64(GOLDEN_GAMMA.wrapping_mul(2)), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn hash2_separates_arguments() {
        assert_ne!(hash2(1, 2), hash2(2, 1));
        assert_ne!(hash2(0, 0), hash2(1, 1));
        let distinct: std::collections::BTreeSet<u64> = (0..1000).map(|a| hash2(a, 7)).collect();
        assert_eq!(distinct.len(), 1000);
    }

    #[test]
    fn reduce_stays_in_range_and_spreads() {
        for n in [1u64, 2, 3, 10, 65_537, u64::MAX] {
            for x in [0, 1, u64::MAX / 2, u64::MAX] {
                assert!(reduce(x, n) < n);
            }
        }
        assert_eq!(reduce(0, 10), 0);
        assert_eq!(reduce(u64::MAX, 10), 9);
        assert_eq!(reduce(1 << 63, 10), 5);
    }
}
