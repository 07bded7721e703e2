//! Fault plans as data: an ordered list of `(at, fault)`.
//!
//! A plan is either written in the scenario (`scripted`), drawn from the seed
//! (`random`), or both; either way it is fixed before the simulation starts,
//! printed in the run banner, stored in the run record and replayable. Verbs
//! come in pairs (kill/restart); a plan may hold an unpaired verb, e.g. a kill
//! with no restart.

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::human::HumanDuration;

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Crash a node: its processes die, its connections break.
    Kill { node: String },
    /// Start a node again (killed first if it is running).
    Restart { node: String },
}

impl Fault {
    /// The node this fault acts on.
    pub fn node(&self) -> &str {
        match self {
            Fault::Kill { node } | Fault::Restart { node } => node,
        }
    }

    /// Whether this fault ends a disturbance (the healing half of a pair).
    pub fn is_heal(&self) -> bool {
        matches!(self, Fault::Restart { .. })
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Restart { .. } => "restart",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb(), self.node())
    }
}

/// A fault at a simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawScheduledFault", into = "RawScheduledFault")]
pub struct ScheduledFault {
    pub at: HumanDuration,
    pub fault: Fault,
}

impl fmt::Display for ScheduledFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {:>7}: {}", self.at.to_string(), self.fault)
    }
}

/// The on-disk form: `{ at = "5s", kill = "tm-1" }`, one verb per entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduledFault {
    pub at: HumanDuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
}

impl TryFrom<RawScheduledFault> for ScheduledFault {
    type Error = String;
    fn try_from(r: RawScheduledFault) -> Result<Self, String> {
        let mut verbs = Vec::new();
        if let Some(node) = r.kill {
            verbs.push(Fault::Kill { node });
        }
        if let Some(node) = r.restart {
            verbs.push(Fault::Restart { node });
        }
        match verbs.len() {
            1 => Ok(ScheduledFault {
                at: r.at,
                fault: verbs.remove(0),
            }),
            0 => Err("a fault needs one verb: kill or restart".into()),
            _ => Err("a fault has exactly one verb (kill or restart); write two entries".into()),
        }
    }
}

impl From<ScheduledFault> for RawScheduledFault {
    fn from(f: ScheduledFault) -> Self {
        let mut r = RawScheduledFault {
            at: f.at,
            ..Default::default()
        };
        match f.fault {
            Fault::Kill { node } => r.kill = Some(node),
            Fault::Restart { node } => r.restart = Some(node),
        }
        r
    }
}

/// An ordered list of faults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultPlan(pub Vec<ScheduledFault>);

impl FaultPlan {
    /// Sort by time; faults at the same time keep their written order.
    pub fn normalized(mut self) -> Self {
        self.0.sort_by_key(|f| f.at);
        self
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// When the last fault of the plan happens (zero for an empty plan); the
    /// heal phase starts here.
    pub fn last_fault_ms(&self) -> u64 {
        self.0.iter().map(|f| f.at.as_millis()).max().unwrap_or(0)
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "  (no faults)");
        }
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {s}")?;
        }
        Ok(())
    }
}

/// Kinds of random faults a scenario may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RandomFaultKind {
    /// Kill a TaskManager and restart it after `down-for`.
    TmCrash,
    /// Kill a TaskManager for good.
    TmLoss,
}

/// Faults drawn from the seed: `count` faults of the given kinds, at times
/// uniform in `window`, each lasting a time uniform in `down-for`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RandomFaults {
    pub kinds: Vec<RandomFaultKind>,
    pub count: u32,
    pub window: [HumanDuration; 2],
    #[serde(default = "default_down_for")]
    pub down_for: [HumanDuration; 2],
}

fn default_down_for() -> [HumanDuration; 2] {
    [HumanDuration::from_millis(2000), HumanDuration::from_millis(5000)]
}

/// Salt so the plan's random stream is independent of the simulator's.
const PLAN_SALT: u64 = 0x6861_6c61_625f_706c; // "halab_pl"

impl RandomFaults {
    /// Draw this seed's faults over the TaskManagers `0..task_managers`.
    pub fn draw(&self, seed: u64, task_managers: u32) -> Vec<ScheduledFault> {
        let mut rng = StdRng::seed_from_u64(seed ^ PLAN_SALT);
        let mut out = Vec::new();
        if self.kinds.is_empty() || task_managers == 0 {
            return out;
        }
        let range = |rng: &mut StdRng, r: &[HumanDuration; 2]| rng.gen_range(r[0].as_millis()..=r[1].as_millis());
        for _ in 0..self.count {
            let kind = self.kinds[rng.gen_range(0..self.kinds.len())];
            let tm = rng.gen_range(0..task_managers);
            let at = range(&mut rng, &self.window);
            let node = format!("tm-{tm}");
            out.push(ScheduledFault {
                at: HumanDuration::from_millis(at),
                fault: Fault::Kill { node: node.clone() },
            });
            if kind == RandomFaultKind::TmCrash {
                let down = range(&mut rng, &self.down_for);
                out.push(ScheduledFault {
                    at: HumanDuration::from_millis(at + down),
                    fault: Fault::Restart { node },
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_draw_is_deterministic_and_seed_dependent() {
        let r = RandomFaults {
            kinds: vec![RandomFaultKind::TmCrash],
            count: 2,
            window: [HumanDuration::from_millis(1000), HumanDuration::from_millis(5000)],
            down_for: default_down_for(),
        };
        let a = r.draw(7, 3);
        assert_eq!(a, r.draw(7, 3));
        assert_eq!(a.len(), 4);
        assert!((1..50).any(|s| r.draw(s, 3) != a));
        for f in &a {
            assert!(f.fault.node().starts_with("tm-"));
        }
    }

    #[test]
    fn raw_fault_needs_exactly_one_verb() {
        let both = RawScheduledFault {
            at: HumanDuration::from_millis(1),
            kill: Some("tm-0".into()),
            restart: Some("tm-0".into()),
        };
        assert!(ScheduledFault::try_from(both).is_err());
        assert!(ScheduledFault::try_from(RawScheduledFault::default()).is_err());
    }
}
