//! Newton's method with a backtracking line search for the slow manifold `f(x, y, 0) = 0`.

use nalgebra::DVector;
use serde::{Deserialize, Serialize};
use timescales_ode::SlowFastSystem;

use crate::OuterError;
use crate::linear::{blocks, factor_fast};

/// Options of [`solve_fast`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NewtonOptions {
    /// Converged when a full Newton step is below `tol · (1 + ‖y‖∞)` in max-norm.
    pub tol: f64,
    /// Most iterations.
    pub max_iter: usize,
    /// Smallest line-search factor before giving up.
    pub min_step: f64,
}

impl Default for NewtonOptions {
    fn default() -> Self {
        Self {
            tol: 1e-13,
            max_iter: 50,
            min_step: 1e-8,
        }
    }
}

/// A converged Newton solve.
#[derive(Debug, Clone, PartialEq)]
pub struct NewtonReport {
    /// The root `y` of `f(x, ·, ε) = 0`.
    pub y: Vec<f64>,
    /// Iterations used.
    pub iterations: usize,
    /// `‖f(x, y, ε)‖∞` at the root.
    pub residual: f64,
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Solves `f(x, y, ε) = 0` for `y` from `y_guess`: Newton steps `δ = −(∂f/∂y)⁻¹ f`,
/// each damped by halving `λ` until the Armijo condition
/// `‖f(y + λδ)‖₂ ≤ (1 − 10⁻⁴ λ) ‖f(y)‖₂` holds. The root found is the one the guess is
/// attracted to — that is how a branch is chosen.
///
/// # Errors
/// [`OuterError::SingularFastJacobian`] where `∂f/∂y` is singular,
/// [`OuterError::NewtonFailed`] when the line search or the iteration budget runs out.
pub fn solve_fast<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x: &[f64],
    y_guess: &[f64],
    eps: f64,
    opts: &NewtonOptions,
) -> Result<NewtonReport, OuterError> {
    let m = sys.fast_dim();
    if y_guess.len() != m || x.len() != sys.slow_dim() {
        return Err(OuterError::InvalidRequest(format!(
            "Newton needs {} slow and {m} fast values, got {} and {}",
            sys.slow_dim(),
            x.len(),
            y_guess.len()
        )));
    }
    let mut y = y_guess.to_vec();
    let mut f = vec![0.0; m];
    sys.fast_field(x, &y, eps, &mut f);
    let norm2 = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let mut r = norm2(&f);
    let fail = |y: &[f64], f: &[f64], it: usize, reason: &str| OuterError::NewtonFailed {
        x: x.to_vec(),
        y: y.to_vec(),
        residual: norm_inf(f),
        iterations: it,
        reason: reason.to_string(),
    };
    if !r.is_finite() {
        return Err(fail(&y, &f, 0, "f is not finite at the initial guess"));
    }
    let mut trial = vec![0.0; m];
    let mut f_trial = vec![0.0; m];
    for it in 1..=opts.max_iter {
        if r == 0.0 {
            return Ok(NewtonReport {
                y,
                iterations: it - 1,
                residual: 0.0,
            });
        }
        let b = blocks(sys, x, &y, eps);
        let lu = factor_fast(&b.fy).ok_or_else(|| OuterError::SingularFastJacobian {
            x: x.to_vec(),
            y: y.clone(),
        })?;
        let delta = lu.solve(&DVector::from_column_slice(&f)).ok_or_else(|| {
            OuterError::SingularFastJacobian {
                x: x.to_vec(),
                y: y.clone(),
            }
        })?;
        let mut lambda = 1.0;
        loop {
            for i in 0..m {
                trial[i] = y[i] - lambda * delta[i];
            }
            sys.fast_field(x, &trial, eps, &mut f_trial);
            let rt = norm2(&f_trial);
            if rt.is_finite() && rt <= (1.0 - 1e-4 * lambda) * r {
                break;
            }
            // A full step that already meets the step tolerance is accepted even if
            // rounding keeps |f| from decreasing.
            let step = lambda * norm_inf(delta.as_slice());
            if rt.is_finite() && step <= opts.tol * (1.0 + norm_inf(&y)) {
                break;
            }
            lambda *= 0.5;
            if lambda < opts.min_step {
                return Err(fail(&y, &f, it, "line search found no decrease of |f|"));
            }
        }
        let step = lambda * norm_inf(delta.as_slice());
        std::mem::swap(&mut y, &mut trial);
        std::mem::swap(&mut f, &mut f_trial);
        r = norm2(&f);
        if lambda == 1.0 && step <= opts.tol * (1.0 + norm_inf(&y)) {
            return Ok(NewtonReport {
                y,
                iterations: it,
                residual: norm_inf(&f),
            });
        }
    }
    Err(fail(&y, &f, opts.max_iter, "iteration limit reached"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_systems::builtin::{fold::Fold, van_der_pol::VanDerPol};

    #[test]
    fn converges_quadratically_to_the_branch_of_the_guess() {
        // van der Pol at x = 2/3: roots y = 2 (attracting) and y = −1 (double, the fold).
        let opts = NewtonOptions::default();
        let r = solve_fast(&VanDerPol, &[2.0 / 3.0], &[3.0], 0.0, &opts).unwrap();
        assert!((r.y[0] - 2.0).abs() < 1e-14, "{r:?}");
        assert!(r.iterations <= 7, "{r:?}");
        // The fold problem at s = 0.25 has u = ±1/2; guesses pick the branch.
        let lo = solve_fast(&Fold, &[0.25], &[-2.0], 0.0, &opts).unwrap();
        let hi = solve_fast(&Fold, &[0.25], &[2.0], 0.0, &opts).unwrap();
        assert!((lo.y[0] + 0.5).abs() < 1e-15 && (hi.y[0] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn no_root_beyond_the_fold_is_an_error() {
        // u² − s = 0 has no real root for s < 0.
        let e = solve_fast(&Fold, &[-0.1], &[-0.3], 0.0, &NewtonOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                OuterError::NewtonFailed { .. } | OuterError::SingularFastJacobian { .. }
            ),
            "{e:?}"
        );
    }
}
