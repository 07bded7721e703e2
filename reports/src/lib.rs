//! halab-reports: reads run records (JSON Lines, see `docs/records.md`) and
//! summarises them. It never runs a simulation and does not depend on the
//! simulator; it reads the records' JSON form.
//!
//! This first slice parses record lines into a light summary; plots and the
//! HTML report build on it.

use serde::Deserialize;

/// The fields of a run record a summary needs (the full schema is in
/// `docs/records.md`; unknown fields are ignored for forward compatibility).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RecordSummary {
    pub scenario: String,
    pub seed: u64,
    pub verdict: String,
    pub trace_hash: String,
    pub restarts: u32,
}

/// A line that is not a run record.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct RecordLineError {
    pub line: usize,
    #[source]
    pub source: serde_json::Error,
}

/// Parse JSON Lines run records; blank lines are skipped.
pub fn parse_records(text: &str) -> Result<Vec<RecordSummary>, RecordLineError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|source| RecordLineError { line: i + 1, source }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names_the_bad_one() {
        let good = r#"{"scenario":"steady","seed":1,"verdict":"pass","trace_hash":"ab","restarts":0,"extra":1}"#;
        let recs = parse_records(&format!("{good}\n\n{good}\n")).expect("valid");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].scenario, "steady");
        let err = parse_records(&format!("{good}\nnot json\n")).expect_err("bad line");
        assert_eq!(err.line, 2);
    }
}
