//! Shrinking a failing fault plan (delta debugging).
//!
//! Given a scenario and a seed whose run fails, find a smaller explicit plan
//! under the same seed that still fails the same way (same verdict):
//! 1. ddmin (Zeller & Hildebrandt) over the plan's units — a disturbing fault
//!    together with the fault that heals it, or a lone fault;
//! 2. shorten each disturbance (move its heal earlier, halving the gap);
//! 3. move each unit later (towards the end of the input phase), which leaves
//!    a longer undisturbed prefix.
//!
//! The seed stays fixed, so every candidate is one deterministic run.

use halab_sim::faults::{FaultPlan, ScheduledFault};
use halab_sim::human::HumanDuration;
use halab_sim::{run_seed, Scenario, Verdict};

/// The result of a shrink.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub verdict: Verdict,
    pub original: FaultPlan,
    pub shrunk: FaultPlan,
    /// The scenario with the shrunk plan written out explicitly.
    pub scenario: Scenario,
    /// Runs spent.
    pub runs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShrinkError {
    #[error("seed {0} passes; there is nothing to shrink")]
    Passes(u64),
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

struct Oracle<'a> {
    scenario: &'a Scenario,
    seed: u64,
    verdict: Verdict,
    runs: u64,
}

impl Oracle<'_> {
    fn fails(&mut self, plan: &FaultPlan) -> bool {
        self.runs += 1;
        let s = self.scenario.with_explicit_plan(plan);
        matches!(run_seed(&s, self.seed), Ok(r) if r.verdict == self.verdict)
    }
}

fn plan_of(plan: &FaultPlan, units: &[Vec<usize>], keep: &[usize]) -> FaultPlan {
    let mut idx: Vec<usize> = keep.iter().flat_map(|u| units[*u].iter().copied()).collect();
    idx.sort_unstable();
    FaultPlan(idx.into_iter().map(|i| plan.0[i].clone()).collect())
}

/// Shrink the failing run of `scenario` under `seed`.
pub fn shrink(scenario: &Scenario, seed: u64, mut progress: impl FnMut(&str)) -> Result<Shrunk, ShrinkError> {
    let first = run_seed(scenario, seed).map_err(|e| ShrinkError::Invalid(e.to_string()))?;
    if first.verdict == Verdict::Pass {
        return Err(ShrinkError::Passes(seed));
    }
    let original = scenario.fault_plan(seed);
    let mut oracle = Oracle {
        scenario,
        seed,
        verdict: first.verdict,
        runs: 1,
    };
    // 1. ddmin over units.
    let plan = oracle.ddmin(&original, &mut progress);
    // 2. Shorten disturbances: move each heal earlier while it still fails.
    let plan = oracle.shorten_disturbances(plan);
    progress("shortened disturbances");
    // 3. Move units later, towards the end of the input phase.
    let plan = oracle.move_later(plan, scenario.duration.as_millis());
    progress("moved faults later");
    let plan = plan.normalized();
    let mut shrunk_scenario = scenario.with_explicit_plan(&plan);
    shrunk_scenario.description = format!(
        "{} (shrunk from seed {seed}: {} faults -> {})",
        scenario.description,
        original.len(),
        plan.len()
    );
    Ok(Shrunk {
        verdict: first.verdict,
        original,
        shrunk: plan,
        scenario: shrunk_scenario,
        runs: oracle.runs,
    })
}

impl Oracle<'_> {
    /// ddmin over the units of `plan`: the smallest set of units found that
    /// still fails.
    fn ddmin(&mut self, plan: &FaultPlan, progress: &mut impl FnMut(&str)) -> FaultPlan {
        let units = plan.units();
        let mut keep: Vec<usize> = (0..units.len()).collect();
        let mut n = 2usize;
        while keep.len() >= 2 {
            match self.reduce(plan, &units, &keep, n) {
                Some((kept, next_n)) => (keep, n) = (kept, next_n),
                None if n >= keep.len() => break,
                None => n = (2 * n).min(keep.len()),
            }
            progress(&format!("ddmin: {} of {} units left", keep.len(), units.len()));
        }
        if keep.len() == 1 {
            // A single unit might not be needed at all (the failure may come
            // from the seed alone); check the empty plan once.
            if self.fails(&FaultPlan::default()) {
                keep.clear();
            }
        }
        plan_of(plan, &units, &keep)
    }

    /// One ddmin round at granularity `n`: the first of `keep`'s `n` chunks
    /// (or, past two chunks, of their complements) that still fails, with
    /// the next granularity; `None` if none does.
    fn reduce(
        &mut self,
        plan: &FaultPlan,
        units: &[Vec<usize>],
        keep: &[usize],
        n: usize,
    ) -> Option<(Vec<usize>, usize)> {
        let chunk = keep.len().div_ceil(n);
        for start in (0..keep.len()).step_by(chunk) {
            let subset: Vec<usize> = keep[start..(start + chunk).min(keep.len())].to_vec();
            let complement: Vec<usize> = keep.iter().copied().filter(|u| !subset.contains(u)).collect();
            if self.fails(&plan_of(plan, units, &subset)) {
                return Some((subset, 2));
            }
            if n > 2 && self.fails(&plan_of(plan, units, &complement)) {
                return Some((complement, (n - 1).max(2)));
            }
        }
        None
    }

    /// Move each disturbance's heal earlier, halving the gap, while the plan
    /// still fails.
    fn shorten_disturbances(&mut self, mut plan: FaultPlan) -> FaultPlan {
        for unit in plan.units() {
            if unit.len() != 2 {
                continue;
            }
            let (d, h) = (unit[0], unit[1]);
            loop {
                let start = plan.0[d].at.as_millis();
                let gap = plan.0[h].at.as_millis() - start;
                if gap <= 100 {
                    break;
                }
                let mut candidate = plan.clone();
                candidate.0[h].at = HumanDuration::from_millis(start + gap / 2);
                if self.fails(&candidate) {
                    plan = candidate;
                } else {
                    break;
                }
            }
        }
        plan
    }

    /// Move each unit later, halfway to `end` (the end of the input phase)
    /// each time, while the plan still fails.
    fn move_later(&mut self, mut plan: FaultPlan, end: u64) -> FaultPlan {
        for unit in plan.units() {
            loop {
                let start = plan.0[unit[0]].at.as_millis();
                if start + 200 >= end {
                    break;
                }
                let shift = (end - start) / 2;
                let mut candidate = plan.clone();
                for &i in &unit {
                    let t = candidate.0[i].at.as_millis() + shift;
                    candidate.0[i] = ScheduledFault {
                        at: HumanDuration::from_millis(t),
                        fault: candidate.0[i].fault.clone(),
                    };
                }
                if self.fails(&candidate) {
                    plan = candidate;
                } else {
                    break;
                }
            }
        }
        plan
    }
}
