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

use std::ops::Range;

use nalgebra::{DMatrix, DVector, Dyn, LU};
use rayon::prelude::*;
use timescales_ode::{JacobianBlocks, Linearization, OdeSystem, SlowFastSystem};

/// Particles per parallel work unit. Reductions sum per-chunk partial results in chunk
/// order, so results are bit-identical whatever the number of threads; systems with at most
/// one chunk run sequentially (no scheduling overhead for small `N`).
const CHUNK: usize = 4096;

/// `Σ_c f(range_c)` over fixed chunks, combined in chunk order (deterministic).
fn chunked_sum(n: usize, len: usize, f: impl Fn(Range<usize>, &mut [f64]) + Sync) -> Vec<f64> {
    let mut total = vec![0.0; len];
    if n <= CHUNK {
        f(0..n, &mut total);
        return total;
    }
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut part = vec![0.0; len];
            f(c * CHUNK..((c + 1) * CHUNK).min(n), &mut part);
            part
        })
        .collect();
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    }
    total
}

/// Runs `f(range)` over fixed chunks, in parallel when there is more than one.
fn chunked_for(n: usize, f: impl Fn(Range<usize>) + Sync) {
    if n <= CHUNK {
        f(0..n);
    } else {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .for_each(|c| f(c * CHUNK..((c + 1) * CHUNK).min(n)));
    }
}

/// A raw pointer that chunks write through at disjoint indices.
#[derive(Clone, Copy)]
struct Shared(*mut f64);
// SAFETY: every use writes disjoint index ranges (one chunk of particles each).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}
impl Shared {
    /// # Safety
    /// `i` is in bounds and no other thread touches index `i`.
    #[inline]
    unsafe fn set(self, i: usize, v: f64) {
        unsafe { *self.0.add(i) = v }
    }
    #[inline]
    unsafe fn get(self, i: usize) -> f64 {
        unsafe { *self.0.add(i) }
    }
    #[inline]
    unsafe fn add(self, i: usize, v: f64) {
        unsafe { *self.0.add(i) += v }
    }
}

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

/// Particle-major storage: entry `(i, j)` of an `N × K'` array at `[i * K' + j]`.
#[derive(Debug, Clone, Default)]
struct StructuredJacobian {
    /// `∂ṡ_i/∂s_i`, `∂ṡ_i/∂a_i`, `∂ȧ_i/∂s_i` with `r` frozen.
    ss: Vec<f64>,
    sa: Vec<f64>,
    as_: Vec<f64>,
    us: Vec<f64>,
    ua: Vec<f64>,
    vs: Vec<f64>,
    va: Vec<f64>,
}

#[derive(Debug, Clone)]
struct Factorization {
    /// Per particle, `D_i⁻¹ = [[p, q], [r, t]]`, at `[4i .. 4i+4]`.
    dinv: Vec<f64>,
    /// `Y = D⁻¹ U`, same layout as `U`.
    ys: Vec<f64>,
    ya: Vec<f64>,
    /// LU of the capacitance matrix `I − Vᵀ D⁻¹ U`.
    cap: Option<LU<f64, Dyn, Dyn>>,
    /// The Jacobian changed since this factorization (buffers kept for reuse).
    stale: bool,
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
        let w = &self.weights;
        chunked_sum(s.len(), self.sigma.len(), |range, m| {
            for i in range {
                let mut p = w[i] * a[i];
                for mk in m.iter_mut() {
                    *mk += p;
                    p *= s[i];
                }
            }
        })
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
        let inv_eps = 1.0 / self.eps;
        let out = Shared(du.as_mut_ptr());
        chunked_for(n, |range| {
            for i in range {
                let (p, dp) = poly2(&c, s[i]);
                // SAFETY: chunks own disjoint particle ranges; i < n, n + i < 2n = du.len().
                unsafe {
                    out.set(i, (1.0 - s[i] * s[i]) * a[i] * dp);
                    out.set(n + i, p * inv_eps);
                }
            }
        });
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
        for v in [&mut j.ss, &mut j.sa, &mut j.as_] {
            v.resize(n, 0.0);
        }
        for v in [&mut j.us, &mut j.ua, &mut j.vs, &mut j.va] {
            v.resize(n * kp, 0.0);
        }
        let kmax = self.sigma.len();
        let (sigma, weights, active) = (&self.sigma, &self.weights, &self.active);
        let ptr = [
            &mut j.ss, &mut j.sa, &mut j.as_, &mut j.us, &mut j.ua, &mut j.vs, &mut j.va,
        ]
        .map(|v| Shared(v.as_mut_ptr()));
        chunked_for(n, |range| {
            let mut pow = vec![0.0; kmax + 1];
            for i in range {
                let (si, ai, w) = (s[i], a[i], weights[i]);
                let (_, dp, d2p) = poly3(&c, si);
                let q = 1.0 - si * si;
                pow[0] = 1.0;
                for k in 1..=kmax {
                    pow[k] = pow[k - 1] * si;
                }
                // SAFETY: chunks own disjoint particle ranges; indices are in bounds.
                unsafe {
                    ptr[0].set(i, ai * (-2.0 * si * dp + q * d2p));
                    ptr[1].set(i, q * dp);
                    ptr[2].set(i, dp * inv_eps);
                    for (jj, &k) in active.iter().enumerate() {
                        let sk = sigma[k];
                        let dpow = if k == 0 { 0.0 } else { k as f64 * pow[k - 1] };
                        let at = i * kp + jj;
                        ptr[3].set(at, q * ai * sk * dpow);
                        ptr[4].set(at, sk * pow[k] * inv_eps);
                        ptr[5].set(at, -sk * w * ai * dpow);
                        ptr[6].set(at, -sk * w * pow[k]);
                    }
                }
            }
        });
        if let Some(f) = &mut self.fact {
            f.stale = true;
        }
    }

    fn factor(&mut self, c: f64) -> Result<(), String> {
        let n = self.particles();
        let kp = self.active.len();
        let j = &self.jac;
        // Reuse the previous factorization's buffers (no page faults per step for large N).
        let (mut dinv, mut ys, mut ya) = match self.fact.take() {
            Some(f) => (f.dinv, f.ys, f.ya),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        dinv.resize(4 * n, 0.0);
        ys.resize(n * kp, 0.0);
        ya.resize(n * kp, 0.0);
        let (pd, py, pa) = (
            Shared(dinv.as_mut_ptr()),
            Shared(ys.as_mut_ptr()),
            Shared(ya.as_mut_ptr()),
        );
        // One pass: D_i⁻¹, Y_i = D_i⁻¹ U_i, and the partial sums of Vᵀ Y (kp² accumulators).
        let singular = std::sync::atomic::AtomicUsize::new(usize::MAX);
        let vty = chunked_sum(n, kp * kp, |range, acc| {
            for i in range {
                // D_i = [[c − ss, −sa], [−as, c]].
                let (d11, d12, d21, d22) = (c - j.ss[i], -j.sa[i], -j.as_[i], c);
                let det = d11 * d22 - d12 * d21;
                if !det.is_finite() || det == 0.0 {
                    singular.fetch_min(i, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
                let (p, q, r, t) = (d22 / det, -d12 / det, -d21 / det, d11 / det);
                let base = i * kp;
                // SAFETY: chunks own disjoint particle ranges; indices are in bounds.
                unsafe {
                    pd.set(4 * i, p);
                    pd.set(4 * i + 1, q);
                    pd.set(4 * i + 2, r);
                    pd.set(4 * i + 3, t);
                    for col in 0..kp {
                        let (us, ua) = (j.us[base + col], j.ua[base + col]);
                        let (y1, y2) = (p * us + q * ua, r * us + t * ua);
                        py.set(base + col, y1);
                        pa.set(base + col, y2);
                        for row in 0..kp {
                            acc[row * kp + col] += j.vs[base + row] * y1 + j.va[base + row] * y2;
                        }
                    }
                }
            }
        });
        let bad = singular.into_inner();
        if bad != usize::MAX {
            return Err(format!("2×2 block of particle {bad} is singular"));
        }
        let cap = if kp > 0 {
            let m = DMatrix::<f64>::identity(kp, kp) - DMatrix::from_row_slice(kp, kp, &vty);
            let lu = m.lu();
            if !lu.is_invertible() {
                return Err("capacitance matrix I − VᵀD⁻¹U is singular".into());
            }
            Some(lu)
        } else {
            None
        };
        self.fact = Some(Factorization {
            dinv,
            ys,
            ya,
            cap,
            stale: false,
        });
        Ok(())
    }

    fn solve(&self, b: &mut [f64]) {
        let n = self.particles();
        let kp = self.active.len();
        let f = self
            .fact
            .as_ref()
            .expect("factor() is called before solve()");
        let j = &self.jac;
        let pb = Shared(b.as_mut_ptr());
        // x = D⁻¹ b, and g = Vᵀ x in the same pass.
        let g = chunked_sum(n, kp, |range, acc| {
            for i in range {
                // SAFETY: chunks own disjoint particle ranges (indices i and n + i).
                unsafe {
                    let (x, y) = (pb.get(i), pb.get(n + i));
                    let d = &f.dinv[4 * i..4 * i + 4];
                    let (xs, xa) = (d[0] * x + d[1] * y, d[2] * x + d[3] * y);
                    pb.set(i, xs);
                    pb.set(n + i, xa);
                    let base = i * kp;
                    for (row, a) in acc.iter_mut().enumerate() {
                        *a += j.vs[base + row] * xs + j.va[base + row] * xa;
                    }
                }
            }
        });
        if let Some(cap) = &f.cap {
            let mut z = DVector::from_vec(g);
            cap.solve_mut(&mut z);
            let z = z.as_slice();
            chunked_for(n, |range| {
                for i in range {
                    let base = i * kp;
                    let (mut ds, mut da) = (0.0, 0.0);
                    for (col, zc) in z.iter().enumerate() {
                        ds += f.ys[base + col] * zc;
                        da += f.ya[base + col] * zc;
                    }
                    // SAFETY: as above.
                    unsafe {
                        pb.add(i, ds);
                        pb.add(n + i, da);
                    }
                }
            });
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
            let kp = self.active.len();
            for col in 0..kp {
                let (us, ua) = (j.us[i * kp + col], j.ua[i * kp + col] * self.eps);
                for l in 0..n {
                    let (vs, va) = (j.vs[l * kp + col], j.va[l * kp + col]);
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

    #[test]
    fn multi_chunk_solve_inverts_the_newton_matrix() {
        // N spans several parallel chunks. W x = c x − J x with J x taken by central
        // differences of the right-hand side (independent of the structured Jacobian).
        let n = 3 * CHUNK + 17;
        let (mut f, _) = sample_flow(5, 1e-4);
        f.weights = vec![1.0 / n as f64; n];
        let u: Vec<f64> = (0..2 * n)
            .map(|i| {
                if i < n {
                    0.5 * ((i as f64) * 0.013).sin()
                } else {
                    1.5 * ((i as f64) * 0.007).cos()
                }
            })
            .collect();
        f.update_jacobian(&u);
        let c = 250.0;
        f.factor(c).unwrap();
        let b: Vec<f64> = (0..2 * n).map(|i| ((i as f64) * 0.31).sin()).collect();
        let mut x = b.clone();
        f.solve(&mut x);
        let h = 1e-6 / x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (mut fp, mut fm) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
        let up: Vec<f64> = u.iter().zip(&x).map(|(u, x)| u + h * x).collect();
        let um: Vec<f64> = u.iter().zip(&x).map(|(u, x)| u - h * x).collect();
        f.rhs(&up, &mut fp);
        f.rhs(&um, &mut fm);
        let mut worst: f64 = 0.0;
        for i in 0..2 * n {
            let jx = (fp[i] - fm[i]) / (2.0 * h);
            worst = worst.max((c * x[i] - jx - b[i]).abs());
        }
        assert!(worst < 1e-5, "residual {worst:e}");
    }

    #[test]
    fn parallel_results_do_not_depend_on_thread_count() {
        let n = 2 * CHUNK + 5;
        let (mut f, _) = sample_flow(5, 1e-3);
        f.weights = (0..n)
            .map(|i| (1.0 + (i % 7) as f64) / (4.0 * n as f64))
            .collect();
        let u: Vec<f64> = (0..2 * n)
            .map(|i| 0.4 * ((i as f64) * 0.37).sin())
            .collect();
        let compute = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut g = f.clone();
                let mut du = vec![0.0; 2 * n];
                g.rhs(&u, &mut du);
                g.update_jacobian(&u);
                g.factor(40.0).unwrap();
                g.solve(&mut du);
                du
            })
        };
        assert_eq!(compute(1), compute(2));
    }
}
