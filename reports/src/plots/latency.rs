//! End-to-end latency over simulated time for one run: the mean and the
//! largest latency (arrival in the source log to commit) of the records
//! committed in each 100 ms bucket, with the fault intervals of the plan
//! shaded by kind. Buckets without commits are left out: a 2PC sink
//! commits once per checkpoint, so the series is a row of points, one per
//! commit, and a gap is a time nothing committed.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, DrawResult, Figure, LegendEntry, Swatch};
use super::{PlotDescription, Series};
use crate::error::ReportError;
use crate::faults::{run_fault_intervals, FaultInterval};
use crate::record::RunRecord;

pub const MEAN: &str = "mean latency of the commits";
pub const MAX: &str = "largest latency of the commits";

const X_LABEL: &str = "simulated time (s)";
const Y_LABEL: &str = "end-to-end latency (ms)";

/// The data of the latency plot: (bucket start in s, latency in ms).
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyData {
    pub title: String,
    pub end_s: f64,
    pub mean: Vec<(f64, f64)>,
    pub max: Vec<(f64, f64)>,
    pub intervals: Vec<FaultInterval>,
}

/// The latency series of the buckets that committed records.
pub fn latency_data(record: &RunRecord) -> LatencyData {
    let committed = || record.buckets.iter().filter(|b| b.committed > 0);
    LatencyData {
        title: format!("End-to-end latency: {} seed {}", record.scenario, record.seed),
        end_s: record.end_ms() as f64 / 1000.0,
        mean: committed()
            .map(|b| (b.t_ms as f64 / 1000.0, b.latency_mean_ms as f64))
            .collect(),
        max: committed()
            .map(|b| (b.t_ms as f64 / 1000.0, b.latency_max_ms as f64))
            .collect(),
        intervals: run_fault_intervals(record),
    }
}

impl LatencyData {
    fn legend(&self) -> Vec<LegendEntry> {
        let mut l = vec![
            LegendEntry::new(MEAN, Swatch::Line(canvas::series_color(0))),
            LegendEntry::new(MAX, Swatch::Line(canvas::series_color(3))),
        ];
        l.extend(canvas::fault_legend(&self.intervals));
        l
    }
}

impl Figure for LatencyData {
    fn size(&self) -> (u32, u32) {
        (1100, 420)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, &self.title, &self.legend())?;
        let y_max = self.max.iter().chain(&self.mean).map(|p| p.1).fold(0.0, f64::max);
        let top = canvas::upper(y_max);
        let mut chart = canvas::xy_chart(&area, 0f64..self.end_s.max(0.1), 0f64..top, (X_LABEL, Y_LABEL))?;
        canvas::shade_faults(&mut chart, &self.intervals, top)?;
        for (points, color) in [
            (&self.mean, canvas::series_color(0)),
            (&self.max, canvas::series_color(3)),
        ] {
            chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?;
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        Ok(())
    }
}

/// Draw the end-to-end latency of `record` into `dir/stem.svg` and `.png`.
pub fn plot_latency(record: &RunRecord, dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let data = latency_data(record);
    let (svg, png) = canvas::render(&data, dir, stem)?;
    Ok(PlotDescription {
        name: stem.to_string(),
        title: data.title.clone(),
        svg,
        png,
        size: data.size(),
        x_label: X_LABEL.into(),
        y_label: Y_LABEL.into(),
        legend: data.legend().into_iter().map(|e| e.label).collect(),
        series: vec![
            Series {
                name: MEAN.into(),
                points: data.mean.clone(),
            },
            Series {
                name: MAX.into(),
                points: data.max.clone(),
            },
        ],
        intervals: data.intervals.clone(),
        markers: Vec::new(),
        bars: Vec::new(),
    })
}
