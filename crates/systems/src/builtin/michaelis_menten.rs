//! Michaelis–Menten kinetics in the classical non-dimensional form of L. A. Segel &
//! M. Slemrod, "The quasi-steady-state assumption: a case study in perturbation",
//! SIAM Review 31 (1989) 446–477 (also J. D. Murray, *Mathematical Biology I*, 3rd ed., Springer 2002, §6.1):
//!
//! ```text
//!   s' = −s + (s + K − λ) c,      ε c' = s − (s + K) c,      s(0) = 1, c(0) = 0,
//! ```
//!
//! with `K = 1`, `λ = 1/2` here. The reduced (quasi-steady-state) problem `c = s/(s+K)`,
//! `s' = −λ s/(s+K)` integrates to `s + K ln s = s₀ + K ln s₀ − λ t`, i.e.
//!
//! ```text
//!   s(t) = K · W₀( (s₀/K) · exp((s₀ − λ t)/K) )
//! ```
//!
//! (S. Schnell & C. Mendoza, "Closed form solution for time-dependent enzyme kinetics",
//! J. theor. Biol. 187 (1997) 207–212). The layer is `c = s₀/(s₀+K) (1 − e^{−(s₀+K)τ})`.

use super::*;

/// The system with its two parameters.
#[derive(Debug, Clone, Copy)]
pub struct MichaelisMenten {
    /// `K = (k₋₁ + k₂)/(k₁ s₀)`.
    pub k: f64,
    /// `λ = k₂/(k₁ s₀)`.
    pub lambda: f64,
}

impl Default for MichaelisMenten {
    fn default() -> Self {
        Self {
            k: 1.0,
            lambda: 0.5,
        }
    }
}

impl SlowFastSystem for MichaelisMenten {
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
        vec!["c".into()]
    }
    fn slow_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = -x[0] + (x[0] + self.k - self.lambda) * y[0];
    }
    fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        out[0] = x[0] - (x[0] + self.k) * y[0];
    }
    fn jacobian(&self, x: &[f64], y: &[f64], _eps: f64, b: &mut JacobianBlocks) -> bool {
        b.gx[(0, 0)] = -1.0 + y[0];
        b.gy[(0, 0)] = x[0] + self.k - self.lambda;
        b.fx[(0, 0)] = 1.0 - y[0];
        b.fy[(0, 0)] = -(x[0] + self.k);
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

/// Reduced substrate `s(t) = K W₀((s₀/K) e^{(s₀ − λt)/K})`.
pub fn reduced_substrate(t: f64, s0: f64, k: f64, lambda: f64) -> f64 {
    k * lambda_w(s0 / k * ((s0 - lambda * t) / k).exp())
}

fn lambda_w(z: f64) -> f64 {
    lambert_w0(z).unwrap_or(f64::NAN)
}

/// Reduced `(s, c)` from `s₀ = 1` with the default parameters.
pub fn reduced(t: f64) -> Vec<f64> {
    let p = MichaelisMenten::default();
    let s = reduced_substrate(t, 1.0, p.k, p.lambda);
    vec![s, s / (s + p.k)]
}

/// Layer `c(τ) = ½(1 − e^{−2τ})` from `(s, c) = (1, 0)` with `K = 1`.
pub fn layer(tau: f64) -> Vec<f64> {
    vec![0.5 * (1.0 - (-2.0 * tau).exp())]
}

/// The problem entry.
pub fn problem() -> Problem {
    Problem {
        name: "michaelis-menten",
        summary: "s' = -s + (s+K-lambda)*c, eps*c' = s - (s+K)*c, K = 1, lambda = 1/2",
        provenance: "reduced substrate s = K W0((s0/K) exp((s0 - lambda t)/K)): Schnell & Mendoza (1997); scaling of Segel & Slemrod (1989)",
        system: Box::new(MichaelisMenten::default()),
        x0: vec![1.0],
        y0: vec![0.0],
        t_end: 2.0,
        exact: None,
        reduced_exact: Some(reduced),
        layer_exact: Some(layer),
    }
}
