//! `halab shrink`: minimise a failing seed's fault plan and write the result
//! as an explicit scenario file.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use halab_scenarios::shrink::{shrink, ShrinkError};

use super::run::banner;
use super::scenario_arg;

pub fn run(arg: &str, seed: u64, out: Option<PathBuf>) -> anyhow::Result<i32> {
    let scenario = scenario_arg::load(arg)?;
    println!("{}", banner(&scenario, seed));
    let shrunk = match shrink(&scenario, seed, |p| eprintln!("  {p}")) {
        Ok(s) => s,
        Err(ShrinkError::Passes(_)) => {
            println!("seed {seed} passes: nothing to shrink");
            return Ok(0);
        }
        Err(e) => return Err(anyhow!("{e}")),
    };
    let path = out.unwrap_or_else(|| PathBuf::from(format!("{}-seed{seed}-shrunk.toml", scenario.name)));
    let text = shrunk
        .scenario
        .to_toml()
        .map_err(|e| anyhow!("cannot write the scenario: {e}"))?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "shrunk {} faults to {} in {} runs; still fails with verdict {}",
        shrunk.original.len(),
        shrunk.shrunk.len(),
        shrunk.runs,
        shrunk.verdict.as_str()
    );
    println!("minimal plan:\n{}", shrunk.shrunk);
    println!("wrote {}", path.display());
    println!("reproduce: cargo run --release -- run {} --seed {seed}", path.display());
    Ok(0)
}
