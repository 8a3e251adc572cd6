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
    /// Per phase, the estimated relative error `|t_l(∞) − t_l(N)| / |t_l(N)|` of this `N`
    /// ([`richardson`]); empty until three counts with the same phases have been evaluated.
    #[serde(default)]
    pub error_estimate: Vec<f64>,
    /// Per phase, the extrapolated `t_l(∞)` ([`richardson`]; NaN where the changes do not
    /// contract); empty when `error_estimate` is.
    #[serde(default)]
    pub extrapolated: Vec<f64>,
}

impl ConvergeStep {
    /// The largest estimated relative error over the phases (`+∞` without an estimate).
    pub fn max_error_estimate(&self) -> f64 {
        if self.error_estimate.is_empty() {
            return f64::INFINITY;
        }
        self.error_estimate.iter().fold(
            0.0_f64,
            |m, &e| {
                if e.is_nan() { f64::INFINITY } else { m.max(e) }
            },
        )
    }
}

/// Outcome of [`converge_n`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// The `N` used: the last one evaluated (when converged, the first `N` whose estimated
    /// error is within tolerance for every phase).
    pub n: usize,
    /// Whether the tolerance was met before the cap.
    pub converged: bool,
    /// The tolerance on the estimated relative error ([`ConvergeOptions::rel_tol`]).
    #[serde(default)]
    pub rel_tol: f64,
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
                    .map_or(f64::INFINITY, ConvergeStep::max_error_estimate),
            })
        }
    }
}

/// The error estimate of `t(N)` from `t(N/4)`, `t(N/2)`, `t(N)` by Richardson extrapolation
/// with the observed contraction: with `d₁ = t(N/2) − t(N/4)`, `d₂ = t(N) − t(N/2)` and
/// `q = d₂/d₁`, a geometric tail (`t(N) = t(∞) + C q^{log₂ N}`, which covers every power law
/// `C N^{−p}`, `q = 2^{−p}`) sums to
///
/// ```text
///   t(∞) = t(N) + d₂ q/(1 − q),     error = max(|d₂|, |d₂| q/(1 − q))        (0 < q < 1),
/// ```
///
/// returned as `(error / |t(N)|, t(∞))`. The error is never taken below the last change
/// (so a slow contraction, `q > ½` as at an edge of the law resolved like `N^{−1/2}`, is
/// charged its whole tail, and a fast one its last step). Alternating changes (`q < 0`)
/// bracket the limit: the error is `|d₂|` and `t(N)` is kept. A stall after a move
/// (`d₂ = 0 ≠ d₁`) is no evidence: the error is `|d₁|`. Changes that do not contract
/// (`q ≥ 1`, or `d₁ = 0 ≠ d₂`) give an infinite error and a NaN limit; no change at all gives 0.
///
/// ```
/// # use timescales_analysis::richardson;
/// // t(N) = 1 + 1/√N at N = 16, 64, 256 (doublings of 4, as q = ½ here): the limit 1 and
/// // the error 1/16 recovered exactly.
/// let t = |n: f64| 1.0 + 1.0 / n.sqrt();
/// let (err, limit) = richardson(t(16.0), t(64.0), t(256.0));
/// assert!((limit - 1.0).abs() < 1e-15);
/// assert!((err - (t(256.0) - 1.0) / t(256.0)).abs() < 1e-15);
/// ```
pub fn richardson(t_quarter: f64, t_half: f64, t: f64) -> (f64, f64) {
    let (d1, d2) = (t_half - t_quarter, t - t_half);
    if !(d1.is_finite() && d2.is_finite() && t.is_finite()) {
        return (f64::INFINITY, f64::NAN);
    }
    let scale = t.abs().max(f64::MIN_POSITIVE);
    match (d1 == 0.0, d2 == 0.0) {
        (true, true) => return (0.0, t),
        (false, true) => return (d1.abs() / scale, t),
        (true, false) => return (f64::INFINITY, f64::NAN),
        (false, false) => {}
    }
    let q = d2 / d1;
    if q < 0.0 {
        (d2.abs() / scale, t)
    } else if q < 1.0 {
        let tail = d2 * q / (1.0 - q);
        (tail.abs().max(d2.abs()) / scale, t + tail)
    } else {
        (f64::INFINITY, f64::NAN)
    }
}

/// Doubles the particle count from `n_start` until the phase times settle, judged by an
/// error estimate rather than one relative change.
///
/// Evaluates `phase_times(N)` for `N = n_start, 2 n_start, 4 n_start, … ≤ n_max`. From the
/// third count on, when the last three counts found the same number of phases, each phase's
/// error at `N` is estimated by [`richardson`] from its times at `N/4`, `N/2`, `N`; the
/// doubling stops at the first `N` where every estimate is `≤ rel_tol` (no phases at three
/// counts in a row counts as settled). When the cap is reached first the result has
/// `converged = false` (see [`Convergence::require_converged`] for a typed error). Errors of
/// the closure are returned unchanged; invalid options are reported as an
/// [`AnalysisError::InvalidParameter`] converted into `E`.
///
/// ```
/// # use timescales_analysis::{converge_n, ConvergeOptions};
/// // t(N) = 1 + 1/N: the error of t(N) is 1/N relative, estimated exactly from three counts.
/// let opts = ConvergeOptions { n_start: 4, n_max: 4096, rel_tol: 1e-2 };
/// let c = converge_n(&opts, |n| Ok::<_, timescales_analysis::AnalysisError>(vec![1.0 + 1.0 / n as f64]))?;
/// assert!(c.converged && c.n == 128);
/// assert!((c.history.last().unwrap().extrapolated[0] - 1.0).abs() < 1e-12);
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
        let mut same_phases = false;
        let (mut error_estimate, mut extrapolated) = (Vec::new(), Vec::new());
        if let [.., q, h] = history.as_slice()
            && q.phase_times.len() == times.len()
            && h.phase_times.len() == times.len()
        {
            same_phases = true;
            (error_estimate, extrapolated) = (0..times.len())
                .map(|l| richardson(q.phase_times[l], h.phase_times[l], times[l]))
                .unzip();
        }
        let step = ConvergeStep {
            n,
            phase_times: times,
            max_rel_change: change,
            error_estimate,
            extrapolated,
        };
        let converged = same_phases
            && (step.phase_times.is_empty() || step.max_error_estimate() <= opts.rel_tol);
        history.push(step);
        if converged {
            return Ok(Convergence {
                n,
                converged: true,
                rel_tol: opts.rel_tol,
                history,
            });
        }
        match n.checked_mul(2) {
            Some(next) if next <= opts.n_max => n = next,
            _ => {
                return Ok(Convergence {
                    n,
                    converged: false,
                    rel_tol: opts.rel_tol,
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
    fn error_estimate_is_the_true_error_of_a_slow_power_law() {
        // t(N) = 2 − 3/√N (an edge resolved like N^{-1/2}): q = 2^{-1/2}, the tail is larger
        // than the last change, and the estimate is the true error (closed form); the old
        // criterion (one relative change ≤ tol) would have stopped at a 2.4× larger error.
        let opts = ConvergeOptions {
            n_start: 8,
            n_max: 1 << 20,
            rel_tol: 1e-2,
        };
        let t = |n: usize| 2.0 - 3.0 / (n as f64).sqrt();
        let c = converge_n(&opts, |n| Ok::<_, AnalysisError>(vec![t(n)])).unwrap();
        assert!(c.converged);
        for s in &c.history[2..] {
            let truth = (2.0 - t(s.n)) / t(s.n);
            assert!((s.error_estimate[0] - truth).abs() < 1e-9 * truth, "{s:?}");
            assert!((s.extrapolated[0] - 2.0).abs() < 1e-12, "{s:?}");
        }
        // The first N with (3/√N) / t(N) ≤ 1e-2 is above 22 050: 32 768.
        assert_eq!(c.n, 32768);
        assert!(c.history[..2].iter().all(|s| s.error_estimate.is_empty()));
        // One relative change ≤ 1e-2 already at N = 8192.
        let h = c.history.iter().find(|s| s.n == 8192).unwrap();
        assert!(h.max_rel_change.unwrap() < 1e-2);
    }

    #[test]
    fn one_small_change_is_not_convergence() {
        // A phase time that stalls once (t(8) = t(16)) and then moves on: one relative change
        // (0 at N = 16) would stop there; the estimate charges the stall the move before it.
        let times = |n: usize| -> f64 {
            match n {
                4 => 1.0,
                8 | 16 => 1.5,
                32 => 1.8,
                64 => 1.9,
                _ => 1.95,
            }
        };
        let opts = ConvergeOptions {
            n_start: 4,
            n_max: 128,
            rel_tol: 1e-2,
        };
        let c = converge_n(&opts, |n| Ok::<_, AnalysisError>(vec![times(n)])).unwrap();
        assert!(!c.converged, "{c:?}");
        assert_eq!(c.history[2].max_rel_change, Some(0.0));
        assert!((c.history[2].error_estimate[0] - 0.5 / 1.5).abs() < 1e-15);
        // 32: d₁ = 0 ≠ d₂, no contraction seen; 64 and 128 contract by 1/3 and 1/2.
        assert_eq!(c.history[3].error_estimate, vec![f64::INFINITY]);
        assert!(c.history[4].error_estimate[0] > 1e-2);
    }

    #[test]
    fn richardson_cases() {
        // Alternating changes bracket the limit: the error is bounded by the last change.
        let (e, l) = richardson(1.0, 1.2, 1.1);
        assert!((e - 0.1 / 1.1).abs() < 1e-15 && l == 1.1);
        // A fast contraction (q = 1/10) is charged its last step, not its smaller tail.
        let (e, l) = richardson(1.0, 2.0, 2.1);
        assert!((e - 0.1 / 2.1).abs() < 1e-15 && (l - (2.1 + 0.1 / 9.0)).abs() < 1e-15);
        // Growing changes: no estimate.
        let (e, l) = richardson(1.0, 1.1, 1.3);
        assert!(e.is_infinite() && l.is_nan());
        // A stall after a move is charged the move; no change at all is settled.
        assert_eq!(richardson(1.0, 2.0, 2.0), (0.5, 2.0));
        assert_eq!(richardson(2.0, 2.0, 2.0), (0.0, 2.0));
        assert!(richardson(f64::NAN, 2.0, 2.5).0.is_infinite());
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
