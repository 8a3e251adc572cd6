//! Normalized probabilists' Hermite functions `h_k = He_k / sqrt(k!)`.

/// Rescaling threshold of the scaled recurrence (values are kept below `2^500`).
const BIG: f64 = f64::from_bits((1023 + 500) << 52);
/// `ln(2^500)`.
const LN_BIG: f64 = 500.0 * std::f64::consts::LN_2;

/// Writes `h_0(x), …, h_kmax(x)` into `out` (`kmax = out.len() − 1`).
///
/// Implements the stable three-term recurrence (model.md §2)
///
/// `h_0 = 1`, `h_1 = x`, `h_{k+1}(x) = (x h_k(x) − sqrt(k) h_{k−1}(x)) / sqrt(k+1)`,
///
/// so that `E[h_j(G) h_k(G)] = δ_jk` for `G ~ N(0, 1)`. An empty `out` is left untouched.
/// For very large `|x|` and `k` the values overflow to ±∞ (they grow like `|x|^k / sqrt(k!)`);
/// see [`hermite_weighted`] for products with a Gaussian weight that must not overflow.
///
/// ```
/// let mut h = [0.0; 4];
/// timescales_hermite::hermite_normalized(2.0, &mut h);
/// // He_2(2) = 3, He_3(2) = 2: h_2 = 3/sqrt(2), h_3 = 2/sqrt(6)
/// assert!((h[2] - 3.0 / 2f64.sqrt()).abs() < 1e-15);
/// assert!((h[3] - 2.0 / 6f64.sqrt()).abs() < 1e-15);
/// ```
pub fn hermite_normalized(x: f64, out: &mut [f64]) {
    let n = out.len();
    if n == 0 {
        return;
    }
    out[0] = 1.0;
    if n == 1 {
        return;
    }
    out[1] = x;
    for k in 1..n - 1 {
        let kf = k as f64;
        out[k + 1] = (x * out[k] - kf.sqrt() * out[k - 1]) / (kf + 1.0).sqrt();
    }
}

/// Writes `exp(log_w) · h_k(x)` for `k = 0, …, out.len() − 1` into `out`, without
/// intermediate overflow or underflow.
///
/// Same recurrence as [`hermite_normalized`], run on rescaled values with the scale kept
/// as a separate logarithm, so that e.g. `ϕ(x) h_k(x)` (Gaussian density times a Hermite
/// function) is finite and accurate for `|x|` up to hundreds and `k` up to thousands, where
/// `ϕ(x)` alone underflows and `h_k(x)` alone overflows. Entries whose true value is below
/// the smallest `f64` come out as zero.
pub fn hermite_weighted(x: f64, log_w: f64, out: &mut [f64]) {
    let mut log_scale = log_w;
    let mut prev = 0.0_f64;
    let mut cur = 1.0_f64;
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = cur * log_scale.exp();
        let kf = k as f64;
        let next = (x * cur - kf.sqrt() * prev) / (kf + 1.0).sqrt();
        prev = cur;
        cur = next;
        if cur.abs() > BIG {
            cur /= BIG;
            prev /= BIG;
            log_scale += LN_BIG;
        }
    }
}

/// Returns `(h_{n−1}(x), h_n(x), log_scale)` with the true values equal to the returned ones
/// times `exp(log_scale)` (scaled recurrence; `n ≥ 1`).
pub(crate) fn hermite_pair_scaled(n: usize, x: f64) -> (f64, f64, f64) {
    let mut log_scale = 0.0;
    let mut prev = 0.0_f64;
    let mut cur = 1.0_f64;
    for k in 0..n {
        let kf = k as f64;
        let next = (x * cur - kf.sqrt() * prev) / (kf + 1.0).sqrt();
        prev = cur;
        cur = next;
        if cur.abs() > BIG {
            cur /= BIG;
            prev /= BIG;
            log_scale += LN_BIG;
        }
    }
    (prev, cur, log_scale)
}

/// Evaluates `Σ_k c_k h_k(x)` and its derivative `Σ_k c_k sqrt(k) h_{k−1}(x)`
/// (from `h_k' = sqrt(k) h_{k−1}`) in one pass of the recurrence, without allocation.
pub(crate) fn hermite_series(coeffs: &[f64], x: f64) -> (f64, f64) {
    let mut value = 0.0;
    let mut deriv = 0.0;
    let mut prev = 0.0_f64;
    let mut cur = 1.0_f64;
    for (k, &c) in coeffs.iter().enumerate() {
        value += c * cur;
        if k >= 1 {
            deriv += c * (k as f64).sqrt() * prev;
        }
        let kf = k as f64;
        let next = (x * cur - kf.sqrt() * prev) / (kf + 1.0).sqrt();
        prev = cur;
        cur = next;
    }
    (value, deriv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed forms He_0..He_5 (probabilists' Hermite polynomials) divided by sqrt(k!).
    fn explicit(x: f64) -> [f64; 6] {
        let he = [
            1.0,
            x,
            x * x - 1.0,
            x.powi(3) - 3.0 * x,
            x.powi(4) - 6.0 * x * x + 3.0,
            x.powi(5) - 10.0 * x.powi(3) + 15.0 * x,
        ];
        let fact = [1.0, 1.0, 2.0, 6.0, 24.0, 120.0];
        std::array::from_fn(|k| he[k] / f64::sqrt(fact[k]))
    }

    #[test]
    fn recurrence_matches_explicit_polynomials() {
        for &x in &[-3.7, -1.0, 0.0, 0.3, 2.5] {
            let mut h = [0.0; 6];
            hermite_normalized(x, &mut h);
            let e = explicit(x);
            for k in 0..6 {
                assert!(
                    (h[k] - e[k]).abs() < 1e-13 * e[k].abs().max(1.0),
                    "x = {x}, k = {k}"
                );
            }
        }
        hermite_normalized(1.0, &mut []); // empty output: no-op, no panic
        let mut one = [7.0];
        hermite_normalized(5.0, &mut one);
        assert_eq!(one, [1.0]);
    }

    #[test]
    fn weighted_matches_plain_and_survives_extremes() {
        // Where both are representable, exp(lw) h_k(x) computed either way agrees.
        let (x, lw) = (9.0, -40.5);
        let mut plain = vec![0.0; 120];
        let mut weighted = vec![0.0; 120];
        hermite_normalized(x, &mut plain);
        hermite_weighted(x, lw, &mut weighted);
        for k in 0..120 {
            let p = plain[k] * f64::exp(lw);
            assert!((weighted[k] - p).abs() <= 1e-13 * p.abs(), "k = {k}");
        }
        // x = 80: h_900(80) ≈ e^{1330} overflows and exp(−1000) underflows; the product
        // (≈ e^{330}) does neither.
        let mut w = vec![0.0; 901];
        hermite_weighted(80.0, -1000.0, &mut w);
        assert!(w.iter().all(|v| v.is_finite()));
        assert!(w[900] > 1e100 && w[0] == 0.0);
        let mut h = vec![0.0; 901];
        hermite_normalized(80.0, &mut h);
        assert!(!h[900].is_finite()); // inf or NaN (inf − inf) in the plain recurrence
    }

    #[test]
    fn series_and_derivative() {
        // 2 h_0 + h_1 − 3 h_3 at x: value and derivative from the explicit polynomials.
        let c = [2.0, 1.0, 0.0, -3.0];
        let x = 0.7;
        let e = explicit(x);
        let (v, d) = hermite_series(&c, x);
        assert!((v - (2.0 + e[1] - 3.0 * e[3])).abs() < 1e-14);
        // h_1' = 1, h_3' = (3x² − 3)/√6.
        assert!((d - (1.0 - 3.0 * (3.0 * x * x - 3.0) / 6f64.sqrt())).abs() < 1e-14);
        assert_eq!(hermite_series(&[], 1.0), (0.0, 0.0));
    }
}
