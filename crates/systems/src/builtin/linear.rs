//! The linear two-timescale problem `x' = y`, `ε y' = −x − (1+ε) y`, i.e. the initial-value
//! version of Bender & Orszag's example `ε u'' + (1+ε) u' + u = 0` (C. M. Bender,
//! S. A. Orszag, *Advanced Mathematical Methods for Scientists and Engineers*, McGraw-Hill
//! 1978, §9.1). Its characteristic polynomial factors as `(ελ + 1)(λ + 1)`, so from
//! `x(0) = 1`, `y(0) = 0`
//!
//! ```text
//!   x(t) = (e^{−t} − ε e^{−t/ε}) / (1 − ε),     y(t) = (e^{−t/ε} − e^{−t}) / (1 − ε).
//! ```
//!
//! Reduced: `Y₀ = −X₀`, `X₀ = e^{−t}`; layer: `η₀(τ) = −1 + e^{−τ}`; first-order outer
//! `X₁ = e^{−t}` (the field depends on ε, so `∂f/∂ε = −y` enters the correction).

use super::*;

/// The system (no parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct Linear;

impl SlowFastSystem for Linear {
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
        out[0] = y[0];
    }
    fn fast_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        out[0] = -x[0] - (1.0 + eps) * y[0];
    }
    fn jacobian(&self, _x: &[f64], _y: &[f64], eps: f64, b: &mut JacobianBlocks) -> bool {
        b.gx[(0, 0)] = 0.0;
        b.gy[(0, 0)] = 1.0;
        b.fx[(0, 0)] = -1.0;
        b.fy[(0, 0)] = -(1.0 + eps);
        true
    }
    fn eps_derivative(
        &self,
        _x: &[f64],
        y: &[f64],
        _eps: f64,
        g_eps: &mut [f64],
        f_eps: &mut [f64],
    ) -> bool {
        g_eps[0] = 0.0;
        f_eps[0] = -y[0];
        true
    }
}

/// Exact solution from `(1, 0)`.
pub fn exact(t: f64, eps: f64) -> Vec<f64> {
    let (slow, fast) = ((-t).exp(), (-t / eps).exp());
    vec![
        (slow - eps * fast) / (1.0 - eps),
        (fast - slow) / (1.0 - eps),
    ]
}

/// Reduced solution `(X₀, Y₀) = (e^{−t}, −e^{−t})`.
pub fn reduced(t: f64) -> Vec<f64> {
    vec![(-t).exp(), -(-t).exp()]
}

/// Layer `η₀(τ) = −1 + e^{−τ}`.
pub fn layer(tau: f64) -> Vec<f64> {
    vec![-1.0 + (-tau).exp()]
}

/// The problem entry.
pub fn problem() -> Problem {
    Problem {
        name: "linear",
        summary: "x' = y, eps*y' = -x - (1+eps)*y (exact solution)",
        provenance: "closed form from the characteristic roots -1, -1/eps; Bender & Orszag (1978) §9.1",
        system: Box::new(Linear),
        x0: vec![1.0],
        y0: vec![0.0],
        t_end: 2.0,
        exact: Some(exact),
        reduced_exact: Some(reduced),
        layer_exact: Some(layer),
    }
}
