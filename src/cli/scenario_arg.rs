//! Resolve a scenario argument: a catalogue name or a path to a TOML file.

use std::path::Path;

use anyhow::{anyhow, Context};
use halab_scenarios::{catalogue, parse_scenario};
use halab_sim::Scenario;

/// Load the scenario named or pointed to by `arg`. Errors name the problem
/// (and file:line:col for files).
pub fn load(arg: &str) -> anyhow::Result<Scenario> {
    let looks_like_path = arg.ends_with(".toml") || arg.contains('/') || Path::new(arg).is_file();
    if looks_like_path {
        let text = std::fs::read_to_string(arg).with_context(|| format!("cannot read scenario file `{arg}`"))?;
        return parse_scenario(&text, arg).map_err(|e| anyhow!("{e}"));
    }
    match catalogue::load(arg) {
        Some(r) => r.map_err(|e| anyhow!("{e}")),
        None => Err(anyhow!(
            "unknown scenario `{arg}`; known scenarios: {} (or give a path to a .toml file)",
            catalogue::names().join(", ")
        )),
    }
}
