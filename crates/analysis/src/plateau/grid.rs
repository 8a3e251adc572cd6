//! The log-time grid the detector works on: the curve in `x = ln t` with its smoothed risk
//! and descent rate `G` ([`Curve`]), and where a segment crosses a level ([`cross`]).

use crate::curve::interp_clamped;

/// The log-time grid and the curve on it.
pub(super) struct Curve {
    pub(super) x: Vec<f64>,
    pub(super) r: Vec<f64>,
    /// Smoothed risk (value of the local quadratic fit).
    pub(super) smooth: Vec<f64>,
    pub(super) g: Vec<f64>,
    /// Standard deviation of each sample of `r`, when known (see
    /// [`PlateauDetector::detect_with_noise`](super::PlateauDetector::detect_with_noise)).
    pub(super) sd: Option<Vec<f64>>,
}

impl Curve {
    /// Risk at `xv`, linearly interpolated in `x` (clamped to the grid).
    pub(super) fn risk_at(&self, xv: f64) -> f64 {
        interp_clamped(&self.x, &self.r, xv)
    }

    /// Smoothed risk at `xv`, linearly interpolated.
    pub(super) fn smooth_at(&self, xv: f64) -> f64 {
        interp_clamped(&self.x, &self.smooth, xv)
    }

    /// The noise of the difference of the risk between `xa` and `xb`,
    /// `√(sd(xa)² + sd(xb)²)` (linearly interpolated); 0 when no noise is known.
    pub(super) fn noise_between(&self, xa: f64, xb: f64) -> f64 {
        self.sd.as_ref().map_or(0.0, |sd| {
            let (a, b) = (
                interp_clamped(&self.x, sd, xa),
                interp_clamped(&self.x, sd, xb),
            );
            (a * a + b * b).sqrt()
        })
    }

    /// Robust noise estimate `1.4826 · √2 · median |R_i − R̂_i|` (the `√2` roughly undoes the
    /// shrinkage of a residual at a point that its own fit includes).
    pub(super) fn noise(&self) -> f64 {
        let mut e: Vec<f64> = self
            .r
            .iter()
            .zip(&self.smooth)
            .map(|(a, b)| (a - b).abs())
            .collect();
        e.sort_by(f64::total_cmp);
        1.4826 * std::f64::consts::SQRT_2 * e[e.len() / 2]
    }
}

/// `x` where the segment `(xa, ga)–(xb, gb)` crosses `thr` (clamped to the segment).
pub(super) fn cross(xa: f64, ga: f64, xb: f64, gb: f64, thr: f64) -> f64 {
    if (gb - ga).abs() <= f64::MIN_POSITIVE {
        return 0.5 * (xa + xb);
    }
    let w = ((thr - ga) / (gb - ga)).clamp(0.0, 1.0);
    xa + w * (xb - xa)
}
