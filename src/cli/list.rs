//! `halab list`: the built-in scenarios with their descriptions.

use anyhow::anyhow;
use halab_scenarios::catalogue;

pub fn run() -> anyhow::Result<i32> {
    let all = catalogue::all().map_err(|e| anyhow!("{e}"))?;
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in all {
        println!("{:<width$}  {}", s.name, s.description);
    }
    Ok(0)
}
