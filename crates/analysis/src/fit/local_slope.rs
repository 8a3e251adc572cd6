//! Local slopes `d ln y / d ln ε` between neighbouring ε.

use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_positive, check_same_len};

/// The slope of `ln y` against `ln ε` between two neighbouring ε of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LocalSlope {
    /// The smaller ε.
    pub eps_lo: f64,
    /// The larger ε.
    pub eps_hi: f64,
    /// Their geometric mean, where the slope is attributed.
    pub eps_mid: f64,
    /// `(ln y_hi − ln y_lo) / (ln ε_hi − ln ε_lo)`.
    pub slope: f64,
}

/// Local slopes between neighbouring ε (sorted by ε, ascending).
///
/// Implements `γ_local(√(ε_i ε_{i+1})) = ln(y_{i+1}/y_i) / ln(ε_{i+1}/ε_i)`: for `y = C ε^γ`
/// every local slope is `γ`; for `y = ε^γ (c₁ ln(1/ε) + c₀)` it tends to `γ` like `1/ln(1/ε)`,
/// which is how a sweep shows the approach to the asymptotic regime. Inputs need not be sorted;
/// ε must be distinct and both inputs positive.
pub fn local_slopes(eps: &[f64], y: &[f64]) -> Result<Vec<LocalSlope>> {
    check_same_len("eps", eps.len(), "y", y.len())?;
    check_positive("eps", eps)?;
    check_positive("y", y)?;
    if eps.len() < 2 {
        return Err(AnalysisError::TooFewPoints {
            what: "local slopes",
            needed: 2,
            got: eps.len(),
        });
    }
    let mut order: Vec<usize> = (0..eps.len()).collect();
    order.sort_by(|&a, &b| eps[a].total_cmp(&eps[b]));
    let mut out = Vec::with_capacity(eps.len() - 1);
    for w in order.windows(2) {
        let (a, b) = (w[0], w[1]);
        if eps[a] == eps[b] {
            return Err(AnalysisError::DuplicateEpsilon {
                epsilon: eps[a],
                first: a.min(b),
                second: a.max(b),
            });
        }
        out.push(LocalSlope {
            eps_lo: eps[a],
            eps_hi: eps[b],
            eps_mid: (eps[a] * eps[b]).sqrt(),
            slope: (y[b] / y[a]).ln() / (eps[b] / eps[a]).ln(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_law_slopes_constant_and_log_corrected_approach() {
        let eps = [1e-9, 1e-3, 1e-5, 1e-7];
        let y: Vec<f64> = eps.iter().map(|e: &f64| 3.0 * e.powf(0.25)).collect();
        let s = local_slopes(&eps, &y).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].eps_lo, 1e-9);
        for w in &s {
            assert!((w.slope - 0.25).abs() < 1e-12);
        }
        // y = √ε ln(1/ε): local slope = ½ − 1/ln(1/ε_mid) exactly for a geometric pair? Close:
        // it increases toward ½ as ε decreases.
        let y2: Vec<f64> = eps
            .iter()
            .map(|e: &f64| e.sqrt() * (1.0 / e).ln())
            .collect();
        let s2 = local_slopes(&eps, &y2).unwrap();
        assert!(s2.windows(2).all(|w| w[0].slope > w[1].slope));
        assert!(s2.iter().all(|w| w.slope < 0.5 && w.slope > 0.3));
    }

    #[test]
    fn duplicates_rejected() {
        assert!(matches!(
            local_slopes(&[1e-3, 1e-4, 1e-3], &[1.0, 2.0, 3.0]),
            Err(AnalysisError::DuplicateEpsilon {
                first: 0,
                second: 2,
                ..
            })
        ));
    }
}
