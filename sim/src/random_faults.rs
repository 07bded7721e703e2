//! Faults drawn from the seed, swarm style.
//!
//! A scenario names the kinds of faults it wants, how many (`count`) or how
//! often (`rate` per second of the window), when (`window`) and for how long
//! (`down-for`), and over which TaskManagers and services. With `swarm = true`
//! (the default) each seed first enables a random non-empty subset of the
//! kinds, so different seeds stress different combinations (Groce et al.,
//! "Swarm Testing"). The draw uses its own RNG seeded from the run's seed, so
//! it is independent of the simulator's random stream.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::faults::{Fault, NetworkSettings, ScheduledFault, Service};
use crate::human::HumanDuration;

/// Kinds of random faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RandomFaultKind {
    /// Kill a TaskManager, restart it after `down-for`.
    TmCrash,
    /// Kill a TaskManager for good (needs spare slots to recover).
    TmLoss,
    /// Pause a TaskManager (a long GC pause), resume it after `down-for`.
    TmPause,
    /// Partition a TaskManager from every other node, both directions.
    TmPartition,
    /// Cut a TaskManager → JobManager direction only (its heartbeats are lost).
    TmPartitionOneWay,
    /// Clog the link between two nodes (TaskManagers and services).
    LinkClog,
    /// Packet loss and extra latency on the whole network.
    Network,
    /// Slow a service (latency × factor).
    ServiceSlow,
    /// Make a service unreachable.
    ServiceCutOff,
    /// Kill a service node and restart it (its state is durable).
    ServiceCrash,
    /// Kill a JobManager, restart it after `down-for` (needs HA).
    JmCrash,
    /// Pause a JobManager, resume it after `down-for` (needs HA).
    JmPause,
    /// Partition a JobManager from the coordination service only: it keeps
    /// its TaskManagers but loses its lease (split brain; needs HA).
    JmPartition,
}

impl RandomFaultKind {
    /// Kinds that only make sense with JobManager high availability.
    pub fn needs_high_availability(self) -> bool {
        matches!(
            self,
            RandomFaultKind::JmCrash | RandomFaultKind::JmPause | RandomFaultKind::JmPartition
        )
    }
}

/// The `[faults.random]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RandomFaults {
    pub kinds: Vec<RandomFaultKind>,
    /// Number of faults; exclusive with `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Faults per second of the window; exclusive with `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    pub window: [HumanDuration; 2],
    #[serde(default = "default_down_for")]
    pub down_for: [HumanDuration; 2],
    /// TaskManagers that may be hit (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_managers: Option<Vec<String>>,
    /// JobManagers that may be hit by the `jm-*` kinds (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_managers: Option<Vec<String>>,
    /// Services that may be hit (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<Service>>,
    /// Each seed enables a random non-empty subset of `kinds`.
    #[serde(default = "default_swarm")]
    pub swarm: bool,
    /// Range of the slow-service factor.
    #[serde(default = "default_slow_factor")]
    pub slow_factor: [u32; 2],
}

fn default_down_for() -> [HumanDuration; 2] {
    [HumanDuration::from_millis(2000), HumanDuration::from_millis(5000)]
}

fn default_swarm() -> bool {
    true
}

fn default_slow_factor() -> [u32; 2] {
    [5, 50]
}

/// The most faults a random spec may draw (`count`, or `rate` over the
/// window); each comes with its heal.
pub const MAX_RANDOM_FAULTS: u32 = 1000;

/// Salt so the plan's random stream is independent of the simulator's.
const PLAN_SALT: u64 = 0x6861_6c61_625f_706c; // "halab_pl"

impl RandomFaults {
    /// How many faults this spec asks for.
    pub fn fault_count(&self) -> u32 {
        match (self.count, self.rate) {
            (Some(c), _) => c,
            (None, Some(r)) => {
                let secs = (self.window[1].as_millis() - self.window[0].as_millis()) as f64 / 1000.0;
                (r * secs).round() as u32
            }
            (None, None) => 0,
        }
    }

    /// Check the spec against the cluster's node names.
    pub fn validate(&self, task_managers: &[String], job_managers: &[String]) -> Result<(), (String, String)> {
        let e = |path: &str, msg: String| Err((format!("faults.random.{path}"), msg));
        if self.window[0] > self.window[1] {
            return e("window", "start is after end".into());
        }
        if self.down_for[0] > self.down_for[1] {
            return e("down-for", "start is after end".into());
        }
        if self.kinds.is_empty() {
            return e("kinds", "must name at least one kind".into());
        }
        match (self.count, self.rate) {
            (Some(_), Some(_)) => return e("rate", "give either count or rate, not both".into()),
            (None, None) => return e("kinds", "give count or rate".into()),
            (None, Some(r)) if !(r.is_finite() && r > 0.0) => return e("rate", format!("must be positive, got {r}")),
            _ => {}
        }
        if self.fault_count() > MAX_RANDOM_FAULTS {
            let key = if self.count.is_some() { "count" } else { "rate" };
            return e(
                key,
                format!(
                    "{} faults is more than the limit {MAX_RANDOM_FAULTS}",
                    self.fault_count()
                ),
            );
        }
        if self.slow_factor[0] == 0 || self.slow_factor[0] > self.slow_factor[1] {
            return e(
                "slow-factor",
                "must be a range like [5, 50] starting at 1 or more".into(),
            );
        }
        if let Some(tms) = &self.task_managers {
            if tms.is_empty() {
                return e("task-managers", "must not be empty".into());
            }
            if let Some(bad) = tms.iter().find(|t| !task_managers.contains(t)) {
                return e("task-managers", format!("unknown TaskManager `{bad}`"));
            }
        }
        if let Some(jms) = &self.job_managers {
            if jms.is_empty() {
                return e("job-managers", "must not be empty".into());
            }
            if let Some(bad) = jms.iter().find(|j| !job_managers.contains(j)) {
                return e("job-managers", format!("unknown JobManager `{bad}`"));
            }
        }
        if self.services.as_ref().is_some_and(|s| s.is_empty()) {
            return e("services", "must not be empty".into());
        }
        Ok(())
    }

    /// Draw this seed's faults for a cluster with these TaskManagers and
    /// JobManagers.
    pub fn draw(&self, seed: u64, all_task_managers: &[String], job_managers: &[String]) -> Vec<ScheduledFault> {
        let mut rng = StdRng::seed_from_u64(seed ^ PLAN_SALT);
        let targets = Targets {
            tms: self.task_managers.clone().unwrap_or_else(|| all_task_managers.to_vec()),
            services: self.services.clone().unwrap_or_else(|| Service::ALL.to_vec()),
            all_task_managers,
            job_managers,
            jm_targets: self.job_managers.clone().unwrap_or_else(|| job_managers.to_vec()),
            slow_factor: self.slow_factor,
        };
        let kinds = self.enabled_kinds(&mut rng);
        let mut out = Vec::new();
        if targets.tms.is_empty() || kinds.is_empty() {
            return out;
        }
        for _ in 0..self.fault_count() {
            let kind = kinds[rng.gen_range(0..kinds.len())];
            let at = draw_ms(&mut rng, &self.window);
            let end = at + draw_ms(&mut rng, &self.down_for);
            let tm = targets.tms[rng.gen_range(0..targets.tms.len())].clone();
            let service = targets.services[rng.gen_range(0..targets.services.len())];
            let (disturb, heal) = targets.pair(kind, tm, service, &mut rng);
            out.push(ScheduledFault {
                at: HumanDuration::from_millis(at),
                fault: disturb,
            });
            if let Some(h) = heal {
                out.push(ScheduledFault {
                    at: HumanDuration::from_millis(end),
                    fault: h,
                });
            }
        }
        out
    }

    /// The kinds this seed draws from: with swarm, a random non-empty
    /// subset (drawn only when there is a choice).
    fn enabled_kinds(&self, rng: &mut StdRng) -> Vec<RandomFaultKind> {
        let mut kinds = self.kinds.clone();
        if self.swarm && kinds.len() > 1 {
            kinds.shuffle(rng);
            let keep = rng.gen_range(1..=kinds.len());
            kinds.truncate(keep);
        }
        kinds
    }
}

/// A time drawn from the range `r`, in ms.
fn draw_ms(rng: &mut StdRng, r: &[HumanDuration; 2]) -> u64 {
    rng.gen_range(r[0].as_millis()..=r[1].as_millis())
}

/// What a draw may hit.
struct Targets<'a> {
    /// TaskManagers that may be hit.
    tms: Vec<String>,
    /// Services that may be hit.
    services: Vec<Service>,
    all_task_managers: &'a [String],
    job_managers: &'a [String],
    /// JobManagers the `jm-*` kinds may hit.
    jm_targets: Vec<String>,
    slow_factor: [u32; 2],
}

/// A disturbing fault and, unless it is for good, the fault that heals it.
type FaultPair = (Fault, Option<Fault>);

impl Targets<'_> {
    /// The faults of one draw of `kind` on TaskManager `tm` or `service`.
    /// Kinds draw more from `rng` only as they need.
    fn pair(&self, kind: RandomFaultKind, tm: String, service: Service, rng: &mut StdRng) -> FaultPair {
        match kind {
            RandomFaultKind::TmCrash => (Fault::Kill { node: tm.clone() }, Some(Fault::Restart { node: tm })),
            RandomFaultKind::TmLoss => (Fault::Kill { node: tm }, None),
            RandomFaultKind::TmPause => (Fault::Pause { node: tm.clone() }, Some(Fault::Resume { node: tm })),
            RandomFaultKind::TmPartition => {
                let groups = [vec![tm.clone()], self.others(&tm)];
                (
                    Fault::Partition { groups: groups.clone() },
                    Some(Fault::Heal { groups }),
                )
            }
            RandomFaultKind::TmPartitionOneWay => {
                let groups = [vec![tm], self.job_managers.to_vec()];
                (
                    Fault::PartitionOneWay { groups: groups.clone() },
                    Some(Fault::HealOneWay { groups }),
                )
            }
            RandomFaultKind::LinkClog => self.link_clog(tm, rng),
            RandomFaultKind::Network => network(rng),
            RandomFaultKind::ServiceSlow => {
                let factor = rng.gen_range(self.slow_factor[0]..=self.slow_factor[1]);
                (Fault::Slow { service, factor }, Some(Fault::Restore { service }))
            }
            RandomFaultKind::ServiceCutOff => (Fault::CutOff { service }, Some(Fault::Restore { service })),
            RandomFaultKind::ServiceCrash => {
                let node = service.node().to_string();
                (Fault::Kill { node: node.clone() }, Some(Fault::Restart { node }))
            }
            RandomFaultKind::JmCrash => {
                let jm = self.pick_jm(rng);
                (Fault::Kill { node: jm.clone() }, Some(Fault::Restart { node: jm }))
            }
            RandomFaultKind::JmPause => {
                let jm = self.pick_jm(rng);
                (Fault::Pause { node: jm.clone() }, Some(Fault::Resume { node: jm }))
            }
            RandomFaultKind::JmPartition => {
                let groups = [vec![self.pick_jm(rng)], vec![Service::Coordination.node().to_string()]];
                (
                    Fault::Partition { groups: groups.clone() },
                    Some(Fault::Heal { groups }),
                )
            }
        }
    }

    /// Every node but `tm`: the JobManagers, the other TaskManagers and the
    /// services every cluster has.
    fn others(&self, tm: &str) -> Vec<String> {
        let mut v: Vec<String> = self.job_managers.to_vec();
        v.extend(self.all_task_managers.iter().filter(|t| *t != tm).cloned());
        v.extend(Service::ALL.iter().map(|s| s.node().to_string()));
        v
    }

    /// Clog the link from `tm` to another TaskManager or a service.
    fn link_clog(&self, tm: String, rng: &mut StdRng) -> FaultPair {
        let mut peers: Vec<String> = self.all_task_managers.iter().filter(|t| **t != tm).cloned().collect();
        peers.extend(self.services.iter().map(|s| s.node().to_string()));
        let peer = peers[rng.gen_range(0..peers.len())].clone();
        let link = [tm, peer];
        (Fault::Clog { link: link.clone() }, Some(Fault::Unclog { link }))
    }

    /// A JobManager for the `jm-*` kinds. Drawn only for them, so plans
    /// without them keep their random stream.
    fn pick_jm(&self, rng: &mut StdRng) -> String {
        self.jm_targets[rng.gen_range(0..self.jm_targets.len())].clone()
    }
}

/// Packet loss and a latency range for the whole network, then its restore.
fn network(rng: &mut StdRng) -> FaultPair {
    let loss = [0.0, 0.01, 0.05, 0.2][rng.gen_range(0..4)];
    let hi = [10, 30, 100, 300][rng.gen_range(0..4)];
    (
        Fault::Network(NetworkSettings {
            loss,
            latency: [HumanDuration::from_millis(1), HumanDuration::from_millis(hi)],
        }),
        Some(Fault::RestoreNetwork),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kinds: Vec<RandomFaultKind>, count: u32) -> RandomFaults {
        RandomFaults {
            kinds,
            count: Some(count),
            rate: None,
            window: [HumanDuration::from_millis(1000), HumanDuration::from_millis(5000)],
            down_for: default_down_for(),
            task_managers: None,
            job_managers: None,
            services: None,
            swarm: true,
            slow_factor: default_slow_factor(),
        }
    }

    fn tms() -> Vec<String> {
        (0..3).map(|i| format!("tm-{i}")).collect()
    }

    #[test]
    fn draw_is_deterministic_and_seed_dependent() {
        let r = spec(vec![RandomFaultKind::TmCrash], 2);
        let a = r.draw(7, &tms(), &["jm".to_string()]);
        assert_eq!(a, r.draw(7, &tms(), &["jm".to_string()]));
        assert_eq!(a.len(), 4);
        assert!((1..50).any(|s| r.draw(s, &tms(), &["jm".to_string()]) != a));
    }

    #[test]
    fn swarm_varies_the_mix_of_kinds_across_seeds() {
        use std::collections::BTreeSet;
        let all = vec![
            RandomFaultKind::TmCrash,
            RandomFaultKind::TmPause,
            RandomFaultKind::TmPartition,
            RandomFaultKind::ServiceSlow,
        ];
        let r = spec(all, 8);
        let mixes: BTreeSet<Vec<&'static str>> = (0..40)
            .map(|s| {
                let mut verbs: Vec<&'static str> = r
                    .draw(s, &tms(), &["jm".to_string()])
                    .iter()
                    .filter(|f| !f.fault.is_heal())
                    .map(|f| f.fault.verb())
                    .collect();
                verbs.sort();
                verbs.dedup();
                verbs
            })
            .collect();
        assert!(mixes.len() >= 5, "seeds should see different mixes: {mixes:?}");
        assert!(mixes.iter().any(|m| m.len() == 1), "some seeds focus on one kind");
    }

    #[test]
    fn rate_gives_a_count_and_heals_follow_disturbances() {
        let mut r = spec(vec![RandomFaultKind::TmPause], 0);
        r.count = None;
        r.rate = Some(0.5);
        assert_eq!(r.fault_count(), 2);
        let plan = r.draw(3, &tms(), &["jm".to_string()]);
        assert_eq!(plan.len(), 4);
        let mut p = crate::faults::FaultPlan(plan).normalized();
        p.0.retain(|_| true);
        for u in p.units() {
            assert_eq!(u.len(), 2, "every pause is resumed");
            assert!(p.0[u[0]].at <= p.0[u[1]].at);
        }
    }

    #[test]
    fn validation_names_the_field() {
        let mut r = spec(vec![RandomFaultKind::TmCrash], 1);
        r.rate = Some(1.0);
        assert_eq!(
            r.validate(&tms(), &["jm".to_string()]).unwrap_err().0,
            "faults.random.rate"
        );
        let mut r = spec(vec![RandomFaultKind::TmCrash], 1);
        r.task_managers = Some(vec!["tm-7".into()]);
        assert_eq!(
            r.validate(&tms(), &["jm".to_string()]).unwrap_err().0,
            "faults.random.task-managers"
        );
    }
}
