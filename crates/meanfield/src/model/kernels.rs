//! The per-chunk particle kernels: moments, right-hand side, the diagonal Jacobian blocks,
//! and the two halves of the Woodbury factorization and solve (formulas in the
//! [module documentation](super)), each over the particles of one chunk, in blocks of
//! [`LANES`](super::lanes::LANES) particles.

use wide::f64x4;

use super::lanes::{
    Len, add_powers, fma, for_blocks, horner2, horner3, load, reduce_lanes, store, with_lane_acc,
};

/// `m_k += Σ_i w_i a_i s_i^k` over one chunk, `k < len`.
#[inline(never)]
pub(super) fn moments_kernel<L: Len>(len: L, w: &[f64], s: &[f64], a: &[f64], m: &mut [f64]) {
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
pub(super) fn rhs_kernel<L: Len>(
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
pub(super) fn jacobian_kernel<L: Len>(
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

/// The per-particle part of [`Linearization::factor`](timescales_ode::Linearization::factor) over one chunk (particles
/// `start..start + s.len()`): `D_i⁻¹`, the coefficients `f_i` of `D_i⁻¹ U_i z` and the power
/// sums `A_m, B_m, C_m, E_m` (`m < 2L − 1`) of the capacitance matrix, accumulated into
/// `acc` (`4 (2L − 1)` entries, sum-major). Returns the first particle whose block is
/// singular.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn factor_kernel<L: Len>(
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

/// First half of [`Linearization::solve`](timescales_ode::Linearization::solve) over one chunk: `x_i = D_i⁻¹ b_i` in place and the
/// power sums `S1_m = Σ_i w_i a_i x_{s,i} s_i^m`, `S2_m = Σ_i w_i x_{a,i} s_i^m` (`m < L`)
/// into `acc` (`2L` entries).
#[inline(never)]
pub(super) fn solve_scale_kernel<L: Len>(
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

/// Second half of [`Linearization::solve`](timescales_ode::Linearization::solve) over one chunk: `x_i += D_i⁻¹ U_i z`, i.e.
/// `x_{s,i} += f1 Q'(s_i) + f3 Q(s_i)`, `x_{a,i} += f2 Q'(s_i) + f4 Q(s_i)` with
/// `Q(s) = Σ_k qc_k s^k`, `qc_k = σ_k z_k`.
#[inline(never)]
pub(super) fn solve_update_kernel<L: Len>(
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

/// First half of a fused BDF Newton correction over one chunk (particles `start..`):
/// `F(y_i)` as [`rhs_kernel`], `b_i = α F_i − β (ψ_i + d_i)`, `x_i = D_i⁻¹ b_i` into `xs, xa`,
/// and the power sums of [`solve_scale_kernel`] into `acc` — the same operations in the same
/// order as those kernels and the integrator's pass between them, so the same bits. Returns
/// the first particle whose `F_s` (first entry) and whose `F_a` (second) is not finite.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn newton_scale_kernel<L: Len>(
    len: L,
    (c, inv_eps, alpha, beta): (&[f64], f64, f64, f64),
    start: usize,
    [ys, ya, ps, pa, ds, da]: [&[f64]; 6],
    (w, s, a): (&[f64], &[f64], &[f64]),
    [d11, d12, d21, d22]: [&[f64]; 4],
    xs_out: &mut [f64],
    xa_out: &mut [f64],
    acc: &mut [f64],
) -> [Option<usize>; 2] {
    let c = &c[..len.get()];
    let len = len.get();
    let (one, inv_eps) = (f64x4::ONE, f64x4::splat(inv_eps));
    let (alpha, beta) = (f64x4::splat(alpha), f64x4::splat(beta));
    let mut bad = [None; 2];
    let mut flag = |which: usize, finite: wide::f64x4, i: usize, v: usize| {
        if !finite.all() {
            let mask = finite.to_bitmask();
            if let Some(l) = (0..v).find(|&l| mask & (1 << l) == 0) {
                bad[which].get_or_insert(start + i + l);
            }
        }
    };
    with_lane_acc(2 * len, |lanes| {
        let (l1, l2) = lanes.split_at_mut(len);
        for_blocks!(s.len(), |i, v| {
            let (yi, ai) = (load(ys, i, v), load(ya, i, v));
            let (p, dp) = horner2(c, yi);
            let fs = (one - yi * yi) * ai * dp;
            let fa = p * inv_eps;
            flag(0, fs.is_finite(), i, v);
            flag(1, fa.is_finite(), i, v);
            let x = alpha * fs - beta * (load(ps, i, v) + load(ds, i, v));
            let y = alpha * fa - beta * (load(pa, i, v) + load(da, i, v));
            let xs = fma(load(d11, i, v), x, load(d12, i, v) * y);
            let xa = fma(load(d21, i, v), x, load(d22, i, v) * y);
            store(xs_out, i, v, xs);
            store(xa_out, i, v, xa);
            let (wi, si) = (load(w, i, v), load(s, i, v));
            add_powers([&mut *l1, &mut *l2], [wi * load(a, i, v) * xs, wi * xa], si);
        });
        reduce_lanes(lanes, &mut acc[..2 * len]);
    });
    bad
}

/// Second half of a fused BDF Newton correction over one chunk: `Δ_i = x_i + D_i⁻¹ U_i z`
/// as [`solve_update_kernel`], `y_i += Δ_i`, `d_i += Δ_i`, and `Σ_i (Δ_i w_i)²` of the chunk
/// (both entries of a particle into one lane of four, lanes added in a fixed order).
#[inline(never)]
pub(super) fn newton_update_kernel<L: Len>(
    len: L,
    qc: &[f64],
    s: &[f64],
    [f1, f2, f3, f4]: [&[f64]; 4],
    [xs, xa, ws, wa]: [&[f64]; 4],
    [ys, ya, ds, da]: [&mut [f64]; 4],
) -> f64 {
    let qc = &qc[..len.get()];
    let mut acc = f64x4::ZERO;
    for_blocks!(s.len(), |i, v| {
        let (q, dq) = horner2(qc, load(s, i, v));
        let (x, y) = (load(xs, i, v), load(xa, i, v));
        let es = fma(load(f1, i, v), dq, fma(load(f3, i, v), q, x));
        let ea = fma(load(f2, i, v), dq, fma(load(f4, i, v), q, y));
        store(ys, i, v, load(ys, i, v) + es);
        store(ds, i, v, load(ds, i, v) + es);
        store(ya, i, v, load(ya, i, v) + ea);
        store(da, i, v, load(da, i, v) + ea);
        let (e1, e2) = (es * load(ws, i, v), ea * load(wa, i, v));
        acc += e1 * e1;
        acc += e2 * e2;
    });
    let a = acc.to_array();
    (a[0] + a[1]) + (a[2] + a[3])
}
