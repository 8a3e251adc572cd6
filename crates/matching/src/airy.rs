//! The Airy layer at a fold: the normal form of the passage, from the system's own
//! derivatives at the fold, and the `ε^{2/3}` delay of the jump it gives.
//!
//! At a fold `(x_f, y_f)` of `ε y' = f(x, y)`, `x' = g(x, y)` the fast Jacobian `f_y` has a
//! simple zero eigenvalue with right and left null vectors `r`, `l` (`l·r = 1`). Writing
//! `y = y_f + η r + …`, `x = x_f + g_f t + …` (`t` from the reduced flow's arrival at the
//! fold) and projecting on `l` gives the normal form
//!
//! ```text
//!   ε η' = A t + B η²,      A = l·f_x g,      B = ½ l·f_yy(r, r),
//! ```
//!
//! all at the fold (`A B > 0` for a fold the reduced flow reaches from the attracting
//! side). With `t = ε^{2/3}(AB)^{-1/3} s` and `η = −ε^{1/3}(AB)^{1/3} B⁻¹ Y` it is the Riccati
//! equation `Y' = −s − Y²`, solved by `Y = d/ds ln Ai(−s) = −Ai'(−s)/Ai(−s)`
//! ([`crate::airy_riccati`]): `Y` blows up — the jump — where `Ai(−s) = 0`, at `s = |a₁|`,
//! `a₁` the first zero of Ai. The jump is therefore
//! delayed past the reduced fold time by
//!
//! ```text
//!   Δt = |a₁| ε^{2/3} (A B)^{-1/3},
//! ```
//!
//! during which the slow variables drift on by `g_f Δt` (E. F. Mishchenko & N. Kh. Rozov,
//! *Differential Equations with Small Parameters and Relaxation Oscillations*, Plenum 1980,
//! ch. II–III; J. Grasman, *Asymptotic Methods for Relaxation Oscillations and
//! Applications*, Springer 1987, §2.2; C. M. Bender & S. A. Orszag, *Advanced Mathematical
//! Methods for Scientists and Engineers*, McGraw–Hill 1978, §11.2 for the Airy Riccati
//! equation). For van der Pol (`x' = −y`, `ε y' = x − y³/3 + y`) at `(−2/3, 1)`:
//! `A = 1·(−1) = −1`, `B = ½(−2) = −1`, `Δt = |a₁| ε^{2/3}`.
//!
//! `f_x` and `f_y` are the system's Jacobian blocks (analytic when it has them, central
//! differences otherwise); `f_yy(r, r)` is the central second difference
//! `(f(y + h r) − 2 f(y) + f(y − h r))/h²`, `h = 10⁻⁴(1 + |y_f|)`. Nothing is typed in per
//! problem.
//!
//! ```
//! use timescales_matching::{AIRY_A1, fold_normal_form};
//! use timescales_ode::SlowFastSystem;
//! /// s' = −1, ε u' = u² − s: a fold at (0, 0) with A = B = 1.
//! struct Fold;
//! impl SlowFastSystem for Fold {
//!     fn slow_dim(&self) -> usize { 1 }
//!     fn fast_dim(&self) -> usize { 1 }
//!     fn slow_field(&self, _x: &[f64], _y: &[f64], _e: f64, o: &mut [f64]) { o[0] = -1.0; }
//!     fn fast_field(&self, x: &[f64], y: &[f64], _e: f64, o: &mut [f64]) { o[0] = y[0] * y[0] - x[0]; }
//! }
//! let nf = fold_normal_form(&Fold, &[0.0], &[0.0])?;
//! assert!((nf.a - 1.0).abs() < 1e-6 && (nf.b - 1.0).abs() < 1e-6);
//! assert!((nf.delay(1e-3) - AIRY_A1.abs() * 1e-2).abs() < 1e-8);
//! # Ok::<(), timescales_matching::MatchingError>(())
//! ```

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use timescales_ode::SlowFastSystem;
use timescales_outer::linear::blocks;

use crate::MatchingError;

/// First zero of the Airy function Ai, `a₁ = −2.338107410459767…` (NIST DLMF §9.9,
/// Table 9.9.1; Abramowitz & Stegun Table 10.13).
pub const AIRY_A1: f64 = -2.338_107_410_459_767;

/// The normal form `ε η' = A t + B η²` of the passage through a fold (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldNormalForm {
    /// Slow state of the fold.
    pub x: Vec<f64>,
    /// Fast state of the fold.
    pub y: Vec<f64>,
    /// Slow velocity `g(x_f, y_f, 0)` there.
    pub g: Vec<f64>,
    /// Right null vector `r` of `∂f/∂y` (unit).
    pub r: Vec<f64>,
    /// Left null vector `l`, `l·r = 1`.
    pub l: Vec<f64>,
    /// `A = l·f_x g`: how fast the flow unfolds the fold.
    pub a: f64,
    /// `B = ½ l·f_yy(r, r)`: the curvature of the critical manifold there.
    pub b: f64,
}

impl FoldNormalForm {
    /// `|a₁| (A B)^{-1/3}`: the delay in units of `ε^{2/3}`.
    pub fn delay_coefficient(&self) -> f64 {
        AIRY_A1.abs() / (self.a * self.b).cbrt()
    }

    /// The Airy layer's unit of time, `ε^{2/3} (A B)^{-1/3}` (`t − t_f` per unit of `s`).
    pub fn time_scale(&self, eps: f64) -> f64 {
        eps.powf(2.0 / 3.0) / (self.a * self.b).cbrt()
    }

    /// The delay of the jump past the reduced fold time, `Δt = |a₁| ε^{2/3} (A B)^{-1/3}`.
    pub fn delay(&self, eps: f64) -> f64 {
        self.delay_coefficient() * eps.powf(2.0 / 3.0)
    }

    /// The slow state when the jump leaves, `x_f + g_f Δt` (to `O(ε)`).
    pub fn jump_start(&self, eps: f64) -> Vec<f64> {
        let d = self.delay(eps);
        self.x.iter().zip(&self.g).map(|(x, g)| x + d * g).collect()
    }
}

/// The normal form of the fold at `(x, y)` from the system's derivatives there (module
/// documentation).
///
/// # Errors
/// [`MatchingError::DegenerateFold`] when `∂f/∂y` has no simple zero singular value there,
/// or `A B ≤ 0` (a fold the flow does not reach from the attracting side, a transcritical
/// or higher-order point), or a non-finite coefficient.
pub fn fold_normal_form<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x: &[f64],
    y: &[f64],
) -> Result<FoldNormalForm, MatchingError> {
    let (n, m) = (sys.slow_dim(), sys.fast_dim());
    let degenerate = |reason: String| MatchingError::DegenerateFold {
        x: x.to_vec(),
        y: y.to_vec(),
        reason,
    };
    if x.len() != n || y.len() != m || m == 0 {
        return Err(MatchingError::InvalidRequest(format!(
            "a fold of a system with {n} slow and {m} fast variables needs x and y of those lengths, got {} and {}",
            x.len(),
            y.len()
        )));
    }
    let bl = blocks(sys, x, y, 0.0);
    if bl.fy.iter().chain(bl.fx.iter()).any(|v| !v.is_finite()) {
        return Err(degenerate("∂f/∂x or ∂f/∂y is not finite".into()));
    }
    let (r, l) = null_vectors(&bl.fy)
        .ok_or_else(|| degenerate("∂f/∂y has no simple zero singular value (SVD failed)".into()))?;
    let mut g = vec![0.0; n];
    sys.slow_field(x, y, 0.0, &mut g);
    let fxg: Vec<f64> = (0..m)
        .map(|i| (0..n).map(|j| bl.fx[(i, j)] * g[j]).sum())
        .collect();
    let a: f64 = l.iter().zip(&fxg).map(|(l, v)| l * v).sum();
    let h = 1e-4 * (1.0 + y.iter().fold(0.0f64, |s, v| s.max(v.abs())));
    let eval = |s: f64| {
        let yy: Vec<f64> = y.iter().zip(&r).map(|(y, r)| y + s * h * r).collect();
        let mut f = vec![0.0; m];
        sys.fast_field(x, &yy, 0.0, &mut f);
        f
    };
    let (fp, f0, fm) = (eval(1.0), eval(0.0), eval(-1.0));
    let b: f64 = 0.5
        * (0..m)
            .map(|i| l[i] * (fp[i] - 2.0 * f0[i] + fm[i]) / (h * h))
            .sum::<f64>();
    if !(a.is_finite() && b.is_finite()) {
        return Err(degenerate(format!("A = {a}, B = {b} are not finite")));
    }
    let scale = bl.fy.amax().max(bl.fx.amax()).max(1.0);
    if a * b <= 0.0 || a.abs() < 1e-9 * scale || b.abs() < 1e-9 * scale {
        return Err(degenerate(format!(
            "the normal form ε η' = A t + B η² has A = {a:e}, B = {b:e}: a jump needs A B > 0"
        )));
    }
    Ok(FoldNormalForm {
        x: x.to_vec(),
        y: y.to_vec(),
        g,
        r,
        l,
        a,
        b,
    })
}

/// Right (unit) and left (`l·r = 1`) null vectors of `f_y`: the singular vectors of its
/// smallest singular value.
fn null_vectors(fy: &DMatrix<f64>) -> Option<(Vec<f64>, Vec<f64>)> {
    let m = fy.nrows();
    if m == 1 {
        return Some((vec![1.0], vec![1.0]));
    }
    let svd = fy.clone().svd(true, true);
    let (u, vt) = (svd.u?, svd.v_t?);
    let k = svd
        .singular_values
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?
        .0;
    let r: Vec<f64> = vt.row(k).iter().copied().collect();
    let l: Vec<f64> = u.column(k).iter().copied().collect();
    let lr: f64 = l.iter().zip(&r).map(|(a, b)| a * b).sum();
    if lr.abs() < 1e-8 {
        return None;
    }
    Some((r, l.iter().map(|v| v / lr).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_ode::{Direction, Dopri5, Event, OdeSystem, Recorder, SolverOptions, integrate};
    use timescales_systems::builtin::{self, fold, van_der_pol};

    /// The Riccati normal form `Y' = −s − Y²` from the attracting branch `Y = √(−s)` at
    /// `s = −8` blows up at `s = |a₁|`: the constant is checked against the equation
    /// itself, integrated independently of any Airy routine.
    #[test]
    fn riccati_normal_form_blows_up_at_the_first_airy_zero() {
        struct Riccati;
        impl OdeSystem for Riccati {
            fn dim(&self) -> usize {
                2
            }
            fn rhs(&self, u: &[f64], du: &mut [f64]) {
                du[0] = 1.0;
                du[1] = -u[0] - u[1] * u[1];
            }
        }
        let s0 = -8.0f64;
        // Start on the slow manifold with its first correction: Y = √(−s) + 1/(4s).
        let y0 = (-s0).sqrt() + 1.0 / (4.0 * s0);
        let opts = SolverOptions {
            rtol: 1e-12,
            atol: 1e-12,
            ..SolverOptions::default()
        };
        let mut solver = Dopri5::new(Riccati, s0, &[s0, y0], &opts).unwrap();
        let mut ev = [Event::new(|_t, u: &[f64]| u[1] + 1e4).direction(Direction::Falling)];
        let mut rec = Recorder::new(vec!["s".into(), "Y".into()]);
        let out = integrate(&mut solver, &[10.0], &mut ev, &mut rec).unwrap();
        let timescales_ode::Stop::Event(hit) = out.stop else {
            panic!("no blow-up: {:?}", out.stop)
        };
        // Y ≈ 1/(s − s*) near the pole: s* = s(Y = −10⁴) + 10⁻⁴.
        let pole = hit.state[0] + 1e-4;
        assert!((pole - AIRY_A1.abs()).abs() < 1e-5, "{pole}");
    }

    #[test]
    fn fold_problem_delay_is_the_published_airy_delay() {
        // Krupa & Szmolyan's fold: t* = s₀ + |a₁| ε^{2/3} (builtin::fold docs).
        let nf = fold_normal_form(&fold::Fold, &[0.0], &[0.0]).unwrap();
        for eps in [1e-2f64, 1e-4] {
            let expect = AIRY_A1.abs() * eps.powf(2.0 / 3.0);
            assert!((nf.delay(eps) - expect).abs() < 1e-7 * expect, "{eps}");
        }
        assert_eq!(builtin::AIRY_A1, AIRY_A1);
    }

    #[test]
    fn van_der_pol_folds_have_unit_coefficients() {
        for (x, y) in [(-2.0 / 3.0, 1.0), (2.0 / 3.0, -1.0)] {
            let nf = fold_normal_form(&van_der_pol::VanDerPol, &[x], &[y]).unwrap();
            assert!((nf.a * nf.b - 1.0).abs() < 1e-7, "{nf:?}");
            assert!((nf.delay_coefficient() - AIRY_A1.abs()).abs() < 1e-6);
        }
    }

    #[test]
    fn a_fold_the_flow_leaves_is_degenerate() {
        // The fold problem with the slow flow reversed (s' = +1) moves away from the fold:
        // A B < 0, no jump.
        struct Away;
        impl SlowFastSystem for Away {
            fn slow_dim(&self) -> usize {
                1
            }
            fn fast_dim(&self) -> usize {
                1
            }
            fn slow_field(&self, _x: &[f64], _y: &[f64], _e: f64, o: &mut [f64]) {
                o[0] = 1.0;
            }
            fn fast_field(&self, x: &[f64], y: &[f64], _e: f64, o: &mut [f64]) {
                o[0] = y[0] * y[0] - x[0];
            }
        }
        let e = fold_normal_form(&Away, &[0.0], &[0.0]).unwrap_err();
        assert!(matches!(e, MatchingError::DegenerateFold { .. }), "{e:?}");
        assert!(e.to_string().contains("A B > 0"), "{e}");
    }

    #[test]
    fn two_fast_variables_use_the_null_vectors() {
        // ε u' = u² − s, ε w' = −w + u: fold at (0, 0, 0) with r = (1, 1)/√2, l = (√2, 0):
        // A = √2, B = √2/2, A B = 1 as for the scalar fold (w is slaved).
        struct Fold2;
        impl SlowFastSystem for Fold2 {
            fn slow_dim(&self) -> usize {
                1
            }
            fn fast_dim(&self) -> usize {
                2
            }
            fn slow_field(&self, _x: &[f64], _y: &[f64], _e: f64, o: &mut [f64]) {
                o[0] = -1.0;
            }
            fn fast_field(&self, x: &[f64], y: &[f64], _e: f64, o: &mut [f64]) {
                o[0] = y[0] * y[0] - x[0];
                o[1] = -y[1] + y[0];
            }
        }
        let nf = fold_normal_form(&Fold2, &[0.0], &[0.0, 0.0]).unwrap();
        assert!((nf.a * nf.b - 1.0).abs() < 1e-6, "{nf:?}");
    }
}
