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

/// Gauss–Legendre rule by Newton's method on the three-term recurrence (`O(n²)`).
fn gauss_legendre_newton(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n.div_ceil(2) {
        let (z, wi) = legendre_newton_pair(n, i);
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

/// The `i`-th largest zero `z` of `P_n` (`i = 0, 1, …`) and its Gauss–Legendre weight, by
/// Newton's method on the recurrence from a Tricomi-type initial guess (`O(n)` per node).
fn legendre_newton_pair(n: usize, i: usize) -> (f64, f64) {
    let nf = n as f64;
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
    (z, 2.0 / ((1.0 - z * z) * dp * dp))
}

/// Gauss–Legendre rule by Bogaert's iteration-free method (`O(n)`, intended for `n > 100`).
///
/// I. Bogaert, "Iteration-free computation of Gauss–Legendre quadrature nodes and weights",
/// SIAM J. Sci. Comput. 36 (2014) A1008–A1026 (the FastGL algorithm). Write the nodes as
/// `x_k = cos θ_k`, `k = 1, …, n`, with `θ_1 < … < θ_n` (so `x_k` descends); by symmetry only
/// `k ≤ ⌈n/2⌉` (`θ_k ≤ π/2`) is computed. With
///
/// `v = 1/(n + ½)`, `α_k = v j_{0,k}`, `u_k = v α_k / sin α_k`,
///
/// where `j_{0,k}` is the `k`-th positive zero of the Bessel function `J_0`, the expansions
/// of the paper, truncated after the `v⁶` terms (the neglected terms are below rounding
/// for `n ≥ 100`), read
///
/// `θ_k = α_k + sin α_k · (S_1(α_k²) u_k² + S_2(α_k²) u_k⁴ + S_3(α_k²) u_k⁶)`,
///
/// `w_k = 2 v³ / (J_1(j_{0,k})² · u_k · (1 + W_1(α_k²) u_k² + W_2(α_k²) u_k⁴ + W_3(α_k²) u_k⁶))`.
///
/// `S_m` and `W_m` are Bogaert's polynomial (Chebyshev) fits on `α ∈ [0, π/2]` of the paper's
/// expansion functions, rescaled to be smooth in `α²`; the leading one is
/// `S_1(α²) = (α cos α − sin α)/(8α³)` (checked here to `4e−16`). The leading weight is
/// `w_k ≈ π v sin α_k`. The coefficients are those of Bogaert's reference C++ code
/// (FastGL, also used by ducc0); `j_{0,k}` and `J_1(j_{0,k})²` are tabulated for `k ≤ 20`
/// and `k ≤ 21` (30-digit values rounded to `f64`) and otherwise come from McMahon's
/// asymptotic series, see [`bessel_j0_zero`] and [`bessel_j1_squared`].
fn gauss_legendre_bogaert(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for k in 1..=n.div_ceil(2) {
        let (z, wk) = bogaert_pair(n, k);
        x[k - 1] = -z;
        x[n - k] = z;
        w[k - 1] = wk;
        w[n - k] = wk;
    }
    if n % 2 == 1 {
        x[n / 2] = 0.0;
    }
    (x, w)
}

/// `(x_k, w_k) = (cos θ_k, w_k)` of the `n`-point rule by Bogaert's expansions (formulas at
/// [`gauss_legendre_bogaert`]), for `1 ≤ k ≤ ⌈n/2⌉`.
fn bogaert_pair(n: usize, k: usize) -> (f64, f64) {
    // Bogaert's polynomial fits in x = α², coefficients by ascending power.
    const S1: [f64; 7] = [
        -0.0416666666666663,
        0.004166666666651934,
        -0.00014880952371390914,
        2.7557316896206124e-06,
        -3.1314865463599204e-08,
        2.4072468586433013e-10,
        -1.2905299627428051e-12,
    ];
    const S2: [f64; 7] = [
        0.008159722217729322,
        -0.002090222483878529,
        0.00028211688605756045,
        -2.53300326008232e-05,
        1.6196925945383627e-06,
        -7.530367713737693e-08,
        2.20639421781871e-09,
    ];
    const S3: [f64; 7] = [
        -0.004160121656202043,
        0.0012865419854284513,
        -0.0002513952932839659,
        4.184981003295046e-05,
        -5.677978413568331e-06,
        5.558453302237962e-07,
        -2.9705822537552623e-08,
    ];
    const W1: [f64; 10] = [
        0.08333333333333333,
        -0.0305555555555553,
        0.004365079365075981,
        -0.0003262786595944122,
        1.4964459362502864e-05,
        -4.639686475532213e-07,
        1.037560669279168e-08,
        -1.752577007354238e-10,
        2.3036572686037738e-12,
        -2.2090286104461664e-14,
    ];
    const W2: [f64; 9] = [
        -0.011111111111121492,
        0.002689594356947297,
        -0.00040729718561133575,
        4.659695306949684e-05,
        -3.818179186800454e-06,
        2.1148388068594716e-07,
        -7.129128572336422e-09,
        7.676435450698932e-11,
        3.631174121526548e-12,
    ];
    const W3: [f64; 9] = [
        0.006569664899264848,
        -9.479693089585773e-05,
        -0.00010564605025407614,
        -4.228880592829212e-05,
        2.0055932639645834e-05,
        -3.9793331651913525e-06,
        5.088983472886716e-07,
        -4.386471225202067e-08,
        2.018267912567033e-09,
    ];
    // α = j_{0,k}/(n + ½) and θ as unevaluated sums hi + lo (n + ½ is exact), so that
    // x = cos θ is accurate to about an ulp of x also near the middle, where θ ≈ π/2 and an
    // ulp of θ would otherwise cost ~1e−16 absolute in x.
    let d = n as f64 + 0.5;
    let v = 1.0 / d;
    let (j_hi, j_lo) = bessel_j0_zero(k);
    let alpha = j_hi / d;
    let alpha_lo = ((-alpha).mul_add(d, j_hi) + j_lo) / d;
    let a2 = alpha * alpha;
    let sin_alpha = alpha.sin();
    let u = v * alpha / sin_alpha;
    let u2 = u * u;
    let corr = sin_alpha * u2 * (poly(a2, &S1) + u2 * (poly(a2, &S2) + u2 * poly(a2, &S3)));
    let theta = alpha + corr;
    let theta_lo = (alpha - theta) + corr + alpha_lo; // |corr| ≪ α: fast two-sum
    let (sin_theta, cos_theta) = theta.sin_cos();
    let x = cos_theta - sin_theta * theta_lo;
    let denom = bessel_j1_squared(k)
        * u
        * (1.0 + u2 * (poly(a2, &W1) + u2 * (poly(a2, &W2) + u2 * poly(a2, &W3))));
    (x, 2.0 * v * v * v / denom)
}

/// `Σ_i c_i x^i` by Horner's rule.
fn poly(x: f64, c: &[f64]) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
}

/// The `k`-th positive zero `j_{0,k}` of `J_0` (`k ≥ 1`): tabulated for `k ≤ 20`, otherwise
/// McMahon's expansion (Abramowitz & Stegun 9.5.12 with `μ = 0`) in `β = π(k − ¼)`,
///
/// `j_{0,k} ≈ β + 1/(8β) − 31/(384β³) + 3779/(15360β⁵) − 6277237/(3440640β⁷)
///            + 2092163573/(82575360β⁹)`,
///
/// whose truncation error at `k = 21` is below `1e−19` relative. Returned as an unevaluated
/// sum `hi + lo` (`lo = 0` for the tabulated zeros, whose rounding costs at most `4e−17`
/// in `α_k` since `n > 100`).
fn bessel_j0_zero(k: usize) -> (f64, f64) {
    const TABLE: [f64; 20] = [
        2.404825557695773,
        5.520078110286311,
        8.653727912911013,
        11.791534439014281,
        14.930917708487787,
        18.071063967910924,
        21.21163662987926,
        24.352471530749302,
        27.493479132040253,
        30.634606468431976,
        33.77582021357357,
        36.917098353664045,
        40.05842576462824,
        43.19979171317673,
        46.341188371661815,
        49.482609897397815,
        52.624051841115,
        55.76551075501998,
        58.90698392608094,
        62.048469190227166,
    ];
    if k <= TABLE.len() {
        return (TABLE[k - 1], 0.0);
    }
    // π = PI + PI_LO to about 1e−32; β = π (k − ¼) as hi + lo (k − ¼ is exact).
    const PI_LO: f64 = 1.2246467991473532e-16;
    let m = k as f64 - 0.25;
    let beta = std::f64::consts::PI * m;
    let beta_lo = std::f64::consts::PI.mul_add(m, -beta) + PI_LO * m;
    let r = 1.0 / beta;
    let r2 = r * r;
    let series = r
        * (1.0 / 8.0
            + r2 * (-31.0 / 384.0
                + r2 * (3779.0 / 15360.0
                    + r2 * (-6277237.0 / 3440640.0 + r2 * (2092163573.0 / 82575360.0)))));
    let hi = beta + series;
    (hi, (beta - hi) + series + beta_lo)
}

/// `J_1(j_{0,k})²` (`k ≥ 1`): tabulated for `k ≤ 21`, otherwise the asymptotic series in
/// `y = 1/(k − ¼)` of Bogaert's FastGL code,
///
/// `J_1(j_{0,k})² ≈ y (2/π² + y⁴ (b_0 + b_1 y² + b_2 y⁴ + b_3 y⁶))`
///
/// (leading term `2/(π j_{0,k})`), whose truncation error at `k = 22` is below `1e−18`
/// relative (checked against 40-digit values for `k = 13 … 100`).
fn bessel_j1_squared(k: usize) -> f64 {
    const TABLE: [f64; 21] = [
        0.2695141239419169,
        0.11578013858220369,
        0.07368635113640822,
        0.05403757319811628,
        0.04266142901724309,
        0.0352421034909961,
        0.030021070103054673,
        0.02614739149530809,
        0.023159121824691393,
        0.02078382912226786,
        0.01885045066931767,
        0.017246157569665008,
        0.0158935181059236,
        0.01473762609647219,
        0.013738465145387117,
        0.012866181737615133,
        0.012098051548626797,
        0.011416471224491609,
        0.010807592791180204,
        0.010260372926280762,
        0.009765897139791051,
    ];
    if k <= TABLE.len() {
        return TABLE[k - 1];
    }
    let y = 1.0 / (k as f64 - 0.25);
    let y2 = y * y;
    y * (0.20264236728467555
        + y2 * y2
            * (-0.00030338042971129027
                + y2 * (0.0001989243642459693
                    + y2 * (-0.00022896990277211166 + y2 * 0.0004337107191307463))))
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

/// Golub–Welsch starting values polished by Newton on the three-term recurrence (`O(n²)`).
fn gauss_hermite_golub_welsch(n: usize) -> LogRule {
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

/// Probabilists' Gauss–Hermite rule in `O(n)` operations by the method of A. Glaser, X. Liu
/// and V. Rokhlin, SIAM J. Sci. Comput. 29 (2007) 1420–1438 (as in N. Hale & A. Townsend,
/// SIAM J. Sci. Comput. 35 (2013) A652–A674, for Legendre).
///
/// The Hermite function `u(y) = e^{−y²/2} H_n(y)` (physicists' `H_n`; the nodes are
/// `x = √2 y`) solves `u'' = (y² − c) u`, `c = 2n + 1`. The sweep goes from `y = 0` (a zero
/// for odd `n`, an extremum for even `n`) to the right, one zero at a time:
///
/// 1. a first guess of the next zero integrates the Prüfer angle `θ` (`tan θ = √q u/u'`,
///    `q = c − y²`, zeros of `u` at `θ ≡ 0 mod π`) as `dy/dθ = 1/(√q + q'/(4q) sin 2θ)` up to
///    the next multiple of `π` with RK4;
/// 2. Newton's method refines it on the Taylor series of `u` about the current zero, whose
///    coefficients follow from the ODE: `a_{m+2} = ((y₀² − c) a_m + 2 y₀ a_{m−1} + a_{m−2}) /
///    ((m + 1)(m + 2))`, summed until the terms are below rounding;
/// 3. the series also gives `u'` at the new zero, the start of the next step.
///
/// Each zero costs `O(1)`. The weights are `w_k ∝ e^{−y_k²} / u'(y_k)²` (the Christoffel
/// numbers written with the Hermite function), normalized so that `Σ w_k = 1` (exact for the
/// true rule), in logarithms so that none underflows.
fn gauss_hermite_glr(n: usize) -> LogRule {
    let c = 2.0 * n as f64 + 1.0;
    let positive = n / 2;
    // Zeros y_k > 0 (ascending) and u'(y_k), u normalized by u(0) = 1 (even n) or u'(0) = 1.
    let mut zeros = Vec::with_capacity(positive);
    let mut slopes = Vec::with_capacity(positive);
    let (mut y, mut u, mut du, mut theta) = if n % 2 == 1 {
        (0.0, 0.0, 1.0, 0.0)
    } else {
        (0.0, 1.0, 0.0, std::f64::consts::FRAC_PI_2)
    };
    for _ in 0..positive {
        let guess = prufer_next_zero(y, theta, c);
        let (z, dz) = taylor_newton_zero(y, u, du, guess, c);
        zeros.push(z);
        slopes.push(dz);
        (y, u, du, theta) = (z, 0.0, dz, 0.0);
    }
    // ln w ∝ −y² − 2 ln|u'(y)|, over all n nodes (mirror images and, for odd n, y = 0).
    let log_w: Vec<f64> = zeros
        .iter()
        .zip(&slopes)
        .map(|(y, d): (&f64, &f64)| -y * y - 2.0 * d.abs().ln())
        .collect();
    let centre = (n % 2 == 1).then_some(0.0); // y = 0, u'(0) = 1
    let top = log_w
        .iter()
        .copied()
        .chain(centre)
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = 2.0 * log_w.iter().map(|l| (l - top).exp()).sum::<f64>()
        + centre.map_or(0.0, |l| (l - top).exp());
    let norm = top + sum.ln();
    let mut nodes = Vec::with_capacity(n);
    let mut log_weights = Vec::with_capacity(n);
    let sqrt2 = std::f64::consts::SQRT_2;
    for (y, l) in zeros.iter().zip(&log_w).rev() {
        nodes.push(-sqrt2 * y);
        log_weights.push(l - norm);
    }
    if let Some(l) = centre {
        nodes.push(0.0);
        log_weights.push(l - norm);
    }
    for (y, l) in zeros.iter().zip(&log_w) {
        nodes.push(sqrt2 * y);
        log_weights.push(l - norm);
    }
    LogRule { nodes, log_weights }
}

/// First guess of the next zero of `u` (`u'' + (c − y²) u = 0`) to the right of `y`, where
/// the Prüfer angle is `theta` (`0` at a zero, `π/2` at an extremum): RK4 on
/// `dy/dθ = 1/(√q + q'/(4q) sin 2θ)`, `q = c − y²`, from `theta` to `π`.
fn prufer_next_zero(y: f64, theta: f64, c: f64) -> f64 {
    const STEPS: usize = 10;
    let slope = |th: f64, y: f64| {
        let q = c - y * y;
        1.0 / (q.sqrt() - y / (2.0 * q) * (2.0 * th).sin())
    };
    let h = (std::f64::consts::PI - theta) / STEPS as f64;
    let (mut th, mut y) = (theta, y);
    for _ in 0..STEPS {
        let k1 = h * slope(th, y);
        let k2 = h * slope(th + h / 2.0, y + k1 / 2.0);
        let k3 = h * slope(th + h / 2.0, y + k2 / 2.0);
        let k4 = h * slope(th + h, y + k3);
        y += (k1 + 2.0 * (k2 + k3) + k4) / 6.0;
        th += h;
    }
    y
}

/// The zero of `u` near `guess`, and `u'` there, by Newton's method on the Taylor series of
/// `u` about `y0` (where `u = u0`, `u' = du0`), `u'' = (y² − c) u`.
fn taylor_newton_zero(y0: f64, u0: f64, du0: f64, guess: f64, c: f64) -> (f64, f64) {
    const MAX_TERMS: usize = 400;
    let b = y0 * y0 - c;
    // Taylor coefficients a_m of u(y0 + h), m < MAX_TERMS (computed once, reused by Newton).
    let mut a = [0.0; MAX_TERMS];
    a[0] = u0;
    a[1] = du0;
    // Value and derivative of the series at h, summed until the terms stop mattering.
    let eval = |a: &mut [f64; MAX_TERMS], filled: &mut usize, h: f64| {
        let (mut p, mut dp) = (0.0, 0.0);
        let (mut hm, mut hm1) = (1.0, 0.0); // h^m, m h^{m−1}
        let mut small = 0;
        for m in 0..MAX_TERMS {
            if m >= *filled {
                let k = m - 2;
                let mut v = b * a[k];
                if k >= 1 {
                    v += 2.0 * y0 * a[k - 1];
                }
                if k >= 2 {
                    v += a[k - 2];
                }
                a[m] = v / ((k + 1) * (k + 2)) as f64;
                *filled = m + 1;
            }
            let term = a[m] * hm;
            p += term;
            dp += a[m] * hm1;
            hm1 = (m + 1) as f64 * hm;
            hm *= h;
            // Stop after three consecutive terms below rounding of the partial sums.
            if m > 4 && term.abs() <= 1e-18 * p.abs().max(dp.abs() * h.abs()) {
                small += 1;
                if small == 3 {
                    break;
                }
            } else {
                small = 0;
            }
        }
        (p, dp)
    };
    let mut filled = 2;
    let mut h = guess - y0;
    for _ in 0..20 {
        let (p, dp) = eval(&mut a, &mut filled, h);
        let step = p / dp;
        h -= step;
        if step.abs() <= 4.0 * f64::EPSILON * (y0 + h).abs() {
            break;
        }
    }
    let (_, dp) = eval(&mut a, &mut filled, h);
    (y0 + h, dp)
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
    fn gauss_hermite_glr_matches_golub_welsch() {
        // Two independent constructions of the same rule: Golub–Welsch eigenvalues polished by
        // Newton on the three-term recurrence (weights from h_{n−1}), and the Glaser–Liu–Rokhlin
        // sweep (weights from the Hermite function's slope, normalized to sum 1).
        // Measured (release build): n = 4096 differs by 8.1e-15 (nodes) and 1.4e-12 (weights).
        for n in [2usize, 3, 8, 33, 100, 101, 256, 1001, 2000] {
            let (gw, glr) = (gauss_hermite_golub_welsch(n), gauss_hermite_glr(n));
            let (mut node_err, mut weight_err) = (0.0f64, 0.0f64);
            for i in 0..n {
                let scale = gw.nodes[i].abs().max(1.0);
                node_err = node_err.max((gw.nodes[i] - glr.nodes[i]).abs() / scale);
                // Log weights: absolute error = relative error of the weight.
                if gw.log_weights[i] > -700.0 {
                    weight_err = weight_err.max((gw.log_weights[i] - glr.log_weights[i]).abs());
                }
            }
            assert!(
                node_err < 1e-14,
                "n = {n}: nodes differ by {node_err:e} (relative)"
            );
            assert!(
                weight_err < 2e-12,
                "n = {n}: weights differ by {weight_err:e} (relative)"
            );
        }
    }

    #[test]
    fn gauss_hermite_hundred_thousand_nodes() {
        // Above the Golub–Welsch range: O(n), exact moments of N(0, 1) (E[G^{2k}] = (2k−1)!!),
        // symmetric, ascending, and the largest zero of He_n at its asymptotic place
        // √2 (√(2n+1) − 1.85575 (2n+1)^{−1/6}) (Szegő, Orthogonal Polynomials, §6.32).
        let n = 100_000;
        let (x, w) = gauss_hermite(n);
        assert_eq!((x.len(), w.len()), (n, n));
        assert!(x.windows(2).all(|p| p[0] < p[1]));
        assert!((0..n).all(|i| x[i] == -x[n - 1 - i] && w[i] == w[n - 1 - i]));
        for (p, exact) in [(0, 1.0), (2, 1.0), (4, 3.0), (6, 15.0)] {
            let m: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(p)).sum();
            assert!((m - exact).abs() < 1e-12 * exact, "E[G^{p}] = {m}");
        }
        let c = 2.0 * n as f64 + 1.0;
        let top = std::f64::consts::SQRT_2 * (c.sqrt() - 1.85575 * c.powf(-1.0 / 6.0));
        assert!((x[n - 1] - top).abs() < 1e-3, "{} vs {top}", x[n - 1]);
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

    /// Compares the Bogaert rule of size `n` with Newton's method over every `stride`-th node
    /// of the upper half plus the 30 outermost ones. Returns the max absolute node difference,
    /// the max relative weight difference, and the max of that difference over its tolerance.
    ///
    /// Newton's weights, not Bogaert's, carry the larger error (checked against 34-digit
    /// values in `gauss_legendre_matches_high_precision_values`): `2/((1 − z²) P_n'(z)²)`
    /// is evaluated at the rounded node `z`, and `d ln w/dz = 2z/(1 − z²)` at a zero of
    /// `P_n` turns an error of an ulp or so in `z` into a relative weight error of order
    /// `ε/(1 − z²)` (`5e−6` at the outermost node for `n = 10⁶`, `8e−12` at `n = 1000`);
    /// the recurrence adds up to about `1e−16 n` elsewhere (measured against 34-digit values:
    /// `1.1e−13` at `n = 1000`, `6.5e−13` at `n = 20 000`, while Bogaert's weights are
    /// within `6.5e−16` at all nodes).
    /// The tolerance is the sum of both with safety factors (measured ratios ≤ 0.46).
    fn bogaert_vs_newton(n: usize, stride: usize) -> (f64, f64, f64) {
        let (x, w) = gauss_legendre_bogaert(n);
        let half = n.div_ceil(2);
        let (mut dx, mut dw, mut ratio) = (0.0f64, 0.0f64, 0.0f64);
        for i in (0..half).step_by(stride).chain(0..30.min(half)) {
            let (z, wi) = legendre_newton_pair(n, i);
            let z = if 2 * i + 1 == n { 0.0 } else { z };
            dx = dx.max((x[n - 1 - i] - z).abs());
            let rel = ((w[n - 1 - i] - wi) / wi).abs();
            let tol = 2e-16 * n as f64 + 8.0 * f64::EPSILON / (1.0 - z * z);
            dw = dw.max(rel);
            ratio = ratio.max(rel / tol);
        }
        (dx, dw, ratio)
    }

    /// Σ_i a_i with Neumaier's compensated summation (so that the tests see the rule's
    /// error, not the summation's).
    fn compensated_sum(a: impl IntoIterator<Item = f64>) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for v in a {
            let t = s + v;
            c += if s.abs() >= v.abs() {
                (s - t) + v
            } else {
                (v - t) + s
            };
            s = t;
        }
        s + c
    }

    #[test]
    fn gauss_legendre_bogaert_matches_newton_across_crossover() {
        // Both sides of the crossover n = 100 (the Bogaert formulas are evaluated below it
        // too), every node up to n = 4097, every 13th (and the outermost 30) at n = 20 000.
        // Measured: nodes agree to 1.1e−16 (one ulp of the larger ones).
        for (n, stride) in [
            (99, 1),
            (100, 1),
            (101, 1),
            (150, 1),
            (1000, 1),
            (4097, 1),
            (20_000, 13),
        ] {
            let (dx, dw, ratio) = bogaert_vs_newton(n, stride);
            assert!(dx < 1e-15, "n = {n}: nodes differ by {dx:e}");
            assert!(
                ratio < 1.0,
                "n = {n}: weights differ by {dw:e} ({ratio} × tolerance)"
            );
        }
    }

    #[test]
    fn gauss_legendre_matches_high_precision_values() {
        // (n, i, x, w): the i-th largest node and its weight, by Newton's method on the
        // Bonnet recurrence in 34-digit arithmetic (mpmath), rounded to f64. These pin the
        // outermost weights, where double-precision Newton loses accuracy, and interior ones
        // where it is off by ~1e−13.
        let table = [
            (101, 0, 0.9997193395297703, 0.0007202317064018636),
            (1000, 0, 0.9999971112980756, 7.413338416432072e-06),
            (1000, 275, 0.6479843058602289, 0.0023916093088367004),
            (20_000, 0, 0.999999992771379, 1.8550975819595724e-08),
            (20_000, 5625, 0.6343192900384835, 0.00012143070003471541),
            (1_000_000, 0, 0.9999999999971084, 7.420753950655386e-12),
            (1_000_000, 20, 0.9999999978751364, 2.0479408803475793e-10),
            (
                1_000_000,
                499_999,
                1.5707955413962836e-06,
                3.1415910827899833e-06,
            ),
        ];
        let mut cached: (usize, Vec<f64>, Vec<f64>) = (0, Vec::new(), Vec::new());
        for (n, i, xr, wr) in table {
            if cached.0 != n {
                let (x, w) = gauss_legendre(n);
                cached = (n, x, w);
            }
            let (x, w) = (cached.1[n - 1 - i], cached.2[n - 1 - i]);
            assert!((x - xr).abs() < 3e-16, "n = {n}, i = {i}: node {x} vs {xr}");
            assert!(
                ((w - wr) / wr).abs() < 1e-15,
                "n = {n}, i = {i}: weight {w:e} vs {wr:e}"
            );
        }
    }

    #[test]
    fn gauss_legendre_large_rules_are_sane() {
        for n in [99usize, 100, 101, 150, 1000, 4097, 20_000] {
            let (x, w) = gauss_legendre(n);
            assert_eq!((x.len(), w.len()), (n, n));
            assert!(x.windows(2).all(|p| p[0] < p[1]), "n = {n}: not ascending");
            assert!((0..n).all(|i| x[i] == -x[n - 1 - i] && w[i] == w[n - 1 - i]));
            assert!(x[0] > -1.0 && w.iter().all(|w| *w > 0.0));
            let sum = compensated_sum(w.iter().copied());
            assert!(
                (sum - 2.0).abs() < 1e-13,
                "n = {n}: Σw − 2 = {:e}",
                sum - 2.0
            );
        }
    }

    #[test]
    fn gauss_legendre_exact_on_high_even_monomials() {
        // ∫_{−1}^{1} x^{2j} dx = 2/(2j + 1), exact for 2j ≤ 2n − 1 = 1999.
        let (x, w) = gauss_legendre(1000);
        for j in (0..=400).step_by(7).chain([500, 750, 999]) {
            let q = compensated_sum(x.iter().zip(&w).map(|(x, w)| w * x.powi(2 * j)));
            let exact = 2.0 / (2.0 * j as f64 + 1.0);
            assert!(
                ((q - exact) / exact).abs() < 1e-13,
                "j = {j}: {q} vs {exact}"
            );
        }
    }

    #[test]
    fn gauss_legendre_million_nodes() {
        // ∫_{−1}^{1} cos x dx = 2 sin 1, ∫ x² dx = 2/3.
        let n = 1_000_000;
        let (x, w) = gauss_legendre(n);
        assert!(x.windows(2).all(|p| p[0] < p[1]));
        assert!((0..n).all(|i| x[i] == -x[n - 1 - i] && w[i] == w[n - 1 - i]));
        assert!(x[0] > -1.0 && w.iter().all(|w| *w > 0.0));
        let sum = compensated_sum(w.iter().copied());
        let cos = compensated_sum(x.iter().zip(&w).map(|(x, w)| w * x.cos()));
        let m2 = compensated_sum(x.iter().zip(&w).map(|(x, w)| w * x * x));
        assert!((sum - 2.0).abs() < 1e-13, "Σw − 2 = {:e}", sum - 2.0);
        assert!((cos - 2.0 * 1f64.sin()).abs() < 1e-13, "{cos}");
        assert!((m2 - 2.0 / 3.0).abs() < 1e-13, "{m2}");
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
