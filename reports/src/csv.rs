//! CSV export: one row per run record, flat scalar columns, for spreadsheets
//! and pandas. Nested arrays become counts and aggregates; the columns are
//! documented in `docs/records.md` (section "CSV export").
//!
//! Quoting follows RFC 4180: a field holding a comma, a quote or a line break
//! is quoted, quotes doubled. Missing values (e.g. no recovery) are empty.

use crate::record::{plan_text, RunRecord};
use crate::stats::{mean, median_u64};

/// The header, in column order.
pub const CSV_COLUMNS: [&str; 42] = [
    "schema",
    "scenario",
    "seed",
    "verdict",
    "message",
    "trace_hash",
    "trace_events",
    "lost",
    "duplicated",
    "unexpected",
    "miscounted",
    "out_of_order",
    "examples",
    "records_expected",
    "records_committed",
    "restarts",
    "failures_handled",
    "final_job_status",
    "num_restarts",
    "restarting_time_ms",
    "restarting_time_total_ms",
    "running_time_total_ms",
    "uptime_ms",
    "downtime_ms",
    "simulated_ms",
    "wall_ms",
    "faults",
    "fault_plan",
    "checkpoints_completed",
    "checkpoints_aborted",
    "checkpoint_duration_mean_ms",
    "checkpoint_size_mean_bytes",
    "alignment_max_ms",
    "persisted_max_bytes",
    "restart_events",
    "recovery_episodes",
    "recovered_episodes",
    "detection_median_ms",
    "recovery_median_ms",
    "recovery_max_ms",
    "time_to_give_up_ms",
    "total_downtime_ms",
];

/// Quote a field if it needs it.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn float(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map(|v| {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        })
        .unwrap_or_default()
}

/// The row of one record, unquoted, in [`CSV_COLUMNS`] order.
pub fn csv_row(r: &RunRecord) -> Vec<String> {
    let completed: Vec<_> = r.checkpoints.iter().filter(|c| c.completed()).collect();
    let durations: Vec<f64> = completed
        .iter()
        .filter_map(|c| c.duration_ms)
        .map(|d| d as f64)
        .collect();
    let sizes: Vec<f64> = completed
        .iter()
        .filter_map(|c| c.size_bytes)
        .map(|s| s as f64)
        .collect();
    let recoveries: Vec<u64> = r.recovery.iter().filter_map(|e| e.recovery_ms()).collect();
    let detections: Vec<u64> = r.recovery.iter().filter_map(|e| e.detection_ms()).collect();
    let m = &r.job_metrics;
    vec![
        r.schema.to_string(),
        r.scenario.clone(),
        r.seed.to_string(),
        r.verdict.to_string(),
        r.message.clone().unwrap_or_default(),
        r.trace_hash.clone(),
        r.trace_events.to_string(),
        r.lost.to_string(),
        r.duplicated.to_string(),
        r.unexpected.to_string(),
        r.miscounted.to_string(),
        r.out_of_order.to_string(),
        r.examples.len().to_string(),
        r.records_expected.to_string(),
        r.records_committed.to_string(),
        r.restarts.to_string(),
        r.failures_handled.to_string(),
        r.final_job_status.clone(),
        m.num_restarts.to_string(),
        m.restarting_time.to_string(),
        m.restarting_time_total.to_string(),
        m.running_time_total.to_string(),
        m.uptime.to_string(),
        m.downtime.to_string(),
        r.simulated_ms.to_string(),
        float(Some(r.wall_ms)),
        r.fault_plan.len().to_string(),
        plan_text(&r.fault_plan),
        completed.len().to_string(),
        (r.checkpoints.len() - completed.len()).to_string(),
        float(mean(&durations)),
        float(mean(&sizes)),
        opt(r.checkpoints.iter().filter_map(|c| c.alignment_ms).max()),
        opt(r.checkpoints.iter().filter_map(|c| c.persisted_bytes).max()),
        r.restart_events.len().to_string(),
        r.recovery.len().to_string(),
        recoveries.len().to_string(),
        opt(median_u64(&detections)),
        opt(median_u64(&recoveries)),
        opt(recoveries.iter().max()),
        opt(r.time_to_give_up_ms()),
        r.total_downtime_ms().to_string(),
    ]
}

/// The records as CSV: a header line and one line per record (`\n` endings).
pub fn to_csv(records: &[RunRecord]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in records {
        let row: Vec<String> = csv_row(r).iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Verdict;

    #[test]
    fn header_and_rows_line_up() {
        let mut r = RunRecord::empty("tm-crash", 3);
        r.verdict = Verdict::Violation;
        r.message = Some("lost 1, duplicated \"2\"\nsee below".into());
        let csv = to_csv(&[r.clone(), r]);
        assert_eq!(csv_row(&RunRecord::empty("x", 1)).len(), CSV_COLUMNS.len());
        let first = csv.lines().next().expect("header");
        assert!(first.starts_with("schema,scenario,seed,verdict,message,"));
        // The message's quote is doubled and its line break stays inside quotes.
        assert!(csv.contains("\"lost 1, duplicated \"\"2\"\"\nsee below\""));
    }

    #[test]
    fn floats_are_short() {
        assert_eq!(float(Some(2.0)), "2");
        assert_eq!(float(Some(2.5)), "2.5");
        assert_eq!(float(Some(f64::NAN)), "");
        assert_eq!(float(None), "");
    }
}
