//! Checkers, one per file. They run outside the engine: after the
//! simulation, except the output check ([`output`]), which the sink store
//! feeds as transactions commit so that a run need not keep its output.

pub mod conformance;
pub mod conservation;
pub mod exactly_once;
pub mod graph;
pub mod leadership;
pub mod liveness;
pub mod output;
pub mod rescaling;
pub mod windows;

use serde::{Deserialize, Serialize};

use crate::record::Verdict;

/// What every checker reports, in one shape: which checker, its verdict,
/// why, and a few examples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// One of [`PRECEDENCE`].
    pub checker: String,
    pub verdict: Verdict,
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// The checkers, in the order their findings are reported when several
/// fail with the same verdict: state placement, leadership and the restart
/// policy explain an output problem, so they come first; liveness last.
pub const PRECEDENCE: [&str; 5] = ["keyed-state", "leadership", "restart-policy", "output", "liveness"];

/// Problems shown in a message; the rest are counted.
pub const PROBLEMS_SHOWN: usize = 5;

impl CheckResult {
    /// A passing result of `checker`.
    pub fn pass(checker: &str) -> Self {
        assert!(
            PRECEDENCE.contains(&checker),
            "invariant: `{checker}` is a known checker"
        );
        CheckResult {
            checker: checker.to_string(),
            verdict: Verdict::Pass,
            message: None,
            examples: Vec::new(),
        }
    }

    /// A result of `checker` from its list of problems: passing when empty,
    /// else `verdict` with `what` and the first [`PROBLEMS_SHOWN`] problems.
    pub fn from_problems(checker: &str, verdict: Verdict, what: &str, problems: &[String]) -> Self {
        if problems.is_empty() {
            return CheckResult::pass(checker);
        }
        CheckResult {
            message: Some(format!("{what}: {}", first_problems(problems))),
            verdict,
            examples: problems.iter().take(PROBLEMS_SHOWN).cloned().collect(),
            ..CheckResult::pass(checker)
        }
    }

    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

/// The first [`PROBLEMS_SHOWN`] problems, and how many more there are.
pub fn first_problems(problems: &[String]) -> String {
    let shown = problems[..problems.len().min(PROBLEMS_SHOWN)].join("; ");
    match problems.len().saturating_sub(PROBLEMS_SHOWN) {
        0 => shown,
        more => format!("{shown}; and {more} more"),
    }
}

/// The run's verdict and message from its checkers' results: the most
/// severe verdict ([`Verdict::worst`]); among equals, the checker first in
/// [`PRECEDENCE`].
pub fn combine(results: &[CheckResult]) -> (Verdict, Option<String>) {
    let verdict = Verdict::worst(results.iter().map(|r| r.verdict));
    let rank = |r: &CheckResult| PRECEDENCE.iter().position(|c| *c == r.checker);
    let first = results.iter().filter(|r| r.verdict == verdict).min_by_key(|r| rank(r));
    (verdict, first.and_then(|r| r.message.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("p{i}")).collect()
    }

    #[test]
    fn one_shape_and_one_precedence() {
        assert_eq!(combine(&[CheckResult::pass("output")]), (Verdict::Pass, None));
        let live = CheckResult {
            verdict: Verdict::Liveness,
            message: Some("stalled".into()),
            ..CheckResult::pass("liveness")
        };
        let output = CheckResult::from_problems("output", Verdict::Violation, "output", &problems(1));
        let keyed = CheckResult::from_problems("keyed-state", Verdict::Violation, "keyed state", &problems(7));
        assert_eq!(
            keyed.message.as_deref(),
            Some("keyed state: p1; p2; p3; p4; p5; and 2 more")
        );
        assert_eq!(keyed.examples.len(), PROBLEMS_SHOWN);
        assert_eq!(
            combine(&[live.clone(), CheckResult::pass("output")]),
            (Verdict::Liveness, Some("stalled".into()))
        );
        // A violation outranks liveness; among violations keyed state first,
        // whatever the order given.
        let all = [live, output.clone(), keyed];
        assert_eq!(
            combine(&all).1.as_deref(),
            Some("keyed state: p1; p2; p3; p4; p5; and 2 more")
        );
        assert_eq!(combine(&[output]).1.as_deref(), Some("output: p1"));
        assert_eq!(first_problems(&problems(5)), "p1; p2; p3; p4; p5");
        assert!(CheckResult::from_problems("leadership", Verdict::Violation, "x", &[]).passed());
    }
}
