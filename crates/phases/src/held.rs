//! Particle gradient flows with some moments held fixed — the constrained system behind both
//! the plateau flow (original variables, finite ε) and the inner problems of phases `l ≥ 2`
//! (rescaled, ε-free), handed to the generic reduced flow on a constraint manifold
//! ([`timescales_outer::ManifoldFlow`]).
//!
//! Both are the gradient flow of the potential `−Σ_k c_k a s^k` per particle,
//!
//! ```text
//!   ṡ_i = q(s_i) a_i P'(s_i),   ȧ_i = m P(s_i),   P(s) = Σ_k c_k s^k,
//! ```
//!
//! (state `u = (s_1..s_N, a_1..a_N)`), with `m = 1/ε` and `q = max(0, 1 − s²)` in the plateau
//! flow, `m = q = 1` in an ε-free inner problem, and `m = 1`, `q = max(0, 1 − ε^{1/2} S²)` in
//! the inner problem of the drop (`crate::drop`), where `s = ε^{1/4} S`. The free coefficients `c_k` are given; for the held
//! degrees `k ∈ C` the coefficients are multipliers `μ_k` holding `⟨a s^k⟩_w = M_k*`: in the
//! terms of [`ConstrainedSystem`] the force of degree `k` is `D_k = (q a k s^{k−1}, m s^k)` per
//! particle and the constraint gradient `∇c_k = (w a k s^{k−1}, w s^k)`, so the Gram matrix is
//! `G_kj = Σ_i w_i [m s_i^{k+j} + k j q a_i² s_i^{k+j−2}]`, the constraint gradients in the
//! flow's metric.

use timescales_outer::ConstrainedSystem;

/// `P(s)` and `P'(s)` by Horner's rule.
fn poly(coef: &[f64], s: f64) -> (f64, f64) {
    let (mut p, mut dp) = (0.0, 0.0);
    for &c in coef.iter().rev() {
        dp = dp * s + p;
        p = p * s + c;
    }
    (p, dp)
}

/// A particle gradient flow with the moments of the `held` degrees fixed at `targets`
/// (module docs). `free` gives the coefficients `c_k` (degrees `0..=K`) at a state; its
/// entries at held degrees are ignored.
pub(crate) struct HeldMoments<'a, F> {
    /// Particle weights `w_i`.
    pub weights: &'a [f64],
    /// Held degrees `C`.
    pub held: &'a [usize],
    /// `M_k*` for each held degree, in the order of `held`.
    pub targets: &'a [f64],
    /// `m`, the factor of `ȧ`.
    pub fast: f64,
    /// `c` in `q(s) = max(0, 1 − c s²)`: `1` in the original variables, `0` in an ε-free
    /// inner problem, `ε^{1/2}` in the inner variables of the drop.
    pub saturation: f64,
    /// The free coefficients at `u`.
    pub free: F,
}

impl<F: Fn(&[f64]) -> Vec<f64>> HeldMoments<'_, F> {
    fn n(&self) -> usize {
        self.weights.len()
    }
    fn q(&self, s: f64) -> f64 {
        (1.0 - self.saturation * s * s).max(0.0)
    }
    /// One row per held degree `k` (`m × 2N`, row-major) with the entries
    /// `(x_i a_i k s_i^{k−1}, y_i s_i^k)` of particle `i`, `(x_i, y_i) = scale(i, s_i)`.
    fn degree_rows(&self, u: &[f64], out: &mut [f64], scale: impl Fn(usize, f64) -> (f64, f64)) {
        let n = self.n();
        let (s, a) = u.split_at(n);
        for (row, &k) in out.chunks_exact_mut(2 * n).zip(self.held) {
            let (rs, ra) = row.split_at_mut(n);
            for i in 0..n {
                let (pk, dpk) = Self::power(s[i], k);
                let (x, y) = scale(i, s[i]);
                rs[i] = x * a[i] * dpk;
                ra[i] = y * pk;
            }
        }
    }

    /// `(s_i^k, k s_i^{k−1})`.
    fn power(s: f64, k: usize) -> (f64, f64) {
        let pk = s.powi(k as i32);
        let dpk = if k > 0 {
            k as f64 * s.powi(k as i32 - 1)
        } else {
            0.0
        };
        (pk, dpk)
    }
}

impl<F: Fn(&[f64]) -> Vec<f64>> ConstrainedSystem for HeldMoments<'_, F> {
    fn dim(&self) -> usize {
        2 * self.n()
    }
    fn constraint_count(&self) -> usize {
        self.held.len()
    }
    fn free_field(&self, u: &[f64], out: &mut [f64]) {
        let n = self.n();
        let mut coef = (self.free)(u);
        for &k in self.held {
            if let Some(c) = coef.get_mut(k) {
                *c = 0.0;
            }
        }
        let (s, a) = u.split_at(n);
        let (ds, da) = out.split_at_mut(n);
        for i in 0..n {
            let (p, dp) = poly(&coef, s[i]);
            ds[i] = self.q(s[i]) * a[i] * dp;
            da[i] = self.fast * p;
        }
    }
    /// `D_k = (q a k s^{k−1}, m s^k)` per particle.
    fn force_directions(&self, u: &[f64], out: &mut [f64]) {
        self.degree_rows(u, out, |_, s| (self.q(s), self.fast));
    }
    /// `∇c_k = (w a k s^{k−1}, w s^k)` per particle.
    fn constraint_gradients(&self, u: &[f64], out: &mut [f64]) {
        self.degree_rows(u, out, |i, _| (self.weights[i], self.weights[i]));
    }
    fn constraints(&self, u: &[f64], out: &mut [f64]) {
        let n = self.n();
        let (s, a) = u.split_at(n);
        for ((c, &k), target) in out.iter_mut().zip(self.held).zip(self.targets) {
            let m: f64 = (0..n)
                .map(|i| self.weights[i] * a[i] * s[i].powi(k as i32))
                .sum();
            *c = m - target;
        }
    }
    /// `Σ_i w_i |a_i s_i^k| + |M_k*|`: rounding of a sum with cancellations is relative to
    /// its terms, which grow like `ε^{−1/4}` and beyond on later plateaus.
    fn constraint_scales(&self, u: &[f64], out: &mut [f64]) {
        let n = self.n();
        let (s, a) = u.split_at(n);
        for ((c, &k), target) in out.iter_mut().zip(self.held).zip(self.targets) {
            let terms: f64 = (0..n)
                .map(|i| (self.weights[i] * a[i] * s[i].powi(k as i32)).abs())
                .sum();
            *c = terms + target.abs();
        }
    }
}
