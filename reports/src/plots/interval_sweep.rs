//! Checkpoint interval sweep: how the checkpoint interval trades the cost of
//! checkpoints against the work lost to failures, against Young's and
//! Daly's optimum (see [`crate::optimum`]).
//!
//! The caller groups records by interval (`IntervalGroup`), since the records
//! do not carry their configuration. Per group:
//! - throughput = records committed per simulated second, counted up to the
//!   end of the last bucket that committed anything (for a bounded job: its
//!   records over its makespan), averaged over runs;
//! - recovery = mean fault → first commit over all recovered episodes.
//!
//! The measured optimum is the maximum of the first-order model fitted to
//! the throughput points. Young's optimum is √(2·C·M), Daly's its
//! higher-order form, with C the mean synchronous phase of the completed
//! checkpoints (the time a checkpoint holds a task from processing; unless
//! the caller gives C) and M the mean time between failures the caller gives.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, DrawResult, Figure, LegendEntry, Swatch};
use super::{Markers, PlotDescription, Series};
use crate::error::ReportError;
use crate::optimum::{self, ThroughputFit};
use crate::record::RunRecord;
use crate::stats::mean;

pub const THROUGHPUT: &str = "committed throughput";
pub const FITTED: &str = "first-order fit";
pub const RECOVERY: &str = "mean recovery time";
pub const MEASURED: &str = "measured optimum";
pub const YOUNG: &str = "Young's optimum";
pub const DALY: &str = "Daly's optimum";

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
    /// Checkpoint cost C (ms); `None`: the mean synchronous phase of the
    /// completed checkpoints of all groups.
    pub checkpoint_cost_ms: Option<f64>,
}

/// One interval's measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalPoint {
    pub interval_ms: u64,
    pub runs: usize,
    /// Mean records committed per simulated second.
    pub throughput_per_s: Option<f64>,
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
        groups
            .iter()
            .map(|g| {
                let tp: Vec<f64> = g.records.iter().filter_map(committed_per_s).collect();
                let rec: Vec<f64> = g
                    .records
                    .iter()
                    .flat_map(|r| r.recovery.iter().filter_map(|e| e.recovery_ms()))
                    .map(|v| v as f64)
                    .collect();
                IntervalPoint {
                    interval_ms: g.interval_ms,
                    runs: g.records.len(),
                    throughput_per_s: mean(&tp),
                    mean_recovery_ms: mean(&rec),
                }
            })
            .collect()
    }

    /// The checkpoint cost C in ms: given, or the mean synchronous phase of
    /// the completed checkpoints (`None` when no checkpoint held a task).
    pub fn checkpoint_cost_ms(&self) -> Option<f64> {
        self.checkpoint_cost_ms.or_else(|| {
            let d: Vec<f64> = self
                .groups
                .iter()
                .flat_map(|g| &g.records)
                .flat_map(|r| &r.checkpoints)
                .filter(|c| c.completed())
                .filter_map(|c| c.sync_ms)
                .map(|d| d as f64)
                .collect();
            mean(&d).filter(|c| *c > 0.0)
        })
    }

    /// Young's √(2·C·M) in ms.
    pub fn young_ms(&self) -> Option<f64> {
        let c = self.checkpoint_cost_ms()?;
        (c >= 0.0 && self.mtbf_ms > 0.0).then(|| optimum::young(c, self.mtbf_ms))
    }

    /// Daly's higher-order optimum in ms.
    pub fn daly_ms(&self) -> Option<f64> {
        let c = self.checkpoint_cost_ms()?;
        (c >= 0.0 && self.mtbf_ms > 0.0).then(|| optimum::daly(c, self.mtbf_ms))
    }

    /// The first-order model fitted to the throughput points (interval in ms,
    /// records per second).
    pub fn fit(&self) -> Option<ThroughputFit> {
        let points: Vec<(f64, f64)> = self
            .points()
            .iter()
            .filter_map(|p| p.throughput_per_s.map(|t| (p.interval_ms as f64, t)))
            .collect();
        optimum::fit(&points)
    }

    /// The interval of the fitted maximum throughput, in ms.
    pub fn measured_optimum_ms(&self) -> Option<f64> {
        self.fit()?.optimum()
    }
}

struct SweepFigure {
    points: Vec<IntervalPoint>,
    fit: Option<ThroughputFit>,
    cost_ms: Option<f64>,
    mtbf_ms: f64,
    measured_ms: Option<f64>,
    young_ms: Option<f64>,
    daly_ms: Option<f64>,
}

const TITLE: &str = "Checkpoint interval sweep";
const X_LABEL: &str = "checkpoint interval (s)";
const Y_LABEL: &str = "committed records per second";
const Y2_LABEL: &str = "mean recovery time (s)";
/// Points of the drawn fit curve.
const FIT_STEPS: usize = 60;

impl SweepFigure {
    fn throughput(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| p.throughput_per_s.map(|t| (p.interval_ms as f64 / 1000.0, t)))
            .collect()
    }

    /// The fitted curve over the measured intervals.
    fn fitted(&self) -> Vec<(f64, f64)> {
        let (Some(f), Some(lo), Some(hi)) = (self.fit, self.points.first(), self.points.last()) else {
            return Vec::new();
        };
        let (lo, hi) = (lo.interval_ms as f64, hi.interval_ms as f64);
        (0..=FIT_STEPS)
            .map(|i| lo * (hi / lo).powf(i as f64 / FIT_STEPS as f64))
            .map(|t| (t / 1000.0, f.at(t)))
            .collect()
    }

    fn recovery(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| p.mean_recovery_ms.map(|r| (p.interval_ms as f64 / 1000.0, r / 1000.0)))
            .collect()
    }

    /// The vertical rules: (name, interval ms, colour index).
    fn rules(&self) -> Vec<(&'static str, f64, usize)> {
        [
            (MEASURED, self.measured_ms, 0),
            (YOUNG, self.young_ms, 2),
            (DALY, self.daly_ms, 4),
        ]
        .into_iter()
        .filter_map(|(n, v, c)| v.map(|v| (n, v, c)))
        .collect()
    }

    fn legend(&self) -> Vec<LegendEntry> {
        let mut l = vec![
            LegendEntry::new(
                format!("{THROUGHPUT} (records/s, left)"),
                Swatch::Line(canvas::series_color(0)),
            ),
            LegendEntry::new(
                format!("{FITTED} a + b/T + c·T"),
                Swatch::Series(canvas::SERIES_COLORS.len() + 1),
            ),
            LegendEntry::new(format!("{RECOVERY} (s, right)"), Swatch::Line(canvas::series_color(3))),
        ];
        for (name, at, color) in self.rules() {
            let how = match name {
                MEASURED => "maximum of the fit".to_string(),
                YOUNG => format!(
                    "√(2·C·M), C = {:.0} ms, M = {:.1} s",
                    self.cost_ms.unwrap_or(0.0),
                    self.mtbf_ms / 1000.0
                ),
                _ => "higher order".to_string(),
            };
            l.push(LegendEntry::new(
                format!("{name} {:.2} s ({how})", at / 1000.0),
                Swatch::Rule(canvas::series_color(color)),
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
        let throughput = self.throughput();
        let fitted = self.fitted();
        let recovery = self.recovery();
        let rules = self.rules();
        let x_max = self
            .points
            .iter()
            .map(|p| p.interval_ms as f64)
            .chain(rules.iter().map(|r| r.1))
            .fold(0.0, f64::max)
            / 1000.0;
        let x_end = canvas::upper(x_max);
        let ys = || throughput.iter().chain(&fitted).map(|p| p.1);
        let y_min = ys().fold(f64::INFINITY, f64::min);
        let y_max = ys().fold(0.0, f64::max);
        let y_min = if y_min.is_finite() { y_min } else { 0.0 };
        let pad = ((y_max - y_min) * 0.1).max(1.0);
        let y2_end = canvas::upper(recovery.iter().map(|p| p.1).fold(0.0, f64::max));
        let mut chart = canvas::dual_axis_chart(
            &area,
            0f64..x_end,
            (y_min - pad).max(0.0)..(y_max + pad),
            0f64..y2_end,
            (X_LABEL, Y_LABEL, Y2_LABEL),
        )?;
        let blue = canvas::series_color(0);
        let red = canvas::series_color(3);
        chart.draw_series(LineSeries::new(throughput.iter().copied(), blue.stroke_width(2)))?;
        chart.draw_series(throughput.iter().map(|p| Circle::new(*p, 4, blue.filled())))?;
        chart.draw_series(DashedLineSeries::new(
            fitted.iter().copied(),
            9,
            5,
            canvas::series_color(1).stroke_width(2),
        ))?;
        chart.draw_secondary_series(LineSeries::new(recovery.iter().copied(), red.stroke_width(2)))?;
        chart.draw_secondary_series(recovery.iter().map(|p| TriangleMarker::new(*p, 5, red.filled())))?;
        for (_, at, color) in rules {
            let x = at / 1000.0;
            chart.draw_secondary_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, y2_end)],
                canvas::series_color(color).stroke_width(2),
            )))?;
        }
        Ok(())
    }
}

/// Draw the sweep: committed throughput and its fit (left axis) and mean
/// recovery time (right axis) against the interval, with the measured,
/// Young's and Daly's optima as vertical lines.
pub fn plot_interval_sweep(sweep: &IntervalSweep, dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    if sweep.groups.is_empty() {
        return Err(ReportError::Input(
            "a checkpoint interval sweep needs at least one group".into(),
        ));
    }
    let fig = SweepFigure {
        points: sweep.points(),
        fit: sweep.fit(),
        cost_ms: sweep.checkpoint_cost_ms(),
        mtbf_ms: sweep.mtbf_ms,
        measured_ms: sweep.measured_optimum_ms(),
        young_ms: sweep.young_ms(),
        daly_ms: sweep.daly_ms(),
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
                name: THROUGHPUT.into(),
                points: fig.throughput(),
            },
            Series {
                name: FITTED.into(),
                points: fig.fitted(),
            },
            Series {
                name: RECOVERY.into(),
                points: fig.recovery(),
            },
        ],
        intervals: Vec::new(),
        markers: fig
            .rules()
            .into_iter()
            .map(|(name, at, _)| Markers {
                name: name.into(),
                at: vec![at],
            })
            .collect(),
        bars: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Bucket, CheckpointEvent};

    fn run(committed: u64, end_bucket_ms: u64, sync_ms: i64) -> RunRecord {
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
        r.checkpoints = vec![
            CheckpointEvent {
                outcome: "completed".into(),
                duration_ms: Some(5 * sync_ms),
                sync_ms: Some(sync_ms),
                ..Default::default()
            },
            CheckpointEvent {
                outcome: "aborted".into(),
                sync_ms: Some(10 * sync_ms),
                ..Default::default()
            },
        ];
        r
    }

    #[test]
    fn points_and_the_cost_come_from_the_records() {
        let sweep = IntervalSweep {
            groups: vec![
                IntervalGroup {
                    interval_ms: 4000,
                    records: vec![run(10_000, 9900, 100)],
                },
                IntervalGroup {
                    interval_ms: 1000,
                    records: vec![run(8000, 9900, 300), run(6000, 9900, 300)],
                },
            ],
            mtbf_ms: 50_000.0,
            checkpoint_cost_ms: None,
        };
        let p = sweep.points();
        assert_eq!((p[0].interval_ms, p[0].runs), (1000, 2));
        // 10 s of committing buckets: 800/s and 600/s.
        assert_eq!(p[0].throughput_per_s, Some(700.0));
        assert_eq!(p[1].throughput_per_s, Some(1000.0));
        // C: the completed checkpoints' synchronous phases (100, 300, 300).
        assert_eq!(sweep.checkpoint_cost_ms(), Some(700.0 / 3.0));
        let c = 700.0 / 3.0;
        assert_eq!(sweep.young_ms(), Some((2.0f64 * c * 50_000.0).sqrt()));
        assert_eq!(sweep.daly_ms(), Some(optimum::daly(c, 50_000.0)));
        assert_eq!(sweep.fit(), None, "two intervals fit nothing");
        let given = IntervalSweep {
            checkpoint_cost_ms: Some(200.0),
            ..sweep.clone()
        };
        assert_eq!(given.young_ms(), Some(optimum::young(200.0, 50_000.0)));
        let no_failures = IntervalSweep { mtbf_ms: 0.0, ..sweep };
        assert_eq!((no_failures.young_ms(), no_failures.daly_ms()), (None, None));
    }

    #[test]
    fn no_synchronous_phase_means_no_cost() {
        let sweep = IntervalSweep {
            groups: vec![IntervalGroup {
                interval_ms: 1000,
                records: vec![run(8000, 9900, 0)],
            }],
            mtbf_ms: 50_000.0,
            checkpoint_cost_ms: None,
        };
        assert_eq!(sweep.checkpoint_cost_ms(), None);
        assert_eq!(sweep.young_ms(), None);
    }
}
