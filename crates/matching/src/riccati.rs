//! The universal solution of the Airy layer: the Riccati function
//!
//! ```text
//!   Y(s) = d/ds ln Ai(−s) = −Ai'(−s)/Ai(−s),      Y' = −s − Y²,
//! ```
//!
//! the solution that leaves the attracting branch `Y = √(−s)` as `s → −∞` and blows up to
//! `−∞` at the first zero of Ai, `s = |a₁|` ([`crate::airy`] reduces every fold passage to
//! it).
//!
//! It is computed without Airy functions, from the equation:
//! - for `s ≤ −12`, the asymptotic series `Y = √z Σ_k a_k z^{−3k/2}`, `z = −s`, whose
//!   coefficients follow from the Riccati equation: `a₀ = 1`,
//!   `2 a_k = a_{k−1} (1 − 3(k − 1))/2 − Σ_{i=1}^{k−1} a_i a_{k−i}` (`a₁ = 1/4`,
//!   `a₂ = −5/32`, as in DLMF §9.7.6 for `Ai'/Ai`); at `z = 12` it is summed to its
//!   smallest term (well below rounding);
//! - on `[−12, |a₁| + 1/16]`, classical RK4 on a grid of step `2⁻⁹` from the series value,
//!   in `Y` while `Y ≥ −1` and in `w = 1/Y` (`w' = 1 + s w²`, regular through the pole)
//!   after, with cubic Hermite interpolation between nodes (slopes from the equation);
//! - within `0.1` of the pole, `1/σ` plus the Taylor series of `Y − 1/σ` ([`pole_series`]).
//!
//! Accuracy (tests below, against `scipy.special.airy` and mpmath): about `1e-11` in `Y`,
//! the pole within `1e-11` of `|a₁|` (DLMF Table 9.9.1), and `Y − 1/σ` within `1e-10`.

use std::sync::OnceLock;

use crate::AIRY_A1;

/// Where the table starts: below it the asymptotic series is used.
const S_FAR: f64 = -12.0;
/// Grid step of the table.
const H: f64 = 1.0 / 512.0;
/// Below this distance from the pole, `Y − 1/(s − s*)` is taken from its Taylor series
/// ([`pole_series`]), where the table's `w` would lose accuracy to the cancellation in
/// `1/w − 1/σ` (its `~5e-13` costs `5e-13/σ²`: `5e-11` here).
const NEAR_POLE: f64 = 0.1;

/// The pole `s* = |a₁|` of `Y`.
pub fn pole() -> f64 {
    AIRY_A1.abs()
}

/// `Y(s) − √(−s)` for `s < 0` on the far side (`s ≤ −12`), from the asymptotic series.
fn series_excess(s: f64) -> f64 {
    let z = -s;
    let w = z.powf(-1.5);
    let mut a = vec![1.0f64];
    let (mut sum, mut wk) = (0.0f64, 1.0f64);
    let mut last = f64::INFINITY;
    for k in 1..60 {
        let conv: f64 = (1..k).map(|i| a[i] * a[k - i]).sum();
        let ak = 0.5 * (a[k - 1] * (1.0 - 3.0 * (k as f64 - 1.0)) / 2.0 - conv);
        a.push(ak);
        wk *= w;
        let term = ak * wk;
        if term.abs() >= last || term.abs() < 1e-18 * (1.0 + sum.abs()) {
            break;
        }
        sum += term;
        last = term.abs();
    }
    z.sqrt() * sum
}

/// Terms kept in [`pole_series`]: `w = −Ai(−s)/Ai'(−s)` is analytic within `1.32` of the
/// pole (the next singularity is the zero of `Ai'` at `s = 1.0188`), so at `|σ| ≤ 0.1` the
/// terms fall like `(0.1/1.32)^k` and 16 of them leave less than `1e-16`.
const POLE_TERMS: usize = 16;

/// `Y(s) − 1/σ`, `σ = s − s*`, near the pole, from the Taylor series of `w = 1/Y`: with
/// `w = Σ_{n≥1} c_n σⁿ`, `w' = 1 + (s* + σ) w²` gives `c₁ = 1`, `c₂ = 0` and
/// `n c_n = s* [w²]_{n−1} + [w²]_{n−2}` (`c₃ = s*/3`, `c₄ = 1/4`, `c₅ = 2s*²/15`); then
/// `σ Y = 1/(w/σ) = Σ_k d_k σ^k` by series division and `Y − 1/σ = Σ_{k≥1} d_k σ^{k−1}`
/// (`−s*σ/3 − σ²/4 + …`).
fn pole_series(sigma: f64) -> f64 {
    let p = pole();
    let mut c = [0.0f64; POLE_TERMS + 2];
    c[1] = 1.0;
    let sq = |c: &[f64], m: usize| -> f64 { (0..=m).map(|i| c[i] * c[m - i]).sum() };
    for n in 3..c.len() {
        c[n] = (p * sq(&c, n - 1) + sq(&c, n - 2)) / n as f64;
    }
    // w/σ = Σ_j c_{j+1} σ^j (c₂ = 0 makes its j = 1 term vanish); d = 1/(w/σ).
    let mut d = [0.0f64; POLE_TERMS + 1];
    d[0] = 1.0;
    for k in 1..d.len() {
        d[k] = -(1..=k).map(|j| c[j + 1] * d[k - j]).sum::<f64>();
    }
    d[1..].iter().rev().fold(0.0, |acc, dk| acc * sigma + dk)
}

#[derive(Debug)]
struct Table {
    /// `(value, is_w)` at `s_i = S_FAR + i H`: `Y` or `w = 1/Y`.
    nodes: Vec<(f64, bool)>,
}

fn slope(s: f64, v: f64, is_w: bool) -> f64 {
    if is_w { 1.0 + s * v * v } else { -s - v * v }
}

fn rk4(s: f64, v: f64, is_w: bool) -> f64 {
    let k1 = slope(s, v, is_w);
    let k2 = slope(s + H / 2.0, v + H / 2.0 * k1, is_w);
    let k3 = slope(s + H / 2.0, v + H / 2.0 * k2, is_w);
    let k4 = slope(s + H, v + H * k3, is_w);
    v + H / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let end = pole() + 1.0 / 16.0;
        let n = ((end - S_FAR) / H).ceil() as usize;
        let mut nodes = Vec::with_capacity(n + 1);
        let mut v = (-S_FAR).sqrt() + series_excess(S_FAR);
        let mut is_w = false;
        nodes.push((v, is_w));
        for i in 0..n {
            let s = S_FAR + i as f64 * H;
            v = rk4(s, v, is_w);
            if !is_w && v < -1.0 {
                v = 1.0 / v;
                is_w = true;
            }
            nodes.push((v, is_w));
        }
        Table { nodes }
    })
}

/// `w = 1/Y` or `Y` (as `want_w`) at `s` inside the table, by cubic Hermite interpolation.
fn interpolate(s: f64, want_w: bool) -> f64 {
    let t = table();
    let x = (s - S_FAR) / H;
    let i = (x.floor() as usize).min(t.nodes.len() - 2);
    let theta = x - i as f64;
    let (s0, s1) = (S_FAR + i as f64 * H, S_FAR + (i + 1) as f64 * H);
    let conv = |(v, is_w): (f64, bool)| if is_w == want_w { v } else { 1.0 / v };
    let (v0, v1) = (conv(t.nodes[i]), conv(t.nodes[i + 1]));
    let (d0, d1) = (slope(s0, v0, want_w) * H, slope(s1, v1, want_w) * H);
    let (t2, t3) = (theta * theta, theta * theta * theta);
    (2.0 * t3 - 3.0 * t2 + 1.0) * v0
        + (t3 - 2.0 * t2 + theta) * d0
        + (-2.0 * t3 + 3.0 * t2) * v1
        + (t3 - t2) * d1
}

/// Whether the table keeps `w` (rather than `Y`) around `s`.
fn w_region(s: f64) -> bool {
    let t = table();
    let i = (((s - S_FAR) / H).floor() as usize).min(t.nodes.len() - 2);
    t.nodes[i].1 || t.nodes[i + 1].1
}

/// `Y(s)` for `s < |a₁|` (`None` at or past the pole, or for a non-finite `s`).
///
/// ```
/// use timescales_matching::airy_riccati;
/// // Y(0) = −Ai'(0)/Ai(0) = 3^{1/3} Γ(2/3)/Γ(1/3) (DLMF 9.2.3–9.2.4).
/// assert!((airy_riccati(0.0).unwrap() - 0.729_011_132_947_227).abs() < 1e-10);
/// assert!(airy_riccati(2.4).is_none());
/// ```
pub fn airy_riccati(s: f64) -> Option<f64> {
    if !(s.is_finite() && s < pole()) {
        return None;
    }
    if s <= S_FAR {
        return Some((-s).sqrt() + series_excess(s));
    }
    let sigma = s - pole();
    if sigma.abs() < NEAR_POLE {
        return Some(1.0 / sigma + pole_series(sigma));
    }
    if w_region(s) {
        Some(1.0 / interpolate(s, true))
    } else {
        Some(interpolate(s, false))
    }
}

/// `Y(s) − √(−s)` for `s < 0`: the Airy layer minus its outer limit, the attracting
/// branch (`O(1/s)` as `s → −∞`, computed without cancellation there).
pub fn airy_riccati_branch_excess(s: f64) -> Option<f64> {
    if !(s.is_finite() && s < 0.0) {
        return None;
    }
    if s <= S_FAR {
        return Some(series_excess(s));
    }
    airy_riccati(s).map(|y| y - (-s).sqrt())
}

/// `Y(s) − 1/(s − s*)` for `s < s* = |a₁|`: the Airy layer minus its pole, the start of the
/// jump (`→ 0` at the pole like `−s* σ/3 − σ²/4`, `σ = s − s*`, from
/// `w = σ + s* σ³/3 + σ⁴/4 + …`).
pub fn airy_riccati_pole_excess(s: f64) -> Option<f64> {
    let y = airy_riccati(s)?;
    let sigma = s - pole();
    if sigma.abs() < NEAR_POLE {
        return Some(pole_series(sigma));
    }
    if w_region(s) {
        let w = interpolate(s, true);
        Some((sigma - w) / (w * sigma))
    } else {
        Some(y - 1.0 / sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `−Ai'(−s)/Ai(−s)` from `scipy.special.airy` (Cephes), printed with `repr`.
    const SCIPY: [(f64, f64); 5] = [
        (0.0, 0.7290111329472271),
        (-1.0, 1.176321967143701),
        (1.0, 0.018971824555563593),
        (-5.0, 2.2835866608453994),
        (2.0, -2.718728344235803),
    ];

    #[test]
    fn matches_airy_functions() {
        for (s, y) in SCIPY {
            let got = airy_riccati(s).unwrap();
            assert!(
                (got - y).abs() < 1e-10 * (1.0 + y.abs()),
                "{s}: {got} vs {y}"
            );
        }
    }

    #[test]
    fn zero_of_ai_prime_and_pole() {
        // Y vanishes where Ai'(−s) = 0: s = −a'₁ = 1.0187929716474715 (DLMF Table 9.9.1).
        let (a, b) = (1.0187929716474715 - 1e-9, 1.0187929716474715 + 1e-9);
        assert!(airy_riccati(a).unwrap() > 0.0 && airy_riccati(b).unwrap() < 0.0);
        // w = 1/Y crosses 0 at |a₁|.
        let w_at = interpolate(pole(), true);
        assert!(w_at.abs() < 1e-10, "{w_at}");
        // Near the pole Y ≈ 1/(s − s*).
        let s = pole() - 1e-6;
        assert!((airy_riccati(s).unwrap() * (s - pole()) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn series_and_table_join() {
        // The equation Y' = −s − Y² holds (central difference) across each switch between
        // computations — the series at s = −12 and the pole series at |σ| = NEAR_POLE — and
        // on the series side; a jump j in value would show as j/(2h) in the difference.
        let y = |s: f64| airy_riccati(s).unwrap();
        let h = 1e-5;
        for s in [S_FAR, -20.0, pole() - NEAR_POLE] {
            let lhs = (y(s + h) - y(s - h)) / (2.0 * h);
            let rhs = -s - y(s) * y(s);
            assert!(
                (lhs - rhs).abs() < 1e-5 * (1.0 + rhs.abs()),
                "{s}: {lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn pole_excess_matches_airy_functions() {
        // Y − 1/(s − s*) from mpmath (40 digits: −airyai(−s, 1)/airyai(−s) − 1/(s + airyaizero(1))).
        for (sigma, want) in [
            (-0.2, 0.14675212721193603),
            (-0.1, 0.07555224282925105),
            (-0.05, 0.0383582472619904),
            (-0.02, 0.015488344324667218),
            (-0.01, 0.007768812205553104),
            (-0.001, 0.0007791192582382612),
        ] {
            // The table (σ ≤ −0.1) has w = 1/Y to ~5e-13, which costs 5e-13/σ² in 1/w − 1/σ.
            let got = airy_riccati_pole_excess(pole() + sigma).unwrap();
            assert!((got - want).abs() < 1e-10, "{sigma}: {got} vs {want}");
        }
    }

    #[test]
    fn excesses_are_continuous_and_small_where_they_should_be() {
        // Branch excess ~ 1/(4 z) far out.
        let e = airy_riccati_branch_excess(-100.0).unwrap();
        assert!((e * 400.0 - 1.0).abs() < 1e-2, "{e}");
        // Pole excess → 0 at the pole (continuity at the switch: `series_and_table_join`).
        let p = pole();
        assert!(airy_riccati_pole_excess(p - 1e-9).unwrap().abs() < 1e-8);
        assert!(airy_riccati_pole_excess(p).is_none());
    }

    #[test]
    fn no_value_outside_the_domain() {
        for s in [f64::NAN, f64::INFINITY, 3.0, pole()] {
            assert!(airy_riccati(s).is_none(), "{s}");
        }
        assert!(airy_riccati(f64::NEG_INFINITY).is_none());
        assert!(airy_riccati_branch_excess(0.0).is_none());
        assert!(airy_riccati(-1e300).unwrap().is_finite());
    }

    proptest::proptest! {
        /// Any `s`, however degenerate (every bit pattern of an f64): a finite value or
        /// `None`, never a panic.
        #[test]
        fn any_input_gives_a_value_or_none(bits in proptest::num::u64::ANY) {
            let s = f64::from_bits(bits);
            for v in [airy_riccati(s), airy_riccati_branch_excess(s), airy_riccati_pole_excess(s)]
                .into_iter()
                .flatten()
            {
                proptest::prop_assert!(v.is_finite(), "{s}: {v}");
            }
        }

        /// The equation `Y' = −s − Y²` (central difference) anywhere from the series region
        /// to near the pole, whichever computations the two sides fall in.
        #[test]
        fn the_riccati_equation_holds(s in -40.0f64..2.3) {
            let y = |s: f64| airy_riccati(s).unwrap();
            let h = 1e-5;
            let lhs = (y(s + h) - y(s - h)) / (2.0 * h);
            let rhs = -s - y(s) * y(s);
            proptest::prop_assert!((lhs - rhs).abs() < 1e-4 * (1.0 + rhs.abs()), "{s}: {lhs} vs {rhs}");
        }
    }
}
