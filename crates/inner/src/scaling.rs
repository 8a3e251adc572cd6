//! Scalings: the stretched time and rescaled variables in which an inner problem is free of
//! `ε`.
//!
//! ```text
//!   t = t₀ + ε^β T,      u_i = ε^{ν_i} U_i.
//! ```
//!
//! A boundary layer at `t₀` is `β = 1`, `ν = 0` (`τ = (t − t₀)/ε`); the two-layer model's
//! phase `l ≥ 2` is `β = 1/(2l)`, `ν_s = β`, `ν_a = β − ½`; its phase 1 is `β = ½`,
//! `ν_s = ¼`, `ν_a = −¼` (model.md §5).
//!
//! ```
//! use timescales_inner::Scaling;
//! // Phase 2 of the two-layer model with particles (s, a): t = ε^{1/4} T, s = ε^{1/4} S,
//! // a = ε^{−1/4} A.
//! let phase2 = Scaling::new(0.0, 0.25, vec![0.25, -0.25]);
//! let eps = 1e-8;
//! assert!((phase2.outer_time(eps, 2.0) - 0.02).abs() < 1e-15);
//! let inner = phase2.to_inner(eps, &[0.01, 100.0]);
//! assert!((inner[0] - 1.0).abs() < 1e-12 && (inner[1] - 1.0).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

/// `t = t₀ + ε^β T`, `u_i = ε^{ν_i} U_i` (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// `t₀`, where the inner time starts.
    pub t0: f64,
    /// `β`: the stretching of time.
    pub time_exponent: f64,
    /// `ν_i`: the scale of each variable (a list of one applies to every variable).
    pub exponents: Vec<f64>,
}

impl Scaling {
    /// The scaling `t = t₀ + ε^β T`, `u_i = ε^{ν_i} U_i`.
    pub fn new(t0: f64, time_exponent: f64, exponents: Vec<f64>) -> Self {
        Self {
            t0,
            time_exponent,
            exponents,
        }
    }

    /// A boundary layer at `t₀`: `τ = (t − t₀)/ε`, variables unscaled.
    pub fn boundary_layer(t0: f64) -> Self {
        Self::new(t0, 1.0, vec![0.0])
    }

    /// `ν_i` of variable `i`.
    fn exponent(&self, i: usize) -> f64 {
        match self.exponents.as_slice() {
            [one] => *one,
            all => all.get(i).copied().unwrap_or(0.0),
        }
    }

    /// The outer time `t = t₀ + ε^β T` of the inner time `T`.
    pub fn outer_time(&self, eps: f64, inner: f64) -> f64 {
        self.t0 + eps.powf(self.time_exponent) * inner
    }

    /// The inner time `T = (t − t₀)/ε^β` of the outer time `t`.
    pub fn inner_time(&self, eps: f64, t: f64) -> f64 {
        (t - self.t0) / eps.powf(self.time_exponent)
    }

    /// `U_i = ε^{−ν_i} u_i`.
    pub fn to_inner(&self, eps: f64, u: &[f64]) -> Vec<f64> {
        u.iter()
            .enumerate()
            .map(|(i, v)| v * eps.powf(-self.exponent(i)))
            .collect()
    }

    /// `u_i = ε^{ν_i} U_i`.
    pub fn to_outer(&self, eps: f64, inner: &[f64]) -> Vec<f64> {
        inner
            .iter()
            .enumerate()
            .map(|(i, v)| v * eps.powf(self.exponent(i)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_and_outer_are_inverse() {
        let s = Scaling::new(0.3, 0.5, vec![0.25, -0.25, 0.0]);
        let eps = 1e-6;
        let u = [1e-2, 3e1, 0.7];
        let back = s.to_outer(eps, &s.to_inner(eps, &u));
        for (a, b) in u.iter().zip(&back) {
            assert!((a - b).abs() <= 1e-15 * a.abs());
        }
        let t = 0.31;
        assert!((s.outer_time(eps, s.inner_time(eps, t)) - t).abs() < 1e-15);
        let layer = Scaling::boundary_layer(1.0);
        assert!((layer.inner_time(1e-3, 1.002) - 2.0).abs() < 1e-9);
        assert_eq!(layer.to_inner(1e-3, &[5.0, 6.0]), vec![5.0, 6.0]);
    }
}
