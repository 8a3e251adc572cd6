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

/// Elements per chunk of the passes over the differences array of a large system; a
/// multiple of [`LANES`], so that the lanes of a chunk's partial sums are those of the
/// whole array.
pub(super) const CHUNK: usize = 8192;

/// Fewest chunks worth spreading over threads (as the particle chunks of the mean-field
/// flow: `8 × 4096` particles, two elements each). Below, a pass is one chunk, the whole
/// array; from there on, always chunks of [`CHUNK`] elements whose partial sums are
/// combined in chunk order, run in parallel when the pool has more than one thread: the
/// same chunks and the same order of the partial sums, so the same bits, whatever the
/// number of threads.
pub(super) const PARALLEL_MIN_CHUNKS: usize = 8;

/// Whether a pass over `n` elements is cut into chunks of [`CHUNK`].
fn chunked(n: usize) -> bool {
    n >= PARALLEL_MIN_CHUNKS * CHUNK
}

/// Runs `f` on each of `items` (a chunk's slices each), on the pool when it has more than
/// one thread; the results in the order of `items`.
fn run_chunks<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    if rayon::current_num_threads() > 1 {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// The partial sums of the chunks, lane by lane in chunk order, added up ([`add_lanes`]).
/// For one chunk that is its own sum, bit for bit.
fn add_chunk_lanes(parts: impl IntoIterator<Item = Block>) -> f64 {
    let mut acc = [0.0; LANES];
    for part in parts {
        for l in 0..LANES {
            acc[l] += part[l];
        }
    }
    add_lanes(acc)
}

/// The rows `D_0 … D_{ROWS−1}` of the differences array `d` of `n` elements per row.
fn rows(d: &[f64], n: usize) -> [&[f64]; ROWS] {
    std::array::from_fn(|j| &d[j * n..(j + 1) * n])
}

/// [`rows`], mutable.
fn rows_mut(d: &mut [f64], n: usize) -> [&mut [f64]; ROWS] {
    let mut rows = d.chunks_mut(n);
    std::array::from_fn(|_| rows.next().unwrap_or_default())
}

/// The rows of `d` cut at the element chunks of [`CHUNK`]: one array of row slices per chunk.
fn row_chunks(d: &mut [f64], n: usize) -> Vec<[&mut [f64]; ROWS]> {
    let mut rows = d.chunks_mut(n).map(|row| row.chunks_mut(CHUNK));
    let mut by_row: [_; ROWS] = std::array::from_fn(|_| rows.next());
    (0..n.div_ceil(CHUNK))
        .map(|_| {
            std::array::from_fn(|j| {
                by_row[j]
                    .as_mut()
                    .and_then(Iterator::next)
                    .unwrap_or_default()
            })
        })
        .collect()
}

/// Re-expresses the differences `D_0..D_k` for a step `factor` times the current one:
/// `D ← (R(factor) R(1))ᵀ D` (scipy's `change_D`), in place, one pass over the elements:
/// `D_j ← Σ_{m=0..k} (R U)_{mj} D_m` (summed in the order of `m`, from `0.0`).
pub(super) fn change_d(d: &mut [f64], n: usize, order: usize, factor: f64) {
    let ru = compute_r_u(order, factor);
    if n == 0 {
        return;
    }
    with_order!(order, K => if chunked(n) {
        run_chunks(row_chunks(d, n), |mut rows| change_d_k::<K>(&mut rows, &ru));
    } else {
        change_d_k::<K>(&mut rows_mut(d, n), &ru);
    });
}

/// `R(factor) R(1)` for the order `k`.
fn compute_r_u(order: usize, factor: f64) -> [[f64; MAX_ORDER + 1]; MAX_ORDER + 1] {
    let r = compute_r(order, factor);
    let u = compute_r(order, 1.0);
    let mut ru = [[0.0; MAX_ORDER + 1]; MAX_ORDER + 1];
    for i in 0..=order {
        for j in 0..=order {
            ru[i][j] = (0..=order).map(|l| r[i][l] * u[l][j]).sum();
        }
    }
    ru
}

// (`j` indexes a column of `RU` and a row of `D`.)
#[allow(clippy::needless_range_loop)]
fn change_d_k<const K: usize>(
    rows: &mut [&mut [f64]; ROWS],
    ru: &[[f64; MAX_ORDER + 1]; MAX_ORDER + 1],
) {
    for_blocks!(rows[0].len(), |i, v| {
        let mut old = [[0.0; LANES]; MAX_ORDER + 1];
        for (m, o) in old.iter_mut().enumerate().take(K + 1) {
            *o = ld(rows[m], i, v);
        }
        for j in 0..=K {
            let mut acc = [0.0; LANES];
            for (m, o) in old.iter().enumerate().take(K + 1) {
                for l in 0..LANES {
                    acc[l] += ru[m][j] * o[l];
                }
            }
            st(rows[j], i, v, &acc);
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
    tol: (f64, f64),
    y_predict: &mut [f64],
    psi: &mut [f64],
    weight: &mut [f64],
    y_new: &mut [f64],
    dsum: &mut [f64],
) {
    if n == 0 {
        return;
    }
    let all = rows(d, n);
    with_order!(order, K => if chunked(n) {
        let items: Vec<_> = y_predict
            .chunks_mut(CHUNK)
            .zip(psi.chunks_mut(CHUNK))
            .zip(weight.chunks_mut(CHUNK))
            .zip(y_new.chunks_mut(CHUNK))
            .zip(dsum.chunks_mut(CHUNK))
            .enumerate()
            .collect();
        run_chunks(items, |(c, ((((yp, ps), wt), yn), ds))| {
            let lo = c * CHUNK;
            let rows = all.map(|row| &row[lo..lo + yp.len()]);
            predict_k::<K>(&rows, g, tol, [yp, ps, wt, yn, ds]);
        });
    } else {
        predict_k::<K>(&all, g, tol, [y_predict, psi, weight, y_new, dsum]);
    });
}

/// [`predict`] on the rows of one chunk; `out` = `[y_predict, psi, weight, y_new, dsum]`.
fn predict_k<const K: usize>(
    rows: &[&[f64]; ROWS],
    g: &[f64; MAX_ORDER + 1],
    (atol, rtol): (f64, f64),
    out: [&mut [f64]; 5],
) {
    let [y_predict, psi, weight, y_new, dsum] = out;
    for_blocks!(y_predict.len(), |i, v| {
        let mut y = ld(rows[0], i, v);
        let mut p = [0.0; LANES];
        for (j, gj) in g.iter().enumerate().take(K + 1).skip(1) {
            let dj = ld(rows[j], i, v);
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
    });
}

/// The error weights of the new state `1/(atol + rtol |y|)` and `Σ_i (d_i w_i)²` in one
/// pass (lanes as [`weighted_sum_sq`], chunks as [`PARALLEL_MIN_CHUNKS`]).
pub(super) fn weights_and_sum_sq(y: &[f64], tol: (f64, f64), weight: &mut [f64], x: &[f64]) -> f64 {
    if !chunked(x.len()) {
        return add_chunk_lanes([weights_and_sum_sq_lanes(y, tol, weight, x)]);
    }
    let items: Vec<_> = weight.chunks_mut(CHUNK).enumerate().collect();
    add_chunk_lanes(run_chunks(items, |(c, w)| {
        let r = c * CHUNK..c * CHUNK + w.len();
        weights_and_sum_sq_lanes(&y[r.clone()], tol, w, &x[r])
    }))
}

fn weights_and_sum_sq_lanes(
    y: &[f64],
    (atol, rtol): (f64, f64),
    weight: &mut [f64],
    x: &[f64],
) -> Block {
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
    acc
}

/// The update of the differences after an accepted step of order `k`, one pass over the
/// elements: `D_{k+2} = d − D_{k+1}`, `D_{k+1} = d`, `D_j += D_{j+1}` for `j = k..0`.
/// With `weight` (order selection) it returns `(Σ_i (D_{k,i} w_i)², Σ_i (D_{k+2,i} w_i)²)`
/// of the updated rows (lanes as [`weighted_sum_sq`], chunks as [`PARALLEL_MIN_CHUNKS`]).
/// Without, it returns zeros and leaves `D_{k+2}` as it was: only the order selection of
/// the step that writes it reads it (the error of order `k + 1`; the predictor and the
/// rescaling read rows `0..=k`, and the next step that selects writes it again).
pub(super) fn accept_update(
    d: &mut [f64],
    n: usize,
    order: usize,
    dsum: &[f64],
    weight: Option<&[f64]>,
) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let parts = with_order!(order, K => if chunked(n) {
        run_chunks(row_chunks(d, n).into_iter().enumerate().collect(), |(c, mut rows)| {
            let r = c * CHUNK..c * CHUNK + rows[0].len();
            accept_update_k::<K>(&mut rows, &dsum[r.clone()], weight.map(|w| &w[r]))
        })
    } else {
        vec![accept_update_k::<K>(&mut rows_mut(d, n), dsum, weight)]
    });
    (
        add_chunk_lanes(parts.iter().map(|p| p.0)),
        add_chunk_lanes(parts.iter().map(|p| p.1)),
    )
}

fn accept_update_k<const K: usize>(
    rows: &mut [&mut [f64]; ROWS],
    dsum: &[f64],
    weight: Option<&[f64]>,
) -> (Block, Block) {
    match weight {
        Some(weight) => accept_update_rows::<K, true>(rows, dsum, weight),
        None => accept_update_rows::<K, false>(rows, dsum, &[]),
    }
}

/// [`accept_update_k`] with (`SELECT`) or without the order selection's sums; without, row
/// `D_{k+2}` is neither computed nor written (nor `D_{k+1}` read for it).
fn accept_update_rows<const K: usize, const SELECT: bool>(
    rows: &mut [&mut [f64]; ROWS],
    dsum: &[f64],
    weight: &[f64],
) -> (Block, Block) {
    let (mut am, mut ap) = ([0.0; LANES], [0.0; LANES]);
    for_blocks!(dsum.len(), |i, v| {
        let di = ld(dsum, i, v);
        let top: Block = if SELECT {
            let last = ld(rows[K + 1], i, v);
            let top = std::array::from_fn(|l| di[l] - last[l]);
            st(rows[K + 2], i, v, &top);
            top
        } else {
            [0.0; LANES]
        };
        st(rows[K + 1], i, v, &di);
        let mut above = di;
        let mut row_k = di;
        for j in (0..=K).rev() {
            let dj = ld(rows[j], i, v);
            let new: Block = std::array::from_fn(|l| dj[l] + above[l]);
            st(rows[j], i, v, &new);
            if j == K {
                row_k = new;
            }
            above = new;
        }
        if SELECT {
            let w = ld(weight, i, v);
            for l in 0..v {
                let em = row_k[l] * w[l];
                am[l] += em * em;
                let ep = top[l] * w[l];
                ap[l] += ep * ep;
            }
        }
    });
    (am, ap)
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
/// `D_0 + Σ_{j=1..k} D_j Π_{m<j} (tq − (t − m h))/((m + 1) h)` (scipy's `BdfDenseOutput`);
/// element-wise, in chunks as [`PARALLEL_MIN_CHUNKS`] says.
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
    let all = rows(d, n);
    let at = |rows: [&[f64]; ROWS], out: &mut [f64]| {
        out.copy_from_slice(rows[0]);
        for j in 1..=order {
            let pj = p[j - 1];
            for (o, dj) in out.iter_mut().zip(rows[j]) {
                *o += pj * dj;
            }
        }
    };
    if chunked(n) {
        run_chunks(out.chunks_mut(CHUNK).enumerate().collect(), |(c, out)| {
            let lo = c * CHUNK;
            at(all.map(|row| &row[lo..lo + out.len()]), out);
        });
    } else {
        at(all, out);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in (−1, 1) of varied magnitude (an LCG).
    fn values(len: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                (2.0 * u - 1.0) * 10f64.powi((x % 7) as i32 - 3)
            })
            .collect()
    }

    fn bits(x: &[f64]) -> Vec<u64> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool")
            .install(f)
    }

    #[test]
    fn chunked_passes_give_the_whole_array_bits_and_sums_independent_of_threads() {
        // Eight full chunks and a tail that is not a whole block of lanes.
        let n = PARALLEL_MIN_CHUNKS * CHUNK + 13;
        assert!(chunked(n) && !chunked(n - 14));
        let d0 = values(ROWS * n, 1);
        let (dsum, weight) = (values(n, 2), values(n, 3));
        for order in 1..=MAX_ORDER {
            with_order!(order, K => {
                // change_d: element-wise, the same bits.
                let mut want = d0.clone();
                change_d_k::<K>(&mut rows_mut(&mut want, n), &compute_r_u(order, 0.37));
                for threads in [1, 3] {
                    let mut got = d0.clone();
                    in_pool(threads, || change_d(&mut got, n, order, 0.37));
                    assert!(bits(&got) == bits(&want), "change_d, order {order}, {threads} threads");
                }

                // The predictor: element-wise.
                let g = [0.0, 0.3, 0.2, 0.1, 0.05, 0.01];
                let tol = (1e-10, 1e-8);
                let mut want: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; n]);
                {
                    let [a, b, c, e, f] = &mut want;
                    predict_k::<K>(&rows(&d0, n), &g, tol, [a, b, c, e, f]);
                }
                for threads in [1, 3] {
                    let mut got: [Vec<f64>; 5] = std::array::from_fn(|_| vec![1.0; n]);
                    let [a, b, c, e, f] = &mut got;
                    in_pool(threads, || predict(&d0, n, order, &g, tol, a, b, c, e, f));
                    for (x, y) in got.iter().zip(&want) {
                        assert!(bits(x) == bits(y), "predict, order {order}, {threads} threads");
                    }
                }

                // The update of the differences: its rows element-wise; its sums as the
                // whole array's to rounding, and the same bits with 1 and 3 threads.
                let mut want = d0.clone();
                let (wm, wp) =
                    accept_update_k::<K>(&mut rows_mut(&mut want, n), &dsum, Some(&weight));
                let (wm, wp) = (add_lanes(wm), add_lanes(wp));
                let mut sums = Vec::new();
                for threads in [1, 3] {
                    let mut got = d0.clone();
                    let s = in_pool(threads, || {
                        accept_update(&mut got, n, order, &dsum, Some(&weight))
                    });
                    assert!(bits(&got) == bits(&want), "accept_update, order {order}");
                    assert!((s.0 - wm).abs() <= 1e-13 * wm && (s.1 - wp).abs() <= 1e-13 * wp);
                    sums.push((s.0.to_bits(), s.1.to_bits()));
                }
                assert_eq!(sums[0], sums[1], "accept_update's sums, order {order}");
                // Without the order selection: the same rows but `D_{k+2}`, left as it was.
                for threads in [1, 3] {
                    let mut got = d0.clone();
                    let s = in_pool(threads, || accept_update(&mut got, n, order, &dsum, None));
                    assert_eq!(s, (0.0, 0.0));
                    let top = (K + 2) * n..(K + 3) * n;
                    assert!(bits(&got[..top.start]) == bits(&want[..top.start]));
                    assert!(bits(&got[top.clone()]) == bits(&d0[top.clone()]));
                    assert!(bits(&got[top.end..]) == bits(&want[top.end..]));
                }
            });
        }

        // The interpolating polynomial: element-wise.
        let (t, h, tq) = (2.0, 0.01, 1.996);
        let mut p = [0.0; MAX_ORDER];
        let mut acc = 1.0;
        for (m, pm) in p.iter_mut().enumerate() {
            acc *= (tq - (t - h * m as f64)) / (h * (m + 1) as f64);
            *pm = acc;
        }
        let want: Vec<f64> = (0..n)
            .map(|i| (1..=MAX_ORDER).fold(d0[i], |o, j| o + p[j - 1] * d0[j * n + i]))
            .collect();
        for threads in [1, 3] {
            let mut out = vec![0.0; n];
            in_pool(threads, || {
                dense_output(&d0, n, MAX_ORDER, t, h, tq, &mut out)
            });
            assert!(bits(&out) == bits(&want), "dense_output, {threads} threads");
        }

        // The error weights and norm.
        let (y, x) = (&d0[..n], &d0[n..2 * n]);
        let mut want_w = vec![0.0; n];
        let want = add_lanes(weights_and_sum_sq_lanes(y, (1e-10, 1e-8), &mut want_w, x));
        let mut sums = Vec::new();
        for threads in [1, 3] {
            let mut w = vec![0.0; n];
            let s = in_pool(threads, || weights_and_sum_sq(y, (1e-10, 1e-8), &mut w, x));
            assert!(bits(&w) == bits(&want_w));
            assert!((s - want).abs() <= 1e-13 * want, "{s} vs {want}");
            sums.push(s.to_bits());
        }
        assert_eq!(sums[0], sums[1], "weights_and_sum_sq with 1 and 3 threads");
    }
}
