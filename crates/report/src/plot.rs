//! SVG line plots on logarithmic or linear axes (plotters' SVG backend: no fonts needed).

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
    /// Renders the plot to an SVG string. A plot with no plottable point (e.g. a risk that
    /// is zero everywhere, on a log axis) is drawn empty, its title saying so.
    ///
    /// # Errors
    /// [`ReportError::Plot`] if plotters fails.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let xr = range(
            self.x_axis,
            self.series.iter().flat_map(|s| s.x.iter().copied()),
        );
        let guides = self.guides.iter().map(|g| g.1);
        let yr = range(
            self.y_axis,
            self.series
                .iter()
                .flat_map(|s| s.y.iter().copied())
                .chain(guides),
        );
        let (Some(xr), Some(yr)) = (xr, yr) else {
            let empty = LinePlot {
                title: format!(
                    "{} (nothing to plot: no finite{} value)",
                    self.title,
                    if self.x_axis == Axis::Log || self.y_axis == Axis::Log {
                        " positive"
                    } else {
                        ""
                    }
                ),
                series: Vec::new(),
                guides: Vec::new(),
                ..self.clone()
            };
            return empty.render((1.0, 10.0), (1.0, 10.0));
        };
        self.render(xr, yr)
    }

    fn render(&self, xr: (f64, f64), yr: (f64, f64)) -> Result<String, ReportError> {
        let err = |message: String| ReportError::Plot {
            path: self.title.clone(),
            message,
        };
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (900, 600)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
            match (self.x_axis, self.y_axis) {
                (Axis::Log, Axis::Log) => self.draw(
                    &root,
                    (xr.0..xr.1).log_scale(),
                    (yr.0..yr.1).log_scale(),
                    xr,
                ),
                (Axis::Log, Axis::Linear) => {
                    self.draw(&root, (xr.0..xr.1).log_scale(), yr.0..yr.1, xr)
                }
                (Axis::Linear, Axis::Log) => {
                    self.draw(&root, xr.0..xr.1, (yr.0..yr.1).log_scale(), xr)
                }
                (Axis::Linear, Axis::Linear) => self.draw(&root, xr.0..xr.1, yr.0..yr.1, xr),
            }
            .map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))?;
        }
        Ok(svg)
    }

    fn draw<DB, X, Y>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        x: X,
        y: Y,
        xr: (f64, f64),
    ) -> Result<(), String>
    where
        DB: DrawingBackend,
        X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
        Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| {
                if self.y_axis == Axis::Log {
                    format!("{v:.0e}")
                } else {
                    format!("{v:.3}")
                }
            })
            .draw()
            .map_err(e)?;
        let grey = RGBColor(150, 150, 150);
        for (label, level) in &self.guides {
            if !keep(self.y_axis, *level) {
                continue;
            }
            chart
                .draw_series(DashedLineSeries::new(
                    [(xr.0, *level), (xr.1, *level)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))
                .map_err(e)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey));
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[s.colour.unwrap_or(i) % PALETTE.len()];
            let pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.y)
                    .filter(|(x, y)| keep(self.x_axis, **x) && keep(self.y_axis, **y))
                    .map(|(x, y)| (*x, *y))
                    .collect();
            let anno = if s.markers {
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))
                    .map_err(e)?
            } else if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts, 8, 5, color.stroke_width(2)))
                    .map_err(e)?
            } else {
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                    .map_err(e)?
            };
            // An empty label keeps the series out of the legend.
            if !s.label.is_empty() {
                anno.label(s.label.clone()).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
        Ok(())
    }

    /// Writes the SVG to `path` atomically.
    ///
    /// # Errors
    /// [`ReportError`].
    pub fn write_svg(&self, path: &Path) -> Result<(), ReportError> {
        let svg = self.to_svg().map_err(|e| match e {
            ReportError::Plot { message, .. } => ReportError::Plot {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })?;
        write_bytes_atomic(path, svg.as_bytes())
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
}
