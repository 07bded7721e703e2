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

use std::collections::BTreeMap;

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
    /// Per (pipeline, key) slot ([`SourceContent::slot`]): its records.
    reference: Vec<u64>,
    /// Per slot: the first bit of its counts in `seen` (count `v` of slot
    /// `s` is bit `first[s] + v - 1`).
    first: Vec<u64>,
    /// One bit per reference count: committed as a first output already.
    seen: Vec<u64>,
    /// Per slot: the count of the last first output committed.
    last: Vec<u64>,
    /// Per source record: committed outputs.
    copies: Vec<u32>,
    report: ExactlyOnceReport,
    examples: Examples,
}

impl ExactlyOnceCheck {
    pub fn new(content: &SourceContent, split: Option<u32>) -> Self {
        let reference = content.reference_counts(split);
        let mut first = Vec::with_capacity(reference.len());
        let mut sum = 0u64;
        for n in &reference {
            first.push(sum);
            sum += n;
        }
        ExactlyOnceCheck {
            content: *content,
            split,
            seen: vec![0; sum.div_ceil(64) as usize],
            last: vec![0; reference.len()],
            copies: vec![0; content.total() as usize],
            reference,
            first,
            report: ExactlyOnceReport::default(),
            examples: Examples::default(),
        }
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
        let copies = &mut self.copies[i];
        *copies += 1;
        if *copies > 1 {
            r.duplicated += 1;
            ex.add("duplicated", || {
                format!("record {}:{} committed {} times", o.partition, o.offset, copies)
            });
            return;
        }
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
        let s = self.content.slot(pipeline_of(o.partition, self.split), key);
        let v = rec.value;
        let last = std::mem::replace(&mut self.last[s], v);
        if v < last {
            r.out_of_order += 1;
            ex.add("out of order", || {
                format!("key {key}: count {v} committed after {last}")
            });
        }
        let n = self.reference[s];
        let fresh = v != 0 && v <= n && {
            let bit = self.first[s] + v - 1;
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            let fresh = self.seen[word] & mask == 0;
            self.seen[word] |= mask;
            fresh
        };
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
        for (i, c) in self.copies.iter().enumerate() {
            if *c == 0 {
                self.report.lost += 1;
                let (p, o) = (i as u64 / per, i as u64 % per);
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
            records_per_second: 10,
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
}
