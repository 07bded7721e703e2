//! Where each subtask's time went in one run: busy, back-pressured and idle
//! milliseconds per second (Flink's `busyTimeMsPerSecond`,
//! `backPressuredTimeMsPerSecond`, `idleTimeMsPerSecond`, averaged over the
//! time the subtask ran), one stacked bar per subtask, labelled with the
//! records it took in (`numRecordsIn`). Under key skew the hot subtask is
//! the busy one, and its producers are the back-pressured ones.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, BarPanel, BarSeries, DrawResult, Figure, LegendEntry, Swatch};
use super::{Bar, PlotDescription};
use crate::error::ReportError;
use crate::record::{RunRecord, SubtaskMetrics};

pub const BUSY: &str = "busy";
pub const BACK_PRESSURED: &str = "back-pressured";
pub const IDLE: &str = "idle";

const X_LABEL: &str = "ms per second the subtask ran, over the run";
const Y_LABEL: &str = "subtask (records in)";

/// The subtask whose vertex is keyed and that took in the most records:
/// the hot one under skew. `None` without a keyed vertex (`count`,
/// `window`) in the run.
pub fn hottest(record: &RunRecord) -> Option<&SubtaskMetrics> {
    record
        .subtasks
        .iter()
        .filter(|s| s.vertex != "source" && s.vertex != "sink")
        .max_by_key(|s| (s.num_records_in, std::cmp::Reverse(s.subtask)))
}

/// A subtask's row label: `count[3] (7,373 in)`.
pub fn label(s: &SubtaskMetrics) -> String {
    format!("{}[{}] ({} in)", s.vertex, s.subtask, thousands(s.num_records_in))
}

fn thousands(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits.rchunks(3).rev().map(|g| g.iter().collect()).collect();
    groups.join(",")
}

struct Load<'a> {
    title: String,
    subtasks: &'a [SubtaskMetrics],
}

fn legend() -> Vec<LegendEntry> {
    vec![
        LegendEntry::new(BUSY, Swatch::Fill(canvas::series_color(0), 1.0)),
        LegendEntry::new(BACK_PRESSURED, Swatch::Fill(canvas::series_color(3), 1.0)),
        LegendEntry::new(IDLE, Swatch::Fill(canvas::series_color(7), 1.0)),
    ]
}

impl Load<'_> {
    fn values(&self) -> [(&'static str, Vec<Option<f64>>); 3] {
        let of = |f: fn(&SubtaskMetrics) -> u64| self.subtasks.iter().map(|s| Some(f(s) as f64)).collect();
        [
            (BUSY, of(|s| s.busy_time_ms_per_second)),
            (BACK_PRESSURED, of(|s| s.back_pressured_time_ms_per_second)),
            (IDLE, of(|s| s.idle_time_ms_per_second)),
        ]
    }
}

impl Figure for Load<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, canvas::bar_figure_height(self.subtasks.len()))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, &self.title, &legend())?;
        let categories: Vec<String> = self.subtasks.iter().map(label).collect();
        let colors = [0, 3, 7].map(canvas::series_color);
        BarPanel {
            categories: &categories,
            series: self
                .values()
                .into_iter()
                .zip(colors)
                .map(|((_, values), color)| BarSeries { color, values })
                .collect(),
            stacked: true,
            x_desc: X_LABEL,
            y_desc: Y_LABEL,
            scale: 1.0,
            missing_text: None,
            rules: Vec::new(),
            show_categories: true,
        }
        .draw(&area)
    }
}

/// The load plot of `record`; `None` if the record has no subtask metrics
/// (written before they existed).
pub fn plot_load(record: &RunRecord, dir: &Path, stem: &str) -> Result<Option<PlotDescription>, ReportError> {
    if record.subtasks.is_empty() {
        return Ok(None);
    }
    let fig = Load {
        title: format!("Subtask load: {} seed {}", record.scenario, record.seed),
        subtasks: &record.subtasks,
    };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    let bars = fig
        .values()
        .into_iter()
        .flat_map(|(series, values)| {
            fig.subtasks.iter().zip(values).map(move |(s, value)| Bar {
                category: label(s),
                series: series.into(),
                value,
            })
        })
        .collect();
    Ok(Some(PlotDescription {
        name: stem.to_string(),
        title: fig.title.clone(),
        svg,
        png,
        size: fig.size(),
        x_label: X_LABEL.into(),
        y_label: Y_LABEL.into(),
        legend: legend().into_iter().map(|e| e.label).collect(),
        series: Vec::new(),
        intervals: Vec::new(),
        markers: Vec::new(),
        bars,
    }))
}
