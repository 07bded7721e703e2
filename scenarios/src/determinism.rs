//! Determinism as a verdict: run a seed twice and, when the traces differ,
//! say where they parted, with the events that led there.

use halab_sim::{RunRecord, Verdict};

/// Events shown before the first difference.
pub const CONTEXT: usize = 5;

/// Where two traces of one seed part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index (from 0) of the first event that differs.
    pub index: usize,
    /// Up to [`CONTEXT`] events before it, the same in both runs.
    pub before: Vec<String>,
    /// The event at `index` in each run (`None` where that trace ended).
    pub first: Option<String>,
    pub second: Option<String>,
}

/// The first difference between `a` and `b`, or `None` if they are equal.
pub fn first_divergence(a: &[String], b: &[String]) -> Option<Divergence> {
    let index = match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => i,
        None if a.len() == b.len() => return None,
        None => a.len().min(b.len()),
    };
    Some(Divergence {
        index,
        before: a[index.saturating_sub(CONTEXT)..index].to_vec(),
        first: a.get(index).cloned(),
        second: b.get(index).cloned(),
    })
}

impl Divergence {
    /// Several lines: the events before, then each run's event.
    pub fn describe(&self) -> String {
        let mut out = format!("first difference at trace event {}:", self.index);
        for e in &self.before {
            out.push_str(&format!("\n    {e}"));
        }
        let shown = |e: &Option<String>| e.clone().unwrap_or_else(|| "(the trace ended)".into());
        out.push_str(&format!("\n  run 1: {}", shown(&self.first)));
        out.push_str(&format!("\n  run 2: {}", shown(&self.second)));
        out
    }
}

/// Compare a run with its repetition: when the traces differ, `record`
/// becomes [`Verdict::Nondeterminism`] with the first difference in its
/// message. Returns whether they agreed.
pub fn judge_repetition(record: &mut RunRecord, trace: &[String], again: &RunRecord, again_trace: &[String]) -> bool {
    let divergence = first_divergence(trace, again_trace);
    if divergence.is_none() && record.trace_hash == again.trace_hash {
        return true;
    }
    let at = divergence
        .map(|d| d.describe())
        .unwrap_or_else(|| "the traces' text is equal".into());
    record.verdict = Verdict::Nondeterminism;
    record.message = Some(format!(
        "nondeterminism: the same seed gave trace hashes {} and {}; {at}",
        record.trace_hash, again.trace_hash
    ));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(events: &[&str]) -> Vec<String> {
        events.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn the_first_difference_and_its_context() {
        let a = t(&["1", "2", "3", "4", "5", "6", "7", "x"]);
        let b = t(&["1", "2", "3", "4", "5", "6", "7", "y", "z"]);
        let d = first_divergence(&a, &b).expect("differ");
        assert_eq!(d.index, 7);
        assert_eq!(d.before, t(&["3", "4", "5", "6", "7"]));
        assert_eq!((d.first.as_deref(), d.second.as_deref()), (Some("x"), Some("y")));
        assert_eq!(
            d.describe(),
            "first difference at trace event 7:\n    3\n    4\n    5\n    6\n    7\n  run 1: x\n  run 2: y"
        );
        let d = first_divergence(&t(&["1"]), &t(&["1", "2"])).expect("longer");
        assert_eq!((d.index, d.first.as_deref(), d.second.as_deref()), (1, None, Some("2")));
        assert!(d.describe().contains("run 1: (the trace ended)"));
        assert_eq!(first_divergence(&t(&["1", "2"]), &t(&["1", "2"])), None);
        assert_eq!(
            first_divergence(&t(&["9", "2"]), &t(&["1", "2"])).map(|d| d.before.len()),
            Some(0)
        );
    }
}
