//! Following the branch `y = h(x)`: Newton from the tangent predictor ([`Tracker`]), and
//! the quantities of the first-order outer problem at a point of the branch ([`Local`]).

use nalgebra::{DMatrix, DVector, Dyn, LU};
use timescales_ode::SlowFastSystem;

use crate::linear::{attractivity, blocks, factor_fast};
use crate::{NewtonOptions, OuterError, solve_fast};

/// Follows a branch `y = h(x)` by Newton from the tangent predictor `y_a + H_a (x − x_a)`.
#[derive(Debug, Clone)]
pub(super) struct Tracker {
    pub(super) x: Vec<f64>,
    pub(super) y: Vec<f64>,
    pub(super) h: DMatrix<f64>,
}

impl Tracker {
    pub(super) fn follow<S: SlowFastSystem + ?Sized>(
        &self,
        sys: &S,
        x: &[f64],
        opts: &NewtonOptions,
    ) -> Result<Vec<f64>, OuterError> {
        let dx = DVector::from_iterator(x.len(), x.iter().zip(&self.x).map(|(a, b)| a - b));
        let pred: Vec<f64> = (&self.h * dx)
            .iter()
            .zip(&self.y)
            .map(|(d, y)| y + d)
            .collect();
        let r = solve_fast(sys, x, &pred, 0.0, opts)?;
        // A root far from the predictor belongs to another branch.
        let scale = 1.0 + pred.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let jump =
            r.y.iter()
                .zip(&pred)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        if jump > 0.5 * scale {
            return Err(OuterError::NewtonFailed {
                x: x.to_vec(),
                y: r.y,
                residual: r.residual,
                iterations: r.iterations,
                reason: format!("converged to another branch ({jump:e} away from the predictor)"),
            });
        }
        Ok(r.y)
    }
}

/// Quantities of the first-order outer problem at a point `(x, y = h(x))`.
pub(super) struct Local {
    /// `H = −f_y⁻¹ f_x`.
    pub(super) h: DMatrix<f64>,
    /// `g(x, y, 0)`.
    g: Vec<f64>,
    /// `g_x + g_y H`.
    pub(super) a: DMatrix<f64>,
    /// Factors of `f_y` and the blocks (kept for `Y₁`).
    lu: LU<f64, Dyn, Dyn>,
    fx: DMatrix<f64>,
    gx: DMatrix<f64>,
    gy: DMatrix<f64>,
    pub(super) max_real: f64,
    pub(super) oscillatory: bool,
}

pub(super) fn local<S: SlowFastSystem + ?Sized>(sys: &S, x: &[f64], y: &[f64]) -> Option<Local> {
    let b = blocks(sys, x, y, 0.0);
    let lu = factor_fast(&b.fy)?;
    let h = -lu.solve(&b.fx)?;
    let mut g = vec![0.0; x.len()];
    sys.slow_field(x, y, 0.0, &mut g);
    let a = &b.gx + &b.gy * &h;
    let att = attractivity(&b.fy)?;
    Some(Local {
        h,
        g,
        a,
        lu,
        fx: b.fx,
        gx: b.gx,
        gy: b.gy,
        max_real: att.max_real,
        oscillatory: att.oscillatory,
    })
}

impl Local {
    /// `H g` (= `Y₀'`).
    pub(super) fn dydt(&self) -> DVector<f64> {
        &self.h * DVector::from_column_slice(&self.g)
    }
    /// `(X₁', Y₁)` for the given `X₁` and `(g_ε, f_ε)`.
    pub(super) fn first_order(
        &self,
        x1: &[f64],
        ge: &[f64],
        fe: &[f64],
    ) -> Option<(Vec<f64>, Vec<f64>)> {
        let x1v = DVector::from_column_slice(x1);
        let hg = self.dydt();
        let fev = DVector::from_column_slice(fe);
        // Y₁ = f_y⁻¹ (H g − f_x X₁ − f_ε)
        let y1 = self.lu.solve(&(&hg - &self.fx * &x1v - &fev))?;
        // X₁' = g_x X₁ + g_y Y₁ + g_ε  (= A X₁ + g_y f_y⁻¹(H g − f_ε) + g_ε)
        let dx1 = &self.gx * &x1v + &self.gy * &y1 + DVector::from_column_slice(ge);
        Some((dx1.as_slice().to_vec(), y1.as_slice().to_vec()))
    }
}
