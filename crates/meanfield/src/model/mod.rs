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
//! frozen) and `U Vᵀ` has rank at most `L = K + 1` (the coupling through the moments), with
//!
//! ```text
//!   B_i = [[a_i(−2 s_i P' + (1 − s_i²) P''), (1 − s_i²) P'], [P'/ε, 0]]  (at s_i),
//!   U[s_i, k] = (1 − s_i²) a_i k σ_k s_i^{k−1},   U[a_i, k] = σ_k s_i^k / ε,
//!   V[s_i, k] = −σ_k w_i a_i k s_i^{k−1},         V[a_i, k] = −σ_k w_i s_i^k.
//! ```
//!
//! The Newton matrix `W = c I − J = D − U Vᵀ` (`D = c I − B`) is solved with the Woodbury
//! identity `W⁻¹ = D⁻¹ + D⁻¹ U (I − Vᵀ D⁻¹ U)⁻¹ Vᵀ D⁻¹`, and `U`, `V` are never stored:
//! their columns are powers of `s_i`, so every product with them is a power sum or a
//! polynomial. With `D_i⁻¹ = [[d11, d12], [d21, d22]]` and
//! `f_i = (d11 (1 − s_i²) a_i, d21 (1 − s_i²) a_i, d12/ε, d22/ε)`:
//!
//! ```text
//!   (Vᵀ x)_k        = −σ_k (k S1_{k−1} + S2_k),   S1_m = Σ_i w_i a_i x_{s,i} s_i^m,  S2_m = Σ_i w_i x_{a,i} s_i^m,
//!   (D⁻¹ U z)_i     = (f1 Q'(s_i) + f3 Q(s_i), f2 Q'(s_i) + f4 Q(s_i)),   Q(s) = Σ_k σ_k z_k s^k,
//!   (Vᵀ D⁻¹ U)_jk   = −σ_j σ_k (jk A_{j+k−2} + j B_{j+k−1} + k C_{j+k−1} + E_{j+k}),
//!   A_m = Σ_i w_i a_i f1_i s_i^m,  B_m = Σ_i w_i a_i f3_i s_i^m,  C_m = Σ_i w_i f2_i s_i^m,  E_m = Σ_i w_i f4_i s_i^m.
//! ```
//!
//! A factorization costs `O(N K)` (four power sums of degree `2K`) plus an `L × L` inverse,
//! a solve `O(N K)` (two power sums and one polynomial per particle), instead of `O(N³)`;
//! memory is 11 numbers per particle whatever `K` (weight, the state at the Jacobian, and
//! `D_i⁻¹`, `f_i` stored by the factorization) up to `2¹⁸` particles, 3 above, where the
//! Newton passes recompute `B_i`, `D_i⁻¹` and `f_i` from the Jacobian state (two Horner
//! evaluations and a division per particle, the same bits) rather than stream eight more
//! arrays from memory. A degree with `σ_k = 0` gives a zero row and column of `Vᵀ D⁻¹ U`,
//! hence a unit one of the capacitance matrix.
//!
//! The kernels work on blocks of four particles in SIMD registers ([`wide::f64x4`]), with
//! fused multiply–adds that are fused on every machine (hardware or software, [`fma`](lanes::fma)) and
//! sums in a fixed order, so results are the same bits on every machine and for every
//! thread count.

mod kernels;
mod lanes;
mod parallel;
mod scratch;
mod woodbury;

use timescales_ode::{JacobianBlocks, OdeSystem, SlowFastSystem};

use kernels::{jacobian_kernel, moments_kernel, rhs_kernel};
use lanes::with_len;
use parallel::{Shared, chunked_for, chunked_sum};
use scratch::Scratch;
use woodbury::{Factorization, StructuredJacobian};

/// The two-layer flow over `N` weighted particles at a given `ε`.
#[derive(Debug, Clone)]
pub struct TwoLayerFlow {
    sigma: Vec<f64>,
    phi: Vec<f64>,
    weights: Vec<f64>,
    eps: f64,
    tail_energy: f64,
    jac: StructuredJacobian,
    fact: Option<Factorization>,
    /// [`woodbury::STORE_BLOCKS_UP_TO`] (tests set it to compare both ways).
    store_blocks_up_to: usize,
}

/// Value and first derivative of `P(s) = Σ_k c_k s^k` by Horner's rule.
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
        Self {
            sigma,
            phi,
            weights,
            eps,
            tail_energy,
            jac: StructuredJacobian::default(),
            store_blocks_up_to: woodbury::STORE_BLOCKS_UP_TO,
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
        let mut m = vec![0.0; self.sigma.len()];
        self.moments_into(s, a, &mut m);
        m
    }

    /// [`moments`](Self::moments) into `m` (`K + 1` entries).
    fn moments_into(&self, s: &[f64], a: &[f64], m: &mut [f64]) {
        let w = &self.weights;
        with_len!(m.len(), len => chunked_sum(s.len(), m, |range, m| {
            moments_kernel(len, &w[range.clone()], &s[range.clone()], &a[range], m);
        }));
    }

    /// The risk at `u = (s, a)`, i.e. `risk(&residuals(&moments(s, a)))`, without
    /// allocating for small `K`.
    pub fn risk_at(&self, s: &[f64], a: &[f64]) -> f64 {
        let mut r = Scratch::zeros(self.sigma.len());
        self.moments_into(s, a, &mut r);
        for ((r, p), sg) in r.iter_mut().zip(&self.phi).zip(&self.sigma) {
            *r = p - sg * *r;
        }
        self.risk(&r)
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
        self.p_coeffs_scratch(u).to_vec()
    }

    /// [`p_coeffs`](Self::p_coeffs) in a [`Scratch`] (no allocation for small `K`).
    fn p_coeffs_scratch(&self, u: &[f64]) -> Scratch {
        let n = self.particles();
        let (s, a) = u.split_at(n);
        let mut c = Scratch::zeros(self.sigma.len());
        self.moments_into(s, a, &mut c);
        // c_k = r_k σ_k with r_k = φ_k − σ_k M_k.
        for ((c, p), sg) in c.iter_mut().zip(&self.phi).zip(&self.sigma) {
            *c = (p - sg * *c) * sg;
        }
        c
    }
}

impl OdeSystem for TwoLayerFlow {
    fn dim(&self) -> usize {
        2 * self.particles()
    }
    /// `ṡ_i = (1 − s_i²) a_i P'(s_i)`, `ȧ_i = P(s_i)/ε`.
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        let n = self.particles();
        let c = self.p_coeffs_scratch(u);
        let (s, a) = u.split_at(n);
        let inv_eps = 1.0 / self.eps;
        let out = Shared(du[..2 * n].as_mut_ptr());
        with_len!(c.len(), len => chunked_for(n, |range| {
            // SAFETY: chunks own disjoint particle ranges of both halves of du (2n long).
            let (ds, da) = unsafe {
                (
                    out.slice(range.clone()),
                    out.slice(n + range.start..n + range.end),
                )
            };
            rhs_kernel(len, &c, inv_eps, &s[range.clone()], &a[range], ds, da);
        }));
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
    /// Dense blocks assembled from the structured Jacobian (for small `N`):
    /// `J = B + U Vᵀ` with the columns of module documentation.
    fn jacobian(&self, x: &[f64], y: &[f64], _eps: f64, blocks: &mut JacobianBlocks) -> bool {
        let n = self.particles();
        let u: Vec<f64> = x.iter().chain(y).copied().collect();
        let c = self.p_coeffs(&u);
        let eps = self.eps;
        let mut j = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        {
            let [ss, sa, as_] = j.each_mut().map(|v| &mut v[..]);
            with_len!(c.len(), len => jacobian_kernel(len, &c, 1.0 / eps, x, y, [ss, sa, as_]));
        }
        let [ss, sa, as_] = &j;
        let sigma = &self.sigma;
        // U[s_i, k], U[a_i, k]·ε, V[s_i, k], V[a_i, k], particle-major.
        let len = sigma.len();
        let mut cols = Vec::with_capacity(n * len);
        for i in 0..n {
            let (s, a, w) = (x[i], y[i], self.weights[i]);
            for (k, sg) in sigma.iter().enumerate() {
                let sk = s.powi(k as i32);
                let dsk = if k == 0 {
                    0.0
                } else {
                    k as f64 * s.powi(k as i32 - 1)
                };
                cols.push((
                    (1.0 - s * s) * a * sg * dsk,
                    sg * sk,
                    -sg * w * a * dsk,
                    -sg * w * sk,
                ));
            }
        }
        let mut b = JacobianBlocks::zeros(n, n);
        for i in 0..n {
            b.gx[(i, i)] += ss[i];
            b.gy[(i, i)] += sa[i];
            b.fx[(i, i)] += as_[i] * eps;
            for k in 0..len {
                let (us, ua, _, _) = cols[i * len + k];
                for l in 0..n {
                    let (_, _, vs, va) = cols[l * len + k];
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
mod tests;
