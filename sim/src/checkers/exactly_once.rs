//! Exactly-once: the committed sink contents against the fault-free reference,
//! with the full taxonomy (in the spirit of Maelstrom's kafka checker):
//!
//! - **lost**: a source record with no committed output;
//! - **duplicated**: extra committed copies of a source record's output;
//! - **unexpected**: an output no run could produce — its origin is not a
//!   source record, or its key is not that record's key;
//! - **miscounted**: a first output whose count breaks the reference (per
//!   key, first outputs must carry the counts `1..=n`, each once): the state
//!   effect was not exactly once (e.g. state not restored, or at-least-once
//!   replay counted a record twice);
//! - **out of order**: per key, first outputs committed with a lower count
//!   after a higher one.
//!
//! Exactly-once needs all five at zero; at-least-once needs no loss and no
//! unexpected output (duplicates and their state effects are allowed).

use std::collections::{BTreeMap, HashMap};

use halab_engine::record::Record;

use crate::reference::{pipeline_of, SourceContent};

/// At most this many examples are kept per kind.
const MAX_EXAMPLES: usize = 3;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExactlyOnceReport {
    pub lost: u64,
    pub duplicated: u64,
    pub unexpected: u64,
    pub miscounted: u64,
    pub out_of_order: u64,
    /// A few examples of each kind, prefixed with the kind.
    pub examples: Vec<String>,
}

impl ExactlyOnceReport {
    pub fn exactly_once(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unexpected == 0 && self.miscounted == 0 && self.out_of_order == 0
    }

    pub fn at_least_once(&self) -> bool {
        self.lost == 0 && self.unexpected == 0
    }
}

/// A few examples per kind of problem, each prefixed with its kind.
#[derive(Debug, Default)]
pub(crate) struct Examples {
    by_kind: BTreeMap<&'static str, Vec<String>>,
}

impl Examples {
    pub(crate) fn add(&mut self, kind: &'static str, text: impl FnOnce() -> String) {
        let v = self.by_kind.entry(kind).or_default();
        if v.len() < MAX_EXAMPLES {
            v.push(format!("{kind}: {}", text()));
        }
    }

    pub(crate) fn into_list(self) -> Vec<String> {
        self.by_kind.into_values().flatten().collect()
    }
}

/// Check `committed` (in commit order) against the reference. `split`:
/// partitions from it on are counted by a second, independent pipeline (the
/// two-pipelines job).
pub fn check<'a>(
    content: &SourceContent,
    split: Option<u32>,
    committed: impl IntoIterator<Item = &'a Record>,
) -> ExactlyOnceReport {
    let mut c = ExactlyOnceCheck::new(content, split);
    for rec in committed {
        c.observe(rec);
    }
    c.finish()
}

/// [`check`] fed one committed record at a time, so that a run need not keep
/// its output: the sink store observes each record as it commits.
///
/// One pass over the source (the reference fold, at construction) and O(1)
/// work per record, with flat tables indexed by source record and by
/// (pipeline, key): no per-record allocation, no sort.
#[derive(Debug)]
pub struct ExactlyOnceCheck {
    content: SourceContent,
    split: Option<u32>,
    /// Per (pipeline, key) slot, indexed by [`SourceContent::slot`].
    slots: Vec<Slot>,
    /// One bit per reference count of the slots no longer [`Slot::prefix`]:
    /// committed as a first output already.
    seen: Vec<u64>,
    /// One bit per source record: an output of it was committed.
    committed: Vec<u64>,
    /// How many bits of `committed` are set.
    distinct: u64,
    /// Per source record committed more than once: its committed outputs
    /// (only for the examples; rare, so a map beside a compact bit set).
    copies: HashMap<usize, u32>,
    report: ExactlyOnceReport,
    examples: Examples,
}

/// What the check knows of one (pipeline, key).
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Its records in the reference: first outputs carry the counts `1..=n`.
    n: u64,
    /// The first bit of its counts in `seen`: count `v` is bit
    /// `first + v - 1`.
    first: u64,
    /// The count of the last first output committed (0 before the first).
    last: u64,
    /// So far the counts committed are exactly `1..=last`, in order: the
    /// common case, checked without touching `seen`. The first count that
    /// breaks it writes `1..=last` into `seen`, which serves from then on.
    prefix: bool,
}

impl ExactlyOnceCheck {
    pub fn new(content: &SourceContent, split: Option<u32>) -> Self {
        let mut sum = 0u64;
        let slots = content
            .reference_counts(split)
            .into_iter()
            .map(|n| {
                let first = sum;
                sum += n;
                Slot {
                    n,
                    first,
                    last: 0,
                    prefix: true,
                }
            })
            .collect();
        ExactlyOnceCheck {
            content: *content,
            split,
            slots,
            seen: vec![0; sum.div_ceil(64) as usize],
            committed: vec![0; content.total().div_ceil(64) as usize],
            distinct: 0,
            copies: HashMap::new(),
            report: ExactlyOnceReport::default(),
            examples: Examples::default(),
        }
    }

    /// Marks count `v` of `slot` as committed in `seen`; true if it was not.
    fn mark(seen: &mut [u64], slot: &Slot, v: u64) -> bool {
        let bit = slot.first + v - 1;
        let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
        let fresh = seen[word] & mask == 0;
        seen[word] |= mask;
        fresh
    }

    /// Source records with at least one committed output so far.
    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    /// Distinct outputs a complete run commits: one per source record.
    pub fn expected(&self) -> u64 {
        self.content.total()
    }

    /// Account for the next committed record.
    pub fn observe(&mut self, rec: &Record) {
        let (r, ex) = (&mut self.report, &mut self.examples);
        let o = rec.origin;
        if !self.content.contains(o) {
            r.unexpected += 1;
            ex.add("unexpected", || {
                format!("unknown origin {}:{} in {rec:?}", o.partition, o.offset)
            });
            return;
        }
        let i = (u64::from(o.partition) * self.content.records_per_partition + o.offset) as usize;
        let (word, mask) = (i / 64, 1u64 << (i % 64));
        if self.committed[word] & mask != 0 {
            let copies = self.copies.entry(i).or_insert(1);
            *copies += 1;
            r.duplicated += 1;
            ex.add("duplicated", || {
                format!("record {}:{} committed {} times", o.partition, o.offset, copies)
            });
            return;
        }
        self.committed[word] |= mask;
        self.distinct += 1;
        let key = self.content.key_at(o.partition, o.offset);
        if rec.key != key {
            r.unexpected += 1;
            ex.add("unexpected", || {
                format!(
                    "record {}:{} has key {} instead of {key}",
                    o.partition, o.offset, rec.key
                )
            });
            return;
        }
        let slot = &mut self.slots[self.content.slot(pipeline_of(o.partition, self.split), key)];
        let v = rec.value;
        let (last, n) = (slot.last, slot.n);
        if v < last {
            r.out_of_order += 1;
            ex.add("out of order", || {
                format!("key {key}: count {v} committed after {last}")
            });
        }
        let fresh = if slot.prefix && v == last + 1 && v <= n {
            true
        } else {
            if slot.prefix {
                slot.prefix = false;
                for c in 1..=last {
                    Self::mark(&mut self.seen, slot, c);
                }
            }
            v != 0 && v <= n && Self::mark(&mut self.seen, slot, v)
        };
        slot.last = v;
        if !fresh {
            r.miscounted += 1;
            ex.add("miscounted", || {
                format!("key {key}: count {v} (reference has 1..={n}, each once)")
            });
        }
    }

    /// The report; source records never committed count as lost.
    pub fn finish(mut self) -> ExactlyOnceReport {
        let per = self.content.records_per_partition;
        for i in 0..self.content.total() {
            let (word, mask) = ((i / 64) as usize, 1u64 << (i % 64));
            if self.committed[word] & mask == 0 {
                self.report.lost += 1;
                let (p, o) = (i / per, i % per);
                self.examples.add("lost", || format!("record {p}:{o} never committed"));
            }
        }
        self.report.examples = self.examples.into_list();
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> SourceContent {
        SourceContent {
            seed: 1,
            partitions: 2,
            records_per_partition: 50,
            keys: 5,
            distribution: crate::keys::KeyDistribution::Uniform,
            records_per_second: 10,
            nexmark: None,
            edge_targets: crate::reference::EdgeTargets::None,
        }
    }

    #[test]
    fn correct_output_passes() {
        let c = content();
        let out = c.reference_output();
        let r = check(&c, None, &out);
        assert!(r.exactly_once() && r.at_least_once(), "{r:?}");
    }

    #[test]
    fn loss_and_duplication_are_caught() {
        let c = content();
        let out = c.reference_output();
        let lost = check(&c, None, &out[1..]);
        assert_eq!((lost.lost, lost.duplicated, lost.unexpected), (1, 0, 0));
        assert!(!lost.at_least_once());
        let mut dup = out.clone();
        dup.push(out[3]);
        let d = check(&c, None, &dup);
        assert_eq!((d.lost, d.duplicated), (0, 1));
        assert!(d.at_least_once() && !d.exactly_once());
        assert!(d.examples[0].starts_with("duplicated: "), "{:?}", d.examples);
    }

    #[test]
    fn foreign_records_are_unexpected() {
        let c = content();
        let mut out = c.reference_output();
        out[0].key = (out[0].key + 1) % 5;
        let r = check(&c, None, &out);
        assert!(r.unexpected >= 1 && !r.at_least_once());
        let mut out = c.reference_output();
        out.push(Record {
            origin: halab_engine::record::Origin {
                partition: 9,
                offset: 0,
            },
            ..out[0]
        });
        assert_eq!(check(&c, None, &out).unexpected, 1);
    }

    #[test]
    fn wrong_counts_are_miscounted() {
        // State lost after record 40 of partition 0: counts restart at 1.
        let c = content();
        let mut out = c.reference_output();
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        for r in out.iter_mut().skip(40) {
            let n = counts.entry(r.key).or_insert(0);
            *n += 1;
            r.value = *n;
        }
        let rep = check(&c, None, &out);
        assert_eq!((rep.lost, rep.duplicated, rep.unexpected), (0, 0, 0));
        assert!(rep.miscounted > 0 && !rep.exactly_once() && rep.at_least_once());
        let mut bad = c.reference_output();
        bad[7].value += 1000;
        assert!(check(&c, None, &bad).miscounted >= 1);
    }

    #[test]
    fn per_key_order_is_checked() {
        let c = content();
        let mut out = c.reference_output();
        // Swap the first two outputs of one key.
        let key = out[0].key;
        let j = out.iter().skip(1).position(|r| r.key == key).expect("key repeats") + 1;
        out.swap(0, j);
        let r = check(&c, None, &out);
        assert_eq!(r.out_of_order, 1, "{r:?}");
        assert_eq!((r.lost, r.duplicated, r.miscounted), (0, 0, 0));
        assert!(!r.exactly_once());
        assert!(r.examples.iter().any(|e| e.starts_with("out of order: ")));
    }

    /// Rewrites the counts of the first outputs of one key, in commit order.
    fn with_counts(counts: &[u64]) -> ExactlyOnceReport {
        let c = content();
        let mut out = c.reference_output();
        let key = out[0].key;
        let of_key: Vec<usize> = (0..out.len()).filter(|&i| out[i].key == key).collect();
        assert!(of_key.len() >= counts.len(), "key {key} has {} records", of_key.len());
        for (i, v) in of_key.iter().zip(counts) {
            out[*i].value = *v;
        }
        check(&c, None, &out)
    }

    #[test]
    fn counts_leaving_their_prefix_are_still_told_apart() {
        // 1, 2, 4, 3: the right counts in the wrong order.
        let r = with_counts(&[1, 2, 4, 3]);
        assert_eq!((r.out_of_order, r.miscounted), (1, 0), "{r:?}");
        // 1, 2, 3, 2: count 2 twice (and 4 never).
        let r = with_counts(&[1, 2, 3, 2]);
        assert_eq!((r.out_of_order, r.miscounted), (1, 1), "{r:?}");
        // 1, 3, 3: a gap, then a repeat of a count seen after it.
        let r = with_counts(&[1, 3, 3]);
        assert_eq!((r.out_of_order, r.miscounted), (0, 1), "{r:?}");
        // 0 and a count above the key's records are never right.
        let r = with_counts(&[0, 1, 1000]);
        assert_eq!(r.miscounted, 2, "{r:?}");
        assert!(with_counts(&[1, 2, 3]).exactly_once());
    }

    #[test]
    fn distinct_counts_each_source_record_once() {
        let c = content();
        let out = c.reference_output();
        let mut check = ExactlyOnceCheck::new(&c, None);
        for r in &out[..10] {
            check.observe(r);
        }
        check.observe(&out[3]);
        assert_eq!(check.distinct(), 10, "a duplicate adds nothing");
        for r in &out[10..] {
            check.observe(r);
        }
        assert_eq!(check.distinct(), c.total());
    }

    #[test]
    fn a_slot_takes_32_bytes() {
        // `scenario::MAX_KEYS` is sized by it.
        assert_eq!(std::mem::size_of::<Slot>(), 32);
    }
}
