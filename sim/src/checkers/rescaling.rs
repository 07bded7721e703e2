//! Keyed-state checker for restores and rescales, and the rescale metrics.
//!
//! Every keyed subtask traces what its restore kept out of the state it was
//! offered (`keyed_state_restored`): keys, keys that moved from another
//! subtask, and XOR fingerprints of the `(key, count)` entries. For each
//! restore of a keyed vertex (all its subtasks of one deployment) the kept
//! parts must add up to the whole: the same number of keys and the same
//! fingerprint, so no key's state was lost or restored twice. Records must
//! only reach the subtask that owns their key (`ownership_violation`).
//!
//! For each rescale (`rescaled`) the metrics compare the keys moved with the
//! optimum (|to − from| / max(from, to): 1/(n+1) growing by one, 1/n
//! shrinking by one), and give the load balance and the migration time.

use std::collections::BTreeMap;

use halab_engine::protocol::ExecutionAttemptId;
use halab_engine::trace::{TraceEntry, TraceEvent};
use serde::{Deserialize, Serialize};

/// Bytes of one keyed-state entry (a `(u64 key, u64 count)` pair): every
/// entry has the same size, so the fraction of bytes moved equals the
/// fraction of keys moved.
pub const ENTRY_BYTES: u64 = 16;

/// One rescale of a keyed operator, as the RunRecord stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RescaleMetrics {
    pub t_ms: u64,
    pub vertex: String,
    pub from: u32,
    pub to: u32,
    /// Keys whose owner changed, over all keys.
    pub moved_key_fraction: f64,
    /// The least any scheme must move from the layout of the restored
    /// state: |to − p| / max(p, to), with p the number of subtask snapshots
    /// restored (`from`, unless the rescale restored a checkpoint taken at
    /// another parallelism, as when a migration had no time to checkpoint
    /// before the next rescale).
    pub optimal_fraction: f64,
    pub state_bytes_moved: u64,
    pub state_bytes_total: u64,
    /// Largest subtask's keys over the mean.
    pub max_over_mean_load: f64,
    /// From the rescale decision until the last subtask restored its state.
    pub migration_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RescalingReport {
    pub problems: Vec<String>,
    pub rescales: Vec<RescaleMetrics>,
}

impl RescalingReport {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Clone, Copy, Debug)]
struct Restored {
    t_ms: u64,
    subtask: u32,
    parallelism: u32,
    keys: u64,
    moved: u64,
    total: u64,
    fingerprint: u64,
    total_fingerprint: u64,
    offered: u32,
    /// Bytes per key as the restore downloaded them (`state_restored`),
    /// under the resource model; `ENTRY_BYTES` otherwise.
    bytes_per_key: u64,
    /// The subtask's `state_restored` was seen: its download finished.
    downloaded: bool,
}

/// A restore: one job vertex's subtasks of one attempt (epoch, attempt).
type RestoreKey = (u32, (u64, u32));

fn restore_key(task: &ExecutionAttemptId) -> RestoreKey {
    (task.vertex.vertex, (task.epoch, task.attempt))
}

/// A rescale as traced: when, which vertex (name and id), and the
/// parallelism before and after.
struct Rescale {
    t_ms: u64,
    vertex: String,
    id: u32,
    from: u32,
    to: u32,
}

pub fn check(trace: &[TraceEntry]) -> RescalingReport {
    let mut r = RescalingReport::default();
    let mut restores = Restores::default();
    let mut rescales: Vec<Rescale> = Vec::new();
    for e in trace {
        match &e.event {
            TraceEvent::KeyedStateRestored { .. } => restores.begin(e),
            // The restore ends once the state is downloaded (under the
            // resource model, its bytes over the bandwidth): the migration
            // time follows the bytes that move.
            TraceEvent::StateRestored { task, bytes, .. } => restores.downloaded(e.t_ms, task, *bytes),
            TraceEvent::OwnershipViolation { task, key, owner } => r.problems.push(format!(
                "{task} received key {key} at {}ms, which subtask {owner} owns",
                e.t_ms
            )),
            TraceEvent::Rescaled { vertex, id, from, to } => rescales.push(Rescale {
                t_ms: e.t_ms,
                vertex: vertex.clone(),
                id: *id,
                from: *from,
                to: *to,
            }),
            _ => {}
        }
    }
    r.problems
        .extend(restores.order.iter().filter_map(|key| restores.lost_or_duplicated(key)));
    r.rescales = rescales.into_iter().filter_map(|s| restores.metrics(s)).collect();
    r
}

/// Restores by (vertex, attempt), in trace order of their first member.
#[derive(Default)]
struct Restores {
    by_key: BTreeMap<RestoreKey, Vec<Restored>>,
    order: Vec<RestoreKey>,
}

impl Restores {
    /// A subtask's `keyed_state_restored`: it joins its restore.
    fn begin(&mut self, e: &TraceEntry) {
        let TraceEvent::KeyedStateRestored {
            task,
            parallelism,
            keys,
            moved_keys,
            total_keys,
            fingerprint,
            total_fingerprint,
            offered,
        } = &e.event
        else {
            return;
        };
        let key = restore_key(task);
        if !self.by_key.contains_key(&key) {
            self.order.push(key);
        }
        self.by_key.entry(key).or_default().push(Restored {
            t_ms: e.t_ms,
            subtask: task.vertex.subtask,
            parallelism: *parallelism,
            keys: *keys,
            moved: *moved_keys,
            total: *total_keys,
            fingerprint: *fingerprint,
            total_fingerprint: *total_fingerprint,
            offered: *offered,
            bytes_per_key: ENTRY_BYTES,
            downloaded: false,
        });
    }

    /// A subtask's `state_restored`: its download finished at `t_ms`.
    fn downloaded(&mut self, t_ms: u64, task: &ExecutionAttemptId, bytes: u64) {
        let subtask = task.vertex.subtask;
        let restored = self.by_key.get_mut(&restore_key(task)).into_iter().flatten();
        for g in restored.filter(|g| g.subtask == subtask) {
            g.t_ms = g.t_ms.max(t_ms);
            g.downloaded = true;
            if bytes > 0 && g.keys > 0 {
                g.bytes_per_key = bytes / g.keys;
            }
        }
    }

    /// The problem with the restore under `key`, if its subtasks did not
    /// keep each key's state exactly once.
    fn lost_or_duplicated(&self, key: &RestoreKey) -> Option<String> {
        let group = &self.by_key[key];
        let p = group[0].parallelism;
        // A deployment in which some subtask died before restoring cannot be
        // checked as a whole; its successor will be.
        if group.len() as u32 != p {
            return None;
        }
        let kept: u64 = group.iter().map(|g| g.keys).sum();
        let fingerprint = group.iter().fold(0, |a, g| a ^ g.fingerprint);
        // Same parallelism: each subtask was offered its own snapshot, and
        // the whole is their union. A rescale: each was offered all of them.
        let (total, total_fingerprint) = if group.iter().all(|g| g.offered <= 1) {
            (
                group.iter().map(|g| g.total).sum(),
                group.iter().fold(0, |a, g| a ^ g.total_fingerprint),
            )
        } else {
            (group[0].total, group[0].total_fingerprint)
        };
        (kept != total || fingerprint != total_fingerprint).then(|| {
            format!(
                "keyed state of v{} lost or duplicated in the restore of attempt {}: {kept} of {total} keys kept{}",
                key.0,
                match key.1 {
                    (0, attempt) => attempt.to_string(),
                    (epoch, attempt) => format!("{epoch}.{attempt}"),
                },
                if kept == total { " (counts differ)" } else { "" }
            )
        })
    }

    /// The metrics of a rescale: of the first whole restore of its vertex at
    /// the new parallelism from the rescale on. None if there is none, or
    /// if the next deployment cut its migration short.
    fn metrics(&self, rescale: Rescale) -> Option<RescaleMetrics> {
        let Rescale {
            t_ms: t,
            vertex,
            id,
            from,
            to,
        } = rescale;
        let group = self
            .order
            .iter()
            .filter(|k| k.0 == id)
            .map(|k| &self.by_key[k])
            .find(|g| g[0].t_ms >= t && g.len() as u32 == to && g[0].parallelism == to)?;
        // A migration cut short by the next deployment of the vertex (its
        // downloads never finished) has no duration to report.
        let superseded = self
            .order
            .iter()
            .any(|k| k.0 == id && self.by_key[k][0].t_ms > group[0].t_ms);
        if superseded && !group.iter().all(|g| g.downloaded) {
            return None;
        }
        let total = group[0].total.max(1);
        let moved: u64 = group.iter().map(|g| g.moved).sum();
        let mean = group.iter().map(|g| g.keys).sum::<u64>() as f64 / f64::from(to);
        let max = group.iter().map(|g| g.keys).max().unwrap_or(0) as f64;
        debug_assert!(group.iter().all(|g| g.subtask < to));
        Some(RescaleMetrics {
            t_ms: t,
            vertex,
            from,
            to,
            moved_key_fraction: moved as f64 / total as f64,
            optimal_fraction: {
                let state_from = if group[0].offered > 1 { group[0].offered } else { from };
                f64::from(state_from.abs_diff(to)) / f64::from(state_from.max(to))
            },
            state_bytes_moved: group.iter().map(|g| g.moved * g.bytes_per_key).sum(),
            state_bytes_total: group[0].total * group[0].bytes_per_key,
            max_over_mean_load: if mean > 0.0 { max / mean } else { 1.0 },
            migration_ms: group.iter().map(|g| g.t_ms).max().unwrap_or(t) - t,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restored(t_ms: u64, task: &str, p: u32, keys: u64, moved: u64, fp: u64) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: "tm-0".into(),
            event: TraceEvent::KeyedStateRestored {
                task: task.parse().expect("an attempt"),
                parallelism: p,
                keys,
                moved_keys: moved,
                total_keys: 10,
                fingerprint: fp,
                total_fingerprint: 0b111,
                offered: 2,
            },
        }
    }

    fn rescaled(t_ms: u64, from: u32, to: u32) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: "jm".into(),
            event: TraceEvent::Rescaled {
                vertex: "count".into(),
                id: 1,
                from,
                to,
            },
        }
    }

    #[test]
    fn a_complete_restore_passes_and_yields_rescale_metrics() {
        let trace = vec![
            rescaled(1000, 2, 3),
            restored(1050, "v1[0]#2", 3, 3, 0, 0b001),
            restored(1060, "v1[1]#2", 3, 3, 1, 0b010),
            restored(1070, "v1[2]#2", 3, 4, 3, 0b100),
        ];
        let r = check(&trace);
        assert!(r.passed(), "{r:?}");
        let m = &r.rescales[0];
        assert_eq!((m.from, m.to, m.migration_ms), (2, 3, 70));
        assert!((m.moved_key_fraction - 0.4).abs() < 1e-9);
        // Under the resource model the restore ends when the download does.
        let mut downloaded = trace.clone();
        downloaded.push(TraceEntry {
            t_ms: 1400,
            node: "tm-1".into(),
            event: TraceEvent::StateRestored {
                task: "v1[1]#2".parse().expect("an attempt"),
                bytes: 64_000,
                download_ms: 340,
                local: false,
            },
        });
        let m = &check(&downloaded).rescales[0];
        assert_eq!(m.migration_ms, 400);
        // v1[1] kept 3 keys in 64,000 bytes: its moved key counts 21,333
        // bytes; the others 16 per entry as serialised.
        assert_eq!(m.state_bytes_moved, 21_333 + 3 * ENTRY_BYTES);
        // A next rescale before every download finished cuts this one short:
        // only the next one is measured.
        let mut cut = downloaded.clone();
        cut.extend([
            rescaled(2000, 3, 2),
            restored(2050, "v1[0]#3", 2, 5, 2, 0b011),
            restored(2060, "v1[1]#3", 2, 5, 3, 0b100),
        ]);
        let r = check(&cut);
        assert_eq!(r.rescales.len(), 1, "{r:?}");
        assert_eq!((r.rescales[0].from, r.rescales[0].to), (3, 2));
        // Its state was offered by 2 snapshots: the checkpoint predates the
        // rescale to 3, so nothing need move.
        assert_eq!(r.rescales[0].optimal_fraction, 0.0);
        assert!((m.optimal_fraction - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.max_over_mean_load - 4.0 / (10.0 / 3.0)).abs() < 1e-9);
    }

    #[test]
    fn lost_or_doubled_keys_and_misrouted_records_are_caught() {
        let lost = vec![
            restored(1, "v1[0]#2", 2, 4, 0, 0b011),
            restored(2, "v1[1]#2", 2, 5, 0, 0b100),
        ];
        assert!(!check(&lost).passed());
        let wrong_counts = vec![
            restored(1, "v1[0]#2", 2, 5, 0, 0b001),
            restored(2, "v1[1]#2", 2, 5, 0, 0b100),
        ];
        assert!(!check(&wrong_counts).passed(), "same key count, wrong fingerprint");
        let misrouted = vec![TraceEntry {
            t_ms: 5,
            node: "tm-0".into(),
            event: TraceEvent::OwnershipViolation {
                task: "v1[0]#1".parse().expect("an attempt"),
                key: 7,
                owner: 1,
            },
        }];
        assert!(!check(&misrouted).passed());
    }
}
