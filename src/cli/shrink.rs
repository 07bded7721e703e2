//! `halab shrink`: minimise a failing seed's fault plan and write the result
//! as an explicit scenario file: `--out`, or `<name>-seed<N>-shrunk.toml` in
//! the working directory (the name made safe as a file name). The file is
//! new unless `--force` is given, and never the scenario file read.

use std::path::PathBuf;

use anyhow::anyhow;
use halab_scenarios::shrink::{shrink, ShrinkError};
use halab_sim::names::{escape_control, file_name_part, shell_quote};

use super::output_file::{self, Overwrite};
use super::run::banner;
use super::scenario_arg;

/// The default output file for `name` under `seed`: a plain file name,
/// so always in the working directory.
fn default_out(name: &str, seed: u64) -> PathBuf {
    PathBuf::from(format!("{}-seed{seed}-shrunk.toml", file_name_part(name)))
}

pub fn run(arg: &str, seed: u64, out: Option<PathBuf>, overwrite: Overwrite) -> anyhow::Result<i32> {
    let scenario = scenario_arg::load(arg)?;
    let (path, flag) = match out {
        Some(path) => (path, "--out"),
        None => (default_out(&scenario.name, seed), "the default output file"),
    };
    let input = scenario_arg::file_of(arg);
    output_file::check(&path, flag, input, overwrite)?;
    println!("{}", banner(&scenario, seed));
    let shrunk = match shrink(&scenario, seed, |p| eprintln!("  {p}")) {
        Ok(s) => s,
        Err(ShrinkError::Passes(_)) => {
            println!("seed {seed} passes: nothing to shrink");
            return Ok(0);
        }
        Err(e) => return Err(anyhow!("{e}")),
    };
    let text = shrunk
        .scenario
        .to_toml()
        .map_err(|e| anyhow!("cannot write the scenario: {e}"))?;
    output_file::write(&path, flag, input, overwrite, &text)?;
    println!(
        "shrunk {} faults to {} in {} runs; still fails with verdict {}",
        shrunk.original.len(),
        shrunk.shrunk.len(),
        shrunk.runs,
        shrunk.verdict.as_str()
    );
    println!("minimal plan:\n{}", shrunk.shrunk);
    let shown = path.display().to_string();
    println!("wrote {}", escape_control(&shown));
    println!(
        "reproduce: {}",
        escape_control(&format!(
            "cargo run --release -- run {} --seed {seed}",
            shell_quote(&shown)
        ))
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_stays_in_the_working_directory() {
        let p = default_out("../../../escaped/x", 1);
        assert_eq!(p.components().count(), 1, "{}", p.display());
        assert_eq!(p, PathBuf::from("_.._.._.._escaped_x-seed1-shrunk.toml"));
        assert_eq!(default_out("/abs", 2), PathBuf::from("_abs-seed2-shrunk.toml"));
    }
}
