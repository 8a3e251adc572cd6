//! Gauss–Legendre rules in `O(n)` operations from Bogaert's iteration-free asymptotic
//! expansions (the rules with `n > 100` nodes), with the zeros of the Bessel function `J_0`
//! and the values of `J_1` there that they need.

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
pub(super) fn gauss_legendre_bogaert(n: usize) -> (Vec<f64>, Vec<f64>) {
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
