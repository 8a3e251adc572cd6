//! Independent reference integrators for the tests (not part of the public API).
//!
//! They use only [`crate::quadrature::gauss_legendre`] and [`crate::hermite_normalized`],
//! each tested on its own against closed forms and published tables, and never the code
//! paths of `expand`.

use crate::hermite_normalized;
use crate::quadrature::{gauss_hermite, gauss_legendre};

/// `E[f(G) h_k(G)]`, `k ≤ degree`, and `E[f(G)²]` by composite Gauss–Legendre
/// (20 nodes per panel, panels ≤ 0.25 wide) on `[−16, 16]`, split at the given kinks so that
/// the integrand is smooth on every piece.
pub fn split_moments(f: impl Fn(f64) -> f64, degree: usize, kinks: &[f64]) -> (Vec<f64>, f64) {
    let (lo, hi) = (-16.0, 16.0);
    let mut cuts = vec![lo];
    cuts.extend(kinks.iter().copied().filter(|&k| k > lo && k < hi));
    cuts.push(hi);
    cuts.sort_by(f64::total_cmp);
    let (gx, gw) = gauss_legendre(20);
    let mut coeffs = vec![0.0; degree + 1];
    let mut norm_sq = 0.0;
    let mut h = vec![0.0; degree + 1];
    for piece in cuts.windows(2) {
        let (a, b) = (piece[0], piece[1]);
        let panels = ((b - a) / 0.25).ceil().max(1.0) as usize;
        let width = (b - a) / panels as f64;
        for p in 0..panels {
            let left = a + p as f64 * width;
            for (t, wt) in gx.iter().zip(&gw) {
                let x = left + 0.5 * width * (t + 1.0);
                let w =
                    0.5 * width * wt * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let fx = f(x);
                hermite_normalized(x, &mut h);
                for (c, hk) in coeffs.iter_mut().zip(&h) {
                    *c += w * fx * hk;
                }
                norm_sq += w * fx * fx;
            }
        }
    }
    (coeffs, norm_sq)
}

/// `E[f(G)]` on the half line `[a, 16]` by composite Gauss–Legendre (the integrand
/// `f(x) ϕ(x)` must be smooth there).
pub fn half_line_expectation(f: impl Fn(f64) -> f64, a: f64) -> f64 {
    let (gx, gw) = gauss_legendre(20);
    let panels = ((16.0 - a) / 0.25).ceil() as usize;
    let width = (16.0 - a) / panels as f64;
    let mut s = 0.0;
    for p in 0..panels {
        let left = a + p as f64 * width;
        for (t, wt) in gx.iter().zip(&gw) {
            let x = left + 0.5 * width * (t + 1.0);
            s += 0.5 * width * wt * f(x) * (-0.5 * x * x).exp();
        }
    }
    s / (2.0 * std::f64::consts::PI).sqrt()
}

/// `E[f(G) g(G_ρ)]` with `G_ρ = ρ G + sqrt(1 − ρ²) G'` by the tensor-product `n × n`
/// Gauss–Hermite rule.
pub fn correlated_expectation(
    f: impl Fn(f64) -> f64,
    g: impl Fn(f64) -> f64,
    rho: f64,
    n: usize,
) -> f64 {
    let (x, w) = gauss_hermite(n);
    let s = (1.0 - rho * rho).sqrt();
    let mut total = 0.0;
    for (xi, wi) in x.iter().zip(&w) {
        let inner: f64 = x
            .iter()
            .zip(&w)
            .map(|(xj, wj)| wj * g(rho * xi + s * xj))
            .sum();
        total += wi * f(*xi) * inner;
    }
    total
}
