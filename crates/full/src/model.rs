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

use nalgebra::{DMatrix, Dyn, LU};
use rayon::prelude::*;
use timescales_ode::{JacobianBlocks, Linearization, OdeSystem, SlowFastSystem};

/// Particles per parallel work unit. Reductions sum per-chunk partial results in chunk
/// order, so results are bit-identical whatever the number of threads; systems with at most
/// one chunk run sequentially (no scheduling overhead for small `N`).
const CHUNK: usize = 4096;

/// `total = Σ_c f(range_c)` over fixed chunks, combined in chunk order (deterministic).
/// One chunk (small `N`) accumulates straight into `total`: no allocation.
fn chunked_sum(n: usize, total: &mut [f64], f: impl Fn(Range<usize>, &mut [f64]) + Sync) {
    total.fill(0.0);
    if n <= CHUNK {
        f(0..n, total);
        return;
    }
    let len = total.len();
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
}

/// Largest length kept on the stack by [`Scratch`].
const SMALL: usize = 16;

/// A zeroed work vector of `len` entries: on the stack when `len ≤ SMALL` (the per-step
/// moments, coefficients and capacitance right-hand sides), on the heap otherwise.
enum Scratch {
    Stack([f64; SMALL], usize),
    Heap(Vec<f64>),
}

impl Scratch {
    fn zeros(len: usize) -> Self {
        if len <= SMALL {
            Self::Stack([0.0; SMALL], len)
        } else {
            Self::Heap(vec![0.0; len])
        }
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        match self {
            Self::Stack(a, len) => &a[..*len],
            Self::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f64] {
        match self {
            Self::Stack(a, len) => &mut a[..*len],
            Self::Heap(v) => v,
        }
    }
}

/// A loop length: known at compile time ([`Fixed`]) or only at run time ([`Var`]). The
/// per-particle kernels are written once over `L: Len` and instantiated by [`with_len!`]
/// for the usual small numbers of degrees, so that their inner loops over `k` unroll and
/// vectorize; the arithmetic (and hence every result bit) is the same in all instances.
trait Len: Copy + Send + Sync {
    fn get(self) -> usize;
}

#[derive(Clone, Copy)]
struct Fixed<const L: usize>;
impl<const L: usize> Len for Fixed<L> {
    #[inline(always)]
    fn get(self) -> usize {
        L
    }
}

#[derive(Clone, Copy)]
struct Var(usize);
impl Len for Var {
    #[inline(always)]
    fn get(self) -> usize {
        self.0
    }
}

/// `with_len!(n, L => body)`: `body` with `L` a [`Len`] equal to `n`, compile-time for
/// `n = 1..=8`.
macro_rules! with_len {
    ($n:expr, $l:ident => $body:expr) => {
        match $n {
            1 => {
                let $l = Fixed::<1>;
                $body
            }
            2 => {
                let $l = Fixed::<2>;
                $body
            }
            3 => {
                let $l = Fixed::<3>;
                $body
            }
            4 => {
                let $l = Fixed::<4>;
                $body
            }
            5 => {
                let $l = Fixed::<5>;
                $body
            }
            6 => {
                let $l = Fixed::<6>;
                $body
            }
            7 => {
                let $l = Fixed::<7>;
                $body
            }
            8 => {
                let $l = Fixed::<8>;
                $body
            }
            n => {
                let $l = Var(n);
                $body
            }
        }
    };
}

/// Runs `f` on a copy of the accumulators `acc` in a local array when there are at most
/// 8 of them (so that they live in registers, not in memory behind a store-to-load
/// dependency per particle), and writes them back.
#[inline(always)]
fn with_local_acc(acc: &mut [f64], f: impl FnOnce(&mut [f64])) {
    const M: usize = 8;
    if acc.len() <= M {
        let mut local = [0.0; M];
        let local = &mut local[..acc.len()];
        local.copy_from_slice(acc);
        f(local);
        acc.copy_from_slice(local);
    } else {
        f(acc);
    }
}

/// `m_k += Σ_i w_i a_i s_i^k` over one chunk, `k < len`.
#[inline(never)]
fn moments_kernel<L: Len>(len: L, w: &[f64], s: &[f64], a: &[f64], m: &mut [f64]) {
    with_local_acc(&mut m[..len.get()], |m| {
        let m = &mut m[..len.get()];
        for ((wi, si), ai) in w.iter().zip(s).zip(a) {
            let mut p = wi * ai;
            for mk in m.iter_mut() {
                *mk += p;
                p *= si;
            }
        }
    });
}

/// `ṡ_i = (1 − s_i²) a_i P'(s_i)`, `ȧ_i = P(s_i)/ε` over one chunk.
#[inline(never)]
fn rhs_kernel<L: Len>(
    len: L,
    c: &[f64],
    inv_eps: f64,
    s: &[f64],
    a: &[f64],
    ds: &mut [f64],
    da: &mut [f64],
) {
    let c = &c[..len.get()];
    for (((si, ai), dsi), dai) in s.iter().zip(a).zip(ds.iter_mut()).zip(da.iter_mut()) {
        let (p, dp) = poly2(c, *si);
        *dsi = (1.0 - si * si) * ai * dp;
        *dai = p * inv_eps;
    }
}

/// The structured Jacobian (module documentation) over one chunk: `out` holds the chunk's
/// `ss, sa, as, U_s, U_a, V_s, V_a`.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn jacobian_kernel<L: Len>(
    kp: L,
    c: &[f64],
    sigma: &[f64],
    active: &[usize],
    inv_eps: f64,
    s: &[f64],
    a: &[f64],
    w: &[f64],
    out: [&mut [f64]; 7],
) {
    let kp = kp.get();
    let active = &active[..kp];
    let [ss, sa, as_, us, ua, vs, va] = out;
    let mut pow_buf = Scratch::zeros(sigma.len() + 1);
    let pow: &mut [f64] = &mut pow_buf;
    for (l, ((&si, &ai), &w)) in s.iter().zip(a).zip(w).enumerate() {
        let (_, dp, d2p) = poly3(c, si);
        let q = 1.0 - si * si;
        pow[0] = 1.0;
        for k in 1..pow.len() {
            pow[k] = pow[k - 1] * si;
        }
        ss[l] = ai * (-2.0 * si * dp + q * d2p);
        sa[l] = q * dp;
        as_[l] = dp * inv_eps;
        let at = l * kp..(l + 1) * kp;
        let (us, ua) = (&mut us[at.clone()], &mut ua[at.clone()]);
        let (vs, va) = (&mut vs[at.clone()], &mut va[at]);
        for (jj, &k) in active.iter().enumerate() {
            let sk = sigma[k];
            let dpow = if k == 0 { 0.0 } else { k as f64 * pow[k - 1] };
            us[jj] = q * ai * sk * dpow;
            ua[jj] = sk * pow[k] * inv_eps;
            vs[jj] = -sk * w * ai * dpow;
            va[jj] = -sk * w * pow[k];
        }
    }
}

/// The per-particle part of [`Linearization::factor`] over one chunk (particles
/// `start..start + ss.len()`): `D_i⁻¹`, `Y_i = D_i⁻¹ U_i` and `acc += Σ_i V_iᵀ Y_i`
/// (row-major `K' × K'`). Returns the first particle whose block is singular.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn factor_kernel<L: Len>(
    kp: L,
    c: f64,
    start: usize,
    j: &StructuredJacobian,
    dinv: &mut [f64],
    ys: &mut [f64],
    ya: &mut [f64],
    acc: &mut [f64],
) -> Option<usize> {
    let kp = kp.get();
    let acc = &mut acc[..kp * kp];
    let mut singular = None;
    for (l, d) in dinv.chunks_exact_mut(4).enumerate() {
        let i = start + l;
        // D_i = [[c − ss, −sa], [−as, c]].
        let (d11, d12, d21, d22) = (c - j.ss[i], -j.sa[i], -j.as_[i], c);
        let det = d11 * d22 - d12 * d21;
        if !det.is_finite() || det == 0.0 {
            singular.get_or_insert(i);
            continue;
        }
        let (p, q, r, t) = (d22 / det, -d12 / det, -d21 / det, d11 / det);
        d.copy_from_slice(&[p, q, r, t]);
        let (base, local) = (i * kp, l * kp);
        let (us, ua) = (&j.us[base..base + kp], &j.ua[base..base + kp]);
        let (y1, y2) = (&mut ys[local..local + kp], &mut ya[local..local + kp]);
        for (((y1, y2), us), ua) in y1.iter_mut().zip(y2.iter_mut()).zip(us).zip(ua) {
            *y1 = p * us + q * ua;
            *y2 = r * us + t * ua;
        }
        let (vs, va) = (&j.vs[base..base + kp], &j.va[base..base + kp]);
        for ((acc_row, vs), va) in acc.chunks_exact_mut(kp).zip(vs).zip(va) {
            for ((a, y1), y2) in acc_row.iter_mut().zip(&*y1).zip(&*y2) {
                *a += vs * y1 + va * y2;
            }
        }
    }
    singular
}

/// First half of [`Linearization::solve`] over one chunk (particles `start..`):
/// `x_i = D_i⁻¹ b_i` in place and `acc += Σ_i V_iᵀ x_i`.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn solve_scale_kernel<L: Len>(
    kp: L,
    start: usize,
    dinv: &[f64],
    vs: &[f64],
    va: &[f64],
    bs: &mut [f64],
    ba: &mut [f64],
    acc: &mut [f64],
) {
    let kp = kp.get();
    with_local_acc(&mut acc[..kp], |acc| {
        let acc = &mut acc[..kp];
        for (l, (x, y)) in bs.iter_mut().zip(ba.iter_mut()).enumerate() {
            let i = start + l;
            let d = &dinv[4 * i..4 * i + 4];
            let (xs, xa) = (d[0] * *x + d[1] * *y, d[2] * *x + d[3] * *y);
            *x = xs;
            *y = xa;
            let base = i * kp;
            let (vs, va) = (&vs[base..base + kp], &va[base..base + kp]);
            for ((a, vs), va) in acc.iter_mut().zip(vs).zip(va) {
                *a += vs * xs + va * xa;
            }
        }
    });
}

/// Second half of [`Linearization::solve`] over one chunk: `x_i += Y_i z`.
#[inline(never)]
fn solve_update_kernel<L: Len>(
    kp: L,
    start: usize,
    ys: &[f64],
    ya: &[f64],
    z: &[f64],
    bs: &mut [f64],
    ba: &mut [f64],
) {
    let kp = kp.get();
    let z = &z[..kp];
    for (l, (x, y)) in bs.iter_mut().zip(ba.iter_mut()).enumerate() {
        let base = (start + l) * kp;
        let (ys, ya) = (&ys[base..base + kp], &ya[base..base + kp]);
        let (mut ds, mut da) = (0.0, 0.0);
        for ((zc, ys), ya) in z.iter().zip(ys).zip(ya) {
            ds += ys * zc;
            da += ya * zc;
        }
        *x += ds;
        *y += da;
    }
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
    /// `range` is in bounds and no other thread touches it while the slice lives.
    #[inline]
    unsafe fn slice<'a>(self, range: Range<usize>) -> &'a mut [f64] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(range.start), range.len()) }
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
    cap: Option<CapacitanceLu>,
    /// The Jacobian changed since this factorization (buffers kept for reuse).
    stale: bool,
}

/// nalgebra's LU of the `K' × K'` capacitance matrix with its factors unpacked, so that a
/// solve needs no allocation and its loops unroll for a compile-time `K'`: it repeats
/// `LU::solve_mut` operation by operation (row swaps, unit-lower then upper substitution
/// by columns, `b_r += −coeff · L_ri`), hence gives the same bits.
#[derive(Debug, Clone)]
struct CapacitanceLu {
    lu: LU<f64, Dyn, Dyn>,
    /// `L` (unit diagonal) and `U`, column-major.
    l: Vec<f64>,
    u: Vec<f64>,
}

impl CapacitanceLu {
    fn new(lu: LU<f64, Dyn, Dyn>) -> Self {
        let (l, u) = (lu.l().as_slice().to_vec(), lu.u().as_slice().to_vec());
        Self { lu, l, u }
    }

    /// `b ← A⁻¹ b` (`b` has `K'` entries).
    #[inline(always)]
    fn solve<L: Len>(&self, kp: L, b: &mut [f64]) {
        let k = kp.get();
        self.lu
            .p()
            .permute_rows(&mut nalgebra::DVectorViewMut::from_slice(&mut b[..k], k));
        let (l, u, b) = (&self.l[..k * k], &self.u[..k * k], &mut b[..k]);
        for i in 0..k.saturating_sub(1) {
            let coeff = b[i];
            for r in i + 1..k {
                b[r] += -coeff * l[i * k + r];
            }
        }
        for i in (0..k).rev() {
            let coeff = b[i] / u[i * k + i];
            b[i] = coeff;
            for r in 0..i {
                b[r] += -coeff * u[i * k + r];
            }
        }
    }
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

impl Linearization for TwoLayerFlow {
    fn update_jacobian(&mut self, u: &[f64]) {
        let n = self.particles();
        let kp = self.active.len();
        let c = self.p_coeffs_scratch(u);
        let (s, a) = u.split_at(n);
        let inv_eps = 1.0 / self.eps;
        let j = &mut self.jac;
        for v in [&mut j.ss, &mut j.sa, &mut j.as_] {
            v.resize(n, 0.0);
        }
        for v in [&mut j.us, &mut j.ua, &mut j.vs, &mut j.va] {
            v.resize(n * kp, 0.0);
        }
        let (sigma, weights, active) = (&self.sigma, &self.weights, &self.active);
        let ptr = [
            &mut j.ss, &mut j.sa, &mut j.as_, &mut j.us, &mut j.ua, &mut j.vs, &mut j.va,
        ]
        .map(|v| Shared(v.as_mut_ptr()));
        with_len!(kp, len => chunked_for(n, |range| {
            let (lo, hi) = (range.start, range.end);
            // SAFETY: chunks own disjoint particle ranges; the ranges are in bounds.
            let out = unsafe {
                [
                    ptr[0].slice(range.clone()),
                    ptr[1].slice(range.clone()),
                    ptr[2].slice(range.clone()),
                    ptr[3].slice(lo * kp..hi * kp),
                    ptr[4].slice(lo * kp..hi * kp),
                    ptr[5].slice(lo * kp..hi * kp),
                    ptr[6].slice(lo * kp..hi * kp),
                ]
            };
            let (s, a, w) = (&s[range.clone()], &a[range.clone()], &weights[range]);
            jacobian_kernel(len, &c, sigma, active, inv_eps, s, a, w, out);
        }));
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
        let mut vty = Scratch::zeros(kp * kp);
        with_len!(kp, len => chunked_sum(n, &mut vty, |range, acc| {
            // SAFETY: chunks own disjoint particle ranges; the ranges are in bounds.
            let (dinv, ys, ya) = unsafe {
                (
                    pd.slice(4 * range.start..4 * range.end),
                    py.slice(range.start * kp..range.end * kp),
                    pa.slice(range.start * kp..range.end * kp),
                )
            };
            if let Some(i) = factor_kernel(len, c, range.start, j, dinv, ys, ya, acc) {
                singular.fetch_min(i, std::sync::atomic::Ordering::Relaxed);
            }
        }));
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
            Some(CapacitanceLu::new(lu))
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
        let pb = Shared(b[..2 * n].as_mut_ptr());
        // x = D⁻¹ b and g = Vᵀ x in one pass, z = (I − Vᵀ D⁻¹ U)⁻¹ g, x += Y z.
        let mut g = Scratch::zeros(kp);
        with_len!(kp, len => {
            chunked_sum(n, &mut g, |range, acc| {
                // SAFETY: chunks own disjoint particle ranges of both halves of b (2n long).
                let (bs, ba) = unsafe {
                    (
                        pb.slice(range.clone()),
                        pb.slice(n + range.start..n + range.end),
                    )
                };
                solve_scale_kernel(len, range.start, &f.dinv, &j.vs, &j.va, bs, ba, acc);
            });
            if let Some(cap) = &f.cap {
                cap.solve(len, &mut g);
                let z = &*g;
                chunked_for(n, |range| {
                    // SAFETY: as above.
                    let (bs, ba) = unsafe {
                        (
                            pb.slice(range.clone()),
                            pb.slice(n + range.start..n + range.end),
                        )
                    };
                    solve_update_kernel(len, range.start, &f.ys, &f.ya, z, bs, ba);
                });
            }
        });
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
    use nalgebra::DVector;
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
    fn woodbury_solve_with_many_degrees_matches_dense_lu() {
        // K' = 10 > 8: the kernels run with a run-time length (`Var`), not `Fixed`.
        let eps = 1e-3;
        let n = 9;
        let sigma: Vec<f64> = (0..11).map(|k| 1.0 / (1.0 + k as f64)).collect();
        let phi: Vec<f64> = (0..11).map(|k| 0.5 * (k as f64 * 0.7).cos()).collect();
        let w = vec![1.0 / n as f64; n];
        let mut f = TwoLayerFlow::new(sigma, phi, w, eps, 0.0);
        let u: Vec<f64> = (0..2 * n)
            .map(|i| {
                if i < n {
                    0.8 * (i as f64 * 1.3).sin()
                } else {
                    1.5 * (i as f64 * 0.4).cos()
                }
            })
            .collect();
        let jd = DenseSlowFast::new(f.clone(), eps).dense_jacobian(&u);
        f.update_jacobian(&u);
        let c = 20.0;
        f.factor(c).unwrap();
        let b: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut x = b.clone();
        f.solve(&mut x);
        let w = DMatrix::identity(2 * n, 2 * n) * c - jd;
        let res = &w * DVector::from_column_slice(&x) - DVector::from_column_slice(&b);
        let scale = w.abs().max() * DVector::from_column_slice(&x).amax();
        assert!(res.amax() < 1e-12 * scale, "residual {}", res.amax());
    }

    #[test]
    fn fixed_and_runtime_lengths_give_the_same_bits() {
        let n = 11;
        let (mut f, u) = sample_flow(n, 1e-3);
        let (s, a) = u.split_at(n);
        let (mut m1, mut m2) = (vec![0.0; 6], vec![0.0; 6]);
        moments_kernel(Fixed::<6>, &f.weights, s, a, &mut m1);
        moments_kernel(Var(6), &f.weights, s, a, &mut m2);
        assert_eq!(m1, m2);
        let c = f.p_coeffs(&u);
        let (mut d1, mut d2) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
        {
            let (ds, da) = d1.split_at_mut(n);
            rhs_kernel(Fixed::<6>, &c, 1e3, s, a, ds, da);
            let (ds, da) = d2.split_at_mut(n);
            rhs_kernel(Var(6), &c, 1e3, s, a, ds, da);
        }
        assert_eq!(d1, d2);
        f.update_jacobian(&u);
        let kp = f.active.len();
        let run = |fixed: bool| {
            let (mut dinv, mut ys, mut ya) =
                (vec![0.0; 4 * n], vec![0.0; n * kp], vec![0.0; n * kp]);
            let mut acc = vec![0.0; kp * kp];
            let j = &f.jac;
            if fixed {
                factor_kernel(
                    Fixed::<5>, 30.0, 0, j, &mut dinv, &mut ys, &mut ya, &mut acc,
                );
            } else {
                factor_kernel(Var(5), 30.0, 0, j, &mut dinv, &mut ys, &mut ya, &mut acc);
            }
            let mut b: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.37).sin()).collect();
            let (bs, ba) = b.split_at_mut(n);
            let mut g = vec![0.0; kp];
            if fixed {
                solve_scale_kernel(Fixed::<5>, 0, &dinv, &j.vs, &j.va, bs, ba, &mut g);
                solve_update_kernel(Fixed::<5>, 0, &ys, &ya, &g, bs, ba);
            } else {
                solve_scale_kernel(Var(5), 0, &dinv, &j.vs, &j.va, bs, ba, &mut g);
                solve_update_kernel(Var(5), 0, &ys, &ya, &g, bs, ba);
            }
            (dinv, ys, ya, acc, b)
        };
        assert_eq!(kp, 5);
        assert_eq!(run(true), run(false));
    }

    #[test]
    fn capacitance_solve_repeats_nalgebra() {
        let k = 6;
        let m = DMatrix::from_fn(k, k, |i, j| {
            (i as f64 * 1.3 + j as f64 * 0.7).sin() + if i == j { 0.5 } else { 0.0 }
        });
        let b: Vec<f64> = (0..k).map(|i| (i as f64 * 0.9).cos()).collect();
        let lu = m.lu();
        let mut expected = DVector::from_column_slice(&b);
        lu.solve_mut(&mut expected);
        let cap = CapacitanceLu::new(lu);
        let (mut x1, mut x2) = (b.clone(), b);
        cap.solve(Fixed::<6>, &mut x1);
        cap.solve(Var(6), &mut x2);
        assert_eq!(x1, expected.as_slice());
        assert_eq!(x2, expected.as_slice());
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
