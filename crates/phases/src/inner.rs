//! The ε-free inner problem of phase 1, solved numerically.
//!
//! In the frame `t = t_1 + √ε T`, `a − E[a] = ε^{−1/4} A`, `s − E[s] = ε^{1/4} S`, the
//! leading-order phase-1 dynamics lose `ε`:
//!
//! ```text
//!   dA_i/dT = σ_1 r_1 (S_i − ⟨S⟩_w),   dS_i/dT = σ_1 r_1 A_i,   r_1 = φ_1 − σ_1 Σ_i w_i A_i S_i
//! ```
//!
//! (`⟨S⟩_w` is dropped when `σ_0 = 0`: then nothing slaves the mean). It is started on the
//! growing mode, `A_i = δ α_i`, `S_i = sgn(σ_1 φ_1) δ α_i` with `δ` small, at `T = 0`, and
//! integrated until `r_1/φ_1` reaches `1/√2` (the onset criterion) at `T_c`. Matching the
//! growing mode to the linear outer solution `α_i e^{λt}/2` gives
//! `t_1 = (√ε/|c|)(¼ log(1/ε) + log 2δ) + √ε T_c`, `c = σ_1 φ_1`.

use std::ops::ControlFlow;

use timescales_inner::Scaling;
use timescales_meanfield::FlowProblem;
use timescales_ode::{Direction, Dop853, Event, Observer, OdeSystem, SolverOptions, integrate};

use crate::{EarlyPhases, PhaseError};

struct InnerOne {
    weights: Vec<f64>,
    sigma1: f64,
    phi1: f64,
    remove_mean: bool,
}

impl InnerOne {
    fn r1(&self, u: &[f64]) -> f64 {
        let n = self.weights.len();
        let m1: f64 = (0..n).map(|i| self.weights[i] * u[i] * u[n + i]).sum();
        self.phi1 - self.sigma1 * m1
    }
}

impl OdeSystem for InnerOne {
    fn dim(&self) -> usize {
        2 * self.weights.len()
    }
    fn rhs(&self, u: &[f64], du: &mut [f64]) {
        let n = self.weights.len();
        let g = self.sigma1 * self.r1(u);
        let mean_s = if self.remove_mean {
            (0..n).map(|i| self.weights[i] * u[n + i]).sum()
        } else {
            0.0
        };
        for i in 0..n {
            du[i] = g * (u[n + i] - mean_s);
            du[n + i] = g * u[i];
        }
    }
}

/// The scaling of phase 1 (module docs) for `(a − E[a], s − E[s])`: `t = t₀ + √ε T`,
/// `a − E[a] = ε^{−1/4} A`, `s − E[s] = ε^{1/4} S`.
pub fn phase_one_scaling(t0: f64) -> Scaling {
    Scaling::new(t0, 0.5, vec![-0.25, 0.25])
}

/// Result of [`solve_inner_phase_one`].
#[derive(Debug, Clone, PartialEq)]
pub struct InnerPhaseOne {
    /// Stretched time `T_c` at which `r_1/φ_1 = 1/√2`, from the start amplitude `δ`.
    pub t_cross: f64,
    /// Start amplitude `δ`.
    pub delta: f64,
    /// The onset `t_1` it implies at the problem's `ε`.
    pub t_onset: f64,
    /// `r_1/φ_1` on the stretched-time grid `T` (for plotting the inner solution).
    pub profile: Vec<(f64, f64)>,
}

struct Crossing<'a> {
    sys: &'a InnerOne,
    samples: Vec<(f64, f64)>,
}

impl Observer for Crossing<'_> {
    fn observe(&mut self, t: f64, u: &[f64]) -> ControlFlow<()> {
        self.samples.push((t, self.sys.r1(u) / self.sys.phi1));
        ControlFlow::Continue(())
    }
}

/// Solves the inner problem of phase 1 for `problem` (see the module docs).
///
/// # Errors
/// [`PhaseError::NoPhaseOne`] as for [`EarlyPhases::new`], or when the crossing is not
/// reached (reported with the value attained).
pub fn solve_inner_phase_one(problem: &FlowProblem) -> Result<InnerPhaseOne, PhaseError> {
    let early = EarlyPhases::new(problem)?;
    let parts = problem
        .law
        .particles(problem.particles, problem.placement)?;
    let remove_mean = early.sigma0 != 0.0;
    let mean_after = early.m0_initial + early.shift0;
    let alpha: Vec<f64> = parts
        .a
        .iter()
        .map(|a| a + early.shift0 - if remove_mean { mean_after } else { 0.0 })
        .collect();
    let n = alpha.len();
    let sys = InnerOne {
        weights: parts.weights.clone(),
        sigma1: early.sigma1,
        phi1: early.phi1,
        remove_mean,
    };
    let c = (early.sigma1 * early.phi1).abs();
    let sign = (early.sigma1 * early.phi1).signum();
    let delta = 1e-6;
    let mut u0 = vec![0.0; 2 * n];
    for i in 0..n {
        u0[i] = delta * alpha[i];
        u0[n + i] = sign * delta * alpha[i];
    }
    // Growth to O(1) takes about log(1/δ²)/(2c); sample finely up to three times that.
    let t_max = 3.0 * (1.0 / (delta * delta)).ln() / (2.0 * c);
    let grid: Vec<f64> = (0..=6000).map(|i| t_max * i as f64 / 6000.0).collect();
    let mut obs = Crossing {
        sys: &sys,
        samples: Vec::new(),
    };
    // The onset criterion r_1/φ_1 = 1/√2, crossed downwards, located on the dense output.
    let target = 1.0 / 2f64.sqrt();
    let mut onset = [Event::new(|_t, u: &[f64]| sys.r1(u) / sys.phi1 - target)
        .direction(Direction::Falling)
        .non_terminal()];
    let opts = SolverOptions {
        rtol: 1e-12,
        atol: 1e-14,
        ..SolverOptions::default()
    };
    let failed = |e| PhaseError::NoPhaseOne {
        reason: format!("inner problem integration failed: {e}"),
    };
    let mut solver = Dop853::new(&sys, 0.0, &u0, &opts).map_err(failed)?;
    let outcome = integrate(&mut solver, &grid, &mut onset, &mut obs).map_err(failed)?;
    let t_cross =
        outcome
            .events
            .first()
            .map(|hit| hit.t)
            .ok_or_else(|| PhaseError::NoPhaseOne {
                reason: format!(
                    "inner problem never reached r_1/φ_1 = 1/√2 (last value {:?})",
                    obs.samples.last().map(|s| s.1)
                ),
            })?;
    let eps = problem.epsilon;
    // Matching the growing mode to the linear outer solution places T = 0 at t₀.
    let t0 = eps.sqrt() / c * (0.25 * (1.0 / eps).ln() + (2.0 * delta).ln());
    let t_onset = phase_one_scaling(t0).outer_time(eps, t_cross);
    Ok(InnerPhaseOne {
        t_cross,
        delta,
        t_onset,
        profile: obs.samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_meanfield::{InitialLaw, Method, OutputTimes, Placement};

    #[test]
    fn inner_problem_reproduces_the_logistic_onset() {
        // The logistic law is the exact reduction of the inner problem (all particles move on
        // one profile): the numerical inner solution must give the same t_1.
        for (law, phi0) in [
            (InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 0.0),
            (
                InitialLaw::Normal {
                    mean: 0.3,
                    std: 0.7,
                },
                0.5,
            ),
        ] {
            let p = FlowProblem {
                sigma: vec![0.8, 1.2, 0.5],
                phi: vec![phi0, -0.9, 0.4],
                tail_energy: 0.0,
                law,
                particles: 12,
                placement: Placement::Quadrature,
                epsilon: 1e-6,
                t_end: 1.0,
                rtol: 1e-8,
                atol: 1e-10,
                times: OutputTimes::LogGrid { samples: 2 },
                method: Method::Rodas4,
            };
            let inner = solve_inner_phase_one(&p).unwrap();
            let early = EarlyPhases::new(&p).unwrap();
            // The growing mode is cosh/sinh, approximated by e^{cT}/2 only up to e^{−2cT}
            // terms at the start: with δ = 1e-6 the mismatch is far below 1e-6 relative.
            let rel = (inner.t_onset - early.t_onset).abs() / early.t_onset;
            assert!(
                rel < 1e-6,
                "inner {} vs logistic {} (rel {rel:e})",
                inner.t_onset,
                early.t_onset
            );
        }
    }
}
