//! The barrier handler's rules, one Flink behaviour per test (aligned,
//! unaligned, alternating, at-least-once, cancellation and subsumption).

use super::*;

fn b(id: CheckpointId) -> CheckpointBarrier {
    CheckpointBarrier { id, timestamp_ms: 0 }
}

fn snap(id: CheckpointId, alignment: AlignmentType) -> BarrierAction {
    BarrierAction::Snapshot {
        barrier: b(id),
        alignment,
    }
}

fn aligned(n: usize) -> BarrierHandler {
    BarrierHandler::new(n, BarrierConfig::ALIGNED)
}

fn unaligned(n: usize, timeout: i64) -> BarrierHandler {
    BarrierHandler::new(
        n,
        BarrierConfig {
            mode: CheckpointingMode::ExactlyOnce,
            unaligned: true,
            aligned_timeout_ms: timeout,
        },
    )
}

fn at_least_once(n: usize) -> BarrierHandler {
    BarrierHandler::new(
        n,
        BarrierConfig {
            mode: CheckpointingMode::AtLeastOnce,
            unaligned: false,
            aligned_timeout_ms: 0,
        },
    )
}

#[test]
fn aligned_blocks_until_all_channels_then_snapshots() {
    let mut h = aligned(3);
    assert_eq!(h.on_barrier(1, b(1), 0), vec![]);
    assert!(h.is_blocked(1) && !h.is_blocked(0));
    assert_eq!(h.on_barrier(0, b(1), 0), vec![]);
    assert_eq!(h.on_barrier(2, b(1), 5), vec![snap(1, AlignmentType::Aligned)]);
    assert!(!h.is_blocked(0) && !h.is_blocked(1) && !h.is_pending());
    assert_eq!(h.is_capturing(0), None);
    assert_eq!(h.alignment_started_ms(), Some(0), "the alignment lasted from 0 to 5");
}

#[test]
fn single_channel_aligns_at_once() {
    assert_eq!(aligned(1).on_barrier(0, b(4), 0), vec![snap(4, AlignmentType::Aligned)]);
}

#[test]
fn obsolete_barriers_are_ignored() {
    let mut h = aligned(2);
    h.on_barrier(0, b(2), 0);
    h.on_barrier(1, b(2), 0);
    assert_eq!(h.on_barrier(0, b(2), 0), vec![], "same id after completion");
    assert_eq!(h.on_barrier(0, b(1), 0), vec![], "older id");
    assert!(!h.is_blocked(0));
}

#[test]
fn newer_barrier_subsumes_pending() {
    let mut h = aligned(2);
    h.on_barrier(0, b(1), 0);
    assert_eq!(
        h.on_barrier(1, b(2), 0),
        vec![BarrierAction::Abort {
            id: 1,
            reason: CheckpointFailureReason::CheckpointDeclinedSubsumed
        }]
    );
    assert!(h.is_blocked(1) && !h.is_blocked(0));
    assert_eq!(h.on_barrier(0, b(2), 0), vec![snap(2, AlignmentType::Aligned)]);
}

#[test]
fn unaligned_snapshots_at_first_barrier_and_captures_the_others() {
    let mut h = unaligned(3, 0);
    assert_eq!(h.on_barrier(2, b(7), 0), vec![snap(7, AlignmentType::Unaligned)]);
    assert!(!h.is_blocked(2), "unaligned never blocks");
    assert_eq!(h.is_capturing(0), Some(7));
    assert_eq!(h.is_capturing(2), None, "its barrier arrived");
    assert_eq!(h.on_barrier(0, b(7), 0), vec![]);
    assert_eq!(h.is_capturing(0), None);
    assert_eq!(
        h.on_barrier(1, b(7), 0),
        vec![BarrierAction::InFlightComplete { id: 7 }]
    );
    assert_eq!(h.is_capturing(1), None);
    assert!(!h.is_pending());
}

#[test]
fn unaligned_single_channel_completes_at_once() {
    let mut h = unaligned(1, 0);
    assert_eq!(
        h.on_barrier(0, b(1), 0),
        vec![
            snap(1, AlignmentType::Unaligned),
            BarrierAction::InFlightComplete { id: 1 }
        ]
    );
}

#[test]
fn alternating_starts_aligned_and_switches_after_the_timeout() {
    let mut h = unaligned(2, 100);
    let barrier = CheckpointBarrier {
        id: 3,
        timestamp_ms: 1000,
    };
    assert_eq!(h.on_barrier(0, barrier, 1010), vec![]);
    assert!(h.is_blocked(0), "aligned at first");
    assert_eq!(h.alignment_deadline_ms(), Some(1101));
    assert_eq!(h.on_timer(1100), vec![], "not yet: timeout < now - ts is strict");
    assert_eq!(
        h.on_timer(1101),
        vec![BarrierAction::Snapshot {
            barrier,
            alignment: AlignmentType::Unaligned
        }]
    );
    assert!(!h.is_blocked(0));
    assert_eq!(h.is_capturing(1), Some(3));
    assert_eq!(
        h.on_barrier(1, barrier, 1200),
        vec![BarrierAction::InFlightComplete { id: 3 }]
    );
}

#[test]
fn alternating_aligns_normally_within_the_timeout() {
    let mut h = unaligned(2, 100);
    let barrier = CheckpointBarrier {
        id: 3,
        timestamp_ms: 1000,
    };
    h.on_barrier(0, barrier, 1010);
    assert_eq!(
        h.on_barrier(1, barrier, 1050),
        vec![BarrierAction::Snapshot {
            barrier,
            alignment: AlignmentType::Aligned
        }]
    );
}

#[test]
fn alternating_late_barrier_switches_on_arrival() {
    let mut h = unaligned(3, 100);
    let barrier = CheckpointBarrier {
        id: 3,
        timestamp_ms: 1000,
    };
    h.on_barrier(0, barrier, 1010);
    let actions = h.on_barrier(1, barrier, 1500);
    assert_eq!(
        actions,
        vec![BarrierAction::Snapshot {
            barrier,
            alignment: AlignmentType::Unaligned
        }]
    );
    assert_eq!(h.is_capturing(2), Some(3));
}

/// The timeout counts from the barrier's timestamp (the trigger), not
/// from when the first barrier reached this task: a first barrier that
/// arrives after the timeout switches at once, one that arrives just
/// within it starts aligned with the deadline at `timestamp + timeout`.
#[test]
fn alternating_timeout_counts_from_the_barrier_timestamp() {
    let barrier = CheckpointBarrier {
        id: 4,
        timestamp_ms: 2000,
    };
    let mut late = unaligned(2, 100);
    assert_eq!(
        late.on_barrier(0, barrier, 2101),
        vec![BarrierAction::Snapshot {
            barrier,
            alignment: AlignmentType::Unaligned
        }],
        "101 ms after the trigger: timed out on arrival"
    );
    assert_eq!(late.is_capturing(1), Some(4));
    let mut in_time = unaligned(2, 100);
    assert_eq!(in_time.on_barrier(0, barrier, 2100), vec![], "100 ms: not yet (strict)");
    assert!(in_time.is_blocked(0));
    assert_eq!(
        in_time.alignment_deadline_ms(),
        Some(2101),
        "deadline from the timestamp, not from the arrival at 2100"
    );
    assert_eq!(in_time.on_timer(2101).len(), 1, "switches at the deadline");
    assert!(!in_time.is_blocked(0) && in_time.overtaking_allowed());
}

/// A barrier queued behind records may overtake them in an alternating
/// checkpoint once it timed out (counted from its timestamp), never in
/// an aligned one, always in an unaligned one.
#[test]
fn queued_barriers_overtake_once_timed_out_in_alternating_checkpoints() {
    let barrier = CheckpointBarrier {
        id: 2,
        timestamp_ms: 500,
    };
    let alt = unaligned(2, 100);
    assert!(!alt.may_overtake(&barrier, 600), "not timed out at 600 (strict)");
    assert!(alt.may_overtake(&barrier, 601));
    assert_eq!(alt.queued_barrier_deadline_ms(500), Some(601));
    assert!(unaligned(2, 0).may_overtake(&barrier, 0));
    assert!(!aligned(2).may_overtake(&barrier, 10_000));
    assert_eq!(aligned(2).queued_barrier_deadline_ms(500), None);
    let mut done = unaligned(1, 100);
    done.on_barrier(0, barrier, 510);
    assert!(
        !done.may_overtake(&barrier, 10_000),
        "a finished checkpoint's barrier stays put"
    );
}

/// Flink's `isTimedOut` and how sources forward barriers: alternating
/// checkpoints start aligned with a timeout, unaligned ones unaligned.
#[test]
fn sources_start_alternating_checkpoints_aligned() {
    assert!(!is_timed_out(1000, 100, 1100) && is_timed_out(1000, 100, 1101));
    let config = |unaligned, aligned_timeout_ms| BarrierConfig {
        mode: CheckpointingMode::ExactlyOnce,
        unaligned,
        aligned_timeout_ms,
    };
    let alternating = config(true, 20);
    assert_eq!(alternating.source_alignment(), AlignmentType::Aligned);
    assert_eq!(alternating.barrier_timeout_ms(), Some(20));
    assert_eq!(config(true, 0).source_alignment(), AlignmentType::Unaligned);
    assert_eq!(config(true, 0).barrier_timeout_ms(), None);
    assert_eq!(config(false, 20).source_alignment(), AlignmentType::Aligned);
    assert_eq!(
        config(false, 20).barrier_timeout_ms(),
        None,
        "timeout only with unaligned"
    );
    let at_least_once = BarrierConfig {
        mode: CheckpointingMode::AtLeastOnce,
        ..config(true, 0)
    };
    assert_eq!(at_least_once.source_alignment(), AlignmentType::Aligned);
}

#[test]
fn at_least_once_never_blocks_and_triggers_when_all_arrived() {
    let mut h = at_least_once(2);
    assert_eq!(h.on_barrier(0, b(1), 0), vec![]);
    assert!(!h.is_blocked(0));
    assert_eq!(h.on_barrier(0, b(2), 0), vec![]);
    assert_eq!(h.on_barrier(1, b(2), 0).last(), Some(&snap(2, AlignmentType::Aligned)));
    assert_eq!(h.on_barrier(1, b(1), 0), vec![], "older than the last triggered");
}

#[test]
fn at_least_once_abandons_older_checkpoints() {
    let mut h = at_least_once(2);
    h.on_barrier(0, b(1), 0);
    h.on_barrier(0, b(2), 0);
    let a = h.on_barrier(1, b(2), 0);
    assert_eq!(
        a,
        vec![
            BarrierAction::Abort {
                id: 1,
                reason: CheckpointFailureReason::CheckpointDeclinedSubsumed
            },
            snap(2, AlignmentType::Aligned)
        ]
    );
}

#[test]
fn cancellation_marker_aborts_the_pending_checkpoint() {
    let mut h = aligned(2);
    h.on_barrier(0, b(5), 0);
    assert_eq!(
        h.on_cancellation(5),
        vec![BarrierAction::Abort {
            id: 5,
            reason: CheckpointFailureReason::CheckpointDeclinedOnCancellationBarrier
        }]
    );
    assert!(!h.is_blocked(0) && !h.is_pending());
    assert_eq!(
        h.on_barrier(1, b(5), 0),
        vec![],
        "the cancelled checkpoint's barriers are obsolete"
    );
    assert_eq!(h.on_cancellation(4), vec![], "older marker");
}

#[test]
fn cancellation_of_a_newer_checkpoint_aborts_the_current_one() {
    let mut h = aligned(2);
    h.on_barrier(0, b(5), 0);
    assert_eq!(
        h.on_cancellation(6),
        vec![BarrierAction::Abort {
            id: 5,
            reason: CheckpointFailureReason::CheckpointDeclinedOnCancellationBarrier
        }]
    );
    assert_eq!(h.on_barrier(0, b(6), 0), vec![]);
}

#[test]
fn end_of_partition_counts_as_aligned() {
    let mut h = aligned(3);
    h.on_barrier(0, b(1), 0);
    h.on_barrier(1, b(1), 0);
    assert_eq!(h.on_end_of_partition(2), vec![snap(1, AlignmentType::Aligned)]);
    assert_eq!(h.on_barrier(0, b(2), 0), vec![]);
    assert_eq!(
        h.on_barrier(1, b(2), 0),
        vec![snap(2, AlignmentType::Aligned)],
        "the closed channel is aligned"
    );
    let mut t = at_least_once(2);
    t.on_barrier(0, b(1), 0);
    assert_eq!(t.on_end_of_partition(1), vec![snap(1, AlignmentType::Aligned)]);
    let mut u = unaligned(2, 0);
    u.on_barrier(0, b(1), 0);
    assert_eq!(u.is_capturing(1), Some(1));
    assert_eq!(
        u.on_end_of_partition(1),
        vec![BarrierAction::InFlightComplete { id: 1 }]
    );
}

/// An iteration head: channels 0 and 1 its input, 2 and 3 its feedback
/// edge.
fn head(handler: BarrierHandler, back_edges: BackEdges) -> BarrierHandler {
    handler.with_feedback([2, 3], back_edges)
}

#[test]
fn an_iteration_head_snapshots_at_its_inputs_barriers_and_logs_its_loop() {
    let mut h = head(aligned(4), BackEdges::Log);
    assert_eq!(h.on_barrier(0, b(1), 0), vec![]);
    // A feedback barrier that comes round early blocks its channel.
    assert_eq!(h.on_barrier(3, b(1), 1), vec![]);
    assert!(h.is_blocked(3) && h.is_blocked(0) && !h.is_blocked(2));
    assert_eq!(
        h.on_barrier(1, b(1), 2),
        vec![snap(1, AlignmentType::AlignedWithBackEdgeLog)]
    );
    // The loop's records at the cut: channel 2 until its barrier.
    assert_eq!(h.is_capturing(2), Some(1));
    assert_eq!(
        (h.is_capturing(0), h.is_capturing(1), h.is_capturing(3)),
        (None, None, None)
    );
    assert!(
        !h.is_blocked(3) && !h.is_blocked(0),
        "nothing waits once the snapshot is taken"
    );
    assert_eq!(
        h.on_barrier(2, b(1), 3),
        vec![BarrierAction::InFlightComplete { id: 1 }]
    );
    assert!(!h.is_pending() && h.is_capturing(2).is_none());
}

#[test]
fn an_iteration_head_whose_loop_barriers_came_first_snapshots_aligned() {
    let mut h = head(aligned(4), BackEdges::Log);
    assert_eq!(h.on_barrier(2, b(1), 0), vec![]);
    assert_eq!(h.on_barrier(3, b(1), 0), vec![]);
    assert_eq!(h.on_barrier(0, b(1), 0), vec![]);
    assert_eq!(h.on_barrier(1, b(1), 0), vec![snap(1, AlignmentType::Aligned)]);
}

#[test]
fn a_broken_iteration_head_forgets_its_loop() {
    let mut h = head(aligned(4), BackEdges::Forget);
    assert_eq!(h.on_barrier(0, b(1), 0), vec![]);
    assert_eq!(h.on_barrier(1, b(1), 0), vec![snap(1, AlignmentType::Aligned)]);
    assert_eq!(h.is_capturing(2), None);
    // Its feedback barriers come round to a finished checkpoint.
    assert_eq!(h.on_barrier(2, b(1), 1), vec![]);
    assert_eq!(h.on_barrier(3, b(1), 1), vec![]);
    assert!(!h.is_pending());
}

#[test]
fn an_unaligned_iteration_head_snapshots_at_any_first_barrier() {
    let mut h = head(unaligned(4, 0), BackEdges::Log);
    assert_eq!(h.on_barrier(3, b(1), 0), vec![snap(1, AlignmentType::Unaligned)]);
    assert_eq!(
        (h.is_capturing(0), h.is_capturing(2), h.is_capturing(3)),
        (Some(1), Some(1), None)
    );
    for c in [0, 1] {
        assert_eq!(h.on_barrier(c, b(1), 1), vec![]);
    }
    assert_eq!(
        h.on_barrier(2, b(1), 2),
        vec![BarrierAction::InFlightComplete { id: 1 }]
    );
}

#[test]
fn a_newer_barrier_subsumes_a_head_still_logging_its_loop() {
    let mut h = head(aligned(4), BackEdges::Log);
    h.on_barrier(0, b(1), 0);
    assert_eq!(
        h.on_barrier(1, b(1), 0),
        vec![snap(1, AlignmentType::AlignedWithBackEdgeLog)]
    );
    let subsumed = BarrierAction::Abort {
        id: 1,
        reason: CheckpointFailureReason::CheckpointDeclinedSubsumed,
    };
    assert_eq!(h.on_barrier(0, b(2), 1), vec![subsumed]);
    assert!(h.is_blocked(0) && h.is_capturing(2).is_none());
}

#[test]
fn an_at_least_once_head_does_not_wait_for_its_loop() {
    let mut h = head(at_least_once(4), BackEdges::Log);
    assert_eq!(h.on_barrier(0, b(1), 0), vec![]);
    assert_eq!(h.on_barrier(1, b(1), 0), vec![snap(1, AlignmentType::Aligned)]);
}
