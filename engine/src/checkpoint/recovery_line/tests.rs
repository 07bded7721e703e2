//! The recovery line against its definition: consistent, and no
//! consistent set of checkpoints is later (brute force over random
//! executions); the domino effect of the textbook zig-zag.

use proptest::prelude::*;

use super::*;

fn task(i: u32) -> ExecutionVertexId {
    ExecutionVertexId { vertex: i, subtask: 0 }
}

type Checkpoints = BTreeMap<ExecutionVertexId, Vec<ChannelCut>>;

/// The channels of tasks 0..n: each sends to the next two on a ring.
fn ring(n: u32) -> (Vec<ChannelPair>, Vec<usize>, Vec<usize>) {
    let mut channels = Vec::new();
    let (mut outs, mut ins) = (vec![0usize; n as usize], vec![0usize; n as usize]);
    for a in 0..n {
        for b in [(a + 1) % n, (a + 2) % n] {
            let known = channels
                .iter()
                .any(|c: &ChannelPair| c.sender == task(a) && c.receiver == task(b));
            if a == b || known {
                continue;
            }
            channels.push(ChannelPair {
                sender: task(a),
                out: outs[a as usize],
                receiver: task(b),
                input: ins[b as usize],
            });
            outs[a as usize] += 1;
            ins[b as usize] += 1;
        }
    }
    (channels, outs, ins)
}

/// A random execution on [`ring`]`(n)`: each step sends on a channel,
/// delivers a record in flight on one, or checkpoints a task.
fn execute(n: u32, steps: &[(u8, u8)]) -> (Checkpoints, Vec<ChannelPair>) {
    let (channels, outs, ins) = ring(n);
    let mut sent: Vec<Vec<u64>> = outs.iter().map(|n| vec![0; *n]).collect();
    let mut received: Vec<Vec<u64>> = ins.iter().map(|n| vec![0; *n]).collect();
    let mut checkpoints: Checkpoints = (0..n).map(|t| (task(t), Vec::new())).collect();
    for &(kind, which) in steps {
        let ch = channels[which as usize % channels.len()];
        let (s, r) = (ch.sender.vertex as usize, ch.receiver.vertex as usize);
        match kind % 3 {
            0 => sent[s][ch.out] += 1,
            1 if received[r][ch.input] < sent[s][ch.out] => received[r][ch.input] += 1,
            1 => {}
            _ => {
                let t = u32::from(which) % n;
                let list = checkpoints.get_mut(&task(t)).expect("every task");
                list.push(ChannelCut {
                    local_id: list.len() as u64 + 1,
                    received: received[t as usize].clone(),
                    sent: sent[t as usize].clone(),
                    log_first: vec![0; outs[t as usize]],
                    index: 0,
                });
            }
        }
    }
    (checkpoints, channels)
}

/// Every line: per task, its initial state or any of its checkpoints.
fn all_lines(checkpoints: &Checkpoints) -> Vec<Line> {
    let mut lines = vec![Line::new()];
    for (t, cuts) in checkpoints {
        lines = lines
            .into_iter()
            .flat_map(|l| {
                std::iter::once(None).chain((0..cuts.len()).map(Some)).map(move |at| {
                    let mut l = l.clone();
                    l.insert(*t, at);
                    l
                })
            })
            .collect();
    }
    lines
}

/// `a` is at least `b` for every task (None, the initial state, first).
fn dominates(a: &Line, b: &Line) -> bool {
    a.iter().all(|(t, at)| *at >= b[t])
}

proptest! {
    #[test]
    fn the_line_is_the_latest_consistent_set(n in 2u32..5, steps in prop::collection::vec((0u8..3, 0u8..16), 0..40)) {
        let (checkpoints, channels) = execute(n, &steps);
        let line = recovery_line(&checkpoints, &channels);
        prop_assert!(is_consistent(&checkpoints, &channels, &line));
        for other in all_lines(&checkpoints) {
            if is_consistent(&checkpoints, &channels, &other) {
                prop_assert!(dominates(&line, &other), "{other:?} is consistent and not below {line:?}");
            }
        }
        for (ch, range) in in_flight(&checkpoints, &channels, &line) {
            prop_assert!(range.start < range.end, "{ch:?}");
        }
    }
}

fn cut(local_id: u64, received: u64, sent: u64) -> ChannelCut {
    ChannelCut {
        local_id,
        received: vec![received],
        sent: vec![sent],
        log_first: vec![0],
        index: 0,
    }
}

fn pair() -> [ChannelPair; 2] {
    let (a, b) = (task(0), task(1));
    [
        ChannelPair {
            sender: a,
            out: 0,
            receiver: b,
            input: 0,
        },
        ChannelPair {
            sender: b,
            out: 0,
            receiver: a,
            input: 0,
        },
    ]
}

#[test]
fn a_zig_zag_of_messages_rolls_both_tasks_back_to_the_start() {
    // A sends its n-th record, processes B's n-th and checkpoints; B
    // processes A's n-th, checkpoints, then sends its n-th. Each of A's
    // checkpoints holds a record B sent after its own checkpoint, each of
    // B's a record A sent before its: every rollback forces the next.
    let (a, b) = (task(0), task(1));
    let channels = pair();
    let checkpoints = BTreeMap::from([
        (a, vec![cut(1, 1, 1), cut(2, 2, 2), cut(3, 3, 3)]),
        (b, vec![cut(1, 1, 0), cut(2, 2, 1), cut(3, 3, 2)]),
    ]);
    let line = recovery_line(&checkpoints, &channels);
    assert_eq!(line, Line::from([(a, None), (b, None)]), "rolled back to the start");
    // Had A checkpointed before processing B's record, nothing would roll.
    let tidy = BTreeMap::from([
        (a, vec![cut(1, 0, 1), cut(2, 1, 2), cut(3, 2, 3)]),
        (b, vec![cut(1, 1, 1), cut(2, 2, 2), cut(3, 3, 3)]),
    ]);
    let line = recovery_line(&tidy, &channels);
    assert_eq!(line, Line::from([(a, Some(2)), (b, Some(2))]));
    let flight = in_flight(&tidy, &channels, &line);
    assert_eq!(flight, vec![(channels[1], 2..3)], "B's third record is in flight");
}

/// A random execution under index-based communication-induced
/// checkpointing on [`ring`]`(n)`: every record carries its sender's
/// index, and a receiver whose index is lower takes a forced snapshot at
/// it before processing the record (unless `forced` is false).
fn execute_cic(n: u32, steps: &[(u8, u8)], forced: bool) -> (Checkpoints, Vec<ChannelPair>) {
    let (channels, outs, ins) = ring(n);
    let mut sent: Vec<Vec<u64>> = outs.iter().map(|n| vec![0; *n]).collect();
    let mut received: Vec<Vec<u64>> = ins.iter().map(|n| vec![0; *n]).collect();
    // Per channel, the indexes of the records in flight, oldest first.
    let mut in_flight: Vec<std::collections::VecDeque<u64>> = vec![Default::default(); channels.len()];
    let mut index = vec![0u64; n as usize];
    let mut checkpoints: Checkpoints = (0..n).map(|t| (task(t), Vec::new())).collect();
    let snap = |checkpoints: &mut Checkpoints, t: usize, index: u64, received: &[u64], sent: &[u64]| {
        let list = checkpoints.get_mut(&task(t as u32)).expect("every task");
        list.push(ChannelCut {
            local_id: list.len() as u64 + 1,
            received: received.to_vec(),
            sent: sent.to_vec(),
            log_first: vec![0; sent.len()],
            index,
        });
    };
    for &(kind, which) in steps {
        let c = which as usize % channels.len();
        let ch = channels[c];
        let (s, r) = (ch.sender.vertex as usize, ch.receiver.vertex as usize);
        match kind % 3 {
            0 => {
                sent[s][ch.out] += 1;
                in_flight[c].push_back(index[s]);
            }
            1 => {
                let Some(carried) = in_flight[c].pop_front() else {
                    continue;
                };
                if forced && carried > index[r] {
                    index[r] = carried;
                    snap(&mut checkpoints, r, index[r], &received[r], &sent[r]);
                }
                received[r][ch.input] += 1;
            }
            _ => {
                let t = which as usize % n as usize;
                index[t] += 1;
                snap(&mut checkpoints, t, index[t], &received[t], &sent[t]);
            }
        }
    }
    (checkpoints, channels)
}

proptest! {
    #[test]
    fn the_index_line_of_forced_snapshots_is_consistent(n in 2u32..5, steps in prop::collection::vec((0u8..3, 0u8..16), 0..60)) {
        let (checkpoints, channels) = execute_cic(n, &steps, true);
        let line = index_line(&checkpoints, &BTreeMap::new());
        prop_assert!(is_consistent(&checkpoints, &channels, &line), "{line:?}");
        // And it is never above the latest consistent line.
        prop_assert!(dominates(&recovery_line(&checkpoints, &channels), &line));
    }
}

#[test]
fn without_forced_snapshots_the_index_line_has_orphans() {
    // A checkpoints (index 1) and sends; B processes the record, then
    // checkpoints (index 1) without being forced: B's snapshot holds a
    // record A sent after A's.
    let steps = [(2, 0), (0, 0), (1, 0), (2, 1)];
    let (checkpoints, channels) = execute_cic(2, &steps, false);
    let line = index_line(&checkpoints, &BTreeMap::new());
    assert!(!is_consistent(&checkpoints, &channels, &line));
    let (checkpoints, channels) = execute_cic(2, &steps, true);
    let line = index_line(&checkpoints, &BTreeMap::new());
    assert!(is_consistent(&checkpoints, &channels, &line));
}

#[test]
fn after_a_restore_the_index_line_counts_from_the_restored_snapshots() {
    let a = task(0);
    let with = |local_id, index| ChannelCut {
        local_id,
        received: vec![0],
        sent: vec![0],
        log_first: vec![0],
        index,
    };
    // A was restored at its 2nd snapshot (index 4), B at its 1st (index 2);
    // B has taken none since.
    let checkpoints = BTreeMap::from([
        (a, vec![with(1, 2), with(2, 4), with(3, 5)]),
        (task(1), vec![with(1, 2)]),
    ]);
    let floor = BTreeMap::from([(a, 1), (task(1), 0)]);
    let line = index_line(&checkpoints, &floor);
    assert_eq!(line[&a], Some(1), "not A's first, below where it started again");
    assert_eq!(line[&task(1)], Some(0));
    let unrestored = index_line(&checkpoints, &BTreeMap::new());
    assert_eq!(
        unrestored[&a],
        Some(0),
        "without the floor: A's first at index 2 or above"
    );
}
