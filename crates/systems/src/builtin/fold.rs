//! The canonical fold (saddle-node) of the slow manifold (M. Krupa & P. Szmolyan,
//! "Extending geometric singular perturbation theory to nonhyperbolic points — fold and
//! canard points in two dimensions", SIAM J. Math. Anal. 33 (2001) 286–314, normal form
//! with the slow drift made exact):
//!
//! ```text
//!   s' = −1,      ε u' = u² − s,      s(0) = 1, u(0) = 0.
//! ```
//!
//! The attracting branch `u = −√s` (`∂f/∂u = 2u < 0`) ends at the fold `s = 0`, reached at
//! `t = s₀`. With `s = s₀ − t` the fast equation is a Riccati equation solved by Airy
//! functions: `u = ε^{1/3} φ'(ξ)/φ(ξ)`, `φ = Ai + (exponentially small) Bi`,
//! `ξ = (s₀ − t)/ε^{2/3}`, so `u` blows up (the jump) at
//!
//! ```text
//!   t* = s₀ + |a₁| ε^{2/3}  (up to exponentially small terms),
//! ```
//!
//! with `a₁` the first zero of Ai ([`AIRY_A1`]); near it `1/u = (t* − t)/ε (1 + O((t*−t)²/ε^{4/3}))`.
//! Layer from `(1, 0)`: `u = −tanh τ`.

use super::*;

/// The system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fold;

impl SlowFastSystem for Fold {
    fn slow_dim(&self) -> usize {
        1
    }
    fn fast_dim(&self) -> usize {
        1
    }
    fn slow_names(&self) -> Vec<String> {
        vec!["s".into()]
    }
    fn fast_names(&self) -> Vec<String> {
        vec!["u".into()]
    }
    fn slow_field(&self, _x: &[f64], _y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = -1.0;
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = y[0] * y[0] - x[0];
    }
    fn jacobian(&self, _x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
        b.gx[(0, 0)] = 0.0;
        b.gy[(0, 0)] = 0.0;
        b.fx[(0, 0)] = -1.0;
        b.fy[(0, 0)] = 2.0 * y[0];
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

/// Time of the fold of the reduced flow from `s₀`: `t = s₀`.
pub fn fold_time(s0: f64) -> f64 {
    s0
}

/// Blow-up (jump) time of the full solution, `s₀ + |a₁| ε^{2/3}`.
pub fn jump_time(s0: f64, eps: f64) -> f64 {
    s0 + AIRY_A1.abs() * eps.powf(2.0 / 3.0)
}

/// Reduced `(s, u) = (1 − t, −√(1 − t))`.
pub fn reduced(t: f64) -> Vec<f64> {
    vec![1.0 - t, -(1.0 - t).sqrt()]
}

/// Layer `u = −tanh τ`.
pub fn layer(tau: f64) -> Vec<f64> {
    vec![-tau.tanh()]
}

/// The problem entry.
pub fn problem() -> Problem {
    Problem {
        name: "fold",
        summary: "s' = -1, eps*u' = u^2 - s (attracting branch u = -sqrt(s) folds at s = 0)",
        provenance: "fold at t = s0; jump at s0 + |a1| eps^(2/3), a1 = first Airy zero (DLMF Table 9.9.1); Krupa & Szmolyan (2001)",
        system: Box::new(Fold),
        x0: vec![1.0],
        y0: vec![0.0],
        t_end: 0.5,
        exact: None,
        reduced_exact: Some(reduced),
        layer_exact: Some(layer),
    }
}
