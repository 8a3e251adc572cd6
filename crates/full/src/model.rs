//! The particle system of model.md §4 and its structured Jacobian.
//!
//! State `u = (s_1 … s_N, a_1 … a_N)` (slow `s` first). With
//! `M_k = Σ_i w_i a_i s_i^k`, `r_k = φ_k − σ_k M_k` and `P(s) = Σ_k σ_k r_k s^k`:
//!
//! ```text
//!   ε da_i/dt = P(s_i),        ds_i/dt = (1 − s_i²) a_i P'(s_i).
//! ```
//!
//! The Jacobian is `J = B + U Vᵀ`: `B` is block-diagonal (one 2×2 block per particle, `r`
//! frozen) and `U Vᵀ` has rank `K'` = number of `k` with `σ_k ≠ 0` (the coupling through the
//! moments), with
//!
//! ```text
//!   B_i = [[a_i(−2 s_i P' + (1 − s_i²) P''), (1 − s_i²) P'], [P'/ε, 0]]  (at s_i),
//!   U[s_i, k] = (1 − s_i²) a_i k σ_k s_i^{k−1},   U[a_i, k] = σ_k s_i^k / ε,
//!   V[s_i, k] = −σ_k w_i a_i k s_i^{k−1},         V[a_i, k] = −σ_k w_i s_i^k.
//! ```
//!
//! The Newton matrix `W = c I − J = D − U Vᵀ` (`D = c I − B`) is solved with the Woodbury
//! identity `W⁻¹ = D⁻¹ + D⁻¹ U (I − Vᵀ D⁻¹ U)⁻¹ Vᵀ D⁻¹`: `O(N K'²)` to factor, `O(N K')`
//! per solve, instead of `O(N³)`.

use nalgebra::{DMatrix, DVector, Dyn, LU};
use timescales_ode::{JacobianBlocks, Linearization, OdeSystem, SlowFastSystem};

/// The two-layer flow over `N` weighted particles at a given `ε`.
#[derive(Debug, Clone)]
pub struct TwoLayerFlow {
    sigma: Vec<f64>,
    phi: Vec<f64>,
    weights: Vec<f64>,
    eps: f64,
    tail_energy: f64,
    /// Degrees `k` with `σ_k ≠ 0` (the columns of `U`).
    active: Vec<usize>,
    jac: StructuredJacobian,
    fact: Option<Factorization>,
}

#[derive(Debug, Clone, Default)]
struct StructuredJacobian {
    /// `∂ṡ_i/∂s_i`, `∂ṡ_i/∂a_i`, `∂ȧ_i/∂s_i` with `r` frozen.
    ss: Vec<f64>,
    sa: Vec<f64>,
    as_: Vec<f64>,
    /// `U` and `V`, column `j` (degree `active[j]`) stored at `[j*N .. (j+1)*N]`.
    us: Vec<f64>,
    ua: Vec<f64>,
    vs: Vec<f64>,
    va: Vec<f64>,
}

#[derive(Debug, Clone)]
struct Factorization {
    /// Per particle, `D_i⁻¹ = [[p, q], [r, t]]`.
    dinv: Vec<[f64; 4]>,
    /// `Y = D⁻¹ U`, same layout as `U`.
    ys: Vec<f64>,
    ya: Vec<f64>,
    /// LU of the capacitance matrix `I − Vᵀ D⁻¹ U`.
    cap: Option<LU<f64, Dyn, Dyn>>,
}

/// Value and first two derivatives of `P(s) = Σ_k c_k s^k` by Horner's rule.
#[inline]
fn poly3(c: &[f64], s: f64) -> (f64, f64, f64) {
    let (mut p, mut dp, mut d2p) = (0.0, 0.0, 0.0);
    for &ck in c.iter().rev() {
        d2p = d2p * s + 2.0 * dp;
        dp = dp * s + p;
        p = p * s + ck;
    }
    (p, dp, d2p)
}

#[inline]
fn poly2(c: &[f64], s: f64) -> (f64, f64) {
    let (mut p, mut dp) = (0.0, 0.0);
    for &ck in c.iter().rev() {
        dp = dp * s + p;
        p = p * s + ck;
    }
    (p, dp)
}

impl TwoLayerFlow {
    /// A flow with activation coefficients `σ_0..σ_K`, target coefficients `φ_0..φ_K`
    /// (equal lengths), particle weights `w_i` and `ε > 0`. `tail_energy` is the target
    /// energy beyond degree `K`, `½ Σ_{k>K} φ_k²`, added to the reported risk.
    pub fn new(
        sigma: Vec<f64>,
        phi: Vec<f64>,
        weights: Vec<f64>,
        eps: f64,
        tail_energy: f64,
    ) -> Self {
        assert_eq!(sigma.len(), phi.len(), "σ and φ must have the same length");
        let active = (0..sigma.len()).filter(|&k| sigma[k] != 0.0).collect();
        Self {
            sigma,
            phi,
            weights,
            eps,
            tail_energy,
            active,
            jac: StructuredJacobian::default(),
            fact: None,
        }
    }

    /// Number of particles `N`.
    pub fn particles(&self) -> usize {
        self.weights.len()
    }
    /// Truncation degree `K`.
    pub fn degree(&self) -> usize {
        self.sigma.len() - 1
    }
    /// `ε`.
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// `σ_k`.
    pub fn sigma(&self) -> &[f64] {
        &self.sigma
    }
    /// `φ_k`.
    pub fn phi(&self) -> &[f64] {
        &self.phi
    }
    /// Particle weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
    /// `½ Σ_{k>K} φ_k²`.
    pub fn tail_energy(&self) -> f64 {
        self.tail_energy
    }

    /// Moments `M_k = Σ_i w_i a_i s_i^k`, `k = 0..K`.
    pub fn moments(&self, s: &[f64], a: &[f64]) -> Vec<f64> {
        let kk = self.sigma.len();
        let mut m = vec![0.0; kk];
        for ((&si, &ai), &wi) in s.iter().zip(a).zip(&self.weights) {
            let mut p = wi * ai;
            for mk in m.iter_mut() {
                *mk += p;
                p *= si;
            }
        }
        m
    }

    /// Residuals `r_k = φ_k − σ_k M_k`.
    pub fn residuals(&self, moments: &[f64]) -> Vec<f64> {
        self.phi
            .iter()
            .zip(&self.sigma)
            .zip(moments)
            .map(|((p, s), m)| p - s * m)
            .collect()
    }

    /// Risk `R = ½ Σ_k r_k² + ½ Σ_{k>K} φ_k²`.
    pub fn risk(&self, residuals: &[f64]) -> f64 {
        0.5 * residuals.iter().map(|r| r * r).sum::<f64>() + self.tail_energy
    }

    /// Coefficients `c_k = σ_k r_k` of `P(s)` at the state `u = (s, a)`.
    fn p_coeffs(&self, u: &[f64]) -> Vec<f64> {
        let n = self.particles();
        let (s, a) = u.split_at(n);
        let r = self.residuals(&self.moments(s, a));
        r.iter().zip(&self.sigma).map(|(r, s)| r * s).collect()
    }
}

impl OdeSystem for TwoLayerFlow {
    fn dim(&self) -> usize {
        2 * self.particles()
    }
    /// `ṡ_i = (1 − s_i²) a_i P'(s_i)`, `ȧ_i = P(s_i)/ε`.
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        let n = self.particles();
        let c = self.p_coeffs(u);
        let (s, a) = u.split_at(n);
        let (ds, da) = du.split_at_mut(n);
        let inv_eps = 1.0 / self.eps;
        for i in 0..n {
            let (p, dp) = poly2(&c, s[i]);
            ds[i] = (1.0 - s[i] * s[i]) * a[i] * dp;
            da[i] = p * inv_eps;
        }
    }
}

impl Linearization for TwoLayerFlow {
    fn update_jacobian(&mut self, u: &[f64]) {
        let n = self.particles();
        let kp = self.active.len();
        let c = self.p_coeffs(u);
        let (s, a) = u.split_at(n);
        let inv_eps = 1.0 / self.eps;
        let j = &mut self.jac;
        j.ss.resize(n, 0.0);
        j.sa.resize(n, 0.0);
        j.as_.resize(n, 0.0);
        for v in [&mut j.us, &mut j.ua, &mut j.vs, &mut j.va] {
            v.resize(n * kp, 0.0);
        }
        for i in 0..n {
            let (si, ai) = (s[i], a[i]);
            let (_, dp, d2p) = poly3(&c, si);
            let q = 1.0 - si * si;
            j.ss[i] = ai * (-2.0 * si * dp + q * d2p);
            j.sa[i] = q * dp;
            j.as_[i] = dp * inv_eps;
            for (jj, &k) in self.active.iter().enumerate() {
                let sk = self.sigma[k];
                let pow_k = si.powi(k as i32);
                let dpow = if k == 0 {
                    0.0
                } else {
                    k as f64 * si.powi(k as i32 - 1)
                };
                let w = self.weights[i];
                j.us[jj * n + i] = q * ai * sk * dpow;
                j.ua[jj * n + i] = sk * pow_k * inv_eps;
                j.vs[jj * n + i] = -sk * w * ai * dpow;
                j.va[jj * n + i] = -sk * w * pow_k;
            }
        }
        self.fact = None;
    }

    fn factor(&mut self, c: f64) -> Result<(), String> {
        let n = self.particles();
        let kp = self.active.len();
        let j = &self.jac;
        let mut dinv = Vec::with_capacity(n);
        for i in 0..n {
            // D_i = [[c − ss, −sa], [−as, c]].
            let (d11, d12, d21, d22) = (c - j.ss[i], -j.sa[i], -j.as_[i], c);
            let det = d11 * d22 - d12 * d21;
            if !(det.is_finite()
                && det.abs() > f64::MIN_POSITIVE * (d11.abs() * d22.abs()).max(1.0))
            {
                return Err(format!(
                    "2×2 block of particle {i} is singular (det = {det:e})"
                ));
            }
            dinv.push([d22 / det, -d12 / det, -d21 / det, d11 / det]);
        }
        let mut ys = vec![0.0; n * kp];
        let mut ya = vec![0.0; n * kp];
        for col in 0..kp {
            for i in 0..n {
                let [p, q, r, t] = dinv[i];
                let (us, ua) = (j.us[col * n + i], j.ua[col * n + i]);
                ys[col * n + i] = p * us + q * ua;
                ya[col * n + i] = r * us + t * ua;
            }
        }
        let cap = if kp > 0 {
            let mut m = DMatrix::<f64>::identity(kp, kp);
            for row in 0..kp {
                for col in 0..kp {
                    let (vs, va) = (&j.vs[row * n..(row + 1) * n], &j.va[row * n..(row + 1) * n]);
                    let (y1, y2) = (&ys[col * n..(col + 1) * n], &ya[col * n..(col + 1) * n]);
                    let dot: f64 = (0..n).map(|i| vs[i] * y1[i] + va[i] * y2[i]).sum();
                    m[(row, col)] -= dot;
                }
            }
            let lu = m.lu();
            if !lu.is_invertible() {
                return Err("capacitance matrix I − VᵀD⁻¹U is singular".into());
            }
            Some(lu)
        } else {
            None
        };
        self.fact = Some(Factorization { dinv, ys, ya, cap });
        Ok(())
    }

    fn solve(&self, b: &mut [f64]) {
        let n = self.particles();
        let kp = self.active.len();
        let f = self
            .fact
            .as_ref()
            .expect("factor() is called before solve()");
        let (bs, ba) = b.split_at_mut(n);
        for i in 0..n {
            let [p, q, r, t] = f.dinv[i];
            let (x, y) = (bs[i], ba[i]);
            bs[i] = p * x + q * y;
            ba[i] = r * x + t * y;
        }
        if let Some(cap) = &f.cap {
            let j = &self.jac;
            let mut g = DVector::<f64>::zeros(kp);
            for row in 0..kp {
                let (vs, va) = (&j.vs[row * n..(row + 1) * n], &j.va[row * n..(row + 1) * n]);
                g[row] = (0..n).map(|i| vs[i] * bs[i] + va[i] * ba[i]).sum();
            }
            cap.solve_mut(&mut g);
            for col in 0..kp {
                let z = g[col];
                let (y1, y2) = (&f.ys[col * n..(col + 1) * n], &f.ya[col * n..(col + 1) * n]);
                for i in 0..n {
                    bs[i] += y1[i] * z;
                    ba[i] += y2[i] * z;
                }
            }
        }
    }
}

impl SlowFastSystem for TwoLayerFlow {
    fn slow_dim(&self) -> usize {
        self.particles()
    }
    fn fast_dim(&self) -> usize {
        self.particles()
    }
    fn slow_names(&self) -> Vec<String> {
        (0..self.particles()).map(|i| format!("s{i}")).collect()
    }
    fn fast_names(&self) -> Vec<String> {
        (0..self.particles()).map(|i| format!("a{i}")).collect()
    }
    /// `g_i = (1 − s_i²) a_i P'(s_i)`.
    fn slow_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        let u: Vec<f64> = x.iter().chain(y).copied().collect();
        let c = self.p_coeffs(&u);
        for i in 0..x.len() {
            let (_, dp) = poly2(&c, x[i]);
            out[i] = (1.0 - x[i] * x[i]) * y[i] * dp;
        }
    }
    /// `f_i = P(s_i)` (the fast law is `ε ȧ_i = f_i`).
    fn fast_field(&self, x: &[f64], y: &[f64], _eps: f64, out: &mut [f64]) {
        let u: Vec<f64> = x.iter().chain(y).copied().collect();
        let c = self.p_coeffs(&u);
        for i in 0..x.len() {
            out[i] = poly2(&c, x[i]).0;
        }
    }
    /// Dense blocks assembled from the structured Jacobian (for small `N`).
    fn jacobian(&self, x: &[f64], y: &[f64], _eps: f64, blocks: &mut JacobianBlocks) -> bool {
        let n = self.particles();
        let mut me = self.clone();
        let u: Vec<f64> = x.iter().chain(y).copied().collect();
        me.update_jacobian(&u);
        let j = &me.jac;
        let mut b = JacobianBlocks::zeros(n, n);
        for i in 0..n {
            b.gx[(i, i)] += j.ss[i];
            b.gy[(i, i)] += j.sa[i];
            b.fx[(i, i)] += j.as_[i] * self.eps;
            for col in 0..self.active.len() {
                let (us, ua) = (j.us[col * n + i], j.ua[col * n + i] * self.eps);
                for l in 0..n {
                    let (vs, va) = (j.vs[col * n + l], j.va[col * n + l]);
                    b.gx[(i, l)] += us * vs;
                    b.gy[(i, l)] += us * va;
                    b.fx[(i, l)] += ua * vs;
                    b.fy[(i, l)] += ua * va;
                }
            }
        }
        *blocks = b;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_ode::{DenseSlowFast, finite_difference_blocks};

    fn sample_flow(n: usize, eps: f64) -> (TwoLayerFlow, Vec<f64>) {
        let sigma = vec![0.8, 1.0, 0.7, 0.4, 0.0, 0.2];
        let phi = vec![0.1, 1.0, 0.9, 0.6, 0.3, 0.0];
        let w: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let tot: f64 = w.iter().sum();
        let w = w.iter().map(|x| x / tot).collect();
        let mut u = Vec::new();
        for i in 0..n {
            u.push(0.9 * ((i as f64 * 1.7).sin()));
        }
        for i in 0..n {
            u.push(2.0 * ((i as f64 * 0.9).cos()));
        }
        (TwoLayerFlow::new(sigma, phi, w, eps, 0.0), u)
    }

    #[test]
    fn structured_jacobian_matches_finite_differences() {
        let (f, u) = sample_flow(7, 0.01);
        let n = 7;
        let (x, y) = u.split_at(n);
        let mut analytic = JacobianBlocks::zeros(n, n);
        assert!(f.jacobian(x, y, 0.01, &mut analytic));
        let fd = finite_difference_blocks(&f, x, y, 0.01);
        for (a, b) in [
            (&analytic.gx, &fd.gx),
            (&analytic.gy, &fd.gy),
            (&analytic.fx, &fd.fx),
            (&analytic.fy, &fd.fy),
        ] {
            let err = (a - b).abs().max();
            assert!(err < 1e-7 * (1.0 + b.abs().max()), "max deviation {err}");
        }
    }

    #[test]
    fn woodbury_solve_matches_dense_lu() {
        for eps in [1e-1, 1e-6] {
            let (mut f, u) = sample_flow(9, eps);
            let dense = DenseSlowFast::new(f.clone(), eps);
            let jd = dense.dense_jacobian(&u);
            f.update_jacobian(&u);
            let c = 37.5;
            f.factor(c).unwrap();
            let b: Vec<f64> = (0..18).map(|i| (i as f64 * 0.37).sin()).collect();
            let mut x = b.clone();
            f.solve(&mut x);
            let w = DMatrix::identity(18, 18) * c - jd;
            let res = &w * DVector::from_column_slice(&x) - DVector::from_column_slice(&b);
            let scale = w.abs().max() * DVector::from_column_slice(&x).amax();
            assert!(
                res.amax() < 1e-12 * scale,
                "eps {eps}: residual {}",
                res.amax()
            );
        }
    }

    #[test]
    fn rhs_agrees_with_slow_fast_view() {
        let (f, u) = sample_flow(5, 0.3);
        let mut du = vec![0.0; 10];
        f.rhs(&u, &mut du);
        let mut g = vec![0.0; 5];
        let mut h = vec![0.0; 5];
        f.slow_field(&u[..5], &u[5..], 0.3, &mut g);
        f.fast_field(&u[..5], &u[5..], 0.3, &mut h);
        for i in 0..5 {
            assert!((du[i] - g[i]).abs() < 1e-15);
            assert!((du[5 + i] - h[i] / 0.3).abs() < 1e-13);
        }
    }

    #[test]
    fn risk_decreases_along_the_field() {
        // dR/dt = −(1/ε) Σ w (∂_a ψ)² − Σ w (1 − s²)(∂_s ψ)² ≤ 0 (model.md §4), here with
        // per-particle weights: dR/dt = ∇R · F must be ≤ 0 at any state.
        let (f, u) = sample_flow(6, 0.05);
        let n = 6;
        let mut du = vec![0.0; 2 * n];
        f.rhs(&u, &mut du);
        let risk = |u: &[f64]| {
            let m = f.moments(&u[..n], &u[n..]);
            f.risk(&f.residuals(&m))
        };
        let h = 1e-7;
        let up: Vec<f64> = u.iter().zip(&du).map(|(x, d)| x + h * d).collect();
        let um: Vec<f64> = u.iter().zip(&du).map(|(x, d)| x - h * d).collect();
        let d_r = (risk(&up) - risk(&um)) / (2.0 * h);
        assert!(d_r < 0.0, "dR/dt = {d_r}");
    }
}
