//! Checkpoint interval sweep: how the checkpoint interval trades throughput
//! against recovery time, with the Young/Daly optimum.
//!
//! The caller groups records by interval (`IntervalGroup`), since the records
//! do not carry their configuration. Per group:
//! - throughput = records committed per simulated second, counted up to the
//!   end of the last bucket that committed anything (so a run's idle tail
//!   after all input was committed does not dilute it), averaged over runs;
//! - overhead = how much lower that is than at the largest interval, in %;
//! - recovery = mean fault → first commit over all recovered episodes.
//!
//! The Young/Daly optimum interval is √(2·C·MTBF), with C the mean duration
//! of a completed checkpoint over all groups (unless the caller gives C) and
//! MTBF given by the caller.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, DrawResult, Figure, LegendEntry, Swatch};
use super::{Markers, PlotDescription, Series};
use crate::error::ReportError;
use crate::record::RunRecord;
use crate::stats::mean;

pub const OVERHEAD: &str = "throughput overhead";
pub const RECOVERY: &str = "mean recovery time";
pub const OPTIMUM: &str = "Young/Daly optimum";

/// The runs made with one checkpoint interval.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalGroup {
    pub interval_ms: u64,
    pub records: Vec<RunRecord>,
}

/// A checkpoint interval sweep to plot.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalSweep {
    pub groups: Vec<IntervalGroup>,
    /// Mean time between failures of the storm the runs went through (ms).
    pub mtbf_ms: f64,
    /// Checkpoint cost C (ms); `None`: the mean duration of the completed
    /// checkpoints of all groups.
    pub checkpoint_cost_ms: Option<f64>,
}

/// One interval's measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalPoint {
    pub interval_ms: u64,
    pub runs: usize,
    /// Mean records committed per simulated second.
    pub throughput_per_s: Option<f64>,
    /// `(1 − throughput / throughput at the largest interval) · 100`.
    pub overhead_pct: Option<f64>,
    pub mean_recovery_ms: Option<f64>,
}

/// Records committed per simulated second of one run.
pub fn committed_per_s(r: &RunRecord) -> Option<f64> {
    let w = r.bucket_ms();
    let span_ms = r
        .buckets
        .iter()
        .rev()
        .find(|b| b.committed > 0)
        .map(|b| b.t_ms + w)
        .unwrap_or(r.simulated_ms);
    (span_ms > 0).then(|| r.records_committed as f64 * 1000.0 / span_ms as f64)
}

impl IntervalSweep {
    /// One point per group, sorted by interval.
    pub fn points(&self) -> Vec<IntervalPoint> {
        let mut groups: Vec<&IntervalGroup> = self.groups.iter().collect();
        groups.sort_by_key(|g| g.interval_ms);
        let throughput = |g: &IntervalGroup| {
            let v: Vec<f64> = g.records.iter().filter_map(committed_per_s).collect();
            mean(&v)
        };
        let reference = groups.last().and_then(|g| throughput(g)).filter(|t| *t > 0.0);
        groups
            .iter()
            .map(|g| {
                let tp = throughput(g);
                let rec: Vec<f64> = g
                    .records
                    .iter()
                    .flat_map(|r| r.recovery.iter().filter_map(|e| e.recovery_ms()))
                    .map(|v| v as f64)
                    .collect();
                IntervalPoint {
                    interval_ms: g.interval_ms,
                    runs: g.records.len(),
                    throughput_per_s: tp,
                    overhead_pct: tp.zip(reference).map(|(t, r)| (1.0 - t / r) * 100.0),
                    mean_recovery_ms: mean(&rec),
                }
            })
            .collect()
    }

    /// The checkpoint cost C in ms (given, or measured).
    pub fn checkpoint_cost_ms(&self) -> Option<f64> {
        self.checkpoint_cost_ms.or_else(|| {
            let d: Vec<f64> = self
                .groups
                .iter()
                .flat_map(|g| &g.records)
                .flat_map(|r| &r.checkpoints)
                .filter(|c| c.completed())
                .filter_map(|c| c.duration_ms)
                .map(|d| d as f64)
                .collect();
            mean(&d)
        })
    }

    /// √(2·C·MTBF) in ms.
    pub fn young_daly_ms(&self) -> Option<f64> {
        let c = self.checkpoint_cost_ms()?;
        (c >= 0.0 && self.mtbf_ms > 0.0).then(|| (2.0 * c * self.mtbf_ms).sqrt())
    }
}

struct SweepFigure {
    points: Vec<IntervalPoint>,
    cost_ms: Option<f64>,
    mtbf_ms: f64,
    optimum_ms: Option<f64>,
}

const TITLE: &str = "Checkpoint interval sweep";
const X_LABEL: &str = "checkpoint interval (s)";
const Y_LABEL: &str = "throughput overhead vs largest interval (%)";
const Y2_LABEL: &str = "mean recovery time (s)";

impl SweepFigure {
    fn overhead(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| p.overhead_pct.map(|o| (p.interval_ms as f64 / 1000.0, o)))
            .collect()
    }

    fn recovery(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| p.mean_recovery_ms.map(|r| (p.interval_ms as f64 / 1000.0, r / 1000.0)))
            .collect()
    }

    fn legend(&self) -> Vec<LegendEntry> {
        let mut l = vec![
            LegendEntry::new(format!("{OVERHEAD} (%, left)"), Swatch::Line(canvas::series_color(0))),
            LegendEntry::new(format!("{RECOVERY} (s, right)"), Swatch::Line(canvas::series_color(3))),
        ];
        if let Some(o) = self.optimum_ms {
            l.push(LegendEntry::new(
                format!(
                    "{OPTIMUM} √(2·C·MTBF) = {:.2} s (C = {:.0} ms, MTBF = {:.1} s)",
                    o / 1000.0,
                    self.cost_ms.unwrap_or(0.0),
                    self.mtbf_ms / 1000.0
                ),
                Swatch::Rule(canvas::series_color(2)),
            ));
        }
        l
    }
}

impl Figure for SweepFigure {
    fn size(&self) -> (u32, u32) {
        (1150, 500)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, TITLE, &self.legend())?;
        let overhead = self.overhead();
        let recovery = self.recovery();
        let x_max = self
            .points
            .iter()
            .map(|p| p.interval_ms as f64 / 1000.0)
            .chain(self.optimum_ms.map(|o| o / 1000.0))
            .fold(0.0, f64::max);
        let x_end = canvas::upper(x_max);
        let y_min = overhead.iter().map(|p| p.1).fold(0.0, f64::min);
        let y_max = overhead.iter().map(|p| p.1).fold(0.0, f64::max);
        let pad = ((y_max - y_min) * 0.1).max(1.0);
        let y2_end = canvas::upper(recovery.iter().map(|p| p.1).fold(0.0, f64::max));
        let mut chart = canvas::dual_axis_chart(
            &area,
            0f64..x_end,
            (y_min - pad)..(y_max + pad),
            0f64..y2_end,
            (X_LABEL, Y_LABEL, Y2_LABEL),
        )?;
        let blue = canvas::series_color(0);
        let red = canvas::series_color(3);
        chart.draw_series(LineSeries::new(overhead.iter().copied(), blue.stroke_width(2)))?;
        chart.draw_series(overhead.iter().map(|p| Circle::new(*p, 4, blue.filled())))?;
        chart.draw_secondary_series(LineSeries::new(recovery.iter().copied(), red.stroke_width(2)))?;
        chart.draw_secondary_series(recovery.iter().map(|p| TriangleMarker::new(*p, 5, red.filled())))?;
        if let Some(o) = self.optimum_ms {
            let x = o / 1000.0;
            chart.draw_secondary_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, y2_end)],
                canvas::series_color(2).stroke_width(2),
            )))?;
        }
        Ok(())
    }
}

/// Draw the sweep: overhead (left axis) and mean recovery time (right axis)
/// against the interval, and the Young/Daly optimum as a vertical line.
pub fn plot_interval_sweep(sweep: &IntervalSweep, dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    if sweep.groups.is_empty() {
        return Err(ReportError::Input(
            "a checkpoint interval sweep needs at least one group".into(),
        ));
    }
    let fig = SweepFigure {
        points: sweep.points(),
        cost_ms: sweep.checkpoint_cost_ms(),
        mtbf_ms: sweep.mtbf_ms,
        optimum_ms: sweep.young_daly_ms(),
    };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    let legend: Vec<String> = fig.legend().into_iter().map(|e| e.label).collect();
    Ok(PlotDescription {
        name: stem.to_string(),
        title: TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: X_LABEL.into(),
        y_label: format!("{Y_LABEL}; {Y2_LABEL}"),
        legend,
        series: vec![
            Series {
                name: OVERHEAD.into(),
                points: fig.overhead(),
            },
            Series {
                name: RECOVERY.into(),
                points: fig.recovery(),
            },
        ],
        intervals: Vec::new(),
        markers: vec![Markers {
            name: OPTIMUM.into(),
            at: fig.optimum_ms.into_iter().collect(),
        }],
        bars: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Bucket, CheckpointEvent};

    fn run(committed: u64, end_bucket_ms: u64, cp_ms: i64) -> RunRecord {
        let mut r = RunRecord::empty("sweep", 1);
        r.records_committed = committed;
        r.simulated_ms = end_bucket_ms + 5000;
        r.buckets = (0..=end_bucket_ms / 100)
            .map(|i| Bucket {
                t_ms: i * 100,
                read: 1,
                committed: 1,
                lag: 0,
                latency_mean_ms: 0,
                latency_max_ms: 0,
            })
            .collect();
        r.checkpoints = vec![CheckpointEvent {
            outcome: "completed".into(),
            duration_ms: Some(cp_ms),
            ..Default::default()
        }];
        r
    }

    #[test]
    fn overhead_is_relative_to_the_largest_interval() {
        let sweep = IntervalSweep {
            groups: vec![
                IntervalGroup {
                    interval_ms: 4000,
                    records: vec![run(10_000, 9900, 100)],
                },
                IntervalGroup {
                    interval_ms: 1000,
                    records: vec![run(8000, 9900, 300)],
                },
            ],
            mtbf_ms: 50_000.0,
            checkpoint_cost_ms: None,
        };
        let p = sweep.points();
        assert_eq!(p[0].interval_ms, 1000);
        // 10 s of committing buckets: 800/s against 1000/s.
        assert_eq!(p[0].throughput_per_s, Some(800.0));
        assert!((p[0].overhead_pct.expect("overhead") - 20.0).abs() < 1e-9);
        assert_eq!(p[1].overhead_pct, Some(0.0));
        assert_eq!(sweep.checkpoint_cost_ms(), Some(200.0));
        assert_eq!(sweep.young_daly_ms(), Some((2.0f64 * 200.0 * 50_000.0).sqrt()));
    }
}
