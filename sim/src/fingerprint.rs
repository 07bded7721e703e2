//! The scenario fingerprint: which scenario a run record came from.
//!
//! FNV-1a 64 (as the trace hash) of the scenario's canonical JSON — object
//! keys sorted, no whitespace — with its `description` left out, since that
//! changes nothing a run does; 16 hex digits. The name is part of it, and
//! so is every key of every table as parsed (defaults filled in), so a
//! renamed or changed scenario gets another fingerprint, while the same
//! scenario from the catalogue or from a copy of its file gets the same.

use halab_engine::trace::Fnv1a64;
use serde_json::Value;

use crate::scenario::Scenario;

impl Scenario {
    /// This scenario's fingerprint, 16 hex digits.
    pub fn fingerprint(&self) -> String {
        let mut value = serde_json::to_value(self).expect("invariant: a scenario serialises to JSON");
        if let Value::Object(table) = &mut value {
            table.remove("description");
        }
        let mut text = String::new();
        write_canonical(&value, &mut text);
        let mut hash = Fnv1a64::default();
        hash.write(text.as_bytes());
        format!("{:016x}", hash.finish())
    }
}

/// `value` as JSON with every object's keys in sorted order.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(table) => {
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&table[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady() -> Scenario {
        let text = r#"
            name = "steady"
            description = "No faults"
            duration = "10s"
            [config]
            "execution.checkpointing.interval" = "1s"
        "#;
        toml::from_str(text).expect("a scenario")
    }

    #[test]
    fn the_fingerprint_follows_what_runs_and_the_name_only() {
        let base = steady();
        let fp = base.fingerprint();
        assert_eq!(fp.len(), 16);
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(base.clone().fingerprint(), fp, "stable");

        let mut described = base.clone();
        described.description = "another description".into();
        assert_eq!(described.fingerprint(), fp, "the description runs nothing");

        let mut renamed = base.clone();
        renamed.name = "chaos".into();
        assert_ne!(renamed.fingerprint(), fp);

        let mut longer = base.clone();
        longer.duration = crate::human::HumanDuration(longer.duration.0 * 2);
        assert_ne!(longer.fingerprint(), fp);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value: Value = serde_json::from_str(r#"{"b":[{"z":1,"a":2}],"a":"x"}"#).expect("json");
        let mut text = String::new();
        write_canonical(&value, &mut text);
        assert_eq!(text, r#"{"a":"x","b":[{"a":2,"z":1}]}"#);
    }
}
