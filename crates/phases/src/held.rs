//! Lagrange multipliers that hold moments of a particle gradient flow fixed — shared by the
//! plateau flow (original variables, finite ε) and the inner problems of phases `l ≥ 2`
//! (rescaled, ε-free).
//!
//! Both are the gradient flow of the potential `−Σ_k c_k a s^k` per particle,
//!
//! ```text
//!   ȧ_i = m P(s_i),   ṡ_i = q(s_i) a_i P'(s_i),   P(s) = Σ_k c_k s^k,
//! ```
//!
//! with `m = 1/ε` and `q = 1 − s²` in the plateau flow, `m = q = 1` in an inner problem. For the
//! held degrees `k ∈ C` the coefficients are multipliers `μ_k` fixed by `d⟨a s^k⟩_w/dt = 0`:
//!
//! ```text
//!   Σ_j G_kj μ_j = −b_k,   G_kj = Σ_i w_i [m s_i^{k+j} + k j q a_i² s_i^{k+j−2}],
//!                           b_k = Σ_i w_i [m s_i^k F(s_i) + k q a_i² s_i^{k−1} F'(s_i)],
//! ```
//!
//! `F` the free part of `P` (the held coefficients set to zero). `G` is the Gram matrix of the
//! constraint gradients in the flow's metric; it is solved after a symmetric diagonal scaling
//! (its entries span many orders: `1/ε` against `⟨s^{2k}⟩/ε`).

use nalgebra::{DMatrix, DVector};

/// `P(s)` and `P'(s)` by Horner's rule.
fn poly(coef: &[f64], s: f64) -> (f64, f64) {
    let (mut p, mut dp) = (0.0, 0.0);
    for &c in coef.iter().rev() {
        dp = dp * s + p;
        p = p * s + c;
    }
    (p, dp)
}

/// A particle gradient flow with the moments of the `held` degrees fixed (module docs).
pub(crate) struct HeldFlow<'a> {
    /// Particle weights `w_i`.
    pub weights: &'a [f64],
    /// Held degrees `C`.
    pub held: &'a [usize],
    /// `m`, the factor of `ȧ`.
    pub fast: f64,
    /// `q(s) = max(0, 1 − s²)` when `true`, `1` otherwise.
    pub saturating: bool,
}

impl HeldFlow<'_> {
    fn q(&self, s: f64) -> f64 {
        if self.saturating {
            (1.0 - s * s).max(0.0)
        } else {
            1.0
        }
    }

    /// Replaces the entries of the held degrees in `coef` (the free coefficients elsewhere)
    /// by the multipliers, or returns `None` when the Gram matrix is singular.
    pub fn hold(&self, s: &[f64], a: &[f64], coef: &mut [f64]) -> Option<()> {
        let c = self.held;
        if c.is_empty() {
            return Some(());
        }
        for &k in c {
            coef[k] = 0.0;
        }
        let kmax = c.iter().copied().max().unwrap_or(0);
        let mut g = DMatrix::<f64>::zeros(c.len(), c.len());
        let mut b = DVector::<f64>::zeros(c.len());
        let mut pw = vec![0.0; 2 * kmax + 1];
        for ((&si, &ai), &w) in s.iter().zip(a).zip(self.weights) {
            pw[0] = 1.0;
            for k in 1..pw.len() {
                pw[k] = pw[k - 1] * si;
            }
            let q = self.q(si) * ai * ai;
            let (f, df) = poly(coef, si);
            for (x, &k) in c.iter().enumerate() {
                for (y, &j) in c.iter().enumerate() {
                    let mut e = self.fast * pw[k + j];
                    if k > 0 && j > 0 {
                        e += (k * j) as f64 * q * pw[k + j - 2];
                    }
                    g[(x, y)] += w * e;
                }
                let mut e = self.fast * pw[k] * f;
                if k > 0 {
                    e += k as f64 * q * pw[k - 1] * df;
                }
                b[x] += w * e;
            }
        }
        let d: Vec<f64> = (0..c.len()).map(|x| g[(x, x)].sqrt()).collect();
        if d.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return None;
        }
        for x in 0..c.len() {
            for y in 0..c.len() {
                g[(x, y)] /= d[x] * d[y];
            }
            b[x] /= d[x];
        }
        let z = g.lu().solve(&(-b))?;
        for (x, &k) in c.iter().enumerate() {
            coef[k] = z[x] / d[x];
        }
        Some(())
    }

    /// `ṡ_i = q(s_i) a_i P'(s_i)` into `ds`, `ȧ_i = m P(s_i)` into `da`.
    pub fn field(&self, s: &[f64], a: &[f64], coef: &[f64], ds: &mut [f64], da: &mut [f64]) {
        for i in 0..s.len() {
            let (p, dp) = poly(coef, s[i]);
            ds[i] = self.q(s[i]) * a[i] * dp;
            da[i] = self.fast * p;
        }
    }
}
