//! Gauss–Hermite rules with more than 4096 nodes, in `O(n)` operations: the
//! Glaser–Liu–Rokhlin sweep along the zeros of the Hermite function.

use super::LogRule;

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
pub(super) fn gauss_hermite_glr(n: usize) -> LogRule {
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
