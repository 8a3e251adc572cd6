//! Power-law fit `y ≈ C x^γ` by least squares in log–log.

use serde::{Deserialize, Serialize};

use super::t_quantile;
use crate::error::{AnalysisError, Result, check_positive, check_same_len};

/// Result of [`fit_power_law`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerLawFit {
    /// Exponent `γ`.
    pub gamma: f64,
    /// Standard error of `γ`.
    pub gamma_se: f64,
    /// Confidence interval `γ ± t·se` at [`level`](Self::level).
    pub gamma_ci: [f64; 2],
    /// Intercept `ln C`.
    pub log_c: f64,
    /// Standard error of `ln C`.
    pub log_c_se: f64,
    /// Confidence interval of `ln C`.
    pub log_c_ci: [f64; 2],
    /// Prefactor `C = exp(ln C)`.
    pub c: f64,
    /// Confidence interval of `C` (the exponential of that of `ln C`).
    pub c_ci: [f64; 2],
    /// Coefficient of determination of the log–log regression.
    pub r_squared: f64,
    /// Residual standard deviation in `ln y`, `sqrt(RSS / (n − 2))`.
    pub residual_sd: f64,
    /// Number of points.
    pub n_points: usize,
    /// Degrees of freedom `n − 2`.
    pub dof: usize,
    /// Confidence level of the intervals.
    pub level: f64,
}

impl PowerLawFit {
    /// The fitted law at `x`: `C x^γ`.
    pub fn predict(&self, x: f64) -> f64 {
        (self.log_c + self.gamma * x.ln()).exp()
    }
}

/// Fits `y ≈ C x^γ` by ordinary least squares on `ln y = ln C + γ ln x`.
///
/// With `u = ln x`, `v = ln y`, `S_uu = Σ (u − ū)²`: `γ = Σ (u − ū)(v − v̄) / S_uu`,
/// `ln C = v̄ − γ ū`, `s² = RSS / (n − 2)`, `se(γ) = s / √S_uu`,
/// `se(ln C) = s √(1/n + ū² / S_uu)`, and the intervals are `estimate ± t_{(1+level)/2, n−2}·se`
/// (Student t, statrs), exact for independent Gaussian errors in `ln y`. Needs `n ≥ 2`
/// positive, finite points and at least two distinct `x`; with two points the line is exact
/// and every interval (and `residual_sd`) is NaN. Use it for phase times
/// `t_l ~ ε^{γ_l}` and for `max|a| ~ ε^{−ω}`, `max|s| ~ ε^{β}` alike.
///
/// ```
/// # use timescales_analysis::fit_power_law;
/// let eps = [1e-3, 1e-4, 1e-5, 1e-6];
/// let t: Vec<f64> = eps.iter().map(|e: &f64| 2.0 * e.powf(0.25)).collect();
/// let fit = fit_power_law(&eps, &t, 0.95)?;
/// assert!((fit.gamma - 0.25).abs() < 1e-12 && (fit.c - 2.0).abs() < 1e-11);
/// # Ok::<(), timescales_analysis::AnalysisError>(())
/// ```
pub fn fit_power_law(x: &[f64], y: &[f64], level: f64) -> Result<PowerLawFit> {
    check_same_len("x", x.len(), "y", y.len())?;
    check_positive("x", x)?;
    check_positive("y", y)?;
    let n = x.len();
    if n < 2 {
        return Err(AnalysisError::TooFewPoints {
            what: "power-law fit",
            needed: 2,
            got: n,
        });
    }
    let u: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let v: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let nf = n as f64;
    let ub = u.iter().sum::<f64>() / nf;
    let vb = v.iter().sum::<f64>() / nf;
    let (mut suu, mut suv, mut svv) = (0.0, 0.0, 0.0);
    for (ui, vi) in u.iter().zip(&v) {
        let (du, dv) = (ui - ub, vi - vb);
        suu += du * du;
        suv += du * dv;
        svv += dv * dv;
    }
    if suu <= f64::MIN_POSITIVE || suu <= 1e-28 * u.iter().map(|a| a * a).sum::<f64>() {
        return Err(AnalysisError::Degenerate {
            what: "power-law fit",
            reason: "all x are equal",
        });
    }
    let gamma = suv / suu;
    let log_c = vb - gamma * ub;
    let rss: f64 = u
        .iter()
        .zip(&v)
        .map(|(ui, vi)| {
            let e = vi - (log_c + gamma * ui);
            e * e
        })
        .sum();
    let dof = n - 2;
    let s = if dof > 0 {
        (rss / dof as f64).sqrt()
    } else {
        f64::NAN
    };
    let gamma_se = s / suu.sqrt();
    let log_c_se = s * (1.0 / nf + ub * ub / suu).sqrt();
    let tq = if dof > 0 {
        t_quantile(level, dof)?
    } else {
        super::check_level(level)?;
        f64::NAN
    };
    let r_squared = if svv > 0.0 { 1.0 - rss / svv } else { 1.0 };
    let log_c_ci = [log_c - tq * log_c_se, log_c + tq * log_c_se];
    Ok(PowerLawFit {
        gamma,
        gamma_se,
        gamma_ci: [gamma - tq * gamma_se, gamma + tq * gamma_se],
        log_c,
        log_c_se,
        log_c_ci,
        c: log_c.exp(),
        c_ci: [log_c_ci[0].exp(), log_c_ci[1].exp()],
        r_squared,
        residual_sd: s,
        n_points: n,
        dof,
        level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn grid(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 10f64.powf(-3.0 - 6.0 * i as f64 / (n - 1) as f64))
            .collect()
    }

    #[test]
    fn exact_power_laws_recovered() {
        for &(c, g) in &[(1.0, 0.5), (0.37, 0.25), (5.0, -0.25), (2.0, 1.0 / 6.0)] {
            let x = grid(13);
            let y: Vec<f64> = x.iter().map(|e| c * e.powf(g)).collect();
            let f = fit_power_law(&x, &y, 0.95).unwrap();
            assert!((f.gamma - g).abs() < 1e-12, "{} vs {g}", f.gamma);
            assert!((f.c / c - 1.0).abs() < 1e-11);
            assert!(f.gamma_se < 1e-12 && (f.r_squared - 1.0).abs() < 1e-12);
            assert_eq!((f.n_points, f.dof), (13, 11));
            assert!((f.predict(1e-5) / (c * 1e-5f64.powf(g)) - 1.0).abs() < 1e-11);
        }
    }

    #[test]
    fn textbook_interval() {
        // Hand-checkable: u = ln x = 0, 1, 2; v = ln y = 0, 1, 3.
        // γ = 1.5, ln C = −1/6, RSS = 1/6, s² = 1/6, se(γ) = s/√2, t_{0.975,1} = 12.7062.
        let x = [1.0, 1f64.exp(), 2f64.exp()];
        let y = [1.0, 1f64.exp(), 3f64.exp()];
        let f = fit_power_law(&x, &y, 0.95).unwrap();
        assert!((f.gamma - 1.5).abs() < 1e-12);
        assert!((f.log_c + 1.0 / 6.0).abs() < 1e-12);
        let se = (1.0f64 / 6.0).sqrt() / 2f64.sqrt();
        assert!((f.gamma_se - se).abs() < 1e-12);
        let t = 12.706204736174705;
        assert!((f.gamma_ci[1] - (1.5 + t * se)).abs() < 1e-9);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            fit_power_law(&[1.0], &[1.0], 0.95),
            Err(AnalysisError::TooFewPoints { .. })
        ));
        // Two points: the exact line, no interval.
        let two = fit_power_law(&[1.0, 10.0], &[2.0, 20.0], 0.95).unwrap();
        assert!((two.gamma - 1.0).abs() < 1e-12 && two.gamma_ci[0].is_nan());
        assert!(matches!(
            fit_power_law(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0], 0.95),
            Err(AnalysisError::Degenerate { .. })
        ));
        assert!(matches!(
            fit_power_law(&[1.0, 2.0, 3.0], &[1.0, 0.0, 3.0], 0.95),
            Err(AnalysisError::NonPositive { index: 1, .. })
        ));
        assert!(matches!(
            fit_power_law(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], 1.0),
            Err(AnalysisError::InvalidParameter { name: "level", .. })
        ));
    }

    /// Seeded Monte Carlo: the 95 % interval covers the true exponent in about 95 % of
    /// replicates. 2000 replicates: binomial sd ≈ 0.005, so [0.93, 0.97] is a 4-sd band.
    #[test]
    fn coverage_monte_carlo() {
        let mut rng = ChaCha8Rng::seed_from_u64(20240611);
        let noise: Normal<f64> = Normal::new(0.0, 0.05).unwrap();
        let x = grid(8);
        let (g, c) = (0.25, 0.8);
        let reps = 2000;
        let mut covered = 0;
        let mut covered_c = 0;
        for _ in 0..reps {
            let y: Vec<f64> = x
                .iter()
                .map(|e| c * e.powf(g) * noise.sample(&mut rng).exp())
                .collect();
            let f = fit_power_law(&x, &y, 0.95).unwrap();
            covered += usize::from(f.gamma_ci[0] <= g && g <= f.gamma_ci[1]);
            covered_c += usize::from(f.c_ci[0] <= c && c <= f.c_ci[1]);
        }
        let cov = covered as f64 / reps as f64;
        let cov_c = covered_c as f64 / reps as f64;
        assert!((0.93..=0.97).contains(&cov), "coverage {cov}");
        assert!((0.93..=0.97).contains(&cov_c), "coverage of C {cov_c}");
    }
}
