//! Tests of the quadrature rules: closed forms and published tables, exactness on
//! polynomials, the fast `O(n)` rules against the `O(n²)` ones across their crossovers, and
//! very large rules.

use super::legendre::legendre_newton_pair;
use super::*;
use crate::basis::hermite_pair_scaled;
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
