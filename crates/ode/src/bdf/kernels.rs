//! The numerical kernels of the BDF step: its coefficients, the change of step size on the
//! differences array, the weighted norms and the interpolating polynomial.

pub(super) const MAX_ORDER: usize = 5;
pub(super) const NEWTON_MAXITER: usize = 4;
/// After a re-linearization, Newton corrections (weighted RMS) that the rate test rejects
/// (no longer contracting, or too slowly) but that stay at or below this are taken as
/// converged: the iterate is then within 3 % of the tolerance, and the corrections are the
/// rounding floor of the residual, not a J that is wrong (on the flagship at ε = 1e-20 they
/// stayed at 1e-3 … 5e-2 while `h` was halved down to 10 ulps of t = 2.16, `c` = 2.2e-14 …
/// 2.7e-15). It is scipy's largest Newton tolerance (`min(0.03, √rtol)`).
pub(super) const STAGNATION_FLOOR: f64 = 0.03;
pub(super) const MIN_FACTOR: f64 = 0.2;
pub(super) const MAX_FACTOR: f64 = 10.0;
/// The NDF coefficients `κ_k` of Shampine & Reichelt (Table 1); `κ_5 = 0` (plain BDF5).
pub(super) const KAPPA: [f64; MAX_ORDER + 1] = [0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0];
/// Rows of the differences array: `D_0 … D_{k+2}` for `k ≤ 5`.
pub(super) const ROWS: usize = MAX_ORDER + 3;

/// `γ_k = Σ_{i=1..k} 1/i`, `α_k = (1 − κ_k) γ_k`, `C_k = κ_k γ_k + 1/(k + 1)`.
#[derive(Debug, Clone)]
pub(super) struct Coefficients {
    pub(super) gamma: [f64; MAX_ORDER + 1],
    pub(super) alpha: [f64; MAX_ORDER + 1],
    pub(super) error_const: [f64; MAX_ORDER + 1],
}

impl Coefficients {
    pub(super) fn new() -> Self {
        let mut gamma = [0.0; MAX_ORDER + 1];
        for k in 1..=MAX_ORDER {
            gamma[k] = gamma[k - 1] + 1.0 / k as f64;
        }
        let mut alpha = [0.0; MAX_ORDER + 1];
        let mut error_const = [0.0; MAX_ORDER + 1];
        for k in 0..=MAX_ORDER {
            alpha[k] = (1.0 - KAPPA[k]) * gamma[k];
            error_const[k] = KAPPA[k] * gamma[k] + 1.0 / (k + 1) as f64;
        }
        Self {
            gamma,
            alpha,
            error_const,
        }
    }
}

/// `R(r)`: `R_ij = Π_{l=1..i} (l − 1 − r j)/l` (row 0 all ones), size `(k+1)²`, row-major.
pub(super) fn compute_r(order: usize, factor: f64) -> [[f64; MAX_ORDER + 1]; MAX_ORDER + 1] {
    let mut r = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
    r[0][..=order].fill(1.0);
    for i in 1..=order {
        let (above, row) = r.split_at_mut(i);
        let above = &above[i - 1];
        for (j, (rij, a)) in row[0][..=order].iter_mut().zip(above).enumerate() {
            let m = if j == 0 {
                0.0
            } else {
                (i as f64 - 1.0 - factor * j as f64) / i as f64
            };
            *rij = a * m;
        }
    }
    r
}

/// `with_order!(k, K => body)`: `body` with the const `K` equal to the order `k` (1..=5), so
/// that the per-element loops over the rows of the differences array unroll and the loop
/// over the elements vectorizes.
macro_rules! with_order {
    ($order:expr, $k:ident => $body:expr) => {
        match $order {
            1 => {
                const $k: usize = 1;
                $body
            }
            2 => {
                const $k: usize = 2;
                $body
            }
            3 => {
                const $k: usize = 3;
                $body
            }
            4 => {
                const $k: usize = 4;
                $body
            }
            _ => {
                const $k: usize = 5;
                $body
            }
        }
    };
}

/// `for_blocks!(n, |i, v| body)`: `body` for the element blocks `i..i + v` of `0..n`: full
/// blocks of [`LANES`] (`v` known at compile time, so that the block loads, stores and the
/// lane-wise arithmetic of [`ld`]/[`st`] arrays vectorize) and then the tail.
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

/// One block of [`LANES`] elements.
type Block = [f64; LANES];

/// `x[i..i + v]`, padded with zeros.
#[inline(always)]
fn ld(x: &[f64], i: usize, v: usize) -> Block {
    let mut b = [0.0; LANES];
    b[..v].copy_from_slice(&x[i..i + v]);
    b
}

/// `x[i..i + v] = b[..v]`.
#[inline(always)]
fn st(x: &mut [f64], i: usize, v: usize, b: &Block) {
    x[i..i + v].copy_from_slice(&b[..v]);
}

/// Re-expresses the differences `D_0..D_k` for a step `factor` times the current one:
/// `D ← (R(factor) R(1))ᵀ D` (scipy's `change_D`), in place, one pass over the elements:
/// `D_j ← Σ_{m=0..k} (R U)_{mj} D_m` (summed in the order of `m`, from `0.0`).
pub(super) fn change_d(d: &mut [f64], n: usize, order: usize, factor: f64) {
    let r = compute_r(order, factor);
    let u = compute_r(order, 1.0);
    let mut ru = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
    for i in 0..=order {
        for j in 0..=order {
            ru[i][j] = (0..=order).map(|l| r[i][l] * u[l][j]).sum();
        }
    }
    with_order!(order, K => change_d_k::<K>(d, n, &ru));
}

// (`j` indexes a column of `RU` and a row of `D`.)
#[allow(clippy::needless_range_loop)]
fn change_d_k<const K: usize>(d: &mut [f64], n: usize, ru: &[[f64; MAX_ORDER + 1]; MAX_ORDER + 1]) {
    for_blocks!(n, |i, v| {
        let mut old = [[0.0; LANES]; MAX_ORDER + 1];
        for (m, o) in old.iter_mut().enumerate().take(K + 1) {
            *o = ld(d, m * n + i, v);
        }
        for j in 0..=K {
            let mut acc = [0.0; LANES];
            for (m, o) in old.iter().enumerate().take(K + 1) {
                for l in 0..LANES {
                    acc[l] += ru[m][j] * o[l];
                }
            }
            st(d, j * n + i, v, &acc);
        }
    });
}

/// The predictor pass of a step of order `k`, one pass over the elements:
/// `y⁰ = Σ_{j≤k} D_j` (into `y_predict` and `y_new`), `ψ = Σ_{j=1..k} g_j D_j`
/// (`g_j = γ_j/α_k`), the error weights `1/(atol + rtol |y⁰|)` and `d = 0`.
#[allow(clippy::too_many_arguments)]
pub(super) fn predict(
    d: &[f64],
    n: usize,
    order: usize,
    g: &[f64; MAX_ORDER + 1],
    (atol, rtol): (f64, f64),
    y_predict: &mut [f64],
    psi: &mut [f64],
    weight: &mut [f64],
    y_new: &mut [f64],
    dsum: &mut [f64],
) {
    with_order!(order, K => for_blocks!(n, |i, v| {
        let mut y = ld(d, i, v);
        let mut p = [0.0; LANES];
        for (j, gj) in g.iter().enumerate().take(K + 1).skip(1) {
            let dj = ld(d, j * n + i, v);
            for l in 0..LANES {
                y[l] += dj[l];
                p[l] += gj * dj[l];
            }
        }
        let wt: Block = std::array::from_fn(|l| 1.0 / (atol + rtol * y[l].abs()));
        st(y_predict, i, v, &y);
        st(psi, i, v, &p);
        st(weight, i, v, &wt);
        st(y_new, i, v, &y);
        st(dsum, i, v, &[0.0; LANES]);
    }));
}

/// The error weights of the new state `1/(atol + rtol |y|)` and `Σ_i (d_i w_i)²` in one
/// pass (lanes as [`weighted_sum_sq`]).
pub(super) fn weights_and_sum_sq(
    y: &[f64],
    (atol, rtol): (f64, f64),
    weight: &mut [f64],
    x: &[f64],
) -> f64 {
    let mut acc = [0.0; LANES];
    for_blocks!(x.len(), |i, v| {
        let (y, x) = (ld(y, i, v), ld(x, i, v));
        let w: Block = std::array::from_fn(|l| 1.0 / (atol + rtol * y[l].abs()));
        for l in 0..v {
            let e = x[l] * w[l];
            acc[l] += e * e;
        }
        st(weight, i, v, &w);
    });
    add_lanes(acc)
}

/// The update of the differences after an accepted step of order `k`, one pass over the
/// elements: `D_{k+2} = d − D_{k+1}`, `D_{k+1} = d`, `D_j += D_{j+1}` for `j = k..0`.
/// With `weight` (order selection) also `(Σ_i (D_{k,i} w_i)², Σ_i (D_{k+2,i} w_i)²)` of the
/// updated rows (lanes as [`weighted_sum_sq`]), else zeros.
pub(super) fn accept_update(
    d: &mut [f64],
    n: usize,
    order: usize,
    dsum: &[f64],
    weight: Option<&[f64]>,
) -> (f64, f64) {
    with_order!(order, K => accept_update_k::<K>(d, n, dsum, weight))
}

fn accept_update_k<const K: usize>(
    d: &mut [f64],
    n: usize,
    dsum: &[f64],
    weight: Option<&[f64]>,
) -> (f64, f64) {
    let (mut am, mut ap) = ([0.0; LANES], [0.0; LANES]);
    for_blocks!(n, |i, v| {
        let di = ld(dsum, i, v);
        let last = ld(d, (K + 1) * n + i, v);
        let top: Block = std::array::from_fn(|l| di[l] - last[l]);
        st(d, (K + 2) * n + i, v, &top);
        st(d, (K + 1) * n + i, v, &di);
        let mut above = di;
        let mut row_k = di;
        for j in (0..=K).rev() {
            let dj = ld(d, j * n + i, v);
            let new: Block = std::array::from_fn(|l| dj[l] + above[l]);
            st(d, j * n + i, v, &new);
            if j == K {
                row_k = new;
            }
            above = new;
        }
        if let Some(weight) = weight {
            let w = ld(weight, i, v);
            for l in 0..v {
                let em = row_k[l] * w[l];
                am[l] += em * em;
                let ep = top[l] * w[l];
                ap[l] += ep * ep;
            }
        }
    });
    (add_lanes(am), add_lanes(ap))
}

/// Partial sums of [`weighted_sum_sq`]: entry `i` goes to lane `i mod LANES`.
const LANES: usize = 8;

/// `Σ_i (x_i w_i)²`, accumulated in [`LANES`] interleaved partial sums added up in a fixed
/// order: deterministic, vectorizable, and free of the add-latency chain of a single
/// accumulator (which made the norms of this integrator a large part of a step at small `n`).
pub(super) fn weighted_sum_sq(x: &[f64], weight: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let (xc, wc) = (x.chunks_exact(LANES), weight.chunks_exact(LANES));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    for (x, w) in xc.zip(wc) {
        for l in 0..LANES {
            let e = x[l] * w[l];
            acc[l] += e * e;
        }
    }
    for (l, (x, w)) in xr.iter().zip(wr).enumerate() {
        let e = x * w;
        acc[l] += e * e;
    }
    add_lanes(acc)
}

/// The lanes of a partial sum added up in a fixed order.
pub(super) fn add_lanes(acc: [f64; LANES]) -> f64 {
    let half: [f64; 4] = std::array::from_fn(|l| acc[l] + acc[l + 4]);
    (half[0] + half[1]) + (half[2] + half[3])
}

/// `y += Δ`, `d += Δ` and `Σ_i (Δ_i w_i)²` in one pass (lanes as [`weighted_sum_sq`]).
pub(crate) fn add_and_sum_sq(dy: &[f64], weight: &[f64], y: &mut [f64], d: &mut [f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let (xc, wc) = (dy.chunks_exact(LANES), weight.chunks_exact(LANES));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    let (mut yc, mut dc) = (y.chunks_exact_mut(LANES), d.chunks_exact_mut(LANES));
    for (((x, w), y), d) in xc.zip(wc).zip(&mut yc).zip(&mut dc) {
        for l in 0..LANES {
            let e = x[l] * w[l];
            acc[l] += e * e;
            y[l] += x[l];
            d[l] += x[l];
        }
    }
    let (yr, dr) = (yc.into_remainder(), dc.into_remainder());
    for (l, (((x, w), y), d)) in xr.iter().zip(wr).zip(yr).zip(dr).enumerate() {
        let e = x * w;
        acc[l] += e * e;
        *y += x;
        *d += x;
    }
    add_lanes(acc)
}

/// Weighted RMS norm `(Σ (x_i w_i)² / n)^{1/2}`, `w_i = 1/(atol + rtol |y_i|)`.
pub(super) fn rms(x: &[f64], weight: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (weighted_sum_sq(x, weight) / x.len() as f64).sqrt()
}

/// What a failed Newton iteration saw.
pub(super) enum NewtonFailure {
    /// No convergence (rate ≥ 1 or too slow), with the smallest correction reached.
    Slow(f64),
    /// A right-hand side or an increment was not finite, at this component.
    NonFinite(usize),
    /// The iteration converged to a state outside the system's domain.
    OutsideDomain,
}

/// The interpolating polynomial of the current step at `tq`:
/// `D_0 + Σ_{j=1..k} D_j Π_{m<j} (tq − (t − m h))/((m + 1) h)` (scipy's `BdfDenseOutput`).
pub(super) fn dense_output(
    d: &[f64],
    n: usize,
    order: usize,
    t: f64,
    h: f64,
    tq: f64,
    out: &mut [f64],
) {
    let mut p = [0.0; MAX_ORDER + 1];
    let mut acc = 1.0;
    for (m, pm) in p[..order].iter_mut().enumerate() {
        acc *= (tq - (t - h * m as f64)) / (h * (m + 1) as f64);
        *pm = acc;
    }
    out.copy_from_slice(&d[..n]);
    for j in 1..=order {
        let pj = p[j - 1];
        for (o, dj) in out.iter_mut().zip(&d[j * n..(j + 1) * n]) {
            *o += pj * dj;
        }
    }
}

/// The next representable `f64` above `t` (`np.nextafter(t, inf)` for finite `t`).
pub(super) fn next_up(t: f64) -> f64 {
    if t.is_nan() || t == f64::INFINITY {
        return t;
    }
    if t == 0.0 {
        return f64::from_bits(1);
    }
    let bits = t.to_bits();
    if t > 0.0 {
        f64::from_bits(bits + 1)
    } else {
        f64::from_bits(bits - 1)
    }
}
