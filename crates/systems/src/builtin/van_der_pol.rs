//! The van der Pol relaxation oscillator in standard slow–fast (Liénard) form: with
//! `u'' − μ(1 − u²)u' + u = 0`, `t = s/μ`, `ε = 1/μ²`,
//!
//! ```text
//!   x' = −y,      ε y' = x − y³/3 + y.
//! ```
//!
//! The critical manifold `x = y³/3 − y` is attracting for `|y| > 1` and folds at
//! `(x, y) = (∓2/3, ±1)`; a jump from the fold `y = 1` lands at `y = −2`. On a branch,
//! `dt = −(y² − 1)/y dy`, so the reduced solution from `y = y₀` solves
//! `y²/2 − ln y = y₀²/2 − ln y₀ − t`, i.e. `y = √(−W₋₁(−e^{−2c}))` with
//! `c = y₀²/2 − ln y₀ − t`. The relaxation period is (A. A. Dorodnitsyn, Prikl. Mat. Mekh.
//! 11 (1947) 313–328; J. Grasman, *Asymptotic Methods for Relaxation Oscillations and
//! Applications*, Springer 1987)
//!
//! ```text
//!   T(ε) = 3 − 2 ln 2 + 3|a₁| ε^{2/3} + O(ε ln ε),      a₁ = first zero of Ai.
//! ```
//!
//! From `x(0) = 2/3`, `y(0) = 0` the layer `dy/dτ = −(y − 2)(y + 1)²/3` lands at `y = 2`
//! and takes `τ(y) = 1 + ln2/3 − ln((2 − y)/(y + 1))/3 − 1/(y + 1)` to reach `y`.

use super::*;

/// The system.
#[derive(Debug, Clone, Copy, Default)]
pub struct VanDerPol;

impl SlowFastSystem for VanDerPol {
    fn slow_dim(&self) -> usize {
        1
    }
    fn fast_dim(&self) -> usize {
        1
    }
    fn slow_names(&self) -> Vec<String> {
        vec!["x".into()]
    }
    fn fast_names(&self) -> Vec<String> {
        vec!["y".into()]
    }
    fn slow_field(&self, _x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = -y[0];
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = x[0] - y[0] * y[0] * y[0] / 3.0 + y[0];
    }
    fn jacobian(&self, _x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
        b.gx[(0, 0)] = 0.0;
        b.gy[(0, 0)] = -1.0;
        b.fx[(0, 0)] = 1.0;
        b.fy[(0, 0)] = 1.0 - y[0] * y[0];
        true
    }
    fn eps_derivative(
        &self,
        _x: &[f64],
        _y: &[f64],
        _eps: f64,
        g_eps: &mut [f64],
        f_eps: &mut [f64],
    ) -> bool {
        g_eps[0] = 0.0;
        f_eps[0] = 0.0;
        true
    }
}

/// Period of the singular (ε → 0) relaxation cycle, `3 − 2 ln 2`.
pub const REDUCED_PERIOD: f64 = 3.0 - 2.0 * std::f64::consts::LN_2;

/// Dorodnitsyn's two-term period `3 − 2 ln 2 + 3|a₁| ε^{2/3}`.
pub fn period(eps: f64) -> f64 {
    REDUCED_PERIOD + 3.0 * AIRY_A1.abs() * eps.powf(2.0 / 3.0)
}

/// Reduced solution on the upper branch from `y(0) = y0 > 1`:
/// `y = √(−W₋₁(−e^{−2c}))`, `c = y₀²/2 − ln y₀ − t`, `x = y³/3 − y`; valid until the
/// fold time `y₀²/2 − ln y₀ − 1/2`.
pub fn reduced_from(t: f64, y0: f64) -> Vec<f64> {
    let c = y0 * y0 / 2.0 - y0.ln() - t;
    let y = (-lambert_wm1(-(-2.0 * c).exp()).unwrap_or(f64::NAN)).sqrt();
    vec![y * y * y / 3.0 - y, y]
}

/// Reduced solution from `x(0) = 2/3` (upper branch point `y = 2`).
pub fn reduced(t: f64) -> Vec<f64> {
    reduced_from(t, 2.0)
}

/// Time of the fold on the upper branch starting from `y₀`: `y₀²/2 − ln y₀ − 1/2`.
pub fn fold_time(y0: f64) -> f64 {
    y0 * y0 / 2.0 - y0.ln() - 0.5
}

/// Layer time to reach `y ∈ [0, 2)` from `y = 0` at `x = 2/3`.
pub fn layer_time(y: f64) -> f64 {
    1.0 + std::f64::consts::LN_2 / 3.0 - ((2.0 - y) / (y + 1.0)).ln() / 3.0 - 1.0 / (y + 1.0)
}

/// The layer `η₀(τ)`, inverting [`layer_time`] by bisection.
pub fn layer(tau: f64) -> Vec<f64> {
    let (mut lo, mut hi) = (0.0, 2.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if layer_time(mid) < tau {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    vec![0.5 * (lo + hi)]
}

/// The problem entry.
pub fn problem() -> Problem {
    Problem {
        name: "van-der-pol",
        summary: "x' = -y, eps*y' = x - y^3/3 + y (relaxation oscillator, folds at y = ±1)",
        provenance: "reduced branch by Lambert W_-1; period 3 - 2 ln 2 + 3|a1| eps^(2/3): Dorodnitsyn (1947), Grasman (1987)",
        system: Box::new(VanDerPol),
        x0: vec![2.0 / 3.0],
        y0: vec![0.0],
        t_end: 0.5,
        exact: None,
        reduced_exact: Some(reduced),
        layer_exact: Some(layer),
    }
}
