//! Restart-policy conformance: replay the run's failures through a fresh
//! copy of the configured restart strategy (same configuration, same jitter
//! seed) and check that the JobManager did exactly what the policy says:
//! - after each failure it handled, the job FAILED exactly when `canRestart`
//!   was false, and otherwise scheduled a restart with exactly the policy's
//!   backoff, counting `numRestarts` only for new attempts;
//! - every restart waited exactly that backoff and for the cancellation of
//!   the tasks it restarts (Flink's `restartTasksWithDelay`): tasks were
//!   redeployed at `max(failure + backoff, cancellation finished)`, never
//!   before the tasks cancelled for it were CANCELED, and later only while
//!   waiting for slots or for a checkpoint's finalisation.

use std::collections::{BTreeSet, VecDeque};

use rand::rngs::StdRng;
use rand::SeedableRng;

use halab_engine::config::Configuration;
use halab_engine::graph::ExecutionVertexId;
use halab_engine::restart::{load_restart_strategy, RestartBackoffTimeStrategy};
use halab_engine::trace::{TraceEntry, TraceEvent};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConformanceReport {
    /// Failures the JobManager handled and the checker replayed.
    pub failures: u64,
    pub mismatches: Vec<String>,
}

impl ConformanceReport {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    Restart {
        at_ms: u64,
        delay_ms: i64,
        num_restarts: u32,
    },
    Fail {
        at_ms: u64,
    },
}

/// Whether the job checkpoints: the default restart strategy depends on it,
/// as in Flink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpointing {
    Enabled,
    Disabled,
}

pub fn check(
    conf: &Configuration,
    checkpointing: Checkpointing,
    restart_seed: u64,
    trace: &[TraceEntry],
) -> ConformanceReport {
    let mut r = ConformanceReport::default();
    // Each leadership of each JobManager runs a fresh JobMaster with a fresh
    // strategy (Flink keeps no restart-strategy state across a JobManager
    // failover), so each is replayed on its own.
    let nodes: std::collections::BTreeSet<&str> = trace
        .iter()
        .filter(|e| e.node == "jm" || e.node.starts_with("jm-"))
        .map(|e| e.node.as_str())
        .collect();
    for node in nodes {
        let frozen = frozen_intervals(trace, node);
        let events: Vec<&TraceEntry> = trace.iter().filter(|e| e.node == node).collect();
        for leadership in events.split(|e| matches!(e.event, TraceEvent::LeadershipGranted { .. })) {
            if !check_leadership(conf, checkpointing, restart_seed, leadership, &frozen, &mut r) {
                return r;
            }
        }
    }
    r
}

/// How late a due restart may start: the JobManager is one event loop (as
/// Flink's JobMaster main thread) and may be busy sending messages, which
/// take simulated time, at the instant the restart falls due. Early is never
/// allowed; a wrong backoff is off by far more.
const BUSY_LOOP_SLACK_MS: u64 = 10;
/// And per task of the job: what keeps the loop busy is per task (a
/// resumed TaskManager's reports of its stale tasks, each answered with a
/// cancel), so a job of 25 tasks may keep it busy longer than one of 7.
const BUSY_LOOP_SLACK_PER_TASK_MS: u64 = 1;

/// When the fault injector had `node` paused: `[pause, resume)` in ms. A
/// frozen JobManager cannot act on time; what falls due meanwhile happens
/// when it resumes.
fn frozen_intervals(trace: &[TraceEntry], node: &str) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut since = None;
    for e in trace.iter().filter(|e| e.node == "chaos") {
        if let TraceEvent::Fault { description } = &e.event {
            if *description == format!("pause {node}") {
                since.get_or_insert(e.t_ms);
            } else if *description == format!("resume {node}") {
                if let Some(s) = since.take() {
                    out.push((s, e.t_ms));
                }
            }
        }
    }
    if let Some(s) = since {
        out.push((s, u64::MAX));
    }
    out
}

/// Replay one leadership's failures; false when the strategy cannot be built.
fn check_leadership(
    conf: &Configuration,
    checkpointing: Checkpointing,
    restart_seed: u64,
    events: &[&TraceEntry],
    frozen: &[(u64, u64)],
    r: &mut ConformanceReport,
) -> bool {
    let strategy = match load_restart_strategy(conf, checkpointing == Checkpointing::Enabled) {
        Ok(s) => s,
        Err(e) => {
            r.mismatches.push(format!("the restart strategy cannot be built: {e}"));
            return false;
        }
    };
    let mut replay = Replay {
        strategy,
        rng: StdRng::seed_from_u64(restart_seed),
        num_restarts: 0,
        expected: None,
        due: VecDeque::new(),
        frozen,
        cancelling: BTreeSet::new(),
        cancelled_for_this_failure: BTreeSet::new(),
        job_tasks: 0,
    };
    for e in events {
        // What a revoked leader had scheduled dies with its JobMaster: it
        // traces no deployment after its revocation (the split-brain
        // checker requires that), so nothing here waits for one.
        match &e.event {
            TraceEvent::TaskFailed { .. } | TraceEvent::GlobalFailure { .. } => replay.on_failure(e.t_ms, r),
            TraceEvent::RestartScheduled { delay_ms, num_restarts } => {
                replay.on_restart_scheduled(e.t_ms, *delay_ms, *num_restarts, r)
            }
            TraceEvent::JobFailed { .. } => replay.on_job_failed(e.t_ms, r),
            TraceEvent::WaitingForSlots { .. } | TraceEvent::WaitingForCheckpoint { .. } => replay.on_waiting(),
            TraceEvent::TasksDeployed { tasks, .. } => {
                replay.job_tasks = replay.job_tasks.max(u64::from(*tasks));
                replay.on_deployed(e.t_ms, r)
            }
            TraceEvent::TaskCanceling { task, try_number, .. } => replay.on_cancelling(*task, *try_number),
            TraceEvent::TaskCanceled { task, .. } => replay.on_cancelled(*task, e.t_ms),
            _ => {}
        }
    }
    true
}

/// A restart the JobManager scheduled and has yet to carry out.
#[derive(Clone, Debug)]
struct Due {
    at_ms: u64,
    /// The JobManager waited (for slots, or for a checkpoint's
    /// finalisation) while it was pending, which excuses lateness.
    waited: bool,
    /// Tasks cancelled for this restart, not yet CANCELED: it must not
    /// deploy before they are.
    own_cancels: BTreeSet<ExecutionVertexId>,
    /// Tasks an earlier failure cancelled, still cancelling when this
    /// restart was scheduled: a restart of the whole job waits for them too.
    earlier_cancels: BTreeSet<ExecutionVertexId>,
    /// When the last of those cancellations finished (0: none yet).
    cancelled_ms: u64,
}

/// One leadership's replay: a fresh strategy with the run's jitter seed, and
/// what the JobManager must do next.
struct Replay<'a> {
    strategy: Box<dyn RestartBackoffTimeStrategy>,
    rng: StdRng,
    num_restarts: u32,
    /// The policy's answer to the latest failure, until the JobManager acts.
    expected: Option<Expected>,
    /// Scheduled restarts in due order. Each deployment carries out the
    /// earliest.
    due: VecDeque<Due>,
    /// When the JobManager was paused, `[pause, resume)` in ms.
    frozen: &'a [(u64, u64)],
    /// Tasks CANCELING now.
    cancelling: BTreeSet<ExecutionVertexId>,
    /// Tasks whose cancellation started since the latest failure: the
    /// restart scheduled for it restarts them.
    cancelled_for_this_failure: BTreeSet<ExecutionVertexId>,
    /// The most tasks a deployment of this leadership deployed: the job's
    /// size, for [`BUSY_LOOP_SLACK_PER_TASK_MS`].
    job_tasks: u64,
}

impl Replay<'_> {
    /// A failure: the previous answer must have been carried out; ask the
    /// policy what to do with this one.
    fn on_failure(&mut self, t_ms: u64, r: &mut ConformanceReport) {
        if let Some(x) = self.expected.take() {
            r.mismatches
                .push(format!("{x:?} was not carried out before the next failure at {t_ms}ms"));
        }
        r.failures += 1;
        self.cancelled_for_this_failure.clear();
        let now = t_ms as i64;
        let is_new = self.strategy.notify_failure(now, &mut self.rng);
        self.expected = Some(if self.strategy.can_restart(now) {
            if is_new {
                self.num_restarts += 1;
            }
            Expected::Restart {
                at_ms: t_ms,
                delay_ms: self.strategy.backoff_time_ms(now).unwrap_or(0).max(0),
                num_restarts: self.num_restarts,
            }
        } else {
            Expected::Fail { at_ms: t_ms }
        });
    }

    fn on_restart_scheduled(&mut self, t_ms: u64, delay_ms: i64, n: u32, r: &mut ConformanceReport) {
        match self.expected.take() {
            Some(Expected::Restart {
                at_ms,
                delay_ms: d,
                num_restarts: want,
            }) => {
                if delay_ms != d || n != want {
                    r.mismatches.push(format!(
                        "failure at {at_ms}ms: restart after {delay_ms}ms with numRestarts {n}, the policy says {d}ms and {want}"
                    ));
                }
                // Due times never decrease under the built-in strategies (a
                // failure during a pending backoff does not shorten it), and
                // the JobMaster deploys ready batches in due order, so each
                // deployment carries out the oldest ready one.
                let own = std::mem::take(&mut self.cancelled_for_this_failure);
                self.due.push_back(Due {
                    at_ms: t_ms + delay_ms as u64,
                    waited: false,
                    earlier_cancels: self.cancelling.difference(&own).copied().collect(),
                    own_cancels: own,
                    cancelled_ms: 0,
                });
            }
            Some(Expected::Fail { at_ms }) => r.mismatches.push(format!(
                "failure at {at_ms}ms: a restart was scheduled but the policy says canRestart = false"
            )),
            None => r
                .mismatches
                .push(format!("restart scheduled at {t_ms}ms without a failure")),
        }
    }

    fn on_job_failed(&mut self, t_ms: u64, r: &mut ConformanceReport) {
        match self.expected.take() {
            Some(Expected::Fail { .. }) => {}
            Some(Expected::Restart { at_ms, .. }) => r.mismatches.push(format!(
                "failure at {at_ms}ms: the job failed but the policy allows a restart"
            )),
            None => r
                .mismatches
                .push(format!("the job failed at {t_ms}ms without a failure")),
        }
    }

    /// The JobManager waits for slots or for a checkpoint's finalisation:
    /// every pending restart may start late.
    fn on_waiting(&mut self) {
        for d in &mut self.due {
            d.waited = true;
        }
    }

    /// The JobManager sent a cancel call (the first starts the
    /// cancellation).
    fn on_cancelling(&mut self, task: ExecutionVertexId, try_number: u32) {
        if try_number == 1 {
            self.cancelling.insert(task);
            self.cancelled_for_this_failure.insert(task);
        }
    }

    /// A task is CANCELED: the restarts that waited for it may go.
    fn on_cancelled(&mut self, task: ExecutionVertexId, t_ms: u64) {
        self.cancelling.remove(&task);
        for d in &mut self.due {
            if d.own_cancels.remove(&task) | d.earlier_cancels.remove(&task) {
                d.cancelled_ms = d.cancelled_ms.max(t_ms);
            }
        }
    }

    /// A deployment carries out the earliest due restart that may go (due,
    /// and the tasks cancelled for it CANCELED): the JobMaster deploys every
    /// ready batch, so a batch still waiting for its cancellation does not
    /// hold back a later-scheduled one of another region. If none may go,
    /// the earliest: never early (not before its due time, nor before the
    /// tasks cancelled for it are CANCELED), and late only when excused.
    fn on_deployed(&mut self, t_ms: u64, r: &mut ConformanceReport) {
        let ready = self
            .due
            .iter()
            .position(|d| d.at_ms <= t_ms && d.own_cancels.is_empty())
            .unwrap_or(0);
        let Some(Due {
            at_ms: t,
            waited,
            own_cancels,
            earlier_cancels,
            cancelled_ms,
        }) = self.due.remove(ready)
        else {
            return;
        };
        if let Some(task) = own_cancels.first() {
            r.mismatches.push(format!(
                "restart due at {t}ms happened at {t_ms}ms, before the cancellation of {task} (and {} more) finished",
                own_cancels.len() - 1
            ));
        }
        // A cancellation still running may hold a restart back until it ends.
        let cancelled_ms = if earlier_cancels.is_empty() { cancelled_ms } else { t_ms };
        let early = t_ms < t;
        // Late is excused only by waiting (for slots, or for a checkpoint's
        // finalisation), or by a pause of this JobManager: what fell due
        // while it was frozen is due at its resume.
        let due_at = self
            .frozen
            .iter()
            .find(|(a, b)| *a <= t && t < *b)
            .map_or(t, |(_, resumed)| *resumed)
            .max(cancelled_ms);
        let slack = BUSY_LOOP_SLACK_MS + BUSY_LOOP_SLACK_PER_TASK_MS * self.job_tasks;
        let late = t_ms > due_at.saturating_add(slack) && !waited;
        if early || late {
            r.mismatches.push(format!(
                "restart due at {t}ms happened at {t_ms}ms{}",
                if waited { "" } else { " without waiting for slots" }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halab_engine::status::JobStatus;

    fn at(t_ms: u64, event: TraceEvent) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: "jm".into(),
            event,
        }
    }

    fn failed(t: u64) -> TraceEntry {
        at(
            t,
            TraceEvent::TaskFailed {
                task: "v0[0]".parse().expect("a subtask"),
                attempt: 1,
                reason: "test".into(),
            },
        )
    }

    fn fixed(attempts: u32) -> Configuration {
        [
            ("restart-strategy.type", "fixed-delay".to_string()),
            ("restart-strategy.fixed-delay.attempts", attempts.to_string()),
            ("restart-strategy.fixed-delay.delay", "1s".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn restart(t: u64, delay_ms: i64, n: u32) -> TraceEntry {
        at(
            t,
            TraceEvent::RestartScheduled {
                delay_ms,
                num_restarts: n,
            },
        )
    }

    fn deployed(t: u64) -> TraceEntry {
        at(
            t,
            TraceEvent::TasksDeployed {
                attempt: 2,
                tasks: 4,
                restored_from: None,
            },
        )
    }

    #[test]
    fn a_conforming_run_passes() {
        let trace = vec![
            failed(100),
            restart(100, 1000, 1),
            deployed(1100),
            failed(5000),
            at(
                5000,
                TraceEvent::JobStatusChanged {
                    from: JobStatus::Running,
                    to: JobStatus::Failing,
                },
            ),
            at(
                5000,
                TraceEvent::JobFailed {
                    reason: "Recovery is suppressed".into(),
                },
            ),
        ];
        let r = check(&fixed(1), Checkpointing::Enabled, 0, &trace);
        assert!(r.passed(), "{r:?}");
        assert_eq!(r.failures, 2);
    }

    #[test]
    fn wrong_backoff_early_restart_and_ignored_limit_are_caught() {
        let wrong_delay = vec![failed(100), restart(100, 0, 1), deployed(100)];
        assert!(!check(&fixed(3), Checkpointing::Enabled, 0, &wrong_delay).passed());
        let early = vec![failed(100), restart(100, 1000, 1), deployed(600)];
        assert!(!check(&fixed(3), Checkpointing::Enabled, 0, &early).passed());
        let late = vec![failed(100), restart(100, 1000, 1), deployed(1500)];
        assert!(
            !check(&fixed(3), Checkpointing::Enabled, 0, &late).passed(),
            "late without waiting for slots"
        );
        let waited = vec![
            failed(100),
            restart(100, 1000, 1),
            at(
                1100,
                TraceEvent::WaitingForSlots {
                    needed: 4,
                    available: 2,
                },
            ),
            deployed(3000),
        ];
        assert!(check(&fixed(3), Checkpointing::Enabled, 0, &waited).passed());
        let never_gives_up = vec![
            failed(100),
            restart(100, 1000, 1),
            deployed(1100),
            failed(2000),
            restart(2000, 1000, 2),
        ];
        let r = check(&fixed(1), Checkpointing::Enabled, 0, &never_gives_up);
        assert!(!r.passed() && r.mismatches[0].contains("canRestart = false"), "{r:?}");
    }

    fn cancel_events(t_call: u64, t_done: u64) -> [TraceEntry; 2] {
        let task: ExecutionVertexId = "v1[0]".parse().expect("a subtask");
        [
            at(
                t_call,
                TraceEvent::TaskCanceling {
                    task,
                    attempt: 1,
                    try_number: 1,
                },
            ),
            at(
                t_done,
                TraceEvent::TaskCanceled {
                    task,
                    attempt: 1,
                    how: halab_engine::trace::CancellationEnd::TaskManagerLost,
                },
            ),
        ]
    }

    /// A failure at 100ms whose restart (1s backoff) cancels v1[0], which is
    /// CANCELED at `done`; the redeploy comes at `deploy`.
    fn cancelled_restart(done: u64, deploy: u64) -> Vec<TraceEntry> {
        let [call, end] = cancel_events(100, done);
        let mut trace = vec![failed(100), call, restart(100, 1000, 1), end, deployed(deploy)];
        trace.sort_by_key(|e| e.t_ms);
        trace
    }

    #[test]
    fn a_restart_waits_for_the_cancellation_of_its_tasks() {
        let cfg = fixed(3);
        let check = |trace: &[TraceEntry]| check(&cfg, Checkpointing::Enabled, 0, trace);
        assert!(
            check(&cancelled_restart(400, 1100)).passed(),
            "cancelled before the backoff ended"
        );
        assert!(check(&cancelled_restart(3000, 3000)).passed(), "restarted as it ended");
        let late = check(&cancelled_restart(3000, 3500));
        assert!(!late.passed(), "late after the cancellation ended");
        // Deployed at the backoff's end while the task is still cancelling.
        let mut early = vec![failed(100)];
        let [call, end] = cancel_events(100, 3000);
        early.extend([call, restart(100, 1000, 1), deployed(1100), end]);
        let r = check(&early);
        assert!(
            r.mismatches
                .iter()
                .any(|m| m.contains("before the cancellation of v1[0]")),
            "{r:?}"
        );
    }

    #[test]
    fn a_ready_restart_does_not_wait_for_an_earlier_one_still_cancelling() {
        // Two regions fail 100 ms apart; their restarts fall due at 1100
        // and 1200 ms. The first cancels v1[0], CANCELED at 3000 ms; the
        // second is ready at 1200 ms and goes then (as in NexMark q1 seed
        // 80, where both fell due in the same millisecond).
        let cfg = fixed(3);
        let check = |trace: &[TraceEntry]| check(&cfg, Checkpointing::Enabled, 0, trace);
        let [call, end] = cancel_events(100, 3000);
        let two = |first: u64, second: u64| {
            let mut t = vec![
                failed(100),
                call.clone(),
                restart(100, 1000, 1),
                failed(200),
                restart(200, 1000, 2),
                end.clone(),
                deployed(first),
                deployed(second),
            ];
            t.sort_by_key(|e| e.t_ms);
            t
        };
        let r = check(&two(1200, 3000));
        assert!(r.passed(), "{r:?}");
        let r = check(&two(1200, 1200));
        assert!(
            r.mismatches
                .iter()
                .any(|m| m.contains("before the cancellation of v1[0]")),
            "both at 1200 ms: the first went before its cancellation ended: {r:?}"
        );
    }

    #[test]
    fn a_job_that_fails_must_have_been_refused_a_restart() {
        let failed_early = vec![failed(100), at(100, TraceEvent::JobFailed { reason: "test".into() })];
        let r = check(&fixed(3), Checkpointing::Enabled, 0, &failed_early);
        assert!(r.mismatches.iter().any(|m| m.contains("allows a restart")), "{r:?}");
        let from_nowhere = vec![at(100, TraceEvent::JobFailed { reason: "test".into() })];
        let r = check(&fixed(3), Checkpointing::Enabled, 0, &from_nowhere);
        assert!(r.mismatches.iter().any(|m| m.contains("without a failure")), "{r:?}");
    }
}

#[cfg(test)]
mod leadership_tests {
    use super::*;

    fn on(node: &str, t_ms: u64, event: TraceEvent) -> TraceEntry {
        TraceEntry {
            t_ms,
            node: node.into(),
            event,
        }
    }

    fn fixed() -> Configuration {
        [
            ("restart-strategy.type", "fixed-delay"),
            ("restart-strategy.fixed-delay.attempts", "1"),
            ("restart-strategy.fixed-delay.delay", "1s"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn failure(node: &str, t: u64) -> Vec<TraceEntry> {
        vec![
            on(
                node,
                t,
                TraceEvent::TaskFailed {
                    task: "v0[0]".parse().expect("a subtask"),
                    attempt: 1,
                    reason: "test".into(),
                },
            ),
            on(
                node,
                t,
                TraceEvent::RestartScheduled {
                    delay_ms: 1000,
                    num_restarts: 1,
                },
            ),
        ]
    }

    fn deployed(node: &str, t: u64) -> TraceEntry {
        on(
            node,
            t,
            TraceEvent::TasksDeployed {
                attempt: 2,
                tasks: 4,
                restored_from: None,
            },
        )
    }

    fn fault(t: u64, description: &str) -> TraceEntry {
        on(
            "chaos",
            t,
            TraceEvent::Fault {
                description: description.into(),
            },
        )
    }

    fn granted(node: &str, t: u64, epoch: u64) -> TraceEntry {
        on(
            node,
            t,
            TraceEvent::LeadershipGranted {
                epoch,
                restored_from: None,
            },
        )
    }

    #[test]
    fn a_restart_held_up_by_a_pause_of_the_jobmanager_is_not_late() {
        // `deployed` deploys 4 tasks.
        const SLACK: u64 = BUSY_LOOP_SLACK_MS + 4 * BUSY_LOOP_SLACK_PER_TASK_MS;
        let mut trace = failure("jm-0", 100);
        trace.push(fault(900, "pause jm-0"));
        trace.push(fault(2500, "resume jm-0"));
        trace.push(deployed("jm-0", 2500));
        assert!(check(&fixed(), Checkpointing::Enabled, 0, &trace).passed());
        let mut unpaused = failure("jm-0", 100);
        unpaused.push(deployed("jm-0", 2500));
        assert!(!check(&fixed(), Checkpointing::Enabled, 0, &unpaused).passed());
        // ha-chaos seed 1238: the loop acts a millisecond after its resume.
        let mut just_after = failure("jm-0", 100);
        just_after.push(fault(900, "pause jm-0"));
        just_after.push(fault(2500, "resume jm-0"));
        just_after.push(deployed("jm-0", 2501));
        assert!(check(&fixed(), Checkpointing::Enabled, 0, &just_after).passed());
        let mut within_slack = failure("jm-0", 100);
        within_slack.push(fault(900, "pause jm-0"));
        within_slack.push(fault(2500, "resume jm-0"));
        within_slack.push(deployed("jm-0", 2500 + SLACK));
        assert!(check(&fixed(), Checkpointing::Enabled, 0, &within_slack).passed());
        // A pause that began after the restart fell due excuses nothing.
        let mut paused_later = failure("jm-0", 100);
        paused_later.push(fault(1500, "pause jm-0"));
        paused_later.push(fault(2500, "resume jm-0"));
        paused_later.push(deployed("jm-0", 2500));
        assert!(!check(&fixed(), Checkpointing::Enabled, 0, &paused_later).passed());
        // ... but a restart long after the resume is late all the same.
        let mut dawdled = failure("jm-0", 100);
        dawdled.push(fault(900, "pause jm-0"));
        dawdled.push(fault(2500, "resume jm-0"));
        dawdled.push(deployed("jm-0", 2500 + SLACK + 1));
        assert!(!check(&fixed(), Checkpointing::Enabled, 0, &dawdled).passed());
        // A pause that ended before the restart was due excuses nothing.
        let mut before = failure("jm-0", 100);
        before.push(fault(200, "pause jm-0"));
        before.push(fault(300, "resume jm-0"));
        before.push(deployed("jm-0", 1100 + SLACK + 1));
        assert!(!check(&fixed(), Checkpointing::Enabled, 0, &before).passed());
    }

    /// graph-chaos seed 11390: a job of 25 tasks, a TaskManager resumed
    /// just before the restart fell due, and the event loop busy with its
    /// 9 stale tasks for 12 ms. A job of 4 tasks gets 14 ms.
    #[test]
    fn the_slack_for_a_busy_loop_grows_with_the_job() {
        let big = |t: u64| {
            on(
                "jm-0",
                t,
                TraceEvent::TasksDeployed {
                    attempt: 2,
                    tasks: 25,
                    restored_from: None,
                },
            )
        };
        let late_by = |ms: u64, deploy: &dyn Fn(u64) -> TraceEntry| {
            let mut trace = failure("jm-0", 100);
            trace.push(fault(900, "pause jm-0"));
            trace.push(fault(2500, "resume jm-0"));
            trace.push(deploy(2500 + ms));
            check(&fixed(), Checkpointing::Enabled, 0, &trace).passed()
        };
        assert!(late_by(BUSY_LOOP_SLACK_MS + 25, &big));
        assert!(!late_by(BUSY_LOOP_SLACK_MS + 26, &big));
        assert!(late_by(BUSY_LOOP_SLACK_MS + 4, &|t| deployed("jm-0", t)));
        assert!(!late_by(BUSY_LOOP_SLACK_MS + 5, &|t| deployed("jm-0", t)));
    }

    #[test]
    fn a_restart_that_waited_for_a_checkpoint_to_settle_is_not_late() {
        let mut trace = failure("jm-0", 100);
        trace.push(on("jm-0", 1100, TraceEvent::WaitingForCheckpoint { id: 8 }));
        trace.push(deployed("jm-0", 1900));
        assert!(check(&fixed(), Checkpointing::Enabled, 0, &trace).passed());
        let mut early = failure("jm-0", 100);
        early.push(on("jm-0", 500, TraceEvent::WaitingForCheckpoint { id: 8 }));
        early.push(deployed("jm-0", 600));
        assert!(
            !check(&fixed(), Checkpointing::Enabled, 0, &early).passed(),
            "waiting never excuses early"
        );
    }

    #[test]
    fn each_leadership_starts_with_a_fresh_strategy() {
        // One attempt allowed: two failures under one leader would fail the
        // job, but a new leader's JobMaster counts from zero (as Flink's).
        let mut trace = vec![granted("jm-0", 0, 1)];
        trace.extend(failure("jm-0", 100));
        trace.push(deployed("jm-0", 1100));
        trace.push(on(
            "jm-0",
            2000,
            TraceEvent::LeadershipRevoked {
                epoch: 1,
                reason: "test".into(),
            },
        ));
        trace.push(granted("jm-1", 3000, 2));
        trace.extend(failure("jm-1", 4000));
        trace.push(deployed("jm-1", 5000));
        let r = check(&fixed(), Checkpointing::Enabled, 0, &trace);
        assert!(r.passed(), "{r:?}");
        assert_eq!(r.failures, 2);
    }
}
