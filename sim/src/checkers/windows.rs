//! Exactly-once for window results: every (key, window) of the reference
//! must be committed exactly once, with the reference count. The taxonomy is
//! the one of [`super::exactly_once`]: lost and duplicated windows,
//! unexpected results (not a window, or a window the reference does not
//! have), miscounted windows, and per key windows committed out of order.

use std::collections::BTreeMap;

use halab_engine::record::Record;

use super::exactly_once::{ExactlyOnceReport, Examples};
use crate::reference::SourceContent;

/// Check the committed window results (in commit order) against the
/// reference of windows of `size_ms`.
pub fn check<'a>(
    content: &SourceContent,
    size_ms: u64,
    committed: impl IntoIterator<Item = &'a Record>,
) -> ExactlyOnceReport {
    let mut c = WindowsCheck::new(content, size_ms);
    for rec in committed {
        c.observe(rec);
    }
    c.finish()
}

/// [`check`] fed one committed record at a time.
#[derive(Debug)]
pub struct WindowsCheck {
    /// Per (key, window start): the reference count.
    reference: BTreeMap<(u64, u64), u64>,
    /// Per (key, window start): results committed.
    seen: BTreeMap<(u64, u64), u32>,
    /// Per key: the start of the last window committed.
    last_start: BTreeMap<u64, u64>,
    report: ExactlyOnceReport,
    examples: Examples,
}

impl WindowsCheck {
    pub fn new(content: &SourceContent, size_ms: u64) -> Self {
        WindowsCheck {
            reference: content.reference_windows(size_ms),
            seen: BTreeMap::new(),
            last_start: BTreeMap::new(),
            report: ExactlyOnceReport::default(),
            examples: Examples::default(),
        }
    }

    /// Reference windows committed so far (each once however often).
    pub fn distinct(&self) -> u64 {
        self.seen.len() as u64
    }

    /// Distinct outputs a complete run commits: one per reference window.
    pub fn expected(&self) -> u64 {
        self.reference.len() as u64
    }

    /// Account for the next committed record.
    pub fn observe(&mut self, rec: &Record) {
        let (r, ex) = (&mut self.report, &mut self.examples);
        let Some(start) = rec.origin.window_start() else {
            r.unexpected += 1;
            ex.add("unexpected", || format!("not a window result: {rec:?}"));
            return;
        };
        let id = (rec.key, start);
        let Some(&count) = self.reference.get(&id) else {
            r.unexpected += 1;
            ex.add("unexpected", || format!("key {} has no window at {start}ms", rec.key));
            return;
        };
        let n = self.seen.entry(id).or_insert(0);
        *n += 1;
        if *n > 1 {
            r.duplicated += 1;
            ex.add("duplicated", || {
                format!("window {start}ms of key {} committed {} times", rec.key, n)
            });
            return;
        }
        if rec.value != count {
            r.miscounted += 1;
            ex.add("miscounted", || {
                format!("window {start}ms of key {}: {} instead of {count}", rec.key, rec.value)
            });
        }
        if let Some(prev) = self.last_start.insert(rec.key, start) {
            if start < prev {
                r.out_of_order += 1;
                ex.add("out of order", || {
                    format!("key {}: window {start}ms after {prev}ms", rec.key)
                });
            }
        }
    }

    /// The report; reference windows never committed count as lost.
    pub fn finish(mut self) -> ExactlyOnceReport {
        for (key, start) in self.reference.keys() {
            if !self.seen.contains_key(&(*key, *start)) {
                self.report.lost += 1;
                self.examples
                    .add("lost", || format!("window {start}ms of key {key} never committed"));
            }
        }
        self.report.examples = self.examples.into_list();
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halab_engine::record::Origin;

    fn content() -> SourceContent {
        SourceContent {
            seed: 2,
            partitions: 2,
            records_per_partition: 300,
            keys: 4,
            distribution: crate::keys::KeyDistribution::Uniform,
            records_per_second: 100,
            nexmark: None,
            edge_targets: crate::reference::EdgeTargets::None,
        }
    }

    fn correct(c: &SourceContent, size: u64) -> Vec<Record> {
        c.reference_windows(size)
            .into_iter()
            .map(|((key, start), count)| Record {
                key,
                value: count,
                origin: Origin::window(start),
                timestamp_ms: start + size - 1,
            })
            .collect()
    }

    #[test]
    fn correct_windows_pass_and_every_kind_is_caught() {
        let c = content();
        let good = correct(&c, 1000);
        assert_eq!(good.len(), 4 * 3, "4 keys x 3 windows of 1s over 3s");
        assert!(check(&c, 1000, &good).exactly_once());
        let lost = check(&c, 1000, &good[1..]);
        assert_eq!(lost.lost, 1);
        let mut dup = good.clone();
        dup.push(good[0]);
        assert_eq!(check(&c, 1000, &dup).duplicated, 1);
        let mut mis = good.clone();
        mis[0].value += 1;
        assert_eq!(check(&c, 1000, &mis).miscounted, 1);
        let mut foreign = good.clone();
        foreign.push(Record {
            origin: Origin {
                partition: 0,
                offset: 1,
            },
            ..good[0]
        });
        assert_eq!(check(&c, 1000, &foreign).unexpected, 1);
        let mut rev = good.clone();
        rev.reverse();
        assert!(check(&c, 1000, &rev).out_of_order > 0);
    }
}
