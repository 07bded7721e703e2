//! Type errors of the TOML parser in the user's words: the key that holds
//! the bad value, and TOML's names for kinds of value instead of Rust's
//! (`expected u64` becomes `expected a whole number, 0 or more`).

/// Rust and serde type words, and what a scenario file calls them.
const WORDS: &[(&str, &str)] = &[
    ("expected u64", "expected a whole number, 0 or more"),
    ("expected usize", "expected a whole number, 0 or more"),
    ("expected u32", "expected a whole number from 0 to 4294967295"),
    ("expected u16", "expected a whole number from 0 to 65535"),
    ("expected u8", "expected a whole number from 0 to 255"),
    ("expected i64", "expected a whole number"),
    ("expected i32", "expected a whole number from -2147483648 to 2147483647"),
    ("expected f64", "expected a number"),
    ("expected f32", "expected a number"),
    ("invalid type: sequence", "invalid type: array"),
    ("invalid type: map", "invalid type: table"),
    ("floating point", "decimal number"),
    ("number too large to fit in target type", "number too large"),
];

/// `message` with Rust's type words replaced by TOML's.
pub(crate) fn plain(message: &str) -> String {
    WORDS
        .iter()
        .fold(message.to_string(), |m, (rust, toml)| m.replace(rust, toml))
}

/// The dotted key whose value starts at byte `offset` of `text`
/// (`job.keys`, `faults.scripted[1].at`), read from the line's `key =` and
/// the table header above it; `None` when the line holds no key.
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    match table_of(&text[..line_start]) {
        Some(table) => Some(format!("{table}.{key}")),
        None => Some(key.to_string()),
    }
}

/// The table the text ending here is in: its last header, with the index
/// of an array-of-tables entry (`faults.scripted[2]`).
fn table_of(before: &str) -> Option<String> {
    let header = before.lines().rev().map(str::trim).find(|l| l.starts_with('['))?;
    if let Some(name) = header.strip_prefix("[[").and_then(|h| h.split("]]").next()) {
        let name = name.trim();
        let entries = before
            .lines()
            .filter(|l| {
                l.trim()
                    .strip_prefix("[[")
                    .is_some_and(|h| h.split("]]").next().map(str::trim) == Some(name))
            })
            .count();
        assert!(entries >= 1, "invariant: the header found is counted");
        return Some(format!("{name}[{}]", entries - 1));
    }
    header
        .strip_prefix('[')?
        .split(']')
        .next()
        .map(|n| n.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_type_words_become_tomls() {
        assert_eq!(
            plain("invalid type: floating point `1.5`, expected u64"),
            "invalid type: decimal number `1.5`, expected a whole number, 0 or more"
        );
        assert_eq!(
            plain("invalid type: sequence, expected u32"),
            "invalid type: array, expected a whole number from 0 to 4294967295"
        );
        assert_eq!(
            plain("invalid type: map, expected a string"),
            "invalid type: table, expected a string"
        );
        assert_eq!(plain("number too large to fit in target type"), "number too large");
    }

    #[test]
    fn the_key_is_read_from_its_line_and_table() {
        let text = "name = \"x\"\n[job]\nkeys = \"abc\"\n[[faults.scripted]]\nat = \"1s\"\n[[faults.scripted]]\nat = 5\n[config]\n\"heartbeat.timeout\" = []\n";
        let at = |needle: &str| key_at(text, text.find(needle).expect("in the text"));
        assert_eq!(at("\"x\"").as_deref(), Some("name"));
        assert_eq!(at("\"abc\"").as_deref(), Some("job.keys"));
        assert_eq!(at("\"1s\"").as_deref(), Some("faults.scripted[0].at"));
        assert_eq!(at("5\n").as_deref(), Some("faults.scripted[1].at"));
        assert_eq!(at("[]").as_deref(), Some("config.heartbeat.timeout"));
        assert_eq!(key_at(text, text.find("[job]").expect("header")), None);
    }
}
