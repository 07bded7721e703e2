//! Restart policies under one identical failure storm: per scenario (one
//! restart policy each), the time from the storm's first fault to the policy
//! giving up ("never" if no run gave up), the total downtime, and the number
//! of restarts, as medians over the scenario's runs.
//!
//! Downtime is `RunRecord::total_downtime_ms`: Flink's `downtime` gauge stays
//! 0 through ordinary restarts and reads −1 once the job is terminal, so the
//! plot adds `restartingTimeTotal` and, for a job that gave up, the rest of
//! the run after it gave up.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, BarPanel, BarSeries, DrawResult, Figure, LegendEntry, Swatch};
use super::{Bar, PlotDescription};
use crate::error::ReportError;
use crate::record::RunRecord;
use crate::stats::median;

pub const GIVE_UP: &str = "time to give up";
pub const DOWNTIME: &str = "total downtime";
pub const RESTARTS: &str = "restarts";
/// Written where a policy never gave up.
pub const NEVER: &str = "never";

/// One restart policy (scenario) over its runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRow {
    pub scenario: String,
    pub runs: usize,
    /// Runs in which the job ended FAILED.
    pub gave_up: usize,
    /// Median over the runs that gave up, from the first fault (ms); `None`:
    /// never gave up.
    pub time_to_give_up_ms: Option<f64>,
    /// Median total downtime (ms).
    pub downtime_ms: Option<f64>,
    /// Median number of restarts.
    pub restarts: Option<f64>,
}

impl PolicyRow {
    pub fn label(&self) -> String {
        format!("{} (gave up {}/{})", self.scenario, self.gave_up, self.runs)
    }
}

/// One row per scenario of `scenarios` (in that order) that has records.
pub fn policy_rows(records: &[RunRecord], scenarios: &[String]) -> Vec<PolicyRow> {
    scenarios
        .iter()
        .filter_map(|s| {
            let runs: Vec<&RunRecord> = records.iter().filter(|r| &r.scenario == s).collect();
            if runs.is_empty() {
                return None;
            }
            let give_up: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.time_to_give_up_ms())
                .map(|v| v as f64)
                .collect();
            let downtime: Vec<f64> = runs.iter().map(|r| r.total_downtime_ms() as f64).collect();
            let restarts: Vec<f64> = runs.iter().map(|r| r.restarts as f64).collect();
            Some(PolicyRow {
                scenario: s.clone(),
                runs: runs.len(),
                gave_up: give_up.len(),
                time_to_give_up_ms: median(&give_up),
                downtime_ms: median(&downtime),
                restarts: median(&restarts),
            })
        })
        .collect()
}

struct Policies {
    rows: Vec<PolicyRow>,
}

const TITLE: &str = "Restart policies under one failure storm";
const X_TIME: &str = "time (s), median over runs";
const X_RESTARTS: &str = "restarts, median over runs";
const Y_LABEL: &str = "scenario (restart policy)";

impl Policies {
    fn legend(&self) -> Vec<LegendEntry> {
        vec![
            LegendEntry::new(
                format!("{GIVE_UP} (from first fault)"),
                Swatch::Fill(canvas::series_color(3), 1.0),
            ),
            LegendEntry::new(DOWNTIME, Swatch::Fill(canvas::series_color(0), 1.0)),
            LegendEntry::new(RESTARTS, Swatch::Fill(canvas::series_color(7), 1.0)),
            LegendEntry::new(format!("\"{NEVER}\": no run gave up"), Swatch::Fill(WHITE, 0.0)),
        ]
    }
}

impl Figure for Policies {
    fn size(&self) -> (u32, u32) {
        (1200, canvas::bar_figure_height(self.rows.len()))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, TITLE, &self.legend())?;
        let categories: Vec<String> = self.rows.iter().map(PolicyRow::label).collect();
        let (w, _) = area.dim_in_pixel();
        let (left, right) = area.split_horizontally(w * 2 / 3);
        BarPanel {
            categories: &categories,
            series: vec![
                BarSeries {
                    color: canvas::series_color(3),
                    values: self.rows.iter().map(|r| r.time_to_give_up_ms).collect(),
                },
                BarSeries {
                    color: canvas::series_color(0),
                    values: self.rows.iter().map(|r| r.downtime_ms).collect(),
                },
            ],
            stacked: false,
            x_desc: X_TIME,
            y_desc: Y_LABEL,
            scale: 1000.0,
            missing_text: Some(NEVER),
            rules: Vec::new(),
            show_categories: true,
        }
        .draw(&left)?;
        BarPanel {
            categories: &categories,
            series: vec![BarSeries {
                color: canvas::series_color(7),
                values: self.rows.iter().map(|r| r.restarts).collect(),
            }],
            stacked: false,
            x_desc: X_RESTARTS,
            y_desc: "",
            scale: 1.0,
            missing_text: None,
            rules: Vec::new(),
            show_categories: false,
        }
        .draw(&right)
    }
}

/// Grouped bars comparing the restart policies of `scenarios` (in that
/// order) over their runs in `records`.
pub fn plot_restart_policies(
    records: &[RunRecord],
    scenarios: &[String],
    dir: &Path,
    stem: &str,
) -> Result<PlotDescription, ReportError> {
    let fig = Policies {
        rows: policy_rows(records, scenarios),
    };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    let bars = fig
        .rows
        .iter()
        .flat_map(|r| {
            [
                (GIVE_UP, r.time_to_give_up_ms),
                (DOWNTIME, r.downtime_ms),
                (RESTARTS, r.restarts),
            ]
            .map(|(series, value)| Bar {
                category: r.scenario.clone(),
                series: series.into(),
                value,
            })
        })
        .collect();
    Ok(PlotDescription {
        name: stem.to_string(),
        title: TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: format!("{X_TIME}; {X_RESTARTS}"),
        y_label: Y_LABEL.into(),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: Vec::new(),
        intervals: Vec::new(),
        markers: Vec::new(),
        bars,
    })
}
