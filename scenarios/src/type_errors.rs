//! Type errors of the TOML parser in the user's words: the key that holds
//! the bad value (a value spanning lines or inside an inline table too), and TOML's names for kinds of value instead of Rust's
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

/// The dotted key whose value holds byte `offset` of `text` (`job.keys`,
/// `faults.scripted[1].at`, `config."heartbeat.timeout"`), found in the
/// document's spans as `parse::locate` finds a path's; `None` when no
/// value holds it.
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    key_in(doc.as_table(), "", offset)
}

fn key_in(table: &dyn toml_edit::TableLike, prefix: &str, offset: usize) -> Option<String> {
    table.iter().find_map(|(key, item)| {
        let key = if key.contains('.') {
            format!("\"{key}\"")
        } else {
            key.to_string()
        };
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match item {
            toml_edit::Item::Value(v) => {
                let holds = v.span().is_some_and(|s| s.contains(&offset));
                let inner = v.as_inline_table().and_then(|t| key_in(t, &path, offset));
                inner.or(holds.then_some(path))
            }
            toml_edit::Item::Table(t) => key_in(t, &path, offset),
            toml_edit::Item::ArrayOfTables(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, t)| key_in(t, &format!("{path}[{i}]"), offset)),
            toml_edit::Item::None => None,
        }
    })
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
        assert_eq!(at("[]").as_deref(), Some("config.\"heartbeat.timeout\""));
        assert_eq!(key_at(text, text.find("[job]").expect("header")), None);
        // A value over several lines, and one in an inline table.
        let text = "[faults.random]\nkinds = [\n  \"tm-crash\",\n  7,\n]\n[resources]\nx = { cores = \"two\" }\n";
        let at = |needle: &str| key_at(text, text.find(needle).expect("in the text"));
        assert_eq!(at("7,").as_deref(), Some("faults.random.kinds"));
        assert_eq!(at("\"two\"").as_deref(), Some("resources.x.cores"));
    }
}
