//! Report suites as data: which scenarios `halab report` runs, how they are
//! grouped, and which settings it sweeps (`docs/suites.md`).
//!
//! A suite file (TOML) has a name, a default number of seeds, groups and
//! sweeps:
//! - a `[[group]]` lists scenarios (catalogue names, or scenario files by a
//!   path relative to the suite file) under a title; `plot` names the report
//!   plot the group feeds ([`GroupPlot`]);
//! - a `[[sweep]]` runs each of its `bases` once per value of one setting
//!   ([`crate::variants::Variation`]): each run is a variant scenario named
//!   for the change.
//!
//! [`Suite::standard`] is `suites/standard.toml`, compiled in. A bad suite
//! file gets `file:line:col` like a bad scenario file.

use std::collections::BTreeSet;
use std::path::Path;

use halab_engine::duration::parse_bounded_duration;
use halab_engine::resources::units::ByteSize;
use halab_sim::Scenario;
use serde::Deserialize;

use crate::parse::ScenarioFileError;
use crate::variants::{apply, Variation};

/// The text of the standard suite.
pub const STANDARD: &str = include_str!("../suites/standard.toml");

/// Which plot of the report a group's scenarios feed (beyond the summary
/// table and the side-by-side comparisons every scenario gets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupPlot {
    /// Restart counts and recovery per restart policy, in group order.
    RestartPolicies,
    /// Checkpoint alignment times, in group order.
    Alignment,
}

/// The setting a sweep varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepKind {
    /// `execution.checkpointing.interval`; values are durations. Plotted as
    /// throughput against the interval, beside Young/Daly's optimum.
    CheckpointInterval,
    /// `[job] state-bytes-per-key`; values are byte sizes. Plotted as
    /// recovery time against state size, one line per base.
    StatePerKey,
}

/// A group of scenarios, in the order they run.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub title: String,
    pub plot: Option<GroupPlot>,
    pub scenarios: Vec<Scenario>,
}

/// One run of a sweep: `base` varied by `variation`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepMember {
    pub base: String,
    pub variation: Variation,
    pub scenario: Scenario,
}

/// A sweep: every base once per value, base by base.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub title: String,
    pub kind: SweepKind,
    pub members: Vec<SweepMember>,
}

/// A whole suite, resolved: every scenario loaded and validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub name: String,
    pub description: String,
    /// Seeds per scenario when the command line does not say (`1..=seeds`).
    pub seeds: u64,
    pub groups: Vec<Group>,
    pub sweeps: Vec<Sweep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    name: String,
    #[serde(default)]
    description: String,
    seeds: u64,
    #[serde(default)]
    group: Vec<GroupFile>,
    #[serde(default)]
    sweep: Vec<SweepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    title: String,
    plot: Option<GroupPlot>,
    scenarios: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    title: String,
    variation: SweepKind,
    bases: Vec<String>,
    values: Vec<String>,
}

impl Suite {
    /// The standard suite (`suites/standard.toml`).
    pub fn standard() -> Suite {
        match Suite::parse(STANDARD, "suites/standard.toml", None) {
            Ok(s) => s,
            Err(e) => panic!("invariant: the standard suite is valid: {e}"),
        }
    }

    /// Read and resolve the suite file at `path`; scenario files it names
    /// are relative to its directory.
    pub fn load(path: &Path) -> Result<Suite, ScenarioFileError> {
        let file = path.display().to_string();
        let text = crate::parse::read_text_file(path, &file)?;
        Suite::parse(&text, &file, path.parent())
    }

    /// Parse and resolve a suite; `dir` is where scenario files are looked
    /// up (`None`: catalogue names only).
    pub fn parse(text: &str, file: &str, dir: Option<&Path>) -> Result<Suite, ScenarioFileError> {
        let raw: SuiteFile = toml::from_str(text).map_err(|e| crate::parse::toml_error(text, file, &e))?;
        let at = |path: &str, message: String| crate::parse::error_at(text, file, path, message);
        if raw.seeds == 0 {
            return Err(at("seeds", "seeds must be at least 1".into()));
        }
        let mut groups = Vec::new();
        for (g, group) in raw.group.iter().enumerate() {
            let mut scenarios = Vec::new();
            for (i, arg) in group.scenarios.iter().enumerate() {
                let s = load_member(arg, dir).map_err(|m| at(&format!("group[{g}].scenarios[{i}]"), m))?;
                scenarios.push(s);
            }
            if scenarios.is_empty() {
                return Err(at(&format!("group[{g}].scenarios"), "a group needs a scenario".into()));
            }
            groups.push(Group {
                title: group.title.clone(),
                plot: group.plot,
                scenarios,
            });
        }
        let mut sweeps = Vec::new();
        for (w, sweep) in raw.sweep.iter().enumerate() {
            sweeps.push(resolve_sweep(sweep, dir).map_err(|(path, m)| at(&format!("sweep[{w}].{path}"), m))?);
        }
        let suite = Suite {
            name: raw.name,
            description: raw.description,
            seeds: raw.seeds,
            groups,
            sweeps,
        };
        suite.check_shape().map_err(|(path, m)| at(&path, m))?;
        Ok(suite)
    }

    /// Every scenario of the suite, in the order they run: the groups, then
    /// the sweeps.
    pub fn scenarios(&self) -> Vec<&Scenario> {
        let grouped = self.groups.iter().flat_map(|g| g.scenarios.iter());
        grouped
            .chain(self.sweeps.iter().flat_map(|w| w.members.iter().map(|m| &m.scenario)))
            .collect()
    }

    /// The scenarios of the groups that feed `plot`, in order.
    pub fn plotted(&self, plot: GroupPlot) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| g.plot == Some(plot))
            .flat_map(|g| g.scenarios.iter().map(|s| s.name.as_str()))
            .collect()
    }

    /// The members of every sweep of `kind`, in order.
    pub fn swept(&self, kind: SweepKind) -> Vec<&SweepMember> {
        self.sweeps
            .iter()
            .filter(|w| w.kind == kind)
            .flat_map(|w| w.members.iter())
            .collect()
    }

    /// The rules the report relies on: names unique across the suite, and
    /// at most one checkpoint-interval sweep, of one base (its plot has one
    /// x axis and one optimum).
    fn check_shape(&self) -> Result<(), (String, String)> {
        let mut names = BTreeSet::new();
        for s in self.scenarios() {
            if !names.insert(s.name.as_str()) {
                return Err(("name".into(), format!("scenario `{}` is in the suite twice", s.name)));
            }
        }
        let interval: Vec<usize> = (0..self.sweeps.len())
            .filter(|&w| self.sweeps[w].kind == SweepKind::CheckpointInterval)
            .collect();
        if let Some(&second) = interval.get(1) {
            return Err((
                format!("sweep[{second}].variation"),
                "only one checkpoint-interval sweep per suite (the report plots one)".into(),
            ));
        }
        if let Some(&w) = interval.first() {
            let bases: BTreeSet<&str> = self.sweeps[w].members.iter().map(|m| m.base.as_str()).collect();
            if bases.len() != 1 {
                return Err((
                    format!("sweep[{w}].bases"),
                    "a checkpoint-interval sweep has exactly one base".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A group's scenario: a catalogue name, or a `.toml` path relative to the
/// suite file.
fn load_member(arg: &str, dir: Option<&Path>) -> Result<Scenario, String> {
    if arg.ends_with(".toml") {
        let Some(dir) = dir else {
            return Err(format!("`{arg}`: this suite can name catalogue scenarios only"));
        };
        let path = dir.join(arg);
        return crate::parse::parse_scenario_file(&path, &path.display().to_string()).map_err(|e| e.to_string());
    }
    match crate::catalogue::load(arg) {
        Some(s) => s.map_err(|e| e.to_string()),
        None => Err(format!(
            "unknown scenario `{arg}`; the catalogue: {} (or a path ending in .toml)",
            crate::catalogue::names().join(", ")
        )),
    }
}

/// A sweep's members, base by base; errors carry the field path within the
/// sweep.
fn resolve_sweep(sweep: &SweepFile, dir: Option<&Path>) -> Result<Sweep, (String, String)> {
    if sweep.bases.is_empty() {
        return Err(("bases".into(), "a sweep needs a base scenario".into()));
    }
    if sweep.values.is_empty() {
        return Err(("values".into(), "a sweep needs a value".into()));
    }
    let variations: Vec<Variation> = sweep
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| variation(sweep.variation, v).map_err(|m| (format!("values[{i}]"), m)))
        .collect::<Result<_, _>>()?;
    let mut members = Vec::new();
    for (b, base) in sweep.bases.iter().enumerate() {
        let scenario = load_member(base, dir).map_err(|m| (format!("bases[{b}]"), m))?;
        for &v in &variations {
            let varied = apply(&scenario, v).map_err(|m| (format!("bases[{b}]"), m))?;
            members.push(SweepMember {
                base: scenario.name.clone(),
                variation: v,
                scenario: varied,
            });
        }
    }
    assert_eq!(members.len(), sweep.bases.len() * variations.len());
    Ok(Sweep {
        title: sweep.title.clone(),
        kind: sweep.variation,
        members,
    })
}

/// One value of a sweep of `kind`, positive.
fn variation(kind: SweepKind, text: &str) -> Result<Variation, String> {
    let v = match kind {
        SweepKind::CheckpointInterval => {
            let d = parse_bounded_duration(text).map_err(|e| format!("`{text}`: {e}"))?;
            Variation::CheckpointInterval(u64::try_from(d.as_millis()).map_err(|_| format!("`{text}` is too long"))?)
        }
        SweepKind::StatePerKey => {
            Variation::StatePerKey(ByteSize::parse(text).map_err(|e| format!("`{text}`: {e}"))?.0)
        }
    };
    match v {
        Variation::CheckpointInterval(0) | Variation::StatePerKey(0) => Err(format!("`{text}` must be positive")),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_suite_is_todays_suite() {
        let s = Suite::standard();
        assert_eq!(s.seeds, 150);
        let names: Vec<&str> = s.scenarios().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 36 + 7 + 9);
        assert_eq!(names[0], "steady");
        assert!(names.contains(&"graph-crash") && names.contains(&"join-crash"));
        assert!(names.contains(&"placement-slots") && names.contains(&"placement-load"));
        assert_eq!(names[36], "interval-tradeoff-checkpoint-interval-250ms");
        assert_eq!(names[43], "restore-remote-state-per-key-1KB");
        assert_eq!(names[51], "restore-incremental-state-per-key-100KB");
        assert_eq!(s.plotted(GroupPlot::RestartPolicies).len(), 5);
        assert_eq!(s.plotted(GroupPlot::Alignment).len(), 6);
        assert_eq!(s.swept(SweepKind::CheckpointInterval).len(), 7);
        assert_eq!(s.swept(SweepKind::StatePerKey).len(), 9);
    }

    fn err(text: &str) -> ScenarioFileError {
        Suite::parse(text, "s.toml", None).expect_err("must be refused")
    }

    const SMALL: &str = "name = \"s\"\nseeds = 2\n[[group]]\ntitle = \"t\"\nscenarios = [\"steady\"]\n";

    #[test]
    fn bad_suites_are_refused_with_their_position() {
        assert!(Suite::parse(SMALL, "s.toml", None).is_ok());
        let e = err(&SMALL.replace("\"steady\"", "\"steady\", \"nope\""));
        assert_eq!((e.line, e.col), (5, 24), "{e}");
        assert!(e.message.contains("unknown scenario `nope`"), "{e}");
        let e = err(&SMALL.replace("seeds = 2", "seeds = 0"));
        assert_eq!(e.line, 2, "{e}");
        let e = err(&SMALL.replace("title", "titel"));
        assert_eq!(e.line, 4, "{e}");
        let e = err(&SMALL.replace("\"steady\"", "\"steady\", \"steady\""));
        assert!(e.message.contains("twice"), "{e}");
        let e = err(&SMALL.replace("\"steady\"", "\"x.toml\""));
        assert!(e.message.contains("catalogue scenarios only"), "{e}");
    }

    #[test]
    fn bad_sweeps_are_refused() {
        let sweep = |variation: &str, bases: &str, values: &str| {
            format!("{SMALL}[[sweep]]\ntitle = \"w\"\nvariation = \"{variation}\"\nbases = [{bases}]\nvalues = [{values}]\n")
        };
        assert!(Suite::parse(&sweep("state-per-key", "\"tm-crash\"", "\"1KB\""), "s.toml", None).is_ok());
        let e = err(&sweep("checkpoint-interval", "\"tm-crash\"", "\"0ms\""));
        assert!(e.message.contains("positive"), "{e}");
        assert_eq!(e.line, 10, "{e}");
        let e = err(&sweep("checkpoint-interval", "\"tm-crash\"", "\"soon\""));
        assert!(e.message.contains("soon"), "{e}");
        let e = err(&sweep("checkpoint-interval", "\"tm-crash\", \"steady\"", "\"1s\""));
        assert!(e.message.contains("exactly one base"), "{e}");
        let e = err(&sweep("state-per-key", "", "\"1KB\""));
        assert!(e.message.contains("base"), "{e}");
        let e = err(&sweep("colour", "\"tm-crash\"", "\"1KB\""));
        assert!(e.message.contains("colour"), "{e}");
    }
}
