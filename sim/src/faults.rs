//! Fault plans as data: an ordered list of `(at, fault)`.
//!
//! A plan is either written in the scenario (`scripted`), drawn from the seed
//! (`random`), or both; either way it is fixed before the simulation starts,
//! printed in the run banner, stored in the run record, replayable and
//! shrinkable. Verbs come in pairs:
//!
//! | disturb | heal |
//! |---|---|
//! | `kill` a node | `restart` it |
//! | `pause` a node (a long GC pause: state and connections kept) | `resume` it |
//! | `partition` two groups (both directions) | `heal` the same groups |
//! | `partition-one-way` (first group cannot reach the second) | `heal-one-way` |
//! | `clog` one link (both directions) | `unclog` it |
//! | `network` packet loss and latency | `restore-network` |
//! | `slow` a service (latency × factor) | `restore` it |
//! | `cut-off` a service (unreachable) | `restore` it |
//!
//! A plan may hold an unpaired verb, e.g. a kill with no restart.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::human::HumanDuration;

/// An external service that can be slowed or cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    SourceLog,
    SinkStore,
    CheckpointStorage,
    /// Leader leases and the job's HA state (present with HA only).
    Coordination,
}

impl Service {
    /// The services every cluster has (the coordination service only runs
    /// with HA, see [`Service::Coordination`]).
    pub const ALL: [Service; 3] = [Service::SourceLog, Service::SinkStore, Service::CheckpointStorage];

    pub fn node(self) -> &'static str {
        match self {
            Service::SourceLog => "source-log",
            Service::SinkStore => "sink-store",
            Service::CheckpointStorage => "checkpoint-storage",
            Service::Coordination => "coordination",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.node())
    }
}

/// Packet loss and latency for the whole network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSettings {
    /// Probability that a packet is lost (reliable channels then retry).
    #[serde(default)]
    pub loss: f64,
    /// One-way latency range.
    pub latency: [HumanDuration; 2],
}

/// One fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Kill {
        node: String,
    },
    Restart {
        node: String,
    },
    Pause {
        node: String,
    },
    Resume {
        node: String,
    },
    /// Cut both directions between two groups of nodes.
    Partition {
        groups: [Vec<String>; 2],
    },
    Heal {
        groups: [Vec<String>; 2],
    },
    /// Cut the direction from the first group to the second.
    PartitionOneWay {
        groups: [Vec<String>; 2],
    },
    HealOneWay {
        groups: [Vec<String>; 2],
    },
    /// Clog one link (both directions).
    Clog {
        link: [String; 2],
    },
    Unclog {
        link: [String; 2],
    },
    Network(NetworkSettings),
    RestoreNetwork,
    Slow {
        service: Service,
        factor: u32,
    },
    CutOff {
        service: Service,
    },
    Restore {
        service: Service,
    },
    /// Not a fault but an operator action on the same schedule: a user
    /// cancels the job (Flink's `cancel`); it ends CANCELED.
    CancelJob,
}

impl Fault {
    pub fn verb(&self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Restart { .. } => "restart",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::Partition { .. } => "partition",
            Fault::Heal { .. } => "heal",
            Fault::PartitionOneWay { .. } => "partition-one-way",
            Fault::HealOneWay { .. } => "heal-one-way",
            Fault::Clog { .. } => "clog",
            Fault::Unclog { .. } => "unclog",
            Fault::Network(_) => "network",
            Fault::RestoreNetwork => "restore-network",
            Fault::Slow { .. } => "slow",
            Fault::CutOff { .. } => "cut-off",
            Fault::Restore { .. } => "restore",
            Fault::CancelJob => "cancel-job",
        }
    }

    /// Whether this fault ends a disturbance (the healing half of a pair).
    pub fn is_heal(&self) -> bool {
        matches!(
            self,
            Fault::Restart { .. }
                | Fault::Resume { .. }
                | Fault::Heal { .. }
                | Fault::HealOneWay { .. }
                | Fault::Unclog { .. }
                | Fault::RestoreNetwork
                | Fault::Restore { .. }
        )
    }

    /// Whether `heal` is the healing half of this fault: the same target,
    /// with groups compared as sets, and a two-way cut's groups (or a
    /// link's ends) in either order, as the cluster applies them.
    pub fn is_healed_by(&self, heal: &Fault) -> bool {
        let same =
            |a: &[String], b: &[String]| a.iter().collect::<std::collections::BTreeSet<_>>() == b.iter().collect();
        let one_way = |a: &[Vec<String>; 2], b: &[Vec<String>; 2]| same(&a[0], &b[0]) && same(&a[1], &b[1]);
        let two_way =
            |a: &[Vec<String>; 2], b: &[Vec<String>; 2]| one_way(a, b) || one_way(a, &[b[1].clone(), b[0].clone()]);
        match (self, heal) {
            (Fault::Kill { node: a }, Fault::Restart { node: b }) => a == b,
            (Fault::Pause { node: a }, Fault::Resume { node: b }) => a == b,
            (Fault::Partition { groups: a }, Fault::Heal { groups: b }) => two_way(a, b),
            (Fault::PartitionOneWay { groups: a }, Fault::HealOneWay { groups: b }) => one_way(a, b),
            (Fault::Clog { link: a }, Fault::Unclog { link: b }) => same(a, b),
            (Fault::Network(_), Fault::RestoreNetwork) => true,
            (Fault::Slow { service: a, .. } | Fault::CutOff { service: a }, Fault::Restore { service: b }) => a == b,
            _ => false,
        }
    }

    /// Every node name the fault mentions.
    pub fn nodes(&self) -> Vec<String> {
        match self {
            Fault::Kill { node } | Fault::Restart { node } | Fault::Pause { node } | Fault::Resume { node } => {
                vec![node.clone()]
            }
            Fault::Partition { groups }
            | Fault::Heal { groups }
            | Fault::PartitionOneWay { groups }
            | Fault::HealOneWay { groups } => groups.iter().flatten().cloned().collect(),
            Fault::Clog { link } | Fault::Unclog { link } => link.to_vec(),
            Fault::Slow { service, .. } | Fault::CutOff { service } | Fault::Restore { service } => {
                vec![service.node().to_string()]
            }
            Fault::Network(_) | Fault::RestoreNetwork | Fault::CancelJob => Vec::new(),
        }
    }
}

fn group(g: &[String]) -> String {
    format!("[{}]", g.join(","))
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.verb();
        match self {
            Fault::Kill { node } | Fault::Restart { node } | Fault::Pause { node } | Fault::Resume { node } => {
                write!(f, "{v} {node}")
            }
            Fault::Partition { groups }
            | Fault::Heal { groups }
            | Fault::PartitionOneWay { groups }
            | Fault::HealOneWay { groups } => write!(f, "{v} {} | {}", group(&groups[0]), group(&groups[1])),
            Fault::Clog { link } | Fault::Unclog { link } => write!(f, "{v} {} <-> {}", link[0], link[1]),
            Fault::Network(n) => write!(f, "{v} loss {} latency {}..{}", n.loss, n.latency[0], n.latency[1]),
            Fault::RestoreNetwork | Fault::CancelJob => f.write_str(v),
            Fault::Slow { service, factor } => write!(f, "{v} {service} x{factor}"),
            Fault::CutOff { service } | Fault::Restore { service } => write!(f, "{v} {service}"),
        }
    }
}

/// A fault at a simulated time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawScheduledFault {
    pub at: HumanDuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "exactly_two")]
    pub partition: Option<[Vec<String>; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "exactly_two")]
    pub heal: Option<[Vec<String>; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "exactly_two")]
    pub partition_one_way: Option<[Vec<String>; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "exactly_two")]
    pub heal_one_way: Option<[Vec<String>; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "exactly_two")]
    pub clog: Option<[String; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "exactly_two")]
    pub unclog: Option<[String; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_network: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<Service>,
    /// With `slow`: the latency multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_off: Option<Service>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<Service>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_job: Option<bool>,
}

/// A pair written as a list of exactly two: two partition groups, or the
/// two ends of a link. serde's fixed-size arrays would drop a third entry.
fn exactly_two<'de, D, T>(d: D) -> Result<Option<[T; 2]>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Vec::<T>::deserialize(d)?;
    let n = items.len();
    let pair: [T; 2] = items
        .try_into()
        .map_err(|_| serde::de::Error::custom(format!("expected a list of exactly two, found {n}")))?;
    Ok(Some(pair))
}

const VERBS: &str = "kill, restart, pause, resume, partition, heal, partition-one-way, heal-one-way, clog, unclog, network, restore-network, slow, cut-off, restore, cancel-job";

impl TryFrom<RawScheduledFault> for ScheduledFault {
    type Error = String;
    fn try_from(mut r: RawScheduledFault) -> Result<Self, String> {
        // Checked in the order of the fields, so the first bad one is named.
        let mut verbs = r.take_target_verbs();
        verbs.extend(network_verb(r.network.take())?);
        verbs.extend(flag_verb(r.restore_network, "restore-network", Fault::RestoreNetwork)?);
        verbs.extend(slow_verb(r.slow, r.factor)?);
        verbs.extend(r.cut_off.map(|service| Fault::CutOff { service }));
        verbs.extend(r.restore.map(|service| Fault::Restore { service }));
        verbs.extend(flag_verb(r.cancel_job, "cancel-job", Fault::CancelJob)?);
        match verbs.len() {
            1 => Ok(ScheduledFault {
                at: r.at,
                fault: verbs.remove(0),
            }),
            0 => Err(format!("a fault needs one verb: {VERBS}")),
            _ => Err(format!(
                "a fault has exactly one verb ({VERBS}); write one entry per verb"
            )),
        }
    }
}

impl RawScheduledFault {
    /// The verbs that name nodes, groups or links (none can be malformed),
    /// in the order of the fields.
    fn take_target_verbs(&mut self) -> Vec<Fault> {
        [
            self.kill.take().map(|node| Fault::Kill { node }),
            self.restart.take().map(|node| Fault::Restart { node }),
            self.pause.take().map(|node| Fault::Pause { node }),
            self.resume.take().map(|node| Fault::Resume { node }),
            self.partition.take().map(|groups| Fault::Partition { groups }),
            self.heal.take().map(|groups| Fault::Heal { groups }),
            self.partition_one_way
                .take()
                .map(|groups| Fault::PartitionOneWay { groups }),
            self.heal_one_way.take().map(|groups| Fault::HealOneWay { groups }),
            self.clog.take().map(|link| Fault::Clog { link }),
            self.unclog.take().map(|link| Fault::Unclog { link }),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// `network`, its loss a probability and its latency a non-empty range.
fn network_verb(network: Option<NetworkSettings>) -> Result<Option<Fault>, String> {
    let Some(n) = network else { return Ok(None) };
    if !(0.0..1.0).contains(&n.loss) {
        return Err(format!("network loss must be within [0, 1), got {}", n.loss));
    }
    if n.latency[0] > n.latency[1] || n.latency[1].as_millis() == 0 {
        return Err("network latency must be a non-empty range like [\"1ms\", \"20ms\"]".into());
    }
    Ok(Some(Fault::Network(n)))
}

/// A verb without an argument, written `verb = true`.
fn flag_verb(flag: Option<bool>, verb: &str, fault: Fault) -> Result<Option<Fault>, String> {
    match flag {
        Some(true) => Ok(Some(fault)),
        Some(false) => Err(format!("{verb} takes `true`")),
        None => Ok(None),
    }
}

/// `slow`, with its `factor` (10 unless given; at least 1).
fn slow_verb(slow: Option<Service>, factor: Option<u32>) -> Result<Option<Fault>, String> {
    match (slow, factor) {
        (Some(service), Some(factor)) if factor >= 1 => Ok(Some(Fault::Slow { service, factor })),
        (Some(service), None) => Ok(Some(Fault::Slow { service, factor: 10 })),
        (Some(_), Some(_)) => Err("factor must be at least 1".into()),
        (None, Some(_)) => Err("factor goes with slow".into()),
        (None, None) => Ok(None),
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
            Fault::Pause { node } => r.pause = Some(node),
            Fault::Resume { node } => r.resume = Some(node),
            Fault::Partition { groups } => r.partition = Some(groups),
            Fault::Heal { groups } => r.heal = Some(groups),
            Fault::PartitionOneWay { groups } => r.partition_one_way = Some(groups),
            Fault::HealOneWay { groups } => r.heal_one_way = Some(groups),
            Fault::Clog { link } => r.clog = Some(link),
            Fault::Unclog { link } => r.unclog = Some(link),
            Fault::Network(n) => r.network = Some(n),
            Fault::RestoreNetwork => r.restore_network = Some(true),
            Fault::Slow { service, factor } => {
                r.slow = Some(service);
                r.factor = Some(factor);
            }
            Fault::CutOff { service } => r.cut_off = Some(service),
            Fault::Restore { service } => r.restore = Some(service),
            Fault::CancelJob => r.cancel_job = Some(true),
        }
        r
    }
}

/// An ordered list of faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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

    /// Group the plan into units: each disturbing fault with the first later
    /// fault that heals it, and lone faults. Indices into the plan, sorted.
    pub fn units(&self) -> Vec<Vec<usize>> {
        let mut used = vec![false; self.0.len()];
        let mut units = Vec::new();
        for i in 0..self.0.len() {
            if used[i] {
                continue;
            }
            used[i] = true;
            let mut unit = vec![i];
            if !self.0[i].fault.is_heal() {
                if let Some(j) =
                    (i + 1..self.0.len()).find(|&j| !used[j] && self.0[i].fault.is_healed_by(&self.0[j].fault))
                {
                    used[j] = true;
                    unit.push(j);
                }
            }
            units.push(unit);
        }
        units
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, fault: Fault) -> ScheduledFault {
        ScheduledFault {
            at: HumanDuration::from_millis(ms),
            fault,
        }
    }

    #[test]
    fn raw_fault_needs_exactly_one_verb() {
        let both = RawScheduledFault {
            at: HumanDuration::from_millis(1),
            kill: Some("tm-0".into()),
            restart: Some("tm-0".into()),
            ..Default::default()
        };
        assert!(ScheduledFault::try_from(both).is_err());
        assert!(ScheduledFault::try_from(RawScheduledFault::default()).is_err());
    }

    #[test]
    fn every_verb_round_trips_through_the_raw_form() {
        let g = || [vec!["jm".to_string()], vec!["tm-0".to_string(), "tm-1".to_string()]];
        let link = || ["tm-0".to_string(), "tm-1".to_string()];
        let faults = vec![
            Fault::Kill { node: "tm-0".into() },
            Fault::Restart { node: "tm-0".into() },
            Fault::Pause { node: "tm-1".into() },
            Fault::Resume { node: "tm-1".into() },
            Fault::Partition { groups: g() },
            Fault::Heal { groups: g() },
            Fault::PartitionOneWay { groups: g() },
            Fault::HealOneWay { groups: g() },
            Fault::Clog { link: link() },
            Fault::Unclog { link: link() },
            Fault::Network(NetworkSettings {
                loss: 0.1,
                latency: [HumanDuration::from_millis(1), HumanDuration::from_millis(30)],
            }),
            Fault::RestoreNetwork,
            Fault::Slow {
                service: Service::CheckpointStorage,
                factor: 20,
            },
            Fault::CutOff {
                service: Service::SinkStore,
            },
            Fault::Restore {
                service: Service::SinkStore,
            },
            Fault::CancelJob,
        ];
        for f in faults {
            let s = at(5, f.clone());
            let raw: RawScheduledFault = s.clone().into();
            assert_eq!(ScheduledFault::try_from(raw), Ok(s), "{f}");
        }
    }

    #[test]
    fn units_pair_disturbances_with_their_heals() {
        let plan = FaultPlan(vec![
            at(1, Fault::Kill { node: "tm-0".into() }),
            at(2, Fault::Pause { node: "tm-1".into() }),
            at(3, Fault::Restart { node: "tm-0".into() }),
            at(4, Fault::Kill { node: "tm-2".into() }),
            at(5, Fault::Resume { node: "tm-1".into() }),
        ]);
        assert_eq!(plan.units(), vec![vec![0, 2], vec![1, 4], vec![3]]);
    }
}
