//! Gauss quadrature rules: probabilists' Gauss–Hermite and Gauss–Legendre.
//!
//! Both rules are computed in `O(n²)` operations: eigenvalues of the Jacobi matrix
//! (Golub–Welsch, implicit QL without eigenvectors) or a cosine guess give starting nodes,
//! Newton's method on the three-term recurrence polishes them to machine precision, and the
//! weights come from the Christoffel-number formulas, which keep full relative accuracy even
//! for the tiny outer Gauss–Hermite weights.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::basis::hermite_pair_scaled;

/// Probabilists' Gauss–Hermite rule with `n` nodes.
///
/// Returns nodes `x_1 < … < x_n` (the zeros of `He_n`) and weights `w_i > 0` with
/// `Σ w_i = 1`, such that
///
/// `Σ_i w_i p(x_i) = E[p(G)] = ∫ p(x) e^{−x²/2} dx / sqrt(2π)`,  `G ~ N(0, 1)`,
///
/// exactly for every polynomial of degree `≤ 2n − 1`. The weights are the Christoffel
/// numbers `w_i = 1 / (n h_{n−1}(x_i)²)`; for large `n` the outermost ones underflow to `0`
/// harmlessly (they are below `1e−308`). The rule is exactly symmetric (`x_{n+1−i} = −x_i`).
/// `n = 0` gives empty vectors.
///
/// ```
/// let (x, w) = timescales_hermite::quadrature::gauss_hermite(3);
/// // He_3 = x³ − 3x: nodes 0, ±sqrt(3), weights 1/6, 2/3, 1/6.
/// assert!((x[2] - 3f64.sqrt()).abs() < 1e-15 && (w[1] - 2.0 / 3.0).abs() < 1e-15);
/// ```
pub fn gauss_hermite(n: usize) -> (Vec<f64>, Vec<f64>) {
    let rule = gauss_hermite_log(n);
    (
        rule.nodes.clone(),
        rule.log_weights.iter().map(|lw| lw.exp()).collect(),
    )
}

/// Gauss–Legendre rule with `n` nodes on `[−1, 1]`.
///
/// Returns nodes `x_1 < … < x_n` (the zeros of the Legendre polynomial `P_n`) and weights
/// `w_i = 2 / ((1 − x_i²) P_n'(x_i)²)` with `Σ w_i = 2`, such that
/// `Σ_i w_i p(x_i) = ∫_{−1}^{1} p(x) dx` exactly for every polynomial of degree `≤ 2n − 1`.
/// `n = 0` gives empty vectors.
///
/// To integrate over `[a, b]` use the nodes `(a + b)/2 + (b − a)/2 · x_i` and the weights
/// `(b − a)/2 · w_i`.
///
/// ```
/// let (x, w) = timescales_hermite::quadrature::gauss_legendre(2);
/// assert!((x[1] - 1.0 / 3f64.sqrt()).abs() < 1e-15 && (w[0] - 1.0).abs() < 1e-15);
/// ```
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        // Tricomi-type initial guess for the i-th largest zero, then Newton.
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        // Newton until the step is tiny, then one more step (quadratic convergence makes
        // that last step reach rounding level).
        for _ in 0..100 {
            let (p, d) = legendre_with_derivative(n, z);
            let dz = p / d;
            z -= dz;
            if dz.abs() <= 1e-10 {
                let (p, d) = legendre_with_derivative(n, z);
                z -= p / d;
                break;
            }
        }
        let dp = legendre_with_derivative(n, z).1;
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        x[i] = -z;
        x[n - 1 - i] = z;
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    if n % 2 == 1 {
        x[n / 2] = 0.0;
    }
    (x, w)
}

/// `(P_n(z), P_n'(z))` by the Bonnet recurrence `j P_j = (2j − 1) z P_{j−1} − (j − 1) P_{j−2}`
/// and `P_n' = n (z P_n − P_{n−1}) / (z² − 1)`.
fn legendre_with_derivative(n: usize, z: f64) -> (f64, f64) {
    let mut p0 = 1.0;
    let mut p1 = 0.0;
    for j in 1..=n {
        let jf = j as f64;
        let p2 = p1;
        p1 = p0;
        p0 = ((2.0 * jf - 1.0) * z * p1 - (jf - 1.0) * p2) / jf;
    }
    let d = n as f64 * (z * p0 - p1) / (z * z - 1.0);
    (p0, d)
}

/// A Gauss–Hermite rule with logarithmic weights (never underflowing).
#[derive(Debug)]
pub(crate) struct LogRule {
    /// Nodes, ascending.
    pub nodes: Vec<f64>,
    /// `ln w_i`.
    pub log_weights: Vec<f64>,
}

/// Cached probabilists' Gauss–Hermite rule with log weights `ln w_i = −ln n − 2 ln|h_{n−1}(x_i)|`.
pub(crate) fn gauss_hermite_log(n: usize) -> Arc<LogRule> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<LogRule>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(rule) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&n) {
        return Arc::clone(rule);
    }
    let rule = Arc::new(compute_gauss_hermite_log(n));
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(n, Arc::clone(&rule));
    rule
}

fn compute_gauss_hermite_log(n: usize) -> LogRule {
    if n == 0 {
        return LogRule {
            nodes: Vec::new(),
            log_weights: Vec::new(),
        };
    }
    // Golub–Welsch: eigenvalues of the Jacobi matrix (zero diagonal, off-diagonal sqrt(k)).
    let mut d = vec![0.0; n];
    let mut e: Vec<f64> = (1..=n)
        .map(|k| if k < n { (k as f64).sqrt() } else { 0.0 })
        .collect();
    tridiagonal_eigenvalues(&mut d, &mut e);
    d.sort_by(f64::total_cmp);

    let nf = n as f64;
    let mut nodes = vec![0.0; n];
    let mut log_weights = vec![0.0; n];
    let half = n / 2;
    // Polish the non-negative half by Newton on h_n (h_n' = sqrt(n) h_{n−1}) and mirror.
    for i in 0..n.div_ceil(2) {
        let j = n - 1 - i; // index of the i-th largest node
        let mut z = if j == i { 0.0 } else { 0.5 * (d[j] - d[i]) };
        if j != i {
            let mut close = false;
            for _ in 0..20 {
                let (hm1, hn, _) = hermite_pair_scaled(n, z);
                let dz = hn / (nf.sqrt() * hm1);
                if !dz.is_finite() {
                    break;
                }
                z -= dz;
                if close {
                    break;
                }
                close = dz.abs() <= 1e-10 * z.abs().max(1.0);
            }
        }
        let (hm1, _, log_scale) = hermite_pair_scaled(n, z);
        let lw = -nf.ln() - 2.0 * (hm1.abs().ln() + log_scale);
        nodes[j] = z;
        nodes[i] = -z;
        log_weights[j] = lw;
        log_weights[i] = lw;
    }
    if n % 2 == 1 {
        nodes[half] = 0.0;
    }
    LogRule { nodes, log_weights }
}

/// Eigenvalues of a symmetric tridiagonal matrix by the implicit QL method with Wilkinson
/// shifts (eigenvalues only, `O(n²)`). `d` holds the diagonal and receives the eigenvalues
/// (unordered); `e[i]` couples rows `i` and `i + 1` (`e[n−1]` is ignored and destroyed).
/// Stops after 60 sweeps per eigenvalue; the Newton polish that follows absorbs any
/// remaining inaccuracy.
fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    if n == 0 {
        return;
    }
    e[n - 1] = 0.0;
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m < n - 1 {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l || iter >= 60 {
                break;
            }
            iter += 1;
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut deflated = false;
            let mut i = m;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hermite_normalized;
    use proptest::prelude::*;

    /// `(2m − 1)!! = E[G^{2m}]` (closed form of the Gaussian moments).
    fn double_factorial_odd(m: u32) -> f64 {
        (1..=m).map(|j| (2 * j - 1) as f64).product()
    }

    #[test]
    fn gauss_hermite_small_rules_closed_form() {
        // n = 1: He_1 = x → node 0, weight 1. n = 2: He_2 = x² − 1 → ±1, ½.
        // n = 3: He_3 = x³ − 3x → 0, ±√3 with weights 2/3, 1/6 (closed form).
        assert_eq!(gauss_hermite(0), (vec![], vec![]));
        assert_eq!(gauss_hermite(1), (vec![0.0], vec![1.0]));
        let (x, w) = gauss_hermite(2);
        assert!((x[1] - 1.0).abs() < 1e-15 && (w[0] - 0.5).abs() < 1e-15);
        let (x, w) = gauss_hermite(3);
        assert!((x[0] + 3f64.sqrt()).abs() < 1e-15 && x[1] == 0.0);
        assert!((w[0] - 1.0 / 6.0).abs() < 1e-15 && (w[1] - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn gauss_hermite_matches_abramowitz_stegun_table() {
        // Abramowitz & Stegun, Table 25.10, n = 5, weight e^{−x²}: nodes 0, 0.958572464613819,
        // 2.020182870456086; weights 0.945308720482942, 0.393619323152241,
        // 0.019953242059046. Probabilists' form: x·√2, w/√π.
        let (x, w) = gauss_hermite(5);
        let sqrt_pi = std::f64::consts::PI.sqrt();
        let table = [
            (0.0, 0.945308720482942),
            (0.958572464613819, 0.393619323152241),
            (2.020182870456086, 0.019953242059046),
        ];
        for (i, (xp, wp)) in table.iter().enumerate() {
            assert!((x[2 + i] - xp * 2f64.sqrt()).abs() < 2e-15, "node {i}");
            assert!((w[2 + i] - wp / sqrt_pi).abs() < 1e-15, "weight {i}");
        }
    }

    #[test]
    fn gauss_hermite_exact_on_monomials() {
        for n in 1..=30usize {
            let (x, w) = gauss_hermite(n);
            assert!(
                x.windows(2).all(|p| p[0] < p[1]),
                "n = {n}: nodes not ascending"
            );
            for p in 0..2 * n {
                let q: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(p as i32)).sum();
                let exact = if p % 2 == 1 {
                    0.0
                } else {
                    double_factorial_odd(p as u32 / 2)
                };
                // Odd moments cancel: judge them against the size of E[G^{p+1}].
                let size = double_factorial_odd(p.div_ceil(2) as u32);
                assert!(
                    (q - exact).abs() <= 1e-13 * size,
                    "n = {n}, E[G^{p}]: {q} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn gauss_hermite_large_rules_are_sane() {
        for n in [257usize, 1024, 2048] {
            let (x, w) = gauss_hermite(n);
            let sum: f64 = w.iter().sum();
            let m2: f64 = x.iter().zip(&w).map(|(x, w)| w * x * x).sum();
            let m4: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(4)).sum();
            assert!(
                (sum - 1.0).abs() < 1e-14 && (m2 - 1.0).abs() < 1e-14,
                "n = {n}"
            );
            assert!((m4 - 3.0).abs() < 1e-13, "n = {n}");
            assert!(w.iter().all(|w| w.is_finite() && *w >= 0.0));
            assert!((0..n).all(|i| x[i] == -x[n - 1 - i]));
            // Largest zero of He_n lies below sqrt(4n + 2) (Szegő bound).
            assert!(x[n - 1] < (4.0 * n as f64 + 2.0).sqrt());
            // Nodes are zeros of h_n to working accuracy (relative to the local scale).
            for &xi in x.iter().step_by(97) {
                let (hm1, hn, _) = hermite_pair_scaled(n, xi);
                assert!((hn / hm1).abs() < 1e-11, "n = {n}, x = {xi}");
            }
        }
    }

    #[test]
    fn gauss_legendre_matches_published_table() {
        // Abramowitz & Stegun, Table 25.4, n = 5: nodes 0, ±0.538469310105683,
        // ±0.906179845938664; weights 128/225, 0.478628670499366, 0.236926885056189.
        let (x, w) = gauss_legendre(5);
        let table = [
            (0.0, 128.0 / 225.0),
            (0.538469310105683, 0.478628670499366),
            (0.906179845938664, 0.236926885056189),
        ];
        for (i, (xp, wp)) in table.iter().enumerate() {
            assert!((x[2 + i] - xp).abs() < 1e-15 && (x[2 - i] + xp).abs() < 1e-15);
            assert!((w[2 + i] - wp).abs() < 1e-15);
        }
        assert_eq!(gauss_legendre(0), (vec![], vec![]));
        assert_eq!(gauss_legendre(1), (vec![0.0], vec![2.0]));
    }

    #[test]
    fn gauss_legendre_exact_on_monomials() {
        // ∫_{−1}^{1} x^p dx = 2/(p + 1) for even p, 0 for odd p (closed form).
        for n in (1..=40usize).chain([100, 500, 1000]) {
            let (x, w) = gauss_legendre(n);
            assert!(x.windows(2).all(|p| p[0] < p[1]), "n = {n}");
            for p in 0..(2 * n).min(60) {
                let q: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(p as i32)).sum();
                let exact = if p % 2 == 1 {
                    0.0
                } else {
                    2.0 / (p as f64 + 1.0)
                };
                assert!(
                    (q - exact).abs() < 1e-14,
                    "n = {n}, p = {p}: {q} vs {exact}"
                );
            }
        }
    }

    proptest! {
        /// Σ w_i h_j(x_i) h_k(x_i) = δ_jk whenever j + k ≤ 2n − 1 (orthonormality, exactness).
        #[test]
        fn hermite_orthonormal_under_gauss_hermite(n in 1usize..70, a in 0.0f64..1.0, b in 0.0f64..1.0) {
            let j = ((2 * n - 1) as f64 * a) as usize;
            let k = (((2 * n - 1 - j) as f64) * b) as usize;
            let (x, w) = gauss_hermite(n);
            let mut h = vec![0.0; j.max(k) + 1];
            let mut s = 0.0;
            for (xi, wi) in x.iter().zip(&w) {
                hermite_normalized(*xi, &mut h);
                s += wi * h[j] * h[k];
            }
            let exact = if j == k { 1.0 } else { 0.0 };
            prop_assert!((s - exact).abs() < 1e-12, "n = {}, j = {}, k = {}: {}", n, j, k, s);
        }
    }
}
