//! The per-chunk particle kernels: moments, right-hand side, the diagonal Jacobian blocks,
//! and the two halves of the Woodbury factorization and solve (formulas in the
//! [module documentation](super)), each over the particles of one chunk, in blocks of
//! [`LANES`](super::lanes::LANES) particles.

use wide::f64x4;

use super::lanes::{
    LANES, Lanes, Len, add_powers, fma, for_blocks, horner2, horner3, load, reduce_lanes, store,
    with_lane_acc,
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
    let inv_eps = f64x4::splat(inv_eps);
    for_blocks!(s.len(), |i, v| {
        let [b11, b12, b21] = jacobian_block(c, inv_eps, load(s, i, v), load(a, i, v));
        store(ss, i, v, b11);
        store(sa, i, v, b12);
        store(as_, i, v, b21);
    });
}

/// The entries `(∂ṡ/∂s, ∂ṡ/∂a, ∂ȧ/∂s) = (a ((1 − s²) P'' − 2 s P'), (1 − s²) P', P'/ε)` of
/// the diagonal block `B_i` of one block of particles, `P` with the coefficients `c` of the
/// state the Jacobian was taken at (`r` frozen). Never stored: the factorization, and above
/// `STORE_BLOCKS_UP_TO` particles the solves, recompute them from that state (`s_i`, `a_i`).
#[inline(always)]
fn jacobian_block(c: &[f64], inv_eps: Lanes, si: Lanes, ai: Lanes) -> [Lanes; 3] {
    let (one, two) = (f64x4::ONE, f64x4::splat(2.0));
    let (dp, d2p) = horner3(c, si);
    let q = one - si * si;
    [ai * (q * d2p - two * si * dp), q * dp, dp * inv_eps]
}

/// The structured Newton matrix of one block of particles, recomputed from the Jacobian
/// state: `D_i = [[c − ss, −sa], [−as, c]]`, `D_i⁻¹ = [[c, sa], [as, c − ss]] / det`
/// (`e = (d11, d12, d21, d22)`) and the coefficients `f` of `D_i⁻¹ U_i z = (f1 Q' + f3 Q,
/// f2 Q' + f4 Q)`: `f = (d11 (1 − s²) a, d21 (1 − s²) a, d12/ε, d22/ε)`. Lanes past `valid`
/// (the padding of the last block) get zeros, as loads from stored arrays gave them.
struct BlockInverse {
    det: Lanes,
    e: [Lanes; 4],
    f: [Lanes; 4],
}

#[inline(always)]
fn block_inverse(
    (cj, shift, inv_eps): (&[f64], Lanes, Lanes),
    si: Lanes,
    ai: Lanes,
    valid: usize,
) -> BlockInverse {
    let one = f64x4::ONE;
    let [b11, b12, b21] = jacobian_block(cj, inv_eps, si, ai);
    let c11 = shift - b11;
    let det = c11 * shift - b12 * b21;
    let inv = one / det;
    let mut e = [shift * inv, b12 * inv, b21 * inv, c11 * inv];
    if valid < LANES {
        e = e.map(|x| {
            let x = x.to_array();
            f64x4::new(std::array::from_fn(|l| if l < valid { x[l] } else { 0.0 }))
        });
    }
    let qa = (one - si * si) * ai;
    let f = [e[0] * qa, e[2] * qa, e[1] * inv_eps, e[3] * inv_eps];
    BlockInverse { det, e, f }
}

/// The per-particle part of [`Linearization::factor`](timescales_ode::Linearization::factor) over one chunk (particles
/// `start..start + s.len()`): the power sums `A_m, B_m, C_m, E_m` (`m < 2L − 1`) of the
/// capacitance matrix from `D_i⁻¹` and the coefficients `f_i` of `D_i⁻¹ U_i z`
/// ([`block_inverse`], from the Jacobian state `s, a` with its coefficients `cj` at the
/// shift `c`; stored into `store_to` (`D⁻¹` entries, then `f`) if given, see [`Blocks`]),
/// accumulated into `acc` (`4 (2L − 1)` entries, sum-major).
///
/// The `4 (2L − 1)` lane accumulators (44 at `L = 6`) do not fit in the vector registers, so
/// the chunk is taken in sub-blocks of [`SUB_BLOCKS`] blocks: a first loop computes each
/// block's four terms (`w a f1, w a f3, w f2, w f4`) into a small buffer, then the power
/// sums are accumulated [`POWER_GROUP`] powers at a time, those accumulators held in
/// registers over the sub-block. Every accumulator still receives the blocks in order, and
/// each block's `s^m` is the same chain of products, so the sums are the same bits as
/// accumulating all powers block by block ([`add_powers`]).
/// Returns the first particle whose block is singular.
#[inline(never)]
pub(super) fn factor_kernel<L: Len>(
    len: L,
    (cj, c, inv_eps): (&[f64], f64, f64),
    start: usize,
    (w, s, a): (&[f64], &[f64], &[f64]),
    mut store_to: Option<[&mut [f64]; 8]>,
    acc: &mut [f64],
) -> Option<usize> {
    let powers = 2 * len.get() - 1;
    let cj = &cj[..len.get()];
    let mut singular = None;
    let inverse = (cj, f64x4::splat(c), f64x4::splat(inv_eps));
    with_lane_acc(4 * powers, |lanes| {
        let mut terms = [[f64x4::ZERO; 4]; SUB_BLOCKS];
        let mut svals = [f64x4::ZERO; SUB_BLOCKS];
        let mut pows = [f64x4::ONE; SUB_BLOCKS];
        let n = s.len();
        let mut base = 0;
        while base < n {
            let end = n.min(base + SUB_BLOCKS * LANES);
            let mut count = 0;
            for_blocks!(end - base, |ii, v| {
                let i = base + ii;
                let (wi, si, ai) = (load(w, i, v), load(s, i, v), load(a, i, v));
                let BlockInverse { det, e, f } = block_inverse(inverse, si, ai, v);
                if let Some(out) = store_to.as_mut() {
                    for (x, value) in out.iter_mut().zip(e.into_iter().chain(f)) {
                        store(x, i, v, value);
                    }
                }
                let [g1, g2, g3, g4] = f;
                let det_ok = det.is_finite() & !det.simd_eq(f64x4::ZERO);
                if !det_ok.all() {
                    let bad = det_ok.to_bitmask();
                    if let Some(l) = (0..v).find(|&l| bad & (1 << l) == 0) {
                        singular.get_or_insert(start + i + l);
                    }
                }
                let wa = wi * ai;
                terms[count] = [wa * g1, wa * g3, wi * g2, wi * g4];
                svals[count] = si;
                count += 1;
            });
            power_sums(
                lanes,
                powers,
                &terms[..count],
                &svals[..count],
                &mut pows[..count],
            );
            base = end;
        }
        reduce_lanes(lanes, &mut acc[..4 * powers]);
    });
    singular
}

/// Blocks of particles per sub-block of the power sums of [`factor_kernel`] (their terms
/// stay in L1).
const SUB_BLOCKS: usize = 32;
/// Powers accumulated per sweep over a sub-block: `J G` accumulators in registers.
const POWER_GROUP: usize = 2;

/// `acc[j][m] += t_j s^m` (`acc` sum-major, `powers` per sum) over one sub-block, block by
/// block, [`POWER_GROUP`] powers per sweep so that their accumulators stay in registers:
/// the sums of [`add_powers`] (the same products `s^m`, each accumulator receiving the
/// blocks in order), the same bits. `pows` is scratch of the sub-block's length.
#[inline(always)]
fn power_sums<const J: usize>(
    acc: &mut [Lanes],
    powers: usize,
    terms: &[[Lanes; J]],
    svals: &[Lanes],
    pows: &mut [Lanes],
) {
    pows.fill(f64x4::ONE);
    let mut m = 0;
    while m + POWER_GROUP <= powers {
        power_group::<J, POWER_GROUP>(acc, powers, m, terms, svals, pows);
        m += POWER_GROUP;
    }
    while m < powers {
        power_group::<J, 1>(acc, powers, m, terms, svals, pows);
        m += 1;
    }
}

/// Powers `m0..m0 + G` of [`power_sums`]: `pows` holds each block's `s^{m0}` on entry and
/// `s^{m0 + G}` on return.
#[inline(always)]
fn power_group<const J: usize, const G: usize>(
    acc: &mut [Lanes],
    powers: usize,
    m0: usize,
    terms: &[[Lanes; J]],
    svals: &[Lanes],
    pows: &mut [Lanes],
) {
    // local[g][j]: the accumulator of sum j, power m0 + g.
    let mut local = [[f64x4::ZERO; J]; G];
    for (g, row) in local.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = acc[j * powers + m0 + g];
        }
    }
    for ((t, &si), p) in terms.iter().zip(svals).zip(pows.iter_mut()) {
        for row in &mut local {
            for (x, &tj) in row.iter_mut().zip(t) {
                *x = fma(tj, *p, *x);
            }
            *p *= si;
        }
    }
    for (g, row) in local.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            acc[j * powers + m0 + g] = x;
        }
    }
}

/// Where a chunk's solve kernels take `D_i⁻¹` and `f_i` from: recomputed from the Jacobian
/// state ([`block_inverse`]: the coefficients `cj` of `P` there, the shift `c` of the
/// factorization, `1/ε`, the particles' overlaps and second-layer weights), or loaded from
/// the arrays [`factor_kernel`] stored (`stored`: `D⁻¹` entries `d11, d12, d21, d22`, then
/// `f1 … f4`) — the same bits either way. Storing costs eight state-sized arrays streamed
/// by every Newton pass; recomputing, two Horner evaluations and a division per particle:
/// the first is cheaper while the arrays stay in cache, the second once they do not.
/// `STORED` is a compile-time choice so that each kernel is compiled for one source
/// (a branch per block in the loop cost 2.5× in cache).
#[derive(Clone, Copy)]
pub(super) struct Blocks<'a, const STORED: bool> {
    pub(super) cj: &'a [f64],
    pub(super) shift: f64,
    pub(super) inv_eps: f64,
    pub(super) w: &'a [f64],
    pub(super) s: &'a [f64],
    pub(super) a: &'a [f64],
    /// The stored arrays when `STORED` (else unused).
    pub(super) stored: [&'a [f64]; 8],
}

impl<const STORED: bool> Blocks<'_, STORED> {
    #[inline(always)]
    fn recompute(&self, len: usize, si: Lanes, i: usize, v: usize) -> BlockInverse {
        let consts = (
            &self.cj[..len],
            f64x4::splat(self.shift),
            f64x4::splat(self.inv_eps),
        );
        block_inverse(consts, si, load(self.a, i, v), v)
    }

    /// `s_i` and four entries of the block of particles `i..i + v`: the stored arrays
    /// `F..F + 4`, else `D⁻¹` (`F = 0`) or `f` (`F = 4`) recomputed (a constant `F` and four
    /// explicit loads: an index computed in a loop cost 2.5× in cache).
    #[inline(always)]
    fn entries<const F: usize>(&self, len: usize, i: usize, v: usize) -> (Lanes, [Lanes; 4]) {
        let si = load(self.s, i, v);
        if STORED {
            let st = &self.stored;
            let x = [
                load(st[F], i, v),
                load(st[F + 1], i, v),
                load(st[F + 2], i, v),
                load(st[F + 3], i, v),
            ];
            (si, x)
        } else {
            let b = self.recompute(len, si, i, v);
            (si, if F == 0 { b.e } else { b.f })
        }
    }

    /// `s_i` and `D_i⁻¹` of the block of particles `i..i + v`.
    #[inline(always)]
    fn inverse(&self, len: usize, i: usize, v: usize) -> (Lanes, [Lanes; 4]) {
        self.entries::<0>(len, i, v)
    }

    /// `s_i` and the coefficients `f_i` of `D_i⁻¹ U_i z` of the block of particles `i..i + v`.
    #[inline(always)]
    fn correction(&self, len: usize, i: usize, v: usize) -> (Lanes, [Lanes; 4]) {
        self.entries::<4>(len, i, v)
    }
}

/// First half of [`Linearization::solve`](timescales_ode::Linearization::solve) over one chunk: `x_i = D_i⁻¹ b_i` in place and the
/// power sums `S1_m = Σ_i w_i a_i x_{s,i} s_i^m`, `S2_m = Σ_i w_i x_{a,i} s_i^m` (`m < L`)
/// into `acc` (`2L` entries).
#[inline(never)]
pub(super) fn solve_scale_kernel<L: Len, const STORED: bool>(
    len: L,
    blocks: Blocks<'_, STORED>,
    bs: &mut [f64],
    ba: &mut [f64],
    acc: &mut [f64],
) {
    let len = len.get();
    with_lane_acc(2 * len, |lanes| {
        let (l1, l2) = lanes.split_at_mut(len);
        for_blocks!(bs.len(), |i, v| {
            let (si, [d11, d12, d21, d22]) = blocks.inverse(len, i, v);
            let (x, y) = (load(bs, i, v), load(ba, i, v));
            let xs = fma(d11, x, d12 * y);
            let xa = fma(d21, x, d22 * y);
            store(bs, i, v, xs);
            store(ba, i, v, xa);
            let wi = load(blocks.w, i, v);
            add_powers(
                [&mut *l1, &mut *l2],
                [wi * load(blocks.a, i, v) * xs, wi * xa],
                si,
            );
        });
        reduce_lanes(lanes, &mut acc[..2 * len]);
    });
}

/// Second half of [`Linearization::solve`](timescales_ode::Linearization::solve) over one chunk: `x_i += D_i⁻¹ U_i z`, i.e.
/// `x_{s,i} += f1 Q'(s_i) + f3 Q(s_i)`, `x_{a,i} += f2 Q'(s_i) + f4 Q(s_i)` with
/// `Q(s) = Σ_k qc_k s^k`, `qc_k = σ_k z_k`.
#[inline(never)]
pub(super) fn solve_update_kernel<L: Len, const STORED: bool>(
    len: L,
    qc: &[f64],
    blocks: Blocks<'_, STORED>,
    bs: &mut [f64],
    ba: &mut [f64],
) {
    let len = len.get();
    let qc = &qc[..len];
    for_blocks!(bs.len(), |i, v| {
        let (si, [f1, f2, f3, f4]) = blocks.correction(len, i, v);
        let (q, dq) = horner2(qc, si);
        let (x, y) = (load(bs, i, v), load(ba, i, v));
        store(bs, i, v, fma(f1, dq, fma(f3, q, x)));
        store(ba, i, v, fma(f2, dq, fma(f4, q, y)));
    });
}

/// First half of a fused BDF Newton correction over one chunk (particles `start..`):
/// `F(y_i)` as [`rhs_kernel`], `b_i = α F_i − β (ψ_i + d_i)`, `x_i = D_i⁻¹ b_i` into `xs, xa`,
/// and the power sums of [`solve_scale_kernel`] into `acc` — the same operations in the same
/// order as those kernels and the integrator's pass between them, so the same bits. Returns
/// the first particle whose `F_s` (first entry) and whose `F_a` (second) is not finite.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn newton_scale_kernel<L: Len, const STORED: bool>(
    len: L,
    (c, alpha, beta): (&[f64], f64, f64),
    start: usize,
    [ys, ya, ps, pa, ds, da]: [&[f64]; 6],
    blocks: Blocks<'_, STORED>,
    xs_out: &mut [f64],
    xa_out: &mut [f64],
    acc: &mut [f64],
) -> [Option<usize>; 2] {
    let c = &c[..len.get()];
    let len = len.get();
    let (one, inv_eps) = (f64x4::ONE, f64x4::splat(blocks.inv_eps));
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
        for_blocks!(ys.len(), |i, v| {
            let (yi, ai) = (load(ys, i, v), load(ya, i, v));
            let (p, dp) = horner2(c, yi);
            let fs = (one - yi * yi) * ai * dp;
            let fa = p * inv_eps;
            flag(0, fs.is_finite(), i, v);
            flag(1, fa.is_finite(), i, v);
            let x = alpha * fs - beta * (load(ps, i, v) + load(ds, i, v));
            let y = alpha * fa - beta * (load(pa, i, v) + load(da, i, v));
            let (si, [d11, d12, d21, d22]) = blocks.inverse(len, i, v);
            let xs = fma(d11, x, d12 * y);
            let xa = fma(d21, x, d22 * y);
            store(xs_out, i, v, xs);
            store(xa_out, i, v, xa);
            let wi = load(blocks.w, i, v);
            add_powers(
                [&mut *l1, &mut *l2],
                [wi * load(blocks.a, i, v) * xs, wi * xa],
                si,
            );
        });
        reduce_lanes(lanes, &mut acc[..2 * len]);
    });
    bad
}

/// Second half of a fused BDF Newton correction over one chunk: `Δ_i = x_i + D_i⁻¹ U_i z`
/// as [`solve_update_kernel`], `y_i += Δ_i`, `d_i += Δ_i`, and `Σ_i (Δ_i w_i)²` of the chunk
/// (both entries of a particle into one lane of four, lanes added in a fixed order).
#[inline(never)]
pub(super) fn newton_update_kernel<L: Len, const STORED: bool>(
    len: L,
    qc: &[f64],
    blocks: Blocks<'_, STORED>,
    [xs, xa, ws, wa]: [&[f64]; 4],
    [ys, ya, ds, da]: [&mut [f64]; 4],
) -> f64 {
    let len = len.get();
    let qc = &qc[..len];
    let mut acc = f64x4::ZERO;
    for_blocks!(xs.len(), |i, v| {
        let (si, [f1, f2, f3, f4]) = blocks.correction(len, i, v);
        let (q, dq) = horner2(qc, si);
        let (x, y) = (load(xs, i, v), load(xa, i, v));
        let es = fma(f1, dq, fma(f3, q, x));
        let ea = fma(f2, dq, fma(f4, q, y));
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

#[cfg(test)]
mod power_sum_tests {
    use super::*;

    /// Terms and overlaps of `blocks` lane-blocks, deterministic and of mixed sign.
    fn sample<const J: usize>(blocks: usize) -> (Vec<[Lanes; J]>, Vec<Lanes>) {
        let x = |k: usize| ((k as f64) * 0.618_034).sin();
        let terms = (0..blocks)
            .map(|b| {
                std::array::from_fn(|j| {
                    f64x4::new(std::array::from_fn(|l| x(97 * b + 13 * j + l) * 1e3))
                })
            })
            .collect();
        let svals = (0..blocks)
            .map(|b| f64x4::new(std::array::from_fn(|l| 0.99 * x(7 * b + l + 5))))
            .collect();
        (terms, svals)
    }

    /// The sub-blocked, grouped sums against `add_powers` block by block: the same bits, for
    /// several sub-blocks with a short last one and power counts with and without a
    /// remainder group.
    fn same_bits<const J: usize>(powers: usize) {
        let blocks = 2 * SUB_BLOCKS + 5;
        let (terms, svals) = sample::<J>(blocks);
        let mut plain = vec![f64x4::ZERO; J * powers];
        for (t, &s) in terms.iter().zip(&svals) {
            let acc: [&mut [Lanes]; J] = {
                let mut rows = plain.chunks_mut(powers);
                std::array::from_fn(|_| rows.next().expect("J rows"))
            };
            add_powers(acc, *t, s);
        }
        let mut grouped = vec![f64x4::ZERO; J * powers];
        let mut pows = [f64x4::ONE; SUB_BLOCKS];
        for (t, s) in terms.chunks(SUB_BLOCKS).zip(svals.chunks(SUB_BLOCKS)) {
            power_sums(&mut grouped, powers, t, s, &mut pows[..t.len()]);
        }
        let bits = |v: &[Lanes]| -> Vec<u64> {
            v.iter()
                .flat_map(|x| x.to_array().map(f64::to_bits))
                .collect()
        };
        assert_eq!(bits(&plain), bits(&grouped), "J = {J}, {powers} powers");
    }

    #[test]
    fn grouped_power_sums_are_the_bits_of_add_powers() {
        same_bits::<4>(11);
        same_bits::<4>(10);
        same_bits::<2>(6);
        same_bits::<1>(1);
    }
}
