//! Partitioners by migration time: per rescale scenario (one partitioner
//! each, run on the same plan) and rescale (from → to subtasks), the median
//! time from the rescale decision until the last subtask restored its
//! state, beside the median state moved.
//!
//! Under the resource model a rescale downloads the state each new subtask
//! owns at checkpoint-storage bandwidth, so a partitioner that moves less
//! state migrates faster; the keys-moved plot ([`super::rebalancing`])
//! gives the fractions, this one what they cost.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, BarPanel, BarSeries, DrawResult, Figure, LegendEntry, Swatch};
use super::{Bar, PlotDescription};
use crate::error::ReportError;
use crate::record::{RescaleMetrics, RunRecord};
use crate::stats::median;

pub const MIGRATION: &str = "migration time";
pub const MOVED: &str = "state moved";

/// One scenario's rescales from one parallelism to another, over all its
/// runs.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationRow {
    pub scenario: String,
    pub from: u32,
    pub to: u32,
    pub rescales: usize,
    /// Median migration time (ms).
    pub migration_ms: f64,
    /// Median state moved (bytes).
    pub moved_bytes: f64,
}

/// One row per (scenario, from, to) of the rescales that moved state
/// (state bytes > 0), in that order.
pub fn migration_rows(records: &[RunRecord]) -> Vec<MigrationRow> {
    let mut groups: BTreeMap<(&str, u32, u32), Vec<&RescaleMetrics>> = BTreeMap::new();
    for r in records {
        for m in r.rescales.iter().filter(|m| m.state_bytes_total > 0) {
            groups.entry((r.scenario.as_str(), m.from, m.to)).or_default().push(m);
        }
    }
    groups
        .into_iter()
        .filter_map(|((scenario, from, to), rescales)| {
            let times: Vec<f64> = rescales.iter().map(|m| m.migration_ms as f64).collect();
            let moved: Vec<f64> = rescales.iter().map(|m| m.state_bytes_moved as f64).collect();
            Some(MigrationRow {
                scenario: scenario.to_string(),
                from,
                to,
                rescales: rescales.len(),
                migration_ms: median(&times)?,
                moved_bytes: median(&moved)?,
            })
        })
        .collect()
}

struct Migration {
    rows: Vec<MigrationRow>,
}

const TITLE: &str = "Partitioners by migration time";
const X_TIME: &str = "median migration time (s)";
const X_MOVED: &str = "median state moved (MB)";
const Y_LABEL: &str = "scenario from→to subtasks (rescales)";

impl Migration {
    fn categories(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| format!("{} {}→{} ({})", r.scenario, r.from, r.to, r.rescales))
            .collect()
    }

    fn legend(&self) -> Vec<LegendEntry> {
        vec![
            LegendEntry::new(MIGRATION, Swatch::Fill(canvas::series_color(0), 1.0)),
            LegendEntry::new(MOVED, Swatch::Fill(canvas::series_color(1), 1.0)),
        ]
    }
}

impl Figure for Migration {
    fn size(&self) -> (u32, u32) {
        (1150, canvas::bar_figure_height(self.rows.len()))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, TITLE, &self.legend())?;
        let categories = self.categories();
        let (w, _) = area.dim_in_pixel();
        let (left, right) = area.split_horizontally(w * 11 / 20);
        BarPanel {
            categories: &categories,
            series: vec![BarSeries {
                color: canvas::series_color(0),
                values: self.rows.iter().map(|r| Some(r.migration_ms)).collect(),
            }],
            stacked: false,
            x_desc: X_TIME,
            y_desc: Y_LABEL,
            scale: 1000.0,
            missing_text: None,
            rules: Vec::new(),
            show_categories: true,
        }
        .draw(&left)?;
        BarPanel {
            categories: &categories,
            series: vec![BarSeries {
                color: canvas::series_color(1),
                values: self.rows.iter().map(|r| Some(r.moved_bytes)).collect(),
            }],
            stacked: false,
            x_desc: X_MOVED,
            y_desc: "",
            scale: 1e6,
            missing_text: None,
            rules: Vec::new(),
            show_categories: false,
        }
        .draw(&right)
    }
}

/// Bars of the median migration time and state moved per rescale scenario.
pub fn plot_migration(records: &[RunRecord], dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let fig = Migration {
        rows: migration_rows(records),
    };
    if fig.rows.is_empty() {
        return Err(ReportError::Input("no run rescaled keyed state".into()));
    }
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    let bars = fig
        .rows
        .iter()
        .zip(fig.categories())
        .flat_map(|(r, category)| {
            [(MIGRATION, r.migration_ms), (MOVED, r.moved_bytes)].map(|(series, v)| Bar {
                category: category.clone(),
                series: series.into(),
                value: Some(v),
            })
        })
        .collect();
    Ok(PlotDescription {
        name: stem.to_string(),
        title: TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: format!("{X_TIME}; {X_MOVED}"),
        y_label: Y_LABEL.into(),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: Vec::new(),
        intervals: Vec::new(),
        markers: Vec::new(),
        bars,
    })
}
