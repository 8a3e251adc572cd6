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
//! memory is 14 numbers per particle whatever `K` (weight, the state at the Jacobian, `B_i`,
//! `D_i⁻¹`, `f_i`). A degree with `σ_k = 0` gives a zero row and column of `Vᵀ D⁻¹ U`,
//! hence a unit one of the capacitance matrix.
//!
//! The kernels work on blocks of four particles in SIMD registers ([`wide::f64x4`]), with
//! fused multiply–adds that are fused on every machine (hardware or software, [`fma`]) and
//! sums in a fixed order, so results are the same bits on every machine and for every
//! thread count.

use std::ops::Range;

use rayon::prelude::*;
use timescales_ode::{JacobianBlocks, Linearization, OdeSystem, SlowFastSystem};
use wide::f64x4;

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
/// for the usual small numbers of coefficients, so that their inner loops over the degree
/// unroll and their accumulators stay in registers; the arithmetic (and hence every result
/// bit) is the same in all instances.
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

/// Particles processed together by the kernels: independent lanes that the compiler maps
/// onto SIMD registers, and interleaved partial sums (particle `i` adds to lane `i mod
/// LANES`) that break the add-latency chain of a single accumulator. The lanes of a sum are
/// added up in a fixed order, so results do not depend on anything but the input.
const LANES: usize = 4;
/// The values of one block of particles (four `f64` in one AVX register, two SSE ones, or
/// four scalars: the same bits in every case).
type Lanes = f64x4;

/// `for_blocks!(n, |i, valid| body)`: `body` for the blocks `i..i + valid` of `0..n`, full
/// blocks of [`LANES`] and then the tail (a macro, so that both copies of `body` are inlined
/// with `valid` known in the first).
macro_rules! for_blocks {
    ($n:expr, |$i:ident, $v:ident| $body:block) => {{
        let n: usize = $n;
        let full = n - n % LANES;
        let mut start = 0;
        while start < full {
            let ($i, $v) = (start, LANES);
            $body
            start += LANES;
        }
        if full < n {
            let ($i, $v) = (full, n - full);
            $body
        }
    }};
}

/// `x[i..i + valid]`, padded with zeros (padded lanes add exact zeros to the sums).
#[inline(always)]
fn load(x: &[f64], i: usize, valid: usize) -> Lanes {
    if valid == LANES {
        let block: &[f64; LANES] = x[i..i + LANES].try_into().expect("a full block");
        f64x4::new(*block)
    } else {
        f64x4::new(std::array::from_fn(
            |l| if l < valid { x[i + l] } else { 0.0 },
        ))
    }
}

/// `x[i..i + valid] = v[..valid]`.
#[inline(always)]
fn store(x: &mut [f64], i: usize, valid: usize, v: Lanes) {
    if valid == LANES {
        let block: &mut [f64; LANES] = (&mut x[i..i + LANES]).try_into().expect("a full block");
        *block = v.to_array();
    } else {
        for (x, v) in x[i..i + valid].iter_mut().zip(v.to_array()) {
            *x = v;
        }
    }
}

/// `total[j] += Σ_l acc[j][l]` in a fixed order.
#[inline(always)]
fn reduce_lanes(acc: &[Lanes], total: &mut [f64]) {
    for (t, a) in total.iter_mut().zip(acc) {
        let a = a.to_array();
        *t += (a[0] + a[1]) + (a[2] + a[3]);
    }
}

/// Runs `f` on `count` zeroed lane accumulators (on the stack when there are at most 64).
#[inline(always)]
fn with_lane_acc<R>(count: usize, f: impl FnOnce(&mut [Lanes]) -> R) -> R {
    const M: usize = 64;
    if count <= M {
        let mut acc = [f64x4::ZERO; M];
        f(&mut acc[..count])
    } else {
        f(&mut vec![f64x4::ZERO; count])
    }
}

/// `a b + c` with one rounding, lane-wise: the hardware instruction where the build target
/// has FMA, else `f64::mul_add` per lane (also fused, in software), so that results are the
/// same bits on every machine.
#[inline(always)]
fn fma(a: Lanes, b: Lanes, c: Lanes) -> Lanes {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx", target_feature = "fma"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx", target_feature = "fma")))]
    {
        let (a, b, c) = (a.to_array(), b.to_array(), c.to_array());
        f64x4::new(std::array::from_fn(|l| a[l].mul_add(b[l], c[l])))
    }
}

/// `acc_j[m] += t_j s^m` for `m = 0..acc_j.len()` and each of the `J` sums `acc_j` (power
/// sums, lane-wise; all `acc_j` have the same length).
#[inline(always)]
fn add_powers<const J: usize>(acc: [&mut [Lanes]; J], t: [Lanes; J], s: Lanes) {
    let mut p = f64x4::ONE;
    for m in 0..acc[0].len() {
        for j in 0..J {
            acc[j][m] = fma(t[j], p, acc[j][m]);
        }
        p *= s;
    }
}

/// `(P, P')` of `P(s) = Σ_k c_k s^k` by Horner's rule, lane-wise.
#[inline(always)]
fn horner2(c: &[f64], s: Lanes) -> (Lanes, Lanes) {
    let (mut p, mut dp) = (f64x4::ZERO, f64x4::ZERO);
    for &ck in c.iter().rev() {
        dp = fma(dp, s, p);
        p = fma(p, s, f64x4::splat(ck));
    }
    (p, dp)
}

/// `(P', P'')` of `P(s) = Σ_k c_k s^k` by Horner's rule, lane-wise.
#[inline(always)]
fn horner3(c: &[f64], s: Lanes) -> (Lanes, Lanes) {
    let (mut p, mut dp, mut d2p) = (f64x4::ZERO, f64x4::ZERO, f64x4::ZERO);
    let two = f64x4::splat(2.0);
    for &ck in c.iter().rev() {
        d2p = fma(d2p, s, two * dp);
        dp = fma(dp, s, p);
        p = fma(p, s, f64x4::splat(ck));
    }
    (dp, d2p)
}

/// `m_k += Σ_i w_i a_i s_i^k` over one chunk, `k < len`.
#[inline(never)]
fn moments_kernel<L: Len>(len: L, w: &[f64], s: &[f64], a: &[f64], m: &mut [f64]) {
    let len = len.get();
    with_lane_acc(len, |acc| {
        for_blocks!(s.len(), |i, v| {
            add_powers([&mut *acc], [load(w, i, v) * load(a, i, v)], load(s, i, v));
        });
        reduce_lanes(acc, &mut m[..len]);
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
    let (one, inv_eps) = (f64x4::ONE, f64x4::splat(inv_eps));
    for_blocks!(s.len(), |i, v| {
        let (si, ai) = (load(s, i, v), load(a, i, v));
        let (p, dp) = horner2(c, si);
        store(ds, i, v, (one - si * si) * ai * dp);
        store(da, i, v, p * inv_eps);
    });
}

/// The diagonal blocks `B_i` (module documentation) over one chunk: `ss, sa, as`.
#[inline(never)]
fn jacobian_kernel<L: Len>(
    len: L,
    c: &[f64],
    inv_eps: f64,
    s: &[f64],
    a: &[f64],
    [ss, sa, as_]: [&mut [f64]; 3],
) {
    let c = &c[..len.get()];
    let (one, two, inv_eps) = (f64x4::ONE, f64x4::splat(2.0), f64x4::splat(inv_eps));
    for_blocks!(s.len(), |i, v| {
        let (si, ai) = (load(s, i, v), load(a, i, v));
        let (dp, d2p) = horner3(c, si);
        let q = one - si * si;
        store(ss, i, v, ai * (q * d2p - two * si * dp));
        store(sa, i, v, q * dp);
        store(as_, i, v, dp * inv_eps);
    });
}

/// The per-particle part of [`Linearization::factor`] over one chunk (particles
/// `start..start + s.len()`): `D_i⁻¹`, the coefficients `f_i` of `D_i⁻¹ U_i z` and the power
/// sums `A_m, B_m, C_m, E_m` (`m < 2L − 1`) of the capacitance matrix, accumulated into
/// `acc` (`4 (2L − 1)` entries, sum-major). Returns the first particle whose block is
/// singular.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn factor_kernel<L: Len>(
    len: L,
    c: f64,
    inv_eps: f64,
    start: usize,
    (w, s, a): (&[f64], &[f64], &[f64]),
    [ss, sa, as_]: [&[f64]; 3],
    [d11, d12, d21, d22]: [&mut [f64]; 4],
    [f1, f2, f3, f4]: [&mut [f64]; 4],
    acc: &mut [f64],
) -> Option<usize> {
    let powers = 2 * len.get() - 1;
    let mut singular = None;
    let (one, cv, inv_eps) = (f64x4::ONE, f64x4::splat(c), f64x4::splat(inv_eps));
    with_lane_acc(4 * powers, |lanes| {
        let (la, rest) = lanes.split_at_mut(powers);
        let (lb, rest) = rest.split_at_mut(powers);
        let (lc, le) = rest.split_at_mut(powers);
        for_blocks!(s.len(), |i, v| {
            let (wi, si, ai) = (load(w, i, v), load(s, i, v), load(a, i, v));
            let (b11, b12, b21) = (load(ss, i, v), load(sa, i, v), load(as_, i, v));
            // D_i = [[c − ss, −sa], [−as, c]], D_i⁻¹ = [[c, sa], [as, c − ss]] / det.
            let c11 = cv - b11;
            let det = c11 * cv - b12 * b21;
            let det_ok = det.is_finite() & !det.simd_eq(f64x4::ZERO);
            if !det_ok.all() {
                let bad = det_ok.to_bitmask();
                if let Some(l) = (0..v).find(|&l| bad & (1 << l) == 0) {
                    singular.get_or_insert(start + i + l);
                }
            }
            let inv = one / det;
            let (e11, e12, e21, e22) = (cv * inv, b12 * inv, b21 * inv, c11 * inv);
            // D⁻¹ U_i z = (f1 Q' + f3 Q, f2 Q' + f4 Q) with U_i z = ((1 − s²) a Q', Q/ε).
            let qa = (one - si * si) * ai;
            let (g1, g2, g3, g4) = (e11 * qa, e21 * qa, e12 * inv_eps, e22 * inv_eps);
            store(d11, i, v, e11);
            store(d12, i, v, e12);
            store(d21, i, v, e21);
            store(d22, i, v, e22);
            store(f1, i, v, g1);
            store(f2, i, v, g2);
            store(f3, i, v, g3);
            store(f4, i, v, g4);
            let wa = wi * ai;
            add_powers(
                [&mut *la, &mut *lb, &mut *lc, &mut *le],
                [wa * g1, wa * g3, wi * g2, wi * g4],
                si,
            );
        });
        reduce_lanes(lanes, &mut acc[..4 * powers]);
    });
    singular
}

/// First half of [`Linearization::solve`] over one chunk: `x_i = D_i⁻¹ b_i` in place and the
/// power sums `S1_m = Σ_i w_i a_i x_{s,i} s_i^m`, `S2_m = Σ_i w_i x_{a,i} s_i^m` (`m < L`)
/// into `acc` (`2L` entries).
#[inline(never)]
fn solve_scale_kernel<L: Len>(
    len: L,
    (w, s, a): (&[f64], &[f64], &[f64]),
    [d11, d12, d21, d22]: [&[f64]; 4],
    bs: &mut [f64],
    ba: &mut [f64],
    acc: &mut [f64],
) {
    let len = len.get();
    with_lane_acc(2 * len, |lanes| {
        let (l1, l2) = lanes.split_at_mut(len);
        for_blocks!(s.len(), |i, v| {
            let (x, y) = (load(bs, i, v), load(ba, i, v));
            let xs = fma(load(d11, i, v), x, load(d12, i, v) * y);
            let xa = fma(load(d21, i, v), x, load(d22, i, v) * y);
            store(bs, i, v, xs);
            store(ba, i, v, xa);
            let (wi, si) = (load(w, i, v), load(s, i, v));
            add_powers([&mut *l1, &mut *l2], [wi * load(a, i, v) * xs, wi * xa], si);
        });
        reduce_lanes(lanes, &mut acc[..2 * len]);
    });
}

/// Second half of [`Linearization::solve`] over one chunk: `x_i += D_i⁻¹ U_i z`, i.e.
/// `x_{s,i} += f1 Q'(s_i) + f3 Q(s_i)`, `x_{a,i} += f2 Q'(s_i) + f4 Q(s_i)` with
/// `Q(s) = Σ_k qc_k s^k`, `qc_k = σ_k z_k`.
#[inline(never)]
fn solve_update_kernel<L: Len>(
    len: L,
    qc: &[f64],
    s: &[f64],
    [f1, f2, f3, f4]: [&[f64]; 4],
    bs: &mut [f64],
    ba: &mut [f64],
) {
    let qc = &qc[..len.get()];
    for_blocks!(s.len(), |i, v| {
        let (q, dq) = horner2(qc, load(s, i, v));
        let (x, y) = (load(bs, i, v), load(ba, i, v));
        store(bs, i, v, fma(load(f1, i, v), dq, fma(load(f3, i, v), q, x)));
        store(ba, i, v, fma(load(f2, i, v), dq, fma(load(f4, i, v), q, y)));
    });
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
    jac: StructuredJacobian,
    fact: Option<Factorization>,
}

/// What the structured Jacobian needs: the state it was taken at (`U` and `V` are
/// polynomials in `s_i` times `a_i`, `w_i`, never stored) and the entries of the blocks `B_i`
/// (`∂ṡ_i/∂s_i`, `∂ṡ_i/∂a_i`, `∂ȧ_i/∂s_i` with `r` frozen).
#[derive(Debug, Clone, Default)]
struct StructuredJacobian {
    s: Vec<f64>,
    a: Vec<f64>,
    ss: Vec<f64>,
    sa: Vec<f64>,
    as_: Vec<f64>,
}

#[derive(Debug, Clone)]
struct Factorization {
    /// Per particle, `D_i⁻¹ = [[d11, d12], [d21, d22]]` (one vector per entry).
    dinv: [Vec<f64>; 4],
    /// Per particle, `D_i⁻¹ U_i z = (f1 Q' + f3 Q, f2 Q' + f4 Q)`: `f = (d11 (1 − s²) a,
    /// d21 (1 − s²) a, d12/ε, d22/ε)`.
    f: [Vec<f64>; 4],
    /// LU of the capacitance matrix `I − Vᵀ D⁻¹ U` (`(K+1) × (K+1)`).
    cap: CapacitanceInverse,
    /// The power sums it was built from (kept as a buffer).
    sums: Vec<f64>,
}

/// The inverse of the small `L × L` capacitance matrix by Gauss–Jordan elimination with
/// partial pivoting, kept in a reused buffer: no allocation per step (nalgebra's `LU`
/// allocates on every call, which showed in the profile of an `N = 64` run), row operations
/// over contiguous rows, and a solve that is a matrix–vector product whose rows are
/// independent (not two substitutions whose divisions and updates form one latency chain).
#[derive(Debug, Clone, Default)]
struct CapacitanceInverse {
    /// `[A | I]` reduced to `[I | A⁻¹]`, row-major, `L × 2L`.
    aug: Vec<f64>,
}

impl CapacitanceInverse {
    /// Inverts the row-major `n × n` matrix whose entry `(j, k)` is `entry(j, k)`. `None`
    /// when a pivot is zero or not finite.
    fn invert(&mut self, n: usize, entry: impl Fn(usize, usize) -> f64) -> Option<()> {
        let w = 2 * n;
        self.aug.clear();
        self.aug.resize(n * w, 0.0);
        for (j, row) in self.aug.chunks_exact_mut(w).enumerate() {
            for (k, v) in row[..n].iter_mut().enumerate() {
                *v = entry(j, k);
            }
            row[n + j] = 1.0;
        }
        let m = &mut self.aug;
        for k in 0..n {
            let p = (k..n)
                .max_by(|&i, &j| m[i * w + k].abs().total_cmp(&m[j * w + k].abs()))
                .unwrap_or(k);
            let pivot = m[p * w + k];
            if pivot == 0.0 || !pivot.is_finite() {
                return None;
            }
            if p != k {
                for c in 0..w {
                    m.swap(p * w + c, k * w + c);
                }
            }
            let scale = 1.0 / pivot;
            for v in &mut m[k * w..(k + 1) * w] {
                *v *= scale;
            }
            let (above, rest) = m.split_at_mut(k * w);
            let (row_k, below) = rest.split_at_mut(w);
            for row in above.chunks_exact_mut(w).chain(below.chunks_exact_mut(w)) {
                let f = row[k];
                if f != 0.0 {
                    for (v, r) in row.iter_mut().zip(&*row_k) {
                        *v -= f * r;
                    }
                }
            }
        }
        Some(())
    }

    /// `out = A⁻¹ b` (`L` entries each).
    #[inline(always)]
    fn apply<L: Len>(&self, len: L, b: &[f64], out: &mut [f64]) {
        let n = len.get();
        let b = &b[..n];
        for (o, row) in out[..n].iter_mut().zip(self.aug.chunks_exact(2 * n)) {
            *o = row[n..].iter().zip(b).map(|(a, b)| a * b).sum();
        }
    }
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
        let c = self.p_coeffs_scratch(u);
        let (s, a) = u.split_at(n);
        let inv_eps = 1.0 / self.eps;
        let j = &mut self.jac;
        j.s.clear();
        j.s.extend_from_slice(s);
        j.a.clear();
        j.a.extend_from_slice(a);
        for v in [&mut j.ss, &mut j.sa, &mut j.as_] {
            v.resize(n, 0.0);
        }
        let ptr = [&mut j.ss, &mut j.sa, &mut j.as_].map(|v| Shared(v.as_mut_ptr()));
        with_len!(c.len(), len => chunked_for(n, |range| {
            // SAFETY: chunks own disjoint particle ranges; the ranges are in bounds.
            let out = unsafe { ptr.map(|p| p.slice(range.clone())) };
            jacobian_kernel(len, &c, inv_eps, &s[range.clone()], &a[range], out);
        }));
    }

    /// `D_i⁻¹`, the coefficients of `D⁻¹ U z`, and the capacitance matrix
    /// `I − Vᵀ D⁻¹ U` from four power sums (module documentation), then its LU.
    fn factor(&mut self, c: f64) -> Result<(), String> {
        let n = self.particles();
        let len = self.sigma.len();
        let inv_eps = 1.0 / self.eps;
        let j = &self.jac;
        // Reuse the previous factorization's buffers (no page faults per step for large N).
        let (mut dinv, mut f, mut cap, mut sums) = match self.fact.take() {
            Some(f) => (f.dinv, f.f, f.cap, f.sums),
            None => Default::default(),
        };
        for v in dinv.iter_mut().chain(f.iter_mut()) {
            v.resize(n, 0.0);
        }
        let pd = dinv.each_mut().map(|v| Shared(v.as_mut_ptr()));
        let pf = f.each_mut().map(|v| Shared(v.as_mut_ptr()));
        let powers = 2 * len - 1;
        let singular = std::sync::atomic::AtomicUsize::new(usize::MAX);
        sums.resize(4 * powers, 0.0);
        let w = &self.weights;
        with_len!(len, l => chunked_sum(n, &mut sums, |range, acc| {
            // SAFETY: chunks own disjoint particle ranges; the ranges are in bounds.
            let (dinv, f) = unsafe {
                (pd.map(|p| p.slice(range.clone())), pf.map(|p| p.slice(range.clone())))
            };
            let r = range.clone();
            let state = (&w[r.clone()], &j.s[r.clone()], &j.a[r.clone()]);
            let blocks = [&j.ss[r.clone()], &j.sa[r.clone()], &j.as_[r]];
            if let Some(i) =
                factor_kernel(l, c, inv_eps, range.start, state, blocks, dinv, f, acc)
            {
                singular.fetch_min(i, std::sync::atomic::Ordering::Relaxed);
            }
        }));
        let bad = singular.into_inner();
        if bad != usize::MAX {
            return Err(format!("2×2 block of particle {bad} is singular"));
        }
        // (Vᵀ D⁻¹ U)_jk = −σ_j σ_k (jk A_{j+k−2} + j B_{j+k−1} + k C_{j+k−1} + E_{j+k}).
        let (sa, rest) = sums.split_at(powers);
        let (sb, rest) = rest.split_at(powers);
        let (sc, se) = rest.split_at(powers);
        let sigma = &self.sigma;
        let entry = |j: usize, k: usize| {
            let (jf, kf) = (j as f64, k as f64);
            let mut v = se[j + k];
            if j > 0 {
                v += jf * sb[j + k - 1];
            }
            if k > 0 {
                v += kf * sc[j + k - 1];
            }
            if j > 0 && k > 0 {
                v += jf * kf * sa[j + k - 2];
            }
            f64::from(u8::from(j == k)) + sigma[j] * sigma[k] * v
        };
        if cap.invert(len, entry).is_none() {
            return Err("capacitance matrix I − VᵀD⁻¹U is singular".into());
        }
        self.fact = Some(Factorization { dinv, f, cap, sums });
        Ok(())
    }

    /// The overlaps must stay in `[−1, 1]` (up to a few units of rounding: a saturated
    /// `s_i = 1 − δ` plus an increment can round to just above 1).
    fn outside_domain(&self, u: &[f64]) -> Option<usize> {
        const LIMIT: f64 = 1.0 + 8.0 * f64::EPSILON;
        let s = &u[..self.particles()];
        let outside = |s: &&f64| s.abs() > LIMIT || s.is_nan();
        // A branch-free count first (vectorized; this runs after every Newton solve), the
        // culprit only when there is one.
        if s.iter().filter(outside).count() == 0 {
            return None;
        }
        s.iter().position(|s| outside(&s))
    }

    /// `x = D⁻¹ b`, `g = Vᵀ x` (`g_k = −σ_k (k S1_{k−1} + S2_k)`), `z = (I − Vᵀ D⁻¹ U)⁻¹ g`,
    /// `x += D⁻¹ U z`.
    fn solve(&self, b: &mut [f64]) {
        let n = self.particles();
        let len = self.sigma.len();
        let f = self
            .fact
            .as_ref()
            .expect("factor() is called before solve()");
        let j = &self.jac;
        let w = &self.weights;
        let pb = Shared(b[..2 * n].as_mut_ptr());
        let mut sums = Scratch::zeros(2 * len);
        with_len!(len, l => {
            chunked_sum(n, &mut sums, |range, acc| {
                // SAFETY: chunks own disjoint particle ranges of both halves of b (2n long).
                let (bs, ba) = unsafe {
                    (
                        pb.slice(range.clone()),
                        pb.slice(n + range.start..n + range.end),
                    )
                };
                let r = range;
                let state = (&w[r.clone()], &j.s[r.clone()], &j.a[r.clone()]);
                let dinv = f.dinv.each_ref().map(|v| &v[r.clone()]);
                solve_scale_kernel(l, state, dinv, bs, ba, acc);
            });
            let mut g = Scratch::zeros(len);
            for (k, gk) in g.iter_mut().enumerate() {
                let s1 = if k > 0 { k as f64 * sums[k - 1] } else { 0.0 };
                *gk = -self.sigma[k] * (s1 + sums[len + k]);
            }
            let mut qc = Scratch::zeros(len);
            f.cap.apply(l, &g, &mut qc);
            for (q, sg) in qc.iter_mut().zip(&self.sigma) {
                *q *= sg;
            }
            let qc = &*qc;
            chunked_for(n, |range| {
                // SAFETY: as above.
                let (bs, ba) = unsafe {
                    (
                        pb.slice(range.clone()),
                        pb.slice(n + range.start..n + range.end),
                    )
                };
                let coeffs = f.f.each_ref().map(|v| &v[range.clone()]);
                solve_update_kernel(l, qc, &j.s[range], coeffs, bs, ba);
            });
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
    /// Dense blocks assembled from the structured Jacobian (for small `N`):
    /// `J = B + U Vᵀ` with the columns of module documentation.
    fn jacobian(&self, x: &[f64], y: &[f64], _eps: f64, blocks: &mut JacobianBlocks) -> bool {
        let n = self.particles();
        let mut me = self.clone();
        let u: Vec<f64> = x.iter().chain(y).copied().collect();
        me.update_jacobian(&u);
        let j = &me.jac;
        let eps = self.eps;
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
            b.gx[(i, i)] += j.ss[i];
            b.gy[(i, i)] += j.sa[i];
            b.fx[(i, i)] += j.as_[i] * eps;
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
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};
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
        let len = f.sigma.len();
        let run = |fixed: bool| {
            let j = &f.jac;
            let (mut dinv, mut coef) = (
                std::array::from_fn::<_, 4, _>(|_| vec![0.0; n]),
                std::array::from_fn::<_, 4, _>(|_| vec![0.0; n]),
            );
            let mut sums = vec![0.0; 4 * (2 * len - 1)];
            let state = (&f.weights[..], &j.s[..], &j.a[..]);
            let blocks = [&j.ss[..], &j.sa[..], &j.as_[..]];
            let (d, c) = (
                dinv.each_mut().map(|v| &mut v[..]),
                coef.each_mut().map(|v| &mut v[..]),
            );
            if fixed {
                factor_kernel(Fixed::<6>, 30.0, 1e3, 0, state, blocks, d, c, &mut sums);
            } else {
                factor_kernel(Var(6), 30.0, 1e3, 0, state, blocks, d, c, &mut sums);
            }
            let mut b: Vec<f64> = (0..2 * n).map(|i| (i as f64 * 0.37).sin()).collect();
            let (bs, ba) = b.split_at_mut(n);
            let mut g = vec![0.0; 2 * len];
            let (d, c) = (
                dinv.each_ref().map(|v| &v[..]),
                coef.each_ref().map(|v| &v[..]),
            );
            let qc: Vec<f64> = (0..len).map(|k| 0.3 * k as f64 - 0.5).collect();
            if fixed {
                solve_scale_kernel(Fixed::<6>, state, d, bs, ba, &mut g);
                solve_update_kernel(Fixed::<6>, &qc, &j.s, c, bs, ba);
            } else {
                solve_scale_kernel(Var(6), state, d, bs, ba, &mut g);
                solve_update_kernel(Var(6), &qc, &j.s, c, bs, ba);
            }
            (dinv, coef, sums, g, b)
        };
        assert_eq!(run(true), run(false));
    }

    #[test]
    fn capacitance_inverse_matches_nalgebra() {
        let k = 6;
        let entry = |i: usize, j: usize| {
            (i as f64 * 1.3 + j as f64 * 0.7).sin() + if i == j { 0.5 } else { 0.0 }
        };
        let m = DMatrix::from_fn(k, k, entry);
        let b: Vec<f64> = (0..k).map(|i| (i as f64 * 0.9).cos()).collect();
        let mut expected = DVector::from_column_slice(&b);
        assert!(m.lu().solve_mut(&mut expected));
        let mut cap = CapacitanceInverse::default();
        cap.invert(k, entry).unwrap();
        let (mut x1, mut x2) = (vec![0.0; k], vec![0.0; k]);
        cap.apply(Fixed::<6>, &b, &mut x1);
        cap.apply(Var(6), &b, &mut x2);
        assert_eq!(x1, x2);
        for (x, e) in x1.iter().zip(expected.iter()) {
            assert!((x - e).abs() < 1e-13 * expected.amax(), "{x} vs {e}");
        }
        // A singular matrix is refused.
        assert!(cap.invert(2, |_, _| 1.0).is_none());
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
