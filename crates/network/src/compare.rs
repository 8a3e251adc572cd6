//! Comparing risk curves: log-time grids, sup distance, phase times, power-law fits.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::NetworkError;

/// `n ≥ 2` points log-spaced from `t_min > 0` to `t_max`.
///
/// # Errors
/// [`NetworkError::InvalidParameter`] unless `0 < t_min < t_max` and `n ≥ 2`.
pub fn log_grid(t_min: f64, t_max: f64, n: usize) -> Result<Vec<f64>, NetworkError> {
    if !(t_min > 0.0 && t_max > t_min && t_max.is_finite()) || n < 2 {
        return Err(NetworkError::InvalidParameter {
            what: "log grid",
            value: format!("[{t_min}, {t_max}] with {n} points"),
            reason: "needs 0 < t_min < t_max and at least 2 points",
        });
    }
    let (l0, l1) = (t_min.ln(), t_max.ln());
    Ok((0..n)
        .map(|i| {
            if i == n - 1 {
                t_max
            } else {
                (l0 + (l1 - l0) * i as f64 / (n - 1) as f64).exp()
            }
        })
        .collect())
}

/// `y(tq)` by linear interpolation in `log t` between the samples `(t, y)` (`t`
/// increasing, positive); `None` outside `[t_0, t_last]`.
pub fn interp_log_time(t: &[f64], y: &[f64], tq: f64) -> Option<f64> {
    let n = t.len().min(y.len());
    if n == 0 || !(tq >= t[0] && tq <= t[n - 1]) {
        return None;
    }
    let k = t[..n].partition_point(|&s| s < tq);
    if k == 0 {
        return Some(y[0]);
    }
    let (t0, t1) = (t[k - 1], t[k]);
    if t1 == tq || t0 <= 0.0 {
        return Some(if t1 == tq { y[k] } else { y[k - 1] });
    }
    let f = (tq / t0).ln() / (t1 / t0).ln();
    Some(y[k - 1] + f * (y[k] - y[k - 1]))
}

/// `sup_{t ∈ grid} |a(t) − b(t)|` over the grid points inside both curves' ranges, with
/// the time where it is attained.
///
/// # Errors
/// [`NetworkError::TooFewPoints`] when no grid point lies in both ranges.
pub fn sup_distance(
    ta: &[f64],
    ra: &[f64],
    tb: &[f64],
    rb: &[f64],
    grid: &[f64],
) -> Result<(f64, f64), NetworkError> {
    let mut best: Option<(f64, f64)> = None;
    for &t in grid {
        if let (Some(x), Some(y)) = (interp_log_time(ta, ra, t), interp_log_time(tb, rb, t)) {
            let dist = (x - y).abs();
            if best.is_none_or(|(b, _)| dist > b) {
                best = Some((dist, t));
            }
        }
    }
    best.ok_or(NetworkError::TooFewPoints {
        what: "sup distance on the common grid",
        needed: 1,
        got: 0,
    })
}

/// The first time the risk curve `(t, r)` falls below the midpoint `(hi + lo)/2` of two
/// plateau levels (interpolated in `log t`), e.g. the phase-1 time with
/// `hi = R_0`, `lo = R_1` (`R_l = ½ Σ_{k>l} φ_k²`, model.md §5). `None` if it never does.
pub fn midpoint_crossing(t: &[f64], r: &[f64], hi: f64, lo: f64) -> Option<f64> {
    let level = 0.5 * (hi + lo);
    let n = t.len().min(r.len());
    if n == 0 {
        return None;
    }
    if r[0] <= level {
        return Some(t[0]);
    }
    for k in 1..n {
        if r[k] <= level {
            let (t0, t1) = (t[k - 1], t[k]);
            let f = (r[k - 1] - level) / (r[k - 1] - r[k]);
            return Some(if t0 > 0.0 {
                (t0.ln() + f * (t1 / t0).ln()).exp()
            } else {
                t0 + f * (t1 - t0)
            });
        }
    }
    None
}

/// Predicted shift of the phase-1 time of a width-∞, dimension-`d` network relative to the
/// limit, from the linearized phase 1 (model.md §5):
///
/// ```text
///   δt₁ ≈ −(√ε / (2 |σ₁φ₁|)) · ln(1 + 1/(d ε Var a(0))).
/// ```
///
/// In the limit the unstable mode is seeded by `√ε (a − E a)`; in the network the initial
/// overlaps `s_i(0) ~ N(0, 1/d)` seed it too, so `M_1 ∝ sinh cosh(λt) · (√ε Var a + E s(0)²/√ε)`
/// with `λ = |σ₁φ₁|/√ε` grows from an amplitude larger by `1 + 1/(d ε Var a)`, and reaches
/// order one earlier by `ln(that)/(2λ)`. The network is in the limit's regime only when
/// `d ε Var a ≫ 1`; there `δt₁ ≈ −√ε/(2|σ₁φ₁| d ε Var a) = O(1/d)`. Returns `None` unless
/// `ε, d, Var a, |σ₁φ₁|` are positive.
pub fn phase1_shift_prediction(eps: f64, d: usize, var_a: f64, sigma1_phi1: f64) -> Option<f64> {
    let c = sigma1_phi1.abs();
    if !(eps > 0.0 && var_a > 0.0 && c > 0.0) || d == 0 {
        return None;
    }
    Some(-(eps.sqrt() / (2.0 * c)) * (1.0 / (d as f64 * eps * var_a)).ln_1p())
}

/// A least-squares fit `y ≈ C x^p` in log–log coordinates with a Student-t confidence
/// interval for the exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerLawFit {
    /// Fitted exponent `p`.
    pub exponent: f64,
    /// Prefactor `C`.
    pub prefactor: f64,
    /// Lower end of the confidence interval of `p`.
    pub ci_low: f64,
    /// Upper end of the confidence interval of `p`.
    pub ci_high: f64,
    /// Confidence level of the interval.
    pub confidence: f64,
    /// Coefficient of determination in log–log coordinates.
    pub r_squared: f64,
    /// Number of points.
    pub n: usize,
}

/// Fits `log y = log C + p log x` by ordinary least squares; the interval is
/// `p ± t_{n−2, (1+confidence)/2} · se(p)`.
///
/// # Errors
/// [`NetworkError::TooFewPoints`] for fewer than 3 positive points,
/// [`NetworkError::InvalidParameter`] for a confidence outside `(0, 1)` or constant `x`.
pub fn fit_power_law(x: &[f64], y: &[f64], confidence: f64) -> Result<PowerLawFit, NetworkError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(NetworkError::InvalidParameter {
            what: "confidence",
            value: confidence.to_string(),
            reason: "must lie in (0, 1)",
        });
    }
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0 && a.is_finite() && b.is_finite())
        .map(|(a, b)| (a.ln(), b.ln()))
        .collect();
    let n = pts.len();
    if n < 3 {
        return Err(NetworkError::TooFewPoints {
            what: "power-law fit (positive points)",
            needed: 3,
            got: n,
        });
    }
    let nf = n as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx <= 0.0 {
        return Err(NetworkError::InvalidParameter {
            what: "x",
            value: format!("{x:?}"),
            reason: "needs at least two distinct values",
        });
    }
    let p = sxy / sxx;
    let c = my - p * mx;
    let sse: f64 = pts.iter().map(|q| (q.1 - c - p * q.0).powi(2)).sum();
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    let tq = StudentsT::new(0.0, 1.0, nf - 2.0)
        .map(|d| d.inverse_cdf(0.5 * (1.0 + confidence)))
        .map_err(|_| NetworkError::InvalidParameter {
            what: "degrees of freedom",
            value: (nf - 2.0).to_string(),
            reason: "Student-t needs positive degrees of freedom",
        })?;
    Ok(PowerLawFit {
        exponent: p,
        prefactor: c.exp(),
        ci_low: p - tq * se,
        ci_high: p + tq * se,
        confidence,
        r_squared: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_power_law_is_recovered() {
        let x = [32.0, 64.0, 128.0, 256.0, 512.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(-0.5)).collect();
        let f = fit_power_law(&x, &y, 0.95).unwrap();
        assert!((f.exponent + 0.5).abs() < 1e-12 && (f.prefactor - 3.0).abs() < 1e-10);
        assert!(f.ci_high - f.ci_low < 1e-10);
    }

    #[test]
    fn noisy_fit_interval_covers_truth() {
        // Known data: y = x^-1 times (1.1, 0.9, 1.05, 0.95, 1.0).
        let x = [1.0, 2.0, 4.0, 8.0, 16.0];
        let noise = [1.1, 0.9, 1.05, 0.95, 1.0];
        let y: Vec<f64> = x.iter().zip(noise).map(|(x, n)| n / x).collect();
        let f = fit_power_law(&x, &y, 0.95).unwrap();
        assert!(f.ci_low < -1.0 && f.ci_high > -1.0, "{f:?}");
    }

    #[test]
    fn phase1_shift_signs_and_asymptotics() {
        let eps = 1e-2;
        let s = phase1_shift_prediction(eps, 100, 1.0 / 3.0, 1.0).unwrap();
        assert!((s + 0.05 * 4.0f64.ln()).abs() < 1e-15, "{s}");
        // d ε Var a ≫ 1: −√ε / (2 d ε Var a).
        let big = phase1_shift_prediction(eps, 3_000_000, 1.0 / 3.0, 1.0).unwrap();
        assert!(
            (big / (-0.1 / (2.0 * 10_000.0)) - 1.0).abs() < 1e-4,
            "{big}"
        );
        assert_eq!(phase1_shift_prediction(eps, 10, 0.0, 1.0), None);
    }

    #[test]
    fn crossing_and_sup_distance() {
        let t = log_grid(1e-3, 1.0, 31).unwrap();
        let r: Vec<f64> = t.iter().map(|t| if *t < 0.1 { 1.5 } else { 1.0 }).collect();
        let tc = midpoint_crossing(&t, &r, 1.5, 1.0).unwrap();
        assert!(tc > 0.079 && tc < 0.126, "{tc}");
        let r2: Vec<f64> = r.iter().map(|v| v + 0.25).collect();
        let (dist, _) = sup_distance(&t, &r, &t, &r2, &t).unwrap();
        assert!((dist - 0.25).abs() < 1e-12);
        assert_eq!(interp_log_time(&t, &r, 2.0), None);
    }
}
