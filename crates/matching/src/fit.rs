use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A fitted order `p` of `err ≈ C ε^p`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrderFit {
    /// Least-squares slope of `log err` against `log ε`.
    pub order: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    pub ci_high: f64,
    /// `log C`.
    pub intercept: f64,
    /// Points used.
    pub points: usize,
}

/// Fits `log e_i = c + p log ε_i` by least squares:
///
/// ```text
///   p = Σ(lε − l̄ε)(le − l̄e) / Σ(lε − l̄ε)²,
///   s² = Σ residual² / (k − 2),      p ± t_{0.975, k−2} · s / √Σ(lε − l̄ε)²,
/// ```
///
/// with the Student-t quantile from statrs. Returns `None` with fewer than two points,
/// a non-positive or non-finite error, or all ε equal; the interval is NaN with two
/// points.
///
/// ```
/// let eps = [1e-1, 1e-2, 1e-3];
/// let err: Vec<f64> = eps.iter().map(|e| 3.0 * e * e).collect();
/// let fit = timescales_matching::fit_order(&eps, &err).unwrap();
/// assert!((fit.order - 2.0).abs() < 1e-12);
/// ```
pub fn fit_order(eps: &[f64], err: &[f64]) -> Option<OrderFit> {
    let k = eps.len();
    if k < 2 || err.len() != k {
        return None;
    }
    if eps.iter().chain(err).any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    let lx: Vec<f64> = eps.iter().map(|e| e.ln()).collect();
    let ly: Vec<f64> = err.iter().map(|e| e.ln()).collect();
    let mx = lx.iter().sum::<f64>() / k as f64;
    let my = ly.iter().sum::<f64>() / k as f64;
    let sxx: f64 = lx.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = lx.iter().zip(&ly).map(|(x, y)| (x - mx) * (y - my)).sum();
    let p = sxy / sxx;
    let c = my - p * mx;
    let (lo, hi) = if k > 2 {
        let rss: f64 = lx
            .iter()
            .zip(&ly)
            .map(|(x, y)| (y - c - p * x).powi(2))
            .sum();
        let se = (rss / (k - 2) as f64 / sxx).sqrt();
        let t = StudentsT::new(0.0, 1.0, (k - 2) as f64)
            .map(|d| d.inverse_cdf(0.975))
            .unwrap_or(f64::NAN);
        (p - t * se, p + t * se)
    } else {
        (f64::NAN, f64::NAN)
    };
    Some(OrderFit {
        order: p,
        ci_low: lo,
        ci_high: hi,
        intercept: c,
        points: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_matches_a_hand_computation() {
        // Points (ln ε, ln e) = (0, 0), (1, 1), (2, 3): slope 1.5, intercept −1/6,
        // residuals (1/6, −1/3, 1/6), RSS = 1/6, s² = 1/6, Sxx = 2, se = √(1/12);
        // t_{0.975, 1} = 12.7062047361747 (Student-t table).
        let eps = [1.0, 1f64.exp(), 2f64.exp()];
        let err = [1.0, 1f64.exp(), 3f64.exp()];
        let f = fit_order(&eps, &err).unwrap();
        assert!((f.order - 1.5).abs() < 1e-12);
        let half = 12.706_204_736_174_7 * (1.0f64 / 12.0).sqrt();
        assert!((f.ci_high - 1.5 - half).abs() < 1e-9, "{f:?}");
        assert!((1.5 - f.ci_low - half).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn degenerate_inputs() {
        assert!(fit_order(&[0.1], &[1.0]).is_none());
        assert!(fit_order(&[0.1, 0.01], &[1.0, 0.0]).is_none());
        assert!(fit_order(&[0.1, 0.1], &[1.0, 2.0]).is_none());
        let f = fit_order(&[0.1, 0.01], &[1e-2, 1e-4]).unwrap();
        assert!((f.order - 2.0).abs() < 1e-12 && f.ci_low.is_nan());
    }
}
