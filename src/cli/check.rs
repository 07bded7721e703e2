//! `halab check FILE`: re-run the checkers on a run history alone
//! (docs/history.md) and print the verdict beside the one the run recorded.
//! Exit code by the verdict found (0 pass, 1 violation, 3 liveness); 2 for
//! a file that is not a history.

use anyhow::{anyhow, Context};
use halab_sim::history::History;
use halab_sim::names::escape_control;
use halab_sim::Verdict;

pub fn run(file: &std::path::Path) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let history = History::from_jsonl(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let found = history.check();
    println!(
        "history of {} seed {}: {} commits, {} trace events",
        escape_control(&history.scenario.name),
        history.seed,
        history.commits.len(),
        history.trace.len()
    );
    println!("verdict: {}", found.verdict.as_str());
    if let Some(m) = &found.message {
        println!("  {}", escape_control(m));
    }
    if found.verdict == history.verdict {
        println!("the run's verdict was the same");
    } else {
        println!(
            "the run's verdict was {}{}: the history differs from what the run committed",
            history.verdict.as_str(),
            history
                .message
                .as_deref()
                .map(|m| format!(" ({})", escape_control(m)))
                .unwrap_or_default()
        );
    }
    Ok(match found.verdict {
        Verdict::Pass => 0,
        v => v.exit_code(),
    })
}
