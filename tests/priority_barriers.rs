//! Priority barriers and alternating checkpoints under backpressure
//! (issue 18, items 2 and 3): a task waiting for output credit still
//! handles barriers, unaligned barriers overtake the queued output, and
//! alternating checkpoints start aligned at the sources and switch once the
//! aligned-checkpoint timeout, counted from the trigger, has passed.
//!
//! The figures come from the model, not from timing: in the
//! `cpu-backpressure-*` scenarios a count task pays 1 ms of CPU per record
//! and receives batches of 512 records (`halab.network.batch-size`) on 4
//! credits (`halab.network.credits`) per channel. An aligned barrier waits
//! behind what is queued ahead of it, at least one batch: 512 ms. An
//! unaligned barrier overtakes the queues, so it waits for no batch.

use halab_scenarios::catalogue;
use halab_sim::record::CheckpointEvent;
use halab_sim::scenario::ConfigValue;
use halab_sim::{run_seed, RunRecord, Scenario, Verdict};

/// CPU time of one batch in the `cpu-backpressure-*` scenarios (ms).
const BATCH_MS: i64 = 512;

fn scenario(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

fn passing_runs(s: &Scenario, seeds: std::ops::RangeInclusive<u64>) -> Vec<RunRecord> {
    let records: Vec<RunRecord> = seeds.map(|seed| run_seed(s, seed).expect("valid")).collect();
    for r in &records {
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{} seed {}: {:?}",
            r.scenario,
            r.seed,
            r.message
        );
    }
    records
}

fn completed(rs: &[RunRecord]) -> impl Iterator<Item = &CheckpointEvent> {
    rs.iter()
        .flat_map(|r| &r.checkpoints)
        .filter(|c| c.outcome == "completed")
}

/// The `p`th percentile (nearest rank) of the completed checkpoints' durations.
fn duration_percentile(rs: &[RunRecord], p: usize) -> i64 {
    let mut d: Vec<i64> = completed(rs).filter_map(|c| c.duration_ms).collect();
    assert!(!d.is_empty(), "some checkpoints completed");
    d.sort_unstable();
    d[(d.len() - 1) * p / 100]
}

/// Under CPU backpressure an aligned barrier waits behind at least a batch
/// in every task's input; an unaligned one overtakes the queued input and
/// output and is taken while the task still pays for its current batch.
#[test]
fn unaligned_checkpoints_under_backpressure_are_far_shorter_than_aligned() {
    let aligned = passing_runs(&scenario("cpu-backpressure-aligned"), 1..=8);
    let unaligned = passing_runs(&scenario("cpu-backpressure-unaligned"), 1..=8);
    let (a50, u50) = (duration_percentile(&aligned, 50), duration_percentile(&unaligned, 50));
    let (a90, u90) = (duration_percentile(&aligned, 90), duration_percentile(&unaligned, 90));
    assert!(a50 > BATCH_MS, "aligned p50 {a50} ms waits behind a batch");
    assert!(u50 < BATCH_MS / 2, "unaligned p50 {u50} ms waits behind no batch");
    assert!(u90 < a90 / 2, "unaligned p90 {u90} ms, aligned p90 {a90} ms");
}

/// Alternating checkpoints: no task aligns longer than the timeout (200 ms
/// in `cpu-backpressure-alternating`), counted from the barrier's trigger
/// timestamp; the timer fires even while the task waits for output credit
/// or pays for a batch. The slack is the event loop's reaction to the timer:
/// a task in the middle of a sink-store write (one request). And the
/// checkpoint's duration is near the timeout.
#[test]
fn alternating_alignment_is_capped_near_the_timeout() {
    let timeout_ms = 200;
    let alt = passing_runs(&scenario("cpu-backpressure-alternating"), 1..=8);
    let alignments: Vec<i64> = completed(&alt).filter_map(|c| c.alignment_ms).collect();
    assert!(
        alignments.iter().all(|a| *a <= timeout_ms + 50),
        "alignment is cut at the {timeout_ms} ms timeout: {alignments:?}"
    );
    let aligned = passing_runs(&scenario("cpu-backpressure-aligned"), 1..=8);
    let max_aligned = completed(&aligned).filter_map(|c| c.alignment_ms).max();
    assert!(
        max_aligned > Some(2 * timeout_ms),
        "without the timeout alignment takes longer: {max_aligned:?}"
    );
    assert!(
        completed(&alt).any(|c| c.persisted_bytes > Some(0)),
        "some checkpoints switched to unaligned"
    );
    // Once timed out, barriers overtake the queues at the senders and in
    // the receivers' input channels: an alternating checkpoint takes about
    // the timeout, well under an aligned one's wait behind a batch.
    let (alt50, aligned50) = (duration_percentile(&alt, 50), duration_percentile(&aligned, 50));
    assert!(
        alt50 < timeout_ms + BATCH_MS / 2 && alt50 < aligned50 / 2,
        "alternating p50 {alt50} ms, aligned p50 {aligned50} ms"
    );
}

/// Alternating checkpoints begin aligned at the sources too: a checkpoint
/// that completes within the timeout persists no in-flight data (a barrier
/// is converted only once the timeout passed since the trigger). Without
/// backpressure every checkpoint completes within a long timeout; the same
/// job with plain unaligned checkpoints persists the sources' unsent output.
#[test]
fn alternating_sources_start_aligned() {
    let mut alt = scenario("backpressure-alternating");
    alt.faults.scripted.clear();
    alt.config.insert(
        "execution.checkpointing.aligned-checkpoint-timeout".into(),
        ConfigValue::String("5s".into()),
    );
    let runs = passing_runs(&alt, 1..=4);
    assert!(completed(&runs).count() >= 20, "checkpoints completed");
    for c in completed(&runs) {
        assert!(c.duration_ms < Some(5000), "{c:?} within the timeout");
        assert_eq!(c.persisted_bytes, Some(0), "{c:?} persisted in-flight data");
    }
    let mut unaligned = alt.clone();
    unaligned
        .config
        .remove("execution.checkpointing.aligned-checkpoint-timeout");
    let runs = passing_runs(&unaligned, 1..=4);
    assert!(
        completed(&runs).any(|c| c.persisted_bytes > Some(0)),
        "unaligned barriers overtake the sources' unsent output"
    );
    // In a backpressured run, the checkpoints that complete within the
    // timeout persist nothing either.
    let bp = passing_runs(&scenario("cpu-backpressure-alternating"), 1..=8);
    let quick: Vec<&CheckpointEvent> = completed(&bp).filter(|c| c.duration_ms <= Some(200)).collect();
    assert!(!quick.is_empty(), "some checkpoints complete within the timeout");
    assert!(quick.iter().all(|c| c.persisted_bytes == Some(0)), "{quick:?}");
}

/// In the `backpressure-*` scenarios the sink store is slowed 40 times
/// until 10 s: each request takes 40 × 5 ms. The sink sends its writes from
/// its own store client (`engine/src/process/task/sink.rs` `StoreWriter`),
/// so it takes barriers and alignment timers while a write is out; only the
/// batch's credit waits for the write.
const SLOW_REQUEST_MS: i64 = 40 * 5;

/// The checkpoints of `rs` that ran entirely while the sink store was slow.
fn during_slow_store(rs: &[RunRecord]) -> Vec<i64> {
    completed(rs)
        .filter(|c| c.t_ms < 10_000)
        .filter_map(|c| c.duration_ms)
        .collect()
}

fn percentile(mut d: Vec<i64>, p: usize) -> i64 {
    assert!(!d.is_empty(), "some checkpoints completed");
    d.sort_unstable();
    d[(d.len() - 1) * p / 100]
}

/// A sink busy with a slow write still aligns within the timeout, and an
/// unaligned checkpoint costs what the two-phase-commit sink must pay and
/// no more: its pre-commit (one request, carrying the records still
/// buffered), queued behind at most the write already out. The aligned
/// barrier waits behind the queued records as well.
#[test]
fn a_sink_waiting_for_its_store_still_takes_barriers() {
    let timeout_ms = 20;
    let alt = passing_runs(&scenario("backpressure-alternating"), 1..=8);
    let alignments: Vec<i64> = completed(&alt).filter_map(|c| c.alignment_ms).collect();
    assert!(
        alignments.iter().all(|a| *a <= timeout_ms),
        "alignment is cut at the {timeout_ms} ms timeout, not after a {SLOW_REQUEST_MS} ms write: {alignments:?}"
    );
    let unaligned = during_slow_store(&passing_runs(&scenario("backpressure-unaligned"), 1..=8));
    let aligned = during_slow_store(&passing_runs(&scenario("backpressure-aligned"), 1..=8));
    let floor = *unaligned.iter().min().expect("checkpoints while the store is slow");
    assert!(
        floor >= SLOW_REQUEST_MS,
        "every checkpoint waits for the sink's pre-commit: {floor} ms"
    );
    let (u50, u99) = (percentile(unaligned.clone(), 50), percentile(unaligned, 99));
    // The slack: network round trips and the upload of the in-flight
    // data (20 ms per checkpoint-storage request).
    assert!(
        u50 <= 2 * SLOW_REQUEST_MS + 50,
        "unaligned p50 {u50} ms: the pre-commit and at most the write ahead of it"
    );
    let (a50, a99) = (percentile(aligned.clone(), 50), percentile(aligned, 99));
    assert!(
        u50 < a50 && u99 < a99 / 2,
        "unaligned p50 {u50} / p99 {u99} ms against aligned {a50} / {a99} ms"
    );
}
