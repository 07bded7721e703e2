//! What every plot shares: drawing one figure into both an SVG and a PNG
//! file, the embedded font, the colours, and a legend panel beside the chart.
//!
//! The PNG backend has to rasterise text itself. plotters' `ttf` feature
//! would find fonts through fontconfig (a system library), so the crate uses
//! the `ab_glyph` feature instead with a subset of DejaVu Sans compiled in
//! (`reports/assets/`, licence beside it), registered once under the generic
//! family names plotters asks for.
//!
//! The legend is drawn by hand in a panel right of the chart rather than with
//! plotters' series labels, which sit inside the plotting area and would
//! cover the data of busy plots.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::chart::DualCoordChartContext;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::ReportError;
use crate::faults::FaultInterval;

/// A drawing failure, as text (plotters' errors are generic over backends).
#[derive(Debug)]
pub(crate) struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

pub(crate) type DrawResult = Result<(), DrawError>;

/// A figure that can be drawn on any plotters backend.
pub(crate) trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draw onto `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// Register the embedded font with plotters (once per process).
fn ensure_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| plotters::style::register_font(family, FontStyle::Normal, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font)
    }
}

fn draw_into<DB: DrawingBackend>(figure: &impl Figure, root: DrawingArea<DB, Shift>) -> DrawResult {
    root.fill(&WHITE)?;
    figure.draw(&root)?;
    root.present()?;
    Ok(())
}

/// Draw `figure` into `dir/stem.svg` and `dir/stem.png`; returns both paths.
pub(crate) fn render(figure: &impl Figure, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), ReportError> {
    ensure_font()?;
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let size = figure.size();
    draw_into(figure, SVGBackend::new(&svg, size).into_drawing_area()).map_err(|e| ReportError::Draw {
        path: svg.clone(),
        message: e.0,
    })?;
    draw_into(figure, BitMapBackend::new(&png, size).into_drawing_area()).map_err(|e| ReportError::Draw {
        path: png.clone(),
        message: e.0,
    })?;
    Ok((svg, png))
}

pub(crate) const FONT_FAMILY: &str = "sans-serif";
pub(crate) const TITLE_PX: u32 = 20;
pub(crate) const AXIS_DESC_PX: u32 = 15;
pub(crate) const LABEL_PX: u32 = 13;
/// Width of the legend panel right of the chart.
pub(crate) const LEGEND_W: u32 = 270;

pub(crate) fn title_style() -> TextStyle<'static> {
    (FONT_FAMILY, TITLE_PX).into_font().into()
}

pub(crate) fn axis_style() -> TextStyle<'static> {
    (FONT_FAMILY, AXIS_DESC_PX).into_font().into()
}

pub(crate) fn label_style() -> TextStyle<'static> {
    (FONT_FAMILY, LABEL_PX).into_font().into()
}

/// Colours of series, in order (the "tab10" palette).
pub(crate) const SERIES_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(crate) fn series_color(i: usize) -> RGBColor {
    SERIES_COLORS[i % SERIES_COLORS.len()]
}

/// The dash pattern (dash, gap in pixels) of series `i`: solid for the first
/// round of colours, then dashed, then dotted, so that up to thirty series
/// of one plot still look different from each other.
pub(crate) fn series_dash(i: usize) -> Option<(u32, u32)> {
    match (i / SERIES_COLORS.len()) % 3 {
        0 => None,
        1 => Some((9, 5)),
        _ => Some((2, 4)),
    }
}

/// Draw `points` as a line in the style of series `i` (colour and dash).
pub(crate) fn draw_series_line<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Xy>,
    i: usize,
    points: Vec<(f64, f64)>,
) -> DrawResult {
    let style = series_color(i).stroke_width(2);
    match series_dash(i) {
        None => chart.draw_series(LineSeries::new(points, style))?,
        Some((dash, gap)) => chart.draw_series(DashedLineSeries::new(points, dash, gap, style))?,
    };
    Ok(())
}

/// Linear x and y axes of `f64`.
pub(crate) type Xy = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// The fault kinds of `intervals`, in order of first appearance (one legend
/// entry and one colour each).
pub(crate) fn fault_kinds(intervals: &[FaultInterval]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for i in intervals {
        if !kinds.contains(&i.kind) {
            kinds.push(i.kind.clone());
        }
    }
    kinds
}

/// A legend entry per fault kind of `intervals`.
pub(crate) fn fault_legend(intervals: &[FaultInterval]) -> Vec<LegendEntry> {
    fault_kinds(intervals)
        .into_iter()
        .map(|k| LegendEntry::new(format!("fault: {k}"), Swatch::Fill(fault_color(&k), 0.3)))
        .collect()
}

/// Shade each fault interval (ms) from 0 to `top`, coloured by its kind.
pub(crate) fn shade_faults<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Xy>,
    intervals: &[FaultInterval],
    top: f64,
) -> DrawResult {
    for kind in fault_kinds(intervals) {
        let color = fault_color(&kind);
        chart.draw_series(intervals.iter().filter(|i| i.kind == kind).map(|i| {
            Rectangle::new(
                [(i.start_ms as f64 / 1000.0, 0.0), (i.end_ms as f64 / 1000.0, top)],
                color.mix(0.18).filled(),
            )
        }))?;
    }
    Ok(())
}

/// A chart of `y` against `x` in `area`, both linear, its mesh drawn with
/// the axis descriptions: the frame of every line plot here.
pub(crate) fn xy_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Range<f64>,
    (x_desc, y_desc): (&str, &str),
) -> Result<ChartContext<'a, DB, Xy>, DrawError> {
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    draw_mesh(&mut chart, x_desc, y_desc)?;
    Ok(chart)
}

/// The grid, axes, labels and descriptions of a linear chart.
fn draw_mesh<DB: DrawingBackend>(chart: &mut ChartContext<'_, DB, Xy>, x_desc: &str, y_desc: &str) -> DrawResult {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(axis_style())
        .label_style(label_style())
        .x_label_formatter(&axis_number)
        .y_label_formatter(&axis_number)
        .light_line_style(BLACK.mix(0.05))
        .draw()?;
    Ok(())
}

/// One line swatch per label, in series order (colour and dash).
pub(crate) fn line_legend(labels: impl IntoIterator<Item = String>) -> Vec<LegendEntry> {
    labels
        .into_iter()
        .enumerate()
        .map(|(i, label)| LegendEntry::new(label, Swatch::Series(i)))
        .collect()
}

/// A chart with `y` on the left axis and `y2` on the right, against the same
/// `x`, both meshes drawn with their descriptions.
pub(crate) fn dual_axis_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Range<f64>,
    y2: Range<f64>,
    (x_desc, y_desc, y2_desc): (&str, &str, &str),
) -> Result<DualCoordChartContext<'a, DB, Xy, Xy>, DrawError> {
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(x.clone(), y)?
        .set_secondary_coord(x, y2);
    draw_mesh(&mut chart, x_desc, y_desc)?;
    chart
        .configure_secondary_axes()
        .y_desc(y2_desc)
        .axis_desc_style(axis_style())
        .label_style(label_style())
        .y_label_formatter(&axis_number)
        .draw()?;
    Ok(chart)
}

/// The shading colour of a fault kind (the disturbing verb).
pub(crate) fn fault_color(kind: &str) -> RGBColor {
    match kind {
        "kill" => RGBColor(214, 39, 40),
        "pause" => RGBColor(255, 127, 14),
        "partition" => RGBColor(148, 103, 189),
        "partition-one-way" => RGBColor(227, 119, 194),
        "clog" => RGBColor(140, 86, 75),
        "network" => RGBColor(127, 127, 127),
        "slow" => RGBColor(188, 189, 34),
        "cut-off" => RGBColor(23, 190, 207),
        _ => RGBColor(90, 90, 90),
    }
}

/// How a legend entry shows its series.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Swatch {
    Line(RGBColor),
    /// The line of series `i` ([`series_color`], [`series_dash`]).
    Series(usize),
    /// A vertical rule (restart markers, reference lines).
    Rule(RGBColor),
    /// A filled box; the second value is the opacity.
    Fill(RGBColor, f64),
    Triangle(RGBColor),
    Cross(RGBColor),
}

/// One line of a legend.
#[derive(Clone, Debug)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

impl LegendEntry {
    pub fn new(label: impl Into<String>, swatch: Swatch) -> Self {
        LegendEntry {
            label: label.into(),
            swatch,
        }
    }
}

/// Characters of legend text that fit on one line of the panel.
const LEGEND_CHARS: usize = 30;

/// Split `text` at spaces into lines of at most `width` characters (a
/// longer word stays whole on its own line).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draw the legend entries top to bottom into `area`, long labels wrapped.
pub(crate) fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry]) -> DrawResult {
    if entries.is_empty() {
        return Ok(());
    }
    let (line_h, gap) = (16i32, 6i32);
    let (x0, top) = (8i32, 32i32);
    let wrapped: Vec<Vec<String>> = entries.iter().map(|e| wrap(&e.label, LEGEND_CHARS)).collect();
    let height: i32 = wrapped.iter().map(|l| l.len() as i32 * line_h + gap).sum::<i32>() + 10;
    area.draw(&Rectangle::new(
        [(x0 - 4, top), (LEGEND_W as i32 - 8, top + height)],
        BLACK.mix(0.4),
    ))?;
    let style = label_style().pos(Pos::new(HPos::Left, VPos::Center));
    let mut y = top + 8 + line_h / 2;
    for (e, lines) in entries.iter().zip(&wrapped) {
        let (sx, sw) = (x0 + 4, 24);
        match e.swatch {
            Swatch::Line(c) => area.draw(&PathElement::new(vec![(sx, y), (sx + sw, y)], c.stroke_width(3)))?,
            Swatch::Series(i) => {
                let style = series_color(i).stroke_width(3);
                let (dash, gap) = series_dash(i).map_or((sw, 0), |(d, g)| (d as i32, g as i32));
                let mut x = sx;
                while x < sx + sw {
                    let end = (x + dash).min(sx + sw);
                    area.draw(&PathElement::new(vec![(x, y), (end, y)], style))?;
                    x = end + gap;
                }
            }
            Swatch::Rule(c) => area.draw(&PathElement::new(
                vec![(sx + sw / 2, y - 7), (sx + sw / 2, y + 7)],
                c.stroke_width(2),
            ))?,
            Swatch::Fill(c, a) => area.draw(&Rectangle::new([(sx, y - 6), (sx + sw, y + 6)], c.mix(a).filled()))?,
            Swatch::Triangle(c) => area.draw(&TriangleMarker::new((sx + sw / 2, y), 6, c.filled()))?,
            Swatch::Cross(c) => area.draw(&Cross::new((sx + sw / 2, y), 5, c.stroke_width(2)))?,
        }
        for line in lines {
            area.draw(&Text::new(line.clone(), (sx + sw + 8, y), style.clone()))?;
            y += line_h;
        }
        y += gap;
    }
    Ok(())
}

/// Draw the title, split off the legend panel and draw the legend; returns
/// the area left for the chart(s).
pub(crate) fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[LegendEntry],
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    let body = root.titled(title, title_style())?;
    let (w, _) = body.dim_in_pixel();
    let (chart, legend_area) = body.split_horizontally(w.saturating_sub(LEGEND_W));
    draw_legend(&legend_area, legend)?;
    Ok(chart)
}

/// Pixels for a label column holding `labels` (a rough width per character
/// of the label font, so long category names are not cut off).
pub(crate) fn label_width(labels: &[String]) -> u32 {
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    (chars * 8 + 16).clamp(50, 320)
}

/// The upper end of an axis holding `max`: a little headroom, never empty.
pub(crate) fn upper(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.1
    } else {
        1.0
    }
}

/// Text for a category axis: the label of the category at key point `y`
/// (categories are drawn top to bottom at y = n−1 … 0).
pub(crate) fn category_label(categories: &[String], y: f64) -> String {
    let n = categories.len() as f64;
    let i = n - 1.0 - y.round();
    if (y - y.round()).abs() > 1e-6 || i < 0.0 || i >= n {
        return String::new();
    }
    categories[i as usize].clone()
}

/// The y coordinate of category `i` (the first category on top).
pub(crate) fn category_y(n: usize, i: usize) -> f64 {
    (n - 1 - i) as f64
}

/// A number for an axis label: short, with k/M for large values and no
/// trailing zeros.
pub(crate) fn axis_number(v: &f64) -> String {
    let v = *v;
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{suffix}")
}

/// A vertical axis of `n` rows at y = 0 … n−1, each half a unit high on
/// either side, with one tick per row and no light grid lines (plotters'
/// `with_key_points` does not combine with label formatters for `f64`).
pub(crate) struct CategoryRows {
    pub n: usize,
}

impl Ranged for CategoryRows {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.n.max(1) as f64;
        let t = (value + 0.5) / span;
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            (0..self.n).map(|i| i as f64).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.n.max(1) as f64 - 0.5
    }
}

/// One series of a bar panel: colour and one value per category (`None`:
/// no bar). The legend is drawn separately.
pub(crate) struct BarSeries {
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
}

/// Horizontal bars, one row per category (first on top): grouped (one bar
/// per series, side by side) or stacked (series end to end).
pub(crate) struct BarPanel<'a> {
    pub categories: &'a [String],
    pub series: Vec<BarSeries>,
    pub stacked: bool,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// Values are divided by this for the axis (1000 for ms shown in s).
    pub scale: f64,
    /// Written at the start of a missing bar in a grouped panel (e.g. "never").
    pub missing_text: Option<&'a str>,
    /// Vertical reference rules at these (scaled) x values.
    pub rules: Vec<(f64, RGBColor)>,
    pub show_categories: bool,
}

impl BarPanel<'_> {
    fn x_max(&self) -> f64 {
        let n = self.categories.len();
        let max = if self.stacked {
            (0..n)
                .map(|i| {
                    self.series
                        .iter()
                        .filter_map(|s| s.values.get(i).copied().flatten())
                        .sum::<f64>()
                })
                .fold(0.0, f64::max)
        } else {
            self.series
                .iter()
                .flat_map(|s| s.values.iter().flatten().copied())
                .fold(0.0, f64::max)
        };
        let rules = self.rules.iter().map(|r| r.0).fold(0.0, f64::max);
        upper((max / self.scale).max(rules))
    }

    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let n = self.categories.len().max(1);
        let x_max = self.x_max();
        let y_area = if self.show_categories {
            label_width(self.categories)
        } else {
            12
        };
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(45)
            .y_label_area_size(y_area)
            .build_cartesian_2d(0f64..x_max, CategoryRows { n })?;
        let cats = self.categories;
        let show = self.show_categories;
        let y_fmt = move |y: &f64| if show { category_label(cats, *y) } else { String::new() };
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(if show { self.y_desc } else { "" })
            .axis_desc_style(axis_style())
            .label_style(label_style())
            .x_label_formatter(&axis_number)
            .y_label_formatter(&y_fmt)
            .light_line_style(BLACK.mix(0.05))
            .draw()?;
        let k = self.series.len().max(1) as f64;
        let small = (FONT_FAMILY, 11).into_font().into_text_style(area);
        let small = small.pos(Pos::new(HPos::Left, VPos::Center));
        for (i, _) in self.categories.iter().enumerate() {
            let y = category_y(n, i);
            let mut start = 0.0;
            for (j, s) in self.series.iter().enumerate() {
                let (y0, y1) = if self.stacked {
                    (y - 0.35, y + 0.35)
                } else {
                    let h = 0.8 / k;
                    (y + 0.4 - (j as f64 + 1.0) * h, y + 0.4 - j as f64 * h)
                };
                match s.values.get(i).copied().flatten() {
                    Some(v) => {
                        let v = v / self.scale;
                        let (x0, x1) = if self.stacked { (start, start + v) } else { (0.0, v) };
                        chart.draw_series(std::iter::once(Rectangle::new([(x0, y0), (x1, y1)], s.color.filled())))?;
                        if !self.stacked {
                            let text = Text::new(axis_number(&v), (x1 + x_max * 0.01, (y0 + y1) / 2.0), small.clone());
                            chart.draw_series(std::iter::once(text))?;
                        }
                        start = x1;
                    }
                    None if !self.stacked => {
                        if let Some(t) = self.missing_text {
                            let text = Text::new(t.to_string(), (x_max * 0.01, (y0 + y1) / 2.0), small.clone());
                            chart.draw_series(std::iter::once(text))?;
                        }
                    }
                    None => {}
                }
            }
            if self.stacked && start > 0.0 {
                let text = Text::new(axis_number(&start), (start + x_max * 0.01, y), small.clone());
                chart.draw_series(std::iter::once(text))?;
            }
        }
        for (x, c) in &self.rules {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(*x, -0.5), (*x, n as f64 - 0.5)],
                c.stroke_width(2),
            )))?;
        }
        Ok(())
    }
}

/// Height of a bar figure with `rows` categories.
pub(crate) fn bar_figure_height(rows: usize) -> u32 {
    (150 + 34 * rows as u32).max(360)
}

#[cfg(test)]
mod tests {

    #[test]
    fn thirty_series_have_thirty_styles() {
        let styles: std::collections::BTreeSet<_> = (0..30)
            .map(|i| {
                let RGBColor(r, g, b) = series_color(i);
                (r, g, b, series_dash(i))
            })
            .collect();
        assert_eq!(styles.len(), 30);
        assert_eq!(series_dash(0), None, "the first round is solid");
    }

    use super::*;

    #[test]
    fn legend_text_wraps_at_spaces() {
        assert_eq!(wrap("short", 30), vec!["short"]);
        assert_eq!(
            wrap("backpressure-unaligned (9, 6 unaligned)", 30),
            vec!["backpressure-unaligned (9, 6", "unaligned)"]
        );
        assert_eq!(
            wrap("averyveryverylongword tail", 5),
            vec!["averyveryverylongword", "tail"]
        );
        assert_eq!(wrap("", 5), vec![""]);
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(axis_number(&200_000.0), "200k");
        assert_eq!(axis_number(&2_500_000.0), "2.5M");
        assert_eq!(axis_number(&1.5), "1.5");
        assert_eq!(axis_number(&2.0), "2");
        assert_eq!(axis_number(&-0.0001), "0");
    }

    #[test]
    fn categories_run_top_to_bottom() {
        let cats = ["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(category_y(3, 0), 2.0);
        assert_eq!(category_label(&cats, 2.0), "a");
        assert_eq!(category_label(&cats, 0.0), "c");
        assert_eq!(category_label(&cats, 0.5), "");
        assert_eq!(category_label(&cats, 3.0), "");
    }
}
