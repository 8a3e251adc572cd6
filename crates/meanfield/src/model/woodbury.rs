//! The structured linearization of [`TwoLayerFlow`]: the Jacobian kept as diagonal `2 × 2`
//! blocks plus a low-rank coupling through the moments, and the Newton matrix factored and
//! solved with the Woodbury identity through a small capacitance matrix (formulas in the
//! [module documentation](super)).

use std::sync::atomic::{AtomicUsize, Ordering};

use timescales_ode::{Linearization, NewtonCorrection};

use super::TwoLayerFlow;
use super::kernels::{
    Blocks, factor_kernel, newton_scale_kernel, newton_update_kernel, solve_scale_kernel,
    solve_update_kernel,
};
use super::lanes::{Len, with_len};
use super::parallel::{Shared, chunked_for, chunked_sum};
use super::scratch::Scratch;

/// What the structured Jacobian needs: the state it was taken at and the coefficients `c_k`
/// of `P` there (`r` frozen). `U`, `V`, the blocks `B_i` (`∂ṡ_i/∂s_i`, `∂ṡ_i/∂a_i`,
/// `∂ȧ_i/∂s_i`), `D_i⁻¹` and the coefficients of `D_i⁻¹ U_i z` are polynomials in `s_i`
/// times `a_i`, `w_i`: the kernels recompute them per particle (the same operations, so the
/// same bits, each time); only `D_i⁻¹` and those coefficients are stored, and only up to
/// [`STORE_BLOCKS_UP_TO`] particles.
#[derive(Debug, Clone, Default)]
pub(super) struct StructuredJacobian {
    pub(super) s: Vec<f64>,
    pub(super) a: Vec<f64>,
    pub(super) c: Vec<f64>,
}

/// Up to this many particles the factorization stores `D_i⁻¹` and the coefficients of
/// `D_i⁻¹ U_i z` (eight arrays) for the Newton passes to load; above it the passes
/// recompute them from the Jacobian state (the same bits; see [`Blocks`]). Measured on the
/// 2-core development machine (BDF, public problem, one thread, benches/RESULTS.md): storing
/// is faster in cache (34 against 43 ns per particle-step at N = 3000, 40 against 55–65 at
/// 10⁴), the two about equal at 3·10⁵ (53–56 against 51–54), and recomputing faster at 10⁶
/// (82 against 65), where the step streams its arrays from memory.
pub(super) const STORE_BLOCKS_UP_TO: usize = 1 << 18;

#[derive(Debug, Clone)]
pub(super) struct Factorization {
    /// The shift `c` of `D_i = c I − B_i`.
    shift: f64,
    /// `D_i⁻¹` (`d11, d12, d21, d22`) and the coefficients `f1 … f4` of `D_i⁻¹ U_i z`, one
    /// vector per entry, when the flow has at most [`STORE_BLOCKS_UP_TO`] particles (else
    /// empty).
    stored: [Vec<f64>; 8],
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
pub(super) struct CapacitanceInverse {
    /// `[A | I]` reduced to `[I | A⁻¹]`, row-major, `L × 2L`.
    aug: Vec<f64>,
}

impl CapacitanceInverse {
    /// Inverts the row-major `n × n` matrix whose entry `(j, k)` is `entry(j, k)`. `None`
    /// when a pivot is zero or not finite.
    pub(super) fn invert(&mut self, n: usize, entry: impl Fn(usize, usize) -> f64) -> Option<()> {
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
    pub(super) fn apply<L: Len>(&self, len: L, b: &[f64], out: &mut [f64]) {
        let n = len.get();
        let b = &b[..n];
        for (o, row) in out[..n].iter_mut().zip(self.aug.chunks_exact(2 * n)) {
            *o = row[n..].iter().zip(b).map(|(a, b)| a * b).sum();
        }
    }
}

/// `with_blocks!(flow, factorization, range, b => body)`: `body` with `b` the chunk's
/// [`Blocks`], loaded from the factorization's arrays where it stored them, else recomputed
/// (a kernel compiled for each).
macro_rules! with_blocks {
    ($me:expr, $f:expr, $r:expr, $b:ident => $body:expr) => {
        if $f.stored[0].is_empty() {
            let $b = $me.blocks::<false>($f, $r);
            $body
        } else {
            let $b = $me.blocks::<true>($f, $r);
            $body
        }
    };
}

impl TwoLayerFlow {
    /// The Jacobian state of the particles `r` with the factorization's shift.
    #[inline(always)]
    fn blocks<'a, const STORED: bool>(
        &'a self,
        f: &'a Factorization,
        r: std::ops::Range<usize>,
    ) -> Blocks<'a, STORED> {
        let j = &self.jac;
        Blocks {
            cj: &j.c,
            shift: f.shift,
            inv_eps: 1.0 / self.eps,
            w: &self.weights[r.clone()],
            s: &j.s[r.clone()],
            a: &j.a[r.clone()],
            stored: f
                .stored
                .each_ref()
                .map(|v| if STORED { &v[r.clone()] } else { &v[..0] }),
        }
    }

    /// From the power sums `S1_m, S2_m` of `x = D⁻¹ b` (`2L` entries): `g = Vᵀ x`
    /// (`g_k = −σ_k (k S1_{k−1} + S2_k)`), `z = (I − Vᵀ D⁻¹ U)⁻¹ g` and the coefficients
    /// `qc_k = σ_k z_k` of `Q(s)` in `D⁻¹ U z`.
    #[inline(always)]
    fn correction_coefficients<L: Len>(&self, l: L, f: &Factorization, sums: &[f64]) -> Scratch {
        let len = l.get();
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
        qc
    }
}

impl Linearization for TwoLayerFlow {
    /// Fused: the moments of `y` (one pass), then `F(y)`, the right-hand side and `D⁻¹` of
    /// the Woodbury solve with its power sums (one pass, `x` into the work array `dy`), then
    /// the low-rank correction, the updates of `y` and `d` and the sum of squares (one
    /// pass): three passes over the particles instead of eight, the same numbers as the
    /// default (the kernels repeat its operations in its order), the sum of squares in
    /// chunk order.
    fn newton_correction(&self, nc: NewtonCorrection<'_>) -> Result<f64, usize> {
        let n = self.particles();
        let len = self.sigma.len();
        let f = self
            .fact
            .as_ref()
            .expect("factor() is called before newton_correction()");
        let c = self.p_coeffs_scratch(nc.y);
        fn halves(x: &[f64], n: usize) -> (&[f64], &[f64]) {
            x[..2 * n].split_at(n)
        }
        let ((ys, ya), (ps, pa), (ds, da)) = (halves(nc.y, n), halves(nc.psi, n), halves(nc.d, n));
        let px = Shared(nc.dy[..2 * n].as_mut_ptr());
        let bad = [AtomicUsize::new(usize::MAX), AtomicUsize::new(usize::MAX)];
        let mut sums = Scratch::zeros(2 * len);
        let sum_sq = with_len!(len, l => {
            chunked_sum(n, &mut sums, |r, acc| {
                // SAFETY: chunks own disjoint particle ranges of both halves of dy (2n long).
                let (xs, xa) = unsafe { (px.slice(r.clone()), px.slice(n + r.start..n + r.end)) };
                let y = [&ys[r.clone()], &ya[r.clone()], &ps[r.clone()], &pa[r.clone()]];
                let y = [y[0], y[1], y[2], y[3], &ds[r.clone()], &da[r.clone()]];
                let coeffs = (&c[..], nc.alpha, nc.beta);
                let found = with_blocks!(self, f, r.clone(), b => {
                    newton_scale_kernel(l, coeffs, r.start, y, b, xs, xa, acc)
                });
                for (b, i) in bad.iter().zip(found) {
                    if let Some(i) = i {
                        b.fetch_min(i, Ordering::Relaxed);
                    }
                }
            });
            let qc = &*self.correction_coefficients(l, f, &sums);
            let (x, wt) = (&nc.dy[..2 * n], &nc.weight[..2 * n]);
            let (py, pd) = (Shared(nc.y.as_mut_ptr()), Shared(nc.d.as_mut_ptr()));
            let mut total = [0.0];
            chunked_sum(n, &mut total, |r, acc| {
                // SAFETY: chunks own disjoint particle ranges of both halves of y and d.
                let out = unsafe {
                    [
                        py.slice(r.clone()),
                        py.slice(n + r.start..n + r.end),
                        pd.slice(r.clone()),
                        pd.slice(n + r.start..n + r.end),
                    ]
                };
                let input = [
                    &x[r.clone()],
                    &x[n + r.start..n + r.end],
                    &wt[r.clone()],
                    &wt[n + r.start..n + r.end],
                ];
                acc[0] += with_blocks!(self, f, r, b => newton_update_kernel(l, qc, b, input, out));
            });
            total[0]
        });
        if sum_sq.is_finite() {
            return Ok(sum_sq);
        }
        // The first non-finite F(y), else the first non-finite Δ (d was finite before).
        let [bad_s, bad_a] = bad.map(AtomicUsize::into_inner);
        if bad_s != usize::MAX {
            return Err(bad_s);
        }
        if bad_a != usize::MAX {
            return Err(n + bad_a);
        }
        Err(nc.d.iter().position(|v| !v.is_finite()).unwrap_or(0))
    }

    /// Keeps the state and the coefficients of `P` there (the blocks are recomputed from
    /// them where they are needed).
    fn update_jacobian(&mut self, u: &[f64]) {
        let n = self.particles();
        let c = self.p_coeffs_scratch(u);
        let (s, a) = u.split_at(n);
        let j = &mut self.jac;
        j.s.clear();
        j.s.extend_from_slice(s);
        j.a.clear();
        j.a.extend_from_slice(a);
        j.c.clear();
        j.c.extend_from_slice(&c);
    }

    /// The capacitance matrix `I − Vᵀ D⁻¹ U` from four power sums of `D_i⁻¹` and the
    /// coefficients of `D⁻¹ U z` (module documentation; both recomputed per particle from the
    /// Jacobian state, not stored), then its inverse.
    fn factor(&mut self, c: f64) -> Result<(), String> {
        let n = self.particles();
        let len = self.sigma.len();
        let inv_eps = 1.0 / self.eps;
        let j = &self.jac;
        // Reuse the previous factorization's buffers.
        let (mut stored, mut cap, mut sums) = match self.fact.take() {
            Some(f) => (f.stored, f.cap, f.sums),
            None => Default::default(),
        };
        let keep = n <= self.store_blocks_up_to;
        for v in &mut stored {
            v.resize(if keep { n } else { 0 }, 0.0);
        }
        let out = stored.each_mut().map(|v| Shared(v.as_mut_ptr()));
        let powers = 2 * len - 1;
        let singular = std::sync::atomic::AtomicUsize::new(usize::MAX);
        sums.resize(4 * powers, 0.0);
        let w = &self.weights;
        with_len!(len, l => chunked_sum(n, &mut sums, |r, acc| {
            let state = (&w[r.clone()], &j.s[r.clone()], &j.a[r.clone()]);
            // SAFETY: chunks own disjoint particle ranges, in bounds of the n-long vectors.
            let out = keep.then(|| unsafe { out.map(|p| p.slice(r.clone())) });
            if let Some(i) = factor_kernel(l, (&j.c, c, inv_eps), r.start, state, out, acc) {
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
        self.fact = Some(Factorization {
            shift: c,
            stored,
            cap,
            sums,
        });
        Ok(())
    }

    /// The overlaps must stay in `[−1, 1]` up to a few units of rounding (a saturated
    /// `s_i = 1 − δ` plus an increment can round to just above 1). A step that carries an
    /// overlap from `|s| ≤ 1` past that is rejected. An overlap past it that was beyond `±1`
    /// at the start already (BDF's accepted state is a sum over its differences, which can
    /// round a few ulps further out than the state it tested), and one of an output beyond
    /// `±1` at all, is reflected, `s ↦ ±2 − s`:
    /// near `|s| = 1` the factor `1 − s²` of `ṡ` makes `|1 − |s||` evolve alike on both
    /// sides, so the particle goes on as from its mirror image. Projecting it onto `±1`
    /// instead would hold it there for good (`ṡ = 0`), and rejecting the step would repeat
    /// forever where the flow carries it outwards (a saturated particle whose flow turns
    /// repelling: the step-size collapse on the normal law's trapezoidal rule).
    fn enforce_domain(
        &self,
        start: &[f64],
        u: &mut [f64],
        moved: &mut dyn FnMut(usize, f64),
    ) -> Option<usize> {
        // A state by itself (an empty start: an output) is brought into [−1, 1] exactly.
        let limit = if start.is_empty() {
            1.0
        } else {
            1.0 + 8.0 * f64::EPSILON
        };
        let n = self.particles();
        let outside = |s: &f64| s.abs() > limit || s.is_nan();
        // A branch-free count first (vectorized; this runs after every Newton solve), the
        // culprits only when there are some.
        if u[..n].iter().filter(|s| outside(s)).count() == 0 {
            return None;
        }
        let left = (0..n).find(|&i| outside(&u[i]) && start.get(i).is_some_and(|s| s.abs() <= 1.0));
        if left.is_some() {
            return left;
        }
        for (i, s) in u[..n].iter_mut().enumerate() {
            if outside(s) {
                let mirror = 2.0 * s.signum() - *s;
                moved(i, mirror - *s);
                *s = mirror;
            }
        }
        None
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
                with_blocks!(self, f, range, b => solve_scale_kernel(l, b, bs, ba, acc));
            });
            let qc = &*self.correction_coefficients(l, f, &sums);
            chunked_for(n, |range| {
                // SAFETY: as above.
                let (bs, ba) = unsafe {
                    (
                        pb.slice(range.clone()),
                        pb.slice(n + range.start..n + range.end),
                    )
                };
                with_blocks!(self, f, range, b => solve_update_kernel(l, qc, b, bs, ba));
            });
        });
    }
}
