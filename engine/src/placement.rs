//! Which TaskManager each slot goes to: the JobMaster's slot placement
//! (`taskmanager.load-balance.mode`).
//!
//! With Flink's default slot sharing, slot `i` holds subtask `i` of every
//! vertex of its slot-sharing group, so a slot is the unit that is placed.
//! Four strategies:
//!
//! | mode | Flink | placement |
//! |------|-------|-----------|
//! | `NONE` | the default before 1.20 | each TaskManager's slots filled before the next's |
//! | `SLOTS` | `cluster.evenly-spread-out-slots: true` | slot 0 of every TaskManager, then slot 1, ... (halab's default) |
//! | `TASKS` | balanced task scheduling (FLINK-31757, Flink 2.2) | the slots with the most tasks first, each to the TaskManager with the fewest tasks so far |
//! | `LOAD` | halab's | the slots with the most measured busy time (CPU and network) first, each to the TaskManager with the least so far; without measurements as `TASKS` |
//!
//! Every placement is a pure function of the TaskManagers, the tasks per
//! slot and the measured load, so a run stays deterministic.

use std::collections::BTreeMap;

use crate::protocol::TmId;

/// A slot placement strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SlotPlacement {
    /// `NONE`: fill each TaskManager in id order.
    Fill,
    /// `SLOTS`: spread slots evenly over the TaskManagers (round robin).
    #[default]
    Spread,
    /// `TASKS`: balance the number of tasks per TaskManager.
    Tasks,
    /// `LOAD`: balance the measured busy time per TaskManager.
    Load,
}

impl SlotPlacement {
    /// The `taskmanager.load-balance.mode` value.
    pub fn mode(self) -> &'static str {
        match self {
            SlotPlacement::Fill => "NONE",
            SlotPlacement::Spread => "SLOTS",
            SlotPlacement::Tasks => "TASKS",
            SlotPlacement::Load => "LOAD",
        }
    }
}

/// What a placement decides from: each TaskManager's slots, and per slot
/// index its tasks and its measured busy time (ns, 0 before any).
#[derive(Clone, Debug, Default)]
pub struct SlotDemand {
    pub task_managers: BTreeMap<TmId, u32>,
    pub tasks: Vec<u32>,
    pub busy_ns: Vec<u64>,
}

/// Slot `i` (of `demand.tasks.len()`) goes to `placement[i]`; the
/// TaskManagers' remaining slots follow, spread. The result holds every
/// slot of every TaskManager once.
pub fn place(strategy: SlotPlacement, demand: &SlotDemand) -> Vec<TmId> {
    let spread = spread(&demand.task_managers);
    let needed = demand.tasks.len().min(spread.len());
    assert_eq!(demand.busy_ns.len(), demand.tasks.len(), "invariant: a load per slot");
    let chosen: Vec<TmId> = match strategy {
        // Its own order throughout (halab's placement before the key).
        SlotPlacement::Spread => return spread,
        SlotPlacement::Fill => demand
            .task_managers
            .iter()
            .flat_map(|(tm, n)| std::iter::repeat_n(*tm, *n as usize))
            .take(needed)
            .collect(),
        SlotPlacement::Tasks => greedy(demand, needed, |_| 0),
        SlotPlacement::Load => greedy(demand, needed, |i| demand.busy_ns[i]),
    };
    let mut rest: BTreeMap<TmId, u32> = demand.task_managers.clone();
    for tm in &chosen {
        let free = rest.get_mut(tm).expect("invariant: a chosen TaskManager is registered");
        assert!(*free > 0, "invariant: TaskManager {tm} gets at most its slots");
        *free -= 1;
    }
    let mut out = chosen;
    out.extend(self::spread(&rest));
    assert_eq!(out.len(), spread.len(), "invariant: every slot placed once");
    out
}

/// Slot 0 of every TaskManager, then slot 1, ...
fn spread(task_managers: &BTreeMap<TmId, u32>) -> Vec<TmId> {
    let max = task_managers.values().copied().max().unwrap_or(0);
    (0..max)
        .flat_map(|s| task_managers.iter().filter(move |(_, n)| s < **n).map(|(tm, _)| *tm))
        .collect()
}

/// Longest-processing-time first: the slots by `weight` then tasks, most
/// first, each to the TaskManager with a free slot and the least weight,
/// then the fewest tasks, then the lowest id.
fn greedy(demand: &SlotDemand, needed: usize, weight: impl Fn(usize) -> u64) -> Vec<TmId> {
    let mut order: Vec<usize> = (0..needed).collect();
    order.sort_by_key(|i| (std::cmp::Reverse(weight(*i)), std::cmp::Reverse(demand.tasks[*i]), *i));
    // Per TaskManager: (weight, tasks, free slots).
    let mut load: BTreeMap<TmId, (u64, u32, u32)> =
        demand.task_managers.iter().map(|(tm, n)| (*tm, (0, 0, *n))).collect();
    let mut chosen = vec![0; needed];
    for i in order {
        let (tm, entry) = load
            .iter_mut()
            .filter(|(_, (_, _, free))| *free > 0)
            .min_by_key(|(tm, (w, t, _))| (*w, *t, **tm))
            .expect("invariant: the needed slots are there");
        entry.0 += weight(i);
        entry.1 += demand.tasks[i];
        entry.2 -= 1;
        chosen[i] = *tm;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(tms: &[(TmId, u32)], tasks: &[u32], busy: &[u64]) -> SlotDemand {
        SlotDemand {
            task_managers: tms.iter().copied().collect(),
            tasks: tasks.to_vec(),
            busy_ns: busy.to_vec(),
        }
    }

    /// Per TaskManager, the sum of `f` over the slots placed on it.
    fn per_tm(placed: &[TmId], f: impl Fn(usize) -> u64) -> BTreeMap<TmId, u64> {
        let mut m = BTreeMap::new();
        for (i, tm) in placed.iter().enumerate() {
            *m.entry(*tm).or_default() += f(i);
        }
        m
    }

    #[test]
    fn spread_and_fill_are_flinks_orders() {
        let d = demand(&[(0, 2), (1, 2), (2, 2)], &[3, 3, 2, 2, 1], &[0; 5]);
        assert_eq!(place(SlotPlacement::Spread, &d), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(place(SlotPlacement::Fill, &d), vec![0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn tasks_balances_the_task_count() {
        // Slot 0 holds 3 tasks, slots 1-3 two, slots 4-5 one: 11 tasks on
        // three TaskManagers of two slots.
        let tasks = [3, 2, 2, 2, 1, 1];
        let d = demand(&[(0, 2), (1, 2), (2, 2)], &tasks, &[0; 6]);
        let placed = place(SlotPlacement::Tasks, &d);
        let counts = per_tm(&placed, |i| u64::from(tasks[i]));
        assert_eq!(
            counts.values().max(),
            Some(&4),
            "{placed:?}: 11 tasks, at most 4 on one"
        );
        let spread = per_tm(&place(SlotPlacement::Spread, &d), |i| u64::from(tasks[i]));
        assert_eq!(spread.values().max(), Some(&5), "spread puts slots 0 and 3 together");
        assert_eq!(
            place(SlotPlacement::Load, &d),
            placed,
            "without measurements LOAD is TASKS"
        );
    }

    #[test]
    fn load_keeps_the_hot_slot_alone_and_balances_the_rest() {
        // Slot 3 is hot (as a count subtask that owns the hot keys).
        let busy = [10, 10, 10, 80, 10];
        let d = demand(&[(0, 2), (1, 2), (2, 2)], &[3, 3, 3, 3, 3], &busy);
        let placed = place(SlotPlacement::Load, &d);
        let load = per_tm(&placed, |i| busy.get(i).copied().unwrap_or(0));
        assert_eq!(load.values().max(), Some(&80), "{placed:?}: the hot slot alone");
        let spread = per_tm(&place(SlotPlacement::Spread, &d), |i| busy.get(i).copied().unwrap_or(0));
        assert_eq!(spread.values().max(), Some(&90), "spread puts slot 3 beside slot 0");
        assert_eq!(placed.len(), 6, "the spare slot follows");
    }

    #[test]
    fn load_weighs_busy_time_before_task_counts() {
        // Slot 2 is hot; slots 0 and 1 hold three tasks each but little
        // load. By load, the hot slot shares its TaskManager with the idle
        // slot 3 (100 against 20 ms); by tasks first it would take slot 1
        // beside it (110 against 10).
        let busy = [10, 10, 100, 0];
        let d = demand(&[(0, 2), (1, 2)], &[3, 3, 1, 1], &busy);
        let placed = place(SlotPlacement::Load, &d);
        let load = per_tm(&placed, |i| busy[i]);
        assert_eq!(load.values().copied().collect::<Vec<_>>(), vec![100, 20], "{placed:?}");
    }

    #[test]
    fn every_slot_is_placed_once_with_spare_task_managers() {
        for strategy in [
            SlotPlacement::Fill,
            SlotPlacement::Spread,
            SlotPlacement::Tasks,
            SlotPlacement::Load,
        ] {
            let d = demand(&[(0, 2), (1, 1), (3, 3)], &[2, 2, 1], &[5, 1, 9]);
            let placed = place(strategy, &d);
            let mut sorted = placed.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 0, 1, 3, 3, 3], "{strategy:?}: {placed:?}");
            assert_eq!(
                strategy,
                [
                    SlotPlacement::Fill,
                    SlotPlacement::Spread,
                    SlotPlacement::Tasks,
                    SlotPlacement::Load
                ]
                .into_iter()
                .find(|s| s.mode() == strategy.mode())
                .expect("a mode")
            );
        }
    }
}
