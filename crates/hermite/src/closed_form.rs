//! Closed-form Hermite coefficients (relu, abs, exp, identity, polynomials).
//!
//! All use Gaussian integration by parts, `E[f(G) He_k(G)] = E[f^{(k)}(G)]`, or exact
//! algebra in the Hermite basis.

use crate::activation::{INV_SQRT_2PI, normal_cdf, normal_pdf};
use crate::basis::hermite_weighted;

/// Coefficients `f_0..f_degree` of `f(x) = relu(c x + b)`, `c ≠ 0`.
///
/// For `c > 0`, with `t = b/c` and the kink `x0 = −t`:
/// `f_0 = b Φ(t) + c ϕ(t)`, `f_1 = c Φ(t)`, and for `k ≥ 2`
/// `f_k = c He_{k−2}(x0) ϕ(x0) / sqrt(k!) = c ϕ(x0) h_{k−2}(x0) / sqrt(k (k−1))`
/// (from `f'' = c δ(x − x0)` and `d^n ϕ/dx^n = (−1)^n He_n ϕ`).
/// For `c < 0`, substituting `G → −G` and `h_k(−x) = (−1)^k h_k(x)` gives
/// `f_k(c, b) = (−1)^k f_k(|c|, b)`.
pub(crate) fn relu_coeffs(c: f64, b: f64, degree: usize) -> Vec<f64> {
    let ca = c.abs();
    let t = b / ca;
    let x0 = -t;
    let mut out = vec![0.0; degree + 1];
    out[0] = b * normal_cdf(t) + ca * normal_pdf(t);
    if degree >= 1 {
        out[1] = ca * normal_cdf(t);
    }
    // For |x0| > 1e3, ϕ(x0) h_j(x0) < exp(−x0²/2 + j ln|x0|) underflows for every
    // j ≤ MAX_DEGREE: the higher coefficients are exactly representable as 0.
    if degree >= 2 && x0.abs() <= 1e3 {
        // ϕ(x0) h_j(x0) for j = 0..degree−2, overflow-free.
        let mut w = vec![0.0; degree - 1];
        hermite_weighted(x0, -0.5 * x0 * x0 + INV_SQRT_2PI.ln(), &mut w);
        for k in 2..=degree {
            let kf = k as f64;
            out[k] = ca * w[k - 2] / (kf * (kf - 1.0)).sqrt();
        }
    }
    if c < 0.0 {
        for v in out.iter_mut().skip(1).step_by(2) {
            *v = -*v;
        }
    }
    out
}

/// `E[relu(c G + b)²] = c² [(1 + t²) Φ(t) + t ϕ(t)]` with `t = b/|c|`, `c ≠ 0`
/// (split `E[(G + t)² 1{G > −t}]` into the truncated moments of orders 0, 1, 2).
///
/// For `|t| > 40` the limits are used (`Φ(t) = 1` or `0` and `t ϕ(t) = 0` in `f64`), which
/// also avoids `∞ · 0` when `|b/c|` overflows.
pub(crate) fn relu_norm_sq(c: f64, b: f64) -> f64 {
    let t = b / c.abs();
    if t > 40.0 {
        return b * b + c * c;
    }
    if t < -40.0 {
        return 0.0;
    }
    let v = c * c * ((1.0 + t * t) * normal_cdf(t) + t * normal_pdf(t));
    v.max(0.0)
}

/// Coefficients of `f(x) = |c x + b| = relu(c x + b) + relu(−c x − b)`, `c ≠ 0`.
pub(crate) fn abs_coeffs(c: f64, b: f64, degree: usize) -> Vec<f64> {
    let p = relu_coeffs(c, b, degree);
    let m = relu_coeffs(-c, -b, degree);
    p.iter().zip(&m).map(|(a, b)| a + b).collect()
}

/// Coefficients of `f(x) = exp(c x + b − ½)`:
/// `f_k = exp(b − ½ + c²/2) c^k / sqrt(k!)` (from `E[e^{cG} He_k(G)] = c^k e^{c²/2}`),
/// computed by `f_k = f_{k−1} c / sqrt(k)`.
pub(crate) fn exp_coeffs(c: f64, b: f64, degree: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(degree + 1);
    let mut v = (b - 0.5 + 0.5 * c * c).exp();
    out.push(v);
    for k in 1..=degree {
        v *= c / (k as f64).sqrt();
        out.push(v);
    }
    out
}

/// `E[exp(c G + b − ½)²] = exp(2b − 1 + 2c²)`.
pub(crate) fn exp_norm_sq(c: f64, b: f64) -> f64 {
    (2.0 * b - 1.0 + 2.0 * c * c).exp()
}

/// Exact Hermite coefficients of the polynomial `Σ_j c_j x^j` (all of them, length
/// `c.len()`), by Horner's scheme in the Hermite basis, using
/// `x h_k = sqrt(k + 1) h_{k+1} + sqrt(k) h_{k−1}`.
/// (Equivalent to `x^n = Σ_m n! / (2^m m! (n − 2m)!) He_{n−2m}`, but without factorials.)
pub(crate) fn polynomial_to_hermite(c: &[f64]) -> Vec<f64> {
    let n = c.len();
    let mut v = vec![0.0; n];
    let mut len = 0; // current number of meaningful entries of v
    for &cj in c.iter().rev() {
        // v ← x·v + cj·h_0
        let mut next = vec![0.0; (len + 1).min(n)];
        for (k, &vk) in v.iter().enumerate().take(len) {
            if k + 1 < next.len() {
                next[k + 1] += ((k + 1) as f64).sqrt() * vk;
            }
            if k >= 1 {
                next[k - 1] += (k as f64).sqrt() * vk;
            }
        }
        next[0] += cj;
        len = next.len();
        v[..len].copy_from_slice(&next);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_extreme_kinks_have_finite_limits() {
        // relu(1e−300 x + 1): kink at −1e300, f = x·1e−300 + 1 on all of the Gaussian's mass
        // (closed form of the affine function), and relu(1e−300 x − 1) = 0 there.
        let p = relu_coeffs(1e-300, 1.0, 4);
        assert_eq!(p, vec![1.0, 1e-300, 0.0, 0.0, 0.0]);
        assert_eq!(relu_norm_sq(1e-300, 1.0), 1.0);
        let m = relu_coeffs(-1e-300, -1.0, 4);
        assert!(m.iter().all(|v| *v == 0.0));
        assert_eq!(relu_norm_sq(1e-300, -1.0), 0.0);
        // Continuity of the norm across the |t| = 40 switch (closed form both sides).
        let a = relu_norm_sq(1.0, 40.0);
        let b = relu_norm_sq(1.0, 39.999_999);
        assert!((a - b).abs() < 1e-4 * a);
    }
}
