//! Recovery time against state size, one colour per recovery strategy (a
//! scenario run at several state sizes).
//!
//! Per strategy and state size, over the recovery episodes that caught up:
//! - state: the median over runs of the largest completed checkpoint's full
//!   size (x, log scale);
//! - recovery: the median time from the fault to caught up (solid);
//! - state download: the median redeploy → state restored phase (dashed).
//!
//! Remote recovery's download grows as state / bandwidth; task-local
//! recovery reads at local-disk bandwidth instead; incremental checkpoints
//! upload less but download the same.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, DrawResult, Figure, LegendEntry, Swatch};
use super::{PlotDescription, Series};
use crate::error::ReportError;
use crate::record::RunRecord;
use crate::stats::median;

pub const RECOVERY: &str = "recovery";
pub const DOWNLOAD: &str = "state download";

/// One strategy's runs, one group per state size.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSizeLine {
    pub strategy: String,
    pub groups: Vec<Vec<RunRecord>>,
}

/// One strategy at one state size.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSizePoint {
    pub state_bytes: f64,
    /// Median fault → caught up (ms).
    pub recovery_ms: f64,
    /// Median redeploy → state restored (ms).
    pub download_ms: f64,
}

/// The points of one line, by state size; groups without a completed
/// checkpoint or a caught-up episode give none.
pub fn points(line: &StateSizeLine) -> Vec<StateSizePoint> {
    let mut out: Vec<StateSizePoint> = line.groups.iter().filter_map(|g| point(g)).collect();
    out.sort_by(|a, b| a.state_bytes.total_cmp(&b.state_bytes));
    out
}

fn point(runs: &[RunRecord]) -> Option<StateSizePoint> {
    let sizes: Vec<f64> = runs
        .iter()
        .filter_map(|r| {
            r.checkpoints
                .iter()
                .filter(|c| c.completed())
                .filter_map(|c| c.size_bytes)
                .max()
        })
        .map(|b| b as f64)
        .collect();
    let episodes = || {
        runs.iter()
            .flat_map(|r| &r.recovery)
            .filter(|e| e.catch_up_ms().is_some())
    };
    let recovery: Vec<f64> = episodes()
        .filter_map(|e| e.caught_up_ms.map(|c| c.saturating_sub(e.fault_ms) as f64))
        .collect();
    let download: Vec<f64> = episodes().filter_map(|e| e.download_ms()).map(|d| d as f64).collect();
    Some(StateSizePoint {
        state_bytes: median(&sizes).filter(|b| *b > 0.0)?,
        recovery_ms: median(&recovery)?,
        download_ms: median(&download)?,
    })
}

struct StateSizeFigure {
    lines: Vec<(String, Vec<StateSizePoint>)>,
}

/// How a series is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Stroke {
    Solid,
    Dashed,
}

/// One drawn series: its name, points in (MB, s), colour index and stroke.
struct Drawn {
    name: String,
    points: Vec<(f64, f64)>,
    color: usize,
    stroke: Stroke,
}

const TITLE: &str = "Recovery time against state size";
const X_LABEL: &str = "state size (MB, log scale)";
const Y_LABEL: &str = "median time (s)";

impl StateSizeFigure {
    /// Every drawn series: per strategy, recovery (solid) and download
    /// (dashed) in its colour.
    fn series(&self) -> Vec<Drawn> {
        let mut out = Vec::new();
        for (color, (strategy, points)) in self.lines.iter().enumerate() {
            let at = |f: fn(&StateSizePoint) -> f64| -> Vec<(f64, f64)> {
                points.iter().map(|p| (p.state_bytes / 1e6, f(p) / 1000.0)).collect()
            };
            out.push(Drawn {
                name: format!("{strategy} · {RECOVERY}"),
                points: at(|p| p.recovery_ms),
                color,
                stroke: Stroke::Solid,
            });
            out.push(Drawn {
                name: format!("{strategy} · {DOWNLOAD}"),
                points: at(|p| p.download_ms),
                color,
                stroke: Stroke::Dashed,
            });
        }
        out
    }

    fn legend(&self) -> Vec<LegendEntry> {
        self.series()
            .into_iter()
            .map(|d| {
                let swatch = match d.stroke {
                    Stroke::Dashed => Swatch::Series(d.color + canvas::SERIES_COLORS.len()),
                    Stroke::Solid => Swatch::Series(d.color),
                };
                LegendEntry::new(d.name, swatch)
            })
            .collect()
    }
}

impl Figure for StateSizeFigure {
    fn size(&self) -> (u32, u32) {
        (1100, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, TITLE, &self.legend())?;
        let series = self.series();
        let all = || series.iter().flat_map(|s| s.points.iter());
        let x_min = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let x_max = all().map(|p| p.0).fold(0.0, f64::max);
        let (x_min, x_max) = if x_min.is_finite() && x_max > 0.0 {
            (x_min / 2.0, x_max * 2.0)
        } else {
            (0.1, 10.0)
        };
        let y_end = canvas::upper(all().map(|p| p.1).fold(0.0, f64::max));
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((x_min..x_max).log_scale(), 0f64..y_end)?;
        chart
            .configure_mesh()
            .x_desc(X_LABEL)
            .y_desc(Y_LABEL)
            .axis_desc_style(canvas::axis_style())
            .label_style(canvas::label_style())
            .x_label_formatter(&canvas::axis_number)
            .y_label_formatter(&canvas::axis_number)
            .light_line_style(BLACK.mix(0.05))
            .draw()?;
        for d in &series {
            let color = canvas::series_color(d.color);
            let points = d.points.iter().copied();
            match d.stroke {
                Stroke::Dashed => {
                    chart.draw_series(DashedLineSeries::new(points, 9, 5, color.stroke_width(2)))?;
                }
                Stroke::Solid => {
                    chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
                    chart.draw_series(d.points.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
                }
            }
        }
        Ok(())
    }
}

/// Draw recovery and download time against state size, one colour per
/// strategy.
pub fn plot_state_size(lines: &[StateSizeLine], dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let fig = StateSizeFigure {
        lines: lines.iter().map(|l| (l.strategy.clone(), points(l))).collect(),
    };
    if fig.lines.iter().all(|(_, p)| p.is_empty()) {
        return Err(ReportError::Input(
            "a state-size sweep needs a state size with a completed checkpoint and a recovery".into(),
        ));
    }
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    Ok(PlotDescription {
        name: stem.to_string(),
        title: TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: X_LABEL.into(),
        y_label: Y_LABEL.into(),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: fig
            .series()
            .into_iter()
            .map(|d| Series {
                name: d.name,
                points: d.points,
            })
            .collect(),
        intervals: Vec::new(),
        markers: Vec::new(),
        bars: Vec::new(),
    })
}
