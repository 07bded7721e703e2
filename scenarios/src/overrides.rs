//! One key of any scenario overridden by name and value: the CLI's
//! `--set KEY=V` and `--vary KEY=V1,V2,...`, and [`set_key`] for tests.
//!
//! A key names where it lives:
//! - `job.<key>`, `resources.<key>`, `cluster.<key>`, `expect.<key>`: that
//!   table's key (`job.state-bytes-per-key=1KB`);
//! - `duration`, `description`: the top-level key;
//! - anything else: a Flink configuration key in `[config]`
//!   (`execution.checkpointing.interval=200ms`).
//!
//! A value is read as a TOML value when it is one (`3`, `true`, `0.5`,
//! `"text"`), and as a string otherwise (`200ms`, `fixed-delay`). The
//! scenario is re-read through its TOML form, so an override is checked as
//! a scenario file is: a bad key or value is refused with a message naming
//! the override.

use halab_sim::Scenario;

use crate::parse::parse_scenario;

const TABLES: [&str; 4] = ["job", "resources", "cluster", "expect"];
const TOP_LEVEL: [&str; 2] = ["duration", "description"];

/// `KEY=V` split at its first `=`; both sides non-empty. Errors name
/// `flag` and the argument.
pub fn split(arg: &str, flag: &str) -> Result<(String, String), String> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err(format!("{flag} {arg}: expected KEY=VALUE"));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() || value.is_empty() {
        return Err(format!("{flag} {arg}: expected KEY=VALUE, both non-empty"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// The TOML value of `text`: itself if it parses as one, else a string.
fn value_of(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// `scenario` with `key` set to `value`, checked as a scenario file is
/// (the name is kept: naming a variant is the caller's).
pub fn set_key(scenario: &Scenario, key: &str, value: &str) -> Result<Scenario, String> {
    apply(scenario, key, value, "set")
}

/// [`set_key`], with errors naming `flag` (`--set`, `--vary`).
pub fn apply(scenario: &Scenario, key: &str, value: &str, flag: &str) -> Result<Scenario, String> {
    let text = scenario
        .to_toml()
        .map_err(|e| format!("invariant: a scenario serialises: {e}"))?;
    let mut doc: toml::Table = toml::from_str(&text).map_err(|e| format!("invariant: a scenario re-reads: {e}"))?;
    let v = value_of(value);
    let (table, name) = match key.split_once('.') {
        Some((t, rest)) if TABLES.contains(&t) => (Some(t), rest),
        _ if TOP_LEVEL.contains(&key) => (None, key),
        _ => (Some("config"), key),
    };
    match table {
        Some(t) => {
            let entry = doc
                .entry(t.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(tab) = entry else {
                return Err(format!("invariant: [{t}] is a table"));
            };
            tab.insert(name.to_string(), v);
        }
        None => {
            doc.insert(name.to_string(), v);
        }
    }
    let text = toml::to_string(&doc).map_err(|e| format!("invariant: a table serialises: {e}"))?;
    // The document is ours, not the user's: its line and column mean
    // nothing to them, the override does.
    let out = parse_scenario(&text, "").map_err(|e| {
        // The flag names the key already.
        let message = e.message.strip_prefix(&format!("{key}: ")).unwrap_or(&e.message);
        format!("{flag} {key}={value}: {message}")
    })?;
    out.validate().map_err(|e| format!("{flag} {key}={value}: {e}"))?;
    Ok(out)
}

/// `scenario` with every `--set KEY=V` of `sets` applied, in order.
pub fn apply_sets(mut scenario: Scenario, sets: &[String]) -> Result<Scenario, String> {
    for arg in sets {
        let (key, value) = split(arg, "--set")?;
        scenario = apply(&scenario, &key, &value, "--set")?;
    }
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;
    use halab_sim::human::HumanBytes;
    use halab_sim::scenario::ConfigValue;

    fn tm_crash() -> Scenario {
        crate::catalogue::load("tm-crash").expect("built-in").expect("valid")
    }

    #[test]
    fn keys_go_to_their_table() {
        let s = apply(&tm_crash(), "restart-strategy.type", "exponential-delay", "--set").expect("valid");
        assert_eq!(
            s.config.get("restart-strategy.type"),
            Some(&ConfigValue::String("exponential-delay".into()))
        );
        let s = apply(&s, "job.state-bytes-per-key", "1KB", "--set").expect("valid");
        assert_eq!(s.job.state_bytes_per_key, Some(HumanBytes(1000)));
        let s = apply(&s, "resources.task-manager-cores", "3", "--set").expect("valid");
        assert_eq!(s.resources.task_manager_cores, Some(3));
        let s = apply(&s, "cluster.task-managers", "4", "--set").expect("valid");
        assert_eq!(s.cluster.task_managers, 4);
        let s = apply(&s, "duration", "12s", "--set").expect("valid");
        assert_eq!(s.duration.as_millis(), 12_000);
        assert_eq!(s.name, "tm-crash", "the name is the caller's to change");
    }

    #[test]
    fn bad_overrides_name_themselves() {
        let e = |key: &str, value: &str| {
            apply(&tm_crash(), key, value, "--vary")
                .expect_err("refused")
                .to_string()
        };
        assert!(e("job.no-such-key", "1").contains("no-such-key"));
        assert!(e("cluster.task-managers", "0").contains("--vary cluster.task-managers=0"));
        assert!(e("resources.network-bandwidth", "fast").contains("fast"));
        // No line and column of the re-read document.
        assert_eq!(
            e("job.keys", "abc"),
            "--vary job.keys=abc: invalid type: string \"abc\", expected a whole number, 0 or more"
        );
        assert!(e("no.such.key", "1").starts_with("--vary no.such.key=1: config.\"no.such.key\": "));
        assert!(split("novalue", "--set").is_err());
        assert!(split("=1", "--set").is_err());
        assert_eq!(
            split("a=b=c", "--set").expect("split"),
            ("a".to_string(), "b=c".to_string())
        );
        let sets = vec!["job.keys=7".to_string(), "job.keys=9".to_string()];
        assert_eq!(apply_sets(tm_crash(), &sets).expect("valid").job.keys, 9, "in order");
    }
}
