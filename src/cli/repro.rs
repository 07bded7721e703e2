//! `halab repro`: re-run one seed, print its trace, and optionally check it
//! against a known trace hash.

use halab_scenarios::runner::run_timed_with_trace;
use halab_sim::names::escape_control;
use halab_sim::Verdict;

use super::run::{banner, summary};
use super::scenario_arg;

pub fn run(arg: &str, seed: u64, trace: bool, expect_hash: Option<String>) -> anyhow::Result<i32> {
    let scenario = scenario_arg::load(arg)?;
    println!("{}", banner(&scenario, seed));
    let (record, lines) = run_timed_with_trace(&scenario, seed)?;
    if trace {
        for l in &lines {
            println!("{l}");
        }
    }
    println!("{}", summary(&scenario, &record));
    println!("verdict: {}", record.verdict.as_str());
    if let Some(m) = &record.message {
        println!("  {}", escape_control(m));
    }
    if let Some(h) = expect_hash {
        if h != record.trace_hash {
            println!("trace hash {} differs from the expected {h}", record.trace_hash);
            return Ok(Verdict::Nondeterminism.exit_code());
        }
        println!("trace hash matches {}", record.trace_hash);
    }
    Ok(record.verdict.exit_code())
}
