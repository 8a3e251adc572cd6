//! Losses of normal hyperbolicity: what kind ([`FoldKind`]), the event reported
//! ([`FoldEvent`]), and where it happens, extrapolated from the last regular samples
//! ([`locate`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::watch::Sample;

/// What kind of loss of normal hyperbolicity stopped the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FoldKind {
    /// A real eigenvalue of `∂f/∂y` tends to zero and the branch ends (saddle-node, the
    /// generic fold where the flow jumps).
    Fold,
    /// A complex pair reaches the imaginary axis (oscillatory, Hopf-like).
    Oscillatory,
    /// A real eigenvalue crossed zero while the branch continued (exchange of stability).
    Crossing,
}

/// Where and how the reduced flow lost normal hyperbolicity. The location is first
/// extrapolated from the last two regular accepted steps with the local normal form: at a
/// fold `max Re λ ∝ (y − y_f) ∝ √(t_f − t)`, at an oscillatory loss `max Re λ ∝ t_f − t`;
/// a fold ([`FoldKind::Fold`]) is then solved from the extended system
/// `f = 0, det ∂f/∂y = 0` by Newton (`solved` says whether that succeeded; see
/// [`solve_reduced`](crate::solve_reduced)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldEvent {
    /// Kind of loss.
    pub kind: FoldKind,
    /// Estimated time of the loss.
    pub t: f64,
    /// Estimated slow state there.
    pub x: Vec<f64>,
    /// Estimated fast state there.
    pub y: Vec<f64>,
    /// Last time at which the branch was regular and attracting.
    pub t_regular: f64,
    /// Largest real part of the eigenvalues of `∂f/∂y` there.
    pub max_real_regular: f64,
    /// Slow state at the last regular point.
    pub x_regular: Vec<f64>,
    /// Fast state at the last regular point.
    pub y_regular: Vec<f64>,
    /// Whether `(t, x, y)` were solved from the extended system (otherwise extrapolated).
    pub solved: bool,
}

impl fmt::Display for FoldEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FoldKind::Fold => "fold of the slow manifold (a real eigenvalue of ∂f/∂y reaches 0)",
            FoldKind::Oscillatory => {
                "oscillatory loss of attractivity (a complex pair of ∂f/∂y reaches the imaginary axis)"
            }
            FoldKind::Crossing => "exchange of stability (a real eigenvalue of ∂f/∂y crosses 0)",
        };
        let how = if self.solved {
            "solved from f = 0, det ∂f/∂y = 0"
        } else {
            "extrapolated"
        };
        write!(
            f,
            "loss of normal hyperbolicity: {what} at t ≈ {:.10}, x ≈ {:?}, y ≈ {:?} ({how}; last regular point t = {:.10}, max Re λ = {:e})",
            self.t, self.x, self.y, self.t_regular, self.max_real_regular
        )
    }
}

/// Extrapolates the loss of hyperbolicity from two regular samples `a` (older) and `b`
/// (newer, closer to it), or interpolates to a crossing when `stop` has `max Re λ ≥ 0`.
pub(super) fn locate(regular: &[Sample], stop: Option<&Sample>) -> Option<FoldEvent> {
    let lerp = |a: &[f64], b: &[f64], w: f64| -> Vec<f64> {
        a.iter().zip(b).map(|(p, q)| q + w * (q - p)).collect()
    };
    let mut pts: Vec<&Sample> = regular.iter().collect();
    if let Some(s) = stop {
        if s.max_real >= 0.0 {
            let b = *pts.last()?;
            // Linear interpolation of max Re λ between b (< 0) and s (≥ 0).
            let th = -b.max_real / (s.max_real - b.max_real);
            let kind = if s.oscillatory {
                FoldKind::Oscillatory
            } else {
                FoldKind::Crossing
            };
            return Some(FoldEvent {
                kind,
                t: b.t + th * (s.t - b.t),
                x: b.x
                    .iter()
                    .zip(&s.x)
                    .map(|(p, q)| p + th * (q - p))
                    .collect(),
                y: b.y
                    .iter()
                    .zip(&s.y)
                    .map(|(p, q)| p + th * (q - p))
                    .collect(),
                t_regular: b.t,
                max_real_regular: b.max_real,
                x_regular: b.x.clone(),
                y_regular: b.y.clone(),
                solved: false,
            });
        }
        pts.push(s);
    }
    let b = *pts.last()?;
    let event = |kind, t, x, y| FoldEvent {
        kind,
        t,
        x,
        y,
        t_regular: b.t,
        max_real_regular: b.max_real,
        x_regular: b.x.clone(),
        y_regular: b.y.clone(),
        solved: false,
    };
    let kind = if b.oscillatory {
        FoldKind::Oscillatory
    } else {
        FoldKind::Fold
    };
    if pts.len() < 2 {
        return Some(event(kind, b.t, b.x.clone(), b.y.clone()));
    }
    let a = pts[pts.len() - 2];
    let (ma, mb) = (a.max_real, b.max_real);
    if mb <= ma {
        return Some(event(kind, b.t, b.x.clone(), b.y.clone()));
    }
    if b.oscillatory {
        // Re λ linear in t.
        let w = -mb / (mb - ma);
        Some(event(
            kind,
            b.t + w * (b.t - a.t),
            lerp(&a.x, &b.x, w),
            lerp(&a.y, &b.y, w),
        ))
    } else {
        // Saddle-node: μ linear in y, μ² linear in t and x.
        let w2 = mb * mb / (ma * ma - mb * mb);
        let w1 = -mb / (mb - ma);
        Some(event(
            kind,
            b.t + w2 * (b.t - a.t),
            lerp(&a.x, &b.x, w2),
            lerp(&a.y, &b.y, w1),
        ))
    }
}
