//! The built-in scenarios: the TOML files in `scenarios/catalogue/`, compiled
//! into the binary so `halab run <name>` works from anywhere.

use halab_sim::Scenario;

use crate::parse::{parse_scenario, ScenarioFileError};

/// `(name, file text)` of every built-in scenario.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("steady", include_str!("../catalogue/steady.toml")),
    ("tm-crash", include_str!("../catalogue/tm-crash.toml")),
];

pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|(n, _)| *n).collect()
}

/// Load a built-in scenario by name.
pub fn load(name: &str) -> Option<Result<Scenario, ScenarioFileError>> {
    CATALOGUE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| parse_scenario(text, &format!("scenarios/catalogue/{n}.toml")))
}

/// Every built-in scenario, parsed.
pub fn all() -> Result<Vec<Scenario>, ScenarioFileError> {
    CATALOGUE
        .iter()
        .map(|(n, text)| parse_scenario(text, &format!("scenarios/catalogue/{n}.toml")))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_catalogue_entry_parses_and_is_named_like_its_file() {
        for (name, text) in super::CATALOGUE {
            let s = super::parse_scenario(text, name).expect("catalogue scenarios are valid");
            assert_eq!(&s.name, name);
            assert!(!s.description.is_empty());
        }
    }
}
