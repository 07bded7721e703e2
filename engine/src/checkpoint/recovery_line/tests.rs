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
