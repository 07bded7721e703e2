//! Fault plans that cannot do what they say are bad input: a fault after
//! the run can have ended, a node named twice in a partition group or in
//! both groups, and a
//! heal, resume, restart, restore, unclog or network restore with no
//! disturbance of the same target before it (a lone heal, a heal whose
//! groups match no partition, a restart of a node never killed). Each is
//! reported against the fault's place in the file.

use crate::faults::{Fault, ScheduledFault};

/// A fault that cannot take effect: its index in the scripted list, the
/// field at fault (`""` for the fault itself, `"at"`), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanProblem {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

/// Why a healing fault cannot take effect when nothing it undoes
/// ([`Fault::is_healed_by`]) comes before it.
fn missing_disturbance(f: &Fault) -> String {
    match f {
        Fault::Restart { node } => format!("no kill of `{node}` comes before it"),
        Fault::Resume { node } => format!("no pause of `{node}` comes before it"),
        Fault::Heal { .. } => "no partition between these groups comes before it".into(),
        Fault::HealOneWay { .. } => "no one-way partition between these groups comes before it".into(),
        Fault::Unclog { link } => format!("no clog of {} <-> {} comes before it", link[0], link[1]),
        Fault::RestoreNetwork => "no network change comes before it".into(),
        Fault::Restore { service } => format!("no slow or cut-off of `{}` comes before it", service.node()),
        other => unreachable!("invariant: only heals are asked about, not `{other}`"),
    }
}

/// Check a scripted plan; `last_ms` is the latest time a fault can take
/// effect (the input phase plus the recovery bound).
pub fn check_plan(faults: &[ScheduledFault], last_ms: u64) -> Result<(), PlanProblem> {
    let problem = |index, field, message: String| PlanProblem { index, field, message };
    for (i, f) in faults.iter().enumerate() {
        if f.at.as_millis() > last_ms {
            return Err(problem(
                i,
                "at",
                format!(
                    "`{}` is after the run can have ended ({last_ms} ms: the input phase plus the recovery bound); the fault would never take effect",
                    f.at
                ),
            ));
        }
        if let Fault::Partition { groups }
        | Fault::Heal { groups }
        | Fault::PartitionOneWay { groups }
        | Fault::HealOneWay { groups } = &f.fault
        {
            for g in groups {
                if let Some(n) = g.iter().enumerate().find(|(j, n)| g[..*j].contains(n)).map(|(_, n)| n) {
                    return Err(problem(i, "", format!("node `{n}` is listed twice in a group")));
                }
            }
            if let Some(n) = groups[0].iter().find(|n| groups[1].contains(n)) {
                return Err(problem(i, "", format!("node `{n}` is in both groups")));
            }
        }
    }
    // In the order the plan runs: by time, then as written.
    let mut order: Vec<usize> = (0..faults.len()).collect();
    order.sort_by_key(|&i| faults[i].at);
    let mut before: Vec<&Fault> = Vec::new();
    for i in order {
        let f = &faults[i].fault;
        if f.is_heal() && !before.iter().any(|d| d.is_healed_by(f)) {
            let why = missing_disturbance(f);
            return Err(problem(i, "", format!("`{}` cannot take effect: {why}", f.verb())));
        }
        before.push(f);
    }
    check_link_cuts(faults, &order_by_time(faults))
}

/// The plan's faults in the order they run: by time, then as written.
fn order_by_time(faults: &[ScheduledFault]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..faults.len()).collect();
    order.sort_by_key(|&i| faults[i].at);
    order
}

/// Whether a link change goes both ways or from the first group only.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Directions {
    Both,
    OneWay,
}

/// The directed links between `from` and `to`, each with `change`.
fn links<'a>(from: &'a [String], to: &'a [String], directions: Directions, change: i8) -> Vec<(&'a str, &'a str, i8)> {
    let mut v = Vec::new();
    for a in from {
        for b in to {
            v.push((a.as_str(), b.as_str(), change));
            if directions == Directions::Both {
                v.push((b.as_str(), a.as_str(), change));
            }
        }
    }
    v
}

/// The directed links a fault cuts (`+1`) or heals (`-1`).
fn link_changes(f: &Fault) -> Vec<(&str, &str, i8)> {
    use Directions::{Both, OneWay};
    match f {
        Fault::Partition { groups } => links(&groups[0], &groups[1], Both, 1),
        Fault::Heal { groups } => links(&groups[0], &groups[1], Both, -1),
        Fault::PartitionOneWay { groups } => links(&groups[0], &groups[1], OneWay, 1),
        Fault::HealOneWay { groups } => links(&groups[0], &groups[1], OneWay, -1),
        Fault::Clog { link } => links(&link[..1], &link[1..], Both, 1),
        Fault::Unclog { link } => links(&link[..1], &link[1..], Both, -1),
        _ => Vec::new(),
    }
}

/// Links count their cuts, as the cluster does: each heal of a link must
/// find a cut of it that no earlier heal took back (two heals of one
/// partition would otherwise pass the shape check above).
fn check_link_cuts(faults: &[ScheduledFault], order: &[usize]) -> Result<(), PlanProblem> {
    let mut cuts: std::collections::BTreeMap<(&str, &str), u32> = std::collections::BTreeMap::new();
    for &i in order {
        let f = &faults[i].fault;
        for (a, b, change) in link_changes(f) {
            let n = cuts.entry((a, b)).or_insert(0);
            if change > 0 {
                *n += 1;
            } else if *n == 0 {
                return Err(PlanProblem {
                    index: i,
                    field: "",
                    message: format!(
                        "`{}` cannot take effect: the link {a} -> {b} is not cut any more (an earlier heal restored it)",
                        f.verb()
                    ),
                });
            } else {
                *n -= 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Service;
    use crate::human::HumanDuration;
    use std::time::Duration;

    fn at(ms: u64, fault: Fault) -> ScheduledFault {
        ScheduledFault {
            at: HumanDuration(Duration::from_millis(ms)),
            fault,
        }
    }

    fn node(n: &str) -> String {
        n.to_string()
    }

    fn groups(a: &[&str], b: &[&str]) -> [Vec<String>; 2] {
        [a.iter().map(|n| node(n)).collect(), b.iter().map(|n| node(n)).collect()]
    }

    fn message(plan: &[ScheduledFault]) -> String {
        check_plan(plan, 10_000).expect_err("refused").message
    }

    #[test]
    fn healers_need_their_disturbance_first() {
        let kill = Fault::Kill { node: node("tm-0") };
        let restart = Fault::Restart { node: node("tm-0") };
        assert!(check_plan(&[at(1, kill.clone()), at(2, restart.clone())], 10_000).is_ok());
        // Listed out of order, but run by time.
        assert!(check_plan(&[at(2, restart.clone()), at(1, kill.clone())], 10_000).is_ok());
        assert!(message(&[at(1, restart.clone())]).contains("no kill of `tm-0`"));
        assert!(message(&[at(1, restart), at(2, kill)]).contains("no kill"));
        assert!(message(&[at(1, Fault::Resume { node: node("jm") })]).contains("no pause of `jm`"));
        let cut = Fault::Partition {
            groups: groups(&["jm"], &["tm-0", "tm-1"]),
        };
        let heal = |a: &[&str], b: &[&str]| Fault::Heal { groups: groups(a, b) };
        assert!(check_plan(&[at(1, cut.clone()), at(2, heal(&["tm-1", "tm-0"], &["jm"]))], 10_000).is_ok());
        assert!(message(&[at(1, heal(&["jm"], &["tm-0"]))]).contains("no partition"));
        assert!(message(&[at(1, cut.clone()), at(2, heal(&["jm"], &["tm-0"]))]).contains("no partition"));
        assert!(message(&[at(2, cut), at(1, heal(&["jm"], &["tm-0", "tm-1"]))]).contains("no partition"));
        let one_way = Fault::PartitionOneWay {
            groups: groups(&["jm"], &["tm-0"]),
        };
        let heal_back = Fault::HealOneWay {
            groups: groups(&["tm-0"], &["jm"]),
        };
        assert!(message(&[at(1, one_way), at(2, heal_back)]).contains("no one-way partition"));
        let link = [node("tm-0"), node("tm-1")];
        let back = [node("tm-1"), node("tm-0")];
        assert!(check_plan(
            &[at(1, Fault::Clog { link }), at(2, Fault::Unclog { link: back.clone() })],
            10_000
        )
        .is_ok());
        assert!(message(&[at(1, Fault::Unclog { link: back })]).contains("no clog"));
        assert!(message(&[at(1, Fault::RestoreNetwork)]).contains("no network change"));
        let store = Service::CheckpointStorage;
        let restore = Fault::Restore { service: store };
        assert!(message(&[at(1, restore.clone())]).contains("no slow or cut-off"));
        let slow = Fault::Slow {
            service: store,
            factor: 3,
        };
        assert!(check_plan(&[at(1, slow), at(2, restore.clone())], 10_000).is_ok());
        let cut_off = Fault::CutOff { service: store };
        assert!(check_plan(&[at(1, cut_off), at(2, restore)], 10_000).is_ok());
        // Every disturbance lets its own healer through.
        let pause = Fault::Pause { node: node("jm") };
        assert!(check_plan(&[at(1, pause), at(2, Fault::Resume { node: node("jm") })], 10_000).is_ok());
        let one_way = Fault::PartitionOneWay {
            groups: groups(&["jm"], &["tm-0"]),
        };
        let heal_same = Fault::HealOneWay {
            groups: groups(&["jm"], &["tm-0"]),
        };
        assert!(check_plan(&[at(1, one_way), at(2, heal_same)], 10_000).is_ok());
        let network = Fault::Network(crate::faults::NetworkSettings {
            loss: 0.1,
            latency: [
                HumanDuration(Duration::from_millis(1)),
                HumanDuration(Duration::from_millis(2)),
            ],
        });
        assert!(check_plan(&[at(1, network), at(2, Fault::RestoreNetwork)], 10_000).is_ok());
    }

    /// Found by `a_plan_that_passes_validation_runs_to_a_verdict_in_bounds`:
    /// one partition healed twice passed the shape check and crashed the
    /// run ("invariant: a heal follows its cut").
    #[test]
    fn a_cut_is_healed_once() {
        let cut = Fault::Partition {
            groups: groups(&["tm-1"], &["tm-0"]),
        };
        let heal = Fault::Heal {
            groups: groups(&["tm-1"], &["tm-0"]),
        };
        let twice = [at(0, cut.clone()), at(1, heal.clone()), at(0, heal.clone())];
        let p = check_plan(&twice, 10_000).expect_err("healed twice");
        assert_eq!(p.index, 1, "the second heal to run");
        assert!(p.message.contains("tm-1 -> tm-0 is not cut any more"), "{}", p.message);
        let two_cuts = [at(0, cut.clone()), at(1, cut), at(2, heal.clone()), at(3, heal)];
        assert!(check_plan(&two_cuts, 10_000).is_ok(), "overlapping cuts heal one each");
        // Overlapping partitions of two shapes: the wide heal, written
        // twice, finds tm-0's link cut twice but tm-1's once.
        let narrow = Fault::Partition {
            groups: groups(&["tm-0"], &["jm"]),
        };
        let wide = Fault::Partition {
            groups: groups(&["tm-0", "tm-1"], &["jm"]),
        };
        let wide_heal = Fault::Heal {
            groups: groups(&["tm-0", "tm-1"], &["jm"]),
        };
        let plan = [at(0, narrow), at(1, wide), at(2, wide_heal.clone()), at(3, wide_heal)];
        let p = check_plan(&plan, 10_000).expect_err("tm-1 healed twice");
        assert_eq!(p.index, 3);
        assert!(p.message.contains("tm-1 -> jm is not cut any more"), "{}", p.message);
    }

    #[test]
    fn late_faults_and_repeated_nodes() {
        let kill = Fault::Kill { node: node("tm-0") };
        assert!(check_plan(&[at(10_000, kill.clone())], 10_000).is_ok());
        let p = check_plan(&[at(10_001, kill)], 10_000).expect_err("too late");
        assert_eq!((p.index, p.field), (0, "at"));
        assert!(p.message.contains("never take effect"), "{}", p.message);
        let twice = Fault::Partition {
            groups: groups(&["tm-0", "tm-0"], &["jm"]),
        };
        assert!(message(&[at(1, twice)]).contains("`tm-0` is listed twice"));
        let both = Fault::PartitionOneWay {
            groups: groups(&["tm-0", "jm"], &["tm-1", "jm"]),
        };
        assert!(message(&[at(1, both)]).contains("`jm` is in both groups"));
    }
}
