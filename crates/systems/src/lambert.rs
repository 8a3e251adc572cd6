//! The principal branch `W₀` of the Lambert W function, `W(z) e^{W(z)} = z`, `W ≥ −1`.

/// `W₀(z)` for `z ≥ −1/e`: the solution `w ≥ −1` of `w eʷ = z`, by Halley's iteration
///
/// ```text
///   w ← w − (w eʷ − z) / (eʷ (w + 1) − (w + 2)(w eʷ − z) / (2w + 2))
/// ```
///
/// from a branch-point series (`z` near `−1/e`), `ln(1 + z)` (moderate `z`) or the
/// asymptotic `L₁ − L₂ + L₂/L₁` (`L₁ = ln z`, `L₂ = ln L₁`, large `z`), as in Corless et al.,
/// "On the Lambert W function", Adv. Comput. Math. 5 (1996) 329–359, §4. Converges to a
/// few ulps. Returns `None` for `z < −1/e` or `z` NaN; `W₀(+∞) = +∞`.
///
/// ```
/// let w = timescales_systems::lambert_w0(1.0).unwrap();
/// assert!((w - 0.567_143_290_409_783_8).abs() < 1e-15); // the omega constant
/// ```
pub fn lambert_w0(z: f64) -> Option<f64> {
    const INV_E: f64 = 0.367_879_441_171_442_3;
    if z.is_nan() || z < -INV_E {
        // Allow the rounding of −1/e itself.
        if z.is_nan() || z < -INV_E * (1.0 + 4.0 * f64::EPSILON) {
            return None;
        }
        return Some(-1.0);
    }
    if z == f64::INFINITY {
        return Some(f64::INFINITY);
    }
    if z == 0.0 {
        return Some(0.0);
    }
    let mut w = if z < -0.25 {
        // Branch-point series in p = sqrt(2(e z + 1)).
        let p = (2.0 * (std::f64::consts::E * z + 1.0)).max(0.0).sqrt();
        -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p * p * p
    } else if z < 3.0 {
        z.ln_1p()
    } else {
        let l1 = z.ln();
        let l2 = l1.ln();
        l1 - l2 + l2 / l1
    };
    if w <= -1.0 {
        return Some(-1.0);
    }
    for _ in 0..50 {
        let ew = w.exp();
        let f = w * ew - z;
        let wp1 = w + 1.0;
        if wp1 == 0.0 {
            break;
        }
        let denom = ew * wp1 - (w + 2.0) * f / (2.0 * wp1);
        if denom == 0.0 || !denom.is_finite() {
            break;
        }
        let dw = f / denom;
        w -= dw;
        if dw.abs() <= 4.0 * f64::EPSILON * w.abs().max(f64::MIN_POSITIVE) {
            break;
        }
    }
    Some(w.max(-1.0))
}

/// The lower branch `W₋₁(z)` for `−1/e ≤ z < 0`: the solution `w ≤ −1` of `w eʷ = z`, by the
/// same Halley iteration from the branch-point series `−1 − p − p²/3 − 11p³/72`
/// (`p = √(2(ez + 1))`) or the asymptotic `L₁ − L₂ + L₂/L₁` (`L₁ = ln(−z)`, `L₂ = ln(−L₁)`),
/// Corless et al. (1996) §4. Returns `None` outside `[−1/e, 0)`.
///
/// ```
/// let w = timescales_systems::lambert_wm1(-0.1).unwrap();
/// assert!((w * w.exp() + 0.1).abs() < 1e-16);
/// assert!(w < -1.0);
/// ```
pub fn lambert_wm1(z: f64) -> Option<f64> {
    const INV_E: f64 = 0.367_879_441_171_442_3;
    if !(-INV_E * (1.0 + 4.0 * f64::EPSILON)..0.0).contains(&z) {
        return None;
    }
    if z <= -INV_E {
        return Some(-1.0);
    }
    let mut w = if z < -0.25 {
        let p = (2.0 * (std::f64::consts::E * z + 1.0)).max(0.0).sqrt();
        -1.0 - p - p * p / 3.0 - 11.0 / 72.0 * p * p * p
    } else {
        let l1 = (-z).ln();
        let l2 = (-l1).ln();
        l1 - l2 + l2 / l1
    };
    for _ in 0..50 {
        let ew = w.exp();
        let f = w * ew - z;
        let wp1 = w + 1.0;
        if wp1 == 0.0 {
            break;
        }
        let denom = ew * wp1 - (w + 2.0) * f / (2.0 * wp1);
        if denom == 0.0 || !denom.is_finite() {
            break;
        }
        let dw = f / denom;
        w -= dw;
        if dw.abs() <= 4.0 * f64::EPSILON * w.abs() {
            break;
        }
    }
    Some(w.min(-1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_values() {
        // Omega constant W(1) (OEIS A030178), W(e) = 1, W(−1/e) = −1, W(−ln2/2) = −ln 2,
        // W(2 ln 2) = ln 2, W(10) = 1.7455280027406994 (Corless et al. 1996, Table 1 style check).
        let cases = [
            (1.0, 0.567_143_290_409_783_8),
            (std::f64::consts::E, 1.0),
            (-(-1.0f64).exp(), -1.0),
            (-std::f64::consts::LN_2 / 2.0, -std::f64::consts::LN_2),
            (2.0 * std::f64::consts::LN_2, std::f64::consts::LN_2),
            (10.0, 1.745_528_002_740_699_4),
        ];
        for (z, w) in cases {
            let got = lambert_w0(z).unwrap();
            // Near the branch point W is ill-conditioned (dW/dz ~ 1/sqrt(z + 1/e)).
            let tol = if z < -0.3 {
                1e-7
            } else {
                4e-16 * w.abs().max(1.0)
            };
            assert!((got - w).abs() <= tol, "W({z}) = {got}, expected {w}");
        }
        assert_eq!(lambert_w0(-0.5), None);
        assert_eq!(lambert_w0(f64::NAN), None);
        assert_eq!(lambert_w0(0.0), Some(0.0));
    }

    #[test]
    fn lower_branch_values() {
        // W₋₁(−ln2/2) = −2 ln 2 (since −2ln2 · e^{−2ln2} = −ln2/2), W₋₁(−1/e) = −1.
        let w = lambert_wm1(-std::f64::consts::LN_2 / 2.0).unwrap();
        assert!((w + 2.0 * std::f64::consts::LN_2).abs() < 1e-15, "{w}");
        assert_eq!(lambert_wm1(-(-1.0f64).exp()), Some(-1.0));
        assert_eq!(lambert_wm1(0.1), None);
        assert_eq!(lambert_wm1(-0.4), None);
    }

    proptest! {
        #[test]
        fn lower_branch_inverts(w in -700.0f64..-1.001) {
            let z = w * w.exp();
            let got = lambert_wm1(z).unwrap();
            let tol = 1e-14 * w.abs() / (-1.0 - w).min(1.0);
            prop_assert!((got - w).abs() <= tol, "w = {}, got {}", w, got);
        }
    }

    proptest! {
        #[test]
        fn inverts_w_exp_w(w in -0.999f64..50.0) {
            let z = w * w.exp();
            let got = lambert_w0(z).unwrap();
            // Condition number of W at z: |z W'(z) / W| = 1/|1 + W|.
            let tol = 1e-14 * (1.0 + w.abs()) / (1.0 + w).min(1.0);
            prop_assert!((got - w).abs() <= tol, "w = {}, got {}", w, got);
        }
    }
}
