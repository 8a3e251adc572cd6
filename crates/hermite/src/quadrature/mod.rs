//! Gauss quadrature rules: probabilists' Gauss–Hermite and Gauss–Legendre.
//!
//! Gauss–Hermite rules with `n ≤ 4096` and Gauss–Legendre rules with `n ≤ 100` are computed
//! in `O(n²)` operations: eigenvalues of the Jacobi matrix (Golub–Welsch, implicit QL without
//! eigenvectors) or a cosine guess give starting nodes, Newton's method on the three-term
//! recurrence polishes them to machine precision, and the weights come from the
//! Christoffel-number formulas, which keep full relative accuracy even for the tiny outer
//! Gauss–Hermite weights. Larger rules come in `O(n)` operations: Gauss–Legendre from
//! Bogaert's iteration-free asymptotic expansions (SIAM J. Sci. Comput. 36 (2014)
//! A1008–A1026), accurate to rounding level; Gauss–Hermite from the Glaser–Liu–Rokhlin
//! sweep (SIAM J. Sci. Comput. 29 (2007) 1420–1438), nodes to a few ulps and weights to
//! ~1e−12 relative.

mod bogaert;
mod glr;
mod golub_welsch;
mod legendre;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bogaert::gauss_legendre_bogaert;
use glr::gauss_hermite_glr;
use golub_welsch::gauss_hermite_golub_welsch;
use legendre::gauss_legendre_newton;

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
/// `n = 0` gives empty vectors. Up to `n = 4096` the rule costs `O(n²)` (0.6 s at 4096);
/// above, `O(n)` (0.04 s for 10⁵ nodes, 0.4 s for 10⁶; module documentation).
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
/// The rule is exactly symmetric (`x_{n+1−i} = −x_i`, `w_{n+1−i} = w_i`, and `x = 0` exactly
/// for odd `n`). `n = 0` gives empty vectors.
///
/// For `n ≤ 100` the nodes are found by Newton's method on the three-term recurrence
/// (`O(n²)`). For `n > 100` each node–weight pair comes in `O(1)` operations from
/// the iteration-free asymptotic expansions of I. Bogaert, SIAM J. Sci. Comput. 36 (2014)
/// A1008–A1026 (`O(n)` in all): with `v = 1/(n + ½)` and `α_k = v j_{0,k}` (`j_{0,k}` the
/// zeros of the Bessel function `J_0`), `x_k = cos θ_k` where
/// `θ_k = α_k + O(v²)` and `w_k = π v sin α_k (1 + O(v²))`, the corrections being explicit
/// series in `v²` truncated after `v⁶` (formulas in the source). Measured against 32-digit
/// values (`n = 101, 150, 1000, 4097`), these nodes are within `1.4e−16` and the weights
/// within `7e−16` relative. Newton's nodes are as accurate, but its weights lose about
/// `ε/(1 − x_i²)` relative near `±1` (up to `1.2e−13` at `n = 100`).
///
/// To integrate over `[a, b]` use the nodes `(a + b)/2 + (b − a)/2 · x_i` and the weights
/// `(b − a)/2 · w_i`.
///
/// ```
/// let (x, w) = timescales_hermite::quadrature::gauss_legendre(2);
/// assert!((x[1] - 1.0 / 3f64.sqrt()).abs() < 1e-15 && (w[0] - 1.0).abs() < 1e-15);
/// ```
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    if n <= GAUSS_LEGENDRE_NEWTON_MAX {
        gauss_legendre_newton(n)
    } else {
        gauss_legendre_bogaert(n)
    }
}

/// Largest `n` for which [`gauss_legendre`] uses Newton's method; above it Bogaert's
/// expansions are accurate to rounding level (Bogaert's FastGL code switches at the same `n`).
const GAUSS_LEGENDRE_NEWTON_MAX: usize = 100;

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

/// Largest `n` for which the Gauss–Hermite rule comes from Golub–Welsch and Newton
/// (`O(n²)`, 0.6 s at this `n`; weights to a few ulps); above it, from the `O(n)`
/// Glaser–Liu–Rokhlin sweep ([`gauss_hermite_glr`]: 2 ms here, 0.4 s for 10⁶ nodes; weights
/// to ~1e−12 relative, the slope's rounding drifting along the sweep).
const GAUSS_HERMITE_GOLUB_WELSCH_MAX: usize = 4096;

fn compute_gauss_hermite_log(n: usize) -> LogRule {
    if n > GAUSS_HERMITE_GOLUB_WELSCH_MAX {
        gauss_hermite_glr(n)
    } else {
        gauss_hermite_golub_welsch(n)
    }
}

#[cfg(test)]
mod tests;
