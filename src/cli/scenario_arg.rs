//! Resolve a scenario argument: a built-in name or a path to a TOML file.
//!
//! The rule: an argument that contains a `/` or ends in `.toml` is a path;
//! any other argument is the name of a built-in scenario. A file in the
//! working directory never stands in for a built-in (`./tm-crash` runs the
//! file, `tm-crash` the built-in).

use std::path::Path;

use anyhow::anyhow;
use halab_scenarios::{catalogue, parse_scenario_file};
use halab_sim::names::escape_control;
use halab_sim::Scenario;

/// The rule, as help texts and errors state it.
pub const RULE: &str = "an argument containing `/` or ending in `.toml` is a file; any other is a built-in name";

/// The file `arg` names, or `None` for a built-in name.
pub fn file_of(arg: &str) -> Option<&Path> {
    (arg.contains('/') || arg.ends_with(".toml")).then(|| Path::new(arg))
}

/// Load the scenario named or pointed to by `arg`. Errors name the problem
/// (and file:line:col for files).
pub fn load(arg: &str) -> anyhow::Result<Scenario> {
    if let Some(path) = file_of(arg) {
        // A file that is not UTF-8 is refused at its first bad byte.
        return parse_scenario_file(path, &escape_control(arg)).map_err(|e| anyhow!("{e}"));
    }
    match catalogue::load(arg) {
        Some(r) => r.map_err(|e| anyhow!("{e}")),
        None => Err(anyhow!(
            "unknown built-in scenario `{}`; to run a file, give a path such as ./{} or {}.toml ({RULE}); \
             built-in scenarios: {}",
            escape_control(arg),
            escape_control(arg),
            escape_control(arg),
            catalogue::names().join(", ")
        )),
    }
}

/// `e`, raised while running the scenario `arg` names: at its
/// `file:line:col` when `arg` is a file, else with the key it names.
pub fn run_error(arg: &str, e: &halab_sim::scenario::ScenarioError) -> anyhow::Error {
    match file_of(arg) {
        Some(path) => anyhow!(
            "{}",
            halab_scenarios::parse::scenario_error_in_file(path, &escape_control(arg), e)
        ),
        None => anyhow!("scenario `{}`: {}", escape_control(arg), escape_control(&e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_told_from_names_by_their_form_alone() {
        assert_eq!(file_of("tm-crash"), None);
        assert_eq!(file_of("./tm-crash"), Some(Path::new("./tm-crash")));
        assert_eq!(file_of("x.toml"), Some(Path::new("x.toml")));
        assert_eq!(file_of("/abs/x"), Some(Path::new("/abs/x")));
        let e = load("no-such-scenario").expect_err("unknown").to_string();
        assert!(e.contains("unknown built-in scenario `no-such-scenario`"), "{e}");
        assert!(e.contains("./no-such-scenario or no-such-scenario.toml"), "{e}");
        let missing = load("./no/such.toml").expect_err("no file").to_string();
        assert!(
            missing.starts_with("./no/such.toml:1:1: cannot read the file"),
            "{missing}"
        );
    }
}
