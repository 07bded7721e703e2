//! Rebalancing per partitioner: the fraction of keys moved by a rescale
//! against the optimum (the least any partitioner must move), and the load
//! imbalance after it (max/mean load, 1 is perfect balance).
//!
//! The numbers come from the caller (the partitioner experiments live
//! elsewhere); this module only draws them.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, BarPanel, BarSeries, DrawResult, Figure, LegendEntry, Swatch};
use super::{Bar, Markers, PlotDescription};
use crate::error::ReportError;

pub const MOVED: &str = "keys moved";
pub const OPTIMUM: &str = "optimum";
pub const IMBALANCE: &str = "max/mean load";
pub const BALANCED: &str = "perfect balance";

/// What one partitioner did in a rescale.
#[derive(Clone, Debug, PartialEq)]
pub struct RebalanceStats {
    pub partitioner: String,
    /// Fraction of keys whose owner changed (0..=1).
    pub moved_fraction: f64,
    /// The least fraction any assignment must move (0..=1).
    pub optimal_moved_fraction: f64,
    /// Largest load over mean load after the rescale (≥ 1).
    pub max_over_mean_load: f64,
}

struct Rebalancing<'a> {
    stats: &'a [RebalanceStats],
}

const TITLE: &str = "Rebalancing per partitioner";
const X_MOVED: &str = "keys moved (%)";
const X_LOAD: &str = "load imbalance (max/mean)";
const Y_LABEL: &str = "partitioner";

impl Rebalancing<'_> {
    fn legend(&self) -> Vec<LegendEntry> {
        vec![
            LegendEntry::new(MOVED, Swatch::Fill(canvas::series_color(0), 1.0)),
            LegendEntry::new(OPTIMUM, Swatch::Fill(canvas::series_color(2), 1.0)),
            LegendEntry::new(IMBALANCE, Swatch::Fill(canvas::series_color(1), 1.0)),
            LegendEntry::new(format!("{BALANCED} (1.0)"), Swatch::Rule(BLACK)),
        ]
    }
}

impl Figure for Rebalancing<'_> {
    fn size(&self) -> (u32, u32) {
        (1150, canvas::bar_figure_height(self.stats.len()))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, TITLE, &self.legend())?;
        let categories: Vec<String> = self.stats.iter().map(|s| s.partitioner.clone()).collect();
        let (w, _) = area.dim_in_pixel();
        let (left, right) = area.split_horizontally(w * 11 / 20);
        BarPanel {
            categories: &categories,
            series: vec![
                BarSeries {
                    color: canvas::series_color(0),
                    values: self.stats.iter().map(|s| Some(s.moved_fraction * 100.0)).collect(),
                },
                BarSeries {
                    color: canvas::series_color(2),
                    values: self
                        .stats
                        .iter()
                        .map(|s| Some(s.optimal_moved_fraction * 100.0))
                        .collect(),
                },
            ],
            stacked: false,
            x_desc: X_MOVED,
            y_desc: Y_LABEL,
            scale: 1.0,
            missing_text: None,
            rules: Vec::new(),
            show_categories: true,
        }
        .draw(&left)?;
        BarPanel {
            categories: &categories,
            series: vec![BarSeries {
                color: canvas::series_color(1),
                values: self.stats.iter().map(|s| Some(s.max_over_mean_load)).collect(),
            }],
            stacked: false,
            x_desc: X_LOAD,
            y_desc: "",
            scale: 1.0,
            missing_text: None,
            rules: vec![(1.0, BLACK)],
            show_categories: false,
        }
        .draw(&right)
    }
}

/// Grouped bars of keys moved against the optimum, and load imbalance, per
/// partitioner (in the order given).
pub fn plot_rebalancing(stats: &[RebalanceStats], dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let fig = Rebalancing { stats };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    let bars = stats
        .iter()
        .flat_map(|s| {
            [
                (MOVED, s.moved_fraction),
                (OPTIMUM, s.optimal_moved_fraction),
                (IMBALANCE, s.max_over_mean_load),
            ]
            .map(|(series, v)| Bar {
                category: s.partitioner.clone(),
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
        x_label: format!("{X_MOVED}; {X_LOAD}"),
        y_label: Y_LABEL.into(),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: Vec::new(),
        intervals: Vec::new(),
        markers: vec![Markers {
            name: BALANCED.into(),
            at: vec![1.0],
        }],
        bars,
    })
}
