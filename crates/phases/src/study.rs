//! A study of the phase asymptotics over a grid of ε: at every ε the predictions against
//! direct integration ([`Comparison`]) and the measured onsets with the particle count doubled
//! until they settle; across ε, the fitted exponents of measured and predicted onsets, of the
//! sizes before each phase, and of the prediction errors.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use timescales_analysis::{
    ConvergeOptions, Convergence, PowerLawFit, converge_n, fit_log_corrected, fit_power_law,
};
use timescales_meanfield::FlowProblem;

use crate::{Comparison, EarlyPhases, OnsetRow, PhaseError, compare, direct_run};

/// Options of a [`Study`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StudyOptions {
    /// Log-spaced output times of each direct integration (plus a dense window around the
    /// phase-1 onset).
    pub samples: usize,
    /// Largest particle count of the convergence check: the count is doubled from the
    /// problem's until every measured onset moves by less than `n_tol` (the problem's own count,
    /// or less, skips the check).
    pub n_max: usize,
    /// Relative tolerance of the convergence in `N`.
    pub n_tol: f64,
}

impl Default for StudyOptions {
    fn default() -> Self {
        Self {
            samples: 600,
            n_max: 256,
            n_tol: 1e-2,
        }
    }
}

/// One ε of a [`Study`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyPoint {
    /// The predictions against direct integration at the problem's particle count.
    pub comparison: Comparison,
    /// The particle-count doubling.
    pub convergence: Convergence,
    /// Measured onsets per phase at each `N` tried.
    pub by_n: Vec<(usize, Vec<Option<f64>>)>,
}

impl StudyPoint {
    /// ε.
    pub fn epsilon(&self) -> f64 {
        self.comparison.composite.epsilon
    }

    /// Measured onset of phase `l` at the last `N` tried.
    pub fn onset_at_last_n(&self, l: usize) -> Option<f64> {
        self.by_n
            .last()
            .and_then(|(_, v)| v.get(l - 1).copied().flatten())
    }

    /// `|t_l predicted − t_l measured| / t_l measured` (composite prediction; NaN when either
    /// is missing).
    pub fn onset_error(&self, l: usize) -> f64 {
        let o = &self.comparison.onsets[l - 1];
        match (o.onset_predicted, o.onset_measured) {
            (Some(p), Some(m)) => ((p - m) / m).abs(),
            _ => f64::NAN,
        }
    }
}

/// The fitted exponents of phase `l`'s onset across ε (phase 1: the log-corrected law
/// `t = ε^γ (c₁ ln(1/ε) + c₀)`; later phases `t = C ε^γ`), as `(γ, 95% CI)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnsetExponents {
    /// The phase.
    pub phase: usize,
    /// Measured at the problem's particle count.
    pub measured: Option<(f64, [f64; 2])>,
    /// Measured at the last particle count of the doubling.
    pub measured_last_n: Option<(f64, [f64; 2])>,
    /// The composite prediction.
    pub predicted: Option<(f64, [f64; 2])>,
    /// The inner-problem prediction.
    pub inner: Option<(f64, [f64; 2])>,
    /// The conjecture `1/(2l)` of model.md §5.
    pub conjecture: f64,
    /// How many ε never dwelt at the plateau before the phase.
    pub previous_plateau_unseen: usize,
}

/// How fast one measure of the composite risk's error falls across ε
/// ([`Study::composite_order`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompositeOrder {
    /// `max_abs_error` (the vertical error `max |R_full − R_composite|`) or
    /// `max_log_time_error` (the time shift `max |Δ ln t|` across the drops).
    pub measure: String,
    /// The power law `error ≈ C ε^γ` over the points (least squares in log–log, 95% CI;
    /// `None` with fewer than three points or a non-positive error).
    pub fit: Option<PowerLawFit>,
    /// The largest ε and its error.
    pub first: (f64, f64),
    /// The smallest ε and its error.
    pub last: (f64, f64),
    /// `error(largest ε) / error(smallest ε)`.
    pub ratio: f64,
    /// The order declared by the composite ([`crate::COMPOSITE_ORDER`]).
    pub declared: f64,
}

/// The study over a grid of ε (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// One point per ε, in the order of the grid.
    pub points: Vec<StudyPoint>,
}

/// `(γ, CI)` of `t(ε)` (log-corrected for phase 1).
fn exponent(eps_t: &[(f64, f64)], log_corrected: bool) -> Option<(f64, [f64; 2])> {
    let (x, y): (Vec<f64>, Vec<f64>) = eps_t.iter().copied().unzip();
    if log_corrected {
        fit_log_corrected(&x, &y, 0.95)
            .map(|f| (f.gamma, f.gamma_ci))
            .ok()
    } else {
        fit_power_law(&x, &y, 0.95)
            .map(|f| (f.gamma, f.gamma_ci))
            .ok()
    }
}

impl Study {
    /// The study of `problem` at every ε of `eps` (in parallel), calling `progress` after
    /// each ε.
    ///
    /// # Errors
    /// The first [`PhaseError`] of a point: no phase 1, an invalid problem, a failed
    /// integration.
    pub fn run(
        problem: &FlowProblem,
        eps: &[f64],
        opts: &StudyOptions,
        progress: &(dyn Fn() + Sync),
    ) -> Result<Self, PhaseError> {
        let points = eps
            .par_iter()
            .map(|&e| {
                let p = FlowProblem {
                    epsilon: e,
                    ..problem.clone()
                };
                let point = Self::point(&p, opts);
                progress();
                point
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { points })
    }

    /// One ε: the comparison at the problem's particle count and the convergence in `N`.
    ///
    /// # Errors
    /// As [`compare`]; the integrations at the doubled counts fail the same ways.
    pub fn point(problem: &FlowProblem, opts: &StudyOptions) -> Result<StudyPoint, PhaseError> {
        let comparison = compare(problem, opts.samples)?;
        // A discrete law placed by quadrature has one particle per atom: no other N exists.
        let n_max = if problem.particle_count_is_fixed() {
            problem.particles
        } else {
            opts.n_max.max(problem.particles)
        };
        let converge = ConvergeOptions {
            n_start: problem.particles,
            n_max,
            rel_tol: opts.n_tol,
        };
        let mut by_n = Vec::new();
        let convergence = converge_n(&converge, |n| -> Result<Vec<f64>, PhaseError> {
            let onsets = if n == problem.particles {
                comparison.onsets.iter().map(|o| o.onset_measured).collect()
            } else {
                let q = FlowProblem {
                    particles: n,
                    ..problem.clone()
                };
                EarlyPhases::new(&q)?;
                direct_run(&q, opts.samples)?.onsets
            };
            let present = onsets.iter().flatten().copied().collect();
            by_n.push((n, onsets));
            Ok(present)
        })?;
        Ok(StudyPoint {
            comparison,
            convergence,
            by_n,
        })
    }

    /// The onset row of phase `l` at one point.
    fn onset(p: &StudyPoint, l: usize) -> &OnsetRow {
        &p.comparison.onsets[l - 1]
    }

    /// The ε of the points.
    pub fn epsilon(&self) -> Vec<f64> {
        self.points.iter().map(StudyPoint::epsilon).collect()
    }

    /// The truncation degree `K` (the number of phases that could exist).
    pub fn degree(&self) -> usize {
        self.points.first().map_or(0, |p| p.comparison.onsets.len())
    }

    /// `value(point)` across ε, where it exists.
    fn across(&self, value: &dyn Fn(&StudyPoint) -> Option<f64>) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| value(p).map(|v| (p.epsilon(), v)))
            .collect()
    }

    /// The power law of a positive quantity across ε (least squares in log–log, 95% CI).
    pub fn power_law(&self, value: &dyn Fn(&StudyPoint) -> f64) -> Option<PowerLawFit> {
        let (x, y): (Vec<f64>, Vec<f64>) =
            self.points.iter().map(|p| (p.epsilon(), value(p))).unzip();
        fit_power_law(&x, &y, 0.95).ok()
    }

    /// The fitted orders of the composite risk's error across ε: one [`CompositeOrder`] for
    /// the vertical error (`max_abs_error`) and one for the time shift
    /// (`max_log_time_error`). Empty without points.
    pub fn composite_order(&self) -> Vec<CompositeOrder> {
        let mut by_eps: Vec<&StudyPoint> = self.points.iter().collect();
        by_eps.sort_by(|a, b| b.epsilon().total_cmp(&a.epsilon()));
        let (Some(first), Some(last)) = (by_eps.first(), by_eps.last()) else {
            return vec![];
        };
        type Measure = fn(&StudyPoint) -> f64;
        let measures: [(&str, Measure); 2] = [
            ("max_abs_error", |p| p.comparison.composite.max_abs_error),
            ("max_log_time_error", |p| {
                p.comparison.composite.max_log_time_error
            }),
        ];
        measures
            .into_iter()
            .map(|(name, f)| CompositeOrder {
                measure: name.to_string(),
                fit: (self.points.len() >= 3)
                    .then(|| self.power_law(&|p| f(p)))
                    .flatten(),
                first: (first.epsilon(), f(first)),
                last: (last.epsilon(), f(last)),
                ratio: f(first) / f(last),
                declared: crate::COMPOSITE_ORDER,
            })
            .collect()
    }

    /// The fitted exponent of the composite prediction's relative error of onset `l` over the
    /// ε where it exists.
    pub fn onset_error_exponent(&self, l: usize) -> Option<(f64, [f64; 2])> {
        let rel = self.across(&|p| {
            let e = p.onset_error(l);
            e.is_finite().then_some(e)
        });
        exponent(&rel, false)
    }

    /// The onset exponents of every phase `l = 1..K`.
    pub fn onset_exponents(&self) -> Vec<OnsetExponents> {
        (1..=self.degree())
            .map(|l| {
                let lc = l == 1;
                OnsetExponents {
                    phase: l,
                    measured: exponent(&self.across(&|p| Self::onset(p, l).onset_measured), lc),
                    measured_last_n: exponent(&self.across(&|p| p.onset_at_last_n(l)), lc),
                    predicted: exponent(&self.across(&|p| Self::onset(p, l).onset_predicted), lc),
                    inner: exponent(&self.across(&|p| Self::onset(p, l).onset_inner), lc),
                    conjecture: 1.0 / (2.0 * l as f64),
                    previous_plateau_unseen: self
                        .points
                        .iter()
                        .filter(|p| !Self::onset(p, l).previous_plateau_seen)
                        .count(),
                }
            })
            .collect()
    }

    /// The exponents of `max|s| ~ ε^β` and `max|a| ~ ε^{−ω}` on the plateau before phase
    /// `l ≥ 2`, as `(β fit, ω fit)` (`ω`'s interval negated accordingly).
    #[allow(clippy::type_complexity)]
    pub fn size_exponents(&self, l: usize) -> (Option<(f64, [f64; 2])>, Option<(f64, [f64; 2])>) {
        let s_fit = exponent(&self.across(&|p| Self::onset(p, l).max_abs_s_before), false);
        let a_fit = exponent(&self.across(&|p| Self::onset(p, l).max_abs_a_before), false)
            .map(|(g, ci)| (-g, [-ci[1], -ci[0]]));
        (s_fit, a_fit)
    }

    /// Every note of every comparison, once.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .points
            .iter()
            .flat_map(|p| p.comparison.notes.iter().cloned())
            .collect();
        notes.sort();
        notes.dedup();
        notes
    }
}
