//! Key groups: Flink's `KeyGroupRangeAssignment`, `KeyGroupRange` and the
//! parts of `MathUtils` they need, with Java `int` arithmetic.
//!
//! All arithmetic mirrors Java: 32-bit two's complement with wrapping
//! multiplication and addition, and `>>>` as a logical shift (done on `u32`).
//!
//! * A key's hash (Java `hashCode`) is scrambled with [`murmur_hash`] and taken
//!   modulo the maximum parallelism to give its key group.
//! * Operator `i` of `p` owns the contiguous, inclusive key-group range
//!   [`compute_key_group_range_for_operator_index`]; key group `kg` belongs to
//!   operator `kg * p / maxP` ([`compute_operator_index_for_key_group`]).
//! * The default maximum parallelism is
//!   `min(max(roundUpToPowerOfTwo(p + p/2), 128), 32768)`.
//!
//! Where Flink would throw `IllegalArgumentException` (parallelism or maximum
//! parallelism outside `1..=32768`, `maxP < p`, key group or operator index
//! out of range, negative range start) these functions return a
//! [`KeyGroupError`]. Once the inputs are valid, the results are asserted:
//! a key group lies in `0..maxP`, an operator index in `0..p`, an operator's
//! range is non-empty, adjoins its neighbours' ranges and agrees with
//! [`compute_operator_index_for_key_group`] at both ends; those assertions
//! hold for every valid input, so they never fire on a caller's error.
//!
//! Overflow: with `0 < p <= maxP <= 32768`, `0 <= i < p` and `0 <= kg < maxP`,
//! the largest intermediate value is `(i + 1) * maxP <= 2^30` or
//! `kg * p < 2^30`, so the Java `int` expressions never actually wrap. The
//! code still uses wrapping operations to state the Java semantics.

use std::fmt;

/// Upper bound for parallelism and maximum parallelism (`Short.MAX_VALUE + 1`).
pub const UPPER_BOUND_MAX_PARALLELISM: i32 = 1 << 15;

/// Lower bound of the default maximum parallelism.
pub const DEFAULT_LOWER_BOUND_MAX_PARALLELISM: i32 = 1 << 7;

/// A violated precondition of a key-group computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyGroupError {
    /// Parallelism must be in `1..=32768`.
    #[error("operator parallelism must be greater than 0 and at most 32768, got {0}")]
    InvalidParallelism(i32),
    /// Maximum parallelism must be in `1..=32768`.
    #[error("maximum parallelism must be greater than 0 and at most 32768, got {0}")]
    InvalidMaxParallelism(i32),
    /// Maximum parallelism must not be smaller than parallelism.
    #[error(
        "maximum parallelism ({max_parallelism}) must not be smaller than \
         parallelism ({parallelism})"
    )]
    MaxParallelismBelowParallelism {
        /// The maximum parallelism given.
        max_parallelism: i32,
        /// The parallelism given.
        parallelism: i32,
    },
    /// Key group outside `0..maxP`.
    #[error("key group {key_group} is outside [0, {max_parallelism})")]
    KeyGroupOutOfRange {
        /// The key group given.
        key_group: i32,
        /// The maximum parallelism (number of key groups).
        max_parallelism: i32,
    },
    /// Operator index outside `0..p`.
    #[error("operator index {operator_index} is outside [0, {parallelism})")]
    OperatorIndexOutOfRange {
        /// The operator index given.
        operator_index: i32,
        /// The parallelism given.
        parallelism: i32,
    },
    /// A non-empty key-group range must start at a non-negative key group.
    #[error("key group range [{start}, {end}] starts below 0")]
    NegativeRangeStart {
        /// Requested start.
        start: i32,
        /// Requested end.
        end: i32,
    },
}

/// Flink `MathUtils.murmurHash(int)`: one Murmur3_32 block with seed 0,
/// finalised for a length of 4 bytes, then made non-negative
/// (`Integer.MIN_VALUE` maps to 0).
pub fn murmur_hash(code: i32) -> i32 {
    let mut h = code.wrapping_mul(0xcc9e_2d51_u32 as i32);
    h = h.rotate_left(15);
    h = h.wrapping_mul(0x1b87_3593_u32 as i32);
    h = h.rotate_left(13);
    h = h.wrapping_mul(5).wrapping_add(0xe654_6b64_u32 as i32);
    h ^= 4;
    h = bit_mix(h);
    if h >= 0 {
        h
    } else if h != i32::MIN {
        -h
    } else {
        0
    }
}

/// Murmur3 finaliser (`MathUtils.bitMix`), with logical shifts.
fn bit_mix(mut h: i32) -> i32 {
    h ^= ushr(h, 16);
    h = h.wrapping_mul(0x85eb_ca6b_u32 as i32);
    h ^= ushr(h, 13);
    h = h.wrapping_mul(0xc2b2_ae35_u32 as i32);
    h ^= ushr(h, 16);
    h
}

/// Java `x >>> n` for `int`.
fn ushr(x: i32, n: u32) -> i32 {
    ((x as u32) >> n) as i32
}

/// Flink `MathUtils.roundUpToPowerOfTwo(int)`: the smallest power of two that
/// is `>= x`, computed with Java `int` bit tricks. Gives 0 for 0, and wraps to
/// `Integer.MIN_VALUE` for `x > 2^30`, as Java does.
pub fn round_up_to_power_of_two(x: i32) -> i32 {
    let mut x = x.wrapping_sub(1);
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    x.wrapping_add(1)
}

/// Java `Long.hashCode(v)`: `(int) (v ^ (v >>> 32))`.
pub fn long_hash_code(v: i64) -> i32 {
    let u = v as u64;
    (u ^ (u >> 32)) as u32 as i32
}

/// Java `String.hashCode()`: `h = 31 * h + c` over the UTF-16 code units.
pub fn string_hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0_i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

fn check_parallelism(parallelism: i32) -> Result<(), KeyGroupError> {
    if parallelism > 0 && parallelism <= UPPER_BOUND_MAX_PARALLELISM {
        Ok(())
    } else {
        Err(KeyGroupError::InvalidParallelism(parallelism))
    }
}

fn check_max_parallelism(max_parallelism: i32) -> Result<(), KeyGroupError> {
    if max_parallelism > 0 && max_parallelism <= UPPER_BOUND_MAX_PARALLELISM {
        Ok(())
    } else {
        Err(KeyGroupError::InvalidMaxParallelism(max_parallelism))
    }
}

fn check_both(max_parallelism: i32, parallelism: i32) -> Result<(), KeyGroupError> {
    check_parallelism(parallelism)?;
    check_max_parallelism(max_parallelism)?;
    if max_parallelism < parallelism {
        return Err(KeyGroupError::MaxParallelismBelowParallelism {
            max_parallelism,
            parallelism,
        });
    }
    Ok(())
}

/// Flink `computeKeyGroupForKeyHash`: `murmurHash(keyHash) % maxParallelism`,
/// in `[0, maxParallelism)`.
pub fn compute_key_group_for_key_hash(key_hash: i32, max_parallelism: i32) -> Result<i32, KeyGroupError> {
    check_max_parallelism(max_parallelism)?;
    let scrambled = murmur_hash(key_hash);
    assert!(
        scrambled >= 0,
        "invariant: murmur hash {scrambled} of {key_hash} is non-negative"
    );
    let key_group = scrambled % max_parallelism;
    assert!(
        (0..max_parallelism).contains(&key_group),
        "invariant: key group {key_group} of key hash {key_hash} outside [0, {max_parallelism})"
    );
    Ok(key_group)
}

/// Flink `computeOperatorIndexForKeyGroup`: `keyGroup * parallelism /
/// maxParallelism`.
pub fn compute_operator_index_for_key_group(
    max_parallelism: i32,
    parallelism: i32,
    key_group: i32,
) -> Result<i32, KeyGroupError> {
    check_both(max_parallelism, parallelism)?;
    if key_group < 0 || key_group >= max_parallelism {
        return Err(KeyGroupError::KeyGroupOutOfRange {
            key_group,
            max_parallelism,
        });
    }
    let operator_index = key_group.wrapping_mul(parallelism) / max_parallelism;
    assert!(
        (0..parallelism).contains(&operator_index),
        "invariant: key group {key_group} of {max_parallelism} maps to operator {operator_index} of {parallelism}"
    );
    Ok(operator_index)
}

/// Flink `computeKeyGroupRangeForOperatorIndex`: the inclusive range
/// `[(i*maxP + p - 1) / p, ((i+1)*maxP - 1) / p]`.
pub fn compute_key_group_range_for_operator_index(
    max_parallelism: i32,
    parallelism: i32,
    operator_index: i32,
) -> Result<KeyGroupRange, KeyGroupError> {
    check_both(max_parallelism, parallelism)?;
    if operator_index < 0 || operator_index >= parallelism {
        return Err(KeyGroupError::OperatorIndexOutOfRange {
            operator_index,
            parallelism,
        });
    }
    let start = operator_index
        .wrapping_mul(max_parallelism)
        .wrapping_add(parallelism)
        .wrapping_sub(1)
        / parallelism;
    let end = operator_index
        .wrapping_add(1)
        .wrapping_mul(max_parallelism)
        .wrapping_sub(1)
        / parallelism;
    let range = KeyGroupRange::of(start, end)?;
    assert_range_agrees(max_parallelism, parallelism, operator_index, range);
    Ok(range)
}

/// The postconditions of [`compute_key_group_range_for_operator_index`] for
/// valid inputs: the range is non-empty and inside `0..maxP`, Flink's other
/// formula maps both its ends back to `operator_index`, and it adjoins the
/// ranges of operators `operator_index - 1` and `+ 1` (so the ranges of
/// `0..p` are contiguous, disjoint and cover `0..maxP`).
fn assert_range_agrees(max_parallelism: i32, parallelism: i32, operator_index: i32, range: KeyGroupRange) {
    let KeyGroupRange { start, end } = range;
    let owner = |key_group| compute_operator_index_for_key_group(max_parallelism, parallelism, key_group);
    assert!(
        0 <= start && start <= end && end < max_parallelism,
        "invariant: operator {operator_index} of {parallelism} gets {range} of {max_parallelism} key groups"
    );
    assert!(
        owner(start) == Ok(operator_index) && owner(end) == Ok(operator_index),
        "invariant: {range} of operator {operator_index} of {parallelism} disagrees with computeOperatorIndexForKeyGroup"
    );
    assert_eq!(
        start == 0,
        operator_index == 0,
        "invariant: only operator 0 starts at key group 0 ({range}, operator {operator_index})"
    );
    assert_eq!(
        end == max_parallelism - 1,
        operator_index == parallelism - 1,
        "invariant: only the last operator ends at key group {} ({range}, operator {operator_index} of {parallelism})",
        max_parallelism - 1
    );
    assert!(
        start == 0 || owner(start - 1) == Ok(operator_index - 1),
        "invariant: {range} of operator {operator_index} does not follow operator {}'s range",
        operator_index - 1
    );
    assert!(
        end == max_parallelism - 1 || owner(end + 1) == Ok(operator_index + 1),
        "invariant: operator {}'s range does not follow {range} of operator {operator_index}",
        operator_index + 1
    );
}

/// Flink `computeDefaultMaxParallelism`:
/// `min(max(roundUpToPowerOfTwo(p + p/2), 128), 32768)`.
pub fn compute_default_max_parallelism(parallelism: i32) -> Result<i32, KeyGroupError> {
    check_parallelism(parallelism)?;
    let rounded = round_up_to_power_of_two(parallelism.wrapping_add(parallelism / 2));
    let max_parallelism = rounded.clamp(DEFAULT_LOWER_BOUND_MAX_PARALLELISM, UPPER_BOUND_MAX_PARALLELISM);
    assert!(
        max_parallelism >= parallelism && (max_parallelism as u32).is_power_of_two(),
        "invariant: default max parallelism {max_parallelism} for parallelism {parallelism}"
    );
    Ok(max_parallelism)
}

/// Flink `assignKeyToParallelOperator`, taking the key's Java `hashCode`.
pub fn assign_key_to_parallel_operator(
    key_hash: i32,
    max_parallelism: i32,
    parallelism: i32,
) -> Result<i32, KeyGroupError> {
    check_both(max_parallelism, parallelism)?;
    let key_group = compute_key_group_for_key_hash(key_hash, max_parallelism)?;
    compute_operator_index_for_key_group(max_parallelism, parallelism, key_group)
}

/// An inclusive range of key groups, Flink's `KeyGroupRange`.
///
/// Invariant for values built by [`KeyGroupRange::of`]: either
/// `0 <= start <= end`, or the range is [`KeyGroupRange::EMPTY`] `(0, -1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyGroupRange {
    /// First key group (inclusive).
    pub start: i32,
    /// Last key group (inclusive).
    pub end: i32,
}

impl KeyGroupRange {
    /// The empty range `(0, -1)` (`EMPTY_KEY_GROUP_RANGE`).
    pub const EMPTY: KeyGroupRange = KeyGroupRange { start: 0, end: -1 };

    /// Flink `KeyGroupRange.of`: `EMPTY` when `start > end`; otherwise `start`
    /// must be non-negative.
    pub fn of(start: i32, end: i32) -> Result<KeyGroupRange, KeyGroupError> {
        if start > end {
            Ok(KeyGroupRange::EMPTY)
        } else if start < 0 {
            Err(KeyGroupError::NegativeRangeStart { start, end })
        } else {
            Ok(KeyGroupRange { start, end })
        }
    }

    /// `end - start + 1`, or 0 for an empty range.
    pub fn number_of_key_groups(&self) -> i32 {
        let n = i64::from(self.end) - i64::from(self.start) + 1;
        // Clamp so that hand-built ranges with odd fields cannot wrap.
        n.clamp(0, i64::from(i32::MAX)) as i32
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.start > self.end
    }

    /// `start <= key_group <= end`.
    pub fn contains(&self, key_group: i32) -> bool {
        self.start <= key_group && key_group <= self.end
    }

    /// `[max(starts), min(ends)]`, or [`KeyGroupRange::EMPTY`] when that is
    /// empty.
    pub fn intersection(&self, other: &KeyGroupRange) -> KeyGroupRange {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        if start <= end {
            KeyGroupRange { start, end }
        } else {
            KeyGroupRange::EMPTY
        }
    }

    /// The key groups of the range in ascending order.
    pub fn iter(&self) -> std::ops::RangeInclusive<i32> {
        self.start..=self.end
    }
}

impl IntoIterator for KeyGroupRange {
    type Item = i32;
    type IntoIter = std::ops::RangeInclusive<i32>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for &KeyGroupRange {
    type Item = i32;
    type IntoIter = std::ops::RangeInclusive<i32>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for KeyGroupRange {
    /// Same text as Flink's `KeyGroupRange.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyGroupRange{{startKeyGroup={}, endKeyGroup={}}}",
            self.start, self.end
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // --- MathUtils ---------------------------------------------------------

    #[test]
    fn murmur_hash_known_values() {
        assert_eq!(murmur_hash(0), 593_689_054);
        // Always non-negative.
        for code in [1, -1, 42, i32::MIN, i32::MAX, 0x7fff_0000, -123_456_789] {
            assert!(murmur_hash(code) >= 0, "{code}");
        }
    }

    /// Reference Murmur3_32 (x86, seed 0) over the 4 little-endian bytes of an
    /// int, written independently on u32, then Flink's absolute value.
    fn reference_murmur(code: i32) -> i32 {
        let c1: u32 = 0xcc9e_2d51;
        let c2: u32 = 0x1b87_3593;
        let mut k = u32::from_le_bytes(code.to_le_bytes());
        k = k.wrapping_mul(c1).rotate_left(15).wrapping_mul(c2);
        let mut h: u32 = 0;
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
        h ^= 4;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        let s = h as i32;
        if s == i32::MIN {
            0
        } else {
            s.abs()
        }
    }

    // Ported from Flink's MathUtilTest.testRoundUpToPowerOf2_*.
    #[test]
    fn round_up_to_power_of_two_flink_cases() {
        let cases = [
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 4),
            (4, 4),
            (5, 8),
            (6, 8),
            (7, 8),
            (8, 8),
            (9, 16),
            (15, 16),
            (16, 16),
            (17, 32),
            (31, 32),
            (32, 32),
            (33, 64),
            (42, 64),
            (63, 64),
            (64, 64),
            (125, 128),
            (25654, 32768),
            (34_366_363, 67_108_864),
            (67_108_863, 67_108_864),
            (67_108_864, 67_108_864),
            (0x3FFF_FFFE, 0x4000_0000),
            (0x3FFF_FFFF, 0x4000_0000),
            (0x4000_0000, 0x4000_0000),
        ];
        for (x, expected) in cases {
            assert_eq!(round_up_to_power_of_two(x), expected, "{x}");
        }
        // Java wraps past 2^30.
        assert_eq!(round_up_to_power_of_two(0x4000_0001), i32::MIN);
    }

    #[test]
    fn java_hash_codes() {
        assert_eq!(long_hash_code(0), 0);
        assert_eq!(long_hash_code(1), 1);
        assert_eq!(long_hash_code(-1), 0);
        assert_eq!(long_hash_code(i64::MAX), i32::MIN);
        assert_eq!(long_hash_code(i64::MIN), i32::MIN);
        assert_eq!(long_hash_code(1 << 32), 1);
        assert_eq!(
            long_hash_code(0x1234_5678_9abc_def0),
            0x1234_5678 ^ 0x9abc_def0_u32 as i32
        );
        assert_eq!(string_hash_code(""), 0);
        assert_eq!(string_hash_code("a"), 97);
        assert_eq!(string_hash_code("hello"), 99_162_322);
        assert_eq!(string_hash_code("Hello, World!"), 1_498_789_909);
        // Wraps like Java.
        assert_eq!(
            string_hash_code("polygenelubricants"),
            i32::MIN // the classic Java example
        );
        // Non-BMP character: two UTF-16 units (0xD83D, 0xDE00).
        assert_eq!(string_hash_code("😀"), 0xD83D * 31 + 0xDE00);
    }

    // --- KeyGroupRangeAssignment -------------------------------------------

    #[test]
    fn default_max_parallelism_boundaries() {
        for (p, expected) in [
            (1, 128),
            (2, 128),
            (85, 128),
            (86, 256),
            (171, 256),
            (172, 512),
            (21_844, 32_768),
            (21_845, 32_768),
            (32_767, 32_768),
            (32_768, 32_768),
        ] {
            assert_eq!(compute_default_max_parallelism(p), Ok(expected), "{p}");
        }
        assert_eq!(
            compute_default_max_parallelism(0),
            Err(KeyGroupError::InvalidParallelism(0))
        );
        assert_eq!(
            compute_default_max_parallelism(32_769),
            Err(KeyGroupError::InvalidParallelism(32_769))
        );
        assert!(compute_default_max_parallelism(-5).is_err());
        assert!(compute_default_max_parallelism(i32::MAX).is_err());
    }

    #[test]
    fn preconditions_are_errors() {
        assert_eq!(
            compute_key_group_range_for_operator_index(128, 0, 0),
            Err(KeyGroupError::InvalidParallelism(0))
        );
        assert_eq!(
            compute_key_group_range_for_operator_index(0, 1, 0),
            Err(KeyGroupError::InvalidMaxParallelism(0))
        );
        assert_eq!(
            compute_key_group_range_for_operator_index(32_769, 1, 0),
            Err(KeyGroupError::InvalidMaxParallelism(32_769))
        );
        assert_eq!(
            compute_key_group_range_for_operator_index(4, 8, 0),
            Err(KeyGroupError::MaxParallelismBelowParallelism {
                max_parallelism: 4,
                parallelism: 8
            })
        );
        assert_eq!(
            compute_key_group_range_for_operator_index(128, 4, 4),
            Err(KeyGroupError::OperatorIndexOutOfRange {
                operator_index: 4,
                parallelism: 4
            })
        );
        assert!(compute_key_group_range_for_operator_index(128, 4, -1).is_err());
        assert_eq!(
            compute_operator_index_for_key_group(128, 4, 128),
            Err(KeyGroupError::KeyGroupOutOfRange {
                key_group: 128,
                max_parallelism: 128
            })
        );
        assert!(compute_operator_index_for_key_group(128, 4, -1).is_err());
        assert!(compute_key_group_for_key_hash(1, 0).is_err());
        assert!(compute_key_group_for_key_hash(1, -7).is_err());
        assert!(assign_key_to_parallel_operator(1, 2, 4).is_err());
        let msg = compute_key_group_range_for_operator_index(4, 8, 0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains('4') && msg.contains('8'), "{msg}");
    }

    #[test]
    fn extreme_bounds_do_not_overflow() {
        let max = UPPER_BOUND_MAX_PARALLELISM;
        for p in [1, 2, 3, 7, 32_767, max] {
            let last = compute_key_group_range_for_operator_index(max, p, p - 1).unwrap();
            assert_eq!(last.end, max - 1, "p={p}");
            let first = compute_key_group_range_for_operator_index(max, p, 0).unwrap();
            assert_eq!(first.start, 0);
        }
        assert_eq!(compute_operator_index_for_key_group(max, max, max - 1), Ok(max - 1));
    }

    #[test]
    fn worked_examples() {
        // maxP 128, p 3: 128/3 -> ranges of 43, 43, 42.
        let r: Vec<_> = (0..3)
            .map(|i| compute_key_group_range_for_operator_index(128, 3, i).unwrap())
            .collect();
        assert_eq!(
            r,
            vec![
                KeyGroupRange { start: 0, end: 42 },
                KeyGroupRange { start: 43, end: 85 },
                KeyGroupRange { start: 86, end: 127 },
            ]
        );
        let kg = compute_key_group_for_key_hash(0, 128).unwrap();
        assert_eq!(kg, 593_689_054 % 128);
        assert_eq!(assign_key_to_parallel_operator(0, 128, 3), Ok(kg * 3 / 128));
        assert_eq!(
            compute_key_group_for_key_hash(string_hash_code("key"), 128),
            Ok(murmur_hash(106_079) % 128)
        );
    }

    // --- KeyGroupRange (ported from Flink's KeyGroupRangeTest) --------------

    #[test]
    fn key_group_intersection() {
        let of = |s, e| KeyGroupRange::of(s, e).unwrap();
        let r1 = of(0, 10);
        let r2 = of(3, 7);
        let i = r1.intersection(&r2);
        assert_eq!(i.start, 3);
        assert_eq!(i.end, 7);
        assert_eq!(i, r2.intersection(&r1));
        assert_eq!(r1, r1.intersection(&r1));

        let r1 = of(0, 5);
        let r2 = of(6, 10);
        let i = r1.intersection(&r2);
        assert_eq!(i, KeyGroupRange::EMPTY);
        assert_eq!(i, r2.intersection(&r1));

        let r1 = of(0, 10);
        let r2 = of(5, 20);
        let i = r1.intersection(&r2);
        assert_eq!((i.start, i.end), (5, 10));
        assert_eq!(i, r2.intersection(&r1));

        let r1 = of(3, 12);
        let r2 = of(0, 10);
        let i = r1.intersection(&r2);
        assert_eq!((i.start, i.end), (3, 10));
        assert_eq!(i, r2.intersection(&r1));
    }

    fn key_group_range_basics(start: i32, end: i32) -> Result<(), KeyGroupError> {
        let range = KeyGroupRange::of(start, end)?;
        let n = range.number_of_key_groups();
        assert_eq!(n, 0.max(end - start + 1));
        if n > 0 {
            assert_eq!(range.start, start);
            assert_eq!(range.end, end);
            let mut c = start;
            for kg in range.iter() {
                assert_eq!(c, kg);
                assert!(range.contains(kg));
                c += 1;
            }
            assert_eq!(end + 1, c);
            assert!(!range.contains(start - 1));
            assert!(!range.contains(end + 1));
        } else {
            assert_eq!(range, KeyGroupRange::EMPTY);
        }
        Ok(())
    }

    #[test]
    fn key_group_range_basics_flink_cases() {
        let short_max = i32::from(i16::MAX);
        for (s, e) in [
            (0, 0),
            (0, 1),
            (1, 2),
            (42, 42),
            (3, 7),
            (0, short_max),
            (short_max - 1, short_max),
        ] {
            key_group_range_basics(s, e).unwrap();
        }
        assert_eq!(
            key_group_range_basics(-3, 2),
            Err(KeyGroupError::NegativeRangeStart { start: -3, end: 2 })
        );
        // start > end is EMPTY, even with a negative start (as in Flink).
        key_group_range_basics(5, 4).unwrap();
        assert_eq!(KeyGroupRange::of(-3, -5), Ok(KeyGroupRange::EMPTY));
    }

    #[test]
    fn empty_range() {
        let e = KeyGroupRange::EMPTY;
        assert_eq!(e.number_of_key_groups(), 0);
        assert!(e.is_empty());
        assert_eq!(e.iter().count(), 0);
        assert!(!e.contains(0));
        assert!(!e.contains(-1));
        assert_eq!(e.intersection(&KeyGroupRange { start: 0, end: 5 }), e);
        assert_eq!((&e).into_iter().count(), 0);
        assert_eq!(
            KeyGroupRange { start: 2, end: 4 }.to_string(),
            "KeyGroupRange{startKeyGroup=2, endKeyGroup=4}"
        );
    }

    proptest! {
        #[test]
        fn murmur_matches_reference(code in any::<i32>()) {
            prop_assert_eq!(murmur_hash(code), reference_murmur(code));
        }

        #[test]
        fn long_hash_matches_reference(v in any::<i64>()) {
            let hi = (v >> 32) as i32;
            let lo = v as i32;
            prop_assert_eq!(long_hash_code(v), hi ^ lo);
        }

        #[test]
        fn ranges_partition_and_agree(
            (max_p, p) in (1..=UPPER_BOUND_MAX_PARALLELISM)
                .prop_flat_map(|max_p| (Just(max_p), 1..=max_p.min(512)))
        ) {
            let mut next = 0;
            for i in 0..p {
                let range = compute_key_group_range_for_operator_index(max_p, p, i).unwrap();
                prop_assert_eq!(range.start, next);
                prop_assert!(range.number_of_key_groups() >= 1);
                for kg in range.iter() {
                    prop_assert_eq!(
                        compute_operator_index_for_key_group(max_p, p, kg).unwrap(),
                        i
                    );
                }
                next = range.end + 1;
            }
            prop_assert_eq!(next, max_p);
        }

        #[test]
        fn ranges_agree_at_high_parallelism(
            (max_p, p) in (1024..=UPPER_BOUND_MAX_PARALLELISM)
                .prop_flat_map(|max_p| (Just(max_p), (max_p / 2)..=max_p)),
            i_frac in 0.0f64..1.0,
        ) {
            let i = ((f64::from(p) * i_frac) as i32).min(p - 1);
            let range = compute_key_group_range_for_operator_index(max_p, p, i).unwrap();
            for kg in range.iter() {
                prop_assert_eq!(compute_operator_index_for_key_group(max_p, p, kg).unwrap(), i);
            }
            if range.start > 0 {
                prop_assert_eq!(
                    compute_operator_index_for_key_group(max_p, p, range.start - 1).unwrap(),
                    i - 1
                );
            }
            if range.end < max_p - 1 {
                prop_assert_eq!(
                    compute_operator_index_for_key_group(max_p, p, range.end + 1).unwrap(),
                    i + 1
                );
            }
        }

        #[test]
        fn key_group_in_range(hash in any::<i32>(), max_p in 1..=UPPER_BOUND_MAX_PARALLELISM) {
            let kg = compute_key_group_for_key_hash(hash, max_p).unwrap();
            prop_assert!((0..max_p).contains(&kg));
        }

        #[test]
        fn default_max_parallelism_formula(p in 1..=UPPER_BOUND_MAX_PARALLELISM) {
            let expected = {
                let target = i64::from(p) + i64::from(p / 2);
                let mut pow = 1_i64;
                while pow < target { pow *= 2; }
                pow.clamp(128, 32_768) as i32
            };
            prop_assert_eq!(compute_default_max_parallelism(p).unwrap(), expected);
        }

        #[test]
        fn intersection_is_set_intersection(
            a in 0..64i32, b in -1..64i32, c in 0..64i32, d in -1..64i32
        ) {
            let r1 = KeyGroupRange::of(a, b).unwrap();
            let r2 = KeyGroupRange::of(c, d).unwrap();
            let i = r1.intersection(&r2);
            for kg in -2..66 {
                prop_assert_eq!(i.contains(kg), r1.contains(kg) && r2.contains(kg));
            }
            prop_assert_eq!(i, r2.intersection(&r1));
        }
    }
}
