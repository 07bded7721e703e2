//! Parse and validate scenario files, with `file:line:col` errors.
//!
//! Syntax and type errors come from the TOML parser's span; semantic errors
//! (an impossible cluster, a bad configuration value, an unknown node) name a
//! field path, which is located in the document to give its line and column.

use std::fmt;

use halab_sim::scenario::{Scenario, ScenarioError};

/// A scenario file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioFileError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ScenarioFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, col)
}

/// Read the text file at `path` (named `file` in messages): a file that is
/// not UTF-8 is an error at the line and column of its first bad byte.
pub fn read_text_file(path: &std::path::Path, file: &str) -> Result<String, ScenarioFileError> {
    let at = |line, col, message: String| ScenarioFileError {
        file: file.to_string(),
        line,
        col,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| at(1, 1, format!("cannot read the file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..good]).into_owned();
        let (line, col) = line_col(&text, good);
        at(
            line,
            col,
            format!("the file is not UTF-8 text (byte {good} cannot start a character)"),
        )
    })
}

/// Read the scenario file at `path` (named `file` in messages), parse and
/// validate it.
pub fn parse_scenario_file(path: &std::path::Path, file: &str) -> Result<Scenario, ScenarioFileError> {
    parse_scenario(&read_text_file(path, file)?, file)
}

/// Parse `text` (from `file`, used in messages) and validate it.
pub fn parse_scenario(text: &str, file: &str) -> Result<Scenario, ScenarioFileError> {
    let scenario: Scenario = toml::from_str(text).map_err(|e| toml_error(text, file, &e))?;
    scenario.validate().map_err(|e| semantic_error(text, file, &e))?;
    Ok(scenario)
}

/// A syntax or type error of the TOML parser, at its span.
pub(crate) fn toml_error(text: &str, file: &str, e: &toml::de::Error) -> ScenarioFileError {
    let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    let key = e.span().and_then(|s| crate::type_errors::key_at(text, s.start));
    let message = match e.message().trim() {
        "" => "incomplete TOML (a key without a value or an unclosed bracket?)".to_string(),
        m => crate::type_errors::plain(m),
    };
    ScenarioFileError {
        file: file.to_string(),
        line,
        col,
        message: match key {
            Some(k) if !message.contains(&format!("`{k}`")) => format!("{k}: {message}"),
            _ => message,
        },
    }
}

/// `e`, found while running the scenario read from `path` (named `file` in
/// messages), at the field it names: a run-time limit such as
/// `expect.max-trace-events` is reported where the file sets it.
pub fn scenario_error_in_file(path: &std::path::Path, file: &str, e: &ScenarioError) -> ScenarioFileError {
    match read_text_file(path, file) {
        Ok(text) => semantic_error(&text, file, e),
        Err(unreadable) => unreadable,
    }
}

/// A semantic error at its field, or at its fallback when the document
/// does not hold the field (nor any table on its path).
fn semantic_error(text: &str, file: &str, e: &ScenarioError) -> ScenarioFileError {
    let path = match &e.fallback {
        Some(fallback) if locate(text, &e.path).is_none() => fallback,
        _ => &e.path,
    };
    error_at(text, file, path, e.to_string())
}

/// `message` at the field `path` (`a.b[2].c`), or at 1:1 when the
/// document does not hold it.
pub(crate) fn error_at(text: &str, file: &str, path: &str, message: String) -> ScenarioFileError {
    let (line, col) = locate(text, path).map(|o| line_col(text, o)).unwrap_or((1, 1));
    ScenarioFileError {
        file: file.to_string(),
        line,
        col,
        message,
    }
}

/// Split `a.b."c.d"[2]` into segments `a`, `b`, `c.d`, `[2]`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in path.chars() {
        match ch {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            '[' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push('[');
            }
            ']' if !quoted => {
                cur.push(']');
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Byte offset of the deepest part of `path` found in the document.
fn locate(text: &str, path: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut value: Option<&toml_edit::Item> = None;
    let mut best = None;
    for seg in segments(path) {
        if let Some(idx) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let i: usize = idx.parse().ok()?;
            match value? {
                toml_edit::Item::ArrayOfTables(a) => {
                    let t = a.get(i)?;
                    best = t.span().map(|s| s.start).or(best);
                    // Point at the entry's first key when the table has no span.
                    if let Some((key, _)) = t.iter().next().and_then(|(k, _)| t.get_key_value(k)) {
                        best = key.span().map(|s| s.start).or(best);
                    }
                    table = t;
                    value = None;
                    continue;
                }
                toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
                    let v = a.get(i)?;
                    best = v.span().map(|s| s.start).or(best);
                    // An inline table's keys are found like a table's.
                    let Some(t) = v.as_inline_table() else { return best };
                    table = t;
                    value = None;
                    continue;
                }
                _ => return best,
            }
        }
        if let Some(v) = value {
            let Some(t) = v.as_table_like() else { return best };
            table = t;
        }
        let Some((key, next)) = table.get_key_value(&seg) else {
            return best;
        };
        best = key.span().map(|s| s.start).or(best);
        value = Some(next);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../catalogue/tm-crash.toml");

    #[test]
    fn catalogue_file_parses() {
        let s = parse_scenario(GOOD, "tm-crash.toml").expect("valid");
        assert_eq!(s.name, "tm-crash");
    }

    fn err(text: &str) -> ScenarioFileError {
        parse_scenario(text, "x.toml").expect_err("must be refused")
    }

    /// Where a refusal points: its line (the key or value at fault) and its
    /// message, for `GOOD` with `from` replaced by `to`.
    fn refused(from: &str, to: &str) -> (usize, String) {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let e = err(&text);
        // The last line of `to` is the key at fault.
        let key_line = to.lines().last().expect("a key").trim();
        let want = text
            .lines()
            .position(|l| l.trim_start().starts_with(key_line))
            .expect("present")
            + 1;
        assert_eq!(e.line, want, "{to}: {e}");
        (e.line, e.message)
    }

    /// No input wraps: every value that would overflow a time, a count or
    /// a size is refused at its own line, and the limits are stated.
    #[test]
    fn values_that_would_wrap_are_refused_where_they_are_written() {
        let huge = "\"2305843009213693953s\"";
        for (from, to, says) in [
            ("duration = \"10s\"", format!("duration = {huge}"), "limit of 365d"),
            ("duration = \"10s\"", "duration = \"2h\"".into(), "limit of 1h"),
            (
                "recovery-bound = \"30s\"",
                "recovery-bound = \"3650d\"".into(),
                "limit of 365d",
            ),
            (
                "recovery-bound = \"30s\"",
                "recovery-bound = \"2h\"".into(),
                "limit of 1h",
            ),
            (
                "window = [\"3s\", \"7s\"]",
                format!("window = [\"3s\", {huge}]"),
                "limit of 365d",
            ),
            (
                "records-per-second = 2000",
                "records-per-second = 18014398509481984".into(),
                "above the limit 50000000",
            ),
            (
                "\"execution.checkpointing.interval\" = \"1s\"",
                format!("\"execution.checkpointing.interval\" = {huge}"),
                "limit of 365d",
            ),
            (
                "slots-per-task-manager = 2",
                "slots-per-task-manager = 4294967295".into(),
                "1..=256",
            ),
            (
                "kind = \"count\"\nparallelism = 5",
                "kind = \"count\"\nparallelism = 64000".into(),
                "above the limit 4096",
            ),
        ] {
            let (_, message) = refused(from, &to);
            assert!(message.contains(says), "{to}: {message}");
        }
    }

    #[test]
    fn three_partition_groups_are_refused() {
        let text =
            format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\npartition = [[\"jm\"], [\"tm-0\"], [\"tm-1\"]]\n");
        let e = err(&text);
        let line = text.lines().position(|l| l.starts_with("partition")).expect("present") + 1;
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains("exactly two, found 3"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
        let dir = std::env::temp_dir().join(format!("halab-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.toml");
        std::fs::write(&path, b"name = \"x\"\ndescription = \"caf\xe9\"\n").expect("write");
        let e = parse_scenario_file(&path, "bad.toml").expect_err("not UTF-8");
        assert_eq!((e.line, e.col), (2, 19), "{e}");
        assert!(e.message.contains("not UTF-8"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn syntax_error_has_line_and_col() {
        let e = err("name = \"a\"\nduration = \n");
        assert_eq!((e.file.as_str(), e.line), ("x.toml", 2));
        assert!(e.to_string().starts_with("x.toml:2:"), "{e}");
    }

    #[test]
    fn unknown_field_is_refused_with_position() {
        let text = GOOD.replace("keys = 500", "keyz = 500");
        let e = err(&text);
        let line = text.lines().position(|l| l.starts_with("keyz")).expect("present") + 1;
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains("keyz"), "{e}");
    }

    #[test]
    fn bad_config_value_points_at_its_key() {
        let text = GOOD.replace(
            "\"heartbeat.timeout\" = \"5s\"",
            "\"heartbeat.timeout\" = \"5 fortnights\"",
        );
        let e = err(&text);
        let line = text.lines().position(|l| l.contains("5 fortnights")).expect("present") + 1;
        assert_eq!((e.line, e.col), (line, 1), "{e}");
        assert!(e.message.contains("heartbeat.timeout"), "{e}");
    }

    #[test]
    fn impossible_cluster_is_refused() {
        // At the parallelism that needs the slots, the cluster's keys stated.
        let text = GOOD.replace("task-managers = 3", "task-managers = 1");
        let e = err(&text);
        assert!(e.message.contains("task-managers = 1"), "{e}");
        assert_eq!(
            e.line,
            text.lines()
                .position(|l| l.starts_with("parallelism = 5"))
                .expect("present")
                + 1
        );
        // A file that leaves the job to its defaults: at the cluster.
        let job = text.find("[job]").expect("present");
        let config = text.find("[config]").expect("present");
        let text = format!("{}{}", &text[..job], &text[config..])
            .replace("slots-per-task-manager = 2", "slots-per-task-manager = 1");
        let e = err(&text);
        assert!(e.message.contains("slots"), "{e}");
        assert_eq!(
            e.line,
            text.lines().position(|l| l == "[cluster]").expect("present") + 1
        );
    }

    #[test]
    fn fault_on_unknown_node_is_refused() {
        let text = format!("{GOOD}\n[[faults.scripted]]\nat = \"1s\"\nkill = \"tm-9\"\n");
        let e = err(&text);
        assert!(e.message.contains("tm-9"), "{e}");
        assert_eq!(
            e.line,
            text.lines().position(|l| l.starts_with("kill = ")).expect("present") + 1,
            "at the fault's verb"
        );
    }

    #[test]
    fn a_value_missing_at_the_end_still_gets_a_message() {
        let e = err("name = \"x\"\nduration = \"1s\"\na=");
        assert_eq!(e.line, 3);
        assert!(!e.message.is_empty());
    }

    #[test]
    fn path_segments() {
        assert_eq!(segments("config.\"a.b\""), vec!["config", "a.b"]);
        assert_eq!(segments("faults.scripted[3]"), vec!["faults", "scripted", "[3]"]);
    }
}
