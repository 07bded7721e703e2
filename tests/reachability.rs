//! The cyclic query (`reachability`, docs/scenarios.md "The cyclic
//! query"): its reference is the breadth-first search of the whole edge
//! stream, the engine's iteration commits exactly that under chaos with
//! aligned and unaligned checkpoints, an iteration head that forgets the
//! records in its loop at a checkpoint is caught, and invalid cyclic jobs
//! are refused at their key.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use halab_engine::config::Sabotage;
use halab_engine::status::JobStatus;
use halab_scenarios::{catalogue, parse_scenario};
use halab_sim::graph_reference::interpret;
use halab_sim::harness::run_seed;
use halab_sim::record::{RunRecord, Verdict};
use halab_sim::reference::SourceContent;
use halab_sim::scenario::{ConfigValue, Scenario};

const SEED: u64 = 7;

fn query(name: &str) -> Scenario {
    catalogue::load(name).expect("built-in").expect("valid")
}

/// Every edge of the stream as (source, target, partition, offset).
fn edges(content: &SourceContent) -> Vec<(u64, u64, u32, u64)> {
    (0..content.partitions)
        .flat_map(|p| (0..content.partition_len(p)).map(move |o| (p, o)))
        .map(|(p, o)| {
            let (from, to) = content.record_at(p, o);
            (from, to, p, o)
        })
        .collect()
}

/// The vertices reachable from `root`, by breadth-first search.
fn reachable(edges: &[(u64, u64, u32, u64)], root: u64) -> BTreeSet<u64> {
    let mut out: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (from, to, _, _) in edges {
        out.entry(*from).or_default().push(*to);
    }
    let mut seen = BTreeSet::from([root]);
    let mut queue = VecDeque::from([root]);
    while let Some(v) = queue.pop_front() {
        for w in out.get(&v).into_iter().flatten() {
            if seen.insert(*w) {
                queue.push_back(*w);
            }
        }
    }
    seen
}

#[test]
fn the_reference_is_every_edge_out_of_a_reachable_vertex_reversed() {
    let s = query("reachability");
    let content = SourceContent::of(&s, SEED);
    let all = edges(&content);
    let reached = reachable(&all, 0);
    let mut direct: Vec<(u64, u64, u32, u64)> = all
        .iter()
        .filter(|(from, ..)| reached.contains(from))
        .map(|&(from, to, p, o)| (to, from, p, o))
        .collect();
    direct.sort_unstable();
    let mut out = Vec::new();
    interpret(&s.job_graph(), &content, |r| {
        out.push((r.key, r.value, r.origin.partition, r.origin.offset))
    });
    out.sort_unstable();
    assert_eq!(out, direct);
    // Neither everything nor nothing: the check has both sides to miss.
    assert!(
        direct.len() > all.len() / 2 && direct.len() < all.len(),
        "{} of {} edges reachable",
        direct.len(),
        all.len()
    );
    assert_eq!(all.len(), 4_800, "2 partitions of 200 edges a second for 12 s");
}

#[test]
fn edges_have_uniform_targets_over_the_vertices() {
    let s = query("reachability");
    let content = SourceContent::of(&s, SEED);
    let targets: BTreeSet<u64> = edges(&content).iter().map(|e| e.1).collect();
    assert!(targets.iter().all(|t| *t < 2_000), "targets are vertices");
    // 4,800 uniform draws over 2,000 vertices hit about 1 − e^-2.4 of them.
    assert!(
        (1_700..1_900).contains(&targets.len()),
        "{} distinct targets",
        targets.len()
    );
}

#[test]
fn the_iteration_commits_its_reference_under_chaos() {
    for name in ["reachability", "reachability-unaligned"] {
        let r = run_seed(&query(name), SEED).expect("runs");
        assert_eq!(r.verdict, Verdict::Pass, "{name}: {:?}", r.message);
        assert_eq!(r.records_committed, r.records_expected, "{name}: {r:?}");
        assert!(r.records_expected > 2_400, "{name}: {r:?}");
    }
}

#[test]
fn a_bounded_iteration_finishes_only_once_its_loop_is_empty() {
    // Checkpoints every 20 ms: many of them cut the loop while traversed
    // edges are still going round. The final one must find it empty,
    // or the tasks would finish with those records never committed.
    let mut s = query("reachability");
    s.job.bounded = true;
    s.expect.final_status = JobStatus::Finished;
    s.faults.random = None;
    s.config.insert(
        "execution.checkpointing.interval".into(),
        ConfigValue::String("20ms".into()),
    );
    for seed in 1..=5 {
        let r = run_seed(&s, seed).expect("runs");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert_eq!(r.final_job_status, "FINISHED", "seed {seed}");
        assert_eq!(r.records_committed, r.records_expected, "seed {seed}");
    }
}

#[test]
fn a_cpu_bound_iteration_does_not_deadlock_on_its_own_backpressure() {
    // With credit-limited feedback channels this run stalls for good
    // (each subtask waits for credit from the other, neither takes input)
    // and commits about a tenth of its output.
    let s = query("reachability-backpressure");
    for seed in 1..=3 {
        let r = run_seed(&s, seed).expect("runs");
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.message);
        assert_eq!(r.records_committed, r.records_expected, "seed {seed}");
        assert!(r.records_expected > 10_000, "seed {seed}: {r:?}");
    }
}

/// The first run over seeds 1..=40 that does not pass.
fn first_failure(name: &str, sabotage: Sabotage) -> Option<RunRecord> {
    let mut s = query(name);
    s.sabotage = sabotage;
    (1..=40)
        .map(|seed| run_seed(&s, seed).expect("valid"))
        .find(|r| r.verdict != Verdict::Pass)
}

#[test]
fn an_iteration_that_forgets_the_records_in_its_loop_loses_reachable_edges() {
    let r = first_failure("reachability", Sabotage::ForgetBackEdges).expect("caught");
    assert!(r.lost > 0, "{r:?}");
    assert!(
        first_failure("reachability", Sabotage::None).is_none(),
        "the correct engine passes"
    );
}

#[test]
fn an_iteration_that_forgets_its_state_is_caught() {
    let r = first_failure("reachability", Sabotage::CountIgnoresRestoredState).expect("caught");
    assert!(r.lost + r.duplicated > 0, "{r:?}");
}

mod refusals {
    use super::*;

    /// A cyclic scenario with `reach` as its iteration head's entry and
    /// `config` after the interval.
    fn text(reach: &str, config: &str) -> String {
        format!(
            r#"name = "cyclic"
duration = "4s"

[job]
workload = "edges"
keys = 100

[[job.operators]]
id = "edges"
kind = "source"

[[job.operators]]
id = "reach"
{reach}

[[job.operators]]
id = "sink"
kind = "sink"
inputs = [{{ from = "reach" }}]

[config]
"execution.checkpointing.interval" = "1s"
{config}
"#
        )
    }

    const HEAD: &str = "kind = \"reachability\"\ninputs = [{ from = \"edges\", ship = \"key-by\" }, { from = \"reach\", ship = \"key-by\", feedback = true }]";

    #[test]
    fn the_iteration_head_is_accepted() {
        let s = parse_scenario(&text(HEAD, ""), "cyclic.toml").expect("valid");
        assert!(s.job_graph().is_cyclic());
    }

    #[test]
    fn invalid_cyclic_jobs_are_refused_at_their_key() {
        let cases: Vec<(String, &str, &str)> = vec![
            (
                text("kind = \"map\"\nfunction = \"value * 2\"\ninputs = [{ from = \"edges\" }, { from = \"reach\" }]", ""),
                "reach → reach is a cycle without an iteration head",
                "inputs = [",
            ),
            (
                text("kind = \"map\"\nfunction = \"value * 2\"\ninputs = [{ from = \"edges\" }, { from = \"reach\", feedback = true }]", ""),
                "only an iteration head (a reachability operator) takes a feedback edge",
                "inputs = [",
            ),
            (
                text("kind = \"reachability\"\ninputs = [{ from = \"edges\", ship = \"key-by\" }, { from = \"edges\", ship = \"key-by\", feedback = true }]", ""),
                "`edges` is an input twice",
                "inputs = [",
            ),
            (
                text("kind = \"reachability\"\ninputs = [{ from = \"edges\", ship = \"key-by\" }]", ""),
                "has 1 input(s) and no feedback edge",
                "inputs = [",
            ),
            (
                text("kind = \"reachability\"\ninputs = [{ from = \"reach\", ship = \"key-by\", feedback = true }, { from = \"edges\", ship = \"key-by\" }]", ""),
                "the feedback edge is the iteration head's last input",
                "inputs = [",
            ),
            (
                text("kind = \"reachability\"\ninputs = [{ from = \"edges\", ship = \"key-by\" }, { from = \"reach\", ship = \"rebalance\", feedback = true }]", ""),
                "it is shipped `key-by`",
                "inputs = [",
            ),
            (
                text("kind = \"count\"\nroot = 3\ninputs = [{ from = \"edges\", ship = \"key-by\" }]", ""),
                "only a reachability operator has `root`",
                "root = 3",
            ),
            (
                text(HEAD, "\"execution.checkpointing.mode\" = \"AT_LEAST_ONCE\""),
                "a cyclic job needs EXACTLY_ONCE",
                "execution.checkpointing.mode",
            ),
            (
                text(
                    HEAD,
                    "\"execution.checkpointing.unaligned.enabled\" = \"true\"\n\"execution.checkpointing.aligned-checkpoint-timeout\" = \"100ms\"",
                ),
                "not alternating",
                "aligned-checkpoint-timeout",
            ),
        ];
        for (text, message, line_text) in cases {
            let e = match parse_scenario(&text, "cyclic.toml") {
                Err(e) => e,
                Ok(_) => panic!("accepted:\n{text}"),
            };
            let shown = e.to_string();
            assert!(shown.starts_with("cyclic.toml:"), "{shown}");
            assert!(shown.contains(message), "expected `{message}` in: {shown}\n{text}");
            let line = text.lines().nth(e.line - 1).unwrap_or_default();
            assert!(line.contains(line_text), "{shown}: line {} is `{line}`\n{text}", e.line);
        }
    }

    #[test]
    fn windows_downstream_of_an_iteration_are_refused() {
        let text = text(HEAD, "").replace(
            "[[job.operators]]\nid = \"sink\"\nkind = \"sink\"\ninputs = [{ from = \"reach\" }]",
            "[[job.operators]]\nid = \"w\"\nkind = \"tumbling-window\"\nsize = \"1s\"\ninputs = [{ from = \"reach\", ship = \"key-by\" }]\n\n[[job.operators]]\nid = \"sink\"\nkind = \"sink\"\ninputs = [{ from = \"w\" }]",
        );
        let e = parse_scenario(&text, "cyclic.toml").expect_err("refused");
        assert!(
            e.to_string()
                .contains("`w` works in event time downstream of iteration head `reach`"),
            "{e}"
        );
    }
}
