//! SVG line plots on logarithmic or linear axes (plotters' SVG backend: no fonts needed):
//! [`PanelPlot`], stacked panels sharing the abscissa (a solution above, its error beneath),
//! and [`LinePlot`], one panel with horizontal guides, drawn as a one-panel [`PanelPlot`]:
//! the legend is always outside the data.
//!
//! Curves that belong to a parameter sweep are coloured on a sequential scale
//! ([`Series::tinted`], [`sequential_position`]: dark violet for the first value through
//! red to orange for the last) so that their order reads at a glance; a reference drawn
//! thick and light ([`Series::light`], [`Series::width`]) stays visible under an
//! approximation drawn thin, dark, dashed and marked ([`Series::marked`]).

use std::path::Path;

use plotters::coord::combinators::IntoLogRange;
use plotters::prelude::*;

use crate::{ReportError, atomic::write_bytes_atomic};

/// Axis scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Linear.
    Linear,
    /// Base-10 logarithmic (non-positive values are dropped from the plot).
    Log,
}

/// One curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label (empty: not in the legend).
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// Draw markers at the points instead of a line.
    pub markers: bool,
    /// Palette index (modulo its length); `None`: the series' position. Give two series the
    /// same index to pair them (e.g. a measured curve and its prediction).
    pub colour: Option<usize>,
    /// Position on the sequential colour scale, in `[0, 1]`; overrides `colour`.
    pub tint: Option<f64>,
    /// Stroke width in pixels.
    pub width: u32,
    /// Drawn light (a third of full opacity): a reference under an approximation.
    pub light: bool,
    /// A line with hollow markers at about a dozen of its points.
    pub marked: bool,
}

impl Series {
    /// A solid line.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self {
            label: label.into(),
            x,
            y,
            dashed: false,
            markers: false,
            colour: None,
            tint: None,
            width: 2,
            light: false,
            marked: false,
        }
    }
    /// The same series drawn at position `t ∈ [0, 1]` of the sequential colour scale.
    pub fn tinted(self, t: f64) -> Self {
        Self {
            tint: Some(t),
            ..self
        }
    }
    /// The same series with stroke width `w` pixels.
    pub fn width(self, w: u32) -> Self {
        Self { width: w, ..self }
    }
    /// The same series drawn light (translucent).
    pub fn light(self) -> Self {
        Self {
            light: true,
            ..self
        }
    }
    /// The same series with hollow markers at about a dozen points.
    pub fn marked(self) -> Self {
        Self {
            marked: true,
            ..self
        }
    }
    /// The same series drawn in palette colour `index`.
    pub fn coloured(self, index: usize) -> Self {
        Self {
            colour: Some(index),
            ..self
        }
    }
    /// A dashed line.
    pub fn dashed(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self {
            dashed: true,
            ..Self::line(label, x, y)
        }
    }
    /// Markers only.
    pub fn points(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self {
            markers: true,
            ..Self::line(label, x, y)
        }
    }
    /// A direct (reference) solution under an approximation: thick and light.
    pub fn direct(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self::line(label, x, y).width(6).light()
    }
    /// A composite drawn over its direct solution: thin, dashed, with markers.
    pub fn composite(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self::dashed(label, x, y).width(1).marked()
    }
    /// Legend entries, in grey and without points, for the styles of [`Series::direct`] and
    /// [`Series::composite`] (the colours then say ε).
    pub fn direct_composite_keys() -> [Self; 2] {
        [
            Self::direct("direct (thick, light)", vec![], vec![]).coloured(GREY),
            Self::composite("composite (thin, dashed, o)", vec![], vec![]).coloured(GREY),
        ]
    }
}

/// A plot of several series with optional horizontal guide levels.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// x scale.
    pub x_axis: Axis,
    /// y scale.
    pub y_axis: Axis,
    /// Curves.
    pub series: Vec<Series>,
    /// Horizontal guides `(label, level)`, drawn dashed in grey.
    pub guides: Vec<(String, f64)>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Anchors of the sequential scale (the dark three quarters of matplotlib's *plasma*, whose
/// light yellow end would vanish on white).
const SEQUENTIAL: [(f64, f64, f64); 5] = [
    (13.0, 8.0, 135.0),
    (106.0, 0.0, 168.0),
    (177.0, 42.0, 144.0),
    (225.0, 100.0, 98.0),
    (240.0, 150.0, 40.0),
];

/// The colour at `t ∈ [0, 1]` of the sequential scale (clamped; NaN is 0).
pub fn sequential(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (SEQUENTIAL.len() - 1) as f64;
    let i = (x.floor() as usize).min(SEQUENTIAL.len() - 2);
    let w = x - i as f64;
    let (a, b) = (SEQUENTIAL[i], SEQUENTIAL[i + 1]);
    let mix = |p: f64, q: f64| (p + w * (q - p)).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Position of item `i` of `n` on the sequential scale: `i/(n − 1)` (0 for one item).
pub fn sequential_position(i: usize, n: usize) -> f64 {
    if n <= 1 {
        0.0
    } else {
        i as f64 / (n - 1) as f64
    }
}

/// The palette index that draws a series dark grey (legend entries explaining line
/// styles, guides).
pub const GREY: usize = usize::MAX;

/// The colour and stroke of series `i`.
fn style_of(s: &Series, i: usize) -> (RGBColor, ShapeStyle) {
    let color = match (s.tint, s.colour) {
        (Some(t), _) => sequential(t),
        (None, Some(GREY)) => RGBColor(80, 80, 80),
        (None, c) => PALETTE[c.unwrap_or(i) % PALETTE.len()],
    };
    let style = if s.light {
        color.mix(0.35).stroke_width(s.width)
    } else {
        color.stroke_width(s.width)
    };
    (color, style)
}

fn keep(axis: Axis, v: f64) -> bool {
    v.is_finite() && (axis == Axis::Linear || v > 0.0)
}

fn range(axis: Axis, values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| keep(axis, *v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    Some(match axis {
        Axis::Log => {
            let (lo, hi) = if lo == hi {
                (lo / 2.0, hi * 2.0)
            } else {
                (lo, hi)
            };
            // At most 200 decades (a wider log axis has infinite hi/lo, on which plotters'
            // key points never end), and finite ends.
            let hi = hi.min(f64::MAX / 2.0);
            let lo = lo.max(hi * 1e-200).max(f64::MIN_POSITIVE);
            (lo / 1.3, hi * 1.3)
        }
        Axis::Linear => {
            let pad = if hi > lo {
                0.05 * (hi - lo)
            } else {
                0.5 * lo.abs().max(1.0)
            };
            (lo - pad, hi + pad)
        }
    })
}

impl LinePlot {
    /// The same figure as a one-panel [`PanelPlot`] (the one drawing implementation, legend
    /// outside the data), each guide a grey dashed line across the abscissa's range.
    pub fn to_panel_plot(&self) -> PanelPlot {
        let xr = range(
            self.x_axis,
            self.series.iter().flat_map(|s| s.x.iter().copied()),
        );
        let plottable = xr.is_some()
            && self.series.iter().any(|s| {
                s.x.iter()
                    .zip(&s.y)
                    .any(|(x, y)| keep(self.x_axis, *x) && keep(self.y_axis, *y))
            });
        let title = if plottable {
            self.title.clone()
        } else {
            format!(
                "{} (nothing to plot: no finite{} value)",
                self.title,
                if self.x_axis == Axis::Log || self.y_axis == Axis::Log {
                    " positive"
                } else {
                    ""
                }
            )
        };
        let mut series = Vec::with_capacity(self.guides.len() + self.series.len());
        if let Some((lo, hi)) = xr {
            for (label, level) in &self.guides {
                series.push(
                    Series::dashed(label.clone(), vec![lo, hi], vec![*level, *level])
                        .width(1)
                        .coloured(GREY),
                );
            }
        }
        // Palette positions are the series' own, as before guides were series.
        series.extend(self.series.iter().enumerate().map(|(i, s)| Series {
            colour: s.colour.or(Some(i)),
            ..s.clone()
        }));
        PanelPlot {
            title,
            x_label: self.x_label.clone(),
            x_axis: self.x_axis,
            panels: vec![Panel {
                y_label: self.y_label.clone(),
                y_axis: self.y_axis,
                series,
                height: 1.0,
            }],
        }
    }

    /// Renders the plot to an SVG string (through [`LinePlot::to_panel_plot`]). A plot with
    /// no plottable point (e.g. a risk that is zero everywhere, on a log axis) is drawn
    /// empty, its title saying so.
    ///
    /// # Errors
    /// [`ReportError::Plot`] if plotters fails.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        self.to_panel_plot().to_svg()
    }

    /// Writes the SVG to `path` atomically.
    ///
    /// # Errors
    /// [`ReportError`].
    pub fn write_svg(&self, path: &Path) -> Result<(), ReportError> {
        write_svg_to(path, self.to_svg())
    }
}

/// One panel of a [`PanelPlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// y-axis label.
    pub y_label: String,
    /// y scale.
    pub y_axis: Axis,
    /// Curves.
    pub series: Vec<Series>,
    /// Relative height (the panels share the figure's height in these proportions).
    pub height: f64,
}

/// Stacked panels sharing the abscissa — a solution above, its error beneath — with one
/// legend outside the data, to the right: every labelled series once, in order (a series
/// with no point is a legend entry only, e.g. to explain the line styles).
///
/// ```
/// use timescales_report::{Axis, Panel, PanelPlot, Series, plot::sequential_position};
/// let t: Vec<f64> = (1..=50).map(|i| i as f64 / 50.0).collect();
/// let panels = vec![
///     Panel {
///         y_label: "y".into(),
///         y_axis: Axis::Linear,
///         series: (0..3)
///             .flat_map(|k| {
///                 let c = sequential_position(k, 3);
///                 let y: Vec<f64> = t.iter().map(|s| (-s * (k + 1) as f64).exp()).collect();
///                 [
///                     Series::line(format!("ε = {k}"), t.clone(), y.clone()).tinted(c).width(6).light(),
///                     Series::dashed("", t.clone(), y).tinted(c).marked(),
///                 ]
///             })
///             .collect(),
///         height: 2.0,
///     },
///     Panel {
///         y_label: "error".into(),
///         y_axis: Axis::Log,
///         series: vec![Series::line("", t.clone(), t.iter().map(|s| 1e-3 * s).collect())],
///         height: 1.0,
///     },
/// ];
/// let svg = PanelPlot { title: "two panels".into(), x_label: "t".into(), x_axis: Axis::Log, panels }
///     .to_svg()?;
/// assert!(svg.contains("ε = 2"));
/// # Ok::<(), timescales_report::ReportError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PanelPlot {
    /// Title.
    pub title: String,
    /// x-axis label (shown under the last panel).
    pub x_label: String,
    /// x scale, shared.
    pub x_axis: Axis,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
}

/// Width of the legend column of a [`PanelPlot`], in pixels.
const LEGEND_WIDTH: u32 = 260;

impl PanelPlot {
    /// A solution panel (linear axis, labelled `y_label`) over an error panel half its height
    /// (log axis, labelled `error_label`) on a shared abscissa `t`: the layout of every
    /// direct-against-composite figure.
    ///
    /// ```
    /// use timescales_report::{Axis, PanelPlot, Series};
    /// let t = vec![1.0, 2.0, 3.0];
    /// let fig = PanelPlot::solution_over_error(
    ///     "y",
    ///     Axis::Linear,
    ///     ("y".into(), vec![Series::line("y", t.clone(), vec![1.0, 0.5, 0.2])]),
    ///     ("|error|".into(), vec![Series::line("", t, vec![1e-3, 1e-4, 1e-5])]),
    /// );
    /// assert_eq!(fig.panels.len(), 2);
    /// assert!(fig.to_svg()?.contains("|error|"));
    /// # Ok::<(), timescales_report::ReportError>(())
    /// ```
    pub fn solution_over_error(
        title: impl Into<String>,
        x_axis: Axis,
        (y_label, solution): (String, Vec<Series>),
        (error_label, error): (String, Vec<Series>),
    ) -> Self {
        Self {
            title: title.into(),
            x_label: "t".into(),
            x_axis,
            panels: vec![
                Panel {
                    y_label,
                    y_axis: Axis::Linear,
                    series: solution,
                    height: 2.0,
                },
                Panel {
                    y_label: error_label,
                    y_axis: Axis::Log,
                    series: error,
                    height: 1.0,
                },
            ],
        }
    }

    /// Renders the figure to an SVG string. A panel with nothing plottable is drawn empty
    /// with a note in its axis label.
    ///
    /// # Errors
    /// [`ReportError::Plot`] if plotters fails.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let err = |message: String| ReportError::Plot {
            path: self.title.clone(),
            message,
        };
        let xr = range(
            self.x_axis,
            self.panels
                .iter()
                .flat_map(|p| p.series.iter())
                .flat_map(|s| s.x.iter().copied()),
        )
        .unwrap_or((1.0, 10.0));
        let total: f64 = self
            .panels
            .iter()
            .map(|p| p.height.max(0.1))
            .sum::<f64>()
            .max(0.1);
        let plot_h: u32 = 620;
        let (w, h) = (900 + LEGEND_WIDTH, plot_h + 50);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
            let body = root
                .titled(&self.title, ("sans-serif", 22))
                .map_err(|e| err(e.to_string()))?;
            let (plots, legend) = body.split_horizontally(900);
            let mut rest = plots;
            let n = self.panels.len();
            for (k, panel) in self.panels.iter().enumerate() {
                let ph = if k + 1 == n {
                    rest.dim_in_pixel().1
                } else {
                    (f64::from(plot_h) * panel.height.max(0.1) / total).round() as u32
                };
                let (area, below) = rest.split_vertically(ph);
                rest = below;
                let last = k + 1 == n;
                let yr = range(
                    panel.y_axis,
                    panel.series.iter().flat_map(|s| s.y.iter().copied()),
                );
                let (yr, empty) = match yr {
                    Some(r) => (r, false),
                    None => ((1.0, 10.0), true),
                };
                let y_label = if empty {
                    format!("{} (nothing to plot)", panel.y_label)
                } else {
                    panel.y_label.clone()
                };
                let ctx = PanelContext {
                    panel,
                    x_axis: self.x_axis,
                    x_label: if last { self.x_label.as_str() } else { "" },
                    y_label: &y_label,
                };
                match (self.x_axis, panel.y_axis) {
                    (Axis::Log, Axis::Log) => {
                        ctx.draw(&area, (xr.0..xr.1).log_scale(), (yr.0..yr.1).log_scale())
                    }
                    (Axis::Log, Axis::Linear) => {
                        ctx.draw(&area, (xr.0..xr.1).log_scale(), yr.0..yr.1)
                    }
                    (Axis::Linear, Axis::Log) => {
                        ctx.draw(&area, xr.0..xr.1, (yr.0..yr.1).log_scale())
                    }
                    (Axis::Linear, Axis::Linear) => ctx.draw(&area, xr.0..xr.1, yr.0..yr.1),
                }
                .map_err(err)?;
            }
            self.draw_legend(&legend).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))?;
        }
        Ok(svg)
    }

    fn draw_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let mut seen: Vec<&str> = Vec::new();
        let mut y = 40i32;
        let font = ("sans-serif", 15).into_font().color(&BLACK);
        for (i, s) in self.panels.iter().flat_map(|p| p.series.iter().enumerate()) {
            if s.label.is_empty() || seen.contains(&s.label.as_str()) {
                continue;
            }
            seen.push(&s.label);
            let (color, style) = style_of(s, i);
            let (x0, x1) = (10i32, 50i32);
            if s.markers {
                area.draw(&Circle::new((30, y), 4, color.filled()))
                    .map_err(e)?;
            } else if s.dashed {
                for (a, b) in [(x0, x0 + 12), (x0 + 18, x0 + 30), (x0 + 36, x1)] {
                    area.draw(&PathElement::new([(a, y), (b, y)], style))
                        .map_err(e)?;
                }
            } else {
                area.draw(&PathElement::new([(x0, y), (x1, y)], style))
                    .map_err(e)?;
            }
            if s.marked {
                area.draw(&Circle::new((30, y), 3, color.stroke_width(1)))
                    .map_err(e)?;
            }
            area.draw(&Text::new(s.label.clone(), (x1 + 10, y - 8), font.clone()))
                .map_err(e)?;
            y += 24;
        }
        Ok(())
    }

    /// Writes the SVG to `path` atomically.
    ///
    /// # Errors
    /// [`ReportError`].
    pub fn write_svg(&self, path: &Path) -> Result<(), ReportError> {
        write_svg_to(path, self.to_svg())
    }
}

struct PanelContext<'a> {
    panel: &'a Panel,
    x_axis: Axis,
    x_label: &'a str,
    y_label: &'a str,
}

impl PanelContext<'_> {
    fn draw<DB, X, Y>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        x: X,
        y: Y,
    ) -> Result<(), String>
    where
        DB: DrawingBackend,
        X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
        Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let y_log = self.panel.y_axis == Axis::Log;
        let x_log = self.x_axis == Axis::Log;
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(if self.x_label.is_empty() { 25 } else { 45 })
            .y_label_area_size(75)
            .build_cartesian_2d(x, y)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&|v| {
                if x_log {
                    format!("{v:.0e}")
                } else {
                    format!("{v:.3}")
                }
            })
            .y_label_formatter(&|v| {
                if y_log {
                    format!("{v:.0e}")
                } else {
                    format!("{v:.3}")
                }
            })
            .draw()
            .map_err(e)?;
        for (i, s) in self.panel.series.iter().enumerate() {
            let (color, style) = style_of(s, i);
            let pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.y)
                    .filter(|(x, y)| keep(self.x_axis, **x) && keep(self.panel.y_axis, **y))
                    .map(|(x, y)| (*x, *y))
                    .collect();
            if pts.is_empty() {
                continue;
            }
            if s.markers {
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))
                    .map_err(e)?;
                continue;
            }
            if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(e)?;
            }
            if s.marked {
                let every = (pts.len() / 12).max(1);
                chart
                    .draw_series(
                        pts.iter()
                            .step_by(every)
                            .map(|p| Circle::new(*p, 3, color.stroke_width(1))),
                    )
                    .map_err(e)?;
            }
        }
        Ok(())
    }
}

/// Writes a rendered SVG to `path` atomically, naming `path` in a rendering error.
fn write_svg_to(path: &Path, svg: Result<String, ReportError>) -> Result<(), ReportError> {
    let svg = svg.map_err(|e| at_path(path, e))?;
    write_bytes_atomic(path, svg.as_bytes())
}

/// A rendering error `e` naming `path`.
fn at_path(path: &Path, e: ReportError) -> ReportError {
    match e {
        ReportError::Plot { message, .. } => ReportError::Plot {
            path: path.display().to_string(),
            message,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_log_plot_with_guides_renders() {
        let x: Vec<f64> = (0..50)
            .map(|i| 10f64.powf(-6.0 + i as f64 * 0.15))
            .collect();
        let y: Vec<f64> = x.iter().map(|t| 1.0 + 0.5 / (1.0 + t * 1e3)).collect();
        let p = LinePlot {
            title: "risk".into(),
            x_label: "t".into(),
            y_label: "R".into(),
            x_axis: Axis::Log,
            y_axis: Axis::Log,
            series: vec![
                Series::line("R(t)", x.clone(), y),
                Series::points("pts", vec![0.0, 1e-3], vec![1.0, 1.2]),
            ],
            guides: vec![("R_1".into(), 1.0)],
        };
        let svg = p.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..50]);
        assert!(svg.contains("R_1") && svg.contains("R(t)"));
    }

    #[test]
    fn nothing_plottable_is_drawn_empty_and_says_so() {
        let p = LinePlot {
            title: "empty".into(),
            x_label: "t".into(),
            y_label: "R".into(),
            x_axis: Axis::Log,
            y_axis: Axis::Log,
            series: vec![Series::line("neg", vec![-1.0], vec![1.0])],
            guides: vec![],
        };
        let svg = p.to_svg().unwrap();
        assert!(
            svg.contains("nothing to plot: no finite positive value"),
            "{svg}"
        );
    }

    #[test]
    fn a_log_axis_over_more_decades_than_floats_hold_is_clamped() {
        // The slope guides of `match` reach f64::MIN_POSITIVE beside values of order 1:
        // plotters' key points on such an axis never ended.
        let p = LinePlot {
            title: "wide".into(),
            x_label: "ε".into(),
            y_label: "error".into(),
            x_axis: Axis::Log,
            y_axis: Axis::Log,
            series: vec![Series::line(
                "e",
                vec![1e-4, 1e-1],
                vec![f64::MIN_POSITIVE, 1.0],
            )],
            guides: vec![],
        };
        assert!(p.to_svg().unwrap().contains("<svg"));
    }

    #[test]
    fn sequential_scale_runs_dark_to_warm_and_clamps() {
        assert_eq!(sequential(0.0), RGBColor(13, 8, 135));
        assert_eq!(sequential(1.0), RGBColor(240, 150, 40));
        assert_eq!(sequential(-1.0), sequential(0.0));
        assert_eq!(sequential(f64::NAN), sequential(0.0));
        // Monotone in red along the scale: the order of ε reads from the colour.
        let reds: Vec<u8> = (0..=10).map(|i| sequential(i as f64 / 10.0).0).collect();
        assert!(reds.windows(2).all(|w| w[0] <= w[1]), "{reds:?}");
        assert_eq!(sequential_position(0, 1), 0.0);
        assert_eq!(sequential_position(3, 4), 1.0);
    }

    #[test]
    fn panel_plot_puts_the_legend_outside_the_data() {
        let t: Vec<f64> = (1..=40).map(|i| i as f64 / 40.0).collect();
        let y: Vec<f64> = t.iter().map(|s| s * s).collect();
        let p = PanelPlot {
            title: "panels".into(),
            x_label: "t".into(),
            x_axis: Axis::Linear,
            panels: vec![
                Panel {
                    y_label: "y".into(),
                    y_axis: Axis::Linear,
                    series: vec![
                        Series::line("direct", t.clone(), y.clone())
                            .tinted(0.0)
                            .width(6)
                            .light(),
                        Series::dashed("composite", t.clone(), y.clone())
                            .tinted(0.0)
                            .marked(),
                    ],
                    height: 2.0,
                },
                Panel {
                    y_label: "|error|".into(),
                    y_axis: Axis::Log,
                    series: vec![Series::line("", t.clone(), vec![0.0; t.len()])],
                    height: 1.0,
                },
            ],
        };
        let svg = p.to_svg().unwrap();
        assert!(svg.contains("direct") && svg.contains("composite"));
        assert!(
            svg.contains("nothing to plot"),
            "the empty log panel says so"
        );
        // Legend text starts right of the 900-pixel plot column.
        let at = svg.find("\ndirect\n").expect("the legend label");
        let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
        let x: f64 = tag
            .split("x=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(x > 900.0, "{tag}");
        // Light reference: translucent stroke; hollow markers on the composite.
        assert!(
            svg.contains("opacity=\"0.35") || svg.contains("stroke-opacity=\"0.35"),
            "no light stroke"
        );
        assert!(svg.contains("<circle"));
    }
}
