//! `halab list`: the built-in scenarios with their descriptions.

use anyhow::anyhow;
use halab_scenarios::catalogue;
use halab_sim::names::escape_control;

pub fn run() -> anyhow::Result<i32> {
    let all = catalogue::all().map_err(|e| anyhow!("{e}"))?;
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in all {
        println!("{:<width$}  {}", s.name, escape_control(&s.description));
    }
    Ok(0)
}
