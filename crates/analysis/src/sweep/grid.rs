//! Log-spaced grids of ε.

use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result};

/// The most points a grid may have (a sweep runs one integration per point).
pub const MAX_POINTS: usize = 10_000;

/// A log-spaced grid of ε, in the order given (either direction).
///
/// `start:stop:count` gives `ε_k = 10^(lg start + k/(count − 1) · (lg stop − lg start))`,
/// `k = 0 … count − 1`, rounded to 12 significant digits (so that a decade point is exactly
/// the literal `1e-4`, not `9.999999999999991e-5`), with both ends exactly `start` and `stop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpsGrid {
    points: Vec<f64>,
}

impl EpsGrid {
    /// Builds the grid `start:stop:count` (`start ≠ stop`, both finite and `> 0`,
    /// `count ≥ 2`).
    pub fn new(start: f64, stop: f64, count: usize) -> Result<Self> {
        let spec = format!("{start:e}:{stop:e}:{count}");
        Self::parse(&spec)
    }

    /// The points of the grid not in `present`, in grid order.
    ///
    /// ```
    /// # use timescales_analysis::sweep::EpsGrid;
    /// let g = EpsGrid::parse("1e-2:1e-4:3")?;
    /// assert_eq!(g.missing(&[1e-3]), vec![1e-2, 1e-4]);
    /// # Ok::<(), timescales_analysis::AnalysisError>(())
    /// ```
    pub fn missing(&self, present: &[f64]) -> Vec<f64> {
        self.points
            .iter()
            .copied()
            .filter(|e| !present.contains(e))
            .collect()
    }

    /// Parses `"start:stop:count"`, e.g. `"1e-3:1e-9:13"` (13 points from 1e-3 down to
    /// 1e-9, three per decade), or an explicit list `"1e-2,1e-3,5e-4"` (as given; one value,
    /// `"1e-2"`, is a list of one). Errors name the bad part.
    ///
    /// ```
    /// # use timescales_analysis::sweep::EpsGrid;
    /// let g = EpsGrid::parse("1e-3:1e-9:13")?;
    /// assert_eq!(g.len(), 13);
    /// assert_eq!((g.points()[0], g.points()[12]), (1e-3, 1e-9));
    /// assert!((g.points()[2] / 1e-4 - 1.0).abs() < 1e-14);
    /// # Ok::<(), timescales_analysis::AnalysisError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self> {
        let err = |part: &'static str, reason: String| AnalysisError::GridSpec {
            spec: spec.to_string(),
            part,
            reason,
        };
        if !spec.contains(':') {
            let points = spec
                .split(',')
                .map(|s| {
                    let v: f64 = s.trim().parse().map_err(|e| {
                        err("list", format!("`{}` is not a number ({e})", s.trim()))
                    })?;
                    if v.is_finite() && v > 0.0 {
                        Ok(v)
                    } else {
                        Err(err("list", format!("{v} must be finite and > 0")))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            return Self::from_points(points);
        }
        let parts: Vec<&str> = spec.trim().split(':').collect();
        if parts.len() != 3 {
            return Err(err(
                "format",
                format!(
                    "expected start:stop:count (3 parts separated by ':'), got {} part(s)",
                    parts.len()
                ),
            ));
        }
        let value = |part: &'static str, s: &str| -> Result<f64> {
            let v: f64 = s
                .trim()
                .parse()
                .map_err(|e| err(part, format!("`{s}` is not a number ({e})")))?;
            if !(v.is_finite() && v > 0.0) {
                return Err(err(part, format!("{v} must be finite and > 0")));
            }
            Ok(v)
        };
        let start = value("start", parts[0])?;
        let stop = value("stop", parts[1])?;
        let count: usize = parts[2]
            .trim()
            .parse()
            .map_err(|e| err("count", format!("`{}` is not an integer ({e})", parts[2])))?;
        if count < 2 {
            return Err(err("count", format!("{count} must be at least 2")));
        }
        if count > MAX_POINTS {
            return Err(err(
                "count",
                format!("{count} is more than {MAX_POINTS} points"),
            ));
        }
        if start == stop {
            return Err(err(
                "stop",
                format!("equals start ({start:e}): the grid would repeat one point"),
            ));
        }
        let (la, lb) = (start.log10(), stop.log10());
        let last = count - 1;
        let points = (0..count)
            .map(|k| match k {
                0 => start,
                k if k == last => stop,
                k => round_sig(10f64.powf(la + (lb - la) * k as f64 / last as f64)),
            })
            .collect();
        Ok(Self { points })
    }

    /// A grid from explicit points (positive, finite, distinct).
    pub fn from_points(points: Vec<f64>) -> Result<Self> {
        crate::error::check_positive("points", &points)?;
        for (i, a) in points.iter().enumerate() {
            if let Some(j) = points[i + 1..].iter().position(|b| b == a) {
                return Err(AnalysisError::DuplicateEpsilon {
                    epsilon: *a,
                    first: i,
                    second: i + 1 + j,
                });
            }
        }
        Ok(Self { points })
    }

    /// The points, in grid order.
    pub fn points(&self) -> &[f64] {
        &self.points
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the grid is empty (never for a parsed grid).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// `v` rounded to 12 significant decimal digits.
fn round_sig(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_order_and_exact_ends() {
        let down = EpsGrid::parse("1e-3:1e-9:13").unwrap();
        let up = EpsGrid::parse(" 1e-9 : 1e-3 : 13 ").unwrap();
        assert_eq!(down.len(), 13);
        for (a, b) in down.points().iter().zip(up.points().iter().rev()) {
            assert!((a / b - 1.0).abs() < 1e-11);
        }
        assert_eq!(up.points()[0], 1e-9);
        assert_eq!(up.points()[12], 1e-3);
        let ratios: Vec<f64> = down.points().windows(2).map(|w| w[0] / w[1]).collect();
        for r in ratios {
            assert!((r / 10f64.powf(0.5) - 1.0).abs() < 1e-11);
        }
        assert_eq!(EpsGrid::parse("0.1:0.2:2").unwrap().points(), &[0.1, 0.2]);
        // Decade points are the literals.
        let decades: Vec<f64> = down.points().iter().step_by(2).copied().collect();
        assert_eq!(decades, vec![1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]);
    }

    #[test]
    fn explicit_lists() {
        let g = EpsGrid::parse("1e-2, 1e-3,5e-4").unwrap();
        assert_eq!(g.points(), &[1e-2, 1e-3, 5e-4]);
        assert_eq!(EpsGrid::parse(" 1e-2 ").unwrap().points(), &[1e-2]);
        assert!(matches!(
            EpsGrid::parse("1e-2,x"),
            Err(AnalysisError::GridSpec { part: "list", .. })
        ));
        assert!(EpsGrid::parse("1e-2,-1").is_err());
        assert!(matches!(
            EpsGrid::parse("1e-2,1e-2"),
            Err(AnalysisError::DuplicateEpsilon { .. })
        ));
    }

    #[test]
    fn errors_name_the_part() {
        let part = |s: &str| match EpsGrid::parse(s) {
            Err(AnalysisError::GridSpec { part, .. }) => part,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(part("1e-3:1e-9"), "format");
        assert_eq!(part("abc"), "list");
        assert_eq!(part(""), "list");
        assert_eq!(part("1e-3:1e-9:13:4"), "format");
        assert_eq!(part("abc:1e-9:13"), "start");
        assert_eq!(part("-1e-3:1e-9:13"), "start");
        assert_eq!(part("1e-3:0:13"), "stop");
        assert_eq!(part("1e-3:inf:13"), "stop");
        assert_eq!(part("1e-3:1e-9:1"), "count");
        assert_eq!(part("1e-3:1e-9:x"), "count");
        assert_eq!(part("1e-3:1e-9:-3"), "count");
        assert_eq!(part("1e-3:1e-3:3"), "stop");
        let msg = EpsGrid::parse("1e-3:zz:5").unwrap_err().to_string();
        assert!(msg.contains("stop") && msg.contains("zz"), "{msg}");
    }

    #[test]
    fn from_points_rejects_duplicates() {
        assert!(matches!(
            EpsGrid::from_points(vec![1e-3, 1e-4, 1e-3]),
            Err(AnalysisError::DuplicateEpsilon {
                first: 0,
                second: 2,
                ..
            })
        ));
        assert!(EpsGrid::new(1e-3, 1e-5, 3).is_ok());
    }
}
