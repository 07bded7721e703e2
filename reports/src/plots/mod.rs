//! Plots, one file per plot, drawn with plotters into an SVG file and a PNG
//! file beside it (`<stem>.svg`, `<stem>.png`).
//!
//! Every plot function takes its data, an output directory and a file stem,
//! and returns a [`PlotDescription`]: what it drew (series and their points,
//! shaded fault intervals, markers, bars, legend texts), so that tests and
//! the HTML page can check and describe a plot without reading images.
//!
//! - [`throughput`]: records read and committed per second of one run, with
//!   fault intervals shaded by kind, restart and checkpoint markers.
//! - [`recovery`]: recovery latency per scenario and fault kind broken into
//!   detection, cancellation, restart delay, state download and catch-up; CDF
//!   of recovery time.
//! - [`state_size`]: recovery and state download time against state size
//!   per recovery strategy.
//! - [`policies`]: restart policies under one failure storm (time to give
//!   up, downtime, restarts).
//! - [`interval_sweep`]: committed throughput, its first-order fit and
//!   recovery time against the checkpoint interval, with the measured,
//!   Young's and Daly's optima.
//! - [`checkpoints`]: checkpoint duration and size over one run; alignment
//!   time distributions per scenario.
//! - [`load`]: busy, back-pressured and idle time of every subtask of one
//!   run, with the records each took in.
//! - [`rebalancing`]: keys moved against the optimum and load imbalance per
//!   partitioner.
//! - [`migration`]: migration time and state moved per rescale scenario
//!   (partitioner).

pub(crate) mod canvas;
pub mod checkpoints;
pub mod interval_sweep;
pub mod latency;
pub mod load;
pub mod migration;
pub mod policies;
pub mod rebalancing;
pub mod recovery;
pub mod state_size;
pub mod throughput;

use std::path::PathBuf;

use serde::Serialize;

use crate::faults::FaultInterval;

/// One line or point series: its legend name and its points in the plot's
/// data units (x, y).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Markers of one kind (restarts, checkpoints, a reference line) at
/// positions on the x axis: milliseconds for times (even where the axis shows
/// seconds), else the axis' own unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Markers {
    pub name: String,
    pub at: Vec<f64>,
}

/// One bar: its category (a row of the chart), its series (the legend entry)
/// and its value; `None` where there is nothing to draw (e.g. "never").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bar {
    pub category: String,
    pub series: String,
    pub value: Option<f64>,
}

/// What a plot function drew and where it wrote it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlotDescription {
    /// The file stem: `<name>.svg` and `<name>.png`.
    pub name: String,
    pub title: String,
    pub svg: PathBuf,
    pub png: PathBuf,
    /// Width and height in pixels (of both files).
    pub size: (u32, u32),
    pub x_label: String,
    pub y_label: String,
    /// The legend's texts, top to bottom.
    pub legend: Vec<String>,
    pub series: Vec<Series>,
    /// Shaded fault intervals (throughput plot only).
    pub intervals: Vec<FaultInterval>,
    pub markers: Vec<Markers>,
    pub bars: Vec<Bar>,
}

impl PlotDescription {
    /// The series called `name`.
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }

    /// The markers called `name`.
    pub fn markers(&self, name: &str) -> Option<&Markers> {
        self.markers.iter().find(|m| m.name == name)
    }

    /// The file names (without directory) of the SVG and the PNG.
    pub fn file_names(&self) -> [String; 2] {
        [format!("{}.svg", self.name), format!("{}.png", self.name)]
    }
}

/// A file stem made of `parts` that is safe in a file name and a URL:
/// ASCII letters, digits, `-` and `_`; anything else becomes `_`.
pub fn file_stem(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe() {
        assert_eq!(file_stem(&["throughput", "tm-crash", "7"]), "throughput-tm-crash-7");
        assert_eq!(file_stem(&["a b/c", "<x>"]), "a_b_c-_x_");
    }
}
