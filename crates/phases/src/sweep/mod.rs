//! ε sweeps of the two-layer flow, measured: at every ε the direct integration, its plateaus
//! and phases, and, across ε, the timescale exponents beside model.md §5's predictions.
//!
//! [`measure_point`] integrates one problem (doubling `N` until the phase times settle, when
//! asked), detects the plateaus and phases of its risk curve with the predicted levels
//! `R_l` as hints, and keeps it all in a [`SweepPoint`] (the record a sweep stores per ε).
//! [`SweepSummary`] turns a complete set of points into the sweep's tables: every phase with
//! its typed identity ([`PhaseId`]: which degrees a drop learns, merged or not), every
//! plateau, the exponent fits of each phase's times and sizes ([`Quantity`]) with confidence
//! intervals and their predicted values, and local slopes. The generic machinery (grids,
//! resumable stores, shards, the parallel executor) is [`timescales_analysis::sweep`].

mod phase_id;
mod summary;

pub use phase_id::{PhaseId, Quantity};
pub use summary::{
    ConvergenceRow, ExponentRow, FitLaw, PhaseRow, PlateauRow, SlopeRow, SweepSummary,
};

use serde::{Deserialize, Serialize};
use timescales_analysis::{
    ConvergeOptions, Convergence, Detection, PlateauDetector, converge_n, interp_log_time,
};
use timescales_meanfield::{FlowProblem, FlowRun, simulate};
use timescales_ode::{SolverStats, Trajectory};

use crate::PhaseError;

/// Everything kept for one ε: the trajectory, what was detected on it, and how it was run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// ε.
    pub epsilon: f64,
    /// Particle count used.
    pub particles: usize,
    /// Where the scenario came from.
    pub scenario: String,
    /// Predicted plateau levels `R_l = ½ Σ_{k>l} φ_k²`, `l = 0..K`.
    pub plateau_levels: Vec<f64>,
    /// `σ_k`.
    pub sigma: Vec<f64>,
    /// `φ_k`.
    pub phi: Vec<f64>,
    /// The recorded trajectory (`risk, r_k, M_k, max_abs_a, max_abs_s`).
    pub trajectory: Trajectory,
    /// Plateaus and phases of the risk curve.
    pub detection: Detection,
    /// `max|a|` and `max|s|` at the end of each phase (same order as the phases).
    pub phase_end: Vec<[f64; 2]>,
    /// The N-doubling history, when the particle count was converged.
    pub convergence: Option<Convergence>,
    /// Solver statistics.
    pub stats: SolverStats,
    /// Notes of the integrator (absent phases, …).
    pub notes: Vec<String>,
}

/// Integrates `problem` and detects the plateaus and phases of its risk curve.
fn integrate_and_detect(problem: &FlowProblem) -> Result<(FlowRun, Detection), PhaseError> {
    let run = simulate(problem)?;
    let risk = run.trajectory.column("risk").unwrap_or_default();
    let detection = PlateauDetector::default()
        .detect(&run.trajectory.t, risk, Some(&problem.plateau_levels()))
        .map_err(|source| PhaseError::Detection {
            eps: problem.epsilon,
            source,
        })?;
    Ok((run, detection))
}

/// Integrates `problem` (at its ε; with `converge`, at the particle counts doubled from
/// `converge.n_start` until every phase time moves by less than `converge.rel_tol`),
/// detects the plateaus and phases of the risk curve (the levels `R_l` as hints) and records
/// `max|a|`, `max|s|` at the end of each phase. `origin` says where the problem came from.
///
/// # Errors
/// [`PhaseError::Flow`] when the problem is invalid or its integration fails (the error
/// names ε and `N`), [`PhaseError::Detection`] when the curve cannot be analysed.
pub fn measure_point(
    problem: &FlowProblem,
    origin: &str,
    converge: Option<&ConvergeOptions>,
) -> Result<SweepPoint, PhaseError> {
    // A discrete law placed by quadrature has one particle per atom: no other N exists.
    let fixed_n = converge.is_some() && problem.particle_count_is_fixed();
    let (used, mut run, detection, convergence) = match converge.filter(|_| !fixed_n) {
        None => {
            let (run, det) = integrate_and_detect(problem)?;
            (problem.clone(), run, det, None)
        }
        Some(opts) => {
            let mut last = None;
            let conv = converge_n(opts, |n| -> Result<Vec<f64>, PhaseError> {
                let p = FlowProblem {
                    particles: n,
                    ..problem.clone()
                };
                let (run, det) = integrate_and_detect(&p)?;
                let times = det.t_mid();
                last = Some((p, run, det));
                Ok(times)
            })?;
            let (p, run, det) = last.ok_or_else(|| {
                PhaseError::Invalid("the particle-count doubling ran no integration".into())
            })?;
            (p, run, det, Some(conv))
        }
    };
    if fixed_n {
        run.notes.push(format!(
            "no convergence in N: a discrete law with quadrature placement has one particle \
             per atom (N = {})",
            problem.particles
        ));
    }
    let t = &run.trajectory.t;
    let column = |name: &str| run.trajectory.column(name).unwrap_or_default();
    let (a, s) = (column("max_abs_a"), column("max_abs_s"));
    let phase_end = detection
        .phases
        .iter()
        .map(|ph| {
            let at = |y: &[f64]| interp_log_time(t, y, ph.t_end).unwrap_or(f64::NAN);
            [at(a), at(s)]
        })
        .collect();
    Ok(SweepPoint {
        epsilon: used.epsilon,
        particles: used.particles,
        scenario: origin.to_string(),
        plateau_levels: used.plateau_levels(),
        sigma: used.sigma.clone(),
        phi: used.phi.clone(),
        trajectory: run.trajectory,
        detection,
        phase_end,
        convergence,
        stats: run.stats,
        notes: run.notes,
    })
}
