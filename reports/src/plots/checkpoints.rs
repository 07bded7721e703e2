//! Checkpoints: duration and size over one run (from `checkpoints`), and the
//! distribution of alignment time per scenario, to compare aligned with
//! unaligned checkpoints (an unaligned barrier overtakes buffered data, so
//! its alignment time stays near 0 while it persists in-flight data).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, DrawResult, Figure, LegendEntry, Swatch};
use super::recovery::draw_step_cdfs;
use super::{Markers, PlotDescription, Series};
use crate::error::ReportError;
use crate::record::RunRecord;
use crate::stats::cdf;

pub const DURATION: &str = "duration";
pub const SIZE: &str = "size";
pub const ABORTED: &str = "aborted";

/// One run's checkpoints over time.
struct OverTime {
    title: String,
    end_s: f64,
    /// (t in s, duration in ms) of completed checkpoints.
    duration: Vec<(f64, f64)>,
    /// (t in s, size in KiB) of completed checkpoints.
    size_kib: Vec<(f64, f64)>,
    /// Times (ms) of aborted checkpoints.
    aborted: Vec<u64>,
}

const OT_X: &str = "simulated time (s)";
const OT_Y: &str = "checkpoint duration (ms)";
const OT_Y2: &str = "checkpoint size (KiB)";

impl OverTime {
    fn new(r: &RunRecord) -> Self {
        let completed = || r.checkpoints.iter().filter(|c| c.completed());
        OverTime {
            title: format!("Checkpoints: {} seed {}", r.scenario, r.seed),
            end_s: r.end_ms() as f64 / 1000.0,
            duration: completed()
                .filter_map(|c| c.duration_ms.map(|d| (c.t_ms as f64 / 1000.0, d as f64)))
                .collect(),
            size_kib: completed()
                .filter_map(|c| c.size_bytes.map(|s| (c.t_ms as f64 / 1000.0, s as f64 / 1024.0)))
                .collect(),
            aborted: r
                .checkpoints
                .iter()
                .filter(|c| !c.completed())
                .map(|c| c.t_ms)
                .collect(),
        }
    }

    fn legend(&self) -> Vec<LegendEntry> {
        let mut l = vec![
            LegendEntry::new(format!("{DURATION} (ms, left)"), Swatch::Line(canvas::series_color(0))),
            LegendEntry::new(format!("{SIZE} (KiB, right)"), Swatch::Line(canvas::series_color(1))),
        ];
        if !self.aborted.is_empty() {
            l.push(LegendEntry::new(
                format!("{ABORTED} ({})", self.aborted.len()),
                Swatch::Cross(canvas::series_color(3)),
            ));
        }
        l
    }
}

impl Figure for OverTime {
    fn size(&self) -> (u32, u32) {
        (1100, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, &self.title, &self.legend())?;
        let x_end = self.end_s.max(0.1);
        let y_end = canvas::upper(self.duration.iter().map(|p| p.1).fold(0.0, f64::max));
        let y2_end = canvas::upper(self.size_kib.iter().map(|p| p.1).fold(0.0, f64::max));
        let mut chart = canvas::dual_axis_chart(&area, 0f64..x_end, 0f64..y_end, 0f64..y2_end, (OT_X, OT_Y, OT_Y2))?;
        let (blue, orange, red) = (
            canvas::series_color(0),
            canvas::series_color(1),
            canvas::series_color(3),
        );
        chart.draw_series(LineSeries::new(self.duration.iter().copied(), blue.stroke_width(2)))?;
        chart.draw_series(self.duration.iter().map(|p| Circle::new(*p, 3, blue.filled())))?;
        chart.draw_secondary_series(LineSeries::new(self.size_kib.iter().copied(), orange.stroke_width(2)))?;
        chart.draw_secondary_series(self.size_kib.iter().map(|p| Circle::new(*p, 3, orange.filled())))?;
        chart.draw_series(
            self.aborted
                .iter()
                .map(|t| Cross::new((*t as f64 / 1000.0, y_end * 0.03), 5, red.stroke_width(2))),
        )?;
        Ok(())
    }
}

/// Duration (left axis) and size (right axis) of every completed checkpoint
/// of `record` over time, aborted checkpoints as crosses along the bottom.
pub fn plot_checkpoints_over_time(record: &RunRecord, dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let fig = OverTime::new(record);
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    Ok(PlotDescription {
        name: stem.to_string(),
        title: fig.title.clone(),
        svg,
        png,
        size: fig.size(),
        x_label: OT_X.into(),
        y_label: format!("{OT_Y}; {OT_Y2}"),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: vec![
            Series {
                name: DURATION.into(),
                points: fig.duration.clone(),
            },
            Series {
                name: SIZE.into(),
                points: fig.size_kib.clone(),
            },
        ],
        intervals: Vec::new(),
        markers: vec![Markers {
            name: ABORTED.into(),
            at: fig.aborted.iter().map(|t| *t as f64).collect(),
        }],
        bars: Vec::new(),
    })
}

/// The alignment times of one scenario's completed checkpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentCdf {
    pub scenario: String,
    /// Checkpoints with an alignment time.
    pub checkpoints: usize,
    /// Checkpoints that persisted in-flight data (unaligned).
    pub unaligned: usize,
    /// (alignment ms, fraction of checkpoints).
    pub points: Vec<(f64, f64)>,
}

/// One CDF per scenario of `scenarios` (in that order) with checkpoints.
pub fn alignment_cdfs(records: &[RunRecord], scenarios: &[String]) -> Vec<AlignmentCdf> {
    scenarios
        .iter()
        .filter_map(|s| {
            let cps: Vec<_> = records
                .iter()
                .filter(|r| &r.scenario == s)
                .flat_map(|r| &r.checkpoints)
                .filter(|c| c.completed())
                .collect();
            let values: Vec<f64> = cps.iter().filter_map(|c| c.alignment_ms).map(|a| a as f64).collect();
            (!values.is_empty()).then(|| AlignmentCdf {
                scenario: s.clone(),
                checkpoints: values.len(),
                unaligned: cps.iter().filter(|c| c.persisted_bytes.unwrap_or(0) > 0).count(),
                points: cdf(&values, values.len()),
            })
        })
        .collect()
}

struct Alignment {
    cdfs: Vec<AlignmentCdf>,
}

const AL_TITLE: &str = "Checkpoint alignment time per scenario (CDF)";
const AL_X: &str = "alignment time (ms)";
const AL_Y: &str = "fraction of completed checkpoints";

impl Alignment {
    fn legend(&self) -> Vec<LegendEntry> {
        canvas::line_legend(
            self.cdfs
                .iter()
                .map(|c| format!("{} ({}, {} unaligned)", c.scenario, c.checkpoints, c.unaligned)),
        )
    }
}

impl Figure for Alignment {
    fn size(&self) -> (u32, u32) {
        (1100, (300 + 22 * self.cdfs.len() as u32).max(460))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, AL_TITLE, &self.legend())?;
        let curves: Vec<&[(f64, f64)]> = self.cdfs.iter().map(|c| c.points.as_slice()).collect();
        draw_step_cdfs(&area, AL_X, AL_Y, &curves)
    }
}

/// CDFs of the alignment time of completed checkpoints, one per scenario.
pub fn plot_alignment(
    records: &[RunRecord],
    scenarios: &[String],
    dir: &Path,
    stem: &str,
) -> Result<PlotDescription, ReportError> {
    let fig = Alignment {
        cdfs: alignment_cdfs(records, scenarios),
    };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    Ok(PlotDescription {
        name: stem.to_string(),
        title: AL_TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: AL_X.into(),
        y_label: AL_Y.into(),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: fig
            .cdfs
            .iter()
            .map(|c| Series {
                name: c.scenario.clone(),
                points: c.points.clone(),
            })
            .collect(),
        intervals: Vec::new(),
        markers: Vec::new(),
        bars: Vec::new(),
    })
}
