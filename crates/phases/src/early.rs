use serde::{Deserialize, Serialize};
use thiserror::Error;
use timescales_meanfield::{FlowError, FlowProblem};

/// Errors of the phase asymptotics.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PhaseError {
    /// Phase 1 does not exist for this problem.
    #[error("no phase 1: {reason}")]
    NoPhaseOne {
        /// Why (`σ_1 φ_1 = 0`, degenerate law, …).
        reason: String,
    },
    /// The problem itself is invalid.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// Invalid input to a phase solver (names what is wrong).
    #[error("{0}")]
    Invalid(String),
    /// A plateau flow could not be integrated.
    #[error("plateau flow with learnt degrees {learnt:?}: {source}")]
    Plateau {
        /// The degrees held learnt when it failed.
        learnt: Vec<usize>,
        /// What the integrator said.
        source: timescales_ode::IntegrationError,
    },
    /// The risk curve of a direct integration could not be analysed.
    // The cause is part of the message: sweep executors print one line per failed point.
    #[error("phase detection at ε = {eps:e}: {source}")]
    Detection {
        /// The ε of the integration.
        eps: f64,
        /// What the detector said.
        #[source]
        source: timescales_analysis::AnalysisError,
    },
    /// A curve analysis failed (the convergence in `N`, a fit).
    #[error(transparent)]
    Analysis(#[from] timescales_analysis::AnalysisError),
    /// The inner problem of the drop through phases 2 and 3 could not be integrated.
    #[error("drop through phases 2 and 3 at ε = {eps:e}: {source}")]
    Drop {
        /// The ε of the problem.
        eps: f64,
        /// What the integrator said.
        source: timescales_ode::IntegrationError,
    },
    /// The inner problem of a phase could not be followed to its blow-up.
    #[error("inner problem of phase {phase}: {source}")]
    Blowup {
        /// The phase.
        phase: usize,
        /// What the inner solver said.
        source: timescales_inner::InnerError,
    },
}

/// Leading-order asymptotics of phases 0 and 1 for one problem (see the crate docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyPhases {
    /// `ε`.
    pub eps: f64,
    /// `σ_0`, `φ_0`.
    pub sigma0: f64,
    /// `φ_0`.
    pub phi0: f64,
    /// `σ_1`.
    pub sigma1: f64,
    /// `φ_1`.
    pub phi1: f64,
    /// `M_0(0) = E_w[a(0)]`.
    pub m0_initial: f64,
    /// Phase-0 shift `δ = φ_0/σ_0 − M_0(0)` (0 when `σ_0 = 0`).
    pub shift0: f64,
    /// Phase-0 rate `σ_0²/ε`.
    pub rate0: f64,
    /// Growth rate `λ = |σ_1 φ_1| / √ε`.
    pub lambda: f64,
    /// `V`: weighted variance of `a` after phase 0 (second moment when `σ_0 = 0`).
    pub growth_variance: f64,
    /// `t*`: `r_1 = φ_1/2`.
    pub t_star: f64,
    /// Predicted onset `t_1` (risk midpoint, `r_1 = φ_1/√2`).
    pub t_onset: f64,
    /// `R_l = ½ Σ_{k>l} φ_k² + tail`, `l = 0..K`.
    pub plateau_levels: Vec<f64>,
}

impl EarlyPhases {
    /// What the end-of-phase-1 states are built on: the particle weights `w_i`, the mean
    /// `ā = Σ_i w_i (a_i(0) + δ)` after phase 0 (0 when `σ_0 = 0`), and the growth directions
    /// `α_i = a_i(0) + δ − ā`.
    ///
    /// # Errors
    /// [`PhaseError::Flow`] when the law cannot be discretized.
    pub(crate) fn growth_directions(
        &self,
        problem: &FlowProblem,
    ) -> Result<(Vec<f64>, f64, Vec<f64>), PhaseError> {
        let parts = problem
            .law
            .particles(problem.particles, problem.placement)?;
        let a_after: Vec<f64> = parts.a.iter().map(|a| a + self.shift0).collect();
        let mean: f64 = if self.sigma0 != 0.0 {
            a_after.iter().zip(&parts.weights).map(|(a, w)| a * w).sum()
        } else {
            0.0
        };
        let alpha = a_after.iter().map(|a| a - mean).collect();
        Ok((parts.weights, mean, alpha))
    }

    /// The predictions for `problem` (its law discretized as the run would be).
    ///
    /// # Errors
    /// [`PhaseError::NoPhaseOne`] when `σ_1 φ_1 = 0` or the growth variance vanishes;
    /// [`PhaseError::Flow`] for an invalid problem.
    pub fn new(problem: &FlowProblem) -> Result<Self, PhaseError> {
        problem.validate()?;
        let k = problem.sigma.len() - 1;
        if k == 0 || problem.sigma[1] * problem.phi[1] == 0.0 {
            return Err(PhaseError::NoPhaseOne {
                reason: "σ_1 φ_1 = 0: s ≡ 0 is invariant".into(),
            });
        }
        let eps = problem.epsilon;
        let (sigma0, phi0, sigma1, phi1) = (
            problem.sigma[0],
            problem.phi[0],
            problem.sigma[1],
            problem.phi[1],
        );
        let particles = problem
            .law
            .particles(problem.particles, problem.placement)?;
        let m0: f64 = particles
            .a
            .iter()
            .zip(&particles.weights)
            .map(|(a, w)| a * w)
            .sum();
        let shift0 = if sigma0 != 0.0 {
            phi0 / sigma0 - m0
        } else {
            0.0
        };
        // After phase 0 every a moved by shift0 (σ_0 ≠ 0); the growth acts on a − E[a] then.
        let second: f64 = particles
            .a
            .iter()
            .zip(&particles.weights)
            .map(|(a, w)| w * (a + shift0).powi(2))
            .sum();
        let mean_after = m0 + shift0;
        let growth_variance = if sigma0 != 0.0 {
            second - mean_after * mean_after
        } else {
            second
        };
        if growth_variance.is_nan() || growth_variance <= 0.0 {
            return Err(PhaseError::NoPhaseOne {
                reason: format!(
                    "the law of a(0) has no spread to grow from (V = {growth_variance:e})"
                ),
            });
        }
        let c = (sigma1 * phi1).abs();
        let lambda = c / eps.sqrt();
        let t_star = (4.0 * phi1.abs() / (sigma1.abs() * eps.sqrt() * growth_variance)).ln()
            / (2.0 * lambda);
        let t_onset = t_star + (2f64.sqrt() - 1.0).ln() / (2.0 * lambda);
        let plateau_levels = problem.plateau_levels();
        Ok(Self {
            eps,
            sigma0,
            phi0,
            sigma1,
            phi1,
            m0_initial: m0,
            shift0,
            rate0: sigma0 * sigma0 / eps,
            lambda,
            growth_variance,
            t_star,
            t_onset,
            plateau_levels,
        })
    }

    /// `M_0(t) = M_0(0) + δ (1 − e^{−σ_0² t/ε})` (phase 0, `t ≪ √ε`).
    pub fn m0(&self, t: f64) -> f64 {
        self.m0_initial + self.shift0 * (1.0 - (-self.rate0 * t).exp())
    }

    /// `r_0(t) = r_0(0) e^{−σ_0² t/ε}`.
    pub fn r0(&self, t: f64) -> f64 {
        (self.phi0 - self.sigma0 * self.m0_initial) * (-self.rate0 * t).exp()
    }

    /// Phase-1 linear solution of one particle whose weight after phase 0 deviates from the
    /// mean by `alpha0`: `(a − E[a], s − E[s]) = (α_0 cosh λt, sgn(c) √ε α_0 sinh λt)`.
    pub fn linear_deviation(&self, alpha0: f64, t: f64) -> (f64, f64) {
        let sign = (self.sigma1 * self.phi1).signum();
        (
            alpha0 * (self.lambda * t).cosh(),
            sign * self.eps.sqrt() * alpha0 * (self.lambda * t).sinh(),
        )
    }

    /// `r_1(t)/φ_1 = 1/(1 + e^{2λ(t − t*)})` (logistic saturation of phase 1).
    pub fn r1_ratio(&self, t: f64) -> f64 {
        let x = 2.0 * self.lambda * (t - self.t_star);
        if x > 700.0 {
            0.0
        } else {
            1.0 / (1.0 + x.exp())
        }
    }

    /// Composite risk through phases 0 and 1 and the plateau after them:
    /// `R_c(t) = ½ r_0(t)² + ½ φ_1² (r_1/φ_1)² + R_1`, where `R_1 = ½ Σ_{k>1} φ_k²` (+ tail).
    /// Later phases are not included: `R_c` stays on the `R_1` plateau.
    pub fn composite_risk(&self, t: f64) -> f64 {
        let r1 = self.phi1 * self.r1_ratio(t);
        0.5 * self.r0(t).powi(2) + 0.5 * r1 * r1 + self.plateau_levels[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_meanfield::{InitialLaw, Method, OutputTimes, Placement, simulate};

    fn public(eps: f64, law: InitialLaw, phi0: f64) -> FlowProblem {
        FlowProblem {
            sigma: vec![1.0, 1.0, 0.5f64.sqrt(), (1.0 / 6.0f64).sqrt()],
            phi: vec![phi0, 1.0, 1.0, 1.0],
            tail_energy: 0.0,
            law,
            particles: 16,
            placement: Placement::Quadrature,
            epsilon: eps,
            t_end: 1.0,
            rtol: 1e-9,
            atol: 1e-11,
            times: OutputTimes::LogGrid { samples: 2 },
            method: Method::Rodas4,
        }
    }

    /// The measured phase-1 onset ([`timescales_meanfield::FlowRun::onsets`]: the risk
    /// crosses `R_1 + φ_1²/4`), integrating to `3 t_1` of the prediction.
    fn measured_onset(p: &FlowProblem, pred: &EarlyPhases) -> f64 {
        let mut p = p.clone();
        p.t_end = pred.t_onset * 3.0;
        p.times = OutputTimes::Explicit(vec![p.t_end]);
        simulate(&p).unwrap().onsets[0].unwrap()
    }

    #[test]
    fn phase_one_onset_prediction_converges_as_eps_decreases() {
        // Direct integration is the reference; the relative error must shrink with ε, for two
        // scenarios: σ = exp, φ_0 = 0, uniform law; and σ = relu (σ_0 = 1/√(2π) ≠ 0),
        // φ_0 ≠ 0, a normal law with non-zero mean (phase 0 shifts the weights).
        let relu_sigma = vec![
            1.0 / (2.0 * std::f64::consts::PI).sqrt(),
            0.5,
            1.0 / (2.0 * std::f64::consts::PI.sqrt()),
            0.0,
        ];
        let cases = [
            public(1.0, InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 0.0),
            FlowProblem {
                sigma: relu_sigma,
                phi: vec![0.3, 1.0, 0.8, 0.0],
                ..public(
                    1.0,
                    InitialLaw::Normal {
                        mean: 0.2,
                        std: 1.0,
                    },
                    0.3,
                )
            },
        ];
        for base in cases {
            let errs: Vec<f64> = [1e-4, 1e-6, 1e-8]
                .iter()
                .map(|&eps| {
                    let p = FlowProblem {
                        epsilon: eps,
                        ..base.clone()
                    };
                    let pred = EarlyPhases::new(&p).unwrap();
                    let t = measured_onset(&p, &pred);
                    ((pred.t_onset - t) / t).abs()
                })
                .collect();
            assert!(
                errs[1] < errs[0] / 3.0 && errs[2] < errs[1] / 3.0,
                "{errs:?}"
            );
            assert!(errs[2] < 0.002, "{errs:?}");
        }
    }

    #[test]
    fn phase_zero_closed_form_matches_direct_integration() {
        let p = public(
            1e-8,
            InitialLaw::Normal {
                mean: 0.7,
                std: 0.5,
            },
            0.4,
        );
        let pred = EarlyPhases::new(&p).unwrap();
        let mut q = p.clone();
        let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.5e-8).collect();
        q.t_end = 1e-7;
        q.times = OutputTimes::Explicit(times.clone());
        let run = simulate(&q).unwrap();
        let r0 = run.trajectory.column("r_0").unwrap();
        for (i, &t) in times.iter().enumerate() {
            assert!(
                (r0[i] - pred.r0(t)).abs() < 1e-7,
                "t = {t:e}: {} vs {}",
                r0[i],
                pred.r0(t)
            );
        }
    }

    #[test]
    fn phase_one_linear_solution_matches_direct_integration_early() {
        // Before saturation (λt ≲ ¼ log(1/ε) − 2), each particle follows the linear solution;
        // at λt = 3, ε = 1e-10 the neglected M_1 ~ √ε V e^{2λt}/4 ≈ 3e-4 sets the tolerance.
        let eps = 1e-10;
        let p = public(eps, InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 0.0);
        let pred = EarlyPhases::new(&p).unwrap();
        let t = 3.0 / pred.lambda;
        let mut q = p.clone();
        q.t_end = t;
        q.times = OutputTimes::Explicit(vec![t]);
        let run = simulate(&q).unwrap();
        let parts = p.law.particles(p.particles, p.placement).unwrap();
        for (i, a0) in parts.a.iter().enumerate() {
            let (da, ds) = pred.linear_deviation(*a0, t);
            assert!(
                (run.final_a[i] - da).abs() < 1e-3 * da.abs(),
                "a_{i}: {} vs {da}",
                run.final_a[i]
            );
            assert!(
                (run.final_s[i] - ds).abs() < 1e-3 * ds.abs(),
                "s_{i}: {} vs {ds}",
                run.final_s[i]
            );
        }
    }

    #[test]
    fn no_phase_one_is_an_error_with_the_reason() {
        let mut p = public(1e-4, InitialLaw::Uniform { lo: -1.0, hi: 1.0 }, 0.0);
        p.phi[1] = 0.0;
        assert!(matches!(
            EarlyPhases::new(&p),
            Err(PhaseError::NoPhaseOne { .. })
        ));
    }
}
