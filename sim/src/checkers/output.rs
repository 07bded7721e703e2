//! The output check a run's sink store feeds as transactions commit: the
//! exactly-once check of the job's topology (a specialised one, or the
//! check of any job graph against its reference), or (for tests and tools
//! that need the output itself) a plain copy of every committed record.

use halab_engine::record::Record;

use super::exactly_once::{ExactlyOnceCheck, ExactlyOnceReport};
use super::graph::GraphCheck;
use super::windows::WindowsCheck;

#[derive(Debug)]
pub enum OutputCheck {
    /// Keyed counts: [`super::exactly_once`].
    Counts(Box<ExactlyOnceCheck>),
    /// Window results: [`super::windows`].
    Windows(Box<WindowsCheck>),
    /// Any job graph, against its sequential reference: [`super::graph`].
    Graph(Box<GraphCheck>),
    /// Keep every committed record, in commit order; checks nothing.
    Keep(Vec<Record>),
}

impl OutputCheck {
    /// Account for the next committed record.
    pub fn observe(&mut self, rec: &Record) {
        match self {
            OutputCheck::Counts(c) => c.observe(rec),
            OutputCheck::Windows(c) => c.observe(rec),
            OutputCheck::Graph(c) => c.observe(rec),
            OutputCheck::Keep(v) => v.push(*rec),
        }
    }

    /// Distinct expected outputs committed so far: source records with an
    /// output (keyed counts), reference windows (window results) or
    /// expected copies of reference outputs (any graph). What a kept output
    /// holds is not known to be expected: 0.
    pub fn distinct(&self) -> u64 {
        match self {
            OutputCheck::Counts(c) => c.distinct(),
            OutputCheck::Windows(c) => c.distinct(),
            OutputCheck::Graph(c) => c.distinct(),
            OutputCheck::Keep(_) => 0,
        }
    }

    /// Distinct expected outputs a complete run commits (see each check);
    /// 0 for a kept output, which expects nothing.
    pub fn expected(&self) -> u64 {
        match self {
            OutputCheck::Counts(c) => c.expected(),
            OutputCheck::Windows(c) => c.expected(),
            OutputCheck::Graph(c) => c.expected(),
            OutputCheck::Keep(_) => 0,
        }
    }

    /// The report of a checking variant; `None` for [`OutputCheck::Keep`].
    pub fn finish(self) -> Option<ExactlyOnceReport> {
        match self {
            OutputCheck::Counts(c) => Some(c.finish()),
            OutputCheck::Windows(c) => Some(c.finish()),
            OutputCheck::Graph(c) => Some(c.finish()),
            OutputCheck::Keep(_) => None,
        }
    }
}
