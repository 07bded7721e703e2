//! Fault intervals: when each disturbance of a run's fault plan lasted.
//!
//! Each disturbing entry (`kill`, `pause`, `partition`, `clog`, `network`,
//! `slow`, `cut-off`, ...) is paired with the first later entry that heals it
//! (`restart`, `resume`, `heal`, `unclog`, `restore-network`, `restore`), the
//! same pairing the simulator uses for shrinking. An unpaired disturbance
//! lasts to the end of the run; a disturbance planned after the run ended
//! never happened and is left out.

use serde::Serialize;

use crate::record::{FaultEntry, RunRecord};

/// A stretch of simulated time during which one fault was in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultInterval {
    /// The disturbing verb: `kill`, `pause`, `partition`, ...
    pub kind: String,
    /// The fault as text, e.g. `kill tm-1`.
    pub fault: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Whether a healing entry ended it (else the run's end did).
    pub healed: bool,
}

/// Pair the plan's entries into intervals, ending unpaired ones at `end_ms`.
pub fn fault_intervals(plan: &[FaultEntry], end_ms: u64) -> Vec<FaultInterval> {
    // The plan is ordered by time in records; sort a copy of the indices so a
    // hand-built plan pairs the same way.
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by_key(|&i| plan[i].at_ms);
    let mut used = vec![false; plan.len()];
    let mut out = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let f = &plan[i];
        if f.is_heal() || f.at_ms >= end_ms {
            continue;
        }
        let heal = order[pos + 1..]
            .iter()
            .copied()
            .find(|&j| !used[j] && f.is_healed_by(&plan[j]));
        if let Some(j) = heal {
            used[j] = true;
        }
        let healed_at = heal.map(|j| plan[j].at_ms).filter(|t| *t < end_ms);
        out.push(FaultInterval {
            kind: f.verb.clone(),
            fault: f.to_string(),
            start_ms: f.at_ms,
            end_ms: healed_at.unwrap_or(end_ms),
            healed: healed_at.is_some(),
        });
    }
    out
}

/// The fault intervals of one run, ended at the run's end.
pub fn run_fault_intervals(record: &RunRecord) -> Vec<FaultInterval> {
    fault_intervals(&record.fault_plan, record.end_ms())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn e(at: u64, verb: &str, target: serde_json::Value) -> FaultEntry {
        FaultEntry::new(at, verb, target)
    }

    #[test]
    fn pairs_each_disturbance_with_its_heal() {
        let plan = vec![
            e(1000, "kill", json!("tm-1")),
            e(1500, "pause", json!("tm-2")),
            e(2000, "restart", json!("tm-1")),
            e(2500, "slow", json!("sink-store")),
            e(3000, "resume", json!("tm-2")),
            e(4000, "restore", json!("sink-store")),
            e(5000, "clog", json!(["tm-0", "tm-1"])),
            e(6000, "unclog", json!(["tm-1", "tm-0"])),
            e(7000, "kill", json!("tm-0")),
            e(20_000, "kill", json!("tm-2")),
        ];
        let iv = fault_intervals(&plan, 10_000);
        let got: Vec<(&str, u64, u64, bool)> = iv
            .iter()
            .map(|i| (i.kind.as_str(), i.start_ms, i.end_ms, i.healed))
            .collect();
        assert_eq!(
            got,
            vec![
                ("kill", 1000, 2000, true),
                ("pause", 1500, 3000, true),
                ("slow", 2500, 4000, true),
                // The unclog names the link the other way round: not its heal.
                ("clog", 5000, 10_000, false),
                ("kill", 7000, 10_000, false),
            ]
        );
    }

    #[test]
    fn the_same_node_killed_twice_pairs_in_order() {
        let plan = vec![
            e(1000, "kill", json!("tm-1")),
            e(2000, "restart", json!("tm-1")),
            e(3000, "kill", json!("tm-1")),
            e(4000, "restart", json!("tm-1")),
        ];
        let iv = fault_intervals(&plan, 5000);
        assert_eq!(
            iv.iter().map(|i| (i.start_ms, i.end_ms)).collect::<Vec<_>>(),
            vec![(1000, 2000), (3000, 4000)]
        );
    }
}
