//! Predictions against direct integration for one ε: onset times of every phase, and the
//! composite risk curve of phases 0–1 against the integrated one.

use serde::{Deserialize, Serialize};
use timescales_full::{FlowProblem, OutputTimes, simulate};

use crate::{EarlyPhases, PhaseError, crossing_time};

/// One phase at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnsetRow {
    /// `ε`.
    pub epsilon: f64,
    /// Degree `l` learnt in this phase.
    pub phase: usize,
    /// Predicted onset (phase 1: the logistic asymptotic; later phases: none yet).
    pub onset_predicted: Option<f64>,
    /// Measured onset: the risk crosses `(R_{l−1} + R_l)/2` (log-time interpolation).
    pub onset_measured: Option<f64>,
    /// `R_l`, the plateau after the phase.
    pub plateau_level: f64,
    /// Predicted exponent of `t_l ≍ ε^γ`: ½ (times `log(1/ε)`) for phase 1, the conjecture
    /// `1/(2l)` of model.md §5 for `l ≥ 2`.
    pub predicted_gamma: f64,
    /// `σ_l φ_l ≠ 0` (the phase exists) and its drop was seen before `t_end`.
    pub present: bool,
    /// The risk dwelt at the predicted level `R_{l−1}` before this phase (within 5% of the
    /// drop `R_{l−2} − R_l`, for at least half a unit of `ln t`). `false` means the phase merged
    /// with the previous one, or the plateau between them sits away from its predicted level
    /// (earlier components reshaping it). Always `true` for phase 1.
    pub previous_plateau_seen: bool,
}

/// Composite and direct risk on one time grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompositeComparison {
    /// `ε`.
    pub epsilon: f64,
    /// Output times.
    pub t: Vec<f64>,
    /// Risk from direct integration.
    pub risk_full: Vec<f64>,
    /// Composite risk of phases 0–1 ([`EarlyPhases::composite_risk`]).
    pub risk_composite: Vec<f64>,
    /// End of the window where the composite claims validity: `√(t_1 t_2)` (log-midpoint to the
    /// next onset) or `t_end`.
    pub window_end: f64,
    /// `max |R_full − R_composite|` over `t ≤ window_end`.
    pub max_abs_error: f64,
}

/// The result of [`study`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// Phase-0/1 predictions.
    pub early: EarlyPhases,
    /// One row per degree `l = 1..K`.
    pub onsets: Vec<OnsetRow>,
    /// Composite against direct integration.
    pub composite: CompositeComparison,
}

/// Integrates `problem` (its `times` replaced by a dense log grid of `samples` points plus a
/// dense window around the predicted phase-1 onset) and compares with the predictions.
///
/// # Errors
/// [`PhaseError`] when phase 1 does not exist or the integration fails.
pub fn study(problem: &FlowProblem, samples: usize) -> Result<Study, PhaseError> {
    let early = EarlyPhases::new(problem)?;
    let mut p = problem.clone();
    let (lo, hi) = (problem.epsilon / 10.0, problem.t_end);
    let mut times: Vec<f64> = (0..samples)
        .map(|i| lo * (hi / lo).powf(i as f64 / (samples - 1) as f64))
        .collect();
    let (wlo, whi) = (early.t_onset / 2.0, (early.t_onset * 2.0).min(hi));
    if wlo < whi {
        times.extend((0..=1000).map(|i| wlo * (whi / wlo).powf(i as f64 / 1000.0)));
    }
    times.push(0.0);
    times.sort_by(f64::total_cmp);
    times.dedup();
    *times.last_mut().expect("non-empty") = hi;
    p.times = OutputTimes::Explicit(times);
    let run = simulate(&p).map_err(PhaseError::Flow)?;
    let t = run.trajectory.t.clone();
    let risk = run.trajectory.column("risk").expect("risk column").to_vec();

    let levels = &early.plateau_levels;
    let k = levels.len() - 1;
    let mut onsets = Vec::with_capacity(k);
    for l in 1..=k {
        let (before, after) = (levels[l - 1], levels[l]);
        let exists = problem.sigma[l] * problem.phi[l] != 0.0 && before > after;
        let measured = if exists {
            crossing_time(&t, &risk, 0.5 * (before + after))
        } else {
            None
        };
        let seen = l == 1 || dwells_near(&t, &risk, before, 0.05 * (levels[l - 2] - after));
        onsets.push(OnsetRow {
            epsilon: problem.epsilon,
            phase: l,
            onset_predicted: (l == 1).then_some(early.t_onset),
            onset_measured: measured,
            plateau_level: after,
            predicted_gamma: 1.0 / (2.0 * l as f64),
            present: measured.is_some(),
            previous_plateau_seen: seen,
        });
    }
    let t1 = onsets[0].onset_measured.unwrap_or(early.t_onset);
    let next = onsets.iter().skip(1).find_map(|o| o.onset_measured);
    let window_end = next.map_or(hi, |t2| (t1 * t2).sqrt());
    let risk_composite: Vec<f64> = t.iter().map(|&t| early.composite_risk(t)).collect();
    let max_abs_error = t
        .iter()
        .zip(risk.iter().zip(&risk_composite))
        .filter(|(t, _)| **t <= window_end)
        .map(|(_, (a, b))| (a - b).abs())
        .fold(0.0, f64::max);
    Ok(Study {
        composite: CompositeComparison {
            epsilon: problem.epsilon,
            t,
            risk_full: risk,
            risk_composite,
            window_end,
            max_abs_error,
        },
        early,
        onsets,
    })
}

/// Whether the curve stays within `tol` of `level` over at least half a unit of `ln t`.
fn dwells_near(t: &[f64], y: &[f64], level: f64, tol: f64) -> bool {
    let mut start: Option<f64> = None;
    for (&ti, &yi) in t.iter().zip(y) {
        if ti <= 0.0 {
            continue;
        }
        if (yi - level).abs() <= tol {
            let s = *start.get_or_insert(ti);
            if (ti / s).ln() >= 0.5 {
                return true;
            }
        } else {
            start = None;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_full::{InitialLaw, Method, Placement};

    fn few_atoms(eps: f64) -> FlowProblem {
        FlowProblem {
            sigma: vec![1.0, 1.0, 0.5f64.sqrt(), (1.0 / 6.0f64).sqrt()],
            phi: vec![0.0, 1.0, 1.0, 1.0],
            tail_energy: 0.0,
            law: InitialLaw::Uniform { lo: -1.0, hi: 1.0 },
            particles: 8,
            placement: Placement::Quadrature,
            epsilon: eps,
            t_end: 3.0,
            rtol: 1e-9,
            atol: 1e-11,
            times: OutputTimes::LogGrid { samples: 2 },
            method: Method::Rodas4,
        }
    }

    #[test]
    fn composite_error_decreases_with_eps() {
        // Direct integration is the reference: the phase-0/1 composite must get better.
        let errs: Vec<f64> = [1e-4, 1e-6, 1e-8]
            .iter()
            .map(|&e| study(&few_atoms(e), 400).unwrap().composite.max_abs_error)
            .collect();
        assert!(errs[1] < errs[0] && errs[2] < errs[1], "{errs:?}");
    }

    #[test]
    fn all_phases_are_measured_for_few_atoms_at_small_eps() {
        let s = study(&few_atoms(1e-9), 400).unwrap();
        assert_eq!(s.onsets.len(), 3);
        assert!(s.onsets.iter().all(|o| o.present), "{:?}", s.onsets);
        let times: Vec<f64> = s.onsets.iter().map(|o| o.onset_measured.unwrap()).collect();
        assert!(times[0] < times[1] && times[1] < times[2], "{times:?}");
    }
}
