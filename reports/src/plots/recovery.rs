//! Recovery latency across seeds, per strategy (scenario) and fault kind.
//!
//! Each recovery episode of a record splits into five phases:
//! detection (fault → the JobManager saw a failure), cancellation
//! (detection → the tasks to restart were CANCELED, which a restart waits
//! for as in Flink), restart delay (→ redeploy: the rest of the restart
//! strategy's backoff, and scheduling),
//! state download (redeploy → every restoring task had its state; 0 when no
//! checkpoint was restored) and catch-up (→ the source lag back to its level
//! before the fault). The breakdown plot stacks the median of each phase
//! over the episodes that went through all five, i.e. caught up (so the
//! stack is a sum of medians, not the median of sums); the CDF plot
//! shows total recovery time (fault → first commit) per scenario, over all
//! episodes, so episodes that never recovered keep the curve below 1.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{self, BarPanel, BarSeries, DrawResult, Figure, LegendEntry, Swatch};
use super::{Bar, PlotDescription, Series};
use crate::error::ReportError;
use crate::record::RunRecord;
use crate::stats::{cdf, median};

pub const DETECTION: &str = "detection";
pub const CANCELLATION: &str = "cancellation";
pub const RESTART_DELAY: &str = "restart delay";
pub const DOWNLOAD: &str = "state download";
pub const CATCH_UP: &str = "catch-up";
const PHASES: [&str; 5] = [DETECTION, CANCELLATION, RESTART_DELAY, DOWNLOAD, CATCH_UP];

/// The recovery of one (scenario, fault kind) over all its runs.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryRow {
    pub scenario: String,
    pub kind: String,
    pub episodes: usize,
    /// Episodes that caught up after a redeploy.
    pub recovered: usize,
    /// Medians of the phases, in ms, over the episodes that caught up.
    pub detection_ms: Option<f64>,
    pub cancellation_ms: Option<f64>,
    pub restart_delay_ms: Option<f64>,
    pub download_ms: Option<f64>,
    pub catch_up_ms: Option<f64>,
}

impl RecoveryRow {
    /// The row's label on the chart.
    pub fn label(&self) -> String {
        format!(
            "{} · {} ({}/{})",
            self.scenario, self.kind, self.recovered, self.episodes
        )
    }

    fn phases(&self) -> [Option<f64>; 5] {
        [
            self.detection_ms,
            self.cancellation_ms,
            self.restart_delay_ms,
            self.download_ms,
            self.catch_up_ms,
        ]
    }
}

/// One row per (scenario, fault kind) that has recovery episodes, sorted.
pub fn recovery_rows(records: &[RunRecord]) -> Vec<RecoveryRow> {
    #[derive(Default)]
    struct Acc {
        episodes: usize,
        phases: [Vec<f64>; 5],
    }
    let mut groups: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for r in records {
        for e in &r.recovery {
            let acc = groups.entry((r.scenario.clone(), e.kind().to_string())).or_default();
            acc.episodes += 1;
            let phases = [
                e.detection_ms(),
                e.cancellation_ms(),
                e.restart_delay_ms(),
                e.download_ms(),
                e.catch_up_ms(),
            ];
            if let [Some(d), Some(x), Some(s), Some(w), Some(c)] = phases {
                for (v, x) in acc.phases.iter_mut().zip([d, x, s, w, c]) {
                    v.push(x as f64);
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|((scenario, kind), acc)| RecoveryRow {
            scenario,
            kind,
            episodes: acc.episodes,
            recovered: acc.phases[0].len(),
            detection_ms: median(&acc.phases[0]),
            cancellation_ms: median(&acc.phases[1]),
            restart_delay_ms: median(&acc.phases[2]),
            download_ms: median(&acc.phases[3]),
            catch_up_ms: median(&acc.phases[4]),
        })
        .collect()
}

struct Breakdown {
    rows: Vec<RecoveryRow>,
}

impl Breakdown {
    fn categories(&self) -> Vec<String> {
        self.rows.iter().map(RecoveryRow::label).collect()
    }

    fn legend(&self) -> Vec<LegendEntry> {
        PHASES
            .iter()
            .enumerate()
            .map(|(i, p)| LegendEntry::new(format!("{p} (median)"), Swatch::Fill(canvas::series_color(i), 1.0)))
            .collect()
    }
}

const BREAKDOWN_TITLE: &str = "Recovery latency per scenario and fault kind";
const BREAKDOWN_X: &str = "median time (s)";
const BREAKDOWN_Y: &str = "scenario · fault kind (recovered/episodes)";

impl Figure for Breakdown {
    fn size(&self) -> (u32, u32) {
        (1100, canvas::bar_figure_height(self.rows.len()))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, BREAKDOWN_TITLE, &self.legend())?;
        let categories = self.categories();
        let series = (0..PHASES.len())
            .map(|i| BarSeries {
                color: canvas::series_color(i),
                values: self.rows.iter().map(|r| r.phases()[i]).collect(),
            })
            .collect();
        BarPanel {
            categories: &categories,
            series,
            stacked: true,
            x_desc: BREAKDOWN_X,
            y_desc: BREAKDOWN_Y,
            scale: 1000.0,
            missing_text: None,
            rules: Vec::new(),
            show_categories: true,
        }
        .draw(&area)
    }
}

/// Stacked bars of the median detection, cancellation, restart delay, state
/// download and catch-up per (scenario, fault kind), over all `records`.
pub fn plot_recovery_breakdown(records: &[RunRecord], dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let fig = Breakdown {
        rows: recovery_rows(records),
    };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    let bars = fig
        .rows
        .iter()
        .flat_map(|r| {
            PHASES.iter().zip(r.phases()).map(|(p, v)| Bar {
                category: r.label(),
                series: p.to_string(),
                value: v,
            })
        })
        .collect();
    Ok(PlotDescription {
        name: stem.to_string(),
        title: BREAKDOWN_TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: BREAKDOWN_X.into(),
        y_label: BREAKDOWN_Y.into(),
        legend: fig.legend().into_iter().map(|e| e.label).collect(),
        series: Vec::new(),
        intervals: Vec::new(),
        markers: Vec::new(),
        bars,
    })
}

/// Total recovery times of one scenario: (seconds, fraction of episodes).
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryCdf {
    pub scenario: String,
    pub episodes: usize,
    pub points: Vec<(f64, f64)>,
}

/// The CDF of total recovery time per scenario (sorted by name).
pub fn recovery_cdfs(records: &[RunRecord]) -> Vec<RecoveryCdf> {
    let mut groups: BTreeMap<&str, (usize, Vec<f64>)> = BTreeMap::new();
    for r in records {
        let g = groups.entry(&r.scenario).or_default();
        g.0 += r.recovery.len();
        g.1.extend(
            r.recovery
                .iter()
                .filter_map(|e| e.recovery_ms())
                .map(|ms| ms as f64 / 1000.0),
        );
    }
    groups
        .into_iter()
        .filter(|(_, (n, _))| *n > 0)
        .map(|(s, (n, v))| RecoveryCdf {
            scenario: s.to_string(),
            episodes: n,
            points: cdf(&v, n),
        })
        .collect()
}

struct CdfFigure {
    cdfs: Vec<RecoveryCdf>,
}

const CDF_TITLE: &str = "Recovery time (fault to first commit), CDF per scenario";
const CDF_X: &str = "recovery time (s)";
const CDF_Y: &str = "fraction of fault episodes";

impl CdfFigure {
    fn legend(&self) -> Vec<LegendEntry> {
        canvas::line_legend(self.cdfs.iter().map(|c| format!("{} ({})", c.scenario, c.episodes)))
    }
}

/// Draw step CDFs (probability 0..1 against x from 0) on `area`, one colour
/// per curve in legend order.
pub(crate) fn draw_step_cdfs<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_desc: &str,
    y_desc: &str,
    curves: &[&[(f64, f64)]],
) -> DrawResult {
    let x_max = curves.iter().flat_map(|c| c.iter().map(|p| p.0)).fold(0.0, f64::max);
    let x_end = canvas::upper(x_max);
    let mut chart = canvas::xy_chart(area, 0f64..x_end, 0f64..1.05, (x_desc, y_desc))?;
    for (i, c) in curves.iter().enumerate() {
        canvas::draw_series_line(&mut chart, i, steps(c, x_end))?;
    }
    Ok(())
}

/// The vertices of a CDF drawn as a step line from (0, 0).
pub(crate) fn steps(points: &[(f64, f64)], x_end: f64) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0)];
    let mut last = 0.0;
    for (x, f) in points {
        out.push((*x, last));
        out.push((*x, *f));
        last = *f;
    }
    out.push((x_end, last));
    out
}

impl Figure for CdfFigure {
    fn size(&self) -> (u32, u32) {
        (1100, (300 + 22 * self.cdfs.len() as u32).max(480))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = canvas::frame(root, CDF_TITLE, &self.legend())?;
        let curves: Vec<&[(f64, f64)]> = self.cdfs.iter().map(|c| c.points.as_slice()).collect();
        draw_step_cdfs(&area, CDF_X, CDF_Y, &curves)
    }
}

/// The CDF of total recovery time per scenario over all `records`.
pub fn plot_recovery_cdf(records: &[RunRecord], dir: &Path, stem: &str) -> Result<PlotDescription, ReportError> {
    let fig = CdfFigure {
        cdfs: recovery_cdfs(records),
    };
    let (svg, png) = canvas::render(&fig, dir, stem)?;
    Ok(PlotDescription {
        name: stem.to_string(),
        title: CDF_TITLE.into(),
        svg,
        png,
        size: fig.size(),
        x_label: CDF_X.into(),
        y_label: CDF_Y.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecoveryEpisode;

    /// An episode with phases (detection, restart delay, restore to first
    /// commit); the download takes a third of the last, the catch-up twice
    /// that.
    fn episode(fault: &str, at: u64, phases: Option<(u64, u64, u64)>) -> RecoveryEpisode {
        let restarted = phases.map(|p| at + p.0 + p.1);
        RecoveryEpisode {
            fault: fault.into(),
            fault_ms: at,
            detected_ms: phases.map(|p| at + p.0),
            cancelled_ms: None,
            restarted_ms: restarted,
            restored_ms: restarted.zip(phases).map(|(r, p)| r + p.2 / 3),
            caught_up_ms: restarted.zip(phases).map(|(r, p)| r + p.2),
            first_commit_ms: phases.map(|p| at + p.0 + p.1 + p.2),
        }
    }

    #[test]
    fn rows_take_medians_of_recovered_episodes() {
        let mut a = RunRecord::empty("s", 1);
        a.recovery = vec![
            episode("kill tm-1", 1000, Some((100, 1000, 500))),
            episode("kill tm-2", 5000, Some((300, 1000, 700))),
            episode("pause tm-1", 7000, Some((3000, 500, 200))),
        ];
        let mut b = RunRecord::empty("s", 2);
        b.recovery = vec![
            episode("kill tm-1", 1000, Some((200, 1000, 600))),
            episode("kill tm-1", 9000, None),
        ];
        let rows = recovery_rows(&[a, b]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].kind.as_str(), rows[0].episodes, rows[0].recovered),
            ("kill", 4, 3)
        );
        assert_eq!(rows[0].detection_ms, Some(200.0));
        assert_eq!(rows[0].restart_delay_ms, Some(1000.0));
        assert_eq!(rows[0].download_ms, Some(200.0));
        assert_eq!(rows[0].catch_up_ms, Some(400.0));
        // A redeploy that never caught up is not counted as recovered.
        let mut c = RunRecord::empty("t", 1);
        c.recovery = vec![RecoveryEpisode {
            caught_up_ms: None,
            ..episode("kill tm-1", 1000, Some((100, 100, 300)))
        }];
        let stuck = recovery_rows(&[c]);
        assert_eq!(
            (stuck[0].episodes, stuck[0].recovered, stuck[0].detection_ms),
            (1, 0, None)
        );
        assert_eq!(rows[1].label(), "s · pause (1/1)");
    }

    #[test]
    fn steps_start_at_zero_and_end_at_the_axis_end() {
        assert_eq!(
            steps(&[(1.0, 0.5), (2.0, 1.0)], 3.0),
            vec![(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (2.0, 0.5), (2.0, 1.0), (3.0, 1.0)]
        );
    }
}
