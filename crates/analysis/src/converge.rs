//! Convergence of phase times in the particle count `N` (`--converge-n`).

use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result};

/// Options of [`converge_n`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConvergeOptions {
    /// First particle count (≥ 1). Default 8.
    pub n_start: usize,
    /// Largest particle count evaluated (the cap). Default 1024.
    pub n_max: usize,
    /// Relative tolerance on every phase time. Default 1e-2.
    pub rel_tol: f64,
}

impl Default for ConvergeOptions {
    fn default() -> Self {
        Self {
            n_start: 8,
            n_max: 1024,
            rel_tol: 1e-2,
        }
    }
}

/// One evaluation of the doubling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergeStep {
    /// Particle count.
    pub n: usize,
    /// Phase times at this `N`.
    pub phase_times: Vec<f64>,
    /// `max_l |t_l(N) − t_l(N/2)| / |t_l(N/2)|` against the previous step; `None` for the
    /// first step, `+∞` when the number of phases changed.
    pub max_rel_change: Option<f64>,
}

/// Outcome of [`converge_n`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// The `N` used: the last one evaluated (when converged, the first `N` whose phase times
    /// are within tolerance of those at `N/2`).
    pub n: usize,
    /// Whether the tolerance was met before the cap.
    pub converged: bool,
    /// Every evaluation, in order.
    pub history: Vec<ConvergeStep>,
}

impl Convergence {
    /// Phase times at the `N` used.
    pub fn phase_times(&self) -> &[f64] {
        self.history.last().map_or(&[], |s| &s.phase_times)
    }

    /// `Ok(self)` if converged, otherwise [`AnalysisError::NotConverged`].
    pub fn require_converged(self, n_max: usize) -> Result<Self> {
        if self.converged {
            Ok(self)
        } else {
            Err(AnalysisError::NotConverged {
                n_max,
                last_n: self.n,
                last_change: self
                    .history
                    .last()
                    .and_then(|s| s.max_rel_change)
                    .unwrap_or(f64::INFINITY),
            })
        }
    }
}

/// Doubles the particle count from `n_start` until the phase times settle.
///
/// Evaluates `phase_times(N)` for `N = n_start, 2 n_start, 4 n_start, … ≤ n_max` and stops at
/// the first `N` with the same number of phases as at `N/2` and
/// `|t_l(N) − t_l(N/2)| ≤ rel_tol · |t_l(N/2)|` for every phase `l` (the same number of
/// phases, zero included, counts as settled). When the cap is reached first the result has
/// `converged = false` (see [`Convergence::require_converged`] for a typed error). Errors of
/// the closure are returned unchanged; invalid options are reported as an
/// [`AnalysisError::InvalidParameter`] converted into `E`.
///
/// ```
/// # use timescales_analysis::{converge_n, ConvergeOptions};
/// // t(N) = 1 + 1/N: the relative change at N is about 1/N.
/// let opts = ConvergeOptions { n_start: 4, n_max: 4096, rel_tol: 1e-2 };
/// let c = converge_n(&opts, |n| Ok::<_, timescales_analysis::AnalysisError>(vec![1.0 + 1.0 / n as f64]))?;
/// assert!(c.converged && c.n == 128);
/// # Ok::<(), timescales_analysis::AnalysisError>(())
/// ```
pub fn converge_n<E, F>(opts: &ConvergeOptions, mut phase_times: F) -> Result<Convergence, E>
where
    F: FnMut(usize) -> Result<Vec<f64>, E>,
    E: From<AnalysisError>,
{
    if opts.n_start == 0 {
        return Err(AnalysisError::InvalidParameter {
            name: "n_start",
            value: 0.0,
            reason: "must be >= 1",
        }
        .into());
    }
    if opts.n_max < opts.n_start {
        return Err(AnalysisError::InvalidParameter {
            name: "n_max",
            value: opts.n_max as f64,
            reason: "must be >= n_start",
        }
        .into());
    }
    if !(opts.rel_tol > 0.0 && opts.rel_tol.is_finite()) {
        return Err(AnalysisError::InvalidParameter {
            name: "rel_tol",
            value: opts.rel_tol,
            reason: "must be finite and > 0",
        }
        .into());
    }
    let mut history: Vec<ConvergeStep> = Vec::new();
    let mut n = opts.n_start;
    loop {
        let times = phase_times(n)?;
        let change = history
            .last()
            .map(|prev| rel_change(&prev.phase_times, &times));
        history.push(ConvergeStep {
            n,
            phase_times: times,
            max_rel_change: change,
        });
        if change.is_some_and(|c| c <= opts.rel_tol) {
            return Ok(Convergence {
                n,
                converged: true,
                history,
            });
        }
        match n.checked_mul(2) {
            Some(next) if next <= opts.n_max => n = next,
            _ => {
                return Ok(Convergence {
                    n,
                    converged: false,
                    history,
                });
            }
        }
    }
}

/// Maximal relative change between two lists of phase times (`+∞` if their lengths differ).
fn rel_change(old: &[f64], new: &[f64]) -> f64 {
    if old.len() != new.len() {
        return f64::INFINITY;
    }
    old.iter().zip(new).fold(0.0_f64, |m, (&a, &b)| {
        let d = (b - a).abs() / a.abs().max(f64::MIN_POSITIVE);
        if d.is_nan() { f64::INFINITY } else { m.max(d) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic N-dependence: t_l(N) = t_l(∞) (1 + c_l / N), and a phase that only appears
    /// from N = 32 on (as phases separate when the edge of the law is resolved).
    fn synthetic(n: usize) -> Result<Vec<f64>, AnalysisError> {
        let nf = n as f64;
        let mut v = vec![1e-3 * (1.0 + 2.0 / nf), 3e-2 * (1.0 - 5.0 / nf)];
        if n >= 32 {
            v.push(0.2 * (1.0 + 1.0 / nf));
        }
        Ok(v)
    }

    #[test]
    fn doubles_until_settled() {
        let opts = ConvergeOptions {
            n_start: 4,
            n_max: 4096,
            rel_tol: 1e-2,
        };
        let c = converge_n(&opts, synthetic).unwrap();
        assert!(c.converged);
        // Relative change of the 2nd phase from N/2 to N: 5/N / (1 − 10/N) ≈ 5/N ≤ 1e-2 needs N ≥ 512.
        assert_eq!(c.n, 512);
        let ns: Vec<usize> = c.history.iter().map(|s| s.n).collect();
        assert_eq!(ns, vec![4, 8, 16, 32, 64, 128, 256, 512]);
        // Phase count change 16 → 32 is flagged as an infinite change.
        assert_eq!(c.history[3].max_rel_change, Some(f64::INFINITY));
        assert_eq!(c.phase_times().len(), 3);
    }

    #[test]
    fn cap_reports_not_converged() {
        let opts = ConvergeOptions {
            n_start: 4,
            n_max: 100,
            rel_tol: 1e-2,
        };
        let c = converge_n(&opts, synthetic).unwrap();
        assert!(!c.converged);
        assert_eq!(c.n, 64);
        assert!(matches!(
            c.require_converged(opts.n_max),
            Err(AnalysisError::NotConverged {
                last_n: 64,
                n_max: 100,
                ..
            })
        ));
    }

    #[test]
    fn closure_errors_and_bad_options_propagate() {
        let opts = ConvergeOptions::default();
        let r = converge_n(&opts, |n| {
            if n > 8 {
                Err(AnalysisError::Degenerate {
                    what: "test",
                    reason: "boom",
                })
            } else {
                Ok(vec![1.0])
            }
        });
        assert!(matches!(r, Err(AnalysisError::Degenerate { .. })));
        let bad = ConvergeOptions { n_start: 0, ..opts };
        assert!(converge_n(&bad, |_| Ok::<_, AnalysisError>(vec![])).is_err());
    }
}
