//! Exactly-once: the committed sink contents against the fault-free reference.
//!
//! Every source record must have exactly one committed output (by origin):
//! none is **lost**, extra copies are **duplicated**. An output is
//! **unexpected** when its origin is not a source record, its key is not that
//! record's key, or its count breaks the reference: per key, the first outputs
//! of its records must carry the counts `1..=n`, each once (a count state that
//! was not restored shows up here).

use std::collections::BTreeMap;

use halab_engine::record::Record;

use crate::reference::SourceContent;

/// At most this many examples are kept per kind.
const MAX_EXAMPLES: usize = 3;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExactlyOnceReport {
    pub lost: u64,
    pub duplicated: u64,
    pub unexpected: u64,
    pub examples: Vec<String>,
}

impl ExactlyOnceReport {
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unexpected == 0
    }
}

pub fn check(content: &SourceContent, committed: &[Record]) -> ExactlyOnceReport {
    let mut r = ExactlyOnceReport::default();
    let (mut lost_ex, mut dup_ex, mut unex_ex) = (Vec::new(), Vec::new(), Vec::new());
    let per = content.records_per_partition;
    let mut copies = vec![0u32; content.total() as usize];
    // First output per key, by count value: which counts were seen.
    let mut counts_seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for rec in committed {
        let o = rec.origin;
        if !content.contains(o) {
            r.unexpected += 1;
            push(
                &mut unex_ex,
                format!("unknown origin {}:{} in {rec:?}", o.partition, o.offset),
            );
            continue;
        }
        let i = (u64::from(o.partition) * per + o.offset) as usize;
        copies[i] += 1;
        if copies[i] > 1 {
            r.duplicated += 1;
            push(
                &mut dup_ex,
                format!("record {}:{} committed {} times", o.partition, o.offset, copies[i]),
            );
            continue;
        }
        let key = content.key_at(o.partition, o.offset);
        if rec.key != key {
            r.unexpected += 1;
            push(
                &mut unex_ex,
                format!(
                    "record {}:{} has key {} instead of {key}",
                    o.partition, o.offset, rec.key
                ),
            );
            continue;
        }
        counts_seen.entry(key).or_default().push(rec.value);
    }
    for (i, c) in copies.iter().enumerate() {
        if *c == 0 {
            r.lost += 1;
            let (p, o) = (i as u64 / per, i as u64 % per);
            push(&mut lost_ex, format!("record {p}:{o} never committed"));
        }
    }
    let reference = content.reference_counts();
    for (key, mut values) in counts_seen {
        let n = reference.get(&key).copied().unwrap_or(0);
        values.sort_unstable();
        let mut prev = 0;
        for v in values {
            if v == 0 || v > n || v == prev {
                r.unexpected += 1;
                push(
                    &mut unex_ex,
                    format!("key {key}: count {v} (reference has 1..={n}, each once)"),
                );
            }
            prev = v;
        }
    }
    r.examples = lost_ex.into_iter().chain(dup_ex).chain(unex_ex).collect();
    r
}

fn push(v: &mut Vec<String>, s: String) {
    if v.len() < MAX_EXAMPLES {
        v.push(s);
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
        }
    }

    fn correct(c: &SourceContent) -> Vec<Record> {
        c.reference_output()
    }

    #[test]
    fn correct_output_passes_in_any_order() {
        let c = content();
        let mut out = correct(&c);
        assert!(check(&c, &out).passed());
        out.reverse();
        assert!(check(&c, &out).passed());
    }

    #[test]
    fn loss_duplication_and_bad_counts_are_caught() {
        let c = content();
        let out = correct(&c);
        let lost = check(&c, &out[1..]);
        assert_eq!((lost.lost, lost.duplicated, lost.unexpected), (1, 0, 0));
        let mut dup = out.clone();
        dup.push(out[3]);
        let d = check(&c, &dup);
        assert_eq!((d.lost, d.duplicated), (0, 1));
        let mut bad = out.clone();
        bad[7].value += 1000;
        assert!(check(&c, &bad).unexpected >= 1);
        let mut wrong_key = out.clone();
        wrong_key[0].key = (wrong_key[0].key + 1) % 5;
        assert!(check(&c, &wrong_key).unexpected >= 1);
        assert!(!d.examples.is_empty());
    }

    #[test]
    fn reset_state_replay_is_unexpected() {
        // State lost after record 40 of partition 0: counts restart at 1.
        let c = content();
        let mut out = correct(&c);
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        for r in out.iter_mut().skip(40) {
            let n = counts.entry(r.key).or_insert(0);
            *n += 1;
            r.value = *n;
        }
        let rep = check(&c, &out);
        assert_eq!((rep.lost, rep.duplicated), (0, 0));
        assert!(rep.unexpected > 0);
    }
}
