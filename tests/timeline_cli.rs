//! `halab run ... --timeline FILE.html`: the page, drawn by its own script
//! in headless Chromium, shows a lane per node with each fault of the plan
//! at its place, the task attempts, the checkpoints, the restarts' phases
//! and the leaderships; and the run is the same run (same trace hash) as
//! without the page. The browser comes from `tests/common/browser.rs`
//! (installed there when missing; never skipped).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[path = "common/browser.rs"]
mod browser;
#[path = "common/cli.rs"]
mod cli;

use browser::{browser, dump_dom};
use cli::{halab, path_str, stdout};
use halab_scenarios::catalogue;
use halab_sim::harness::run_seed;

/// One drawn element: its attributes.
#[derive(Debug, Clone)]
struct Drawn {
    lane: String,
    kind: String,
    start_ms: u64,
    end_ms: u64,
    label: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(
        tag[start..start + len]
            .replace("&gt;", ">")
            .replace("&lt;", "<")
            .replace("&amp;", "&"),
    )
}

/// Every element the script drew with `data-kind`.
fn drawn(dom: &str) -> Vec<Drawn> {
    dom.split('<')
        .filter(|t| t.contains(" data-kind=\""))
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            let num = |n: &str| attr(tag, n).and_then(|v| v.parse().ok()).expect("a number");
            Drawn {
                lane: attr(tag, "data-lane").expect("lane"),
                kind: attr(tag, "data-kind").expect("kind"),
                start_ms: num("data-start-ms"),
                end_ms: num("data-end-ms"),
                label: attr(tag, "data-label").expect("label"),
            }
        })
        .collect()
}

/// The lanes the script drew, by name.
fn lanes(dom: &str) -> BTreeSet<String> {
    dom.split('<')
        .filter_map(|t| attr(&t[..t.find('>').unwrap_or(t.len())], "data-lane-name"))
        .collect()
}

/// The timeline of `scenario` seed `seed`, written by `halab run` and
/// drawn by Chromium; and the `run` output.
fn timeline(scenario: &str, seed: u64) -> (String, String) {
    let dir: PathBuf = cli::fresh_dir(&format!("timeline-{scenario}-{seed}"));
    let page = dir.join("timeline.html");
    let o = halab(&[
        "run",
        scenario,
        "--seed",
        &seed.to_string(),
        "--timeline",
        path_str(&page),
    ]);
    let out = stdout(&o);
    assert!(out.contains("wrote the run's timeline to"), "{out}");
    let dom = dump_dom(&browser(), Path::new(&page), &dir.join("profile"));
    assert!(dom.contains("id=\"timeline\""), "the script drew the lanes:\n{dom}");
    (dom, out)
}

#[test]
fn ha_chaos_seed_1_shows_each_fault_of_its_plan_at_its_place() {
    let (dom, out) = timeline("ha-chaos", 1);
    let s = catalogue::load("ha-chaos").expect("built-in").expect("valid");
    let record = run_seed(&s, 1).expect("runs");
    assert!(out.contains(&record.trace_hash), "the page's run is the run: {out}");
    let names = lanes(&dom);
    for node in s.node_names() {
        assert!(names.contains(&node), "lane {node} in {names:?}");
    }
    let all = drawn(&dom);
    let faults: Vec<&Drawn> = all.iter().filter(|d| d.kind == "fault").collect();
    let plan = s.fault_plan(1);
    let mut expected = 0;
    for unit in plan.units() {
        let first = &plan.0[unit[0]];
        if first.fault.is_heal() {
            continue;
        }
        let end = unit.get(1).map_or(record.simulated_ms, |j| plan.0[*j].at.as_millis());
        for node in first.fault.nodes() {
            expected += 1;
            assert!(
                faults.iter().any(|f| f.lane == node
                    && f.start_ms == first.at.as_millis()
                    && f.end_ms == end
                    && f.label == first.fault.to_string()),
                "{} on {node} from {} to {end} ms, drawn: {faults:?}",
                first.fault,
                first.at.as_millis()
            );
        }
    }
    assert_eq!(faults.len(), expected, "no fault drawn that the plan does not hold");
    assert!(expected >= 4, "the case it pins has faults: {plan}");
    // Checkpoints: one span each, completed as the record counts them.
    let completed = all.iter().filter(|d| d.kind == "checkpoint-completed").count();
    let recorded = record.checkpoints.iter().filter(|c| c.outcome == "completed").count();
    assert_eq!(completed, recorded);
    // jm-0 leads from the start; it is killed, and jm-1 leads after it.
    let leaders: Vec<&Drawn> = all.iter().filter(|d| d.kind == "leader").collect();
    assert!(
        leaders.iter().any(|l| l.lane == "leader jm-0" && l.start_ms < 100),
        "{leaders:?}"
    );
    let kill = plan
        .0
        .iter()
        .find(|f| f.fault.to_string() == "kill jm-0")
        .expect("jm-0 is killed");
    assert!(
        leaders
            .iter()
            .any(|l| l.lane == "leader jm-1" && l.start_ms > kill.at.as_millis()),
        "{leaders:?}"
    );
    // Tasks: on TaskManager lanes only, each a placement of an attempt.
    let tasks: Vec<&Drawn> = all.iter().filter(|d| d.kind == "task").collect();
    assert!(tasks.len() >= 9, "the job's 9 subtasks placed: {tasks:?}");
    assert!(tasks.iter().all(|t| t.lane.starts_with("tm-") && t.label.contains('#')));
    // Hover: every element names itself.
    assert_eq!(
        dom.matches("<title>").count(),
        all.len() + 1,
        "a title per element, and the page's"
    );
    // The charts: busy, back-pressured and state lines per subtask.
    for chart in [
        "busy time per subtask",
        "back-pressured time per subtask",
        "state size per subtask",
    ] {
        assert!(
            all.iter().any(|d| d.kind == "series" && d.lane.starts_with(chart)),
            "{chart}"
        );
    }
}

#[test]
fn a_restart_shows_its_phases_and_the_attempts_it_replaced() {
    let (dom, _) = timeline("tm-crash", 1);
    let all = drawn(&dom);
    let phase = |kind: &str| -> Vec<&Drawn> { all.iter().filter(|d| d.kind == kind).collect() };
    let (failing, backoff, waiting) = (
        phase("restart-failing"),
        phase("restart-backoff"),
        phase("restart-waiting"),
    );
    assert!(!backoff.is_empty(), "tm-crash restarts: {all:?}");
    assert_eq!(backoff.len(), waiting.len());
    for (b, w) in backoff.iter().zip(&waiting) {
        assert_eq!(b.end_ms, w.start_ms, "waiting starts when the backoff ends");
        assert!(w.end_ms >= w.start_ms);
    }
    for f in &failing {
        assert!(
            backoff.iter().any(|b| b.start_ms == f.end_ms),
            "failing ends when its restart is scheduled"
        );
    }
    // The attempts on the crashed TaskManager end at the crash.
    let s = catalogue::load("tm-crash").expect("built-in").expect("valid");
    let plan = s.fault_plan(1);
    let kill = plan.0.iter().find(|f| f.fault.verb() == "kill").expect("a kill");
    let node = kill.fault.nodes()[0].clone();
    let tasks = phase("task");
    let on_node: Vec<&&Drawn> = tasks.iter().filter(|t| t.lane == node).collect();
    assert!(
        on_node.iter().any(|t| t.end_ms == kill.at.as_millis()),
        "an attempt on {node} ends at its kill: {on_node:?}"
    );
}

#[test]
fn a_timeline_never_replaces_the_history_or_an_existing_file() {
    let dir: PathBuf = cli::fresh_dir("timeline-refusals");
    let same = dir.join("same.html");
    let o = halab(&[
        "run",
        "steady",
        "--history",
        path_str(&same),
        "--timeline",
        path_str(&same),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        cli::stderr(&o).contains("--history and --timeline both name"),
        "{}",
        cli::stderr(&o)
    );
    std::fs::write(&same, "keep").expect("write");
    let o = halab(&["run", "steady", "--timeline", path_str(&same)]);
    assert_eq!(o.status.code(), Some(2), "{}", cli::stderr(&o));
    assert_eq!(std::fs::read_to_string(&same).expect("read"), "keep");
}
