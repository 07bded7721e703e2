//! Throughput over simulated time for one run, as Jepsen draws it: records
//! read and committed per second (from the record's 100 ms `buckets`), the
//! fault intervals of the plan shaded by kind, a vertical rule at every
//! scheduled restart, and a marker at every checkpoint (completed or
//! aborted) along the top.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, DrawResult, Figure, LegendEntry, Swatch};
use super::{Markers, PlotDescription, Series};
use crate::error::ReportError;
use crate::faults::{run_fault_intervals, FaultInterval};
use crate::record::RunRecord;

pub const READ: &str = "records read/s";
pub const COMMITTED: &str = "records committed/s";
pub const RESTART: &str = "restart";
pub const CHECKPOINT_COMPLETED: &str = "checkpoint completed";
pub const CHECKPOINT_ABORTED: &str = "checkpoint aborted";

const X_LABEL: &str = "simulated time (s)";
const Y_LABEL: &str = "records per second";

/// The data of the throughput plot, in seconds and records per second.
#[derive(Clone, Debug, PartialEq)]
pub struct ThroughputData {
    pub title: String,
    pub end_s: f64,
    /// (bucket start in s, records read per second).
    pub read: Vec<(f64, f64)>,
    pub committed: Vec<(f64, f64)>,
    pub intervals: Vec<FaultInterval>,
    /// Restart times (ms).
    pub restarts: Vec<u64>,
    pub checkpoints_completed: Vec<u64>,
    pub checkpoints_aborted: Vec<u64>,
}

/// Rates per second from the record's buckets, fault intervals and markers.
pub fn throughput_data(record: &RunRecord) -> ThroughputData {
    let per_s = 1000.0 / record.bucket_ms() as f64;
    let rate = |f: fn(&crate::record::Bucket) -> u64| -> Vec<(f64, f64)> {
        record
            .buckets
            .iter()
            .map(|b| (b.t_ms as f64 / 1000.0, f(b) as f64 * per_s))
            .collect()
    };
    let checkpoints = |completed: bool| -> Vec<u64> {
        record
            .checkpoints
            .iter()
            .filter(|c| c.completed() == completed)
            .map(|c| c.t_ms)
            .collect()
    };
    ThroughputData {
        title: format!("Throughput: {} seed {}", record.scenario, record.seed),
        end_s: record.end_ms() as f64 / 1000.0,
        read: rate(|b| b.read),
        committed: rate(|b| b.committed),
        intervals: run_fault_intervals(record),
        restarts: record.restart_events.iter().map(|r| r.t_ms).collect(),
        checkpoints_completed: checkpoints(true),
        checkpoints_aborted: checkpoints(false),
    }
}

impl ThroughputData {
    fn legend(&self) -> Vec<LegendEntry> {
        let mut l = vec![
            LegendEntry::new(READ, Swatch::Line(canvas::series_color(0))),
            LegendEntry::new(COMMITTED, Swatch::Line(canvas::series_color(2))),
        ];
        l.extend(canvas::fault_legend(&self.intervals));
        if !self.restarts.is_empty() {
            l.push(LegendEntry::new(RESTART, Swatch::Rule(BLACK)));
        }
        if !self.checkpoints_completed.is_empty() {
            l.push(LegendEntry::new(
                CHECKPOINT_COMPLETED,
                Swatch::Triangle(canvas::series_color(2)),
            ));
        }
        if !self.checkpoints_aborted.is_empty() {
            l.push(LegendEntry::new(
                CHECKPOINT_ABORTED,
                Swatch::Cross(canvas::series_color(3)),
            ));
        }
        l
    }
}

impl Figure for ThroughputData {
    fn size(&self) -> (u32, u32) {
        (1100, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, &self.title, &self.legend())?;
        let y_max = self.read.iter().chain(&self.committed).map(|p| p.1).fold(0.0, f64::max);
        // Headroom above the data for the checkpoint markers.
        let top = canvas::upper(y_max) * 1.08;
        let mark_y = top * 0.96;
        let x_end = self.end_s.max(0.1);
        let mut chart = canvas::xy_chart(&area, 0f64..x_end, 0f64..top, (X_LABEL, Y_LABEL))?;
        canvas::shade_faults(&mut chart, &self.intervals, top)?;
        chart.draw_series(LineSeries::new(
            self.read.iter().copied(),
            canvas::series_color(0).stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            self.committed.iter().copied(),
            canvas::series_color(2).stroke_width(2),
        ))?;
        chart.draw_series(self.restarts.iter().map(|t| {
            let x = *t as f64 / 1000.0;
            PathElement::new(vec![(x, 0.0), (x, top)], BLACK.stroke_width(2))
        }))?;
        chart.draw_series(
            self.checkpoints_completed
                .iter()
                .map(|t| TriangleMarker::new((*t as f64 / 1000.0, mark_y), 5, canvas::series_color(2).filled())),
        )?;
        chart.draw_series(
            self.checkpoints_aborted
                .iter()
                .map(|t| Cross::new((*t as f64 / 1000.0, mark_y), 5, canvas::series_color(3).stroke_width(2))),
        )?;
        Ok(())
    }
}

/// Draw the throughput of `record` into `dir/stem.svg` and `dir/stem.png`.
pub fn plot_throughput(record: &RunRecord, dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let data = throughput_data(record);
    let (svg, png) = canvas::render(&data, dir, stem)?;
    let ms = |v: &[u64]| v.iter().map(|t| *t as f64).collect::<Vec<f64>>();
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
                name: READ.into(),
                points: data.read.clone(),
            },
            Series {
                name: COMMITTED.into(),
                points: data.committed.clone(),
            },
        ],
        intervals: data.intervals.clone(),
        markers: vec![
            Markers {
                name: RESTART.into(),
                at: ms(&data.restarts),
            },
            Markers {
                name: CHECKPOINT_COMPLETED.into(),
                at: ms(&data.checkpoints_completed),
            },
            Markers {
                name: CHECKPOINT_ABORTED.into(),
                at: ms(&data.checkpoints_aborted),
            },
        ],
        bars: Vec::new(),
    })
}
